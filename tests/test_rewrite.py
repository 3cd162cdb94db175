"""The rewrite rules (issue 3): only the data-access expression changes; IPython lines
stay; one setup cell, reused; a second migration is a no-op; the S3 code shapes; loops,
globs and artefacts. The shapes are also run for real against the moto server."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from migrate_support import (
    SMALL_FILES,
    code_sources,
    read_nb,
    setup_cells,
    small_project,
    tree,
    write_nb,
)

from stork_jupyter.migrate import migrate
from stork_jupyter.plan import AccessEdit
from stork_jupyter.rewrite.setup_cell import SETUP_KEY
from stork_jupyter.rewrite.transform import RewriteError, rewrite_cell

S3 = "s3://bkt/lake"


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


FILES: dict[str, str | bytes] = {
    **SMALL_FILES,
    "data/e.npy": _npy(np.arange(6.0).reshape(2, 3)),
    "data/parts/p1.csv": "x\n1\n",
    "data/parts/p2.csv": "x\n2\n",
    "data/logs/a.log": "alpha\n",
    "data/logs/b.log": "beta\n",
}


def _dry(folder: Path, *cells: str, to: str = S3):
    """Dry-run migration of a notebook made of ``cells``: (new code sources, setup cell)."""
    nb = small_project(folder, *cells, files=FILES)
    result = migrate(nb, to, dry_run=True)
    assert result.plan.blockers == [], result.plan.blockers
    setup = [result.notebook.cells[i] for i in setup_cells(result.notebook)]
    return code_sources(result.notebook), setup


def _one(folder: Path, cell: str, to: str = S3) -> str:
    """The rewritten form of ``cell`` (after an import cell)."""
    sources, _ = _dry(folder, "import glob, json, os, pickle\nimport numpy as np\n"
                              "import pandas as pd", cell, to=to)
    return sources[1]


# --------------------------------------------------------------------------- format


def test_only_the_access_expression_changes(tmp_path):
    cell = ("# load the orders\n"
            "df = pd.read_csv( 'data/a.csv' ,  sep=\",\")   # comma separated\n"
            "\n"
            "x = {'data/a.csv': 1}  # not an access\n")
    dest = tmp_path / "dest"
    assert _one(tmp_path, cell, to=str(dest)) == (
        "# load the orders\n"
        f"df = pd.read_csv( '{dest}/nb/data/a.csv' ,  sep=\",\")   # comma separated\n"
        "\n"
        "x = {'data/a.csv': 1}  # not an access\n")


def test_quote_style_is_kept(tmp_path):
    cell = "a = pd.read_csv(\"data/a.csv\")\nb = pd.read_csv('data/a.csv')"
    assert _one(tmp_path, cell) == (f"a = pd.read_csv(\"{S3}/nb/data/a.csv\")\n"
                                    f"b = pd.read_csv('{S3}/nb/data/a.csv')")


def test_a_multiline_call_keeps_its_layout(tmp_path):
    cell = ("df = pd.read_csv(\n"
            "    'data/a.csv',  # the orders\n"
            "    sep=',',\n"
            ")")
    assert _one(tmp_path, cell) == ("df = pd.read_csv(\n"
                                    f"    '{S3}/nb/data/a.csv',  # the orders\n"
                                    "    sep=',',\n"
                                    ")")


def test_a_computed_path_becomes_the_literal_target(tmp_path):
    cells = ("import os\nimport pandas as pd\nDATA = 'data'",
             "a = pd.read_csv(os.path.join(DATA, 'a.csv'), sep=',')\n"
             "b = pd.read_csv(f'{DATA}/a.csv')")
    sources, _ = _dry(tmp_path, *cells)
    # a plain string literal replaces the expression (double quotes: json's)
    assert sources == [cells[0], f"a = pd.read_csv(\"{S3}/nb/data/a.csv\", sep=',')\n"
                                 f"b = pd.read_csv(\"{S3}/nb/data/a.csv\")"]


def test_ipython_lines_are_kept(tmp_path):
    sources, _ = _dry(
        tmp_path, "import pandas as pd\n%matplotlib inline",
        "%time df = pd.read_csv('data/a.csv')",
        "%%capture\ncheck = pd.read_csv(\"data/a.csv\")\nprint(check.shape)",
        "!ls data\nx = pd.read_csv('data/a.csv')  # after a shell line\ndf?")
    assert sources == [
        "import pandas as pd\n%matplotlib inline",
        f"%time df = pd.read_csv('{S3}/nb/data/a.csv')",
        f"%%capture\ncheck = pd.read_csv(\"{S3}/nb/data/a.csv\")\nprint(check.shape)",
        # the listing lists the folder where the data is now
        f"stork_shell(stork_columns(StorkPath(\"{S3}/nb/data\").listdir()))\n"
        f"x = pd.read_csv('{S3}/nb/data/a.csv')  # after a shell line\ndf?"]


@pytest.mark.parametrize(("before", "after"), [
    # a call chained on the access starts where the access starts
    ("h = pd.read_csv('data/a.csv').head()", f"h = pd.read_csv('{S3}/nb/data/a.csv').head()"),
    ("n = len(pd.read_csv('data/a.csv').dropna())",
     f"n = len(pd.read_csv('{S3}/nb/data/a.csv').dropna())"),
    # ... and so does a call inside it, on which the access is chained
    ("df = pd.read_csv('data/a.csv')\ndf.assign(z=df.x * 2).to_csv('out/r.csv', index=False)",
     f"df = pd.read_csv('{S3}/nb/data/a.csv')\n"
     f"df.assign(z=df.x * 2).to_csv('{S3}/nb/out/r.csv', index=False)"),
    ("df = pd.read_csv('data/a.csv')\ndf.head(1).to_csv('out/r.csv')",
     f"df = pd.read_csv('{S3}/nb/data/a.csv')\ndf.head(1).to_csv('{S3}/nb/out/r.csv')"),
])
def test_chained_calls(tmp_path, before, after):
    assert _one(tmp_path, before) == after


def test_rewrite_cell_alone():
    edit = AccessEdit(0, None, 2, 5, "pandas.read_csv", "read", "literal",
                      target="s3://b/k.csv")
    out = rewrite_cell("import pandas as pd\ndf = pd.read_csv('k.csv')  # k", [edit], "s3")
    assert out.source == "import pandas as pd\ndf = pd.read_csv('s3://b/k.csv')  # k"
    assert (out.applied, out.needs) == (1, set())
    moved = AccessEdit(0, None, 2, 0, "pandas.read_csv", "read", "literal", target="x")
    with pytest.raises(RewriteError, match="not found"):
        rewrite_cell("import pandas as pd\ndf = pd.read_csv('k.csv')", [moved], "s3")


# --------------------------------------------------------------------------- S3 shapes


@pytest.mark.parametrize(("before", "after"), [
    ("df = pd.read_csv('data/a.csv', sep=',')",
     f"df = pd.read_csv('{S3}/nb/data/a.csv', sep=',')"),
    ("df = pd.DataFrame({'x': [1]})\ndf.to_parquet('out/x.parquet')",
     f"df = pd.DataFrame({{'x': [1]}})\ndf.to_parquet('{S3}/nb/out/x.parquet')"),
    # open() reads text by default, fsspec.open bytes: the mode is made explicit
    ("with open('data/cfg.json') as f:\n    cfg = json.load(f)",
     f"with fsspec.open('{S3}/nb/data/cfg.json', 'r') as f:\n    cfg = json.load(f)"),
    ("with open(\"data/cfg.json\", \"rb\") as f:\n    raw = f.read()",
     f"with fsspec.open(\"{S3}/nb/data/cfg.json\", \"rb\") as f:\n    raw = f.read()"),
    ("with open('data/cfg.json', mode='r') as f:\n    t = f.read()",
     f"with fsspec.open('{S3}/nb/data/cfg.json', mode='r') as f:\n    t = f.read()"),
    # outside a with: an open file object, as open() gives
    ("f = open('data/cfg.json')\ntext = f.read()\nf.close()",
     f"f = fsspec.open('{S3}/nb/data/cfg.json', 'r').open()\ntext = f.read()\nf.close()"),
    ("with open('out/m.pkl', 'wb') as f:\n    pickle.dump(1, f)",
     f"with fsspec.open('{S3}/nb/out/m.pkl', 'wb') as f:\n    pickle.dump(1, f)"),
    ("emb = np.load('data/e.npy')",
     f"emb = np.load(stork_read('{S3}/nb/data/e.npy'))"),
    ("np.save('out/s.npy', np.ones(2))",
     f"stork_write('{S3}/nb/out/s.npy', lambda stork_file: np.save(stork_file, np.ones(2)))"),
    ("parts = [pd.read_csv(p) for p in sorted(glob.glob('data/parts/*.csv'))]",
     f"parts = [pd.read_csv(p) for p in sorted(stork_glob('{S3}/nb/data/parts/*.csv'))]"),
])
def test_s3_shapes(tmp_path, before, after):
    assert _one(tmp_path, before) == after


def test_setup_cell_defines_only_what_the_cells_use(tmp_path):
    _, [setup] = _dry(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    assert "import" not in setup.source and "def " not in setup.source
    assert setup.source.startswith("# Added by stork")
    _, [setup] = _dry(tmp_path, "import numpy as np\nemb = np.load('data/e.npy')",
                      "with open('data/cfg.json') as f:\n    t = f.read()")
    assert "import fsspec" in setup.source and "def stork_read(" in setup.source
    assert "def stork_write(" not in setup.source and "def stork_glob(" not in setup.source
    assert setup.metadata[SETUP_KEY]["needs"] == ["fsspec", "stork_read"]


def test_loops_over_literal_lists_get_a_prefix(tmp_path):
    loop = ("for name in ['a.log', 'b.log']:\n"
            "    with open(os.path.join('data', 'logs', name)) as f:\n"
            "        print(f.read())")
    assert _one(tmp_path, loop) == (
        "for name in ['a.log', 'b.log']:\n"
        f"    with fsspec.open(f\"{S3}/nb/{{os.path.join('data', 'logs', name)}}\", \"r\") as f:\n"
        "        print(f.read())")
    dest = tmp_path / "dest"
    assert _one(tmp_path, loop, to=str(dest)) == (
        "for name in ['a.log', 'b.log']:\n"
        f"    with open(f\"{dest}/nb/{{os.path.join('data', 'logs', name)}}\") as f:\n"
        "        print(f.read())")


def test_an_artefact_is_written_and_read_at_the_same_target(tmp_path):
    sources, _ = _dry(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')",
                      "df.to_csv('out/r.csv', index=False)", "back = pd.read_csv('out/r.csv')")
    assert sources[1:] == [f"df.to_csv('{S3}/nb/out/r.csv', index=False)",
                           f"back = pd.read_csv('{S3}/nb/out/r.csv')"]


# --------------------------------------------------------------------------- setup cell


def test_setup_cell_goes_before_the_first_code_cell(tmp_path):
    nb = small_project(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    out = migrate(nb, str(tmp_path / "dest"), output=tmp_path / "out.ipynb").notebook
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code"]
    assert setup_cells(out) == [1]
    meta = out.cells[1].metadata[SETUP_KEY]
    assert meta["setup"] is True and meta["kind"] == "file"
    assert "stork_jupyter" not in out.cells[1].source
    assert out.cells[1].get("id") and out.cells[1].id != out.cells[2].id
    assert read_nb(tmp_path / "out.ipynb") == out


def test_setup_cell_is_first_without_a_title(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    nb = write_nb(tmp_path / "nb.ipynb", "import pandas as pd\ndf = pd.read_csv('data/a.csv')",
                  markdown=None)
    out = migrate(nb, S3, dry_run=True).notebook
    assert setup_cells(out) == [0] and len(out.cells) == 2


@pytest.fixture
def shapes_notebook(tmp_path: Path) -> Path:
    """A notebook that uses every S3 shape (no magics: it is also run with exec)."""
    return small_project(
        tmp_path / "project",
        "import glob, json, os, pickle\nimport numpy as np\nimport pandas as pd",
        "df = pd.read_csv('data/a.csv')",
        "with open('data/cfg.json') as f:\n    cfg = json.load(f)",
        "with open('data/cfg.json', 'rb') as f:\n    raw = f.read()",
        "f = open('data/cfg.json')\ntext = f.read()\nf.close()",
        "emb = np.load('data/e.npy')",
        "np.save('out/s.npy', emb * 2)\nback = np.load('out/s.npy')",
        "parts = pd.concat([pd.read_csv(p) for p in sorted(glob.glob('data/parts/*.csv'))])",
        "logs = []\nfor name in ['a.log', 'b.log']:\n"
        "    with open(os.path.join('data', 'logs', name)) as f:\n        logs.append(f.read())",
        "df.to_parquet('out/x.parquet')\ny = pd.read_parquet('out/x.parquet')",
        "with open('out/m.pkl', 'wb') as f:\n    pickle.dump(cfg, f)",
        "with open('out/m.pkl', 'rb') as f:\n    m = pickle.load(f)",
        files=FILES)


def _run_cells(nb_path: Path, cwd: Path) -> dict:
    """Execute the notebook's code cells with ``exec`` in ``cwd``: its variables."""
    namespace: dict = {}
    here = Path.cwd()
    os.chdir(cwd)
    try:
        for cell in read_nb(nb_path).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(nb_path), "exec"), namespace)
    finally:
        os.chdir(here)
    return namespace


