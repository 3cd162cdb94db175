"""Running a plan's transfers: in parallel, verified, watched, resumable.

An engine module: it imports no door (IPython, click, ipywidgets). Every door starts
transfers through :class:`TransferRunner` (via ``migrate``, ``resume_job``, ``sync``...)
and watches them through a :class:`ProgressReporter` it supplies:

- a tqdm bar per dataset and one overall on stderr (``terminal.TerminalReporter``),
- an ipywidgets progress widget in a notebook (the widgets package),
- the ``progress`` field of the job in the store (always: the REST API and the sidebar
  read it there), updated at most every :data:`FLUSH_SECONDS` or :data:`FLUSH_BYTES`.

What a transfer needs to continue after an interruption is recorded in its
``Transfer.state`` (the backend's: a ``.part`` file and offset, an S3 upload id and
parts; and ``move``, the index of its dataset in the job's plan). Ctrl+C (a
``KeyboardInterrupt``, also a kernel's interrupt) pauses the job: running transfers stop
at their next progress report, are marked ``paused`` with what was done, and the
interrupt is raised again. A process that was killed leaves its job ``running``: its
pid, host and process start time are in ``Job.options``, so :func:`process_gone` tells
an interrupted job from a live one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .destinations import PutResult
from .destinations.base import SourceChanged, TransferContext
from .errors import NextStep, StorkError
from .names import move_owner

# (progress and process liveness live in their own modules; re-exported for the callers)
from .processes import job_interrupted, process_gone, process_identity  # noqa: F401
from .progress import (  # noqa: F401
    NullReporter,
    ProgressReporter,
    TransferProgress,
    as_reporter,
)
from .store import Job, MetadataStore, Transfer, now_iso

DEFAULT_PARALLEL = 2  #: datasets moved at once (``[transfer] parallel`` in stork.toml)
FLUSH_SECONDS = 0.5  #: the store learns a transfer's progress at most this often...
#: ...or after this many bytes (a store write per S3 part slowed the parts down; what a
#: resume needs is recorded durably where it must be, or asked of the destination)
FLUSH_BYTES = 64 * 1024 * 1024
REPORT_SECONDS = 0.1  #: a reporter hears about one dataset at most this often
STOP_WAIT_SECONDS = 60  #: how long a pause waits for running transfers to stop

#: TEST HOOK, for tests/test_resume.py and tests/test_cancel.py only: with
#: ``STORK_TEST_KILL_AFTER_BYTES=N`` in the environment, a process running transfers
#: sends itself SIGKILL (or the signal named by ``STORK_TEST_KILL_SIGNAL``, e.g. ``INT``
#: for a Ctrl+C) once, as soon as N bytes have been moved (as reported by the backends),
#: to simulate a crash or an interrupt at a controlled point. Nothing else reads these
#: variables; they are never set outside those tests.
TEST_KILL_ENV = "STORK_TEST_KILL_AFTER_BYTES"
TEST_SIGNAL_ENV = "STORK_TEST_KILL_SIGNAL"
#: TEST HOOK, for tests/test_sidebar_ui.py only: ``STORK_TEST_MAX_BYTES_PER_S=N`` slows a
#: process's transfers to about N bytes a second, so that a browser test can watch a job
#: run and pause it. Never set outside that test.
TEST_RATE_ENV = "STORK_TEST_MAX_BYTES_PER_S"


class TransferStopped(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """Raised inside a transfer (at a progress report) when its job is paused or
    cancelled. A BaseException, so no backend's error handling swallows it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  #: "paused" or "cancelled"


class JobPaused(StorkError):
    """The job was paused from elsewhere (another door set its status)."""


class JobCancelled(StorkError):
    """The job was cancelled while it ran."""




def add_history(metadata: MetadataStore, job_id: int, status: str, note: str = "",
                options_update: dict[str, Any] | None = None, **fields: Any) -> Job:
    """Set the job's status (and ``fields``) and append it to ``options["history"]``
    (``options_update``: other options to change at the same time)."""
    job = metadata.get(Job, job_id)
    options = {**(job.options or {}), **(options_update or {})}
    entry = {"status": status, "at": now_iso()}
    if note:
        entry["note"] = note
    options["history"] = [*options.get("history", []), entry]
    return metadata.update(Job, job_id, status=status, options=options, **fields)


# --------------------------------------------------------------------------- settings


