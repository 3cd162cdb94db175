"""The table model: columns with their pandas dtype and PostgreSQL type, and the names
they get in SQL.

:class:`TableSchema` is what inference finds and what the metadata store keeps (its
JSON form); :data:`PG_TYPES` are the column types a table can have.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .options import TabularError

PG_TYPES = ("bigint", "double precision", "boolean", "text", "timestamp", "timestamptz")
MAX_IDENT = 63  #: PostgreSQL's identifier length in bytes (NAMEDATALEN - 1)
ROW_COLUMN = "_stork_row"


@dataclass
class Column:
    name: Any  #: the exact pandas column label (a str; an int for ``header=None``)
    sql_name: str  #: the PostgreSQL column name (``name`` unless too long or not a str)
    pg_type: str  #: one of :data:`PG_TYPES`
    dtype: str  #: the pandas dtype the notebook's read gives
    nulls: int = 0  #: missing values in the file
    none: bool = False  #: an object column whose missing values are None (not NaN)
    #: read it as this SQL type (``text``) to keep exact values: nullable ints beyond 2**53
    #: would otherwise pass through float64 in read_sql_query
    cast: str | None = None
    #: a categorical column's categories, in the file's order (unused ones included),
    #: and whether they are ordered; None when the read gives categories by sorting
    categories: list[Any] | None = None
    ordered: bool = False
    #: the label pandas made up for an empty header cell (``Unnamed: 0``): an index made
    #: of this column is unnamed (None), as read_csv/read_excel leave it
    unnamed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = {"name": self.name, "sql_name": self.sql_name, "pg_type": self.pg_type,
                "dtype": self.dtype, "nulls": self.nulls}
        if self.none:
            data["none"] = True
        if self.unnamed:
            data["unnamed"] = True
        if self.cast:
            data["cast"] = self.cast
        if self.categories is not None:
            data["categories"] = list(self.categories)
            data["ordered"] = self.ordered
        return data


@dataclass
class TableSchema:
    columns: list[Column]
    row_count: int
    #: ``sql_name`` of the columns that pandas puts in the index (parquet/feather files
    #: written with a non-range index); empty for a default RangeIndex
    index: list[str] = field(default_factory=list)
    #: the index level names pandas gives them (None for an unnamed index)
    index_names: list[Any] = field(default_factory=list)
    #: parse details decided by the first pass (e.g. guessed date formats), for pass two
    hints: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Fields and types, for the metadata store."""
        data: dict[str, Any] = {
            "fields": [c.to_json() for c in self.columns],
            "row_count": self.row_count,
        }
        if self.index:
            data["index"] = list(self.index)
            data["index_names"] = list(self.index_names)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSchema:
        return cls([Column(**f) for f in data["fields"]], data["row_count"],
                   list(data.get("index", [])), list(data.get("index_names", [])),
                   dict(data.get("hints", {})))

    def column(self, sql_name: str) -> Column:
        for c in self.columns:
            if c.sql_name == sql_name:
                return c
        raise KeyError(sql_name)


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def sql_names(names: list[Any]) -> list[str]:
    """PostgreSQL column names for pandas labels: the label itself when it fits (63
    bytes, no NUL, not empty, not the ordering column), else a truncated prefix plus a
    short hash of the label; always unique."""
    out: list[str] = []
    used = {ROW_COLUMN}
    for name in names:
        text = name if isinstance(name, str) else str(name)
        fits = (text and "\x00" not in text and len(text.encode("utf-8")) <= MAX_IDENT)
        candidate = text if fits else ""
        if not candidate or candidate in used:
            digest = hashlib.sha1(repr(name).encode("utf-8")).hexdigest()[:8]
            base = _truncate_utf8(text.replace("\x00", ""), MAX_IDENT - 9) or "column"
            candidate = f"{base}_{digest}"
            n = 1
            while candidate in used:
                n += 1
                candidate = f"{_truncate_utf8(base, MAX_IDENT - 12)}_{digest}{n:02d}"[:MAX_IDENT]
        used.add(candidate)
        out.append(candidate)
    return out


def pandas_module():
    try:
        import pandas as pd
    except ImportError:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("pandas", "examples") from None
    return pd


def pandas_text_dtype() -> str:
    """What pandas gives for a column of strings: ``str`` (pandas 3) or ``object``."""
    pd = pandas_module()
    return str(pd.Series(["a"]).dtype)


def pg_type_for(dtype: Any, name: Any, path: Path) -> str:
    """The PostgreSQL type storing values of pandas ``dtype`` without loss."""
    pd = pandas_module()
    s = str(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        return pg_type_for(dtype.categories.dtype, name, path)
    if s in ("int64", "int32", "int16", "int8", "uint32", "uint16", "uint8",
             "Int64", "Int32", "Int16", "Int8", "UInt32", "UInt16", "UInt8"):
        return "bigint"
    if s in ("uint64", "UInt64"):
        return "text"  # no unsigned 64-bit type in PostgreSQL; read back with dtype=uint64
    if s in ("float64", "float32", "Float64", "Float32"):
        return "double precision"
    if s in ("bool", "boolean"):
        return "boolean"
    if s.startswith("datetime64["):
        return "timestamptz" if "," in s else "timestamp"
    if s in ("str", "string", "object") or s.startswith("string"):
        return "text"
    raise TabularError(f"{path}: column {name!r} has pandas dtype {s}, which stork cannot "
                       "store as a table column yet")

