"""Fields, types and row count of a tabular file moved as a file (folder and S3
destinations), for the dataset's record: the same shape the PostgreSQL load records
(``[{"name", "type"}]`` and a row count), so the widgets and the panel show either.

An engine module. pyarrow reads what it can cheaply: a Parquet file's footer, a CSV file's first
rows (types; rows are its line count, with the csv module), a JSON-lines file; an Excel file
small enough goes through pandas. Anything it cannot read gives no schema, never an
error: the transfer is what matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Excel files above this size are not read for a schema (pandas reads them whole).
MAX_EXCEL_BYTES = 32 * 1024 * 1024
#: JSON-lines files above this size are not read (pyarrow's reader is not streamed).
MAX_JSON_BYTES = 256 * 1024 * 1024


def table_summary(path: Path, fmt: str | None) -> tuple[list[dict[str, Any]], int] | None:
    """(fields, row count) of the tabular file at ``path`` (``fmt`` as the analysis
    names it: csv, parquet, excel, json), None when it is not one or cannot be read."""
    path = Path(path)
    try:
        if fmt == "parquet":
            return _parquet(path)
        if fmt == "csv":
            return _csv(path)
        if fmt == "json" and path.suffix.lower() in (".jsonl", ".ndjson"):
            return _jsonl(path)
        if fmt == "excel" and path.stat().st_size <= MAX_EXCEL_BYTES:
            return _excel(path)
    except Exception:  # noqa: BLE001 - a file that does not parse has no schema, that is all
        return None
    return None


def _fields(schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def _parquet(path: Path):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    return _fields(meta.schema_arrow), meta.metadata.num_rows


def _csv(path: Path):
    import csv
    import itertools

    # types from the first rows (as pyarrow names them), rows as the file's line count:
    # a full parse, or even importing a parser, would cost a folder copy noticeably
    # (quoted line breaks inside fields make the count an upper bound)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = list(itertools.islice(csv.reader(f, delimiter=delimiter), SAMPLE_ROWS + 1))
    if not rows:
        return None
    header, sample = rows[0], rows[1:]
    fields = [{"name": name, "type": _kind([r[i] for r in sample if i < len(r)])}
              for i, name in enumerate(header)]
    return fields, max(_count_lines(path) - 1, 0)


#: Rows a CSV file's types are inferred from.
SAMPLE_ROWS = 1000


def _kind(values: list[str]) -> str:
    present = [v for v in values if v != ""]
    if not present:
        return "null"
    for kind, parse in (("int64", int), ("double", float)):
        try:
            for v in present:
                parse(v)
        except ValueError:
            continue
        return kind
    if all(v in ("True", "False", "true", "false") for v in present):
        return "bool"
    return "string"


def _count_lines(path: Path) -> int:
    """Lines of a text file (a last line without its line break counts too)."""
    n, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _jsonl(path: Path):
    from pyarrow import json

    if path.stat().st_size > MAX_JSON_BYTES:
        return None
    table = json.read_json(path)
    return _fields(table.schema), table.num_rows


def _excel(path: Path):
    import pandas as pd

    frame = pd.read_excel(path)
    return [{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()], len(frame)


__all__ = ["table_summary"]
