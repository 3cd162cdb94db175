"""Issue 12, "What was seen" items 2-6, 8 and 9: what real notebooks do, analysed and
planned (no kernel: the end-to-end runs are in test_migrate_real_patterns.py)."""

from __future__ import annotations

import pytest
from migrate_support import small_project, stork
from test_analysis_patterns import analyze, rows, unresolved

from stork_jupyter.migrate import migrate

S3 = "s3://bkt/lake"
FILES = {"data/a.csv": "x\n1\n", "data/train.csv": "x\n1\n", "data/test.csv": "x\n2\n",
         "data/imgs/b.png": b"B", "data/imgs/a.png": b"A", "data/t.html": "<table></table>",
         "data/r.xlsx": b"PK", "data/notes.txt": "n\n"}


def _plan(tmp_path, *cells: str, to: str = S3, files=None):
    nb = small_project(tmp_path, "import os, shutil, sys, io\nimport numpy as np\n"
                       "import pandas as pd\nfrom pathlib import Path", *cells,
                       files=FILES if files is None else files)
    return migrate(nb, to, dry_run=True, partial=True)


# ------------------------------------------------------------------ 2. not files


def test_streams_buffers_and_handles_are_not_accesses(tmp_path):
    a = analyze(tmp_path, [
        "import io, sys, tempfile\nimport pandas as pd\ndf = pd.read_csv('data/a.csv')",
        "df.to_csv(sys.stdout)\ndf.to_json(sys.stdout, orient='records')\n"
        "df.to_csv(sys.stderr, index=False)\nsys.stdout.write('x')\n"
        "buf = io.StringIO()\ndf.to_csv(buf)\ndf.to_parquet(io.BytesIO())\n"
        "with tempfile.NamedTemporaryFile() as t:\n    df.to_csv(t.name)\n"
        "with open('out/r.csv', 'w') as f:\n    df.to_csv(f)",
    ], FILES)
    assert rows(a) == [
        (0, 3, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 10, "open", "write", "csv", "out/r.csv", True),
    ]


def test_streams_do_not_block_a_migration(tmp_path):
    result = _plan(tmp_path, "df = pd.read_csv('data/a.csv')\ndf.to_csv(sys.stdout)")
    assert result.plan.blockers == []


# ------------------------------------------------------------------ 3. APIs not seen before


def test_readers_writers_and_file_operations_are_found(tmp_path):
    a = analyze(tmp_path, [
        "import os, shutil\nimport pandas as pd\nfrom os.path import exists",
        "t = pd.read_html('data/t.html')\nxl = pd.ExcelFile('data/r.xlsx')\n"
        "s = xl.parse('S')\nst = pd.HDFStore('data/s.h5')\n"
        "with pd.ExcelWriter('out/w.xlsx') as writer:\n    s.to_excel(writer, sheet_name='a')",
        "os.remove('out/x.csv')\nos.unlink('out/y.csv')\nos.rename('out/w.xlsx', 'out/v.xlsx')\n"
        "shutil.copy('data/a.csv', 'out/a.csv')\nshutil.move('out/a.csv', 'out/b.csv')\n"
        "print(exists('data/a.csv'), os.path.exists('out/b.csv'), os.path.exists('out/z'))\n"
        "os.makedirs('out/sub')",
    ], FILES)
    assert rows(a) == [
        (1, 1, "pandas.read_html", "read", "html", "data/t.html", True),
        (1, 2, "pandas.ExcelFile", "read", "excel", "data/r.xlsx", True),
        # (mode "a", HDFStore's default: what the file holds is read and written back)
        (1, 4, "pandas.HDFStore", "read", "hdf", "data/s.h5", True),
        (1, 4, "pandas.HDFStore", "write", "hdf", "data/s.h5", True),
        (1, 5, "pandas.ExcelWriter", "write", "excel", "out/w.xlsx", True),
        (2, 1, "os.remove", "write", "csv", "out/x.csv", True),
        (2, 2, "os.unlink", "write", "csv", "out/y.csv", True),
        (2, 3, "os.rename", "read", "excel", "out/w.xlsx", True),
        (2, 3, "os.rename", "write", "excel", "out/v.xlsx", True),
        (2, 4, "shutil.copy", "read", "csv", "data/a.csv", True),
        (2, 4, "shutil.copy", "write", "csv", "out/a.csv", True),
        (2, 5, "shutil.move", "read", "csv", "out/a.csv", True),
        (2, 5, "shutil.move", "write", "csv", "out/b.csv", True),
        (2, 6, "os.path.exists", "read", "csv", "data/a.csv", True),
        # (out/z: a probe of a path that is not there and that nothing writes reads no data)
        (2, 6, "os.path.exists", "read", "csv", "out/b.csv", True),
        (2, 7, "os.makedirs", "write", None, "out/sub", True),
    ]
    # the writer's handle is what to_excel writes through: one access, not two
    assert a.accesses[4].consumer == "pandas.DataFrame.to_excel"
    assert [(x.op, x.role) for x in a.accesses[7:9]] == [("rename", "source"),
                                                          ("rename", "target")]


