"""A big CSV's raw COPY begun while the plan's exact pandas pass runs (pg_early): it is
kept only when the exact schema confirms the head's, and then checked like any raw
load; either way the table read back equals pandas' own read, and no staging table is
left. The sizes are made small here (the sample, the bytes per COPY stream)."""

from __future__ import annotations

import secrets
from pathlib import Path

import nbformat
import pytest

pd = pytest.importorskip("pandas")
psycopg = pytest.importorskip("psycopg")
sqlalchemy = pytest.importorskip("sqlalchemy")

from csv_cases import CSV_CASES  # noqa: E402

import stork_jupyter.destinations.pg_copy as pg_copy  # noqa: E402
from stork_jupyter.destinations import pg_early  # noqa: E402
from stork_jupyter.destinations.postgres import PostgresBackend  # noqa: E402
from stork_jupyter.errors import StorkError  # noqa: E402
from stork_jupyter.migrate import migrate  # noqa: E402
from stork_jupyter.store import Dataset, Transfer, open_store  # noqa: E402
from stork_jupyter.tabular import (  # noqa: E402
    TableSchema,
    TabularError,
    infer_schema,
    load_options,
    read_back,
)

HEAD = "".join(f'{i},{i * 0.25},"t{i}, x",{i % 2 == 0},2024-01-{i % 28 + 1:02d} 10:00:00\n'
               for i in range(2000))
COLUMNS = "a,b,c,d,ts\n"

#: the end of a file whose head is HEAD -> (the path the load takes, whether the early
#: COPY is kept); each end makes the exact schema differ from the head's in one way
ENDS = {
    "agrees": ("2000,1.5,z,False,2024-02-01 00:00:00\n", "raw", True),
    "an int column turns float": ("2000.5,1.5,z,False,2024-02-01 00:00:00\n", "raw", False),
    "a gap in an int column": (",1.5,z,False,2024-02-01 00:00:00\n", "raw", False),
    "a bool column gets other text": ("2000,1.5,z,yes,2024-02-01 00:00:00\n", "raw", False),
    "a date in another format": ("2000,1.5,z,True,01/02/2024\n", "raw", False),
    # same types, but pandas reads NA as missing where COPY keeps the text: the check
    # after the COPY refuses it and the chunks path loads it
    "NA text": ("2000,1.5,NA,False,2024-02-01 00:00:00\n", "converted", True),
    "a 17-digit float": ("2000,0.30000000000000004,z,False,2024-02-01 00:00:00\n",
                         "converted", True),
}


@pytest.fixture
def small(monkeypatch):
    """A 100 KB file is 'big': a 2 KB sample, two COPY streams."""
    monkeypatch.setattr(pg_early, "SAMPLE_BYTES", 2048)
    monkeypatch.setattr(pg_copy, "STREAM_BYTES", 1024)
    monkeypatch.setattr(pg_copy, "MAX_STREAMS", 2)
    monkeypatch.setattr(pg_copy.os, "cpu_count", lambda: 2)


@pytest.fixture
def backend(pg_dsn: str) -> PostgresBackend:
    b = PostgresBackend(f"{pg_dsn}?schema=e_{secrets.token_hex(5)}")
    b.check()
    return b


def _read_table(backend: PostgresBackend, table: str, schema):
    rb = read_back(schema)
    cols = ", ".join(f'"{c.sql_name}"::{rb.casts[c.sql_name]} AS "{c.sql_name}"'
                     if c.sql_name in rb.casts else f'"{c.sql_name}"' for c in schema.columns)
    engine = sqlalchemy.create_engine(backend.sqlalchemy_url())
    try:
        return rb.apply(pd.read_sql_query(
            f'SELECT {cols} FROM "{backend.schema}"."{table}" ORDER BY "_stork_row"',
            engine, **rb.kwargs))
    finally:
        engine.dispose()


def _staging_left(backend: PostgresBackend) -> list[str]:
    return [n for n in backend.existing_names() if n.startswith("_stork_stage")]


