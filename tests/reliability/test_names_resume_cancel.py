"""Issue 11 item 2: a PostgreSQL migration of ``a/sales.csv`` killed (SIGKILL) at about
30%, then ``b/sales.csv`` migrated (it must pick another table), then ``stork resume 1``
must not overwrite b's table and ``stork cancel 1`` must not drop it: resume and cancel
act only on the names their own job reserved and still owns."""

from __future__ import annotations

import secrets

import pytest
from migrate_support import write_files, write_nb
from names_support import data_moved_away, evaluate
from resume_support import killed, pg_tables, run_stork, wait_no_stork_sessions

from stork_jupyter.store import Job, Reservation, open_store

pytest.importorskip("psycopg")

ROWS = 60_000  # about 1.5 MB: twelve chunks of 5000 rows


def _a_killed_then_b(tmp_path, pg_dsn):
    project = tmp_path / "project"
    a_rows = "".join(f"a,{i}\n" for i in range(ROWS))
    write_files(project, {"a/sales.csv": "who,v\n" + a_rows, "b/sales.csv": "who,v\nb,1\nb,2\n",
                          "stork.toml": "[transfer]\nchunk_rows = 5000\n"})
    write_nb(project / "a.ipynb", "import pandas as pd\ndf = pd.read_csv('a/sales.csv')")
    write_nb(project / "b.ipynb", "import pandas as pd\ndf = pd.read_csv('b/sales.csv')")
    schema = f"own_{secrets.token_hex(3)}"
    dest = f"{pg_dsn}?schema={schema}"
    first = run_stork("migrate", "a.ipynb", "--to", dest, "-o", "a_out.ipynb", cwd=project,
                      kill_after=len(a_rows) * 3 // 10)
    assert killed(first), first.stderr
    wait_no_stork_sessions(pg_dsn)
    assert pg_tables(pg_dsn, schema) == []  # a's load rolled back: no table yet
    second = run_stork("migrate", "b.ipynb", "--to", dest, "-o", "b_out.ipynb", cwd=project)
    assert second.returncode == 0, second.stderr
    with open_store(project) as metadata:
        [job_a] = metadata.list(Job, notebook="a_out.ipynb")
        held = {r.name: r.job_id for r in metadata.list(Reservation, limit=None)}
    assert held == {"table:sales": job_a.id, "table:sales_2": job_a.id + 1}
    return project, schema, job_a.id


def _b_reads_its_own(project) -> None:
    with data_moved_away(project / "b"):
        df = evaluate(project / "b_out.ipynb", ["df"])["df"]
    assert df["who"].tolist() == ["b", "b"] and df["v"].tolist() == [1, 2]


def test_resume_of_the_killed_job_leaves_the_other_table_alone(tmp_path, pg_dsn):
    project, schema, job_a = _a_killed_then_b(tmp_path, pg_dsn)
    resumed = run_stork("resume", str(job_a), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(pg_tables(pg_dsn, schema)) == ["sales", "sales_2"]
    _b_reads_its_own(project)
    with data_moved_away(project / "a"):
        df = evaluate(project / "a_out.ipynb", ["df"])["df"]
    assert len(df) == ROWS and set(df["who"]) == {"a"}


def test_cancel_of_the_killed_job_leaves_the_other_table_alone(tmp_path, pg_dsn):
    project, schema, job_a = _a_killed_then_b(tmp_path, pg_dsn)
    cancelled = run_stork("cancel", str(job_a), cwd=project)
    assert cancelled.returncode == 0, cancelled.stderr
    assert pg_tables(pg_dsn, schema) == ["sales_2"]
    _b_reads_its_own(project)
    with open_store(project) as metadata:  # the cancelled job's name is free again
        assert [r.name for r in metadata.list(Reservation, limit=None)] == ["table:sales_2"]