def test_shell_lines_are_found(tmp_path):
    a = analyze(tmp_path, [
        "!cat data/a.csv\n!head -n 5 data/a.csv\n!wc -l data/a.csv\n!rm out/tmp.txt\n"
        "!ls data\nif True:\n    !tail -3 data/a.csv",
        "!cat data/a.csv | sort\n!cat {name}\n!echo hello\n!pip install nothing",
    ], FILES)
    assert rows(a) == [
        (0, 1, "shell.cat", "read", "csv", "data/a.csv", True),
        (0, 2, "shell.head", "read", "csv", "data/a.csv", True),
        (0, 3, "shell.wc", "read", "csv", "data/a.csv", True),
        (0, 4, "shell.rm", "write", "text", "out/tmp.txt", True),
        (0, 5, "shell.ls", "read", None, "data", True),
        (0, 7, "shell.tail", "read", "csv", "data/a.csv", True),
        # pipes and names known at run time: reported, never rewritten
        (1, 1, "shell", "read", "csv", "data/a.csv", True),
        (1, 2, "shell", "read", None, None, False),
    ]
    assert a.accesses[1].kwargs == {"lines": 5} and a.accesses[5].kwargs == {"lines": 3}
    assert a.accesses[5].col == 4


def test_a_shell_line_that_cannot_be_rewritten_blocks_with_its_reason(tmp_path):
    nb = small_project(tmp_path, "!cat data/a.csv | sort", files=FILES)
    result = _plan(tmp_path, "!cat data/a.csv | sort")
    assert [(b.line, b.code) for b in result.plan.blockers] == [(1, "!cat data/a.csv | sort")]
    assert "pipes" in result.plan.blockers[0].reason
    assert nb.exists()


@pytest.mark.parametrize("to", [S3, "folder"])
def test_shell_lines_become_python(tmp_path, to):
    dest = str(tmp_path / "lake") if to == "folder" else to
    result = _plan(tmp_path, "!cat data/a.csv\n!head -n 1 data/a.csv\n!ls data/imgs", to=dest)
    assert result.plan.blockers == []
    new = result.changes[0].new.split("\n")
    where = f"{dest}/nb/data"
    reader = "pathlib.Path" if to == "folder" else "StorkPath"
    assert new[0] == f'stork_shell({reader}("{where}/a.csv").read_bytes())'
    assert new[1] == f'stork_shell(stork_head({reader}("{where}/a.csv").read_bytes(), 1))'
    assert "data/imgs" in new[2] and "stork_columns" in new[2]
    # !ls moves what the folder holds
    assert {m.source for m in result.plan.moves} >= {"data/imgs/a.png", "data/imgs/b.png"}


