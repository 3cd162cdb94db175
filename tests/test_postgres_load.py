"""PostgresBackend against a real PostgreSQL: typed tables by COPY that read back into
the very frame the notebook's own pandas call gives; atomic loads; the files table."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
psycopg = pytest.importorskip("psycopg")
sqlalchemy = pytest.importorskip("sqlalchemy")

from psycopg import sql  # noqa: E402

from stork_jupyter.destinations.base import DestinationError  # noqa: E402
from stork_jupyter.destinations.postgres import (  # noqa: E402
    FILES_TABLE,
    PostgresBackend,
    sanitize_table_name,
)
from stork_jupyter.tabular import TabularError, load_options, read_back  # noqa: E402

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def backend(pg_dsn: str) -> PostgresBackend:
    b = PostgresBackend(f"{pg_dsn}?schema=t_{secrets.token_hex(5)}")
    b.check()
    return b


@pytest.fixture(scope="module")
def engines():
    made: dict[str, object] = {}

    def get(url: str):
        if url not in made:
            made[url] = sqlalchemy.create_engine(url)
        return made[url]

    yield get
    for engine in made.values():
        engine.dispose()


def select_sql(backend: PostgresBackend, table: str, schema, casts: dict[str, str]) -> str:
    parts = []
    for c in schema.columns:
        ident = sql.Identifier(c.sql_name).as_string(None)
        parts.append(f"{ident}::{casts[c.sql_name]} AS {ident}" if c.sql_name in casts
                     else ident)
    return (f"SELECT {', '.join(parts)} FROM "
            f"{sql.Identifier(backend.schema, table).as_string(None)} ORDER BY \"_stork_row\"")


def load_and_read(backend: PostgresBackend, engines, path: Path, api: str, kwargs: dict,
                  chunksize: int | None = 2):
    """(original frame from pandas, frame read back from the table, LoadResult)."""
    reader = getattr(pd, api.rsplit(".", 1)[-1])
    original = reader(path, **kwargs)
    table = backend.table_name(str(path), set())
    result = backend.load_table(path, api, load_options(api, kwargs), table,
                                chunksize=chunksize)
    rb = read_back(result.schema)
    query = select_sql(backend, table, result.schema, rb.casts)
    back = pd.read_sql_query(query, engines(backend.sqlalchemy_url()), **rb.kwargs)
    return original, rb.apply(back), result


def assert_same(original, back) -> None:
    assert list(map(str, back.dtypes)) == list(map(str, original.dtypes))
    assert list(back.columns) == list(original.columns)
    assert original.equals(back), (original, back)
    assert repr(original) == repr(back)


def relations(backend: PostgresBackend) -> set[str]:
    return backend.existing_names()


# --------------------------------------------------------------------------- round trips

from csv_cases import CSV_CASES  # noqa: E402


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_round_trip(backend, engines, tmp_path: Path, case: str) -> None:
    text, kwargs = CSV_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text, encoding="utf-8")
    original, back, result = load_and_read(backend, engines, path, "pandas.read_csv", kwargs)
    assert result.rows == len(original)
    assert_same(original, back)


def test_float_only_on_last_row_of_a_file_larger_than_a_chunk(backend, engines,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "late_float.csv"
    rows = [f"{i},{i * 7},name {i}" for i in range(20000)] + ["20000,0.5,last"]
    path.write_text("id,v,name\n" + "\n".join(rows) + "\n")
    original, back, result = load_and_read(backend, engines, path, "pandas.read_csv", {},
                                           chunksize=3000)
    assert result.schema.column("v").pg_type == "double precision"
    assert str(original["v"].dtype) == "float64"
    assert_same(original, back)


def test_null_and_empty_string_stay_distinct_in_the_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "ne.csv"
    path.write_text('a,b\n1,""\n2,\n3,x\n')
    result = backend.load_table(path, "pandas.read_csv", {"keep_default_na": False}, "ne")
    with backend.connect() as conn:
        rows = conn.execute(sql.SQL('SELECT b FROM {} ORDER BY "_stork_row"').format(
            sql.Identifier(backend.schema, "ne"))).fetchall()
    assert rows == [("",), ("",), ("x",)]
    path.write_text('a,b\n1,""\n2,\n3,x\n')
    backend.load_table(path, "pandas.read_csv", {"na_values": [""], "keep_default_na": False},
                       "ne2")
    with backend.connect() as conn:
        rows = conn.execute(sql.SQL('SELECT b FROM {} ORDER BY "_stork_row"').format(
            sql.Identifier(backend.schema, "ne2"))).fetchall()
    assert rows == [(None,), (None,), ("x",)]
    assert result.rows == 3


def test_column_types_in_the_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "types.csv"
    path.write_text("i,f,b,s,d,g\n1,1.5,True,x,2024-01-01,\n2,2.5,False,y,2024-01-02,7\n")
    backend.load_table(path, "pandas.read_csv", {"parse_dates": ["d"]}, "types")
    with backend.connect() as conn:
        cols = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'types' ORDER BY ordinal_position",
            (backend.schema,)).fetchall()
    assert cols == [("_stork_row", "bigint"), ("i", "bigint"), ("f", "double precision"),
                    ("b", "boolean"), ("s", "text"), ("d", "timestamp without time zone"),
                    ("g", "double precision")]


def test_parquet_round_trip(backend, engines, tmp_path: Path) -> None:
    df = pd.DataFrame({
        "i": [1, 2, 3, 4, 5], "f": [1.5, None, -3.0, 1e21, 0.1],
        "s": ["a", None, "", "é😀", "x,y\nz"], "b": [True, False, True, False, True],
        "bn": [True, None, False, True, None],
        "t": pd.to_datetime(["2024-01-01", None, "2024-01-03 10:00:00.123456", "2024-01-04",
                             "1999-12-31"], format="ISO8601"),
        "tz": pd.to_datetime(["2024-01-01T10:00Z"] * 5).tz_convert("Europe/Paris"),
        "c": pd.Categorical(["x", "y", "x", None, "y"]),
        "ci": pd.Categorical([3, 1, 3, 2, 1]),
    })
    df["n"] = pd.array([1, None, 3, 4, 2**62], dtype="Int64")
    path = tmp_path / "mixed.parquet"
    df.to_parquet(path, row_group_size=2)
    original, back, result = load_and_read(backend, engines, path, "pandas.read_parquet", {})
    assert {c.sql_name: c.pg_type for c in result.schema.columns}["tz"] == "timestamptz"
    assert_same(original, back)


def test_parquet_with_stored_index_round_trip(backend, engines, tmp_path: Path) -> None:
    df = pd.DataFrame({"k": ["a", "b", "c", "d"], "v": [1.0, 2.0, 3.0, 4.0]})
    path = tmp_path / "filtered.parquet"
    df[df.v > 1].to_parquet(path)
    original, back, _ = load_and_read(backend, engines, path, "pandas.read_parquet", {})
    assert_same(original, back)
    named = tmp_path / "named.parquet"
    df.set_index("k").to_parquet(named)
    original, back, _ = load_and_read(backend, engines, named, "pandas.read_parquet", {})
    assert_same(original, back)


def test_parquet_categorical_keeps_category_dtype(backend, engines, tmp_path: Path) -> None:
    path = tmp_path / "cat.parquet"
    pd.DataFrame({"c": pd.Categorical(["lo", "hi", "lo", "mid"])}).to_parquet(path)
    original, back, result = load_and_read(backend, engines, path, "pandas.read_parquet", {})
    assert result.schema.columns[0].dtype == "category"
    assert_same(original, back)
    assert list(back["c"].cat.categories) == list(original["c"].cat.categories)


def test_json_lines_and_records_round_trip(backend, engines, tmp_path: Path) -> None:
    rows = [{"a": i, "b": f"s{i}" if i % 3 else None, "c": i % 2 == 0, "d": i / 4}
            for i in range(9)]
    lines = tmp_path / "events.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    original, back, _ = load_and_read(backend, engines, lines, "pandas.read_json",
                                      {"lines": True}, chunksize=4)
    assert_same(original, back)
    records = tmp_path / "events.json"
    records.write_text(json.dumps(rows))
    original, back, _ = load_and_read(backend, engines, records, "pandas.read_json", {})
    assert_same(original, back)


def test_feather_round_trip(backend, engines, tmp_path: Path) -> None:
    df = pd.DataFrame({"a": range(10), "s": [f"v{i}" if i % 3 else None for i in range(10)],
                       "f": [i / 3 for i in range(10)]})
    path = tmp_path / "f.feather"
    df.to_feather(path)
    original, back, _ = load_and_read(backend, engines, path, "pandas.read_feather", {},
                                      chunksize=4)
    assert_same(original, back)


def test_long_and_odd_column_names(backend, engines, tmp_path: Path) -> None:
    long_a = "measurement_" + "a" * 60
    long_b = "measurement_" + "a" * 60 + "_b"
    path = tmp_path / "names.csv"
    path.write_text(f'{long_a},{long_b},"Has ""Quote"" and Space",UPPER,lower,"semi;colon"\n'
                    "1,2,3,4,5,6\n7,8,9,10,11,12\n")
    original, back, result = load_and_read(backend, engines, path, "pandas.read_csv", {})
    names = [c.sql_name for c in result.schema.columns]
    assert len(set(names)) == 6 and all(len(n.encode()) <= 63 for n in names)
    assert names[2:] == ['Has "Quote" and Space', "UPPER", "lower", "semi;colon"]
    recorded = result.schema.to_json()["fields"]
    assert recorded[0]["name"] == long_a and recorded[0]["sql_name"] != long_a
    assert_same(original, back)


# --------------------------------------------------------------------------- names


def test_sanitize_table_name() -> None:
    assert sanitize_table_name("data/Sales 2024.csv") == "sales_2024"
    assert sanitize_table_name("data/2024-sales.csv.gz") == "t_2024_sales"
    assert sanitize_table_name("Données (final).parquet") == "donnees_final"
    assert sanitize_table_name('x"; DROP TABLE y; --.csv') == "x_drop_table_y"
    assert sanitize_table_name("!!!.csv") == "table"
    long = sanitize_table_name("a" * 100 + ".csv")
    assert len(long) <= 63


def test_table_names_unique_in_schema(backend, tmp_path: Path) -> None:
    path = tmp_path / "Sales.csv"
    path.write_text("a\n1\n")
    first = backend.table_name(str(path), set())
    assert first == "sales"
    backend.load_table(path, "pandas.read_csv", {}, first)
    assert backend.table_name(str(path), set()) == "sales_2"
    assert backend.table_name(str(path), {"sales_2"}) == "sales_3"
    assert backend.table_name("stork_files.csv", set()) == "stork_files_2"


def test_reload_replaces_the_table(backend, engines, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a\n1\n2\n")
    backend.load_table(path, "pandas.read_csv", {}, "r", owner="r-owner")
    path.write_text("a,b\n3,x\n")
    backend.load_table(path, "pandas.read_csv", {}, "r", owner="r-owner")
    back = pd.read_sql_query(f'SELECT a, b FROM "{backend.schema}".r', engines(
        backend.sqlalchemy_url()))
    assert back.to_dict("list") == {"a": [3], "b": ["x"]}
    assert {n for n in relations(backend) if not n.startswith("_stork_pk")} == {"r"}


# --------------------------------------------------------------------------- failures


def test_late_row_failure_leaves_no_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "late_nul.csv"
    rows = [f'{i},"n{i}\nsecond line"' for i in range(1, 5000)] + ['5000,"bad\x00value"']
    path.write_text("id,name\n" + "\n".join(rows) + "\n")
    with pytest.raises(DestinationError) as err:
        backend.load_table(path, "pandas.read_csv", {}, "late_nul", chunksize=1000)
    message = str(err.value)
    assert str(path) in message and "data row 5000" in message and "'name'" in message
    assert relations(backend) == set()


def test_value_postgres_refuses_on_a_late_row(backend, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    n = 5000
    stamps = np.array(["2024-01-01"] * (n - 1) + ["300000-01-01"], dtype="datetime64[s]")
    path = tmp_path / "far_future.parquet"
    pd.DataFrame({"id": range(n), "note": ["two\nlines"] * n, "t": stamps}).to_parquet(
        path, row_group_size=1000)
    with pytest.raises(DestinationError) as err:
        backend.load_table(path, "pandas.read_parquet", {}, "far", chunksize=1000)
    message = str(err.value)
    assert str(path) in message and "data row 5000" in message and "'t'" in message
    assert relations(backend) == set()


def test_dtype_failure_on_last_row_leaves_no_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "late_text.csv"
    path.write_text("a,x\n" + "".join(f"{i},{i}\n" for i in range(3000)) + "3000,abc\n")
    with pytest.raises(TabularError) as err:
        backend.load_table(path, "pandas.read_csv", {"dtype": {"x": "int64"}}, "late_text",
                           chunksize=1000)
    message = str(err.value)
    assert str(path) in message and "data row 3001" in message and "'x'" in message
    assert relations(backend) == set()


def test_failed_reload_keeps_the_previous_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "keep.csv"
    path.write_text("id,name\n1,a\n2,b\n")
    backend.load_table(path, "pandas.read_csv", {}, "keep", owner="keep-owner")
    path.write_text("id,name\n1,a\n2,\"b\x00\"\n")
    with pytest.raises(DestinationError):
        backend.load_table(path, "pandas.read_csv", {}, "keep", owner="keep-owner")
    with backend.connect() as conn:
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(backend.schema, "keep"))).fetchone()[0]
    assert count == 2
    assert not any(n.startswith("_stork_stage") for n in relations(backend))


def test_dropped_connection_mid_copy_leaves_no_table(backend, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("id,v,name\n")
        for i in range(200_000):
            f.write(f"{i},{i * 0.5},row {i}\n")
    killed: list[int] = []

    def kill_during_copy(_n: int) -> None:
        if killed:
            return
        with psycopg.connect(backend._conn_kwargs.get("dbname") and
                             _admin_conninfo(backend), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'stork' "
                "AND query ILIKE 'COPY%%' AND pid <> pg_backend_pid()").fetchall()
            for (pid,) in rows:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
                killed.append(pid)

    with pytest.raises(DestinationError) as err:
        backend.load_table(path, "pandas.read_csv", {}, "big", progress=kill_during_copy,
                           chunksize=20_000)
    assert killed, "the loading backend was not found"
    message = str(err.value)
    assert "connection" in message and str(path) in message
    assert relations(backend) == set()


def _admin_conninfo(backend: PostgresBackend) -> str:
    from psycopg.conninfo import make_conninfo

    kwargs = {k: v for k, v in backend._conn_kwargs.items()}
    kwargs["application_name"] = "stork-test-admin"
    return make_conninfo(**kwargs)


# --------------------------------------------------------------------------- files table


def test_files_table_stores_verified_bytes(backend, tmp_path: Path) -> None:
    import os

    path = tmp_path / "model.pkl"
    data = os.urandom(3 * 1024 * 1024 + 17) + b"\x00\\x'\"\n"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    seen: list[int] = []
    result = backend.put(path, "out/model.pkl", digest, progress=seen.append)
    assert not result.skipped and result.bytes == len(data) and sum(seen) == len(data)
    assert result.target.endswith("#files/out/model.pkl") and backend.schema in result.target
    with backend.connect() as conn:
        row = conn.execute(sql.SQL(
            "SELECT encode(sha256(bytes), 'hex'), sha256, size FROM {} WHERE path = %s").format(
            sql.Identifier(backend.schema, FILES_TABLE)), ("out/model.pkl",)).fetchone()
    assert row == (digest, digest, len(data))
    again = backend.put(path, "out/model.pkl", digest)
    assert again.skipped
    copy = tmp_path / "copy.pkl"
    assert backend.get("out/model.pkl", copy) == len(data)
    assert copy.read_bytes() == data
    path.write_bytes(b"new content")
    new = backend.put(path, "out/model.pkl", hashlib.sha256(b"new content").hexdigest())
    assert not new.skipped
    with backend.connect() as conn:
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(backend.schema, FILES_TABLE))).fetchone()[0]
    assert count == 1


def test_put_with_wrong_checksum_stores_nothing(backend, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    with pytest.raises(DestinationError, match="changed"):
        backend.put(path, "x.bin", "0" * 64)
    with backend.connect() as conn:
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(backend.schema, FILES_TABLE))).fetchone()[0]
    assert count == 0


# --------------------------------------------------------------------------- urls and check


def test_urls_never_carry_the_password(pg_dsn: str) -> None:
    url = pg_dsn.replace("postgresql://postgres@", "postgresql://postgres:" + "s3cret@")
    b = PostgresBackend(url + "?schema=Mixed_Case&sslmode=prefer")
    assert "s3cret" not in b.url and "s3cret" not in b.sqlalchemy_url()
    assert "s3cret" not in repr(b) and "s3cret" not in b.target("a/b.bin")
    assert b.sqlalchemy_url().startswith("postgresql+psycopg://postgres@")
    assert "schema" not in b.sqlalchemy_url() and "sslmode=prefer" in b.sqlalchemy_url()
    assert b.schema == "Mixed_Case" and b.kind == "postgresql"
    assert PostgresBackend("postgresql://u@h/db").schema == "stork"
    assert PostgresBackend("postgresql://u@h:6543/db").target("f.bin") == (
        "postgresql://h:6543/db?schema=stork#files/f.bin")


def test_check_creates_the_schema_with_odd_name(pg_dsn: str) -> None:
    name = f'Odd "Schema" {secrets.token_hex(3)}'
    b = PostgresBackend(f"{pg_dsn}?schema={name}")
    b.check()
    b.check()  # twice is fine
    with b.connect() as conn:
        assert conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            (name,)).fetchone()


def test_check_refused_connection() -> None:
    b = PostgresBackend("postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(DestinationError, match="refused the connection"):
        b.check()


def test_check_missing_database(pg_dsn: str) -> None:
    base = pg_dsn.rsplit("/", 1)[0]
    b = PostgresBackend(f"{base}/no_such_db_{secrets.token_hex(3)}")
    with pytest.raises(DestinationError, match="does not exist"):
        b.check()


def test_check_unknown_user(pg_dsn: str) -> None:
    b = PostgresBackend(pg_dsn.replace("postgres@", f"nobody_{secrets.token_hex(3)}@", 1))
    with pytest.raises(DestinationError, match="user|role|credentials"):
        b.check()


def test_check_without_permission(pg_dsn: str) -> None:
    role = f"stork_ro_{secrets.token_hex(3)}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        b = PostgresBackend(pg_dsn.replace("postgres@", f"{role}@", 1) + "?schema=ro_x")
        with pytest.raises(DestinationError, match="may not create"):
            b.check()
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
