"""Whether a chunked read (``read_csv(path, chunksize=N)``) can come from the file's table.

pandas infers each chunk's dtypes from that chunk alone, so a column with a gap in one
chunk only is float there and int elsewhere; the table holds the whole file's types. The
table's chunks are the same frames only when every pandas chunk equals the same rows of
the whole read, dtypes, values and index included: checked on the file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..quiet import no_warnings
from .schema import pandas_module

#: Reads whose ``chunksize=`` gives an iterator of frames that a table can serve.
CHUNKED_READS = frozenset({"pandas.read_csv", "pandas.read_table"})


def chunk_mismatch(path: Path, api: str, kwargs: dict[str, Any]) -> str | None:
    """Why the chunks of ``api(path, **kwargs)`` are not slices of the whole read (a
    short reason), or None when they are."""
    pd = pandas_module()
    if api not in CHUNKED_READS:
        return f"{api}(..., chunksize=...) is read in chunks only from the file's bytes"
    size = kwargs.get("chunksize")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return "chunksize other than a literal positive integer"
    read = getattr(pd, api.rsplit(".", 1)[1])
    whole_kwargs = {k: v for k, v in kwargs.items() if k != "chunksize"}
    start = 0
    with no_warnings():
        whole = read(path, **whole_kwargs)
        with read(path, **kwargs) as reader:
            for n, chunk in enumerate(reader, 1):
                part = whole.iloc[start:start + len(chunk)]
                start += len(chunk)
                if not (chunk.dtypes.equals(part.dtypes) and chunk.index.dtype == part.index.dtype
                        and chunk.index.equals(part.index) and chunk.equals(part)):
                    return f"chunk {n} has other dtypes or values than the whole file's rows"
    return None if start == len(whole) else "the chunks do not cover the whole read"
