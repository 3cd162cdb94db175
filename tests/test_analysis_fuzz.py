"""Whatever a cell holds, ``analyze_cells`` returns: the worst it does is report a cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stork_jupyter.analysis.analyzer import analyze_cells
from stork_jupyter.notebook import mask_ipython

FUZZ = settings(max_examples=250, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    # Python-ish
    "import pandas as pd", "import numpy as np", "from pathlib import Path", "import os",
    "import glob", "import json", "from pandas import read_csv as rc", "from os.path import *",
    "pd.read_csv(", "np.load(", "open(", "rc(", "json.load(f)", "pickle.load(", "df.to_csv(",
    "Path(", ".glob(", ".rglob(", "glob.glob(", "os.path.join(", ".joinpath(", ".format(",
    "with ", " as f:", "for x in ", "def f(p=", "lambda p:", "class C:", "return ", "if ",
    "else:", "elif ", "try:", "except:", "while ", "yield ", "async ", "await ", "match x:",
    "case _:", "global g", "del x", "x", "p", "f", "DATA", "= ", "+= ", "/", "+", "%", "*",
    "**", ",", ":", ";", ".", "==", "!=", "->", "@", "...", "\\", "#", "0", "1e9", "10**9",
    "range(10**12)", "[", "]", "(", ")", "{", "}", "'", '"', "'''", '"""', "f'", 'f"', "rb'",
    "'data/a.csv'", "'data/*.csv'", "'s3://b/k'", "'{}'", "'%s'", "'{x:>99999}'", "f'{x}'",
    "f'{x!r:{w}}'", "input()", "sys.argv[1]", "*args", "**kw", "x[0]", "x[1:2]", "x[::]",
    "None", "True", "print 'x'", "exec 'x'", "\t", "    ", "        ", "\n", "\n", "\r\n",
    "\x00", "\u00e9", "\u2028", "\ufeff",
    # IPython
    "%time ", "%timeit -n 3 ", "%%time\n", "%%bash\n", "%%capture\n", "%matplotlib inline",
    "!ls data", "x = !ls", "y = %env HOME", "obj?", "obj??", "?obj", "%%", "%", "!", "?",
    "%load_ext stork_jupyter", "%stork analyze",
]

fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
sources = st.one_of(st.text(max_size=300), fragments)
cells = st.lists(
    st.tuples(st.sampled_from(["code", "code", "code", "markdown", "raw"]), sources),
    min_size=1, max_size=6,
)


@pytest.fixture(scope="module")
def nb_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "data").mkdir()
    for name in ("a.csv", "b.csv", "c.json"):
        (d / "data" / name).write_text("x\n1\n")
    return d


def _check(analysis, n_cells):
    for a in analysis.accesses:
        assert 0 <= a.cell_index < n_cells
        assert a.line >= 1 and a.col >= 0
        assert a.mode in ("read", "write")
        assert (a.path is not None) == a.resolved
        assert (a.reason is None) == a.resolved
        a.to_json()
    for p in analysis.problems:
        assert 0 <= p.cell_index < n_cells and p.line >= 1 and p.message


@FUZZ
@given(cells=cells)
def test_arbitrary_cells_never_raise(nb_dir, cells):
    nb_cells = [{"cell_type": kind, "source": src, "id": f"c{i}"}
                for i, (kind, src) in enumerate(cells)]
    _check(analyze_cells(nb_cells, nb_dir), len(nb_cells))


@FUZZ
@given(source=sources)
def test_masking_keeps_every_line(source):
    masked = mask_ipython(source)
    assert masked.code.count("\n") == source.count("\n")
    assert all(offset >= 0 for offset in masked.col_offsets.values())


@pytest.mark.parametrize("source", [
    "(" * 5000,
    "x = " + "[" * 300 + "]" * 300,
    "x = " + "-" * 5000 + "1",
    "import pandas as pd\n" + "pd.read_csv(" * 200 + "'a.csv'" + ")" * 200,
    "x = 'a'\n" + "x = x + x\n" * 100,
    "\n".join(f"{'    ' * i}if x:" for i in range(90)) + "\n" + "    " * 90 + "pass",
    "\x00\x01\x02",
    "def f(p=open('a.csv')):\n    return p",
    "import pandas as pd\nfor f in pd.read_csv('a.csv'):\n    open(f)",
])
def test_pathological_cells(nb_dir, source):
    cells = [{"cell_type": "code", "source": source}, {"cell_type": "code", "source": "x = 1"}]
    _check(analyze_cells(cells, nb_dir), 2)


def test_deep_nesting_is_reported_not_a_crash(nb_dir):
    """libcst's native parser overflows its stack on this; CPython refuses it cleanly."""
    cells = [{"cell_type": "code", "source": "x = 1"},
             {"cell_type": "code", "source": "y = " + "[" * 3000 + "]" * 3000},
             {"cell_type": "code", "source": "z = f(" * 3000 + ")" * 3000}]
    analysis = analyze_cells(cells, nb_dir)
    assert [(p.cell_index, p.line, p.message) for p in analysis.problems] == [
        (1, 1, "not valid Python: too many nested parentheses"),
        (2, 1, "not valid Python: too many nested parentheses"),
    ]
