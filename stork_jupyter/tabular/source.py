"""One file read the way the call reads it, in chunks, with the bytes consumed so far.

CSV/TSV (pandas' chunked reader, a footer cut off by byte offset), parquet (pyarrow
``iter_batches``), JSON lines (``read_json(chunksize=)``) and feather (Arrow IPC record
batches) are streamed; JSON records and Excel are read whole and handed on in slices.
A read that fails says which file, data row and (where it can tell) column.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import one_line
from ..quiet import no_warnings
from .options import TabularError, UnreadableFile, api_name
from .schema import pandas_module, pandas_text_dtype

#: the file's bytes per chunk: a chunk's frame takes several times that in memory, and
#: 8 MiB keeps a load's peak RSS well under 250 MB at no cost in speed (16 MiB: +45 MB)
CHUNK_BYTES = 8 * 1024 * 1024


def auto_chunksize(path: Path, target_bytes: int = CHUNK_BYTES) -> int:
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


class Source:
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
            raise UnreadableFile(f"{self.path} does not exist or is not a file")

    # -- CSV

    def _csv_kwargs(self, chunksize: int, overrides: dict[str, Any]) -> dict[str, Any]:
        kw = dict(self.options)
        kw.update(overrides)
        for key in [k for k, v in kw.items() if v is DROP]:
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
        pd = pandas_module()
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
        pd = pandas_module()
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
            from ..errors import MissingDependencyError

            raise MissingDependencyError("pyarrow", "examples") from None
        size = self.path.stat().st_size
        if self.api == "pandas.read_parquet":
            try:
                pf = pq.ParquetFile(self.path)
            except (pa.ArrowException, OSError) as e:
                raise UnreadableFile(f"{self.path} is not a readable parquet file: {e}") from None
            total = max(pf.metadata.num_rows, 1)
            done = 0
            for batch in pf.iter_batches(batch_size=chunksize):
                done += batch.num_rows
                yield batch, size * done // total, pf.schema_arrow
            return
        try:
            reader = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
        except (pa.ArrowException, OSError) as e:
            raise UnreadableFile(f"{self.path} is not a readable feather (Arrow IPC) file: "
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

        pd = pandas_module()
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
        pd = pandas_module()
        try:
            if self.api == "pandas.read_json":
                return _quietly(pd.read_json, self.path, **self.options)
            return _quietly(pd.read_excel, self.path, **self.options)
        except ImportError as e:
            raise TabularError(f"{self.path}: {e}") from None
        except Exception as e:  # each reader (xlrd, openpyxl, ujson) has its own errors
            raise UnreadableFile(f"{self.path} cannot be read as {self.api} reads it: "
                               f"{one_line(e)}") from None

    @property
    def streamed(self) -> bool:
        if self.fmt in ("csv", "arrow"):
            return True
        return self.fmt == "json" and bool(self.options.get("lines"))


DROP = object()  #: an override removing an option


def _dates_after_read(src: Source, ov: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the options reading some ``parse_dates`` columns with a format as plain columns,
    those columns -> format), to convert them after the read.

    With a ``date_format`` (or a ``dtype`` for the column), pandas' reader makes a Python
    string per value (seconds on a 200 MB file); its own text column is far cheaper, and
    the converter ``read_csv`` runs gives the same values from it. Only plain cases:
    columns named in a list, no index, dtype or converter for them.
    """
    formats = ov.get("date_format")
    wanted = ov.get("parse_dates", src.options.get("parse_dates"))
    dtype = ov.get("dtype", src.options.get("dtype"))
    if (not isinstance(formats, dict) or not isinstance(wanted, list)
            or src.options.get("converters") or src.options.get("index_col") not in (None, False)
            or not (dtype is None or isinstance(dtype, dict))):
        return ov, {}
    later = {c: f for c, f in formats.items()
             if isinstance(c, str) and c in wanted and isinstance(f, str)
             and c not in (dtype or {})}
    if not later:
        return ov, {}
    rest = [c for c in wanted if c not in later]
    left = {c: f for c, f in formats.items() if c not in later}
    return {**ov, "parse_dates": rest or DROP, "date_format": left or DROP}, later


