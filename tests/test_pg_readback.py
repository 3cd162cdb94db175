"""The read a migrated notebook makes of a loaded table, run as the rewrite writes it.

A table of plain columns (ints, floats, booleans without gaps, text, naive timestamps)
loaded from ``read_csv`` with pandas' own missing values comes back as COPY's CSV text read
by ``read_csv`` (``stork_read_table`` in the setup cell); any other through
``read_sql_query``. Either way the frame equals the original read's, dtypes and all.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("psycopg")
sqlalchemy = pytest.importorskip("sqlalchemy")

from csv_cases import CSV_CASES  # noqa: E402

from stork_jupyter.destinations.postgres import PostgresBackend  # noqa: E402
from stork_jupyter.rewrite.postgres import read_sql_code  # noqa: E402
from stork_jupyter.rewrite.setup_postgres import postgres_setup_source  # noqa: E402
from stork_jupyter.tabular import TabularError, load_options  # noqa: E402

#: more files, for what COPY's text must keep exactly
EDGES = {
    "17-digit and extreme floats": (
        "a,b\n0.30000000000000004,1\n5e-324,2\n-0.0,3\n1.7976931348623157e308,4\n"
        "2.2250738585072014e-308,5\ninf,6\n-inf,7\n,8\n", {}),
    "one text column with gaps": ("t\nx\n\nz\n\n", {"skip_blank_lines": False}),
    "text that looks like numbers or words": (
        'a,b\n1," 007 "\n2,"NA "\n3,"t"\n4,"f"\n5,"1e5"\n6,"\\N"\n', {}),
    "timestamps with and without fractions": (
        "d,v\n2024-01-01 10:00:00,1\n2024-01-01 10:00:00.250000,2\n,3\n"
        "1999-12-31 23:59:59.999999,4\n", {"parse_dates": ["d"]}),
    "selected and limited": ("a,b,c\n1,x,0.5\n2,y,1.5\n3,z,2.5\n",
                             {"usecols": ["c", "a"], "nrows": 2}),
    "renamed header": ("1,x\n2,y\n", {"header": None}),
    "index column": ("k,v\na,1\nb,2\n", {"index_col": "k"}),
    "index column by position": ("k,v\na,1\nb,2\n", {"index_col": 0}),  # (0 == False)
}
CASES = {**CSV_CASES, **EDGES}

#: the cases read back through COPY's text; every other takes read_sql_query
COPY_READ = {
    "nan_and_empty", "unicode_emoji", "quoted_commas_newlines", "large_ints", "int_with_gap",
    "parse_dates_tz",  # (mixed offsets: pandas keeps the text)
    "negative_floats_1e21", "booleans", "dates_as_strings", "parse_dates",
    "parse_dates_ok", "sep_semicolon", "thousands", "decimal_comma", "header_none_names",
    "header_none", "text_and_numbers", "all_missing", "dtype_str", "skipfooter",
    "nan_and_empty_variant", "unicode_emoji_variant", "quoted_commas_newlines_variant",
    "negative_floats_1e21_variant", "parse_dates_iso", "sep_semicolon_variant",
    "dtype_str_everything", "skiprows_comment", "true_false_values",
    "17-digit and extreme floats", "one text column with gaps",
    "text that looks like numbers or words", "timestamps with and without fractions",
    "selected and limited", "renamed header",
}


@pytest.fixture
def backend(pg_dsn: str) -> PostgresBackend:
    b = PostgresBackend(f"{pg_dsn}?schema=r_{secrets.token_hex(5)}")
    b.check()
    return b


def _migrated_read(backend: PostgresBackend, tmp_path: Path, text: str, kwargs: dict):
    """(the original read, the migrated notebook's read of the loaded table, its code)."""
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8", newline="")
    original = pd.read_csv(path, **kwargs)
    table = backend.table_name(str(path), set())
    result = backend.load_table(path, "pandas.read_csv", load_options("read_csv", kwargs),
                                table, owner="test")
    code = read_sql_code("pd", backend.schema, table, result.schema.to_json(), kwargs,
                         api="pandas.read_csv")
    url = backend.sqlalchemy_url()
    setup = postgres_setup_source(url, backend.schema, {"pandas", "stork_read_table"})
    scope: dict = {"pd": pd}
    exec(setup, scope)  # the setup cell, then the rewritten read, as the kernel runs them
    try:
        back = eval(code, scope)
    finally:
        scope["STORK_PG"].dispose()
    return original, back, code


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_table_reads_back_exactly_by_its_path(backend, tmp_path: Path, case: str):
    text, kwargs = CASES[case]
    try:
        original, back, code = _migrated_read(backend, tmp_path, text, kwargs)
    except (TabularError, ValueError):
        pytest.skip("a read pandas or the loader refuses (test_postgres_load covers it)")
    path = "copy" if code.startswith("stork_read_table(") else "read_sql_query"
    assert path == ("copy" if case in COPY_READ else "read_sql_query"), code
    assert list(map(str, back.dtypes)) == list(map(str, original.dtypes))
    assert list(back.columns) == list(original.columns)
    assert original.equals(back), (original, back)
    assert repr(original) == repr(back)


def test_a_big_table_streams_through_bounded_buffers(backend, tmp_path: Path):
    rows = "".join(f'{i},"r{i}\nx",{i * 0.1},{i % 2 == 0}\n' for i in range(60_000))
    original, back, code = _migrated_read(backend, tmp_path, "a,b,c,d\n" + rows, {})
    assert code.startswith("stork_read_table(")
    assert original.equals(back)


def test_another_driver_reads_through_read_sql_query(tmp_path: Path):
    """An engine of another driver (STORK_PG_URL may name one) gets read_sql_query with
    the same dtypes: here SQLite, whose connection has no COPY."""
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE t ("_stork_row" INTEGER, "a" INTEGER, "b" TEXT)')
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(0, 1, "x"), (1, 2, None)])
    setup = postgres_setup_source("postgresql+psycopg://u@h/d", "s",
                                  {"pandas", "stork_read_table"})
    scope: dict = {}
    exec(setup.replace('"postgresql+psycopg://u@h/d"', repr(f"sqlite:///{db}")), scope)
    back = scope["stork_read_table"]('SELECT "a", "b" FROM t ORDER BY "_stork_row"',
                                     {"a": "int64", "b": "str"})
    scope["STORK_PG"].dispose()
    assert back.equals(pd.DataFrame({"a": [1, 2], "b": pd.Series(["x", None], dtype="str")}))
