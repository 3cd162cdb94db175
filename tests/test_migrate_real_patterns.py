"""Issue 12: what real notebooks do, migrated to a folder, S3 and PostgreSQL.

One notebook holds the patterns (helper functions called with constants, dict and zip
loops, writes to ``sys.stdout`` and buffers, ``np.save`` without the suffix, pathlib
methods, scratch files removed, ``shutil``/``os`` file operations, ``os.listdir`` loops,
shell lines, Excel files and writers, HTML tables). It is executed once on its local
data; each destination migrates a fresh copy of the project, moves ``data/`` away,
removes ``out/`` and executes the migrated notebook: every cell's outputs are the
original's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from migrate_support import read_nb, stork, without_setup, write_files, write_nb

from stork_jupyter.execute import compare_outputs, execute_notebook

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 120

FILES = {
    "data/train.csv": "id,value\n1,10\n2,20\n3,30\n",
    "data/test.csv": "id,value\n4,40\n",
    "data/notes.txt": "first line\nsecond line\n",
    "data/imgs/b.txt": "bee\n",
    "data/imgs/a.txt": "ay\n",
    "data/table.html": "<table><tr><th>k</th><th>v</th></tr><tr><td>x</td><td>1</td></tr>"
                       "<tr><td>y</td><td>2</td></tr></table>",
}

#: (cell source, the destination kinds it runs on)
ALL = ("file", "s3", "postgresql")
CELLS = [
    ("import io\nimport os\nimport shutil\nimport sys\nfrom pathlib import Path\n\n"
     "import numpy as np\nimport pandas as pd\n\nos.makedirs(\"out\", exist_ok=True)", ALL),
    # item 9: a helper called with constants; dict, zip and enumerate loops
    ("def load(name):\n    return pd.read_csv(f\"data/{name}.csv\")", ALL),
    ("train = load(\"train\")\ntest = load(\"test\")\nprint(train.shape, test.shape)", ALL),
    ("paths = {\"train\": \"data/train.csv\", \"test\": \"data/test.csv\"}\n"
     "print(pd.read_csv(paths[\"test\"]).value.sum())\n"
     "for k, v in paths.items():\n    print(k, len(pd.read_csv(v)))\n"
     "for i, (n, p) in enumerate(zip([\"a\", \"b\"], [\"data/notes.txt\", \"data/test.csv\"])):\n"
     "    with open(p) as f:\n        print(i, n, f.readline().strip())", ALL),
    # item 2: streams and buffers are not files
    ("train.to_csv(sys.stdout, index=False)\ntrain.to_json(sys.stdout, orient=\"records\")\n"
     "buf = io.StringIO()\ntrain.to_csv(buf)\nprint()\nprint(len(buf.getvalue()))", ALL),
    # item 5: numpy adds the suffix
    ("np.save(\"out/arr\", np.arange(5))\nprint(np.load(\"out/arr.npy\"))", ALL),
    # item 6: pathlib
    ("notes = Path(\"data/notes.txt\")\nprint(notes.exists(), notes.read_text())\n"
     "print(Path(\"data/missing.txt\").exists())\n"
     "Path(\"out/hello.txt\").write_text(\"hi\\n\")\nprint(Path(\"out/hello.txt\").read_bytes())",
     ALL),
    # item 8 and 3: a scratch file removed; os and shutil operations
    ("with open(\"out/tmp.txt\", \"w\") as f:\n    f.write(\"scratch\")\n"
     "print(os.path.exists(\"out/tmp.txt\"))\nos.remove(\"out/tmp.txt\")\n"
     "print(os.path.exists(\"out/tmp.txt\"))", ALL),
    ("shutil.copy(\"data/train.csv\", \"out/train_copy.csv\")\n"
     "os.rename(\"out/train_copy.csv\", \"out/moved.csv\")\n"
     "print(os.path.exists(\"out/train_copy.csv\"), os.path.isfile(\"out/moved.csv\"))\n"
     "with open(\"out/moved.csv\") as f:\n    print(f.read())", ALL),
    # item 9: a loop over a folder's listing
    ("for name in sorted(os.listdir(\"data/imgs\")):\n"
     "    with open(os.path.join(\"data/imgs\", name)) as f:\n        print(name, f.read().strip())",
     ALL),
    ("for p in sorted(Path(\"data/imgs\").iterdir()):  # (listing order is the file system's)\n"
     "    print(p.name, p.suffix, p.read_text().strip())", ALL),
    # a glob or listing nothing reads from lists the destination, under the same names
    ("import glob\nprint(sorted(glob.glob(\"data/imgs/*.txt\")), sorted(os.listdir(\"data/imgs\")))\n"
     "print(sorted(p.name for p in Path(\"data\").rglob(\"*.csv\")))", ALL),
    # item 3: shell lines
    ("!cat data/notes.txt\n!head -n 2 data/train.csv\n!wc -l data/train.csv\n!ls data/imgs",
     ALL),
    # item 3: HTML tables, Excel files and writers
    ("print(pd.read_html(\"data/table.html\")[0])", ALL),
    # (pandas 3 deprecates ExcelFile.parse; its warning names a temporary file)
    ("import warnings\nwarnings.simplefilter(\"ignore\")\n"
     "xl = pd.ExcelFile(\"data/report.xlsx\")\nprint(xl.sheet_names)\nprint(xl.parse(\"S2\"))",
     ALL),
    ("with pd.ExcelWriter(\"out/summary.xlsx\") as writer:\n"
     "    train.to_excel(writer, sheet_name=\"t\")\n    test.to_excel(writer, sheet_name=\"u\")\n"
     "print(pd.read_excel(\"out/summary.xlsx\", sheet_name=\"u\"))", ALL),
]


def _project(folder: Path, kind: str) -> Path:
    write_files(folder, FILES)
    with pd.ExcelWriter(folder / "data" / "report.xlsx") as writer:
        pd.DataFrame({"a": [1, 2]}).to_excel(writer, sheet_name="S1", index=False)
        pd.DataFrame({"b": ["x", "y"]}).to_excel(writer, sheet_name="S2", index=False)
    return write_nb(folder / "nb.ipynb", *[c for c, kinds in CELLS if kind in kinds])


@pytest.fixture(scope="module")
def original_runs(tmp_path_factory) -> dict[str, object]:
    """The notebook for each kind, executed on its local data."""
    runs = {}
    for kinds in ({"file", "s3"}, {"postgresql"}):
        folder = tmp_path_factory.mktemp("original")
        kind = sorted(kinds)[0]
        executed = execute_notebook(_project(folder, kind), timeout=CELL_TIMEOUT)
        for k in kinds:
            runs[k] = executed
    return runs


def _destination(kind: str, tmp_path: Path, request) -> str:
    if kind == "s3":
        return f"{request.getfixturevalue('s3_endpoint').url}/lake"
    if kind == "postgresql":
        from test_migrate_postgres import _destination as pg_destination

        return pg_destination(request.getfixturevalue("pg_dsn"))[0]
    return str(tmp_path / "shared")


@pytest.mark.parametrize("kind", ALL)
def test_real_patterns_migrate_and_give_the_same_outputs(kind, original_runs, tmp_path,
                                                          request, monkeypatch):
    project = tmp_path / "project"
    notebook = _project(project, kind)
    dest = _destination(kind, tmp_path, request)
    monkeypatch.chdir(project)

    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    migrated = read_nb(project / "migrated.ipynb")
    text = "\n".join(c.source for c in without_setup(migrated).cells)
    assert "!" not in text  # shell lines became Python

    shutil.move(project / "data", tmp_path / "data-moved-away")
    shutil.rmtree(project / "out", ignore_errors=True)
    executed = execute_notebook(project / "migrated.ipynb", timeout=CELL_TIMEOUT)
    assert compare_outputs(original_runs[kind], without_setup(executed)) == []
    assert not (project / "data").exists()
    assert [p for p in (project / "out").rglob("*") if p.is_file()] == []
    assert notebook.exists()
