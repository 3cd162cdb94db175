"""Folder and S3 migrations record each tabular dataset's fields, types and row count
(the datasets' detail shows them, as for PostgreSQL)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from migrate_support import small_project, stork

from stork_jupyter.store import Dataset, Transfer, open_store

CELLS = ("import pandas as pd",
         "a = pd.read_csv('data/a.csv')\nb = pd.read_parquet('data/b.parquet')\n"
         "c = pd.read_csv('data/c.tsv', sep='\\t')\nprint(len(a), len(b), len(c))")


def _project(tmp_path):
    folder = tmp_path / "project"
    nb = small_project(folder, *CELLS, files={"data/a.csv": "x,y\n1,2.5\n3,4\n",
                                              "data/c.tsv": "k\tv\nu\tw\n"})
    pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]}).to_parquet(folder / "data/b.parquet")
    return folder, nb


def _schemas(folder):
    with open_store(folder) as metadata:
        return {d.source_path: (d.schema, d.row_count)
                for d in metadata.list(Dataset, limit=None)}


def test_folder_migration_records_fields_types_and_rows(tmp_path, monkeypatch):
    folder, nb = _project(tmp_path)
    monkeypatch.chdir(folder)
    result = stork("migrate", nb, "--to", tmp_path / "lake", "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    found = _schemas(folder)
    assert found["data/a.csv"] == ([{"name": "x", "type": "int64"},
                                    {"name": "y", "type": "double"}], 2)
    assert found["data/b.parquet"][1] == 3
    assert [f["name"] for f in found["data/b.parquet"][0]] == ["n", "s"]
    assert found["data/c.tsv"] == ([{"name": "k", "type": "string"},
                                    {"name": "v", "type": "string"}], 1)


def test_s3_migration_records_them_too(tmp_path, monkeypatch, s3_endpoint):
    folder, nb = _project(tmp_path)
    monkeypatch.chdir(folder)
    result = stork("migrate", nb, "--to", f"{s3_endpoint.url}/lake", "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert _schemas(folder)["data/a.csv"][1] == 2


def _transfer_rows(folder) -> dict[str, int | None]:
    with open_store(folder) as metadata:
        return {t.source: t.rows for t in metadata.list(Transfer, limit=None)}


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_the_transfers_rows_column_is_filled_for_files(tmp_path, monkeypatch, kind, request):
    """The row count read alongside the copy fills the transfer's rows, as a PostgreSQL
    load does: in the store, ``stork jobs N`` and the widgets' transfers table."""
    from stork_jupyter.widgets import JobsPane

    folder, nb = _project(tmp_path)
    monkeypatch.chdir(folder)
    to = (str(tmp_path / "lake") if kind == "file"
          else f"{request.getfixturevalue('s3_endpoint').url}/lake")
    result = stork("migrate", nb, "--to", to, "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert _transfer_rows(folder) == {"data/a.csv": 2, "data/b.parquet": 3, "data/c.tsv": 1}
    detail = stork("jobs", "1").stdout
    # id, path, destination, size, done, rows, status
    assert re.search(r"^\d+ +data/a\.csv +\S+ +14 B +14 B +2 +completed", detail, re.M), detail
    with open_store(folder) as metadata:
        pane = JobsPane(metadata)
        pane.table.select(0)
        rows = dict((r[1], r[6]) for r in pane.transfers.shown())
        pane.close()
    assert rows == {"data/a.csv": "2", "data/b.parquet": "3", "data/c.tsv": "1"}
