"""The fast path of a PostgreSQL table load: the CSV file's own bytes go to
``COPY ... FROM STDIN (FORMAT csv)``, with no second pandas pass.

It is taken only when PostgreSQL provably parses the file into what the notebook's
``pandas.read_csv`` gives (the schema the first pass inferred), and every condition
that cannot be known before is checked on the way, failing safe (the load then takes
the converted-chunks path; nothing is left behind):

- decided from the call and the schema: ``read_csv``/``read_table`` with no option
  that changes parsing beyond a ``,`` or tab separator, UTF-8 and ``parse_dates``; an
  uncompressed file; columns int64 (``bigint``), float64 (``double precision``), bool
  (``boolean``, also with gaps), text, and naive datetimes parsed with an ISO format
  (``timestamp``);
- checked on the bytes while they are sent: quoting is clean (a quote opens a field
  or closes one; PostgreSQL, unlike pandas, also starts quoting in mid-field), and when
  there are float columns no run of 16 digits/points (a number of at most 15 digits
  and a moderate exponent is parsed exactly by pandas' converter and by strtod alike);
- checked by PostgreSQL: every value parses as its column's type; the row count; the
  NULLs of each column with missing values are exactly the pandas NaNs (empty fields,
  quoted or not, are NULL by ``FORCE_NULL``; an ``NA`` text would be kept as text and
  show up here); float values lie in [1e-7, 1e22) (or are 0 or infinite).

Big files go as several COPY streams on separate connections, split at record
boundaries (an even number of quotes before the newline); the rows keep their order
through the staging table's identity column, whose values each session takes from its
own cached block, the blocks reserved in file order. Within ``stork migrate`` such a load
may begin while the plan's exact pass still runs (:mod:`.pg_early`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..tabular import TableSchema

#: ``STORK_PG_COPY``: ``auto`` (the file's own bytes when they fit, the default) or
#: ``converted`` (always the pandas chunks): both paths give the same table.
COPY_ENV = "STORK_PG_COPY"
#: read and sent per COPY write
BLOCK = 1024 * 1024
#: a file this big or bigger is sent as several COPY streams
STREAM_BYTES = 48 * 1024 * 1024
MAX_STREAMS = 2
#: a date format PostgreSQL's ``timestamp`` input reads as pandas' format does
SAFE_DATE_FORMATS = frozenset({"%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                               "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"})
_OPTIONS = frozenset({"sep", "delimiter", "parse_dates", "encoding", "low_memory",
                      "memory_map", "cache_dates", "date_format", "engine"})
_TYPES = {"int64": "bigint", "float64": "double precision", "bool": "boolean"}
_DIGITS = bytes(1 if c in b"0123456789." else 0 for c in range(256))
_QUOTE = 34


@dataclass
class RawCopy:
    """How to COPY one file's own bytes (see the module docstring)."""

    delimiter: str
    columns: list[str]  #: sql names, in file order
    #: sql name -> the missing values the schema counts, for columns that have some
    nulls: dict[str, int] = field(default_factory=dict)
    floats: list[str] = field(default_factory=list)  #: double precision columns


def text_dtype() -> str:
    import pandas as pd

    return str(pd.Series(["a"]).dtype)


def raw_copy(source: Path, api: str, options: dict[str, Any], schema: TableSchema
             ) -> tuple[RawCopy | None, str]:
    """(how to COPY the file's bytes, "") when the fast path may be tried, else (None,
    why not)."""
    mode = os.environ.get(COPY_ENV, "auto").strip().lower()
    if mode == "converted":
        return None, f"{COPY_ENV}=converted"
    short = api.rsplit(".", 1)[-1]
    if short not in ("read_csv", "read_table"):
        return None, f"{short} is not a CSV read"
    extra = sorted(set(options) - _OPTIONS)
    if extra:
        return None, f"the read's option(s) {', '.join(extra)}"
    sep = options.get("sep", options.get("delimiter", "\t" if short == "read_table" else ","))
    if sep not in (",", "\t"):
        return None, f"separator {sep!r}"
    if options.get("engine") not in (None, "c"):
        return None, f"engine={options['engine']!r}"
    if str(options.get("encoding") or "utf-8").lower().replace("_", "-") not in ("utf-8",
                                                                                 "utf8"):
        return None, f"encoding {options['encoding']!r}"
    from pandas.io.common import infer_compression

    if infer_compression(str(source), "infer"):
        return None, "a compressed file"
    if schema.row_count == 0 or schema.index:
        return None, "no data rows" if schema.row_count == 0 else "a stored index"
    text = text_dtype()
    formats = dict(schema.hints.get("date_format") or {})
    user_format = options.get("date_format")
    plan = RawCopy(sep, [c.sql_name for c in schema.columns])
    for c in schema.columns:
        kind = _TYPES.get(c.dtype)
        if c.cast or c.categories is not None:
            return None, f"column {c.name!r} needs a cast"
        if c.dtype == text and c.pg_type == "text":
            kind = "text"
        elif c.dtype == "object" and c.pg_type == "boolean":
            kind = "boolean"
        elif c.dtype.startswith("datetime64[") and "," not in c.dtype:
            fmt = user_format if isinstance(user_format, str) else formats.get(c.name)
            if fmt not in SAFE_DATE_FORMATS:
                return None, f"column {c.name!r}: dates in format {fmt!r}"
            kind = "timestamp"
        if kind is None or kind != c.pg_type:
            return None, f"column {c.name!r} of dtype {c.dtype}"
        if c.nulls:
            plan.nulls[c.sql_name] = c.nulls
        if kind == "double precision":
            plan.floats.append(c.sql_name)
    return plan, ""


