"""PostgreSQL shapes: a read becomes ``read_sql_query`` of the loaded table with the call's
selecting options turned into SQL; a write becomes a table written through the setup cell.

Parsing options (``sep``, ``dtype``, ``na_values``...) were applied when the table was
loaded; selecting ones (``usecols``, ``nrows``, ``columns``, ``index_col``) are applied
here, so the frame that comes back is the one the original call gave.
"""

from __future__ import annotations

from typing import Any

from .support import local_copy


class NotTranslatable(Exception):
    """An argument has no PostgreSQL equivalent; the access is left alone."""


def py_literal(value: Any) -> str:
    """Python source for a literal, double-quoted like most notebooks (black's style)."""
    if isinstance(value, str):
        return f'"{value}"' if '"' not in value and "\\" not in value and value.isprintable() \
            else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(py_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def quote_ident(*parts: str) -> str:
    """A quoted (schema-qualified) identifier, as psycopg.sql.Identifier renders it."""
    from psycopg import sql  # (here: a plan for S3 or a folder never loads psycopg)

    return sql.Identifier(*parts).as_string(None)


def selected_columns(columns: list[str], kwargs: dict[str, Any]) -> list[str]:
    """The columns ``read_*(path, **kwargs)`` keeps, of the table's ``columns`` (file order)."""
    chosen = list(columns)
    usecols = kwargs.get("usecols")
    if usecols is not None:
        if not isinstance(usecols, list) or not all(isinstance(c, str | int) for c in usecols):
            raise NotTranslatable("usecols other than a literal list of names or positions")
        wanted = {columns[c] if isinstance(c, int) else c for c in usecols}
        missing = wanted - set(columns)
        if missing:
            raise NotTranslatable(f"usecols names columns the file lacks: {sorted(missing)}")
        chosen = [c for c in columns if c in wanted]  # pandas keeps the file's order
    parquet_columns = kwargs.get("columns")
    if parquet_columns is not None:
        if not isinstance(parquet_columns, list) or not all(
                isinstance(c, str) for c in parquet_columns):
            raise NotTranslatable("columns other than a literal list of names")
        chosen = list(parquet_columns)  # read_parquet keeps the order asked for
    return chosen


def select_query(schema: str, table: str, columns: list[str], kwargs: dict[str, Any],
                 casts: dict[str, str] | None = None) -> str:
    """The SELECT giving what ``read_*(path, **kwargs)`` gives, in the table's row order.

    ``columns`` are the table's data columns in file order (``sql_name``s); ``casts``
    selects some as another SQL type (``"n"::text AS "n"``)."""
    casts = casts or {}
    chosen = selected_columns(columns, kwargs)
    items = [f"{quote_ident(c)}::{casts[c]} AS {quote_ident(c)}" if c in casts
             else quote_ident(c) for c in chosen]
    query = (f"SELECT {', '.join(items)} "
             f"FROM {quote_ident(schema, table)} ORDER BY {quote_ident('_stork_row')}")
    nrows = kwargs.get("nrows")
    if nrows is not None:
        if not isinstance(nrows, int) or isinstance(nrows, bool) or nrows < 0:
            raise NotTranslatable("nrows other than a literal non-negative integer")
        query += f" LIMIT {nrows}"
    return query


def index_col(kwargs: dict[str, Any], selected: list[str]) -> Any:
    """``index_col`` by name, as read_sql_query takes it (positions refer to the
    selected columns, as in read_csv)."""
    value = kwargs.get("index_col")
    if value is None or value is False:
        return None
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise NotTranslatable("index_col other than names or positions")
        names.append(selected[item] if isinstance(item, int) else item)
    return names if isinstance(value, list) else names[0]


def excel_positions(letters: str, width: int) -> list[int]:
    """``usecols="A:C,E"`` as read_excel takes it: the positions of those sheet columns
    (the table keeps the sheet's columns in order, from column A)."""
    def position(name: str) -> int:
        name = name.strip().upper()
        if not name.isalpha() or not name.isascii():
            raise NotTranslatable(f"usecols={letters!r} is not Excel column letters")
        n = 0
        for ch in name:
            n = n * 26 + ord(ch) - ord("A") + 1
        return n - 1

    chosen: list[int] = []
    for item in letters.split(","):
        first, _, last = item.partition(":")
        chosen += range(position(first), position(last or first) + 1)
    if any(p >= width for p in chosen):
        raise NotTranslatable(f"usecols={letters!r} names columns past the sheet's last one")
    return sorted(set(chosen))


#: pandas reads that become a typed table.
TABLE_READS = frozenset({
    "pandas.read_csv", "pandas.read_table", "pandas.read_parquet", "pandas.read_json",
    "pandas.read_excel", "pandas.read_feather"})
#: pandas writes that become a table; the value is the format whose round trip it keeps.
ARTEFACT_FORMATS = {
    "pandas.DataFrame.to_csv": "csv", "pandas.DataFrame.to_parquet": "parquet"}

#: Readers whose path argument may be a file object: they read a files-table row as
#: the bytes the file held, so they give what reading the file gave.
BUFFER_READS = frozenset({
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "joblib.load", "torch.load",
    "PIL.Image.open", "matplotlib.pyplot.imread", "matplotlib.image.imread",
    "imageio.imread", "pyarrow.parquet.read_table", "pyarrow.parquet.ParquetFile",
    "pyarrow.feather.read_feather", "pyarrow.feather.read_table", "pyarrow.csv.read_csv",
    "scipy.io.loadmat", "pandas.read_pickle", "pandas.read_html", "pandas.ExcelFile",
    "zipfile.ZipFile",
    "pandas.read_xml", "pandas.read_fwf", "pandas.read_stata", "pandas.read_orc",
    *TABLE_READS})
#: Writers whose path argument may be a file object: what they write becomes a row.
BUFFER_WRITES = frozenset({
    "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "joblib.dump",
    "torch.save", "pyarrow.parquet.write_table", "pyarrow.feather.write_feather",
    "pandas.DataFrame.to_pickle", "pandas.DataFrame.to_json", "pandas.DataFrame.to_feather",
    "pandas.DataFrame.to_excel", "pandas.DataFrame.to_xml", "pandas.DataFrame.to_orc"})

#: Everything else goes to the files table, through a setup-cell function shaped as:
_FILE_SHAPES = {
    "open": "open",
    # a writer that fills its file when closed (``with pd.ExcelWriter(p) as w:``)
    "pandas.ExcelWriter": "excel_writer",
    **{n: "read_bytes" for n in BUFFER_READS},
    **{n: "write_bytes" for n in BUFFER_WRITES},
}


def file_shape(api: str, writes: bool = False) -> str | None:
    """How a files-table access is rewritten: ``open``, ``read_bytes``, ``write_bytes``,
    ``excel_writer`` or ``local`` (on a local copy: ``support.local_copy``)."""
    return "local" if local_copy(api, writes) else _FILE_SHAPES.get(api)


def read_sql_code(pandas_name: str, schema_name: str, table: str, table_schema: dict,
                  kwargs: dict[str, Any], api: str | None = None) -> str:
    """The expression giving what the read call ``api(path, **kwargs)`` gave: a table of
    plain columns (``tabular.copy_types``) as ``stork_read_table(SELECT ..., types)``
    (COPY's CSV text read by ``read_csv``), any other as ``pd.read_sql_query(SELECT ...,
    STORK_PG, ...)``."""
    from ..tabular import TableSchema, copy_types, read_back

    chunksize = kwargs.get("chunksize")
    kwargs = {k: v for k, v in kwargs.items() if k != "chunksize"}
    schema = TableSchema.from_json(table_schema)
    names = [c.sql_name for c in schema.columns]
    labels = {c.name: c.sql_name for c in schema.columns}
    wanted = dict(kwargs)
    if api == "pandas.read_excel" and isinstance(wanted.get("usecols"), str):
        wanted["usecols"] = excel_positions(wanted["usecols"], len(names))
    for key in ("usecols", "columns"):  # the user names columns by their pandas labels
        if isinstance(wanted.get(key), list):
            wanted[key] = [labels.get(c, c) if isinstance(c, str) else c for c in wanted[key]]
    selected = selected_columns(names, wanted)
    rb = read_back(schema, selected)
    if kwargs.get("nrows") == 0 and api in ("pandas.read_csv", "pandas.read_table"):
        # no rows to infer from: read_csv gives object columns, but for a dtype= asked
        user = kwargs.get("dtype")
        rb.kwargs["dtype"] = {c: (user.get(schema.column(c).name, "object") if isinstance(
            user, dict) else user or "object") for c in selected}
        rb.astype.clear()
    query = select_query(schema_name, table, names, wanted, rb.casts)
    types = copy_types(schema, selected, api, kwargs) if chunksize is None else None
    if types is not None:  # plain columns: COPY's text through read_csv (setup cell)
        return f"stork_read_table({query!r}, {py_literal(types)}){rb.post_code(pandas_name)}"
    args = [repr(query), "STORK_PG"]
    for key, value in rb.kwargs.items():
        args.append(f"{key}={py_literal(value)}")
    post = rb.post_code(pandas_name)
    kept = [schema.column(c).name for c in selected]
    user_index = index_col(kwargs, kept)
    dtypes = [schema.column(i).dtype for i in schema.index] if "index_col" in rb.kwargs else []
    if user_index is not None:
        levels = user_index if isinstance(user_index, list) else [user_index]
        if any(n not in kept for n in levels):
            raise NotTranslatable(f"index_col names columns the read does not keep: {levels}")
        sql_levels = [selected[kept.index(n)] for n in levels]
        dtypes = [schema.column(c).dtype for c in sql_levels]
        fixed = set(rb.astype) | set(rb.fillna) | set(rb.categories)
        if sql_levels == levels and not fixed & set(sql_levels):
            args.append(f"index_col={py_literal(user_index)}")
        else:  # set by label once the columns have their names and dtypes back
            post += f".set_index({py_literal(user_index)})"
        unnamed = [schema.column(c).unnamed for c in sql_levels]
        if any(unnamed):  # an index from an empty header cell has no name (None)
            names = [None if u else n for u, n in zip(unnamed, levels, strict=True)]
            post += f".rename_axis({py_literal(names if len(names) > 1 else names[0])})"
    if len(dtypes) == 1 and dtypes[0] in _NARROW_INTS:
        # pandas makes a RangeIndex (int64) of an integer column of consecutive values;
        # the read gave an index of the column's own dtype
        post += f".pipe(lambda f: f.set_axis(f.index.astype({py_literal(dtypes[0])})))"
    if chunksize is not None:  # the same read, a chunk at a time (see stork_chunks)
        if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
            raise NotTranslatable("chunksize other than a literal positive integer")
        args.append(f"chunksize={chunksize}")
        make = f", lambda stork_frame: stork_frame{post}" if post else ""
        return f"stork_chunks({pandas_name}.read_sql_query({', '.join(args)}){make})"
    return f"{pandas_name}.read_sql_query({', '.join(args)}){post}"


#: NumPy integer dtypes other than int64, which ``set_index`` can turn into a RangeIndex.
_NARROW_INTS = frozenset({"int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64"})
