"""The PostgreSQL rewrite (issue 4): what each access becomes, as before/after strings.

- reads become a SELECT with the call's selecting options in SQL (``usecols`` -> the
  columns, ``nrows`` -> LIMIT) or in the call (``index_col``): ``stork_read_table`` (COPY's
  text through ``read_csv``) for a table of plain columns, else ``read_sql_query``;
- identifiers are always quoted, so a column named ``my "odd" col`` is a column;
- writes become ``stork_to_table`` and a later read of the file ``stork_from_table``;
- other files go through the files table (``stork_open``/``stork_read``/``stork_write``);
- the setup cell opens the engine from the environment and holds no password.

The dry runs need a real server for the table names (the schema is never created); the
last tests load for real and run the rewritten cells with ``exec`` (no kernel).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

import pandas as pd
import pytest
from migrate_support import code_sources, read_nb, setup_cells, small_project

from stork_jupyter.errors import StorkError
from stork_jupyter.migrate import migrate
from stork_jupyter.plan import AccessEdit
from stork_jupyter.rewrite.postgres import (
    NotTranslatable,
    quote_ident,
    read_sql_code,
    select_query,
)
from stork_jupyter.rewrite.setup_cell import SETUP_KEY
from stork_jupyter.rewrite.transform import rewrite_cell
from stork_jupyter.tabular import Column, TableSchema

pytest.importorskip("psycopg")

ODD = 'my "odd" col'
FILES: dict[str, str | bytes] = {
    "data/a.csv": f'a,b,"{ODD.replace(chr(34), chr(34) * 2)}",d\n1,x,2.5,True\n2,,3.5,False\n',
    "data/cfg.json": '{"scale": 10}\n',
    "data/e.npy": b"\x93NUMPY not really",
    "data/parts/p1.csv": "x\n1\n",
    "data/parts/p2.csv": "x\n2\n",
    "data/logs/a.log": "alpha\n",
    "data/logs/b.log": "beta\n",
}
IMPORTS = "import glob, json, os, pickle\nimport numpy as np\nimport pandas as pd"


@pytest.fixture
def pg_url(pg_dsn: str) -> str:
    """The test database with a schema of this test's own."""
    return f"{pg_dsn}?schema=t_{secrets.token_hex(5)}"


def _schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def _dry(folder: Path, url: str, *cells: str, files: dict | None = None):
    """Dry-run migration of a notebook of ``cells``: (result, new code sources)."""
    nb = small_project(folder, *cells, files=FILES if files is None else files)
    result = migrate(nb, url, dry_run=True)
    assert result.plan.blockers == [], result.plan.blockers
    return result, code_sources(result.notebook)


def _one(folder: Path, url: str, cell: str) -> str:
    """The rewritten form of ``cell`` (after an import cell)."""
    return _dry(folder, url, IMPORTS, cell)[1][1]


# --------------------------------------------------------------------------- reads


