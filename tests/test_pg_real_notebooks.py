"""Issue 12 (items 1 and 7): PostgreSQL migrations of what real notebooks write.

Each case is the whole check of tests/test_migrate_postgres.py: the notebook executed on
its local data, ``stork migrate --to postgresql://...``, the data moved away, the migrated
notebook executed and its outputs compared cell by cell (``show`` prints each frame, its
dtypes, index and values, so NaN/None, names and types all show).
"""

from __future__ import annotations

import pytest
from migrate_support import read_nb, stork, write_nb
from test_migrate_postgres import PRELUDE, _destination, _roundtrip, _tables

pytest.importorskip("psycopg")

pytestmark = pytest.mark.slow

#: The first header cell empty, as ``df.to_csv(path)`` writes a frame's unnamed index.
INDEXED_CSV = ",city,n,note\n0,Oslo,1,\n1,,2,x\n2,Lima,,y\n"


def test_multiline_read_call_migrates(tmp_path, pg_dsn, monkeypatch):
    """A read spread over several lines (black's style) is rewritten, whatever the
    number of lines its new form takes; a magic line in the same cell stays."""
    _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        'df = pd.read_csv("data/t.csv",\n                 index_col=0)\nshow(df)',
        "%env STORK_X=1\nother = pd.read_csv(\n    'data/t.csv',\n    usecols=['city', 'n'],\n"
        ")  # trailing comment\n!echo shell line\nshow(other)",
        files={"data/t.csv": INDEXED_CSV})


def test_partial_leaves_an_access_it_cannot_rewrite_local(tmp_path, pg_dsn, monkeypatch):
    """``%time df = pd.read_csv(...,\\n ...)``: the new call takes one line, and the magic
    shares the statement's first line, so it cannot be rewritten. Without --partial the
    migration is refused (one message naming the access, nothing changed); with it that
    access stays local and is listed, and the rest is migrated."""
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "t.csv").write_text(INDEXED_CSV)
    stuck = '%time df = pd.read_csv("data/t.csv",\n                       index_col=0)'
    write_nb(project / "nb.ipynb", PRELUDE, stuck, 'ok = pd.read_csv("data/t.csv")\nshow(ok)')
    dest, schema = _destination(pg_dsn)
    monkeypatch.chdir(project)

    refused = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb")
    assert refused.exit_code != 0
    assert "cannot rewrite" in refused.output and "index_col=0" in refused.output
    assert not (project / "migrated.ipynb").exists()

    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb", "--partial")
    assert result.exit_code == 0, result.output
    assert "cannot rewrite" in result.output
    cells = [c.source for c in read_nb(project / "migrated.ipynb").cells]
    assert stuck in cells  # left local, exactly as it was
    assert any("read_sql_query" in c and "show(ok)" in c for c in cells)
    assert set(_tables(pg_dsn, schema)) == {"t"}


#: An empty column and a text column with gaps: object columns hold NaN there.
GAPS_CSV = "a,b,c,d\n,1,,x\n,2,,\n,3,,z\n"


def test_exact_missing_values_unnamed_index_and_type_names(tmp_path, pg_dsn, monkeypatch):
    """NaN stays NaN in object columns (read_sql_query gives None); an index read from
    an empty header cell is unnamed; ``dtype=`` naming Python/NumPy types migrates."""
    _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "show(pd.read_csv('data/gaps.csv', dtype=object))",
        "show(pd.read_csv('data/gaps.csv', dtype={'a': object, 'd': object}))",
        "show(pd.read_csv('data/t.csv', index_col=0))",
        "show(pd.read_csv('data/t.csv', index_col=[0, 'city']))",
        "show(pd.read_csv('data/t.csv', dtype=str, index_col=0))",
        "show(pd.read_csv('data/t.csv', dtype={'n': np.float32, 'city': str, 'note': object}))",
        "show(pd.read_csv('data/t.csv', dtype=np.str_))",
        files={"data/gaps.csv": GAPS_CSV, "data/t.csv": INDEXED_CSV})


CATALOG_XML = """<?xml version='1.0' encoding='utf-8'?>
<data>
  <row><id>1</id><title>Dune</title><price>9.5</price></row>
  <row><id>2</id><title>Emma</title><price/></row>
</data>
"""
FIXED_WIDTH = "id  name   score\n1   Ada    9.5\n2   Bo        \n"


