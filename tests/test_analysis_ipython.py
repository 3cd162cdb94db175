"""IPython syntax in cells is parsed around, keeping line numbers and columns; a cell
that is still not Python is reported (cell and line) and the rest is analysed."""

from __future__ import annotations

import warnings

import pytest
from test_analysis_patterns import Md, build, rows

from stork_jupyter.analysis import analyze_notebook
from stork_jupyter.notebook import mask_ipython


def analyze(tmp_path, cells):
    return analyze_notebook(build(tmp_path, cells))


def problems(analysis):
    return [(p.cell_index, p.cell_id, p.line, p.message) for p in analysis.problems]


def test_magics_shell_and_help_are_parsed_around(tmp_path):
    a = analyze(tmp_path, [
        "%matplotlib inline\nimport pandas as pd",
        "%time df = pd.read_csv('data/a.csv')",
        "%%time\nb = pd.read_csv('data/b.csv')\nb.head()",
        "!ls data\nc = pd.read_csv('data/c.csv')",
        "files = !ls data\nd = pd.read_csv('data/d.csv')",
        "pd.read_csv?\ndf?\n??pd\ne = pd.read_csv('data/e.csv')",
        Md("%%time is not code here"),
        "%%bash\nls data\ncat data/f.csv > out/f.csv",
        "%timeit -n 3 -r 2 pd.read_csv('data/g.csv')\n  \n%who\nh = pd.read_csv('data/h.csv')",
        "%%capture captured\ni = pd.read_parquet('data/i.parquet')",
        "home = %env HOME\n%load_ext autoreload\n%autoreload 2\nj = pd.read_csv('data/j.csv')",
    ])
    assert problems(a) == []
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (2, 2, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (3, 1, "shell.ls", "read", None, "data", True),  # a listing, rewritten as Python
        (3, 2, "pandas.read_csv", "read", "csv", "data/c.csv", True),
        (4, 2, "pandas.read_csv", "read", "csv", "data/d.csv", True),
        (5, 4, "pandas.read_csv", "read", "csv", "data/e.csv", True),
        # cell 7 is %%bash: not Python, skipped
        (8, 1, "pandas.read_csv", "read", "csv", "data/g.csv", True),
        (8, 4, "pandas.read_csv", "read", "csv", "data/h.csv", True),
        (9, 2, "pandas.read_parquet", "read", "parquet", "data/i.parquet", True),
        (10, 4, "pandas.read_csv", "read", "csv", "data/j.csv", True),
    ]
    # columns are those of the original source, magic prefix included
    cols = {(acc.cell_index, acc.line): acc.col for acc in a.accesses}
    assert cols[(1, 1)] == len("%time df = ")
    assert cols[(8, 1)] == len("%timeit -n 3 -r 2 ")
    assert cols[(2, 2)] == 4


