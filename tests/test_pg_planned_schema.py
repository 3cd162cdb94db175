"""A PostgreSQL migration infers each table's schema once: the plan's inference (needed
for the rewrite) is reused by the load when the file has not changed since."""

from __future__ import annotations

import secrets
from pathlib import Path

import nbformat
import pandas as pd
import psycopg
import pytest

import stork_jupyter.destinations.postgres as pg_backend
import stork_jupyter.plan_postgres as planner
import stork_jupyter.tabular as tabular
from stork_jupyter.errors import StorkError
from stork_jupyter.migrate import migrate


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"a": range(50), "when": ["2024-01-02"] * 50}).to_csv(
        tmp_path / "data" / "t.csv", index=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import pandas as pd\ndf = pd.read_csv('data/t.csv', parse_dates=['when'])\ndf")]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    return tmp_path


def _count_inferences(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = tabular.infer_schema

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(planner, "infer_schema", counting, raising=False)
    monkeypatch.setattr(tabular, "infer_schema", counting)
    monkeypatch.setattr(pg_backend, "infer_schema", counting)
    return calls


def _refused_leaving_nothing(project: Path, pg_dsn: str, tmp_path: Path) -> None:
    """The migration refuses the changed file: no notebook written, no table made."""
    schema = f"planned_{secrets.token_hex(4)}"
    with pytest.raises(StorkError, match="changed since it was planned"):
        migrate(project / "nb.ipynb", f"{pg_dsn}?schema={schema}",
                output=project / "out.ipynb", store=f"sqlite:///{tmp_path / 's.db'}")
    assert not (project / "out.ipynb").exists()
    with psycopg.connect(pg_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_schema = %s", (schema,)).fetchone()[0]
    assert tables == 0


def test_the_load_reuses_the_planned_schema(tmp_path, pg_dsn, monkeypatch):
    project = _project(tmp_path)
    calls = _count_inferences(monkeypatch)
    schema = f"planned_{secrets.token_hex(4)}"
    migrate(project / "nb.ipynb", f"{pg_dsn}?schema={schema}", output=project / "out.ipynb",
            store=f"sqlite:///{tmp_path / 's.db'}")
    assert len(calls) == 1
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(f'SELECT count(*), min("when") FROM "{schema}"."t"').fetchone()
    assert rows[0] == 50 and str(rows[1]).startswith("2024-01-02")


def test_a_file_changed_after_planning_is_refused(tmp_path, pg_dsn, monkeypatch):
    project = _project(tmp_path)
    calls = _count_inferences(monkeypatch)
    real_build = planner.PostgresPlanner._table_read

    def then_change(self, *args, **kwargs):  # the file changes right after it is planned
        result = real_build(self, *args, **kwargs)
        with open(project / "data" / "t.csv", "a") as f:
            f.write("50,2024-01-03\n")
        return result

    monkeypatch.setattr(planner.PostgresPlanner, "_table_read", then_change)
    _refused_leaving_nothing(project, pg_dsn, tmp_path)
    assert len(calls) == 1


def test_a_file_the_plan_hashed_and_changed_in_place_is_refused(tmp_path, pg_dsn,
                                                                 monkeypatch):
    """The load trusts a file this process hashed only while its stat is unchanged: a
    write that keeps the size and puts the modification time back still shows (in the
    change time), and the load refuses the file instead of loading other data."""
    import os
    import time

    from stork_jupyter import checksum

    monkeypatch.setattr(checksum, "RACY_NS", 0)  # (the test's own file counts as old)
    project = _project(tmp_path)
    csv = project / "data" / "t.csv"
    real_build = planner.PostgresPlanner._table_read

    def then_change(self, *args, **kwargs):
        result = real_build(self, *args, **kwargs)
        assert checksum.remembered(csv.resolve()) is not None  # (the plan hashed it)
        time.sleep(0.05)  # past the file system's clock tick
        st = csv.stat()
        data = csv.read_bytes()
        csv.write_bytes(data.replace(b"2024-01-02", b"2024-01-03", 1))
        os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert csv.stat().st_size == st.st_size
        return result

    monkeypatch.setattr(planner.PostgresPlanner, "_table_read", then_change)
    _refused_leaving_nothing(project, pg_dsn, tmp_path)


def test_a_file_the_plan_hashed_unchanged_loads_without_a_second_hash(tmp_path, pg_dsn,
                                                                       monkeypatch):
    from stork_jupyter import checksum

    monkeypatch.setattr(checksum, "RACY_NS", 0)
    project = _project(tmp_path)
    hashed: list[str] = []
    real = checksum.sha256_file

    def counting(path, *args, **kwargs):
        hashed.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checksum, "sha256_file", counting)
    schema = f"planned_{secrets.token_hex(4)}"
    migrate(project / "nb.ipynb", f"{pg_dsn}?schema={schema}", output=project / "out.ipynb",
            store=f"sqlite:///{tmp_path / 's.db'}")
    assert hashed.count("t.csv") == 1  # the plan's; the load trusted the unchanged file
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(f'SELECT count(*) FROM "{schema}"."t"').fetchone()
    assert rows[0] == 50
