"""Which ``pandas.read_*`` calls and keyword arguments stork can load into a table.

The rules only: which options change how a file is PARSED (kept for the load), which
SELECT from the parsed frame (applied at read time), which make no difference, and which
are refused with the reason. :class:`TabularError` is the error of the whole package.
"""

from __future__ import annotations

from typing import Any

from ..errors import StorkError


class TabularError(StorkError):
    """A file cannot be read as the call reads it, or not faithfully stored as a table."""


class UnreadableFile(TabularError):
    """pandas itself cannot read the file as the call reads it: the notebook fails there
    too, so no other form of the read helps."""



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