def _same_values(a: dict, b: dict) -> None:
    for name in ("df", "parts", "y"):
        pd.testing.assert_frame_equal(a[name], b[name])
    for name in ("emb", "back"):
        np.testing.assert_array_equal(a[name], b[name])
    for name in ("cfg", "raw", "text", "logs", "m"):
        assert a[name] == b[name], name


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_rewritten_shapes_run_without_the_local_data(kind, shapes_notebook, tmp_path, request):
    project = shapes_notebook.parent
    os.makedirs(project / "out")
    expected = _run_cells(shapes_notebook, project)
    shutil.rmtree(project / "out")
    if kind == "s3":
        to = f"{request.getfixturevalue('s3_endpoint').url}/lake"
    else:
        to = str(tmp_path / "dest")
    result = migrate(shapes_notebook, to, output=project / "migrated.ipynb")
    assert result.plan.blockers == []
    shutil.move(project / "data", tmp_path / "away")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    os.makedirs(empty / "out")  # what os.makedirs("out") would have made
    actual = _run_cells(project / "migrated.ipynb", empty)
    _same_values(expected, actual)
    assert [p for p in empty.rglob("*") if p.is_file()] == []
    assert actual["m"] == {"scale": 10}


# --------------------------------------------------------------------------- twice


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_second_migration_is_a_no_op(kind, shapes_notebook, tmp_path, request):
    project = shapes_notebook.parent
    if kind == "s3":
        to = f"{request.getfixturevalue('s3_endpoint').url}/lake"
    else:
        to = str(tmp_path / "dest")
    first = migrate(shapes_notebook, to, output=project / "once.ipynb")
    assert first.transfers and first.changes
    second = migrate(project / "once.ipynb", to, output=project / "twice.ipynb")
    assert second.plan.blockers == [] and second.plan.moves == []
    assert second.transfers == [] and second.changes == [] and second.job_id is None
    assert (project / "twice.ipynb").read_bytes() == (project / "once.ipynb").read_bytes()