READS = [
    # the shape: usecols -> the columns, nrows -> LIMIT, index_col kept
    ('df = pd.read_csv("data/a.csv", usecols=["a", "b"], nrows=5, index_col="a")  # keep',
     'df = pd.read_sql_query(\'SELECT "a", "b" FROM "{s}"."a" ORDER BY "_stork_row" LIMIT 5\', '
     'STORK_PG, dtype={{"b": "str"}}, index_col="a")  # keep'),
    # every column, in file order; the odd name is one quoted identifier; plain columns
    # come as COPY's text through read_csv (the setup cell's stork_read_table)
    ("df = pd.read_csv('data/a.csv')",
     'df = stork_read_table(\'SELECT "a", "b", "my ""odd"" col", "d" FROM "{s}"."a" '
     'ORDER BY "_stork_row"\', {{"a": "int64", "b": "str", \'my "odd" col\': "float64", '
     '"d": "bool"}})'),
    # positions select too, in the file's order whatever the order asked
    ("df = pd.read_csv('data/a.csv', usecols=[3, 0])",
     'df = stork_read_table(\'SELECT "a", "d" FROM "{s}"."a" ORDER BY "_stork_row"\', '
     '{{"a": "int64", "d": "bool"}})'),
    # no rows: read_csv gives object columns (but for a dtype= asked)
    ("df = pd.read_csv('data/a.csv', nrows=0, dtype={'a': 'Int64'})",
     'df = pd.read_sql_query(\'SELECT "a", "b", "my ""odd"" col", "d" FROM "{s}"."a" '
     'ORDER BY "_stork_row" LIMIT 0\', STORK_PG, dtype={{"a": "Int64", "b": "object", '
     '\'my "odd" col\': "object", "d": "object"}})'),
    # index_col by position: a position among the selected columns
    ("df = pd.read_csv('data/a.csv', usecols=['b', 'd'], index_col=1)",
     'df = pd.read_sql_query(\'SELECT "b", "d" FROM "{s}"."a" ORDER BY "_stork_row"\', '
     'STORK_PG, dtype={{"b": "str"}}, index_col="d")'),
    # a column selected by its odd name
    (f"df = pd.read_csv('data/a.csv', usecols=['{ODD}'])",
     'df = stork_read_table(\'SELECT "my ""odd"" col" FROM "{s}"."a" ORDER BY "_stork_row"\', '
     '{{\'my "odd" col\': "float64"}})'),
    # dtype= is applied when loading, and asked back from read_sql_query
    ("df = pd.read_csv('data/a.csv', dtype={'a': 'Int64'}, index_col='a')",
     'df = pd.read_sql_query(\'SELECT "a", "b", "my ""odd"" col", "d" FROM "{s}"."a" '
     'ORDER BY "_stork_row"\', STORK_PG, dtype={{"a": "Int64", "b": "str"}}, index_col="a")'),
    # a chained call keeps its chain
    ("n = pd.read_csv('data/a.csv', usecols=['a']).head(1)",
     'n = stork_read_table(\'SELECT "a" FROM "{s}"."a" ORDER BY "_stork_row"\', '
     '{{"a": "int64"}}).head(1)'),
    # missing values given by the call: text may hold "NA" or "", so read_sql_query
    ("df = pd.read_csv('data/a.csv', keep_default_na=False, usecols=['b'])",
     'df = pd.read_sql_query(\'SELECT "b" FROM "{s}"."a" ORDER BY "_stork_row"\', '
     'STORK_PG)'),
]


@pytest.mark.parametrize(("before", "after"), READS)
def test_read_shapes(tmp_path, pg_url, before, after):
    assert _one(tmp_path, pg_url, before) == after.format(s=_schema(pg_url))


def test_an_aliased_read_uses_the_pandas_the_setup_cell_imports(tmp_path, pg_url):
    result, sources = _dry(tmp_path, pg_url, "from pandas import read_csv as rc",
                           "df = rc('data/a.csv', usecols=['a'], index_col='a')")
    s = _schema(pg_url)
    assert sources[1] == (f'df = pandas.read_sql_query(\'SELECT "a" FROM "{s}"."a" '
                          'ORDER BY "_stork_row"\', STORK_PG, index_col="a")')
    [setup] = [result.notebook.cells[i] for i in setup_cells(result.notebook)]
    assert "\nimport pandas\n" in setup.source


def test_parse_dates_reads_back_as_datetimes(tmp_path, pg_url):
    files = {"data/d.csv": "day,v\n2024-01-02,1\n2024-02-03,2\n",
             "data/gap.csv": "day,v\n2024-01-02,1\n,2\n"}
    result, sources = _dry(tmp_path, pg_url, "import pandas as pd",
                           "d = pd.read_csv('data/d.csv', parse_dates=['day'])\n"
                           "g = pd.read_csv('data/gap.csv', parse_dates=['day'])", files=files)
    s = _schema(pg_url)
    # a timestamp column comes back as datetime64[us], with a gap too
    assert sources[1] == (f'd = stork_read_table(\'SELECT "day", "v" FROM "{s}"."d" '
                          'ORDER BY "_stork_row"\', {"day": "datetime64[us]", "v": "int64"})\n'
                          f'g = stork_read_table(\'SELECT "day", "v" FROM "{s}"."gap" '
                          'ORDER BY "_stork_row"\', {"day": "datetime64[us]", "v": "int64"})')
    assert [m.schema["fields"][0]["pg_type"] for m in result.plan.moves] == ["timestamp"] * 2


