"""Issue 12: HDF5 stores and files (``pd.HDFStore``, ``to_hdf``, ``read_hdf``) and zip
archives (``zipfile.ZipFile``), analysed as accesses of their file (read, written or both,
by their mode) and migrated to a folder, S3 and PostgreSQL.

PyTables opens a file by name only, so on S3 and PostgreSQL an HDF5 call works on a local
copy (``stork_local``: fetched first when the mode reads, stored back when it writes, or
when the store is closed); a zip archive is read from a file object, and written through
a local copy. The end-to-end test executes the migrated notebook with the data moved
away: its outputs are the original's, and nothing is left in the project.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from migrate_support import read_nb, setup_cells, stork, without_setup, write_nb
from test_analysis_patterns import analyze, rows

from stork_jupyter.analysis import analyze_cells
from stork_jupyter.execute import compare_outputs, execute_notebook
from stork_jupyter.migrate import migrate

pytest.importorskip("tables")  # (PyTables: what pandas' HDF5 support needs)

CELL_TIMEOUT = 120
CSV = "id,value\n1,10\n2,20\n3,30\n"


def _data(folder: Path) -> None:
    """``data/prices.h5`` (one key, ``daily``) and ``data/bundle.zip`` (two members)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"day": [1, 2, 3, 4], "price": [10.5, 11.0, 10.75, 12.25]})
    frame.to_hdf(folder / "data" / "prices.h5", key="daily", mode="w")
    with zipfile.ZipFile(folder / "data" / "bundle.zip", "w") as z:
        z.writestr("a.csv", CSV)
        z.writestr("notes.txt", "shipped zipped\n")


# ------------------------------------------------------------------ analysis


def test_hdf_calls_read_write_or_both_by_their_mode(tmp_path):
    _data(tmp_path)
    a = analyze(tmp_path, [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\nm = input()",
        "s1 = pd.HDFStore('data/prices.h5', mode='r')\ns2 = pd.HDFStore('out/n.h5', 'w')\n"
        "s3 = pd.HDFStore('data/prices.h5')\ns4 = pd.HDFStore('data/prices.h5', mode='r+')\n"
        "s5 = pd.HDFStore('data/prices.h5', mode=m)",
        "df.to_hdf('out/f.h5', key='f')\ndf.to_hdf('out/g.h5', key='g', mode='w')\n"
        "x = pd.read_hdf('data/prices.h5', 'daily')\ny = pd.read_hdf('out/f.h5', 'f', 'r')",
    ])
    assert rows(a) == [
        (1, 1, "pandas.HDFStore", "read", "hdf", "data/prices.h5", True),
        (1, 2, "pandas.HDFStore", "write", "hdf", "out/n.h5", True),
        # "a" (the default): what the file holds, if anything, is read and written back
        (1, 3, "pandas.HDFStore", "read", "hdf", "data/prices.h5", True),
        (1, 3, "pandas.HDFStore", "write", "hdf", "data/prices.h5", True),
        (1, 4, "pandas.HDFStore", "read", "hdf", "data/prices.h5", True),
        (1, 4, "pandas.HDFStore", "write", "hdf", "data/prices.h5", True),
        # a mode known only at run time may do both
        (1, 5, "pandas.HDFStore", "read", "hdf", "data/prices.h5", True),
        (1, 5, "pandas.HDFStore", "write", "hdf", "data/prices.h5", True),
        (2, 1, "pandas.DataFrame.to_hdf", "read", "hdf", "out/f.h5", True),
        (2, 1, "pandas.DataFrame.to_hdf", "write", "hdf", "out/f.h5", True),
        (2, 2, "pandas.DataFrame.to_hdf", "write", "hdf", "out/g.h5", True),
        (2, 3, "pandas.read_hdf", "read", "hdf", "data/prices.h5", True),
        (2, 4, "pandas.read_hdf", "read", "hdf", "out/f.h5", True),
    ]
    # the read of "a" need not find a file; that of "r" and "r+" must
    assert [(x.line, x.optional, x.open_mode) for x in a.accesses[:8] if x.mode == "read"] == [
        (1, False, "r"), (3, True, "a"), (4, False, "r+"), (5, True, None)]
    assert a.accesses[-1].kwargs == {} and a.accesses[-2].kwargs == {}