@pytest.mark.parametrize("inside", [False, True], ids=["dest-elsewhere", "dest-in-project"])
def test_in_place_twice_keeps_one_setup_cell(tmp_path, inside):
    """Also when the destination folder is inside the notebook's folder (``--to ./lake``),
    where the analysis reports the new paths relative to the notebook."""
    nb = small_project(tmp_path / "project", "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    dest = tmp_path / "project" / "lake" if inside else tmp_path / "lake"
    migrate(nb, str(dest), in_place=True)
    once = nb.read_bytes()
    second = migrate(nb, str(dest), in_place=True)
    assert second.plan.moves == [] and second.changes == []
    assert nb.read_bytes() == once
    assert len(setup_cells(read_nb(nb))) == 1
    assert sorted(tree(dest)) == ["nb/data/a.csv"]


def test_setup_cell_is_reused_when_a_later_migration_needs_more(tmp_path, s3_endpoint):
    """Migrated once (pandas only), then the user adds a numpy cell and migrates again:
    still one setup cell, now with the helper the new cell needs."""
    nb = small_project(tmp_path, "import numpy as np\nimport pandas as pd",
                       "df = pd.read_csv('data/a.csv')", files=FILES)
    to = f"{s3_endpoint.url}/lake"
    migrate(nb, to, in_place=True)
    first = read_nb(nb)
    [index] = setup_cells(first)
    assert "stork_read" not in first.cells[index].source
    first.cells.append(first.cells[-1].copy())
    first.cells[-1].source = "emb = np.load('data/e.npy')"
    first.cells[-1].id = "added-cell"
    nbformat.write(first, nb)
    result = migrate(nb, to, in_place=True)
    assert [m.source for m in result.plan.moves] == ["data/e.npy"]
    second = read_nb(nb)
    assert setup_cells(second) == [index]
    assert "def stork_read(" in second.cells[index].source
    assert "stork_read" in second.cells[index].metadata[SETUP_KEY]["needs"]
    assert code_sources(second) == [
        "import numpy as np\nimport pandas as pd",
        f"df = pd.read_csv('{to}/nb/data/a.csv')",
        f"emb = np.load(stork_read('{to}/nb/data/e.npy'))"]
