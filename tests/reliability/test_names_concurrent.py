"""Issue 11 item 1: eight notebooks, each reading its own ``dK/sales.csv``, migrated to
one PostgreSQL database at the same time (eight processes, one SQLite store): eight
tables, and each migrated notebook reads its own data."""

from __future__ import annotations

import secrets

import pytest
from migrate_support import write_files, write_nb
from names_support import data_moved_away, evaluate, run_many
from resume_support import pg_tables

from stork_jupyter.store import Job, Reservation, open_store

N = 8

pytest.importorskip("psycopg")


def test_eight_concurrent_postgres_migrations_get_eight_tables(tmp_path, pg_dsn):
    project = tmp_path / "project"
    (project / "stork.toml").parent.mkdir(parents=True)
    (project / "stork.toml").write_text("")
    for k in range(N):
        rows = "".join(f"{k},{k * 100 + i}\n" for i in range(k + 2))  # k+2 rows of its own
        write_files(project, {f"d{k}/sales.csv": "who,v\n" + rows})
        write_nb(project / f"nb{k}.ipynb", "import pandas as pd",
                 f"df = pd.read_csv('d{k}/sales.csv')")
    schema = f"conc_{secrets.token_hex(3)}"
    dest = f"{pg_dsn}?schema={schema}"
    runs = run_many([["migrate", f"nb{k}.ipynb", "--to", dest, "-o", f"out{k}.ipynb"]
                     for k in range(N)], cwd=project)
    for run in runs:
        assert run.returncode == 0, run.stderr
    tables = pg_tables(pg_dsn, schema)
    assert sorted(tables) == sorted(["sales"] + [f"sales_{n}" for n in range(2, N + 1)])

    with data_moved_away(*(project / f"d{k}" for k in range(N))):
        for k in range(N):
            df = evaluate(project / f"out{k}.ipynb", ["df"])["df"]
            assert df["who"].tolist() == [k] * (k + 2), f"out{k}.ipynb reads another's data"
            assert df["v"].tolist() == [k * 100 + i for i in range(k + 2)]

    with open_store(project) as metadata:
        held = metadata.list(Reservation, limit=None)
        jobs = {j.id: j for j in metadata.list(Job, limit=None)}
    assert len(held) == N and len({r.name for r in held}) == N
    for r in held:  # each name is held by the job that migrated that notebook's file
        k = int(r.source_path.rsplit("/d", 1)[1].split("/")[0])
        assert jobs[r.job_id].notebook == f"out{k}.ipynb"
    assert all(j.status == "completed" for j in jobs.values())