# --------------------------------------------------------------------------- same file twice


def test_the_same_file_read_twice_with_the_same_options_is_one_table(tmp_path, pg_url):
    result, sources = _dry(tmp_path, pg_url, IMPORTS,
                           "x = pd.read_csv('data/a.csv')",
                           "y = pd.read_csv('data/a.csv', usecols=['a'], nrows=1)")
    assert [m.table for m in result.plan.moves] == ["a"]
    assert f'FROM "{_schema(pg_url)}"."a"' in sources[1]
    assert f'FROM "{_schema(pg_url)}"."a"' in sources[2]


def test_the_same_file_read_with_other_options_is_two_tables(tmp_path, pg_url):
    result, sources = _dry(tmp_path, pg_url, IMPORTS,
                           "x = pd.read_csv('data/a.csv')",
                           "y = pd.read_csv('data/a.csv', dtype={'a': 'float64'})",
                           "z = pd.read_csv('data/a.csv', usecols=['b'])")
    assert [(m.source, m.table) for m in result.plan.moves] == [
        ("data/a.csv", "a"), ("data/a.csv", "a_2")]
    assert [m.options for m in result.plan.moves] == [{}, {"dtype": {"a": "float64"}}]
    s = _schema(pg_url)
    assert [re.search(r'FROM "[^"]+"\."(\w+)"', src).group(1) for src in sources[1:]] == [
        "a", "a_2", "a"]
    assert all(f'"{s}".' in src for src in sources[1:])


# --------------------------------------------------------------------------- writes


WRITES = [
    ("df = pd.DataFrame({'a': [1]})\ndf.to_csv('out/r.csv', index=False)\n"
     "r = pd.read_csv('out/r.csv', usecols=['a'], nrows=1)",
     'df = pd.DataFrame({\'a\': [1]})\nstork_to_table(df.to_csv(index=False), "r", "csv")\n'
     'r = stork_from_table("r", usecols=["a"], nrows=1)'),
    # the writer gives the text it would have written (index and all), read back
    ("df = pd.DataFrame({'a': [1]})\ndf.to_csv('out/r.csv')\n"
     "r = pd.read_csv('out/r.csv', index_col=0)",
     'df = pd.DataFrame({\'a\': [1]})\nstork_to_table(df.to_csv(), "r", "csv")\n'
     'r = stork_from_table("r", index_col=0)'),
    # to_parquet() gives the bytes, with its own default for the index
    ("df = pd.DataFrame({'a': [1]})\ndf.assign(b=2).to_parquet('out/p.parquet')\n"
     "p = pd.read_parquet('out/p.parquet', columns=['b'])",
     'df = pd.DataFrame({\'a\': [1]})\nstork_to_table(df.assign(b=2).to_parquet(), "p", "parquet")\n'
     'p = stork_from_table("p", columns=["b"])'),
    # the writer's options shape what reading the file gives: they are kept (but
    # those a writer without a path does not take)
    ("df = pd.DataFrame({'a': [1]})\nsep = ';'\n"
     "df.to_csv('out/r.csv', sep=sep, index=False, columns=['a'], compression=None)\n"
     "r = pd.read_csv('out/r.csv')",
     'df = pd.DataFrame({\'a\': [1]})\nsep = \';\'\n'
     'stork_to_table(df.to_csv(sep=sep, index=False, columns=[\'a\']), "r", "csv")\n'
     'r = stork_from_table("r")'),
]


@pytest.mark.parametrize(("before", "after"), WRITES)
def test_write_shapes(tmp_path, pg_url, before, after):
    assert _one(tmp_path, pg_url, before) == after


@pytest.mark.parametrize(("call", "word"), [
    ("df.to_csv('out/r.csv', mode='a')", "mode='a' adds to the file"),
    ("df.to_csv('out/r.csv', ';')", "by keyword"),
    ("df.to_parquet('out/r.parquet', partition_cols=['a'])", "partition_cols"),
    ("with pd.ExcelWriter('out/r.xlsx', mode='a') as w:\n    df.to_excel(w)",
     "updates a workbook in place"),
])
def test_writes_that_cannot_be_a_table_are_refused(tmp_path, pg_url, call, word):
    nb = small_project(tmp_path, IMPORTS, f"df = pd.DataFrame({{'a': [1]}})\n{call}", files={})
    with pytest.raises(StorkError, match=word) as failure:
        migrate(nb, pg_url, dry_run=True)
    assert "nothing was changed" in str(failure.value)