def test_what_goes_through_a_store_is_no_access_of_its_own(tmp_path):
    _data(tmp_path)
    a = analyze(tmp_path, [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})",
        "with pd.HDFStore('data/prices.h5', mode='r') as store:\n"
        "    print(sorted(store.keys()), store['daily'], store.get('daily'))\n"
        "store = pd.HDFStore('out/s.h5', mode='w')\nstore.put('x', df)\nstore['y'] = df\n"
        "store.close()\ndf.to_hdf(store, key='z')",
    ])
    assert rows(a) == [
        (1, 1, "pandas.HDFStore", "read", "hdf", "data/prices.h5", True),
        (1, 3, "pandas.HDFStore", "write", "hdf", "out/s.h5", True),
    ]


def test_a_zip_archive_is_an_access_and_its_members_are_not(tmp_path):
    _data(tmp_path)
    a = analyze(tmp_path, [
        "import io, zipfile\nimport pandas as pd",
        "with zipfile.ZipFile('data/bundle.zip') as zf:\n    print(zf.namelist())\n"
        "    with zf.open('a.csv') as fh:\n        a = pd.read_csv(fh)\n"
        "    b = pd.read_csv(zf.open('a.csv'))\n    c = pd.read_csv(io.BytesIO(zf.read('a.csv')))\n"
        "    for name in zf.namelist():\n        print(zf.read(name))",
        "with zipfile.ZipFile('out/p.zip', 'w') as z:\n    z.writestr('x.txt', 'x')\n"
        "z2 = zipfile.ZipFile('data/bundle.zip', mode='a')",
    ])
    assert rows(a) == [
        (1, 1, "zipfile.ZipFile", "read", "zip", "data/bundle.zip", True),
        (2, 1, "zipfile.ZipFile", "write", "zip", "out/p.zip", True),
        (2, 3, "zipfile.ZipFile", "read", "zip", "data/bundle.zip", True),
        (2, 3, "zipfile.ZipFile", "write", "zip", "data/bundle.zip", True),
    ]


def test_extracting_or_adding_files_is_refused_with_where_and_why(tmp_path, monkeypatch):
    """Members extracted as local files (or a local file added to an archive) would stay
    local once the archive moved: the migration refuses, naming the call."""
    _data(tmp_path)
    write_nb(tmp_path / "nb.ipynb", "import zipfile",
             "with zipfile.ZipFile('data/bundle.zip') as z:\n    z.extractall('data/raw')\n"
             "    z.extract('a.csv')\nwith zipfile.ZipFile('out/p.zip', 'w') as w:\n"
             "    w.write('data/prices.h5')")
    a = analyze_cells(read_nb(tmp_path / "nb.ipynb").cells, tmp_path)
    assert [(x.line, x.api, x.mode, x.path) for x in a.accesses] == [
        (1, "zipfile.ZipFile", "read", "data/bundle.zip"),
        (2, "zipfile.ZipFile.extractall", "write", "data/raw"),
        (3, "zipfile.ZipFile.extract", "write", "."),  # (the notebook's folder)
        (4, "zipfile.ZipFile", "write", "out/p.zip"),
        (5, "zipfile.ZipFile.write", "read", "data/prices.h5"),
    ]
    monkeypatch.chdir(tmp_path)
    for to in (str(tmp_path / "lake"), "s3://bkt/lake"):
        result = stork("migrate", "nb.ipynb", "--to", to, "--dry-run")
        assert result.exit_code != 0
        for line, code in ((2, "z.extractall('data/raw')"), (3, "z.extract('a.csv')"),
                           (5, "w.write('data/prices.h5')")):
            assert f"nb.ipynb: cell 3, line {line}: {code}: zipfile.ZipFile." in result.output
        assert "writes the archive's members as local files" in result.output


def test_a_migrated_notebook_has_nothing_left_to_move(tmp_path):
    """Analysed again, the S3 and PostgreSQL forms (``stork_local``, ``stork_read``)
    are no accesses: the data already moved."""
    _data(tmp_path)
    nb = write_nb(tmp_path / "nb.ipynb", *CELLS)
    result = migrate(nb, "s3://bkt/lake", dry_run=True)
    assert result.plan.blockers == []
    text = "\n".join(c.source for c in result.notebook.cells)
    assert "stork_local(\"s3://bkt/lake/nb/data/prices.h5\", \"r\", lambda stork_file: " \
           "pd.HDFStore(stork_file, mode=\"r\"), until_closed=True)" in text
    assert "zipfile.ZipFile(stork_read(\"s3://bkt/lake/nb/data/bundle.zip\"))" in text
    again = analyze_cells(result.notebook.cells, tmp_path)
    # (but os.makedirs("out"), left as it is: S3 has no folders to make)
    left = [a for a in again.accesses if not a.remote and a.op != "mkdir"]
    assert left == [] and again.problems == []


