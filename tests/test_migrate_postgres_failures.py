"""Failures migrating to PostgreSQL (issue 4, Done when): a load that fails halfway (a
value PostgreSQL refuses on a late row, a type error on a late row, the connection
dropped in the middle of COPY), an unreachable server, paths only known at run time,
a nested parquet column. Each exits non-zero with one line on stderr naming what went
wrong (the file, the data row and the column for a bad value), leaves the notebook
byte for byte as it was, writes no output notebook and leaves no table in the schema.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pandas as pd
import pytest
from migrate_support import assert_one_line_error, small_project, stork, tree

from stork_jupyter.store import Job, Transfer, open_store

psycopg = pytest.importorskip("psycopg")

#: Wide rows: the reader's automatic chunk (about 16 MB) holds some 8,000 of them, so
#: a file of 10,001 rows is read, and loaded, in two chunks.
PAD = "p" * 2000
ROWS = 10_000


@pytest.fixture
def dest(pg_dsn: str) -> tuple[str, str]:
    """(destination URL, its schema): a schema of this test's own."""
    schema = f"t_{secrets.token_hex(5)}"
    return f"{pg_dsn}?schema={schema}", schema


def _relations(pg_dsn: str, schema: str) -> list[str]:
    """Every table of the schema (staging tables included)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        return sorted(r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchall())


def _project(folder: Path, monkeypatch: pytest.MonkeyPatch, *cells: str,
             files: dict[str, str | bytes] | None = None) -> Path:
    small_project(folder, "import pandas as pd", *cells, files=files or {})
    monkeypatch.chdir(folder)
    return folder


def _migrate_fails(project: Path, url: str, *expected: str) -> str:
    """``stork migrate nb.ipynb --to URL -o out.ipynb`` fails in one line containing
    ``expected`` and leaves every file of the project as it was (the store aside)."""
    before = tree(project)
    line = assert_one_line_error(
        stork("migrate", "nb.ipynb", "--to", url, "-o", "out.ipynb"), *expected)
    after = tree(project)
    after.pop(".stork/stork.db", None)  # the store may record the failed job
    # ...and keep the notebook's exact bytes for undo (.stork/originals, by sha256)
    after = {k: v for k, v in after.items() if not k.startswith(".stork/originals/")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".stork/")}
    assert not (project / "out.ipynb").exists()
    return line


def _late_row_csv(bad: str) -> str:
    """``id,x,pad`` with ROWS good rows, then ``bad`` as x in data row ROWS + 1."""
    rows = "".join(f"{i},{i},{PAD}\n" for i in range(ROWS))
    return f"id,x,pad\n{rows}{ROWS},{bad},{PAD}\n"


# --------------------------------------------------------------------------- bad values


def test_a_type_error_on_a_late_row_is_refused_before_anything_moves(tmp_path, monkeypatch,
                                                                     pg_dsn, dest):
    """The first (streaming) pass reads the whole file as the call does: the int64 that
    fails in the second chunk is found before any table is created."""
    url, schema = dest
    project = _project(tmp_path, monkeypatch, "a = pd.read_csv('data/a.csv')",
                       "big = pd.read_csv('data/big.csv', dtype={'x': 'int64'})",
                       files={"data/a.csv": "x\n1\n", "data/big.csv": _late_row_csv("oops")})
    assert len(pd.read_csv(project / "data/big.csv", usecols=["x"], dtype=str)) == ROWS + 1
    line = _migrate_fails(project, url, "cell 4, line 1", "data/big.csv",
                          f"data row {ROWS + 1}", "column 'x'", "'oops'", "int64",
                          "nothing was changed")
    assert "Traceback" not in line
    assert _relations(pg_dsn, schema) == []


def test_a_value_postgres_refuses_on_a_late_row_leaves_no_table(tmp_path, monkeypatch, pg_dsn,
                                                                dest):
    """pandas reads a NUL in a text field, PostgreSQL text cannot hold it: the COPY has
    sent the first chunk when the second fails, and the staged table goes with it."""
    url, schema = dest
    project = _project(tmp_path, monkeypatch, "big = pd.read_csv('data/nul.csv')",
                       files={"data/nul.csv": _late_row_csv('"bad\x00value"')})
    _migrate_fails(project, url, "data/nul.csv", f"data row {ROWS + 1}", "column 'x'",
                   "NUL", "nothing was loaded")
    assert _relations(pg_dsn, schema) == []
    with open_store(project) as metadata:
        [job] = metadata.list(Job)
        [transfer] = metadata.list(Transfer)
    assert job.status == "failed" and "data/nul.csv" in job.error
    assert transfer.status == "failed"


def test_a_failed_load_next_to_a_good_one_leaves_nothing_half_done(tmp_path, monkeypatch,
                                                                   pg_dsn, dest):
    """Another file's table may be complete (the failed job can be resumed); the failed
    file has no table and no staging table is left."""
    url, schema = dest
    project = _project(tmp_path, monkeypatch, "a = pd.read_csv('data/a.csv')",
                       "big = pd.read_csv('data/nul.csv')",
                       files={"data/a.csv": "x\n1\n", "data/nul.csv": _late_row_csv('"\x00"')})
    _migrate_fails(project, url, "data/nul.csv", f"data row {ROWS + 1}", "column 'x'")
    assert set(_relations(pg_dsn, schema)) <= {"a"}


def test_the_connection_dropped_mid_copy_leaves_no_table(tmp_path, monkeypatch, pg_dsn, dest):
    """The loading session is terminated by the server after the first chunk was sent."""
    import stork_jupyter.destinations.postgres as pg_backend

    url, schema = dest
    project = _project(tmp_path, monkeypatch, "big = pd.read_csv('data/big.csv')",
                       files={"data/big.csv": _late_row_csv("10000")})
    original = pg_backend.iter_frames
    killed: list[int] = []

    def iter_frames(*args, **kwargs):
        for n, frame in enumerate(original(*args, **kwargs)):
            yield frame
            if n == 0:  # the first chunk is on its way: drop the loading session
                with psycopg.connect(pg_dsn, autocommit=True,
                                     application_name="stork-test-admin") as admin:
                    pids = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = 'stork' "
                        "AND datname = current_database() AND query ILIKE 'COPY%%'"
                    ).fetchall()
                    for (pid,) in pids:
                        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
                        killed.append(pid)

    monkeypatch.setattr(pg_backend, "iter_frames", iter_frames)
    monkeypatch.setenv("STORK_PG_COPY", "converted")  # the chunks path (tests/test_pg_copy.py: raw)
    _migrate_fails(project, url, "connection to PostgreSQL", "was lost while loading",
                   "data/big.csv", "nothing was loaded")
    assert killed, "the loading session was not found"
    assert _relations(pg_dsn, schema) == []


# --------------------------------------------------------------------------- refusals


def test_unreachable_server(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    project = _project(tmp_path, monkeypatch, "a = pd.read_csv('data/a.csv')",
                       files={"data/a.csv": "x\n1\n"})
    _migrate_fails(project, f"postgresql://postgres@127.0.0.1:{port}/stork?schema=s",
                   f"127.0.0.1:{port}", "refused the connection")


def test_a_path_known_only_at_run_time_is_refused(tmp_path, monkeypatch, pg_dsn, dest):
    url, schema = dest
    project = _project(tmp_path, monkeypatch, "a = pd.read_csv('data/a.csv')",
                       "import sys\np = sys.argv[0]\nb = pd.read_csv(p)",
                       files={"data/a.csv": "x\n1\n"})
    _migrate_fails(project, url, "nb.ipynb: cell 4, line 3: pd.read_csv(p)",
                   "only known at run time", "nothing was changed")
    assert _relations(pg_dsn, schema) == []


def test_every_unresolved_path_is_listed(tmp_path, monkeypatch, dest):
    url, _ = dest
    project = _project(tmp_path, monkeypatch, "import sys\nb = pd.read_csv(sys.argv[0])",
                       "c = pd.read_parquet(input())")
    before = tree(project)
    result = stork("migrate", "nb.ipynb", "--to", url, "-o", "out.ipynb")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "2 data access(es) cannot be migrated, nothing was changed" in result.stderr
    assert "cell 3, line 2: pd.read_csv(sys.argv[0])" in result.stderr
    assert "cell 4, line 1: pd.read_parquet(input())" in result.stderr
    assert not (project / "out.ipynb").exists()
    assert {k: v for k, v in tree(project).items() if not k.startswith(".stork/")} == before


def test_a_row_with_too_many_fields_and_dates_is_one_clear_refusal(tmp_path, monkeypatch,
                                                                    pg_dsn, dest):
    """The pass that finds each date column's format meets the bad row first: the
    refusal names the file and line, as for any read (it was pandas' traceback)."""
    url, schema = dest
    project = _project(tmp_path, monkeypatch,
                       "t = pd.read_csv('data/t.csv', parse_dates=['d'])",
                       files={"data/t.csv": "d,x\n2024-01-01,1\n2024-01-02,2,3\n"})
    line = _migrate_fails(project, url, "cell 3, line 1", "data/t.csv",
                          "does not parse as CSV (file line 3)", "nothing was changed")
    assert "Traceback" not in line
    assert _relations(pg_dsn, schema) == []


def test_a_missing_source_file(tmp_path, monkeypatch, pg_dsn, dest):
    url, schema = dest
    project = _project(tmp_path, monkeypatch, "a = pd.read_csv('data/a.csv')",
                       "b = pd.read_csv('data/gone.csv')", files={"data/a.csv": "x\n1\n"})
    _migrate_fails(project, url, "cell 4, line 1", "data/gone.csv", "does not exist")
    assert _relations(pg_dsn, schema) == []