def test_a_pandas_write_the_notebook_also_opens_goes_to_the_files_table(tmp_path, pg_url):
    """Opened by ``open()`` as well, the file is kept as bytes (it used to be refused)."""
    _, sources = _dry(tmp_path, pg_url, IMPORTS, "pd.DataFrame({'a': [1]}).to_csv('out/r.csv')",
                      "with open('out/r.csv') as f:\n    text = f.read()", files={})
    assert sources[1] == ("stork_write('nb/out/r.csv', lambda stork_file: "
                          "pd.DataFrame({'a': [1]}).to_csv(stork_file))")
    assert "stork_open('nb/out/r.csv'" in sources[2]


def test_a_file_written_to_the_files_table_is_read_from_there(tmp_path, pg_url):
    """Not from a stale local copy: out/j.json exists, but the notebook writes it first."""
    files = {"out/j.json": '[{"stale": 1}]'}
    _, sources = _dry(tmp_path, pg_url, IMPORTS,
                      "df = pd.DataFrame({'a': [1]})\ndf.to_json('out/j.json')\n"
                      "j = pd.read_json('out/j.json')", files=files)
    assert sources[1] == ("df = pd.DataFrame({'a': [1]})\n"
                          "stork_write('nb/out/j.json', lambda stork_file: df.to_json(stork_file))\n"
                          "j = pd.read_json(stork_read('nb/out/j.json'))")


def test_an_artefact_read_with_parsing_options_is_refused(tmp_path, pg_url):
    nb = small_project(tmp_path, IMPORTS, "pd.DataFrame({'a': [1]}).to_csv('out/r.csv')",
                       "r = pd.read_csv('out/r.csv', sep=';')", files={})
    result = migrate(nb, pg_url, dry_run=True, partial=True)
    [blocker] = result.plan.blockers
    assert blocker.cell_index == 3 and "sep" in blocker.reason  # after the title
    assert "only usecols, nrows, index_col and columns" in blocker.reason


# --------------------------------------------------------------------------- files table


FILE_SHAPES = [
    ("with open('data/cfg.json') as f:\n    cfg = json.load(f)",
     "with stork_open('nb/data/cfg.json') as f:\n    cfg = json.load(f)"),
    ("f = open('data/cfg.json', 'rb')\nraw = f.read()",
     "f = stork_open('nb/data/cfg.json', 'rb')\nraw = f.read()"),
    ("with open('out/m.pkl', 'wb') as f:\n    pickle.dump(1, f)",
     "with stork_open('nb/out/m.pkl', 'wb') as f:\n    pickle.dump(1, f)"),
    ("emb = np.load('data/e.npy')",
     "emb = np.load(stork_read('nb/data/e.npy'))"),
    ("np.save('out/s.npy', np.ones(2))",
     "stork_write('nb/out/s.npy', lambda stork_file: np.save(stork_file, np.ones(2)))"),
    # a glob over CSVs: the keys come from the files table, each read through stork_read
    ("parts = [pd.read_csv(p) for p in sorted(glob.glob('data/parts/*.csv'))]",
     "parts = [pd.read_csv(stork_read(p)) for p in sorted(stork_glob('nb/data/parts/*.csv'))]"),
    # a loop over literal names keeps enumerating them, under the notebook's key
    ("for name in ['a.log', 'b.log']:\n    with open(os.path.join('data', 'logs', name)) as f:\n"
     "        print(f.read())",
     "for name in ['a.log', 'b.log']:\n"
     "    with stork_open(f\"nb/{os.path.join('data', 'logs', name)}\") as f:\n"
     "        print(f.read())"),
]


@pytest.mark.parametrize(("before", "after"), FILE_SHAPES)
def test_files_table_shapes(tmp_path, pg_url, before, after):
    assert _one(tmp_path, pg_url, before) == after