def test_a_call_whose_arguments_cannot_be_seen_is_refused_with_where_and_why(tmp_path,
                                                                            monkeypatch):
    _data(tmp_path)
    write_nb(tmp_path / "nb.ipynb", "import pandas as pd\nopts = {'mode': 'r'}",
             "store = pd.HDFStore('data/prices.h5', **opts)")
    monkeypatch.chdir(tmp_path)
    result = stork("migrate", "nb.ipynb", "--to", "s3://bkt/lake", "--dry-run")
    assert result.exit_code != 0
    assert ("nb.ipynb: cell 3, line 1: pd.HDFStore('data/prices.h5', **opts): the path is "
            "passed through *args") in result.output, result.output


# ------------------------------------------------------------------ the local copy


def _stork_local(held: dict[str, bytes]):
    """The setup cell's ``stork_local`` over ``held`` (where -> bytes) as the destination;
    returns it and the list of what was stored."""
    import atexit
    import os
    import shutil
    import tempfile

    from stork_jupyter.rewrite.local_copy import STORK_LOCAL

    stored: list[tuple[str, bytes]] = []

    def stork_fetch(where, path):
        if where not in held:
            return False
        Path(path).write_bytes(held[where])
        return True

    def stork_store(path, where):
        stored.append((where, Path(path).read_bytes()))
        held[where] = Path(path).read_bytes()

    namespace = {"atexit": atexit, "os": os, "shutil": shutil, "tempfile": tempfile,
                 "stork_fetch": stork_fetch, "stork_store": stork_store}
    exec(STORK_LOCAL, namespace)
    return namespace["stork_local"], stored


def test_a_local_copy_is_fetched_by_the_mode_and_stored_back_when_changed():
    held = {"k/a.bin": b"old"}
    stork_local, stored = _stork_local(held)
    seen = []
    assert stork_local("k/a.bin", "r", lambda p: Path(p).read_bytes()) == b"old"
    stork_local("k/a.bin", "a", lambda p: seen.append(p))  # opened to add to, unchanged
    assert stored == [] and not Path(seen[0]).parent.exists()  # (the copy is gone)

    def add(p):
        with open(p, "ab") as f:
            f.write(b"+new")
    stork_local("k/a.bin", "a", add)
    stork_local("k/n.bin", "w", lambda p: Path(p).write_bytes(b"fresh"))
    stork_local("k/m.bin", "a", lambda p: Path(p).write_bytes(b"made"))  # "a": may be new
    assert stored == [("k/a.bin", b"old+new"), ("k/n.bin", b"fresh"), ("k/m.bin", b"made")]

    with pytest.raises(ZeroDivisionError):  # a failed call stores nothing
        stork_local("k/a.bin", "w", lambda p: (Path(p).write_bytes(b"half"), 1 / 0))
    assert held["k/a.bin"] == b"old+new"


def test_a_store_kept_open_is_stored_once_when_closed():
    stork_local, stored = _stork_local({})

    class Store:
        def __init__(self, path):
            self.path, self.closes = path, 0

        def close(self):  # (as HDFStore and ZipFile: a second close does nothing)
            if not self.closes:
                Path(self.path).write_bytes(b"closed")
            self.closes += 1

    store = stork_local("k/s.h5", "w", Store, until_closed=True)
    Path(store.path).write_bytes(b"open")
    assert stored == []
    store.close()
    store.close()
    assert stored == [("k/s.h5", b"closed")] and store.closes == 2


