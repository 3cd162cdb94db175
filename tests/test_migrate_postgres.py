"""Done when (issue 4): notebooks migrated to a real PostgreSQL (a fresh database for the
run, a schema per test) give the original run's outputs, cell by cell, with the local
data moved away.

Each case writes a project (its data made by the test), executes the notebook once on
the local data and keeps the outputs in it (as ``stork run`` would), migrates it with
``stork migrate NB --to postgresql://...?schema=S -o OUT``, moves ``data/`` away,
removes ``out/`` and executes the migrated notebook with nbclient. The test notebooks
print each frame, its dtypes and its index, so any difference in values, NaN/None,
types or index shows in the outputs.
"""

from __future__ import annotations

import gzip
import json
import pickle
import secrets
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nbformat
import numpy as np
import pandas as pd
import pytest
from migrate_support import (
    code_sources,
    read_nb,
    setup_cells,
    stork,
    without_setup,
    write_files,
    write_nb,
)

from stork_jupyter.execute import compare_outputs, execute_notebook
from stork_jupyter.notebook import write_notebook
from stork_jupyter.rewrite.setup_cell import SETUP_KEY
from stork_jupyter.store import Dataset, open_store

psycopg = pytest.importorskip("psycopg")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = ["sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb"]
CELL_TIMEOUT = 120  # seconds per cell: every cell here takes well under a second
#: Given in the destination URL when the test server's has none (it trusts loopback, so
#: any password works): it may appear in no notebook, no output, not in the store.
PASSWORD = "stork-pg-e2e-pw-7d1c9b"


def _destination(pg_dsn: str) -> tuple[str, str]:
    """(destination URL with a password, a fresh schema name): PASSWORD unless the
    test server's URL has its own."""
    schema = f"t_{secrets.token_hex(5)}"
    parts = urlsplit(pg_dsn)
    if parts.password is None and parts.username:
        host = parts.netloc.rsplit("@", 1)[1]
        pg_dsn = urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{host}"))
    return f"{pg_dsn}?schema={schema}", schema


def _secret(pg_dsn: str) -> str:
    """The password the destination URL carries: it must never be written anywhere."""
    return urlsplit(pg_dsn).password or PASSWORD


def _tables(pg_dsn: str, schema: str) -> dict[str, int]:
    """Every table of ``schema`` with its row count."""
    from psycopg import sql

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchall()]
        return {n: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(schema, n))).fetchone()[0] for n in names}


def _column_types(pg_dsn: str, schema: str, table: str) -> dict[str, str]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        return dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE "
            "table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table)).fetchall())


def _check_migrated_notebook(path: Path, original: nbformat.NotebookNode, secret: str
                             ) -> None:
    """Valid, one setup cell (first code cell, marked), no password, no stork_jupyter,
    the original's outputs kept, some code changed."""
    migrated = read_nb(path)
    nbformat.validate(migrated)
    text = path.read_text()
    assert "stork_jupyter" not in text
    assert secret not in text
    assert len(setup_cells(migrated)) == 1
    first_code = next(i for i, c in enumerate(migrated.cells) if c.cell_type == "code")
    assert setup_cells(migrated) == [first_code]
    setup = migrated.cells[first_code]
    assert setup.metadata[SETUP_KEY]["kind"] == "postgresql"
    assert 'os.environ.get("STORK_PG_URL", "postgresql+psycopg://postgres@127.0.0.1' in (
        setup.source)
    assert compare_outputs(original, without_setup(migrated)) == []
    assert code_sources(migrated) != code_sources(original)


def _run_migrated(project: Path, migrated: Path, original: nbformat.NotebookNode,
                  away: Path) -> nbformat.NotebookNode:
    """Move data/ away, drop out/, execute the migrated notebook: same outputs."""
    shutil.move(project / "data", away)
    shutil.rmtree(project / "out", ignore_errors=True)
    executed = execute_notebook(migrated, timeout=CELL_TIMEOUT)
    assert compare_outputs(original, without_setup(executed)) == []
    assert not (project / "data").exists()
    # artefacts went to the database: at most the empty folder os.makedirs made
    assert [p for p in (project / "out").rglob("*") if p.is_file()] == []
    return executed