@dataclass
class TransferSettings:
    parallel: int = DEFAULT_PARALLEL  #: datasets at once
    chunk_rows: int | None = None  #: rows per COPY chunk of a table load (None: ~16 MB)

    @classmethod
    def for_project(cls, root: Path, parallel: int | None = None) -> TransferSettings:
        """``[transfer]`` of the project's stork.toml, ``parallel`` overriding it."""
        from .config import load_config

        conf = load_config(root).transfer
        n = parallel or conf.get("parallel") or DEFAULT_PARALLEL
        if n < 1:
            raise StorkError(f"parallel must be at least 1, not {n}")
        return cls(parallel=n, chunk_rows=conf.get("chunk_rows"))


# --------------------------------------------------------------------------- the runner


@dataclass
class TransferItem:
    """One dataset to move within a job: its plan entry and its Transfer row."""

    move: Any  #: plan.DatasetMove
    transfer_id: int
    source: Path  #: absolute path of the local file
    dataset_id: int | None = None
    state: dict[str, Any] = field(default_factory=dict)  #: recorded by an earlier run


@dataclass
class _Tracker:
    item: TransferItem
    done: int = 0  #: bytes at the destination (resumed + moved)
    moved: int = 0  #: bytes moved in this run
    rows: int | None = None
    state: dict[str, Any] = field(default_factory=dict)
    unflushed: int = 0
    flushed_at: float = 0.0
    reported_at: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class TransferRunner:
    """Runs a job's transfers with a bounded pool, recording progress and resumable
    state in the store, reporting to the door's reporter.

    ``total_bytes``/``done_bytes``: the whole job's size and what earlier runs already
    moved (for ``Job.progress`` when resuming). ``label`` names the notebook in errors.
    """

    def __init__(self, metadata: MetadataStore, job_id: int, backend, *, label: str,
                 settings: TransferSettings | None = None,
                 reporter: ProgressReporter | None = None, total_bytes: int = 0,
                 done_bytes: int = 0, datastore_id: int | None = None,
                 project_id: int | None = None, root: Path | None = None):
        self.metadata = metadata
        self.job_id = job_id
        self.backend = backend
        self.label = label
        self.settings = settings or TransferSettings()
        self.reporter = reporter or NullReporter()
        self.total_bytes = total_bytes
        self.done_before = done_bytes
        self.datastore_id = datastore_id
        self.project_id = project_id
        self.root = root
        self.stop_reason: str | None = None
        self._lock = threading.RLock()  # trackers, counters, the reporter
        self._store_lock = threading.Lock()
        self._trackers: list[_Tracker] = []
        self._moved = 0  # bytes moved in this run, every dataset
        self._started = time.monotonic()
        kill = os.environ.get(TEST_KILL_ENV)  # TEST HOOK, see TEST_KILL_ENV
        self._kill_after = int(kill) if kill and kill.isdigit() else None
        self._kill_signal = getattr(signal, "SIG" + os.environ.get(TEST_SIGNAL_ENV, "KILL"),
                                    signal.SIGKILL)
        rate = os.environ.get(TEST_RATE_ENV)  # TEST HOOK, see TEST_RATE_ENV
        self._max_rate = int(rate) if rate and rate.isdigit() and int(rate) > 0 else None

    # -- public ------------------------------------------------------------------

    def stop(self, reason: str = "paused") -> None:
        """Ask running transfers to stop at their next progress report."""
        self.stop_reason = reason

    def run(self, items: list[TransferItem]) -> list[PutResult]:
        """Move every item (at most ``settings.parallel`` at once); results in item
        order. On the first failure no new transfer starts, the running ones finish, and
        that failure is raised. On KeyboardInterrupt the running ones stop, everything
        is recorded ``paused``, and the interrupt is raised again."""
        names = [(i.move.source, i.move.size) for i in items]
        with self._lock:
            self.reporter.start(self.job_id, names)
        results: dict[int, PutResult] = {}
        errors: list[BaseException] = []
        pool = ThreadPoolExecutor(max(1, self.settings.parallel), thread_name_prefix="stork")
        running: dict[Future, int] = {}
        try:
            try:
                for index, item in enumerate(items):
                    while len(running) >= self.settings.parallel:
                        self._collect(running, results, errors, timeout=0.2)
                    if errors or self.stop_reason:
                        break
                    tracker = _Tracker(item, state=dict(item.state))
                    with self._lock:
                        self._trackers.append(tracker)
                    self._started_one(tracker)
                    running[pool.submit(self._one, tracker)] = index
                while running:
                    self._collect(running, results, errors, timeout=0.2)
            except KeyboardInterrupt as interrupt:
                self.stop("paused")
                self._drain(running, results, errors)
                self._paused(items, results, "paused by Ctrl+C (or the kernel's interrupt)")
                interrupt.stork_job_id = self.job_id  # type: ignore[attr-defined]
                raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        stopped = [e for e in errors if isinstance(e, TransferStopped)]
        if stopped and not [e for e in errors if not isinstance(e, TransferStopped)]:
            reason = stopped[0].reason
            if reason == "paused":
                self._paused(items, results, "paused from another door")
                raise JobPaused(f"job {self.job_id} was paused; resume it to finish",
                                next_steps=[NextStep("resume", str(self.job_id))])
            raise JobCancelled(f"job {self.job_id} was cancelled")
        real = [e for e in errors if not isinstance(e, TransferStopped)]
        if real:
            raise real[0]
        self._report_job("completed")
        return [results[i] for i in range(len(items))]

    # -- the main thread -----------------------------------------------------------

    def _collect(self, running: dict[Future, int], results: dict[int, PutResult],
                 errors: list[BaseException], timeout: float) -> None:
        if not running:
            return
        done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
        for f in done:
            index = running.pop(f)
            try:
                results[index] = f.result()
            except BaseException as e:  # recorded by _one already
                errors.append(e)

    def _drain(self, running, results, errors) -> None:
        """After an interrupt: wait (bounded) for running transfers to stop."""
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while running and time.monotonic() < deadline:
            try:
                self._collect(running, results, errors, timeout=0.2)
            except KeyboardInterrupt:  # a second Ctrl+C: we are already stopping
                continue

    def _paused(self, items: list[TransferItem], results: dict[int, PutResult],
                note: str) -> None:
        with self._store_lock:
            for t in self._trackers:
                row = self.metadata.get(Transfer, t.item.transfer_id)
                if row.status in ("running", "pending"):
                    self.metadata.update(Transfer, row.id, status="paused",
                                         bytes_done=t.done, state=t.state)
            if self.metadata.get(Job, self.job_id).status == "paused":  # paused elsewhere
                self.metadata.update(Job, self.job_id, progress=self._job_fraction())
            else:
                add_history(self.metadata, self.job_id, "paused", note,
                            progress=self._job_fraction())
        self._report_job("paused")

    # -- worker threads ------------------------------------------------------------

    def _started_one(self, t: _Tracker) -> None:
        with self._store_lock:
            self.metadata.update(Transfer, t.item.transfer_id, status="running",
                                 started_at=now_iso(), error=None)
        self._report(t, "running", force=True)

    def _one(self, t: _Tracker) -> PutResult:
        item, move = t.item, t.item.move
        ctx = TransferContext(state=t.state, job_id=self.job_id,
                              progress=lambda n: self._moved_bytes(t, n),
                              save=lambda state, durable: self._save_state(t, state, durable),
                              resumed=lambda n: self._resumed_bytes(t, n),
                              owner=move_owner(item.source, move))
        try:
            if self.stop_reason:
                raise TransferStopped(self.stop_reason)
            put = self._move(item, move, t, ctx)
        except TransferStopped as e:
            if e.reason == "cancelled":  # cancel_job cleans up too; this is the first go
                self._abandon(move, ctx.state)
            self._end(t, "paused" if e.reason == "paused" else "cancelled", ctx.state)
            raise
        except SourceChanged as e:
            self._abandon(move, ctx.state)
            self._end(t, "failed", ctx.state, str(e))
            raise StorkError(f"{self.label}: {e}; the notebook was not changed") from None
        except OSError as e:  # the backends report their own side as DestinationError
            error = StorkError(f"{self.label}: cannot move {move.source} "
                               f"({e.strerror or e}); the notebook was not changed")
            self._end(t, "failed", ctx.state, str(error))
            raise error from None
        except BaseException as e:
            self._end(t, "failed", ctx.state, str(e) or type(e).__name__)
            raise
        self._completed(t, move, put, ctx.state)
        return put

    def _abandon(self, move, state: dict) -> None:
        """Remove a stopped transfer's partial state at the destination (best effort:
        the reason it stopped is what to report)."""
        try:
            if move.table:
                self.backend.drop_staging(move.table)
            else:
                self.backend.abandon(move.key, state)
        except Exception:  # noqa: S110 - cancel_job retries, and says what it removed
            pass

    def _move(self, item: TransferItem, move, t: _Tracker, ctx: TransferContext) -> PutResult:
        backend = self.backend
        if move.table:  # PostgreSQL: a typed table, loaded as the notebook's call parses it
            if "created" not in ctx.state:
                ctx.record(durable=True, table=move.table,
                           created=not backend.table_exists(move.table))
            # an interrupted load rolled back; a leftover staging table (a crash between
            # COPY and commit cannot leave one, but be sure) goes, and the load restarts
            backend.drop_staging(move.table)
            loaded = backend.load_table(item.source, move.api, move.options or {}, move.table,
                                        ctx.progress, chunksize=self.settings.chunk_rows,
                                        schema=_planned_schema(move, item.source),
                                        owner=move_owner(item.source, move))
            t.rows = loaded.rows
            # which path the rows took (the file's own bytes, or converted chunks) and why
            ctx.record(copy=loaded.copy, copy_reason=loaded.copy_reason,
                       copy_streams=loaded.streams, copy_early=loaded.early)
            if self.project_id is not None and self.root is not None:
                from .inventory import relative_to_root

                with self._store_lock:
                    self.metadata.upsert_dataset(
                        self.project_id, relative_to_root(item.source, self.root),
                        schema=loaded.schema.to_json(), row_count=loaded.rows)
            return PutResult(move.target, move.size, move.sha256)
        summary = None
        if self.project_id is not None and self.root is not None and move.format:
            # a tabular file's fields and row count, read alongside the copy (the page
            # cache serves both reads), for the dataset's record
            summary = _Background(_table_summary, item.source, move.format)
        put = backend.put_resumable(item.source, move.key, move.sha256, ctx)
        found = summary.result() if summary is not None else None
        if found is not None:
            t.rows = found[1]  # the transfer's rows column, as a table load fills it
            from .inventory import relative_to_root

            with self._store_lock:
                self.metadata.upsert_dataset(
                    self.project_id, relative_to_root(item.source, self.root),
                    schema=found[0], row_count=found[1])
        return put

    def _completed(self, t: _Tracker, move, put: PutResult, state: dict) -> None:
        state = {**state, "skipped": put.skipped}
        t.state = state
        t.done = move.size
        with self._store_lock:
            self.metadata.update(Transfer, t.item.transfer_id, status="completed",
                                 bytes_done=move.size, parts_done=put.parts,
                                 sha256=put.sha256, rows=t.rows, finished_at=now_iso(),
                                 state=state)
            if t.item.dataset_id is not None:
                self.metadata.add_location(t.item.dataset_id, put.target,
                                           datastore_id=self.datastore_id, job_id=self.job_id,
                                           table_name=move.table)
            self.metadata.update(Job, self.job_id, progress=self._job_fraction())
        self._report(t, "skipped" if put.skipped else "completed", force=True)

    def _end(self, t: _Tracker, status: str, state: dict, error: str | None = None) -> None:
        t.state = dict(state)
        fields: dict[str, Any] = {"status": status, "bytes_done": t.done, "state": t.state}
        if error is not None:
            fields.update(error=error, finished_at=now_iso())
        with self._store_lock:
            self.metadata.update(Transfer, t.item.transfer_id, **fields)
        self._report(t, status, force=True)

    def _moved_bytes(self, t: _Tracker, n: int) -> None:
        with self._lock:
            t.done += n
            t.moved += n
            t.unflushed += n
            self._moved += n
            moved = self._moved
        self._maybe_flush(t)
        self._report(t, "running")
        if self._kill_after is not None and moved >= self._kill_after:
            self._kill_after = None  # once
            os.kill(os.getpid(), self._kill_signal)  # TEST HOOK, see TEST_KILL_ENV
            # a signal that does not kill (SIGINT) lands while bytes are moving, as a
            # person's Ctrl+C does: this transfer waits (bounded) for the pause it causes
            deadline = time.monotonic() + 10
            while not self.stop_reason and time.monotonic() < deadline:
                time.sleep(0.01)
        if self._max_rate:  # TEST HOOK, see TEST_RATE_ENV
            ahead = moved / self._max_rate - (time.monotonic() - self._started)
            if ahead > 0:
                time.sleep(min(ahead, 1.0))
                self._maybe_flush(t)  # a pause requested meanwhile is seen now
        if self.stop_reason:  # these bytes are there; stop before the next ones
            raise TransferStopped(self.stop_reason)

    def _resumed_bytes(self, t: _Tracker, n: int) -> None:
        with self._lock:
            t.done += n
        self._report(t, "running")

    def _save_state(self, t: _Tracker, state: dict, durable: bool) -> None:
        with self._lock:
            t.state = {**t.state, **state}
        if durable:
            with self._store_lock:
                self.metadata.update(Transfer, t.item.transfer_id, state=t.state,
                                     bytes_done=t.done)

    def _maybe_flush(self, t: _Tracker) -> None:
        now = time.monotonic()
        with self._lock:
            due = now - t.flushed_at >= FLUSH_SECONDS or t.unflushed >= FLUSH_BYTES
            if not due:
                return
            t.flushed_at, t.unflushed = now, 0
            state, done = dict(t.state), t.done
            parts = len(state.get("parts", []))
        with self._store_lock:
            self.metadata.update(Transfer, t.item.transfer_id, bytes_done=done, state=state,
                                 parts_done=parts)
            job = self.metadata.update(Job, self.job_id, progress=self._job_fraction())
            if job.status in ("paused", "cancelled") and not self.stop_reason:
                self.stop(job.status)  # another door paused or cancelled the job

    # -- numbers for people ---------------------------------------------------------

    def _job_fraction(self) -> float:
        with self._lock:
            done = self.done_before + sum(t.done for t in self._trackers)
        return min(done / self.total_bytes, 1.0) if self.total_bytes else 0.0

    def _rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self._moved / elapsed if elapsed > 0 else 0.0

    def _report(self, t: _Tracker, status: str, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - t.reported_at < REPORT_SECONDS:
                return
            t.reported_at = now
            elapsed = now - t.started_at
            rate = t.moved / elapsed if elapsed > 0 else 0.0
            left = max(t.item.move.size - t.done, 0)
            eta = left / rate if rate > 0 else None
            self.reporter.update(TransferProgress(
                t.item.move.source, min(t.done, t.item.move.size), t.item.move.size, t.rows,
                rate, eta, status, self.job_id))
            self._report_job_locked("running")

    def _report_job(self, status: str) -> None:
        with self._lock:
            self._report_job_locked(status)

    def _report_job_locked(self, status: str) -> None:
        done = self.done_before + sum(t.done for t in self._trackers)
        rate = self._rate()
        left = max(self.total_bytes - done, 0)
        self.reporter.update(TransferProgress(
            None, min(done, self.total_bytes), self.total_bytes,
            sum(t.rows or 0 for t in self._trackers) or None, rate,
            left / rate if rate > 0 else None, status, self.job_id))


__all__ = ["DEFAULT_PARALLEL", "JobCancelled", "JobPaused",
           "NullReporter", "ProgressReporter", "TEST_KILL_ENV",
           "TransferItem", "TransferProgress", "TransferRunner",
           "TransferSettings", "TransferStopped", "add_history", "as_reporter",
           "job_interrupted", "process_gone", "process_identity"]


def _table_summary(source: Path, fmt: str):
    from .table_summary import table_summary

    return table_summary(source, fmt)


class _Background:
    """``fn(*args)`` in a thread of its own; :meth:`result` waits for it (None when it
    raised: a summary is never worth failing a transfer)."""

    def __init__(self, fn, *args):
        self._value = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True,
                                        name="stork-summary")
        self._thread.start()

    def _run(self, fn, *args) -> None:
        with contextlib.suppress(Exception):  # see the class docstring
            self._value = fn(*args)

    def result(self):
        self._thread.join()
        return self._value


def _planned_schema(move, source: Path):
    """The schema the plan inferred for these bytes, so the load reads the file once
    more instead of twice. A file that changed since it was planned is refused, as the
    other destinations refuse it: its rewrite was planned on the old content."""
    from .checksum import sha256_file, unchanged
    from .destinations.base import SourceChanged
    from .tabular import TableSchema

    if not unchanged(source, move.sha256) and sha256_file(source) != move.sha256:
        raise SourceChanged(f"{source} changed since it was planned; migrate it again")
    if not move.schema or "hints" not in move.schema:
        return None
    return TableSchema.from_json(move.schema)
