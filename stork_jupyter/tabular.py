"""Reading a tabular file the way the notebook's own ``pandas.read_*`` call would, in chunks.

An engine module: it imports no door (IPython, tornado, ipywidgets) and needs pandas
(and pyarrow for parquet/feather) only when called.

Two streaming passes over the file, with bounded memory:

1. :func:`infer_schema` reads the file chunk by chunk with the call's own parsing
   options and decides each column's final dtype as pandas would for the WHOLE file
   (an int column whose only float is in the last chunk is ``float64``; ints with a
   gap are ``float64``; a column mixing numbers and text is text...).
2. :func:`iter_frames` reads it again, every chunk forced to those dtypes (text
   columns read as text, so ``"007"`` stays ``"007"``).

:func:`read_back` says what ``pd.read_sql_query`` needs (``dtype=``, a few fix-ups)
so that the table it reads is ``.equals`` to what the original call gave.

What is streamed: CSV/TSV (``read_csv``/``read_table``, pandas' chunked reader),
parquet (pyarrow ``iter_batches``), JSON lines (``read_json(lines=True, chunksize=)``),
feather (Arrow IPC record batches). Read whole: JSON records/other orients and Excel.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StorkError, one_line
from .quiet import no_warnings


class TabularError(StorkError):
    """A file cannot be read as the call reads it, or not faithfully stored as a table."""


# --------------------------------------------------------------------------- options

_CSV_PARSE = frozenset({
    "sep", "delimiter", "header", "names", "dtype", "parse_dates", "date_format", "dayfirst",
    "na_values", "keep_default_na", "na_filter", "encoding", "encoding_errors", "thousands",
    "decimal", "true_values", "false_values", "skiprows", "skipfooter", "comment", "quotechar",
    "quoting", "doublequote", "escapechar", "lineterminator", "skipinitialspace",
    "skip_blank_lines", "engine", "float_precision", "compression", "dialect", "on_bad_lines",
    "cache_dates", "low_memory", "memory_map",
})
_JSON_PARSE = frozenset({
    "orient", "lines", "dtype", "convert_axes", "convert_dates", "keep_default_dates",
    "precise_float", "date_unit", "encoding", "encoding_errors", "compression", "typ",
    "engine",
})
_EXCEL_PARSE = frozenset({
    "sheet_name", "header", "names", "dtype", "engine", "true_values", "false_values",
    "skiprows", "na_values", "keep_default_na", "na_filter", "parse_dates", "date_format",
    "thousands", "decimal", "comment", "skipfooter",
})

#: Per API: keyword arguments that change how the file is PARSED (kept for the load).
LOAD_OPTIONS: dict[str, frozenset[str]] = {
    "pandas.read_csv": _CSV_PARSE,
    "pandas.read_table": _CSV_PARSE,
    "pandas.read_parquet": frozenset({"engine", "to_pandas_kwargs"}),
    "pandas.read_json": _JSON_PARSE,
    "pandas.read_excel": _EXCEL_PARSE,
    "pandas.read_feather": frozenset(),
}
#: Per API: keyword arguments that SELECT from the parsed frame; applied at read time
#: (in SQL or by ``read_sql_query``), so the load ignores them.
SELECT_OPTIONS: dict[str, frozenset[str]] = {
    "pandas.read_csv": frozenset({"usecols", "nrows", "index_col"}),
    "pandas.read_table": frozenset({"usecols", "nrows", "index_col"}),
    "pandas.read_parquet": frozenset({"columns"}),
    "pandas.read_json": frozenset({"nrows"}),
    "pandas.read_excel": frozenset({"usecols", "nrows", "index_col"}),
    "pandas.read_feather": frozenset({"columns"}),
}
#: Arguments that make no difference to the frame a local file gives.
_NO_EFFECT = frozenset({"storage_options", "use_threads", "filesystem", "verbose"})
#: Arguments understood but refused, with the reason.
_REFUSED = {
    "chunksize": "it returns an iterator of frames, not one frame",
    "iterator": "it returns a reader, not a frame",
    "converters": "converters are Python functions that cannot be applied in the database",
    "date_parser": "date_parser is a Python function",
    "dtype_backend": "nullable/pyarrow-backed dtypes are not mapped yet",
    "filters": "row filters are not translated to SQL yet",
    "use_nullable_dtypes": "nullable dtypes are not mapped yet",
}


def api_name(api: str) -> str:
    """``read_csv`` / ``pd.read_csv`` / ``pandas.read_csv`` -> ``pandas.read_csv``."""
    short = api.rsplit(".", 1)[-1]
    full = f"pandas.{short}"
    if full not in LOAD_OPTIONS:
        raise TabularError(f"{api} is not a tabular read stork can load into a table")
    return full


def load_options(api: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The parsing options of a ``pandas.read_*(path, **kwargs)`` call.

    Selecting options (``usecols``, ``nrows``, ``index_col``, ``columns``) are left
    out: the read-back applies them. ``parse_dates=True`` (meaning: the index) becomes
    the list of ``index_col`` columns, since the load keeps every column as a column.
    Raises :class:`TabularError` naming an option that changes parsing and cannot be
    honoured.
    """
    api = api_name(api)
    keep: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _REFUSED:
            if key == "dtype_backend" and value in ("numpy", None):
                continue
            raise TabularError(f"{api}(..., {key}=...) cannot be loaded into a table: "
                               f"{_REFUSED[key]}")
        if key in SELECT_OPTIONS[api] or key in _NO_EFFECT:
            continue
        if key not in LOAD_OPTIONS[api]:
            raise TabularError(f"{api}(..., {key}=...) is an option stork does not know how "
                               "to honour when loading the file into a table")
        keep[key] = value
    if api in ("pandas.read_csv", "pandas.read_table", "pandas.read_excel"):
        if keep.get("parse_dates") is True:
            index_col = kwargs.get("index_col")
            if index_col is None or index_col is False:
                keep.pop("parse_dates")  # no index: pandas parses nothing
            else:
                keep["parse_dates"] = list(index_col) if isinstance(
                    index_col, list | tuple) else [index_col]
        elif keep.get("parse_dates") is False or keep.get("parse_dates") is None:
            keep.pop("parse_dates", None)
    if api in ("pandas.read_csv", "pandas.read_table"):
        if keep.get("engine") == "pyarrow":
            raise TabularError(f"{api}(..., engine='pyarrow') cannot be read in chunks; "
                               "drop engine='pyarrow' to migrate this read")
        if keep.get("on_bad_lines") not in (None, "error", "skip", "warn"):
            raise TabularError(f"{api}(..., on_bad_lines=<function>) cannot be honoured")
        for key in ("dtype", "parse_dates", "na_values", "true_values", "false_values",
                    "names", "skiprows"):
            value = keep.get(key)
            if callable(value) and not isinstance(value, type):
                raise TabularError(f"{api}(..., {key}=<function>) cannot be honoured")
    if api == "pandas.read_parquet" and keep.get("engine") not in (None, "auto", "pyarrow"):
        raise TabularError(f"{api}(..., engine={keep['engine']!r}) is not supported; "
                           "stork reads parquet with pyarrow")
    if api == "pandas.read_json":
        if keep.get("typ", "frame") != "frame":
            raise TabularError(f"{api}(..., typ={keep['typ']!r}) gives a Series, not a table")
        if keep.get("engine", "ujson") != "ujson":
            raise TabularError(f"{api}(..., engine={keep['engine']!r}) is not supported")
    if api == "pandas.read_excel":
        sheet = keep.get("sheet_name", 0)
        if sheet is None or isinstance(sheet, list | tuple):
            raise TabularError(f"{api}(..., sheet_name={sheet!r}) gives several frames; "
                               "read one sheet per call to migrate it")
    return keep