def test_rewrite_cell_alone_keeps_everything_else():
    schema = TableSchema([Column("a", "a", "bigint", "int64"),
                          Column("b", "b", "text", "str")], 2)
    edit = AccessEdit(0, None, 3, 5, "pandas.read_csv", "read", "table_read",
                      code="pd.read_csv('k.csv', nrows=1)", table="k",
                      details={"kwargs": {"nrows": 1}, "schema": schema.to_json()})
    source = "import pandas as pd\n# the orders\ndf = pd.read_csv('k.csv', nrows=1)  # k\n\n"
    out = rewrite_cell(source, [edit], "postgresql", "lake")
    assert out.source == ("import pandas as pd\n# the orders\n"
                          "df = stork_read_table('SELECT \"a\", \"b\" FROM \"lake\".\"k\" "
                          "ORDER BY \"_stork_row\" LIMIT 1', {\"a\": \"int64\", \"b\": \"str\"})"
                          "  # k\n\n")
    assert out.needs == {"engine", "stork_read_table"}


# --------------------------------------------------------------------------- SQL


def test_identifiers_are_quoted_never_spliced():
    assert quote_ident('my "odd" col') == '"my ""odd"" col"'
    assert quote_ident('we"ird', "t; DROP TABLE x") == '"we""ird"."t; DROP TABLE x"'
    query = select_query('sch"ema', "ta ble", ["a b", 'q"'], {"nrows": 3}, {"a b": "text"})
    assert query == ('SELECT "a b"::text AS "a b", "q""" FROM "sch""ema"."ta ble" '
                     'ORDER BY "_stork_row" LIMIT 3')


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"nrows": -1}, "nrows"),
    ({"nrows": True}, "nrows"),
    ({"usecols": "a"}, "usecols"),
    ({"usecols": ["nope"]}, "lacks"),
    ({"columns": "a"}, "columns"),
])
def test_untranslatable_selections_are_refused(kwargs, word):
    with pytest.raises(NotTranslatable, match=word):
        select_query("s", "t", ["a", "b"], kwargs)


def _schema_of(*columns: Column, rows: int = 3, **kw) -> dict:
    return TableSchema(list(columns), rows, **kw).to_json()


def test_long_and_non_string_labels_are_renamed_back():
    long = "L" * 70
    code = read_sql_code("pd", "s", "t", _schema_of(
        Column(long, "L" * 54 + "_0123abcd", "text", "str"), Column(0, "0", "bigint", "int64")),
        {"index_col": 0})
    # the index is set by label once the names are back
    assert code == ('pd.read_sql_query(\'SELECT "' + "L" * 54 + '_0123abcd", "0" FROM "s"."t" '
                    'ORDER BY "_stork_row"\', STORK_PG).rename(columns={\'' + "L" * 54
                    + "_0123abcd': '" + long + "', '0': 0}).set_index(\"" + long + '")')


def test_a_narrow_int_index_keeps_its_dtype():
    code = read_sql_code("pd", "s", "t", _schema_of(
        Column("id", "id", "bigint", "int32"), Column("v", "v", "double precision", "float64")),
        {"index_col": "id"})
    assert code == ('pd.read_sql_query(\'SELECT "id", "v" FROM "s"."t" ORDER BY "_stork_row"\', '
                    'STORK_PG, dtype={"id": "int32"}, index_col="id")'
                    '.pipe(lambda f: f.set_axis(f.index.astype("int32")))')


def test_parquet_categories_are_kept_in_their_order():
    code = read_sql_code("pd", "s", "t", _schema_of(
        Column("k", "k", "text", "category", 1, categories=["b", "a", "unused"], ordered=True)),
        {})
    assert code == ('pd.read_sql_query(\'SELECT "k" FROM "s"."t" ORDER BY "_stork_row"\', '
                    "STORK_PG).astype({'k': pd.CategoricalDtype(['b', 'a', 'unused'], "
                    "ordered=True)})")


# --------------------------------------------------------------------------- setup cell