def test_ls_columns_are_those_of_a_terminal():
    namespace: dict = {}
    from stork_jupyter.rewrite.shell import SHELL_HELPERS

    exec(SHELL_HELPERS["stork_columns"], namespace)
    columns = namespace["stork_columns"]
    assert columns(["a.csv", "imgs", "test.csv"]) == b"a.csv  imgs  test.csv\n"
    assert columns([]) == b""
    names = [f"file-number-{i:02d}.csv" for i in range(8)]  # 22 characters each
    out = columns(names).decode().split("\n")
    assert out[0] == "file-number-00.csv  file-number-02.csv  file-number-04.csv  file-number-06.csv"
    assert out[1] == "file-number-01.csv  file-number-03.csv  file-number-05.csv  file-number-07.csv"


# ------------------------------------------------------------------ 4. the safety net


def test_unknown_calls_given_a_project_file_are_reported(tmp_path):
    a = analyze(tmp_path, [
        "import mylib, tarfile\nm = mylib.Model()",
        "mylib.load('data/a.csv')\nz = tarfile.open('data/r.xlsx')\n"
        "m.load_weights('data/notes.txt')\nprint('data/a.csv')\nmylib.load('data/none.csv')\n"
        "names = ['data/a.csv']\nnames.append('data/a.csv')",
    ], FILES)
    assert rows(a) == [
        (1, 1, "unknown", "read", "csv", "data/a.csv", True),
        (1, 2, "unknown", "read", "excel", "data/r.xlsx", True),
        (1, 3, "unknown", "read", "text", "data/notes.txt", True),
    ]
    assert a.accesses[0].reason.startswith("mylib.load() is not a call Stork knows")


def test_migrate_refuses_a_notebook_with_an_unknown_call_on_a_project_file(tmp_path,
                                                                           monkeypatch):
    nb = small_project(tmp_path, "import mylib\nx = mylib.load('data/a.csv')", files=FILES)
    before = nb.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = stork("migrate", "nb.ipynb", "--to", str(tmp_path / "lake"), "-o", "out.ipynb")
    assert result.exit_code != 0
    assert "mylib.load() is not a call Stork knows" in result.stderr
    assert "line 2" in result.stderr
    assert nb.read_bytes() == before and not (tmp_path / "out.ipynb").exists()


# ------------------------------------------------------------------ 5. numpy suffixes


def test_numpy_adds_its_suffix(tmp_path):
    a = analyze(tmp_path, [
        "import numpy as np\nnp.save('out/a', [1])\nnp.savez('out/b', x=[1])\n"
        "np.savez_compressed('out/c.npz', x=[1])\nnp.save('out/d.npy', [1])",
        "x = np.load('out/a.npy')\ny = np.load('out/b.npz')",
    ])
    assert [x.path for x in a.accesses] == ["out/a.npy", "out/b.npz", "out/c.npz", "out/d.npy",
                                           "out/a.npy", "out/b.npz"]


def test_a_load_of_what_np_save_wrote_is_not_a_missing_file(tmp_path):
    result = _plan(tmp_path, "np.save('out/a', np.arange(3))\nx = np.load('out/a.npy')")
    assert result.plan.blockers == []
    assert [e.target for e in result.plan.edits] == [f"{S3}/nb/out/a.npy"] * 2


# ------------------------------------------------------------------ 6. pathlib


@pytest.mark.parametrize("to", [S3, "folder"])
def test_pathlib_methods_are_rewritten(tmp_path, to):
    dest = str(tmp_path / "lake") if to == "folder" else to
    result = _plan(tmp_path, "p = Path('data/notes.txt')\nt = p.read_text()\nb = p.read_bytes()\n"
                   "Path('out/o.txt').write_text(t)\nok = Path('out/o.txt').exists()\n"
                   "Path('out/o.txt').unlink()", to=dest)
    assert result.plan.blockers == []
    wrap = "pathlib.Path" if to == "folder" else "StorkPath"
    assert result.changes[0].new.split("\n")[1:] == [
        f't = {wrap}("{dest}/nb/data/notes.txt").read_text()',
        f'b = {wrap}("{dest}/nb/data/notes.txt").read_bytes()',
        f'{wrap}("{dest}/nb/out/o.txt").write_text(t)',
        f'ok = {wrap}("{dest}/nb/out/o.txt").exists()',
        f'{wrap}("{dest}/nb/out/o.txt").unlink()',
    ]


