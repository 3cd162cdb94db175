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
