"""Pass two: the file again, every chunk forced to the schema's dtypes.

Text columns are read as text (``"007"`` stays ``"007"``); a chunk that comes out
narrower than the whole file is widened; a file that changed since pass one is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import one_line
from .options import TabularError
from .schema import TableSchema, pandas_module, pandas_text_dtype
from .source import DROP, Source, auto_chunksize, positioned_chunks


def _forced(schema: TableSchema, src: Source) -> dict[str, Any]:
    """read_csv overrides making every chunk come out with the schema's dtypes."""
    user = src.options.get("dtype")
    user_map = user if isinstance(user, dict) else {}
    dtype: dict[Any, Any] = dict(user_map)
    parse_dates = src.options.get("parse_dates")
    text = pandas_text_dtype()
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
        overrides["parse_dates"] = keep or DROP
    return overrides


def iter_frames(path: Path | str, api: str, options: dict[str, Any], schema: TableSchema,
                chunksize: int | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[Any]:
    """The file again, chunk by chunk, every chunk with the schema's columns and dtypes
    (text columns read as text: the strings exactly as written). Index levels stored in
    parquet/feather files are columns here. ``progress`` gets the bytes of the file
    consumed since its last call."""
    src = Source(Path(path), api, options)
    chunksize = chunksize or auto_chunksize(src.path)
    overrides = _forced(schema, src) if src.fmt == "csv" else None
    done = 0
    seen = 0
    columns = [c.name for c in schema.columns]
    for df, pos in positioned_chunks(src, chunksize, schema.hints, overrides):
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


def _coerce(df, schema: TableSchema, src: Source, start: int):
    """``df`` with exactly the schema's dtypes (a chunk may have come out narrower)."""
    pd = pandas_module()
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
            pandas_module().Series([v]).astype(dtype)
        except (ValueError, TypeError, OverflowError):
            return i
    return None