def _store_datasets(project: Path) -> dict[str, dict]:
    """``stork datasets --json`` of the project, by source path."""
    result = stork("datasets", "--json", "--limit", "100")
    assert result.exit_code == 0, result.output
    return {d["source_path"]: d for d in json.loads(result.stdout)}


def _store_tables(project: Path) -> dict[str, list[str]]:
    """The tables the store records for each dataset (its locations)."""
    with open_store(project) as metadata:
        return {d.source_path: [loc.table_name for loc in metadata.locations(d.id)
                                if loc.table_name]
                for d in metadata.list(Dataset, limit=None)}


_INFORMATION_SCHEMA_TYPES = {"timestamp": "timestamp without time zone",
                             "timestamptz": "timestamp with time zone"}


def _check_store(project: Path, pg_dsn: str, schema: str, expected: dict[str, pd.DataFrame]
                 ) -> None:
    """Each dataset loaded as a table has its fields, types and row count in the store,
    and they are the table's; ``expected``: source path -> the whole file as read."""
    datasets = _store_datasets(project)
    with_schema = {p for p, d in datasets.items() if d["schema"]}
    # (a CSV kept as bytes in the files table, a glob's part, has its file schema too)
    assert set(expected) <= with_schema
    tables = _tables(pg_dsn, schema)
    located = _store_tables(project)
    for path, frame in expected.items():
        d = datasets[path]
        fields = d["schema"]["fields"]
        assert [f["name"] for f in fields] == list(frame.columns), path
        assert d["row_count"] == d["schema"]["row_count"] == len(frame), path
        assert located[path], path
        recorded = {f["sql_name"]: _INFORMATION_SCHEMA_TYPES.get(f["pg_type"], f["pg_type"])
                    for f in fields}
        actual = []
        for table in located[path]:
            assert tables[table] == len(frame), (path, table)
            types = _column_types(pg_dsn, schema, table)
            assert types.pop("_stork_row") == "bigint"
            actual.append(types)
        # a file read with two sets of options is two tables; the dataset keeps one
        # schema (that of the last load)
        assert recorded in actual, (path, located[path])
    store = (project / ".stork" / "stork.db").read_bytes().decode("latin-1")
    assert _secret(pg_dsn) not in store


# --------------------------------------------------------------------------- examples




