"""``stork analyze``: the table, ``--json``, recording in the store, and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_analysis_patterns import Md, build

from stork_jupyter.cli import cli

STORK = Path(sys.executable).with_name("stork")
REQUIRED_KEYS = {"cell_index", "cell_id", "line", "col", "api", "mode", "format", "path",
                 "resolved", "reason", "kwargs"}
SALES = "date,region,amount\n2024-01-01,N,3.5\n2024-01-02,S,4.0\n"


def stork(*args: str, cwd: Path, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "STORK_STORE"}
    return subprocess.run([str(STORK), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**environ, **(env or {})})


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return build(tmp_path, [
        Md("# Sales"),
        "import json\nimport pandas as pd\nDATA = 'data'",
        "sales = pd.read_csv(f'{DATA}/sales.csv', usecols=['date', 'amount'])",
        "with open('data/regions.json') as f:\n    regions = json.load(f)",
        "%time raw = pd.read_csv(input('path? '))",
        "sales.to_parquet('out/sales.parquet')",
        "s3 = pd.read_csv('s3://bucket/remote.csv')",
    ], {"data/sales.csv": SALES, "data/regions.json": '{"N": "North"}'}, name="sales.ipynb")


def test_table_output(notebook):
    result = stork("analyze", "sales.ipynb", "--no-record", cwd=notebook.parent)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "sales.ipynb: 5 data accesses (4 read, 1 write, 1 unresolved)"
    assert lines[1].split() == ["cell", "line", "api", "mode", "format", "path", "status"]
    assert set(lines[2]) == {"-", " "}
    body = "\n".join(lines[3:])
    size = len(SALES.encode())
    for expected in ("3 (cell-2)", "pandas.read_csv", "data/sales.csv", f"exists, {size} B",
                     "json via json.load", "data/regions.json", "unresolved: the result of "
                     "input() is only known at run time", "pandas.DataFrame.to_parquet",
                     "out/sales.parquet", "written here", "s3://bucket/remote.csv",
                     "remote (not migrated)"):
        assert expected in body, expected
    assert len(lines) == 3 + 5


def test_table_with_cli_runner(notebook, monkeypatch):
    monkeypatch.chdir(notebook.parent)
    monkeypatch.delenv("STORK_STORE", raising=False)
    result = CliRunner().invoke(cli, ["analyze", "sales.ipynb", "--no-record"])
    assert result.exit_code == 0, result.output
    assert "data/sales.csv" in result.output
    assert not (notebook.parent / ".stork").exists()  # --no-record


def test_json_output(notebook):
    result = stork("analyze", str(notebook), "--json", "--no-record", cwd=notebook.parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 5
    for item in data:
        assert set(item) >= REQUIRED_KEYS
        assert isinstance(item["cell_index"], int) and isinstance(item["line"], int)
        assert isinstance(item["col"], int) and isinstance(item["kwargs"], dict)
        assert item["mode"] in ("read", "write") and isinstance(item["resolved"], bool)
    core = [{k: item[k] for k in sorted(REQUIRED_KEYS)} for item in data]
    assert core == [
        {"api": "pandas.read_csv", "cell_id": "cell-2", "cell_index": 2, "col": 8,
         "format": "csv", "kwargs": {"usecols": ["date", "amount"]}, "line": 1, "mode": "read",
         "path": "data/sales.csv", "reason": None, "resolved": True},
        {"api": "open", "cell_id": "cell-3", "cell_index": 3, "col": 5, "format": "json",
         "kwargs": {}, "line": 1, "mode": "read", "path": "data/regions.json", "reason": None,
         "resolved": True},
        {"api": "pandas.read_csv", "cell_id": "cell-4", "cell_index": 4,
         "col": len("%time raw = "), "format": "csv", "kwargs": {}, "line": 1, "mode": "read",
         "path": None, "reason": "the result of input() is only known at run time",
         "resolved": False},
        {"api": "pandas.DataFrame.to_parquet", "cell_id": "cell-5", "cell_index": 5, "col": 0,
         "format": "parquet", "kwargs": {}, "line": 1, "mode": "write",
         "path": "out/sales.parquet", "reason": None, "resolved": True},
        {"api": "pandas.read_csv", "cell_id": "cell-6", "cell_index": 6, "col": 5,
         "format": "csv", "kwargs": {}, "line": 1, "mode": "read",
         "path": "s3://bucket/remote.csv", "reason": None, "resolved": True},
    ]
    assert [item["remote"] for item in data] == [False, False, False, False, True]
    assert [item["exists"] for item in data] == [True, True, None, False, None]
    assert data[0]["size"] == len(SALES.encode())


def test_json_stays_valid_when_a_cell_cannot_be_parsed(tmp_path):
    nb = build(tmp_path, ["import pandas as pd", "print 'python 2'",
                          "df = pd.read_csv('a.csv')"])
    result = stork("analyze", nb.name, "--json", "--no-record", cwd=tmp_path)
    assert result.returncode == 0
    assert [(d["cell_index"], d["path"]) for d in json.loads(result.stdout)] == [(2, "a.csv")]
    assert result.stderr.strip() == ("nb.ipynb: cell 2, line 1: not valid Python: Missing "
                                     "parentheses in call to 'print'. Did you mean print(...)?")


def test_empty_notebook_gives_an_empty_array(tmp_path):
    nb = build(tmp_path, [Md("only text")])
    result = stork("analyze", nb.name, "--json", "--no-record", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")


def test_analyze_records_datasets_with_sha256(notebook, tmp_path):
    store = tmp_path / "meta" / "stork.db"
    store.parent.mkdir()
    result = stork("analyze", "sales.ipynb", "--store", str(store), cwd=notebook.parent)
    assert result.returncode == 0, result.stderr

    listed = stork("datasets", "--store", str(store), "--json", cwd=notebook.parent)
    assert listed.returncode == 0, listed.stderr
    datasets = {d["source_path"]: d for d in json.loads(listed.stdout)}
    # the files that exist now; not the output to be written, the unresolved or the remote one
    assert set(datasets) == {"data/sales.csv", "data/regions.json"}
    for rel, d in datasets.items():
        content = (notebook.parent / rel).read_bytes()
        assert d["sha256"] == hashlib.sha256(content).hexdigest()
        assert d["size"] == len(content)
    assert datasets["data/sales.csv"]["format"] == "csv"
    assert datasets["data/regions.json"]["format"] == "json"

    # an analysis is recorded, but a job list shows it only when asked
    listed = stork("jobs", "--store", str(store), cwd=notebook.parent)
    assert "analyze" not in listed.stdout
    assert "1 analyze job not listed: --all shows them" in listed.stderr
    jobs = stork("jobs", "--kind", "analyze", "--store", str(store), "--json",
                 cwd=notebook.parent)
    [job] = json.loads(jobs.stdout)
    assert [j["id"] for j in json.loads(stork("jobs", "--all", "--store", str(store), "--json",
                                              cwd=notebook.parent).stdout)] == [job["id"]]
    assert (job["kind"], job["status"], job["notebook"]) == ("analyze", "completed", "sales.ipynb")
    assert job["counts"]["accesses"] == 5 and job["counts"]["unresolved"] == 1

    # analysing again does not duplicate the datasets
    assert stork("analyze", "sales.ipynb", "--store", str(store), cwd=notebook.parent
                 ).returncode == 0
    again = json.loads(stork("datasets", "--store", str(store), "--json",
                             cwd=notebook.parent).stdout)
    assert sorted(d["source_path"] for d in again) == sorted(datasets)
    table = stork("datasets", "--store", str(store), cwd=notebook.parent).stdout
    assert "data/sales.csv" in table and datasets["data/sales.csv"]["sha256"][:12] in table


def test_default_store_is_in_the_project_folder(notebook):
    result = stork("analyze", "sales.ipynb", cwd=notebook.parent)
    assert result.returncode == 0, result.stderr
    assert (notebook.parent / ".stork" / "stork.db").is_file()
    listed = stork("datasets", "--json", cwd=notebook.parent)  # the same default store
    assert listed.returncode == 0, listed.stderr
    paths = sorted(d["source_path"] for d in json.loads(listed.stdout))
    assert paths == ["data/regions.json", "data/sales.csv"]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.ipynb", None, "missing.ipynb: no such notebook"),
    ("bad.ipynb", '{"cells": [', "bad.ipynb: not a notebook (invalid JSON at line 1, column 12)"),
    ("empty.ipynb", "", "empty.ipynb: not a notebook (invalid JSON at line 1, column 1)"),
    ("v5.ipynb", '{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}',
     "v5.ipynb: unsupported nbformat 5 (expected 4)"),
    ("none.ipynb", '{"metadata": {}, "cells": []}',
     "none.ipynb: unsupported nbformat None (expected 4)"),
    ("list.ipynb", "[1, 2, 3]", "list.ipynb: not a notebook (no cells)"),
    ("object.json", '{"name": "not a notebook"}', "object.json: not a notebook (no cells)"),
    ("script.py", "import pandas as pd\npd.read_csv('a.csv')\n",
     "script.py: not a notebook (invalid JSON at line 1, column 1)"),
    ("binary.ipynb", b"\x89PNG\r\n\x1a\n\xff\xfe", "binary.ipynb: not a notebook (not UTF-8 text)"),
    ("cells.ipynb", '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]}',
     None),
])
def test_bad_input_gives_one_line_and_non_zero_exit(tmp_path, name, content, message):
    if content is not None:
        _write(tmp_path / name, content)
    result = stork("analyze", name, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    if message is not None:
        assert lines[0] == f"Error: {message}"
    else:
        assert lines[0].startswith(f"Error: {name}: ")
    assert not (tmp_path / ".stork").exists()


def test_a_folder_is_not_a_notebook(tmp_path):
    (tmp_path / "dir.ipynb").mkdir()
    result = stork("analyze", "dir.ipynb", "--json", cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.splitlines() == ["Error: dir.ipynb: is a folder, not a notebook"]


def test_unreadable_store_is_one_line(notebook, tmp_path):
    bad_store = tmp_path / "not-a-db.db"
    bad_store.write_text("this is not sqlite")
    result = stork("analyze", "sales.ipynb", "--store", str(bad_store), cwd=notebook.parent)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_notebooks_without_cell_ids_and_old_formats(tmp_path):
    """nbformat 4.4 (no ids) and nbformat 3 notebooks are read; no warning is printed."""
    (tmp_path / "v44.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 4, "metadata": {},
        "cells": [{"cell_type": "code", "source": ["import pandas as pd\n", "pd.read_csv('a.csv')"],
                   "metadata": {}, "outputs": [], "execution_count": None}]}))
    (tmp_path / "v3.ipynb").write_text(json.dumps({
        "nbformat": 3, "nbformat_minor": 0, "metadata": {},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "markdown", "source": "# old", "metadata": {}},
            {"cell_type": "code", "input": "import pandas as pd\npd.read_csv('b.csv')",
             "language": "python", "outputs": [], "metadata": {}}]}]}))
    for name, expected in (("v44.ipynb", (0, 2, "a.csv")), ("v3.ipynb", (1, 2, "b.csv"))):
        result = stork("analyze", name, "--json", "--no-record", cwd=tmp_path)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        [item] = json.loads(result.stdout)
        assert (item["cell_index"], item["line"], item["path"]) == expected
