"""Reading a stored table back so that the frame is ``.equals`` to the original read's:
what ``pd.read_sql_query`` needs (``dtype=``, a few fix-ups after it), and when the table
can instead come as ``COPY ... TO STDOUT`` text read by ``pd.read_csv`` (:func:`copy_types`),
which is several times faster and holds no Python object per value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schema import Column, TableSchema, pandas_module, pandas_text_dtype


def _natural(c: Column) -> str:
    """The dtype read_sql_query gives a column of this type, when it has no nulls."""
    return {"bigint": "int64", "double precision": "float64", "boolean": "bool",
            "text": pandas_text_dtype(), "timestamp": "datetime64[us]",
            "timestamptz": "datetime64[us, UTC]"}[c.pg_type]


@dataclass
class ReadBack:
    """How to turn ``pd.read_sql_query(SELECT ...)`` into the frame the original read gave.

    ``kwargs`` go to ``read_sql_query`` itself; :meth:`post_code` is appended to the
    call's expression (``.astype(...)``, ``.fillna(...)``, ``.rename(...)``); :meth:`apply`
    does the same to a frame. Keys are the names columns have in SQL results
    (``sql_name``).
    """

    kwargs: dict[str, Any] = field(default_factory=dict)
    #: sql_name -> SQL type to select the column as (``"x"::text AS "x"``), for exactness
    casts: dict[str, str] = field(default_factory=dict)
    astype: dict[str, str] = field(default_factory=dict)  #: tz-aware columns (pandas UTCs them)
    fillna: list[str] = field(default_factory=list)  #: object columns: None -> NaN
    rename: dict[str, Any] = field(default_factory=dict)  #: sql_name -> pandas label
    index_names: list[Any] | None = None  #: rename_axis(...) for a stored index
    #: categorical columns with their file's categories: sql_name -> (categories, ordered)
    categories: dict[str, tuple[list[Any], bool]] = field(default_factory=dict)

    def post_code(self, pandas_name: str = "pandas") -> str:
        code = ""
        if self.astype:
            code += f".astype({self.astype!r})"
        if self.categories:
            code += ".astype({" + ", ".join(
                f"{c!r}: {pandas_name}.CategoricalDtype({cats!r}, ordered={ordered!r})"
                for c, (cats, ordered) in self.categories.items()) + "})"
        if self.fillna:
            code += ".fillna({" + ", ".join(f"{c!r}: float('nan')" for c in self.fillna) + "})"
        if self.rename:
            code += f".rename(columns={self.rename!r})"
        if self.index_names is not None:
            names = self.index_names[0] if len(self.index_names) == 1 else self.index_names
            code += f".rename_axis({names!r})"
        return code

    def apply(self, df):
        if self.astype:
            df = df.astype(self.astype)
        if self.categories:
            pd = pandas_module()
            df = df.astype({c: pd.CategoricalDtype(cats, ordered=ordered)
                            for c, (cats, ordered) in self.categories.items()})
        if self.fillna:
            df = df.fillna({c: float("nan") for c in self.fillna})
        if self.rename:
            df = df.rename(columns=self.rename)
        if self.index_names is not None:
            names = self.index_names[0] if len(self.index_names) == 1 else self.index_names
            df = df.rename_axis(names)
        return df


def read_back(schema: TableSchema, columns: list[str] | None = None) -> ReadBack:
    """What reading ``columns`` (``sql_name``s, default all) of the table needs so that
    ``pd.read_sql_query(...)`` gives the dtypes the original read gave."""
    wanted = schema.columns if columns is None else [schema.column(c) for c in columns]
    rb = ReadBack()
    dtype: dict[str, str] = {}
    for c in wanted:
        natural = _natural(c)
        if c.pg_type == "timestamptz":
            if c.dtype != natural:
                rb.astype[c.sql_name] = c.dtype
        elif c.dtype == "object" and c.pg_type == "boolean":
            if c.nulls and not c.none:
                rb.fillna.append(c.sql_name)  # read_sql gives None where pandas had NaN
            if not c.nulls:
                dtype[c.sql_name] = "object"  # no nulls: it came back as bool
        elif c.categories is not None:
            rb.categories[c.sql_name] = (list(c.categories), c.ordered)
        elif c.dtype != natural or c.nulls:
            dtype[c.sql_name] = c.dtype
            if c.dtype == "object" and c.nulls and not c.none:
                rb.fillna.append(c.sql_name)  # read_sql gives None where pandas had NaN
        if c.cast:
            rb.casts[c.sql_name] = c.cast
        if c.sql_name != c.name:
            rb.rename[c.sql_name] = c.name
    if schema.index and all(i in [c.sql_name for c in wanted] for i in schema.index):
        rb.kwargs["index_col"] = schema.index if len(schema.index) > 1 else schema.index[0]
        if any(n != i for n, i in zip(schema.index_names, schema.index, strict=True)):
            rb.index_names = list(schema.index_names)
        for i in schema.index:
            rb.astype.pop(i, None)
            if rb.categories.pop(i, None) is not None:  # the post-code sees columns only
                dtype[i] = "category"
    if dtype:
        rb.kwargs["dtype"] = dtype
    return rb


def read_back_kwargs(schema: TableSchema, columns: list[str] | None = None) -> dict[str, Any]:
    """The keyword arguments to add to ``pd.read_sql_query`` (see :func:`read_back` for
    the few fix-ups that need a method call after it)."""
    return read_back(schema, columns).kwargs


#: (PostgreSQL type, pandas dtype) of the columns whose ``COPY`` text ``read_csv`` parses
#: into exactly the stored values: ints, floats (shortest exact text, parsed exactly),
#: booleans without gaps (``t``/``f``), naive timestamps (ISO text); text is added by
#: :func:`copy_types` with the pandas text dtype of the day.
_COPY_READABLE = frozenset({("bigint", "int64"), ("double precision", "float64"),
                            ("boolean", "bool"), ("timestamp", "datetime64[us]")})
#: read options after which a text value may be one of pandas' missing-value words or
#: empty (``read_csv`` reads those back as NaN, so such tables go through read_sql_query)
_NA_OPTIONS = frozenset({"na_values", "keep_default_na", "na_filter", "converters"})


def copy_types(schema: TableSchema, columns: list[str], api: str | None,
               options: dict[str, Any]) -> dict[str, str] | None:
    """The dtype of each of ``columns`` (``sql_name``s) when the table, loaded from
    ``api(path, **options)``, reads back exactly through ``COPY`` and ``read_csv``; None
    when it must take ``read_sql_query`` (an index, stored or asked by ``index_col``;
    categories, casts, gaps in booleans, time zones, an empty read, or text that may hold
    a missing-value word).

    Text is safe only after a read with pandas' own missing values: such a read made
    NaN of every empty field and every word like ``NA``, so no stored value is one, and
    the NULLs (empty in COPY's CSV) come back as the NaN they were."""
    if api not in ("pandas.read_csv", "pandas.read_table") or _NA_OPTIONS & set(options):
        return None
    asked_index = options.get("index_col")
    if schema.index or (asked_index is not None and asked_index is not False) or (
            not schema.row_count or options.get("nrows") == 0):  # (index_col=0 is an index)
        return None
    text = pandas_text_dtype()
    types: dict[str, str] = {}
    for name in columns:
        c = schema.column(name)
        if c.cast or c.categories is not None or c.none or c.unnamed:
            return None
        pair = (c.pg_type, c.dtype)
        if pair not in _COPY_READABLE and pair != ("text", text):
            return None
        types[c.sql_name] = c.dtype
    return types
