"""The PostgreSQL loader never drops or replaces a table it does not own: a table is
replaced only by a load of the dataset its tag names."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from psycopg import sql  # noqa: E402

from stork_jupyter.destinations.base import DestinationError  # noqa: E402
from stork_jupyter.destinations.postgres import PostgresBackend  # noqa: E402


@pytest.fixture
def backend(pg_dsn: str) -> PostgresBackend:
    b = PostgresBackend(f"{pg_dsn}?schema=own_{secrets.token_hex(5)}")
    b.check()
    return b


def _rows(backend: PostgresBackend, table: str) -> list[tuple]:
    with backend.connect() as conn:
        return conn.execute(sql.SQL("SELECT a FROM {} ORDER BY a").format(
            sql.Identifier(backend.schema, table))).fetchall()


def test_a_persons_table_is_never_replaced(backend, tmp_path: Path) -> None:
    with backend.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (a int)").format(
            sql.Identifier(backend.schema, "sales")))
        conn.execute(sql.SQL("INSERT INTO {} VALUES (41), (42)").format(
            sql.Identifier(backend.schema, "sales")))
    path = tmp_path / "sales.csv"
    path.write_text("a\n1\n")
    with pytest.raises(DestinationError) as err:
        backend.load_table(path, "pandas.read_csv", {}, "sales", owner="mine")
    assert "already exists" in str(err.value) and "nothing was loaded" in str(err.value)
    assert _rows(backend, "sales") == [(41,), (42,)]
    assert backend.table_owner("sales") is None


def test_only_the_owner_replaces_its_table(backend, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("a\n1\n2\n")
    b.write_text("a\n7\n")
    backend.load_table(a, "pandas.read_csv", {}, "sales", owner="owner-a")
    assert backend.table_owner("sales") == "owner-a"
    with pytest.raises(DestinationError):
        backend.load_table(b, "pandas.read_csv", {}, "sales", owner="owner-b")
    with pytest.raises(DestinationError):  # no owner: cannot claim an existing table
        backend.load_table(b, "pandas.read_csv", {}, "sales")
    assert _rows(backend, "sales") == [(1,), (2,)]
    a.write_text("a\n3\n")
    backend.load_table(a, "pandas.read_csv", {}, "sales", owner="owner-a")
    assert _rows(backend, "sales") == [(3,)]