#: What each example loads as typed tables (the rest goes to the files table).
EXAMPLE_TABLES = {
    "sales_analysis.ipynb": {"data/sales.csv": "csv", "data/products.csv": "csv",
                             "data/returns.csv": "csv"},
    "feature_pipeline.ipynb": {"data/features/train.csv": "csv",
                               "data/features/valid.csv": "csv"},
    "log_processing.ipynb": {"data/users.csv": "csv", "data/events.jsonl": "jsonl"},
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_migrated_to_postgres_gives_the_same_outputs(name, pristine, originals, pg_dsn,
                                                             tmp_path, monkeypatch):
    project = tmp_path / "notebooks"
    shutil.copytree(pristine, project)
    notebook = project / name
    write_notebook(originals[name], notebook)  # as `stork run NB`: outputs stored in it
    source_bytes = notebook.read_bytes()
    dest, schema = _destination(pg_dsn)
    monkeypatch.chdir(project)

    result = stork("migrate", name, "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    assert _secret(pg_dsn) not in result.output
    assert notebook.read_bytes() == source_bytes
    _check_migrated_notebook(project / "migrated.ipynb", originals[name], _secret(pg_dsn))

    expected = {path: (pd.read_json(project / path, lines=True) if kind == "jsonl"
                       else pd.read_csv(project / path))
                for path, kind in EXAMPLE_TABLES[name].items()}
    _check_store(project, pg_dsn, schema, expected)

    _run_migrated(project, project / "migrated.ipynb", originals[name], tmp_path / "away")


# --------------------------------------------------------------------------- test notebooks


PRELUDE = """\
import glob
import os
import pickle

import numpy as np
import pandas as pd

pd.set_option("display.width", 250)
pd.set_option("display.max_columns", 50)
os.makedirs("out", exist_ok=True)


def show(df):
    print(df)
    print(df.dtypes)
    print(repr(df.index))
    print(df.to_dict("list"))
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            print(c, list(df[c].cat.categories), df[c].cat.ordered)"""


def _roundtrip(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch, *cells: str,
               files: dict[str, str | bytes] | None = None, make=None) -> tuple[Path, str]:
    """The whole check for a notebook of ``cells`` (after PRELUDE) over ``files`` (and
    what ``make(project)`` writes). Returns (project, schema)."""
    project = tmp_path / "project"
    project.mkdir()
    write_files(project, files or {})
    if make is not None:
        make(project)
    notebook = write_nb(project / "nb.ipynb", PRELUDE, *cells)
    original = execute_notebook(notebook, timeout=CELL_TIMEOUT)
    write_notebook(original, notebook)
    source_bytes = notebook.read_bytes()
    dest, schema = _destination(pg_dsn)
    monkeypatch.chdir(project)

    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    assert notebook.read_bytes() == source_bytes
    _check_migrated_notebook(project / "migrated.ipynb", original, _secret(pg_dsn))
    _run_migrated(project, project / "migrated.ipynb", original, tmp_path / "away")
    return project, schema


#: One CSV with what a CSV can hold: NaN and empty strings, unicode and emoji, a quoted
#: comma, an embedded newline, ints beyond 2**53 and at the int64 limit, negative
#: floats and 1e21, booleans, dates as strings, an int column with a gap.
VALUES_CSV = (
    "id,name,big,neg,flag,day,maybe,note\n"
    '1,alpha,9007199254740993,-1.5,True,2024-01-02,1,"a, b"\n'
    '2,,-9223372036854775807,1e21,False,2024-02-03,,"line1\nline2"\n'
    "3,NA,42,-0.0,true,2024-03-04,3,😀 émoji ü\n"
    '4,"",7,-3.25e-10,FALSE,,4,\n'
    "5,n/a,9223372036854775807,-1e-300,True,2024-12-31,5,\"quote \"\"inside\"\"\"\n"
)


def test_csv_values_and_read_options(tmp_path, pg_dsn, monkeypatch):
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "show(pd.read_csv('data/values.csv'))",
        "show(pd.read_csv('data/values.csv', keep_default_na=False))",
        "show(pd.read_csv('data/values.csv', parse_dates=['day']))",
        "show(pd.read_csv('data/values.csv', dtype={'maybe': 'Int64', 'id': 'int32'}, "
        "index_col='id'))",
        # selecting options only: the first table again
        "show(pd.read_csv('data/values.csv', usecols=['id', 'note', 'day'], nrows=3, "
        "index_col='id'))",
        "show(pd.read_csv('data/values.csv', usecols=[0, 4, 6], nrows=0))",
        "show(pd.read_csv('data/values.csv', index_col=[0, 4]))",
        # categories inferred from the values: ints stay ints
        "show(pd.read_csv('data/values.csv', usecols=['id', 'flag'], dtype='category'))",
        # the same file twice with the same options: one table
        "a = pd.read_csv('data/values.csv')\nb = pd.read_csv('data/values.csv')\n"
        "print(a.equals(b))",
        files={"data/values.csv": VALUES_CSV})
    tables = _tables(pg_dsn, schema)
    # one table per distinct way of parsing the file, each with all its rows
    assert tables == {"values": 5, "values_2": 5, "values_3": 5, "values_4": 5,
                      "values_5": 5}
    assert _store_datasets(project)["data/values.csv"]["row_count"] == 5


def _parquet_and_json(project: Path) -> None:
    data = project / "data"
    data.mkdir(parents=True, exist_ok=True)
    # three row groups, each with its own dictionary and an unused category
    writer = None
    for i, values in enumerate([["z", "y"], ["a", "z"], ["q", None]]):
        frame = pd.DataFrame({
            "k": pd.Categorical(values, categories=sorted(v for v in values if v) + [f"u{i}"]),
            "rank": pd.Categorical(["low", None], categories=["high", "low"], ordered=True),
            "n32": pd.array([i, i + 1], dtype="int32"),
            "f32": pd.array([0.1 * i, -1e21], dtype="float32"),
            "s": [f"ü{i}", None],
        })
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(data / "cat.parquet", table.schema)
        writer.write_table(table)
    writer.close()
    pd.DataFrame({"key": pd.array([3, 4, 5], dtype="int16"), "v": [1.5, None, -2.0]}).set_index(
        "key").to_parquet(data / "indexed.parquet")
    (data / "events.jsonl").write_text(
        '{"user": 1, "event": "click", "ok": true, "x": 1.5, "when": "2024-01-01"}\n'
        '{"user": 2, "event": "view 😀", "ok": false, "x": null, "when": null}\n'
        '{"user": 3, "event": "a, \\"b\\"\\nc", "ok": true, "x": -2, "when": "2024-01-03"}\n')


def test_parquet_and_json_lines(tmp_path, pg_dsn, monkeypatch):
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "show(pd.read_parquet('data/cat.parquet'))",
        "show(pd.read_parquet('data/cat.parquet', columns=['s', 'k']))",
        "show(pd.read_parquet('data/indexed.parquet'))",
        "show(pd.read_json('data/events.jsonl', lines=True))",
        "show(pd.read_json('data/events.jsonl', lines=True, nrows=2))",
        make=_parquet_and_json)
    assert set(_tables(pg_dsn, schema)) == {"cat", "indexed", "events"}
    fields = _store_datasets(project)["data/cat.parquet"]["schema"]["fields"]
    assert [(f["name"], f["dtype"]) for f in fields] == [
        ("k", "category"), ("rank", "category"), ("n32", "int32"), ("f32", "float32"),
        ("s", "str")]