# --------------------------------------------------------------------------- schema

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


# --------------------------------------------------------------------------- pandas helpers


def _pd():
    try:
        import pandas as pd
    except ImportError:
        from .errors import MissingDependencyError

        raise MissingDependencyError("pandas", "examples") from None
    return pd


def _text_dtype() -> str:
    """What pandas gives for a column of strings: ``str`` (pandas 3) or ``object``."""
    pd = _pd()
    return str(pd.Series(["a"]).dtype)


def _pg_type_for(dtype: Any, name: Any, path: Path) -> str:
    """The PostgreSQL type storing values of pandas ``dtype`` without loss."""
    pd = _pd()
    s = str(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        return _pg_type_for(dtype.categories.dtype, name, path)
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


@dataclass
class _Acc:
    """What the first pass learnt about one column, chunk after chunk."""

    kinds: set[str] = field(default_factory=set)
    dts: set[str] = field(default_factory=set)  #: datetime dtypes seen
    numeric: set[str] = field(default_factory=set)  #: numeric dtypes seen (int32, float32...)
    nulls: int = 0
    first_dtype: str | None = None  #: dtype of the first chunk (for all-missing columns)
    user: str | None = None  #: dtype fixed by the call (dtype=...)
    cats: set[str] = field(default_factory=set)  #: categories' dtypes (categorical)
    #: categories in order of appearance over the chunks (as pyarrow unifies them), and
    #: whether they are ordered; None once one cannot be written as a literal
    categories: list[Any] | None = field(default_factory=list)
    ordered: bool = False
    ext: set[str] = field(default_factory=set)  #: nullable extension dtypes (Int64...)
    none: bool = False  #: missing values are None in an object column
    big: bool = False  #: an integer beyond 2**53 in absolute value
    bad: str | None = None  #: why the column cannot be stored


def _kind(s, text_dtype: str) -> tuple[str, str | None]:
    """(kind, detail) of one chunk's column: ``int``, ``uint``, ``float``, ``bool``,
    ``text``, ``dt``, ``empty``, ``category``, ``objbool`` or ``mixed``."""
    pd = _pd()
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category", str(dtype.categories.dtype)
    if re.fullmatch(r"U?Int\d+|Float\d+|boolean", str(dtype)):
        return "ext", str(dtype)
    if len(s) and s.isna().all():
        return "empty", None
    kind = getattr(dtype, "kind", "O")
    if str(dtype) in ("str", "string") or str(dtype).startswith("string"):
        return "text", None
    if kind == "i":
        return "int", None
    if kind == "u":
        return "uint", None
    if kind == "f":
        return "float", None
    if kind == "b":
        return "bool", None
    if kind == "M":
        return "dt", str(dtype)
    if kind == "O":
        types = {type(v) for v in s.dropna().tolist()}
        if types <= {bool}:
            return "objbool", None
        if types <= {str}:
            return "text", None
        return "mixed", ", ".join(sorted(t.__name__ for t in types))
    return "mixed", str(dtype)


def _finest(dts: set[str]) -> str | None:
    """One datetime dtype for chunks that gave several units, or None when timezones differ."""
    units = {"s": 0, "ms": 1, "us": 2, "ns": 3}
    parsed = []
    for d in dts:
        m = re.fullmatch(r"datetime64\[(\w+)(?:, (.+))?\]", d)
        if not m:
            return None
        parsed.append((m.group(1), m.group(2)))
    if len({tz for _, tz in parsed}) != 1:
        return None
    unit = max((u for u, _ in parsed), key=lambda u: units.get(u, 3))
    tz = parsed[0][1]
    return f"datetime64[{unit}, {tz}]" if tz else f"datetime64[{unit}]"


def _decide(name: Any, acc: _Acc, fmt: str, path: Path, text_dtype: str) -> str:
    """The dtype pandas gives the whole column, from what each chunk gave."""
    if acc.bad:
        raise TabularError(f"{path}: column {name!r} {acc.bad}")
    if acc.user is not None:
        return acc.user
    kinds = acc.kinds - {"empty"}
    has_null = acc.nulls > 0
    if not kinds:
        return acc.first_dtype or "float64"
    if "ext" in kinds:
        if kinds == {"ext"} and len(acc.ext) == 1:
            return next(iter(acc.ext))
        raise TabularError(f"{path}: column {name!r} has different dtypes in different "
                           f"parts of the file ({', '.join(sorted(acc.ext | kinds))})")
    if "mixed" in kinds:
        if fmt == "csv":
            return text_dtype
        raise TabularError(f"{path}: column {name!r} mixes values of different types; "
                           "it cannot be stored as one typed column")
    if kinds == {"category"}:
        if len(acc.cats) > 1:
            raise TabularError(f"{path}: categorical column {name!r} has categories of "
                               f"different types ({', '.join(sorted(acc.cats))})")
        return "category"
    if "category" in kinds:
        raise TabularError(f"{path}: column {name!r} is categorical in some parts of the "
                           "file only")
    if kinds <= {"int", "uint", "float"}:
        if fmt == "arrow" and len(acc.numeric) == 1:
            file_dtype = next(iter(acc.numeric))  # the file's own type (int32, float32...)
            if not (has_null and file_dtype[0] in "iu"):  # ints with gaps: float64
                return file_dtype
        if kinds == {"int"} and not has_null:
            return "int64"
        if kinds == {"uint"} and not has_null:
            return "uint64"
        return "float64"
    if kinds <= {"bool", "objbool"}:
        if fmt == "json" and has_null:
            return "float64"  # read_json gives 1.0/0.0/NaN for booleans with nulls
        return "object" if has_null or "objbool" in kinds else "bool"
    if fmt == "json" and kinds <= {"bool", "objbool", "float", "int"}:
        return "float64"
    if kinds == {"dt"}:
        dt = _finest(acc.dts)
        if dt is not None:
            return dt
        if fmt == "csv":
            return text_dtype
        raise TabularError(f"{path}: column {name!r} has datetimes in different time zones")
    if kinds == {"text"} or fmt == "csv":
        return text_dtype
    raise TabularError(f"{path}: column {name!r} mixes {', '.join(sorted(kinds))} values; "
                       "it cannot be stored as one typed column")


# --------------------------------------------------------------------------- readers


def _auto_chunksize(path: Path, target_bytes: int = 16 * 1024 * 1024) -> int:
    """Rows per chunk so that a chunk holds about ``target_bytes`` of the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024 * 1024)
    except OSError:
        return 100_000
    lines = max(head.count(b"\n"), 1)
    per_row = max(len(head) / lines, 1)
    return int(min(max(target_bytes / per_row, 1_000), 1_000_000))


class _Limited(io.RawIOBase):
    """The first ``limit`` bytes of a file (to leave out a footer), counting what is read."""

    def __init__(self, raw, limit: int):
        self.raw = raw
        self.left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        data = self.raw.read(n)
        b[: len(data)] = data
        self.left -= len(data)
        return len(data)


def _footer_offset(path: Path, lines: int) -> int:
    """Byte offset where the last ``lines`` lines of the file start (trailing
    newlines ignored, as pandas' python engine ignores the empty last line)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        pos = size
        block = 1 << 16
        data = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            body = data.rstrip(b"\r\n")
            if body.count(b"\n") >= lines or pos == 0:
                break
        body = data.rstrip(b"\r\n")
        cut = len(body)
        for _ in range(lines):
            cut = body.rfind(b"\n", 0, cut)
            if cut < 0:
                return 0
        return pos + cut + 1


def _quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` without pandas' parser warnings (DtypeWarning, "could not
    infer format"...): the load reproduces what they warn about."""
    with no_warnings():
        return fn(*args, **kwargs)


_END = object()
_UNNAMED = re.compile(r"Unnamed: \d+(_level_\d+)?")


def _unnamed_columns(reader) -> set[Any]:
    """The labels read_csv made up for empty header cells (``Unnamed: 0``...): the
    parser's own record when it has one, else the labels of that form."""
    found = getattr(getattr(reader, "_engine", None), "unnamed_cols", None)
    if isinstance(found, set | frozenset | list | tuple):
        return set(found)
    return {"__by_name__"}


class _Source:
    """One file read the way the call reads it: chunks of frames with their byte positions."""

    def is_unnamed(self, label: Any) -> bool:
        """Whether ``label`` is the one pandas gave an empty header cell."""
        if "__by_name__" in self.unnamed:
            return isinstance(label, str) and bool(_UNNAMED.fullmatch(label))
        return label in self.unnamed

    def __init__(self, path: Path, api: str, options: dict[str, Any]):
        self.path = Path(path)
        self.api = api_name(api)
        self.options = dict(options)
        self.unnamed: set[Any] = {"__by_name__"}  #: see _unnamed_columns
        if self.api in ("pandas.read_csv", "pandas.read_table"):
            self.fmt = "csv"
        elif self.api == "pandas.read_json":
            self.fmt = "json"
        elif self.api in ("pandas.read_parquet", "pandas.read_feather"):
            self.fmt = "arrow"
        else:
            self.fmt = "excel"
        if not self.path.is_file():
            raise TabularError(f"{self.path} does not exist or is not a file")

    # -- CSV

    def _csv_kwargs(self, chunksize: int, overrides: dict[str, Any]) -> dict[str, Any]:
        kw = dict(self.options)
        kw.update(overrides)
        for key in [k for k, v in kw.items() if v is _DROP]:
            del kw[key]
        kw.pop("low_memory", None)
        kw.pop("memory_map", None)
        if self.api == "pandas.read_table" and "sep" not in kw and "delimiter" not in kw:
            kw["sep"] = "\t"
        compression = kw.get("compression", "infer")
        if compression == "infer":
            from pandas.io.common import infer_compression

            kw["compression"] = infer_compression(str(self.path), "infer")
        if kw.get("skipfooter"):
            if kw.get("compression"):
                raise TabularError(f"{self.path}: skipfooter on a compressed file is not "
                                   "supported")
            kw.setdefault("engine", "python")  # what pandas falls back to for skipfooter
        kw["chunksize"] = chunksize
        return kw

    def csv_chunks(self, chunksize: int, overrides: dict[str, Any] | None = None
                   ) -> Iterator[tuple[Any, int]]:
        """(frame, bytes of the file consumed so far) per chunk."""
        pd = _pd()
        kw = self._csv_kwargs(chunksize, overrides or {})
        footer = kw.pop("skipfooter", 0) or 0
        with open(self.path, "rb") as raw:
            handle: Any = raw
            if footer:
                handle = io.BufferedReader(_Limited(raw, _footer_offset(self.path, footer)))
            with _quietly(pd.read_csv, handle, **kw) as reader:
                self.unnamed = _unnamed_columns(reader)
                while (df := _quietly(next, reader, _END)) is not _END:
                    yield df, raw.tell()

    # -- JSON lines

    def json_chunks(self, chunksize: int) -> Iterator[tuple[Any, int]]:
        pd = _pd()
        kw = dict(self.options)
        kw["chunksize"] = chunksize
        with open(self.path, "rb") as raw, _quietly(pd.read_json, raw, **kw) as reader:
            while (df := _quietly(next, reader, _END)) is not _END:
                yield df, raw.tell()

    # -- parquet / feather

    def arrow_batches(self, chunksize: int) -> Iterator[tuple[Any, int, Any]]:
        """(record batch, approximate bytes consumed, the file's arrow schema)."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            from .errors import MissingDependencyError

            raise MissingDependencyError("pyarrow", "examples") from None
        size = self.path.stat().st_size
        if self.api == "pandas.read_parquet":
            try:
                pf = pq.ParquetFile(self.path)
            except (pa.ArrowException, OSError) as e:
                raise TabularError(f"{self.path} is not a readable parquet file: {e}") from None
            total = max(pf.metadata.num_rows, 1)
            done = 0
            for batch in pf.iter_batches(batch_size=chunksize):
                done += batch.num_rows
                yield batch, size * done // total, pf.schema_arrow
            return
        try:
            reader = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
        except (pa.ArrowException, OSError) as e:
            raise TabularError(f"{self.path} is not a readable feather (Arrow IPC) file: "
                               f"{e}") from None
        n = reader.num_record_batches
        for i in range(n):
            batch = reader.get_batch(i)
            for start in range(0, max(batch.num_rows, 1), chunksize):
                part = batch.slice(start, chunksize)
                yield part, size * (i + 1) // max(n, 1), reader.schema

    def index_spec(self, schema) -> list[tuple[str, Any, dict | None]]:
        """The index pandas restores from the file's metadata, as (column name in the
        table, index level name, range spec or None) per level; empty for the default
        unnamed RangeIndex from 0."""
        meta = self.pandas_metadata(schema)
        items = meta.get("index_columns", [])
        spec: list[tuple[str, Any, dict | None]] = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                if item.get("kind") != "range":
                    continue
                start, step, name = item.get("start", 0), item.get("step", 1), item.get("name")
                if len(items) == 1 and start == 0 and step == 1 and name is None:
                    continue
                spec.append((name if isinstance(name, str) else f"__index_level_{i}__", name,
                             item))
                continue
            name = item
            for col in meta.get("columns", []):
                if col.get("field_name") == item:
                    name = col.get("name")
            spec.append((item, name, None))
        return spec

    def arrow_frame(self, batch, schema, offset: int = 0) -> Any:
        """A record batch as pandas makes it of the whole file, index levels as columns
        first (a RangeIndex other than 0, 1, 2... becomes a column of its values)."""
        import numpy as np
        import pyarrow as pa

        pd = _pd()
        table = pa.Table.from_batches([batch], schema=schema)
        try:
            from pandas.io._util import arrow_table_to_pandas

            kwargs = self.options.get("to_pandas_kwargs") or {}
            df = arrow_table_to_pandas(table, to_pandas_kwargs=kwargs)
        except ImportError:  # pragma: no cover - other pandas versions
            df = table.to_pandas()
        spec = self.index_spec(schema)
        if spec:
            levels = {}
            for i, (field_name, _, rng) in enumerate(spec):
                if rng is not None:
                    levels[field_name] = rng.get("start", 0) + rng.get("step", 1) * (
                        offset + np.arange(len(df), dtype=np.int64))
                else:
                    levels[field_name] = df.index.get_level_values(i)
            idx = pd.DataFrame(levels)
            df = pd.concat([idx, df.reset_index(drop=True)], axis=1)
        else:
            df = df.reset_index(drop=True)
        return df

    @staticmethod
    def pandas_metadata(schema) -> dict[str, Any]:
        raw = (schema.metadata or {}).get(b"pandas")
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return {}

    # -- whole files

    def whole(self) -> Any:
        pd = _pd()
        try:
            if self.api == "pandas.read_json":
                return _quietly(pd.read_json, self.path, **self.options)
            return _quietly(pd.read_excel, self.path, **self.options)
        except ImportError as e:
            raise TabularError(f"{self.path}: {e}") from None
        except Exception as e:  # each reader (xlrd, openpyxl, ujson) has its own errors
            raise TabularError(f"{self.path} cannot be read as {self.api} reads it: "
                               f"{one_line(e)}") from None

    @property
    def streamed(self) -> bool:
        if self.fmt in ("csv", "arrow"):
            return True
        return self.fmt == "json" and bool(self.options.get("lines"))


_DROP = object()  #: an override removing an option


# --------------------------------------------------------------------------- pass one


def _date_formats(src: _Source, chunksize: int) -> dict[Any, str]:
    """The format pandas guesses for each ``parse_dates`` column of the whole file: from
    its first non-missing value (pandas guesses per call, so per chunk otherwise)."""
    import numpy as np
    from pandas._libs import lib, tslib
    from pandas._libs.tslibs.parsing import guess_datetime_format

    wanted = src.options.get("parse_dates")
    if not isinstance(wanted, list) or not wanted or src.options.get("date_format"):
        return {}
    dayfirst = bool(src.options.get("dayfirst", False))
    found: dict[Any, str] = {}
    pending: set[Any] | None = None
    for df, _ in src.csv_chunks(chunksize, {"parse_dates": _DROP, "date_format": _DROP}):
        if pending is None:
            pending = set()
            for spec in wanted:
                if isinstance(spec, int) and spec not in df.columns:
                    if 0 <= spec < len(df.columns):
                        pending.add(df.columns[spec])
                elif spec in df.columns:
                    pending.add(spec)
        for col in list(pending):
            values = df[col]
            if values.dtype.kind in "Mm":
                pending.discard(col)
                continue
            strs = lib.ensure_string_array(np.asarray(values))
            i = tslib.first_non_null(strs)
            if i == -1:
                continue
            pending.discard(col)
            if type(strs[i]) is str:
                fmt = guess_datetime_format(strs[i], dayfirst=dayfirst)
                if fmt is not None:
                    found[col] = fmt
        if not pending:
            break
    return found


def infer_schema(path: Path | str, api: str, options: dict[str, Any],
                 chunksize: int | None = None) -> TableSchema:
    """The table a ``pandas.<api>(path, **options)`` call gives, in ONE streaming pass.

    ``options`` are :func:`load_options` (parsing options only). CSV, JSON lines,
    parquet and feather are read chunk by chunk (bounded memory); JSON records (and the
    other orients) and Excel are read whole, as pandas itself cannot read them in parts.
    Each column's dtype is what pandas gives for the whole file.
    """
    src = _Source(Path(path), api, options)
    chunksize = chunksize or _auto_chunksize(src.path)
    text_dtype = _text_dtype()
    hints: dict[str, Any] = {}
    if src.fmt == "csv":
        formats = _date_formats(src, chunksize)
        if formats:
            hints["date_format"] = formats
    if not src.streamed:
        df = src.whole()
        return _schema_of_frame(df, src, text_dtype, hints)
    user_dtypes = _user_dtypes(src)
    accs: dict[Any, _Acc] = {}
    order: list[Any] = []
    rows = 0
    index_fields: list[str] = []
    index_names: list[Any] = []
    for df, _ in _positioned_chunks(src, chunksize, hints):
        arrow_schema = df.attrs.pop("arrow_schema", None)
        if not order:
            order = list(df.columns)
            if len(set(map(repr, order))) != len(order):
                raise TabularError(f"{src.path} has duplicate column names {order!r}")
            accs = {c: _Acc() for c in order}
            if src.fmt == "arrow":
                spec = src.index_spec(arrow_schema)
                index_fields = [f for f, _, _ in spec]
                index_names = [n for _, n, _ in spec]
        elif list(df.columns) != order:
            raise TabularError(f"{src.path}: the columns change within the file "
                               f"({order!r}, then {list(df.columns)!r})")
        _check_index(df, rows, src)
        rows += len(df)
        for col in order:
            s = df[col]
            acc = accs[col]
            if acc.first_dtype is None:
                acc.first_dtype = str(s.dtype)
            nulls = int(s.isna().sum())
            acc.nulls += nulls
            if not acc.big and re.fullmatch(r"U?Int\d+", str(s.dtype)) and len(s):
                top = s.dropna()
                acc.big = bool(len(top)) and bool(
                    (top.max() > 2**53) or (str(s.dtype)[0] != "U" and top.min() < -(2**53)))
            if _is_user_dtype(col, s, user_dtypes):
                acc.user = str(s.dtype)
                if str(s.dtype) == "category":  # dtype="category": the categories are inferred
                    acc.cats.add(str(s.dtype.categories.dtype))  # (int64, str...)
                continue
            kind, detail = _kind(s, text_dtype)
            acc.kinds.add(kind)
            if kind == "ext":
                acc.ext.add(detail or "")
            if kind in ("objbool", "mixed", "text") and s.dtype == object and nulls and any(
                    v is None for v in s[s.isna()].tolist()):
                acc.none = True
            if kind == "dt":
                acc.dts.add(detail or "")
            elif kind in ("int", "uint", "float"):
                acc.numeric.add(str(s.dtype))
            elif kind == "category":
                acc.cats.add(detail or "")
                _add_categories(acc, s.dtype)
            elif kind == "mixed" and src.fmt != "csv":
                acc.bad = (f"holds values that cannot be stored in one typed column "
                           f"({detail}); nested or mixed values are not supported")
    if not order:  # no chunk at all: a file with a header only, or empty
        df = _read_empty(src)
        return _schema_of_frame(df, src, text_dtype, hints)
    if rows == 0:
        df = _read_empty(src)
        return _schema_of_frame(df, src, text_dtype, hints)
    names = sql_names(order)
    columns = []
    for col, sql_name in zip(order, names, strict=True):
        dtype = _decide(col, accs[col], "json" if src.fmt == "json" else
                        ("csv" if src.fmt == "csv" else "arrow"), src.path, text_dtype)
        acc = accs[col]
        columns.append(Column(col, sql_name, _pg_type_from_str(dtype, acc, col, src), dtype,
                              acc.nulls, none=acc.none and dtype == "object",
                              cast="text" if acc.big and acc.nulls and re.fullmatch(
                                  r"U?Int\d+", dtype) else None,
                              unnamed=src.fmt in ("csv", "excel") and src.is_unnamed(col),
                              **_category_fields(dtype, acc, src)))
    schema = TableSchema(columns, rows, hints=hints)
    if index_fields:
        schema.index = [names[order.index(f)] for f in index_fields]
        schema.index_names = index_names
    return schema


def _pg_type_from_str(dtype: str, acc: _Acc, name: Any, src: _Source) -> str:
    pd = _pd()
    if dtype == "category":
        cats = next(iter(acc.cats)) if len(acc.cats) == 1 else "object"
        return _pg_type_for(pd.api.types.pandas_dtype(cats) if cats != "str" else "str",
                            name, src.path)
    if dtype == "object" and acc.user is None:
        kinds = acc.kinds - {"empty"}
        if kinds and kinds <= {"bool", "objbool"}:
            return "boolean"
        if not kinds:
            return "text"
    return _pg_type_for(dtype, name, src.path)


def _add_categories(acc: _Acc, dtype) -> None:
    """Add a chunk's categories to those seen (new ones at the end, as pyarrow unifies
    the dictionaries of a file's row groups)."""
    if acc.categories is None:
        return
    acc.ordered = acc.ordered or bool(dtype.ordered)
    for value in dtype.categories.tolist():
        if isinstance(value, bool) or not isinstance(value, str | int | float) or (
                isinstance(value, float) and not math.isfinite(value)):
            acc.categories = None  # no literal for it: left to astype("category")
            return
        if value not in acc.categories:
            acc.categories.append(value)


def _category_fields(dtype: str, acc: _Acc, src: _Source) -> dict[str, Any]:
    """The categories a categorical column of a parquet/feather file keeps (a CSV read
    with dtype="category" sorts them, as astype("category") does on the way back)."""
    if dtype != "category" or src.fmt != "arrow" or acc.categories is None:
        return {}
    return {"categories": list(acc.categories), "ordered": acc.ordered}


def _user_dtypes(src: _Source) -> Any:
    dtype = src.options.get("dtype")
    if src.fmt == "json" and isinstance(dtype, bool):
        return None
    return dtype


def _is_user_dtype(col: Any, s, user: Any) -> bool:
    if user is None:
        return False
    if isinstance(user, dict):
        return col in user
    return True  # one dtype for every column


def _check_index(df, start: int, src: _Source) -> None:
    pd = _pd()
    if src.fmt == "arrow":
        return
    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.step == 1 and (
            idx.start == start or len(idx) == 0)):
        raise TabularError(f"{src.path}: the read gives an index taken from the file (more "
                           "fields than names?); stork loads only files whose rows have no "
                           "implicit index")


def _read_empty(src: _Source) -> Any:
    """The frame of a file without data rows (header only)."""
    pd = _pd()
    try:
        if src.fmt == "csv":
            kw = src._csv_kwargs(1, {})
            kw.pop("chunksize")
            footer = kw.pop("skipfooter", 0)
            if footer:
                kw["skipfooter"] = footer
            try:
                return _quietly(pd.read_csv, src.path, **kw)
            except pd.errors.EmptyDataError:
                raise TabularError(f"{src.path} is empty: no columns to load") from None
        if src.fmt == "json":
            return _quietly(pd.read_json, src.path, **src.options)
        if src.fmt == "arrow":
            return (pd.read_parquet(src.path) if src.api == "pandas.read_parquet"
                    else pd.read_feather(src.path))
        return src.whole()
    except (ValueError, OSError) as e:
        raise TabularError(f"{src.path} cannot be read: {one_line(e)}") from None


def _schema_of_frame(df, src: _Source, text_dtype: str, hints: dict[str, Any]) -> TableSchema:
    """The schema of a frame read whole (JSON records, Excel, empty files)."""
    pd = _pd()
    index: list[str] = []
    index_names: list[Any] = []
    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        if src.fmt == "arrow":
            raise TabularError(f"{src.path} has an index stored in the file")
        raise TabularError(f"{src.path}: the read gives an index taken from the file; "
                           "stork loads only reads whose rows have a default index")
    order = list(df.columns)
    if len(set(map(repr, order))) != len(order):
        raise TabularError(f"{src.path} has duplicate column names {order!r}")
    names = sql_names(order)
    columns = []
    for col, sql_name in zip(order, names, strict=True):
        s = df.iloc[:, order.index(col)]
        dtype = str(s.dtype)
        acc = _Acc(nulls=int(s.isna().sum()))
        if dtype == "object" and len(s):
            kind, detail = _kind(s, text_dtype)
            if kind == "mixed":
                raise TabularError(f"{src.path}: column {col!r} holds values that cannot be "
                                   f"stored in one typed column ({detail}); nested or mixed "
                                   "values are not supported")
            acc.kinds.add(kind)
            acc.none = bool(acc.nulls) and any(v is None for v in s[s.isna()].tolist())
        if isinstance(s.dtype, pd.CategoricalDtype):
            acc.cats.add(str(s.dtype.categories.dtype))
            _add_categories(acc, s.dtype)
            dtype = "category"
        big = False
        if re.fullmatch(r"U?Int\d+", dtype) and acc.nulls and len(s.dropna()):
            big = bool(s.dropna().abs().max() > 2**53)
        columns.append(Column(col, sql_name, _pg_type_from_str(dtype, acc, col, src), dtype,
                              acc.nulls, none=acc.none, cast="text" if big else None,
                              unnamed=src.fmt in ("csv", "excel") and src.is_unnamed(col),
                              **_category_fields(dtype, acc, src)))
    return TableSchema(columns, len(df), index, index_names, hints=hints)


# --------------------------------------------------------------------------- pass two


def _positioned_chunks(src: _Source, chunksize: int, hints: dict[str, Any],
                       overrides: dict[str, Any] | None = None
                       ) -> Iterator[tuple[Any, int]]:
    rows = 0
    try:
        if src.fmt == "csv":
            ov = dict(overrides or {})
            if hints.get("date_format") and "date_format" not in ov:
                ov["date_format"] = hints["date_format"]
            it = src.csv_chunks(chunksize, ov)
            while True:
                try:
                    df, pos = next(it)
                except StopIteration:
                    return
                except (ValueError, TypeError, OverflowError) as e:
                    raise _locate_csv_failure(src, chunksize, rows, e, hints) from None
                rows += len(df)
                yield df, pos
        elif src.fmt == "json" and src.streamed:
            for df, pos in src.json_chunks(chunksize):
                df.index = range(rows, rows + len(df))
                rows += len(df)
                yield df, pos
        elif src.fmt == "arrow":
            for batch, pos, schema in src.arrow_batches(chunksize):
                df = src.arrow_frame(batch, schema, rows)
                df.attrs["arrow_schema"] = schema
                rows += len(df)
                yield df, pos
        else:  # read whole: handed on in slices all the same
            df = src.whole()
            size = src.path.stat().st_size
            for start in range(0, len(df), chunksize):
                part = df.iloc[start:start + chunksize]
                yield part, size * (start + len(part)) // len(df)
    except TabularError:
        raise
    except UnicodeDecodeError as e:
        raise TabularError(f"{src.path} cannot be decoded as "
                           f"{src.options.get('encoding', 'utf-8')} near data row "
                           f"{rows + 1}: {e.reason}") from None
    except (ValueError, TypeError, OSError, EOFError) as e:
        raise TabularError(f"{src.path} cannot be read as {src.api} reads it (near data row "
                           f"{rows + 1}): {one_line(e)}") from None


def _locate_failure_in(values, name: Any, dtype: Any, src: _Source) -> int | None:
    """The first position in ``values`` (strings) that ``dtype`` refuses, by bisection,
    parsing one-column CSVs with the call's number options."""
    pd = _pd()
    keys = ("thousands", "decimal", "true_values", "false_values", "na_values",
            "keep_default_na", "na_filter")
    kw = {k: src.options[k] for k in keys if k in src.options}
    if isinstance(kw.get("na_values"), dict):
        kw["na_values"] = kw["na_values"].get(name, [])

    def ok(n: int) -> bool:
        buf = io.StringIO()
        pd.DataFrame({"v": values[:n]}).to_csv(buf, index=False, quoting=1, na_rep="")
        buf.seek(0)
        try:
            pd.read_csv(buf, dtype={"v": dtype}, **kw)
            return True
        except (ValueError, TypeError, OverflowError):
            return False

    if ok(len(values)):
        return None
    lo, hi = 0, len(values)  # ok(lo) True, ok(hi) False
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return hi - 1


def _locate_csv_failure(src: _Source, chunksize: int, start: int, error: BaseException,
                        hints: dict[str, Any]) -> TabularError:
    """A TabularError naming the file, data row and column where a forced dtype fails."""
    detail = one_line(error)
    m = re.search(r"line (\d+)", detail)
    if "tokenizing" in detail or "Expected" in detail:
        where = f" (file line {m.group(1)})" if m else ""
        return TabularError(f"{src.path} does not parse as CSV{where}: {detail}")
    user = src.options.get("dtype")
    if isinstance(user, dict) and user:
        try:
            overrides = {"dtype": {k: "str" for k in user}, "parse_dates": _DROP}
            for df, _ in src.csv_chunks(chunksize, overrides):
                if df.index.start + len(df) <= start:
                    continue
                for col, dtype in user.items():
                    if col not in df.columns:
                        continue
                    values = df[col].tolist()
                    pos = _locate_failure_in(values, col, dtype, src)
                    if pos is not None:
                        row = int(df.index.start) + pos + 1
                        return TabularError(
                            f"{src.path}: data row {row}, column {col!r}: value "
                            f"{values[pos]!r} is not a valid {dtype} ({detail})")
                break
        except (ValueError, TypeError, OSError):
            pass
    if isinstance(error, UnicodeDecodeError):
        return TabularError(f"{src.path} cannot be decoded as "
                            f"{src.options.get('encoding') or 'utf-8'} (after data row {start}; "
                            f"pass the file's encoding= to the read): {detail}")
    return TabularError(f"{src.path} cannot be read as {src.api} reads it (after data row "
                        f"{start}): {detail}")


def _forced(schema: TableSchema, src: _Source) -> dict[str, Any]:
    """read_csv overrides making every chunk come out with the schema's dtypes."""
    user = src.options.get("dtype")
    user_map = user if isinstance(user, dict) else {}
    dtype: dict[Any, Any] = dict(user_map)
    parse_dates = src.options.get("parse_dates")
    text = _text_dtype()
    text_cols = []
    for c in schema.columns:
        if c.name in user_map or (user is not None and not isinstance(user, dict)):
            continue
        if c.dtype == text or c.dtype == "object" and c.pg_type == "text":
            dtype[c.name] = c.dtype
            text_cols.append(c.name)
        elif c.dtype in ("int64", "float64"):
            dtype[c.name] = c.dtype
    overrides: dict[str, Any] = {}
    if user is not None and not isinstance(user, dict):
        overrides["dtype"] = user
    else:
        overrides["dtype"] = dtype
    if isinstance(parse_dates, list):
        names = [c.name for c in schema.columns]
        keep = []
        for spec in parse_dates:
            col = names[spec] if isinstance(spec, int) and spec not in names and \
                0 <= spec < len(names) else spec
            if col in text_cols:
                continue
            keep.append(col)
            if col in overrides["dtype"] and col not in user_map:
                del overrides["dtype"][col]
        overrides["parse_dates"] = keep or _DROP
    return overrides


def iter_frames(path: Path | str, api: str, options: dict[str, Any], schema: TableSchema,
                chunksize: int | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[Any]:
    """The file again, chunk by chunk, every chunk with the schema's columns and dtypes
    (text columns read as text: the strings exactly as written). Index levels stored in
    parquet/feather files are columns here. ``progress`` gets the bytes of the file
    consumed since its last call."""
    src = _Source(Path(path), api, options)
    chunksize = chunksize or _auto_chunksize(src.path)
    overrides = _forced(schema, src) if src.fmt == "csv" else None
    done = 0
    seen = 0
    columns = [c.name for c in schema.columns]
    for df, pos in _positioned_chunks(src, chunksize, schema.hints, overrides):
        df.attrs.pop("arrow_schema", None)
        if list(df.columns) != columns:
            raise TabularError(f"{src.path} changed since it was analysed: its columns are "
                               f"now {list(df.columns)!r}")
        df = _coerce(df, schema, src, seen)
        seen += len(df)
        if progress and pos > done:
            progress(pos - done)
            done = pos
        yield df
    if seen != schema.row_count:
        raise TabularError(f"{src.path} changed since it was analysed: {seen} data rows now, "
                           f"{schema.row_count} before")
    size = src.path.stat().st_size
    if progress and size > done:
        progress(size - done)


def _coerce(df, schema: TableSchema, src: _Source, start: int):
    """``df`` with exactly the schema's dtypes (a chunk may have come out narrower)."""
    pd = _pd()
    import numpy as np

    out = {}
    changed = False
    for i, c in enumerate(schema.columns):
        s = df.iloc[:, i]
        if str(s.dtype) == c.dtype:
            out[c.name] = s
            continue
        changed = True
        try:
            if c.dtype == "object":
                s = s.astype(object)
                s = s.where(s.notna(), np.nan)
            elif c.dtype == "category":
                s = s.astype("category")
            else:
                s = s.astype(c.dtype)
        except (ValueError, TypeError, OverflowError) as e:
            bad = _first_bad(s, c.dtype)
            row = f"data row {start + bad + 1}, " if bad is not None else ""
            raise TabularError(f"{src.path}: {row}column {c.name!r}: cannot be read as "
                               f"{c.dtype} ({one_line(e)})") from None
        out[c.name] = s
    if not changed:
        return df
    frame = pd.DataFrame(out, index=df.index)
    frame.columns = df.columns
    return frame


def _first_bad(s, dtype: str) -> int | None:
    for i, v in enumerate(s.tolist()):
        try:
            _pd().Series([v]).astype(dtype)
        except (ValueError, TypeError, OverflowError):
            return i
    return None


# --------------------------------------------------------------------------- read back


def _natural(c: Column) -> str:
    """The dtype read_sql_query gives a column of this type, when it has no nulls."""
    return {"bigint": "int64", "double precision": "float64", "boolean": "bool",
            "text": _text_dtype(), "timestamp": "datetime64[us]",
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
            pd = _pd()
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


__all__ = ["Column", "LOAD_OPTIONS", "PG_TYPES", "ReadBack", "SELECT_OPTIONS", "TableSchema",
           "TabularError", "api_name", "infer_schema", "iter_frames", "load_options",
           "read_back", "read_back_kwargs", "sql_names"]