def test_file_object_readers_and_writers_go_through_the_files_table(
        tmp_path, pg_dsn, monkeypatch):
    """A reader or writer that takes a file object (read_xml, read_fwf, to_xml) reads and
    writes the files table's bytes, so it gives what the file gave; a file the notebook
    writes with one and reads back comes from there too."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "books = pd.read_xml('data/catalog.xml')\nshow(books)",
        "show(pd.read_fwf('data/scores.txt'))",
        "books.to_xml('out/clean.xml', index=False)\nshow(pd.read_xml('out/clean.xml'))",
        files={"data/catalog.xml": CATALOG_XML, "data/scores.txt": FIXED_WIDTH})
    assert "stork_files" in _tables(pg_dsn, schema)


def test_excel_writer_fills_one_workbook_read_back_by_sheet(tmp_path, pg_dsn, monkeypatch):
    """``with pd.ExcelWriter(p) as w: df.to_excel(w, sheet_name=...)`` stores the workbook
    when the writer closes; reading it back (all sheets, one sheet, ExcelFile) gives the
    frames the local workbook gave."""
    _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "a = pd.read_csv('data/a.csv')\n"
        "b = pd.DataFrame({'n': [1, 2, 3]})\n"
        "with pd.ExcelWriter('out/report.xlsx') as writer:\n"
        "    a.to_excel(writer, sheet_name='first', index=False)\n"
        "    b.to_excel(writer, sheet_name='second')",
        "sheets = pd.read_excel('out/report.xlsx', sheet_name=None)\n"
        "print(list(sheets))\nfor s in sheets.values():\n    show(s)",
        "print(pd.ExcelFile('out/report.xlsx').sheet_names)",
        files={"data/a.csv": "k,v\nx,1.5\ny,\n"})


def test_listing_nothing_reads_lists_the_files_table(tmp_path, pg_dsn, monkeypatch):
    """A glob or folder listing whose files no call reads gives, on PostgreSQL, the
    migrated files under the names the original gave: glob.glob skips hidden names,
    pathlib's glob does not, '*' stays in its folder, '**' spans folders."""
    _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "from pathlib import Path",
        "print(sorted(glob.glob('data/*.csv')))",
        "print(sorted(glob.glob('data/**/*.csv', recursive=True)))",
        "print(sorted(p.name for p in Path('data').rglob('*.csv')))",
        "print(sorted(str(p) for p in Path('data').glob('*/*.txt')))",
        files={"data/a.csv": "x\n1\n", "data/.hidden.csv": "x\n2\n", "data/sub/b.csv": "x\n3\n",
               "data/sub/deep/c.csv": "x\n4\n", "data/sub/n.txt": "n", "data/top.txt": "t"})


def _trips_csv(rows: int, gap_at: int | None = None) -> str:
    lines = ["zone,fare,passengers"]
    for i in range(rows):
        passengers = "" if i == gap_at else str(1 + i % 4)
        lines.append(f"{'ABC'[i % 3]},{i * 1.25:.2f},{passengers}")
    return "\n".join(lines) + "\n"


def test_chunked_read_comes_from_the_table_a_chunk_at_a_time(tmp_path, pg_dsn, monkeypatch):
    """``read_csv(p, chunksize=N)`` becomes ``read_sql_query(..., chunksize=N)``: each
    chunk the frame pandas' chunk is (dtypes, the row numbers running on, the last one
    short), with usecols and index_col, iterated, ``next``-ed or used in ``with``."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "for c in pd.read_csv('data/trips.csv', chunksize=4):\n    show(c)",
        "r = pd.read_csv('data/trips.csv', chunksize=3, usecols=['zone', 'fare'])\n"
        "show(pd.concat([c.groupby('zone').sum() for c in r]))",
        "show(next(iter(pd.read_csv('data/trips.csv', chunksize=5, index_col='zone'))))",
        "with pd.read_csv('data/trips.csv', chunksize=6) as reader:\n"
        "    print([len(c) for c in reader])",
        files={"data/trips.csv": _trips_csv(10)})
    assert set(_tables(pg_dsn, schema)) == {"trips"}
    cells = "\n".join(c.source for c in read_nb(project / "migrated.ipynb").cells)
    assert cells.count("stork_chunks(pd.read_sql_query(") == 4


def test_chunked_read_whose_chunks_pandas_types_apart_reads_the_bytes(
        tmp_path, pg_dsn, monkeypatch):
    """A gap in one chunk only makes that chunk's column float and the others' int: the
    table cannot give those chunks, so the read takes the file's bytes from the files
    table and pandas makes the very same chunks."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "for c in pd.read_csv('data/trips.csv', chunksize=4):\n    show(c)",
        files={"data/trips.csv": _trips_csv(10, gap_at=6)})
    assert set(_tables(pg_dsn, schema)) == {"stork_files"}
    cells = "\n".join(c.source for c in read_nb(project / "migrated.ipynb").cells)
    assert "stork_read(" in cells and "chunksize=4" in cells