def test_artefacts_written_then_read_back(tmp_path, pg_dsn, monkeypatch):
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "df = pd.read_csv('data/in.csv', parse_dates=['when'])\nshow(df)",
        "df.to_csv('out/plain.csv', index=False)\n"
        "by_name = df.set_index('name')\nby_name.to_csv('out/indexed.csv')\n"
        "df.to_parquet('out/frame.parquet')\nby_name.to_parquet('out/indexed.parquet')\n"
        "df[df.id > 1].to_parquet('out/filtered.parquet', index=False)\n"
        "df.iloc[1:].to_parquet('out/sliced.parquet')\n"
        "df.iloc[1:].to_parquet('out/sliced_index.parquet', index=True)\n"
        "df.iloc[1:].to_csv('out/sliced.csv')",
        # the writer's options change what the file reads back as
        "df.to_csv('out/options.csv', columns=['name', 'v'], na_rep='-', index=False)\n"
        "show(pd.read_csv('out/options.csv'))\n"
        "df[['id', 'v']].to_csv('out/headless.csv', sep=';', header=False, float_format='%.1f')\n"
        "show(pd.read_csv('out/headless.csv'))",
        "show(pd.read_parquet('out/sliced.parquet'))\n"
        "show(pd.read_parquet('out/sliced_index.parquet'))\n"
        "show(pd.read_csv('out/sliced.csv', index_col=0))",
        # written again: the later read gets the new content
        "df.head(2).to_csv('out/plain.csv', index=False)\nshow(pd.read_csv('out/plain.csv'))",
        "show(pd.read_csv('out/plain.csv'))",
        "show(pd.read_csv('out/plain.csv', usecols=['id', 'v'], nrows=2))",
        "show(pd.read_csv('out/indexed.csv'))",
        "show(pd.read_csv('out/indexed.csv', index_col=0))",
        "show(pd.read_csv('out/indexed.csv', index_col='name', usecols=['name', 'v']))",
        "show(pd.read_parquet('out/frame.parquet'))",
        "show(pd.read_parquet('out/frame.parquet', columns=['when', 'id']))",
        "show(pd.read_parquet('out/indexed.parquet'))",
        "show(pd.read_parquet('out/filtered.parquet'))",
        files={"data/in.csv": "id,name,v,when\n1,a,1.5,2024-01-01\n2,,NaN,2024-01-02\n"
                              '3,"x, y",-2,\n4,😀,1e21,2024-01-04\n'})
    tables = _tables(pg_dsn, schema)
    assert {"plain", "indexed", "frame", "indexed_2", "filtered", "plain_2"} <= set(tables)
    assert (tables["plain"], tables["filtered"], tables["plain_2"]) == (4, 3, 2)


