"""PostgreSQL shapes: a read becomes ``read_sql_query`` of the loaded table with the call's
selecting options turned into SQL; a write becomes a table written through the setup cell.

Parsing options (``sep``, ``dtype``, ``na_values``...) were applied when the table was
loaded; selecting ones (``usecols``, ``nrows``, ``columns``, ``index_col``) are applied
here, so the frame that comes back is the one the original call gave.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

#: Options that select from the parsed frame: applied in SQL or by read_sql_query.
SELECTING = frozenset({"usecols", "nrows", "columns", "index_col"})


class NotTranslatable(Exception):
    """An argument has no PostgreSQL equivalent; the access is left alone."""


def quote_ident(*parts: str) -> str:
    """A quoted (schema-qualified) identifier, as psycopg.sql.Identifier renders it."""
    return sql.Identifier(*parts).as_string(None)


def select_query(schema: str, table: str, columns: list[str], kwargs: dict[str, Any]) -> str:
    """The SELECT giving what ``read_*(path, **kwargs)`` gives, in the table's row order.

    ``columns`` are the table's data columns in file order (``sql_name``s)."""
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
    query = (f"SELECT {', '.join(quote_ident(c) for c in chosen)} "
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
