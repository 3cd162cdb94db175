"""Pass one: the schema pandas gives the WHOLE file, found chunk by chunk.

Each chunk's columns are summed up (:class:`_Acc`) and the final dtype decided as pandas
decides it for the whole file: an int column whose only float is in the last chunk is
``float64``; ints with a gap are ``float64``; a CSV column mixing numbers and text is
text... Files read whole (JSON records, Excel, empty files) are described from the frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import one_line
from .options import TabularError, UnreadableFile
from .schema import Column, TableSchema, pandas_module, pandas_text_dtype, pg_type_for, sql_names
from .source import (
    DROP,
    Source,
    _quietly,
    auto_chunksize,
    positioned_chunks,
)


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
    pd = pandas_module()
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



def _date_formats(src: Source, chunksize: int) -> dict[Any, str]:
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
    chunks = src.csv_chunks(chunksize, {"parse_dates": DROP, "date_format": DROP})
    while True:
        try:
            df, _ = next(chunks)
        except StopIteration:
            break
        except (ValueError, TypeError, OverflowError):
            break  # the file does not parse: the exact pass says where, as for any read
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
    src = Source(Path(path), api, options)
    chunksize = chunksize or auto_chunksize(src.path)
    text_dtype = pandas_text_dtype()
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
    for df, _ in positioned_chunks(src, chunksize, hints):
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


def _pg_type_from_str(dtype: str, acc: _Acc, name: Any, src: Source) -> str:
    pd = pandas_module()
    if dtype == "category":
        cats = next(iter(acc.cats)) if len(acc.cats) == 1 else "object"
        return pg_type_for(pd.api.types.pandas_dtype(cats) if cats != "str" else "str",
                            name, src.path)
    if dtype == "object" and acc.user is None:
        kinds = acc.kinds - {"empty"}
        if kinds and kinds <= {"bool", "objbool"}:
            return "boolean"
        if not kinds:
            return "text"
    return pg_type_for(dtype, name, src.path)


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


def _category_fields(dtype: str, acc: _Acc, src: Source) -> dict[str, Any]:
    """The categories a categorical column of a parquet/feather file keeps (a CSV read
    with dtype="category" sorts them, as astype("category") does on the way back)."""
    if dtype != "category" or src.fmt != "arrow" or acc.categories is None:
        return {}
    return {"categories": list(acc.categories), "ordered": acc.ordered}


def _user_dtypes(src: Source) -> Any:
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


def _check_index(df, start: int, src: Source) -> None:
    pd = pandas_module()
    if src.fmt == "arrow":
        return
    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.step == 1 and (
            idx.start == start or len(idx) == 0)):
        raise TabularError(f"{src.path}: the read gives an index taken from the file (more "
                           "fields than names?); stork loads only files whose rows have no "
                           "implicit index")


def _read_empty(src: Source) -> Any:
    """The frame of a file without data rows (header only)."""
    pd = pandas_module()
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
                raise UnreadableFile(f"{src.path} is empty: no columns to load") from None
        if src.fmt == "json":
            return _quietly(pd.read_json, src.path, **src.options)
        if src.fmt == "arrow":
            return (pd.read_parquet(src.path) if src.api == "pandas.read_parquet"
                    else pd.read_feather(src.path))
        return src.whole()
    except (ValueError, OSError) as e:
        raise UnreadableFile(f"{src.path} cannot be read: {one_line(e)}") from None


def _schema_of_frame(df, src: Source, text_dtype: str, hints: dict[str, Any]) -> TableSchema:
    """The schema of a frame read whole (JSON records, Excel, empty files)."""
    pd = pandas_module()
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

