"""The first rows of a migrated dataset, read from where it lives now.

An engine module (no IPython, no ipywidgets): the widgets, and later the sidebar,
show what :func:`preview_dataset` returns. The data is read the way a migrated
notebook reads it — a file path or an ``s3://`` URL handed to pandas for tabular
formats, the text itself otherwise — so a preview that works is evidence that the
migrated notebook can read the data too. Reads are bounded: a few rows, a few KB of
text, the header of a ``.npy`` file. Pickles are never opened (unpickling runs code).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MissingDependencyError, StorkError, one_line
from .store import Dataset, Location, MetadataStore

DEFAULT_ROWS = 10
TEXT_LIMIT = 4000  #: characters of a text file shown at most
#: botocore settings for S3 previews: an unreachable endpoint fails in seconds, not minutes.
S3_CLIENT_CONFIG = {"connect_timeout": 5, "read_timeout": 15, "retries": {"max_attempts": 2}}

_TEXT_FORMATS = {"text", "json", "yaml", "xml", "csv"}
_LINES_SUFFIXES = (".jsonl", ".ndjson")
_NEVER_OPENED = {"pickle": "pickle files are not opened for a preview (unpickling runs code)",
                 "torch": "torch files are not opened for a preview (loading them unpickles)",
                 "keras": "keras files are not opened for a preview"}


@dataclass
class Preview:
    """What a preview found: a table (``columns`` and ``rows``), some text, or a message."""

    url: str  #: where it was read from (no secrets: taken from the store)
    format: str | None
    code: str = ""  #: the call a migrated notebook would make, shown to the user
    columns: list[tuple[str, str]] = field(default_factory=list)  #: (name, dtype)
    rows: list[list[str]] = field(default_factory=list)  #: cells as display strings
    text: str | None = None
    message: str | None = None  #: e.g. "binary file: no preview"
    error: str | None = None  #: reading failed; one sentence

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_text(self) -> str:
        out = [f"Preview of {self.url}" + (f" ({self.code})" if self.code else "")]
        if self.error:
            out.append(f"Cannot preview: {self.error}")
        if self.message:
            out.append(self.message)
        if self.columns:
            out.append("columns: " + ", ".join(f"{n} ({t})" for n, t in self.columns))
            out += ["  ".join(r) for r in self.rows]
        if self.text is not None:
            out.append(self.text)
        return "\n".join(out)


def newest_location(store: MetadataStore, dataset_id: int) -> Location | None:
    found = store.list(Location, dataset_id=dataset_id, limit=1)
    return found[0] if found else None


def preview_dataset(store: MetadataStore, dataset: Dataset, *, rows: int = DEFAULT_ROWS,
                    location: Location | None = None) -> Preview:
    """The first ``rows`` of ``dataset`` at ``location`` (default: its newest location).

    Never raises for a read that fails: the returned preview carries the error."""
    location = location or newest_location(store, dataset.id)  # type: ignore[arg-type]
    if location is None:
        return Preview(url="", format=dataset.format,
                       message="not migrated yet: no location to read from")
    return preview_location(location.url, dataset.format, rows=rows,
                            table_name=location.table_name)


def preview_location(url: str, format: str | None, *, rows: int = DEFAULT_ROWS,
                     table_name: str | None = None) -> Preview:
    """The first ``rows`` at ``url`` read as ``format``; errors are kept in the preview."""
    rows = max(1, int(rows))
    fmt = format or _format_from_url(url)
    try:
        if table_name or url.startswith(("postgresql:", "postgres:")):
            return _preview_sql(url, table_name, fmt, rows)
        if fmt in _NEVER_OPENED:
            return Preview(url, fmt, message=_NEVER_OPENED[fmt])
        reader = _READERS.get(fmt or "")
        if reader is not None:
            return reader(url, fmt, rows)
        if fmt in _TEXT_FORMATS:
            return _preview_text(url, fmt, rows)
        return Preview(url, fmt, message=f"{fmt or 'unknown'} data: no preview for this format")
    except StorkError as e:  # e.g. a missing optional dependency, naming its extra
        return Preview(url, fmt, error=str(e))
    except Exception as e:  # any reader's or driver's error (OSError, botocore, pyarrow...)
        return Preview(url, fmt, error=_one_line(e))


# -- readers -----------------------------------------------------------------


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError("pandas", "examples") from None
    return pd


def _storage_options(url: str) -> dict[str, Any] | None:
    return {"config_kwargs": dict(S3_CLIENT_CONFIG)} if url.startswith("s3://") else None


def _open(url: str, mode: str = "rb"):
    """A file object on a path or URL (fsspec for URLs, so ``s3://`` works like pandas)."""
    if "://" not in url or url.startswith("file://"):
        path = url[len("file://"):] if url.startswith("file://") else url
        if "b" in mode:
            return open(path, mode)  # noqa: SIM115 - the caller closes it
        return open(path, mode, encoding="utf-8", errors="replace")  # noqa: SIM115
    try:
        import fsspec
    except ImportError:
        raise MissingDependencyError("fsspec", "s3") from None
    kwargs = _storage_options(url) or {}
    if "b" not in mode:
        kwargs.update(encoding="utf-8", errors="replace")
    return fsspec.open(url, mode, **kwargs).open()


def _frame_preview(url: str, fmt: str | None, code: str, frame: Any, rows: int) -> Preview:
    frame = frame.head(rows)
    columns = [(str(c), str(t)) for c, t in frame.dtypes.items()]
    values = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return Preview(url, fmt, code=code, columns=columns, rows=values)


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _preview_csv(url: str, fmt: str | None, rows: int) -> Preview:
    pd = _pandas()
    sep = "\t" if url.lower().endswith(".tsv") else None
    extra = ", sep='\\t'" if sep else ""
    code = f"pd.read_csv({url!r}{extra}, nrows={rows})"
    kwargs: dict[str, Any] = {"nrows": rows, "storage_options": _storage_options(url)}
    if sep:
        kwargs["sep"] = sep
    return _frame_preview(url, fmt, code, pd.read_csv(url, **kwargs), rows)


def _preview_json(url: str, fmt: str | None, rows: int) -> Preview:
    if not url.lower().endswith(_LINES_SUFFIXES):  # one JSON document: show its text
        return _preview_text(url, fmt, rows)
    pd = _pandas()
    code = f"pd.read_json({url!r}, lines=True, nrows={rows})"
    frame = pd.read_json(url, lines=True, nrows=rows, storage_options=_storage_options(url))
    return _frame_preview(url, fmt, code, frame, rows)


def _preview_parquet(url: str, fmt: str | None, rows: int) -> Preview:
    _pandas()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError("pyarrow", "examples") from None
    with _open(url) as f:  # the first batch only, not the whole file
        batch = next(pq.ParquetFile(f).iter_batches(batch_size=rows), None)
        if batch is None:
            return Preview(url, fmt, code=f"pd.read_parquet({url!r})", message="no rows")
        frame = batch.to_pandas()
    return _frame_preview(url, fmt, f"pd.read_parquet({url!r}).head({rows})", frame, rows)


def _preview_feather(url: str, fmt: str | None, rows: int) -> Preview:
    _pandas()
    try:
        import pyarrow.ipc as ipc
    except ImportError:
        raise MissingDependencyError("pyarrow", "examples") from None
    with _open(url) as f:
        reader = ipc.open_file(f)
        if reader.num_record_batches == 0:
            return Preview(url, fmt, code=f"pd.read_feather({url!r})", message="no rows")
        frame = reader.get_batch(0).slice(0, rows).to_pandas()
    return _frame_preview(url, fmt, f"pd.read_feather({url!r}).head({rows})", frame, rows)


def _preview_excel(url: str, fmt: str | None, rows: int) -> Preview:
    pd = _pandas()
    frame = pd.read_excel(url, nrows=rows, storage_options=_storage_options(url))
    return _frame_preview(url, fmt, f"pd.read_excel({url!r}, nrows={rows})", frame, rows)


def _preview_npy(url: str, fmt: str | None, rows: int) -> Preview:
    try:
        import numpy as np
        from numpy.lib import format as npformat
    except ImportError:
        raise MissingDependencyError("numpy", "examples") from None
    code = f"np.load({url!r})[:{rows}]"
    with _open(url) as f:  # the header, then only the first rows' bytes
        version = npformat.read_magic(f)
        read_header = (npformat.read_array_header_1_0 if version == (1, 0)
                       else npformat.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        summary = f"array of shape {shape}, dtype {dtype}"
        if dtype.hasobject or fortran or not shape:
            return Preview(url, fmt, code=code, message=summary)
        n = min(rows, shape[0])
        per_row = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
        data = f.read(n * per_row * dtype.itemsize)
    array = np.frombuffer(data, dtype=dtype).reshape((n, *shape[1:]))
    if array.ndim > 2:
        return Preview(url, fmt, code=code, message=summary, text=np.array2string(array))
    matrix = array.reshape(n, -1)
    columns = [(str(i), str(dtype)) for i in range(matrix.shape[1])]
    return Preview(url, fmt, code=code, message=summary, columns=columns,
                   rows=[[_cell(v) for v in row] for row in matrix.tolist()])


def _preview_text(url: str, fmt: str | None, rows: int) -> Preview:
    lines: list[str] = []
    size = 0
    truncated = False
    with _open(url, "rt") as f:
        for line in f:
            if len(lines) >= max(rows, 20) or size + len(line) > TEXT_LIMIT:
                truncated = True
                break
            lines.append(line)
            size += len(line)
    text = "".join(lines) + ("…" if truncated else "")
    return Preview(url, fmt, code=f"open({url!r}).read()" if "://" not in url
                   else f"fsspec.open({url!r}, 'rt').open().read()", text=text)


def _preview_sql(url: str, table_name: str | None, fmt: str | None, rows: int) -> Preview:
    if not table_name:
        return Preview(url, fmt, message="no table recorded for this location")
    pd = _pandas()
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        raise MissingDependencyError("sqlalchemy", "postgres") from None
    sa_url = make_url(url)
    query = sa_url.query
    schema = query.get("schema") if isinstance(query.get("schema"), str) else None
    if sa_url.drivername in ("postgresql", "postgres"):
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    sa_url = sa_url.difference_update_query(["schema"])
    engine = create_engine(sa_url, connect_args={"connect_timeout": 5})
    try:
        prep = engine.dialect.identifier_preparer
        qualified = _qualified(prep, schema, table_name)
        sql = f"SELECT * FROM {qualified} LIMIT {rows}"
        with engine.connect() as conn:
            frame = pd.read_sql_query(text(sql), conn)
    finally:
        engine.dispose()
    return _frame_preview(url, fmt, f"pd.read_sql_query({sql!r}, engine)", frame, rows)


def _qualified(prep: Any, schema: str | None, table_name: str) -> str:
    parts: Sequence[str] = [schema, table_name] if schema else [table_name]
    return ".".join(prep.quote_identifier(p) for p in parts)


_READERS = {
    "csv": _preview_csv,
    "json": _preview_json,
    "parquet": _preview_parquet,
    "feather": _preview_feather,
    "excel": _preview_excel,
    "npy": _preview_npy,
}


def _format_from_url(url: str) -> str | None:
    from .analysis.catalog import format_from_extension

    return format_from_extension(posixpath.basename(url.split("?", 1)[0]))


def _one_line(exc: BaseException) -> str:
    message = one_line(exc)
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or 'the file'} does not exist (any more)"
    return message if len(message) <= 300 else message[:299] + "…"
