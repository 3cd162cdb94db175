"""Folder and S3 migrations record each tabular dataset's fields, types and row count
(the datasets' detail shows them, as for PostgreSQL)."""

from __future__ import annotations

import pandas as pd
from migrate_support import small_project, stork

from stork_jupyter.store import Dataset, open_store

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