def test_magics_inside_blocks_and_continuations(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd",
        "if True:\n    %time x = pd.read_csv('data/a.csv')\n    !echo a \\\n        b\n"
        "    files = !ls\n    y = pd.read_csv('data/b.csv')",
        "%time z = pd.read_csv(\n    'data/c.csv',\n    sep=';')",
        "!echo one \\\n  two \\\n  three\nw = pd.read_csv('data/d.csv')",
    ])
    assert problems(a) == []
    assert rows(a) == [
        (1, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 6, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (2, 1, "pandas.read_csv", "read", "csv", "data/c.csv", True),
        (3, 4, "pandas.read_csv", "read", "csv", "data/d.csv", True),
    ]
    assert a.accesses[0].col == len("    %time x = ")
    assert a.accesses[2].kwargs == {"sep": ";"}


def test_percent_and_bang_that_are_python_are_left_alone(tmp_path):
    """``%`` and ``!=`` starting a continuation line, and magic-like lines inside a
    triple-quoted string, are Python: IPython does not treat them as escapes."""
    a = analyze(tmp_path, [
        "import pandas as pd\nDATA = 'data'",
        "p = ('%s/a.csv'\n     % DATA)\nif (len(p)\n        != 0):\n    df = pd.read_csv(p)",
        "q = '''\n%s/b.csv\n'''.strip() % DATA\nb = pd.read_csv(q)",
        "r = DATA + \\\n    '/c.csv'\nc = pd.read_csv(r)",
        "doc = '''\n!not a shell line\nwhat?\n'''\nd = pd.read_csv(DATA + '/d.csv')",
    ])
    assert problems(a) == []
    assert rows(a) == [
        (1, 5, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (2, 4, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (3, 3, "pandas.read_csv", "read", "csv", "data/c.csv", True),
        (4, 5, "pandas.read_csv", "read", "csv", "data/d.csv", True),
    ]


def test_invalid_cells_are_reported_and_the_rest_analysed(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\npath = 'data/a.csv'",
        "df = pd.read_csv(path)\nprint \"rows\", len(df)",  # Python 2
        Md("text"),
        "x = pd.read_csv('data/b.csv')",
        "def f(:\n    pass",
        "y = pd.read_csv('data/c.csv')\n\n\nz = (1,\n",
        "exec 'code'",
        "path = 'data/d.csv'\nw = pd.read_csv(path)",
        "if True:\n    v = 1\n      u = 2",
    ])
    assert rows(a) == [
        (3, 1, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (7, 2, "pandas.read_csv", "read", "csv", "data/d.csv", True),
    ]
    found = problems(a)
    assert [(c, i, line) for c, i, line, _ in found] == [
        (1, "cell-1", 2), (4, "cell-4", 1), (5, "cell-5", 4), (6, "cell-6", 1),
        (8, "cell-8", 3)]
    messages = [m for *_, m in found]
    assert messages[0] == ("not valid Python: Missing parentheses in call to 'print'. "
                           "Did you mean print(...)?")
    assert messages[2] == "not valid Python: '(' was never closed"
    assert messages[4] == "not valid Python: unexpected indent"
    assert all(m.startswith("not valid Python: ") for m in messages)


def test_a_notebook_of_only_magics_and_shell(tmp_path):
    a = analyze(tmp_path, [
        "%%bash\necho hi", "!pip install pandas", "%pwd", "%%writefile x.py\nprint(1)",
        "%%html\n<b>x</b>", "?", "!", "%", "%%", "",
    ])
    assert rows(a) == []
    assert problems(a) == []


@pytest.mark.parametrize(("source", "code", "offsets"), [
    ("%time x = 1", "x = 1", {1: 6}),
    ("  %time   x = 1", "  x = 1", {1: 8}),
    ("%timeit -n 3 -r 2 f()", "f()", {1: 18}),
    ("%time", "pass", {1: 1}),
    ("%matplotlib inline\nx = 1", "pass\nx = 1", {}),
    ("!ls data", "pass", {}),
    ("files = !ls data", "files = None", {}),
    ("a, b = !ls", "a, b = None", {}),
    ("x = %env HOME", "x = None", {}),
    ("obj?", "pass", {}),
    ("obj.method??", "pass", {}),
    ("?obj", "pass", {}),
    ("%%time\nx = 1", "\nx = 1", {}),
    ("\n%%capture\nx = 1", "\n\nx = 1", {}),
    ("!echo a \\\n   b\nx = 1", "pass\npass\nx = 1", {}),
    ("if x:\n    !echo a \\\n        b", "if x:\n    pass\n    pass", {}),
    ("x = (1\n     % 2)", "x = (1\n     % 2)", {}),
    ("s = '''\n%s\n!x\ny?\n'''", "s = '''\n%s\n!x\ny?\n'''", {}),
    ("x = 1 + \\\n!2", "x = 1 + \\\n!2", {}),  # not an escape (and not Python either)
    ("x = 'a' # it's\n!ls", "x = 'a' # it's\npass", {}),
    ("s = 'it\\'s'\n!ls", "s = 'it\\'s'\npass", {}),
    ("s = 'open\n!ls", "s = 'open\npass", {}),  # an unterminated one-line string ends there
])
def test_mask_ipython(source, code, offsets):
    masked = mask_ipython(source)
    assert masked.code == code
    assert masked.col_offsets == offsets
    assert masked.code.count("\n") == source.count("\n")
    assert masked.skip_reason is None


@pytest.mark.parametrize("magic", ["bash", "sh", "html", "javascript", "writefile out.txt",
                                   "sql", "script python2", "R"])
def test_non_python_cell_magics_are_skipped(magic):
    masked = mask_ipython(f"%%{magic}\nprint 'x'\n")
    assert masked.skip_reason == f"cell magic %%{magic.split()[0]} (not Python)"


def test_analysis_prints_no_warnings_about_user_code(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = analyze(tmp_path, [
            "import re\nimport pandas as pd\npattern = re.compile('\\d+')\nx = 1if True else 2",
            "df = pd.read_csv('data\\\\a.csv')\nassert (x, 'message')",
            "print 'py2 \\d'",
        ])
    assert [acc.path for acc in a.accesses] == ["data\\a.csv"]
    assert [p.cell_index for p in a.problems] == [2]