# ------------------------------------------------------------------ 8. scratch files


def test_the_remove_of_a_scratch_file_acts_at_the_destination(tmp_path):
    result = _plan(tmp_path, "with open('out/tmp.txt', 'w') as f:\n    f.write('x')\n"
                   "os.remove('out/tmp.txt')")
    assert result.plan.blockers == []
    assert result.changes[0].new.split("\n") == [
        f"with fsspec.open('{S3}/nb/out/tmp.txt', 'w') as f:", "    f.write('x')",
        f"StorkPath('{S3}/nb/out/tmp.txt').unlink()"]


# ------------------------------------------------------------------ 9. resolution


def test_helper_functions_called_with_constants(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\n\ndef load(name, folder='data'):\n"
        "    return pd.read_csv(f'{folder}/{name}.csv')",
        "train = load('train')\ntest = load(name='test')",
        "def never_called(p):\n    return pd.read_csv(p)",
        "def called_with_a_variable(p):\n    return pd.read_csv(p)\n\n"
        "called_with_a_variable(input())",
    ], FILES)
    assert rows(a) == [
        (0, 4, "pandas.read_csv", "read", "csv", "data/train.csv", True),
        (0, 4, "pandas.read_csv", "read", "csv", "data/test.csv", True),
        (2, 2, "pandas.read_csv", "read", "csv", None, False),
        (3, 2, "pandas.read_csv", "read", "csv", None, False),
    ]
    assert unresolved(a)[1][2] == ("path is the function parameter 'p' of "
                                   "called_with_a_variable(), given a value known only at run "
                                   "time at cell 4, line 4")


def test_a_helper_function_body_is_rewritten_for_every_call(tmp_path):
    result = _plan(tmp_path, "def load(name):\n    return pd.read_csv(f'data/{name}.csv')",
                   "a = load('train')\nb = load('test')")
    assert result.plan.blockers == []
    assert result.changes[0].new.split("\n")[1] == (
        f"    return pd.read_csv(f\"{S3}/nb/{{f'data/{{name}}.csv'}}\")")
    assert sorted(m.source for m in result.plan.moves) == ["data/test.csv", "data/train.csv"]


def test_dicts_zip_enumerate_and_listings(tmp_path):
    a = analyze(tmp_path, [
        "import os\nimport pandas as pd\nfrom pathlib import Path\n"
        "paths = {'train': 'data/train.csv', 'test': 'data/test.csv'}",
        "df = pd.read_csv(paths['train'])",
        "for k, v in paths.items():\n    pd.read_csv(v)",
        "for i, p in enumerate(['data/a.csv']):\n    pd.read_csv(p)",
        "for n, p in zip(['a'], ['data/a.csv']):\n    pd.read_csv(p)",
        "for f in sorted(os.listdir('data/imgs')):\n    open(os.path.join('data/imgs', f), 'rb')",
        "for p in Path('data/imgs').iterdir():\n    p.read_bytes()",
    ], FILES)
    assert [(x.cell_index, x.path, x.resolved) for x in a.accesses] == [
        (1, "data/train.csv", True),
        (2, "data/train.csv", True), (2, "data/test.csv", True),
        (3, "data/a.csv", True),
        (4, "data/a.csv", True),
        (5, "data/imgs/a.png", True), (5, "data/imgs/b.png", True),
        (6, "data/imgs/a.png", True), (6, "data/imgs/b.png", True),
    ]
    assert a.accesses[5].expanded_from == "listdir 'data/imgs'"


def test_a_listdir_loop_lists_the_destination(tmp_path):
    result = _plan(tmp_path, "for f in sorted(os.listdir('data/imgs')):\n"
                   "    open(os.path.join('data/imgs', f), 'rb')")
    assert result.plan.blockers == []
    assert result.changes[0].new == (
        f"for f in sorted(StorkPath('{S3}/nb/data/imgs').listdir()):\n"
        f"    fsspec.open(f\"{S3}/nb/{{os.path.join('data/imgs', f)}}\", 'rb').open()")