def _budget_workbook(project):
    import pandas as pd

    (project / "data").mkdir(exist_ok=True)
    with pd.ExcelWriter(project / "data" / "budget.xlsx") as writer:
        pd.DataFrame({"dept": ["Ops", "IT", None], "q1": [1.5, 2.0, None], "q2": [3, 4, 5],
                      "note": ["a", None, "c"]}).to_excel(writer, sheet_name="Sales",
                                                          index=False)
        pd.DataFrame({"k": ["x", "y"]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame({"v": [7]}).to_excel(writer, sheet_name="Extra")


def test_every_sheet_is_a_table_read_back_as_the_same_dict(tmp_path, pg_dsn, monkeypatch):
    """``read_excel(p, sheet_name=None)`` (and a list of sheets) becomes one table per
    sheet, read back as the dict pandas gives: the same keys in the same order; Excel
    column letters in ``usecols`` select the same columns."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "book = pd.read_excel('data/budget.xlsx', sheet_name=None)\nprint(list(book))\n"
        "for name, frame in book.items():\n    print(name)\n    show(frame)",
        "two = pd.read_excel('data/budget.xlsx', sheet_name=['Notes', 0], nrows=2)\n"
        "print(list(two))\nshow(two[0])\nshow(two['Notes'])",
        "show(pd.read_excel('data/budget.xlsx', sheet_name='Sales', usecols='A,C:D'))",
        make=_budget_workbook)
    assert len(set(_tables(pg_dsn, schema))) == 3  # one per sheet, shared by the reads


def test_chunk_size_known_at_run_time_reads_the_bytes(tmp_path, pg_dsn, monkeypatch):
    """A chunk size computed by the notebook cannot be checked before it runs; pandas
    makes the chunks of the file's bytes from the files table, whatever the size."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "size = int(os.environ.get('CHUNK_ROWS', '3'))\n"
        "print([len(c) for c in pd.read_csv('data/trips.csv', chunksize=size)])",
        files={"data/trips.csv": _trips_csv(8)})
    assert set(_tables(pg_dsn, schema)) == {"stork_files"}


def test_reads_no_table_reproduces_read_the_files_bytes_with_the_same_call(
        tmp_path, pg_dsn, monkeypatch):
    """``converters`` (Python functions), ``iterator=True`` (a reader), pyarrow-backed
    dtypes: no table gives what these calls give, so each reads the file's bytes from the
    files table with the notebook's own call (they were refused); the plan says why.
    A plain read of the same file still gets its typed table."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "ok = pd.read_csv('data/t.csv')\nshow(ok)",
        "book = pd.read_excel('data/budget.xlsx', sheet_name=None, converters={'q2': str})\n"
        "for name, sheet in book.items():\n    print(name)\n    show(sheet)",
        "conv = pd.read_csv('data/t.csv', index_col=0, converters={'city': str.upper})\n"
        "show(conv)",
        "reader = pd.read_csv('data/t.csv', iterator=True)\nshow(reader.get_chunk(2))",
        "arrow = pd.read_csv('data/t.csv', dtype_backend='pyarrow')\nprint(arrow.dtypes)",
        files={"data/t.csv": INDEXED_CSV}, make=_budget_workbook)
    assert set(_tables(pg_dsn, schema)) == {"t", "stork_files"}
    from stork_jupyter.store import Job, open_store

    with open_store(project) as store:
        (job,) = store.list(Job, kind="migrate", limit=None)
    notes = {m["source"]: m["note"] for m in job.options["plan"]["moves"]}
    assert notes["data/budget.xlsx"] == notes["data/t.csv"] == (
        "the option(s) converters are only known at run time")


def _nested_parquet(project):
    import pandas as pd

    (project / "data").mkdir(exist_ok=True)
    pd.DataFrame({"id": [1, 2], "tags": [["a", "b"], []], "v": [1.0, 2.0]}).to_parquet(
        project / "data" / "nested.parquet")


def test_a_file_no_table_can_hold_is_read_from_its_bytes(tmp_path, pg_dsn, monkeypatch):
    """A parquet column of lists has no PostgreSQL type stork maps: the file goes to the
    files table and the notebook's own read_parquet reads it (it was refused); the plan
    names the column."""
    project, schema = _roundtrip(
        tmp_path, pg_dsn, monkeypatch,
        "n = pd.read_parquet('data/nested.parquet')\nprint(n)\nprint(n.tags.map(len).sum())",
        make=_nested_parquet)
    assert set(_tables(pg_dsn, schema)) == {"stork_files"}
    from stork_jupyter.store import Job, open_store

    with open_store(project) as store:
        (job,) = store.list(Job, kind="migrate", limit=None)
    (move,) = job.options["plan"]["moves"]
    assert "column 'tags'" in move["note"] and move["table"] is None