class Unfit(Exception):
    """The file turned out not to fit the fast path (the load takes the other one)."""


class Scan:
    """The checks on one segment's bytes, block after block: clean quoting and, when
    asked, no run of 16 digits/points. ``quotes`` counts the quotes seen (its parity
    says whether the segment ends inside a quoted field)."""

    def __init__(self, delimiter: str, digits: bool, first: bool = True):
        self.delim = ord(delimiter)
        self.digits = digits
        self.quotes = 0
        self.prev = -1 if first else 10  #: the byte before the block (-1: file start)
        self.pending = False  #: a closing quote ended the last block: its next byte?
        self.tail = b""  #: the digit run the last block ended with

    def feed(self, block: bytes) -> None:
        import numpy as np

        if not block:
            return
        if self.pending:
            if block[0] not in (self.delim, 10, 13, _QUOTE):
                raise Unfit("a quote closes a field in mid-field")
            self.pending = False
        if self.digits:
            marks = block.translate(_DIGITS)
            if b"\x01" * 16 in self.tail + marks[:16] or b"\x01" * 16 in marks:
                raise Unfit("a number of more than 15 digits")
            self.tail = marks[-15:].rsplit(b"\x00", 1)[-1]
        if block.find(b'"') >= 0:
            a = np.frombuffer(block, np.uint8)
            q = np.flatnonzero(a == _QUOTE)
            opening = (np.arange(len(q)) + self.quotes) % 2 == 0
            before = np.empty(len(q), np.int16)
            before[q > 0] = a[q[q > 0] - 1]
            before[q == 0] = self.prev
            ok_before = ((before == self.delim) | (before == 10) | (before == 13)
                         | (before == _QUOTE) | (before == -1))
            if not ok_before[opening].all():
                raise Unfit("a quote opens a field in mid-field")
            closing = q[~opening]
            inner = closing[closing < len(a) - 1]
            after = a[inner + 1]
            if not ((after == self.delim) | (after == 10) | (after == 13)
                    | (after == _QUOTE)).all():
                raise Unfit("a quote closes a field in mid-field")
            self.pending = len(closing) > len(inner)
            self.quotes += len(q)
        self.prev = block[-1]

    def end(self, eof: bool) -> None:
        """The segment is over (at a record boundary, or at the end of the file)."""
        if self.quotes % 2:
            raise Unfit("a quoted field is not closed")


def segments(source: Path, streams: int, size: int | None = None) -> list[tuple[int, int]]:
    """``streams`` byte ranges of about equal size covering the file (without its
    trailing blank lines, which pandas skips), each ending just after a newline outside
    quotes; fewer when the records are too long to split."""
    size = source.stat().st_size if size is None else size
    end = _content_end(source, size)
    if streams <= 1:
        return [(0, end)]
    cuts = [0]
    with open(source, "rb") as f:
        quotes = 0
        pos = 0
        for k in range(1, streams):
            target = end * k // streams
            if target <= cuts[-1]:
                continue
            while pos < target:  # quotes before the target, read in blocks
                block = f.read(min(BLOCK, target - pos))
                if not block:
                    break
                quotes += block.count(b'"')
                pos += len(block)
            cut = None
            while cut is None and pos < end:
                block = f.read(min(BLOCK, end - pos))
                if not block:
                    break
                start = 0
                while (i := block.find(b"\n", start)) >= 0:
                    if (quotes + block.count(b'"', 0, i)) % 2 == 0:
                        cut = pos + i + 1
                        quotes += block.count(b'"', 0, i + 1)
                        f.seek(cut)
                        pos = cut
                        break
                    start = i + 1
                else:
                    quotes += block.count(b'"')
                    pos += len(block)
            if cut is None or cut >= end:
                break
            cuts.append(cut)
    cuts.append(end)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _content_end(source: Path, size: int) -> int:
    """Where the file's data ends: after its last non-blank line, trailing blank lines
    (which pandas skips and COPY would count as rows) left out."""
    with open(source, "rb") as f:
        f.seek(max(size - 65536, 0))
        tail = f.read()
    stripped = tail.rstrip(b"\r\n")
    if len(stripped) == len(tail):
        return size
    # keep one line end: the newline style stays what the file's other lines use
    keep = 2 if tail[len(stripped):].startswith(b"\r\n") else 1
    return size - len(tail) + len(stripped) + keep


def streams_for(size: int, wanted: int | None = None) -> int:
    if wanted is not None:
        return max(1, wanted)
    return max(1, min(MAX_STREAMS, os.cpu_count() or 1, size // STREAM_BYTES or 1))


__all__ = ["COPY_ENV", "RawCopy", "Scan", "Unfit", "raw_copy", "segments", "streams_for"]