def _convert_dates(df: Any, later: dict[str, str], src: Source) -> bool:
    """Convert ``later``'s columns of ``df`` in place as ``read_csv(parse_dates=...,
    date_format=...)`` does; False (``df`` left as is) when pandas read one of them as
    something other than text, whose strings are then gone."""
    import numpy as np
    try:  # read_csv's own converter (private: a pandas without it reads as before)
        from pandas.io.parsers.base_parser import date_converter
    except ImportError:
        return False

    text = pandas_text_dtype()
    columns = {}
    for col in later:
        values = df[col]
        if str(values.dtype) == text:
            columns[col] = values
        elif values.isna().all():  # only missing values: NaN in a text column as well
            columns[col] = np.full(len(values), np.nan, dtype=object)
        else:
            return False
    for col, values in columns.items():
        df[col] = date_converter(values, col, dayfirst=bool(src.options.get("dayfirst", False)),
                                 cache_dates=src.options.get("cache_dates", True),
                                 date_format=later[col])
    return True


def positioned_chunks(src: Source, chunksize: int, hints: dict[str, Any],
                       overrides: dict[str, Any] | None = None
                       ) -> Iterator[tuple[Any, int]]:
    rows = 0
    try:
        if src.fmt == "csv":
            ov = dict(overrides or {})
            if hints.get("date_format") and "date_format" not in ov:
                ov["date_format"] = hints["date_format"]
            plain, later = _dates_after_read(src, ov)
            it = src.csv_chunks(chunksize, plain)
            done = 0
            while True:
                try:
                    df, pos = next(it)
                    if later and not _convert_dates(df, later, src):
                        # the rest of the file with the dates parsed by the reader
                        later = {}
                        it.close()
                        it = src.csv_chunks(chunksize, ov)
                        for _ in range(done + 1):
                            df, pos = next(it)
                    done += 1
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
        raise UnreadableFile(f"{src.path} cannot be decoded as "
                           f"{src.options.get('encoding', 'utf-8')} near data row "
                           f"{rows + 1}: {e.reason}") from None
    except (ValueError, TypeError, OSError, EOFError) as e:
        raise UnreadableFile(f"{src.path} cannot be read as {src.api} reads it (near data row "
                           f"{rows + 1}): {one_line(e)}") from None


def _locate_failure_in(values, name: Any, dtype: Any, src: Source) -> int | None:
    """The first position in ``values`` (strings) that ``dtype`` refuses, by bisection,
    parsing one-column CSVs with the call's number options."""
    pd = pandas_module()
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


def _locate_csv_failure(src: Source, chunksize: int, start: int, error: BaseException,
                        hints: dict[str, Any]) -> TabularError:
    """A TabularError naming the file, data row and column where a forced dtype fails."""
    detail = one_line(error)
    m = re.search(r"line (\d+)", detail)
    if "tokenizing" in detail or "Expected" in detail:
        where = f" (file line {m.group(1)})" if m else ""
        return UnreadableFile(f"{src.path} does not parse as CSV{where}: {detail}")
    user = src.options.get("dtype")
    if isinstance(user, dict) and user:
        try:
            overrides = {"dtype": {k: "str" for k in user}, "parse_dates": DROP}
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
                        return UnreadableFile(
                            f"{src.path}: data row {row}, column {col!r}: value "
                            f"{values[pos]!r} is not a valid {dtype} ({detail})")
                break
        except (ValueError, TypeError, OSError):
            pass
    if isinstance(error, UnicodeDecodeError):
        return UnreadableFile(f"{src.path} cannot be decoded as "
                            f"{src.options.get('encoding') or 'utf-8'} (after data row {start}; "
                            f"pass the file's encoding= to the read): {detail}")
    return UnreadableFile(f"{src.path} cannot be read as {src.api} reads it (after data row "
                        f"{start}): {detail}")

