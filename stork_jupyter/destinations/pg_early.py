"""A big CSV's raw COPY begun while the plan's exact pandas pass still runs.

The plan needs the exact schema (the rewrite is made of it): a full pandas pass over the
file. The COPY of the file's own bytes (:mod:`.pg_copy`) needs only the columns' types.
So :func:`begin` guesses the schema from the file's first megabytes, creates the typed
staging table and starts the COPY streams; the plan runs the exact pass meanwhile and
:meth:`EarlyLoad.confirm` compares the two. The load goes on only when everything the
COPY depended on (column names and types, separator, the checks its bytes got) is what
the exact schema gives; otherwise the staging table is dropped at once and the transfer
loads the file as it would have anyway.

The transfer's ``load_table`` takes the early load (:func:`take`) when the file is
unchanged and the schema is the confirmed one, waits for its streams, then makes the
checks every raw load makes against the exact schema (row count, NULLs, floats) before
the rename: nothing is renamed to the final name before them, and a load they refuse
falls back to the converted chunks. Early loads start only within :func:`scope` (a
``stork migrate`` that will transfer), one at a time; the scope drops any early load
no transfer took (a refused plan, a failure, a dry run never starts one).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorkError

if TYPE_CHECKING:  # (imported where a load may begin: an S3 or folder plan never needs them)
    from ..tabular import TableSchema
    from .pg_copy import RawCopy

#: the head of the file the schema is first guessed from
SAMPLE_BYTES = 4 * 1024 * 1024

_lock = threading.Lock()
_pending: dict[tuple[str, str, str], EarlyLoad] = {}
_scope: contextvars.ContextVar[list | None] = contextvars.ContextVar("stork_pg_early",
                                                                    default=None)


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """Early loads may start inside; those no transfer took are dropped at the end."""
    started: list[EarlyLoad] = []
    token = _scope.set(started)
    try:
        yield
    finally:
        _scope.reset(token)
        for early in started:
            early.discard()


def may_begin(source: Path, api: str, streams: int | None = None) -> bool:
    """Whether :func:`begin` could start a load of ``source`` now (cheap: no read)."""
    started = _scope.get()
    if started is None or any(not e.done for e in started):
        return False
    if api.rsplit(".", 1)[-1] not in ("read_csv", "read_table"):
        return False
    try:
        size = source.stat().st_size
    except OSError:
        return False
    return size > 2 * SAMPLE_BYTES


@dataclass
class EarlyLoad:
    backend: Any  #: the PostgresBackend
    source: Path
    api: str
    options: dict[str, Any]
    table: str
    sample: TableSchema  #: the schema guessed from the head
    plan: RawCopy  #: the COPY the guess gave
    run: Any  #: the streams under way (postgres._Streams)
    stat: tuple[int, int, int]  #: size, mtime, inode when it began
    exact: TableSchema | None = None  #: the plan's exact schema, once it agrees
    exact_plan: RawCopy | None = None
    done: bool = False  #: taken by a transfer, or dropped
    taken: bool = False  #: a transfer's now
    key: tuple[str, str, str] = field(default=("", "", ""))

    @property
    def streams(self) -> int:
        return len(self.run.parts)

    def confirm(self, schema: TableSchema) -> bool:
        """Go on if the exact ``schema`` gives the COPY that was started, else drop it."""
        from .pg_copy import raw_copy

        plan, _ = raw_copy(self.source, self.api, self.options, schema)
        if plan is None or _copy_shape(schema, plan) != _copy_shape(self.sample, self.plan):
            self.discard()
            return False
        self.exact, self.exact_plan = schema, plan
        return True

    def discard(self) -> None:
        """Stop the streams and drop the staging table (nothing else was made)."""
        with _lock:
            if _pending.get(self.key) is self:
                del _pending[self.key]
            if self.taken:  # the transfer finishes (or drops) it
                return
            self.done = True
            run, self.run = self.run, None
        if run is not None:
            run.close()


def _copy_shape(schema: TableSchema, plan: RawCopy) -> tuple:
    """What the staging table and the COPY streams depend on."""
    return ([(c.sql_name, c.pg_type) for c in schema.columns], plan.columns, plan.delimiter,
            bool(plan.floats))


def _stat(source: Path) -> tuple[int, int, int]:
    st = os.stat(source)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _key(backend, source: Path, table: str) -> tuple[str, str, str]:
    return backend.identity(), str(Path(source).resolve()), table


def head(source: Path, nbytes: int | None = None) -> bytes | None:
    """The file's first ``nbytes`` (:data:`SAMPLE_BYTES`) or so, cut after a newline
    outside quotes."""
    with open(source, "rb") as f:
        block = f.read(nbytes or SAMPLE_BYTES)
    end = len(block)
    for _ in range(1000):  # a cut is near the end unless fields hold many newlines
        end = block.rfind(b"\n", 0, end)
        if end <= 0:
            return None
        if block.count(b'"', 0, end) % 2 == 0:
            return block[:end + 1]
    return None


def sample_schema(source: Path, api: str, options: dict[str, Any]) -> TableSchema | None:
    """The schema pandas gives the file's head (None when it cannot be read alone)."""
    from ..tabular import TabularError, infer_schema

    part = head(source)
    if part is None:
        return None
    with tempfile.TemporaryDirectory(prefix="stork-sample-") as tmp:
        path = Path(tmp) / Path(source).name  # the same name: the same compression rule
        path.write_bytes(part)
        try:
            return infer_schema(path, api, options)
        except (TabularError, ValueError, OSError):
            return None


def begin(backend, source: Path, api: str, options: dict[str, Any], table: str,
          streams: int | None = None) -> EarlyLoad | None:
    """Start the raw COPY of ``source`` for ``table`` on the schema of its head, or None
    (not in a :func:`scope`, a small file, not a raw CSV, the server refused...)."""
    from .pg_copy import raw_copy, streams_for

    source = Path(source)
    started = _scope.get()
    if started is None or not may_begin(source, api, streams):
        return None
    sample = sample_schema(source, api, options)
    if sample is None:
        return None
    plan, _ = raw_copy(source, api, options, sample)
    if plan is None:
        return None
    try:
        backend.check()
        stat = _stat(source)
        # (two streams at least: an early load needs their committed staging table)
        parts, stage, create, copy_sql = backend._raw_setup(
            source, sample, table, plan, max(2, streams_for(stat[0], streams)))
        if len(parts) < 2:
            return None
        run = backend._start_streams(source, table, plan, parts, stage, create, copy_sql)
    except (StorkError, OSError):  # the transfer meets it again, and says so
        return None
    early = EarlyLoad(backend, source, api, dict(options), table, sample, plan, run, stat,
                      key=_key(backend, source, table))
    with _lock:
        old = _pending.pop(early.key, None)
        _pending[early.key] = early
    if old is not None:
        old.discard()
    started.append(early)
    return early


def take(backend, source: Path, table: str, schema: TableSchema) -> EarlyLoad | None:
    """The confirmed early load of ``source`` into ``table`` with this exact ``schema``
    (it is the caller's to finish from now on), or None; one that does not match is
    dropped."""
    with _lock:
        early = _pending.pop(_key(backend, source, table), None)
        if early is None or early.done:
            return None
    try:
        same_file = _stat(source) == early.stat
    except OSError:
        same_file = False
    if early.exact is None or not same_file or early.exact.to_json() != schema.to_json():
        early.discard()
        return None
    early.done = early.taken = True
    return early


__all__ = ["SAMPLE_BYTES", "EarlyLoad", "begin", "may_begin", "sample_schema", "scope",
           "take"]