def _early_round_trip(backend, path: Path, kwargs: dict):
    """What a migration does: begin from the head, the exact pass, confirm, load."""
    original = pd.read_csv(path, **kwargs)
    options = load_options("read_csv", kwargs)
    table = backend.table_name(str(path), set())
    with pg_early.scope():
        early = pg_early.begin(backend, path, "pandas.read_csv", options, table)
        schema = infer_schema(path, "pandas.read_csv", options)
        kept = early is not None and early.confirm(schema)
        result = backend.load_table(path, "pandas.read_csv", options, table, schema=schema,
                                    owner="test")
    return original, _read_table(backend, table, result.schema), result, early, kept


@pytest.mark.parametrize("end", list(ENDS))
def test_each_kind_of_file_takes_its_path(small, backend, tmp_path: Path, end: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(COLUMNS + HEAD + ENDS[end][0], encoding="utf-8", newline="")
    original, back, result, early, kept = _early_round_trip(backend, path,
                                                            {"parse_dates": ["ts"]})
    copy, keeps = ENDS[end][1:]
    assert early is not None and kept == keeps
    assert (result.copy, result.early) == (copy, keeps and copy == "raw"), result.copy_reason
    assert (result.copy_reason == "") == (copy == "raw")
    assert list(back.dtypes) == list(original.dtypes)
    assert original.equals(back)
    assert not _staging_left(backend)


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_csv_cases_read_back_exactly_when_begun_early(small, backend, tmp_path: Path,
                                                      monkeypatch, case: str) -> None:
    text, kwargs = CSV_CASES[case]
    monkeypatch.setattr(pg_early, "SAMPLE_BYTES", max((len(text.encode()) - 1) // 2, 4))
    monkeypatch.setattr(pg_copy, "STREAM_BYTES", 8)
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        original, back, result, _, _ = _early_round_trip(backend, path, kwargs)
    except (TabularError, ValueError):
        assert not _staging_left(backend)
        return  # a read pandas or the loader refuses: covered by test_postgres_load
    assert list(map(str, back.dtypes)) == list(map(str, original.dtypes))
    assert original.equals(back), (original, back)
    assert not _staging_left(backend)


def test_most_csv_cases_begin_early(small, backend, tmp_path: Path, monkeypatch) -> None:
    """(so that the round trips above go through the early path, not only the usual)"""
    begun = []
    for case, (text, kwargs) in CSV_CASES.items():
        monkeypatch.setattr(pg_early, "SAMPLE_BYTES", max((len(text.encode()) - 1) // 2, 4))
        path = tmp_path / f"{len(begun)}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        try:
            options = load_options("read_csv", kwargs)
        except TabularError:
            continue
        with pg_early.scope():
            if pg_early.begin(backend, path, "pandas.read_csv", options, "t") is not None:
                begun.append(case)
    print(len(begun), "of", len(CSV_CASES), "begin early")
    assert len(begun) >= len(CSV_CASES) // 3, begun
    assert not _staging_left(backend)


def test_nothing_begins_outside_a_scope_or_for_a_small_file(small, backend, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(COLUMNS + HEAD, encoding="utf-8", newline="")
    options = load_options("read_csv", {})
    assert pg_early.begin(backend, path, "pandas.read_csv", options, "f") is None
    small_file = tmp_path / "g.csv"
    small_file.write_text("a\n1\n", encoding="utf-8")
    with pg_early.scope():
        assert pg_early.begin(backend, small_file, "pandas.read_csv", options, "g") is None
    assert not _staging_left(backend)


def test_an_early_load_no_transfer_takes_is_dropped(small, backend, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(COLUMNS + HEAD, encoding="utf-8", newline="")
    options = load_options("read_csv", {})
    with pg_early.scope():
        early = pg_early.begin(backend, path, "pandas.read_csv", options, "f")
        assert early is not None and early.confirm(infer_schema(path, "pandas.read_csv",
                                                                options))
        assert _staging_left(backend)  # the COPY runs into its staging table
    assert not _staging_left(backend) and "f" not in backend.existing_names()


def test_a_file_changed_after_the_early_copy_began_is_loaded_again(small, backend,
                                                                   tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(COLUMNS + HEAD, encoding="utf-8", newline="")
    options = load_options("read_csv", {})
    with pg_early.scope():
        early = pg_early.begin(backend, path, "pandas.read_csv", options, "f")
        assert early is not None
        with open(path, "a", encoding="utf-8") as f:
            f.write("9,9.5,late,True,2024-01-01 00:00:00\n")
        schema = infer_schema(path, "pandas.read_csv", options)
        early.confirm(schema)
        result = backend.load_table(path, "pandas.read_csv", options, "f", schema=schema,
                                    owner="test")
    assert not result.early and result.rows == 2001
    back = _read_table(backend, "f", result.schema)
    assert pd.read_csv(path).equals(back)
    assert not _staging_left(backend)


def _notebook(project: Path, tail: str) -> Path:
    (project / "data").mkdir()
    (project / "data" / "big.csv").write_text(COLUMNS + HEAD + tail, encoding="utf-8",
                                              newline="")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import pandas as pd\ndf = pd.read_csv('data/big.csv', parse_dates=['ts'])\ndf")]
    nbformat.write(nb, project / "nb.ipynb")
    return project / "nb.ipynb"


@pytest.mark.parametrize("end", ["agrees", "an int column turns float", "NA text"])
def test_migrate_begins_the_copy_while_planning(small, tmp_path, pg_dsn, end):
    nb = _notebook(tmp_path, ENDS[end][0])
    schema = f"early_{secrets.token_hex(4)}"
    store = f"sqlite:///{tmp_path / 's.db'}"
    migrate(nb, f"{pg_dsn}?schema={schema}", output=tmp_path / "out.ipynb", store=store)
    with open_store(tmp_path, store) as metadata:
        (transfer,) = metadata.list(Transfer, limit=None)
    copy, keeps = ENDS[end][1:]
    assert transfer.state["copy"] == copy
    assert transfer.state["copy_early"] == (keeps and copy == "raw")
    assert transfer.state["copy_streams"] == (2 if copy == "raw" else 1)
    backend = PostgresBackend(f"{pg_dsn}?schema={schema}")
    with open_store(tmp_path, store) as metadata:
        (ds,) = [d for d in metadata.list(Dataset, limit=None) if d.schema]
    back = _read_table(backend, "big", TableSchema.from_json(ds.schema))
    assert pd.read_csv(tmp_path / "data" / "big.csv", parse_dates=["ts"]).equals(back)
    assert not _staging_left(backend)


def test_a_dry_run_begins_nothing(small, tmp_path, pg_dsn):
    nb = _notebook(tmp_path, ENDS["agrees"][0])
    schema = f"early_{secrets.token_hex(4)}"
    migrate(nb, f"{pg_dsn}?schema={schema}", dry_run=True,
            store=f"sqlite:///{tmp_path / 's.db'}")
    with psycopg.connect(pg_dsn) as conn:
        found = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                             (schema,)).fetchone()[0]
    assert found == 0


@pytest.mark.parametrize("dates", [False, True])
def test_a_late_row_pandas_refuses_leaves_nothing(small, tmp_path, pg_dsn, dates):
    """The COPY began on the head; the exact pass then refuses the file (a row with one
    field too many): the migration fails, the early COPY is dropped, no table made."""
    nb = _notebook(tmp_path, "2000,1.5,z,False,2024-02-01 00:00:00,extra\n")
    if not dates:
        book = nbformat.read(nb, as_version=4)
        book.cells[0].source = book.cells[0].source.replace(", parse_dates=['ts']", "")
        nbformat.write(book, nb)
    schema = f"early_{secrets.token_hex(4)}"
    # (with parse_dates, pandas' own ParserError comes through: the date-format pass
    # reads the first chunk without the line numbers the other pass adds)
    with pytest.raises((StorkError, ValueError), match="big.csv|fields"):
        migrate(nb, f"{pg_dsn}?schema={schema}", output=tmp_path / "out.ipynb",
                store=f"sqlite:///{tmp_path / 's.db'}")
    backend = PostgresBackend(f"{pg_dsn}?schema={schema}")
    assert backend.existing_names() == set()
    assert not (tmp_path / "out.ipynb").exists()