def _binary_files(project: Path) -> None:
    data = project / "data"
    (data / "logs").mkdir(parents=True)
    (data / "parts").mkdir()
    np.save(data / "emb.npy", np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5)
    (data / "obj.pkl").write_bytes(pickle.dumps({"a": [1, 2], "b": "ü", "c": None}))
    for i in range(3):
        (data / "logs" / f"app-{i}.log").write_text(f"log {i}\nline two ü 😀\n")
        (data / "parts" / f"part-{i}.csv").write_text(f"a,b\n{i},x{i}\n{i + 10},\n")
    (project / "out").mkdir()
    (project / "out" / "j.json").write_text('[{"stale": 1}]')


def test_files_table_numpy_pickle_loops_and_globs(tmp_path, pg_dsn, monkeypatch):
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "emb = np.load('data/emb.npy')\nprint(emb, emb.dtype)",
        "with open('data/obj.pkl', 'rb') as f:\n    obj = pickle.load(f)\nprint(obj)",
        "np.save('out/double.npy', emb * 2)\nwith open('out/obj.pkl', 'wb') as f:\n"
        "    pickle.dump({**obj, 'more': 1}, f)",
        "print(np.load('out/double.npy'))\nwith open('out/obj.pkl', 'rb') as f:\n"
        "    print(pickle.load(f))",
        "for name in ['app-0.log', 'app-1.log', 'app-2.log']:\n"
        "    with open(os.path.join('data', 'logs', name)) as f:\n"
        "        print(name, repr(f.read()))",
        "parts = [pd.read_csv(p) for p in sorted(glob.glob('data/parts/*.csv'))]\n"
        "for part in parts:\n    show(part)",
        # written then read through the files table (out/j.json also exists locally,
        # stale: the read must not load it)
        "parts[0].to_json('out/j.json')\nshow(pd.read_json('out/j.json'))\n"
        "with open('out/t.csv', 'w') as f:\n    f.write('q,r\\n1,ü\\n')\n"
        "show(pd.read_csv('out/t.csv'))",
        make=_binary_files)
    assert set(_tables(pg_dsn, schema)) == {"stork_files"}
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        paths = [r[0] for r in conn.execute(
            f'SELECT path FROM "{schema}".stork_files ORDER BY path').fetchall()]
    assert paths == sorted([
        "nb/data/emb.npy", "nb/data/obj.pkl", "nb/out/double.npy", "nb/out/obj.pkl",
        "nb/out/j.json", "nb/out/t.csv",
        *[f"nb/data/logs/app-{i}.log" for i in range(3)],
        *[f"nb/data/parts/part-{i}.csv" for i in range(3)]])


def _odd_files(project: Path) -> None:
    data = project / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "z.csv.gz").write_bytes(gzip.compress("x,y\n1,é\n2,\n".encode()))
    (data / "latin.tsv").write_bytes("x\ty\n1\tété\n".encode("latin-1"))


LONG = "a column name longer than sixty-three bytes, which PostgreSQL would cut"


def test_column_names_and_parsing_options(tmp_path, pg_dsn, monkeypatch):
    header = f'id;my "odd" col;{LONG};amount;when'
    body = "1;a b;1;1.234,5;2024-01-02 10:00\n2;;2;-7,25;2024-01-03 11:30\n3;\"q;q\";3;1.000,0;\n"
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "show(pd.read_csv('data/o.csv', sep=';', thousands='.', decimal=','))",
        f"show(pd.read_csv('data/o.csv', sep=';', usecols=['id', 'my \"odd\" col', '{LONG}'], "
        "index_col=1))",
        f"show(pd.read_csv('data/o.csv', sep=';', index_col='{LONG}'))",
        "show(pd.read_csv('data/o.csv', sep=';', header=None, skiprows=1, index_col=0))",
        "show(pd.read_csv('data/o.csv', sep=';', na_values=['a b'], parse_dates=['when'], "
        "index_col='when'))",
        "show(pd.read_csv('data/z.csv.gz'))",
        "show(pd.read_table('data/latin.tsv', encoding='latin-1'))",
        files={"data/o.csv": f"{header}\n{body}"}, make=_odd_files)
    columns = list(_column_types(pg_dsn, schema, "o"))
    assert columns[:3] == ["_stork_row", "id", 'my "odd" col']
    # too long for PostgreSQL: a prefix and a hash, mapped back by the rewrite
    assert columns[3].startswith(LONG[:40]) and len(columns[3].encode()) <= 63
    assert set(_tables(pg_dsn, schema)) == {"o", "o_2", "o_3", "o_4", "z", "latin"}