def test_setup_cell_has_no_password_and_only_what_is_used(tmp_path, pg_url):
    url = pg_url.replace("postgresql://postgres@", "postgresql://postgres:" + "Sup3rS3cret@")
    nb = small_project(tmp_path, IMPORTS, "df = pd.read_csv('data/a.csv')", files=FILES)
    result = migrate(nb, url, dry_run=True)
    [index] = setup_cells(result.notebook)
    cell = result.notebook.cells[index]
    assert cell.metadata[SETUP_KEY]["kind"] == "postgresql"
    text = cell.source
    assert "Sup3rS3cret" not in str(result.notebook) and "Sup3rS3cret" not in result.diff
    dbname = pg_url.split("/")[-1].split("?")[0]
    assert ('os.environ.get("STORK_PG_URL", '
            f'"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}")') in text
    assert f"STORK_SCHEMA = {_schema(pg_url)!r}" in text
    assert "stork_jupyter" not in text
    # a table read needs the engine and the one helper that reads it
    assert re.findall(r"^def (stork_\w+)\(", text, re.M) == ["stork_read_table"]
    compile(text, "setup", "exec")


def test_setup_cell_defines_the_helpers_the_cells_call(tmp_path, pg_url):
    result, sources = _dry(tmp_path, pg_url, IMPORTS, *[b for b, _ in FILE_SHAPES],
                           *[b for b, _ in WRITES])
    [index] = setup_cells(result.notebook)
    text = result.notebook.cells[index].source
    called = set(re.findall(r"\b(stork_\w+)\(", "\n".join(sources)))
    defined = set(re.findall(r"^def (stork_\w+)\(", text, re.M))
    assert called == {"stork_open", "stork_read", "stork_write", "stork_glob",
                      "stork_to_table", "stork_from_table"}
    assert called <= defined
    compile(text, "setup", "exec")


# --------------------------------------------------------------------------- run for real


def _run_cells(nb_path: Path, cwd: Path) -> dict:
    """Execute the notebook's code cells with ``exec`` in ``cwd``: its variables."""
    namespace: dict = {}
    here = Path.cwd()
    os.chdir(cwd)
    try:
        for cell in read_nb(nb_path).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(nb_path), "exec"), namespace)
    finally:
        os.chdir(here)
        if "STORK_PG" in namespace:
            namespace["STORK_PG"].dispose()
    return namespace


def test_odd_column_names_survive_the_round_trip(tmp_path, pg_url):
    long = "a very long column name, " * 4
    header = ['my "odd" col', "with  spaces ", "ünï😀", long, "select", "_stork_row"]
    quoted = ",".join('"' + h.replace('"', '""') + '"' for h in header)
    files = {"data/odd.csv": f'{quoted}\n1,x,1.5,a,True,7\n2,,-2.0,"b, c",False,8\n'}
    project = tmp_path / "project"
    nb = small_project(
        project, "import pandas as pd",
        "df = pd.read_csv('data/odd.csv')",
        f"sel = pd.read_csv('data/odd.csv', usecols=[{header[0]!r}, {long!r}], "
        f"index_col={header[0]!r}, nrows=1)",
        "pos = pd.read_csv('data/odd.csv', usecols=[1, 5], index_col=1)",
        files=files)
    expected = _run_cells(nb, project)
    result = migrate(nb, pg_url, output=project / "migrated.ipynb")
    assert result.plan.blockers == []
    assert "pd.read_csv" not in "\n".join(code_sources(read_nb(project / "migrated.ipynb")))
    shutil.move(project / "data", tmp_path / "away")
    actual = _run_cells(project / "migrated.ipynb", project)
    for name in ("df", "sel", "pos"):
        pd.testing.assert_frame_equal(actual[name], expected[name], check_exact=True)
        assert list(actual[name].columns) == list(expected[name].columns)
        assert repr(actual[name]) == repr(expected[name])


def test_a_second_migration_is_a_no_op(tmp_path, pg_url):
    """Every rewritten shape reads through the setup cell: nothing is left to migrate
    (the setup cell's own pandas calls are no data accesses)."""
    project = tmp_path / "project"
    cells = [b for b, _ in READS[:2]] + [b for b, _ in FILE_SHAPES] + [b for b, _ in WRITES]
    nb = small_project(project, IMPORTS, *cells, files=FILES)
    first = migrate(nb, pg_url, output=project / "migrated.ipynb")
    assert first.plan.blockers == [] and first.changes
    again = migrate(project / "migrated.ipynb", pg_url, dry_run=True)
    assert again.plan.blockers == [] and again.plan.moves == [] and again.changes == []