def test_a_store_never_closed_is_stored_when_python_exits(tmp_path):
    """As PyTables closes (and so writes) a local file left open at exit, the migrated
    store is closed and stored then: the data is not lost."""
    import subprocess
    import sys

    from stork_jupyter.rewrite.local_copy import STORK_LOCAL

    stored = tmp_path / "stored.bin"
    script = "\n".join([
        "import atexit, os, shutil, tempfile",
        "def stork_fetch(where, path): return False",
        f"def stork_store(path, where): shutil.copyfile(path, {str(stored)!r})",
        STORK_LOCAL,
        "class Store:",
        "    def __init__(self, path): self.path = path",
        "    def close(self): open(self.path, 'wb').write(b'closed at exit')",
        "store = stork_local('k/s.h5', 'w', Store, until_closed=True)",
    ])
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert stored.read_bytes() == b"closed at exit"


# ------------------------------------------------------------------ end to end

CELLS = [
    "import os\nimport warnings\nimport zipfile\n\nimport pandas as pd\n\n"
    "warnings.simplefilter(\"ignore\")  # (pandas warns of HDF5 files' time stamps)\n"
    "os.makedirs(\"out\", exist_ok=True)",
    # an existing store, read; then added to ("a": what it held is kept)
    "with pd.HDFStore(\"data/prices.h5\", mode=\"r\") as store:\n"
    "    print(sorted(store.keys()))\n    daily = store[\"daily\"]\nprint(daily)",
    "with pd.HDFStore(\"data/prices.h5\") as store:\n"
    "    store[\"weekly\"] = store[\"daily\"].iloc[::2]\n    print(sorted(store.keys()))",
    "print(pd.read_hdf(\"data/prices.h5\", \"weekly\"))",
    # a new store closed by hand; a frame written with to_hdf and read back
    "store = pd.HDFStore(\"out/new.h5\", mode=\"w\")\nstore.put(\"x\", daily.tail(2))\n"
    "print(store.keys())\nstore.close()\nprint(pd.read_hdf(\"out/new.h5\", key=\"x\"))",
    "daily.to_hdf(\"out/frame.h5\", key=\"f\")\nprint(pd.read_hdf(\"out/frame.h5\").price.sum())",
    # a zip archive read member by member; a new one written and read back
    "with zipfile.ZipFile(\"data/bundle.zip\") as zf:\n    print(zf.namelist())\n"
    "    print(zf.read(\"notes.txt\").decode())\n    with zf.open(\"a.csv\") as fh:\n"
    "        print(pd.read_csv(fh))",
    "with zipfile.ZipFile(\"out/packed.zip\", \"w\") as z:\n    z.writestr(\"hello.txt\", \"hi\")\n"
    "with zipfile.ZipFile(\"out/packed.zip\") as z:\n    print(z.namelist(), z.read(\"hello.txt\"))",
]


def _project(folder: Path) -> Path:
    _data(folder)
    return write_nb(folder / "nb.ipynb", *CELLS)


@pytest.fixture(scope="module")
def original_run(tmp_path_factory):
    return execute_notebook(_project(tmp_path_factory.mktemp("original")),
                            timeout=CELL_TIMEOUT)


def _destination(kind: str, tmp_path: Path, request) -> str:
    if kind == "s3":
        return f"{request.getfixturevalue('s3_endpoint').url}/lake"
    if kind == "postgresql":
        from test_migrate_postgres import _destination as pg_destination

        return pg_destination(request.getfixturevalue("pg_dsn"))[0]
    return str(tmp_path / "shared")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "s3", "postgresql"])
def test_stores_and_archives_migrate_and_give_the_same_outputs(kind, original_run, tmp_path,
                                                                request, monkeypatch):
    project = tmp_path / "project"
    _project(project)
    dest = _destination(kind, tmp_path, request)
    monkeypatch.chdir(project)

    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    shutil.move(project / "data", tmp_path / "data-moved-away")
    executed = execute_notebook(project / "migrated.ipynb", timeout=CELL_TIMEOUT)

    assert compare_outputs(original_run, without_setup(executed)) == []
    assert not (project / "data").exists()  # everything went where the data lives now
    assert [p for p in (project / "out").rglob("*") if p.is_file()] == []
    if kind == "file":  # the store added to keeps what it held
        with pd.HDFStore(Path(dest) / "nb" / "data" / "prices.h5", mode="r") as store:
            assert sorted(store.keys()) == ["/daily", "/weekly"]
    if kind != "file":
        migrated = read_nb(project / "migrated.ipynb")
        assert "def stork_local(" in migrated.cells[setup_cells(migrated)[0]].source

