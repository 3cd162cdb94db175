"""Controlling jobs after they started: list, pause from another door, cancel, watch
(resuming is ``resume``).

An engine module (no door imports). A migrate (or sync) job records in its options what
it needs to be finished by another process: the plan, the destination, the notebook and
its sha256, where the rewritten notebook goes; each transfer records its resumable state
(see ``transfer``). The doors (``stork resume|cancel|jobs --watch``, ``%stork resume``,
REST) call the functions here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .config import find_project_root
from .destinations import DestinationSpec, open_backend
from .errors import NextStep, NotFoundError, StorkError
from .inventory import relative_to_root
from .names import destination_identity, move_owner, reserved_name
from .store import (
    FINISHED_STATUSES,
    JOB_KINDS,
    JOB_STATES,
    LISTED_KINDS,
    Job,
    Location,
    MetadataStore,
    Project,
    Record,
    Reservation,
    Transfer,
    existing_store,
    now_iso,
    open_store,
)
from .transfer import (
    add_history,
    job_interrupted,
    process_gone,
)
from .undo import job_parts, undo, written_notebook_reads

CANCEL_WAIT_SECONDS = 30  #: how long cancel waits for a live job's process to stop
RESUMABLE_KINDS = ("migrate", "sync")


def job_root(root: Path | None) -> Path:
    return Path(root) if root is not None else find_project_root()


def open_job_store(root: Path | None, store: str | None, job_id: int) -> MetadataStore:
    """The project's store, to act on job ``job_id``; where there is no store yet, there
    is no such job (and none is created)."""
    metadata = existing_store(job_root(root), store)
    if metadata is None:
        raise NotFoundError(f"No job with id {job_id}.")
    return metadata


def job_state(job: Job) -> str:
    """The job's status as a person should read it: ``interrupted`` for a ``running``
    job whose process is gone."""
    return "interrupted" if job_interrupted(job) else job.status


def job_json(job: Job) -> dict[str, Any]:
    """A job for ``--json`` and REST: every field (id, status, kind, notebook,
    destination, progress, started_at, finished_at, error...), ``state`` (status, or
    ``interrupted``), ``source_notebook`` and ``output_notebook`` (see
    ``Job.notebooks``). The plan inside the options is left out (it can be large)."""
    data = job.to_json()
    data["options"] = {k: v for k, v in (job.options or {}).items() if k != "plan"}
    if "notebooks" in data["options"]:  # a project job: each notebook's plan, left out too
        data["options"]["notebooks"] = [{k: v for k, v in entry.items() if k != "plan"}
                                        for entry in data["options"]["notebooks"]]
    data["state"] = job_state(job)
    data["source_notebook"], data["output_notebook"] = job.notebooks()
    return data


def job_notebooks(job: Job, records: list[Record], root: Path) -> list[dict] | None:
    """A project job's report from what it did (not from its preview): each notebook it
    migrated, the copy it wrote (both relative to the project ``root`` when inside it)
    and the cells rewritten there (its records); None for a job of one notebook."""
    entries = (job.options or {}).get("notebooks")
    if entries is None:
        return None
    cells = Counter(r.notebook for r in records)
    report = []
    for entry in entries:
        output = relative_to_root(Path(entry["output"]), root)
        report.append({"notebook": entry["source_notebook"], "output": output,
                       "status": "migrated", "cells": cells.get(output, 0)})
    return report


def job_totals(transfers: list[Transfer]) -> dict[str, int]:
    """How far a job's transfers are: how many, how many completed, and their bytes."""
    return {
        "transfers": len(transfers),
        "transfers_done": sum(t.status == "completed" for t in transfers),
        "bytes_total": sum(t.bytes_total or 0 for t in transfers),
        "bytes_done": sum(t.bytes_done or 0 for t in transfers),
    }


# --------------------------------------------------------------------------- listing

@dataclass
class JobPage:
    """One page of jobs as a person lists them."""

    items: list[Job]
    total: int  #: how many match
    hidden: int = 0  #: analyze jobs left out because no kind was asked for


def list_jobs(metadata: MetadataStore, *, limit: int | None = 50, offset: int = 0,
              state: str | None = None, kind: str | None = None, all_kinds: bool = False,
              search: str | None = None, search_in: list[str] | None = None,
              **filters: Any) -> JobPage:
    """Jobs newest first, the way every door lists them: without ``kind`` (or
    ``all_kinds``) only :data:`LISTED_KINDS`; ``state`` is a status or ``interrupted``
    (a ``running`` job whose process is gone, which ``running`` then leaves out)."""
    if state is not None and state not in JOB_STATES:
        raise StorkError(f"{state!r} is not a job status; use one of {', '.join(JOB_STATES)}")
    if kind is not None and kind not in JOB_KINDS:
        raise StorkError(f"{kind!r} is not a kind of job; use one of {', '.join(JOB_KINDS)}")
    hidden_kinds = kind is None and not all_kinds
    if kind is not None:
        filters["kind"] = kind
    elif hidden_kinds:
        filters["kind"] = list(LISTED_KINDS)
    where = {"search": search, "search_in": search_in, **filters}
    if state in ("running", "interrupted"):
        # whether a process is gone is not in the store: sort the running jobs here
        # (few: one per process working now or killed since)
        running = [j for j in metadata.list(Job, limit=None, status="running", **where)
                   if job_interrupted(j) == (state == "interrupted")]
        end = None if limit is None else offset + limit
        page = JobPage(running[offset:end], len(running))
    else:
        page = JobPage(metadata.list(Job, limit=limit, offset=offset, status=state, **where),
                       metadata.count(Job, status=state, **where))
    if hidden_kinds:
        page.hidden = metadata.count(Job, status=state if state != "interrupted" else
                                     "running", **{**where, "kind": "analyze"})
    return page


# --------------------------------------------------------------------------- resume


# --------------------------------------------------------------------------- pause


def request_pause(job_id: int, *, root: Path | None = None, store: str | None = None) -> Job:
    """Ask a running job (in any process) to pause: its transfers stop within about a
    second, record what was done and the job can be resumed. For a door that does not
    own the process (REST, another terminal); in the process itself, Ctrl+C pauses."""
    with open_job_store(root, store, job_id) as metadata:
        job = metadata.get(Job, job_id)
        if job.status != "running":
            raise StorkError(f"job {job.id} is {job_state(job)}, not running")
        return add_history(metadata, job.id, "paused", "pause requested")


# --------------------------------------------------------------------------- cancel


@dataclass
class CancelResult:
    job_id: int
    removed: list[str] = field(default_factory=list)  #: what was removed, for people
    kept: list[str] = field(default_factory=list)  #: finished copies other jobs use

    def text(self) -> str:
        lines = [f"  removed {item}" for item in self.removed]
        lines += [f"  kept    {item} (another job uses it)" for item in self.kept]
        return "\n".join([*lines, f"job {self.job_id} cancelled"])


#: what an unfinished migration can do instead of an undo, by its status
_UNDO_INSTEAD = {"resume": {"paused", "interrupted", "failed"},
                 "cancel": {"paused", "interrupted", "failed", "running"}}


def undo_job(job_id: int, *, root: Path | None = None, store: str | None = None
             ) -> list[tuple[Path, int]]:
    """``stork undo`` of every notebook a completed migration wrote (a project job: each
    of its notebooks, ``undo.job_parts``): each reads its local files again. Returns
    each notebook with the number of cells restored."""
    with open_job_store(root, store, job_id) as metadata:
        job = metadata.get(Job, job_id)
    if job.kind != "migrate" or job.status != "completed":
        # an unfinished migration rewrote no notebook of the user's: finish it or take
        # back what it sent
        steps = [NextStep(action, str(job.id)) for action in ("resume", "cancel")
                 if job.kind in RESUMABLE_KINDS and job.status in _UNDO_INSTEAD[action]]
        raise StorkError(f"job {job.id} is a {job.status} {job.kind} job; only a completed "
                         "migration can be undone", next_steps=steps)
    outputs = [Path(p.options["output"]) for p in job_parts(job) if p.options.get("output")]
    return [(nb, undo(nb, store)) for nb in outputs]


def cancel_job(job_id: int, *, root: Path | None = None, store: str | None = None,
               wait_seconds: float = CANCEL_WAIT_SECONDS) -> CancelResult:
    """Cancel a job that has not completed and remove what it left at the destination:
    unfinished S3 multipart uploads (aborted), staging tables (dropped), ``.part`` files
    (deleted), and the copies it finished that were not there before it and that no
    other job uses. A job running in another live process is told to stop first (it
    sees the status within about a second) and waited for, up to ``wait_seconds``."""
    from .plan import plan_from_store

    with open_job_store(root, store, job_id) as metadata:
        job = metadata.get(Job, job_id)
        if job.status == "completed":
            raise StorkError(f"job {job.id} completed; to take it back, undo its notebook "
                             "and restore the data", next_steps=[
                                 NextStep("undo", notebook, ("--restore-data",))
                                 for notebook in _notebooks_of(job)])
        if job.kind not in RESUMABLE_KINDS and job.status != "cancelled":
            raise StorkError(f"job {job.id} is a {job.kind} job; only migrate and sync jobs "
                             "can be cancelled")
        _refuse_if_read(metadata, job)
        live = job.status == "running" and process_gone(job.options or {}) is not True
        recorded = (job.options or {}).get("history", [{}])[-1].get("status") == "cancelled"
        if job.status != "cancelled" or not recorded or not job.finished_at:
            add_history(metadata, job.id, "cancelled", "cancelled",
                        finished_at=job.finished_at or now_iso())
        if live:
            wait_stopped(metadata, job.id, wait_seconds)
            _refuse_if_read(metadata, metadata.get(Job, job.id))  # it may have written
        if "plan" not in (job.options or {}):
            return CancelResult(job.id)
        plan = plan_from_store(job.options["plan"])
        backend = open_backend(DestinationSpec.of_job(job))
        result = CancelResult(job.id)
        # (a job of several notebooks keeps its sources relative to the project root)
        nb_dir = Path(job.options.get("project_root") or
                      Path(job.options.get("source_path") or ".").parent)
        for t in metadata.list(Transfer, job_id=job.id, limit=None, order="oldest"):
            move = plan.moves[t.state["move"]]
            if not _owns(metadata, backend, job, plan, move, nb_dir):
                # its name now holds another dataset: nothing there is this job's
                result.kept.append(move.target)
                if t.status != "completed":
                    metadata.update(Transfer, t.id, status="cancelled", finished_at=now_iso())
                continue
            if t.status != "completed":
                result.removed += _abandon(backend, move, t, job)
                # it may have finished just before the process died, unrecorded
                if t.state.get("created") and not _used_elsewhere(metadata, t, job.id) and \
                        _holds(backend, move):
                    _remove(backend, move)
                    result.removed.append(move.target)
                metadata.update(Transfer, t.id, status="cancelled", finished_at=now_iso())
            elif t.state.get("created") and not t.state.get("skipped"):
                if _used_elsewhere(metadata, t, job.id):
                    result.kept.append(move.target)
                    continue
                if _holds(backend, move):
                    _remove(backend, move)
                    result.removed.append(move.target)
                metadata.update(Transfer, t.id, status="cancelled",
                                state={**t.state, "removed": True})
        _release_names(metadata, backend, job, plan, keep=result.kept)
        return result


def _owns(metadata: MetadataStore, backend, job: Job, plan, move, nb_dir: Path) -> bool:
    """Whether ``move``'s name is still this job's to clean up: the store says the job
    reserved it (a plan recorded before reservations existed: as before), and a table
    there carries this dataset's tag (a table nobody tagged is left alone too)."""
    name = reserved_name(backend, move.key, move.table)
    if plan.owners:
        held = metadata.reservation(destination_identity(backend), name)
        if held is None or held.job_id != job.id:
            return False
    if move.table and backend.table_exists(move.table):
        return backend.table_owner(move.table) == move_owner(nb_dir / move.source, move)
    return True


def _release_names(metadata: MetadataStore, backend, job: Job, plan, keep: list[str]) -> None:
    """A cancelled job's names are free again, except those still holding data another
    job's notebook reads (``keep``: their targets)."""
    kept = {reserved_name(backend, m.key, m.table) for m in plan.moves if m.target in keep}
    for r in metadata.list(Reservation, job_id=job.id, destination=destination_identity(
            backend), limit=None):
        if r.name not in kept:
            metadata.delete(Reservation, r.id)


def _notebooks_of(job: Job) -> list[str]:
    """The notebooks a migrate job wrote (what undo takes), relative to its project."""
    o = job.options or {}
    if "notebooks" in o:  # a project job: one per notebook it migrated
        root = PurePosixPath(o.get("project_root") or "/")
        outputs = [PurePosixPath(e["output"]) for e in o["notebooks"] if e.get("output")]
        return [(p.relative_to(root) if p.is_relative_to(root) else p).as_posix()
                for p in outputs]
    written = job.notebooks()[1] or job.notebook
    return [written] if written else []


def _refuse_if_read(metadata: MetadataStore, job: Job) -> None:
    """StorkError when the job already wrote a notebook that reads the data it moved
    (a crash after the write, before the job was recorded complete): removing that data
    would leave the notebook reading nothing."""
    if job.kind != "migrate" or not (job.options or {}).get("output"):
        return  # nothing was written (or an older job that recorded no output)
    root = (Path(metadata.get(Project, job.project_id).root) if job.project_id is not None
            else Path.cwd())
    reads = written_notebook_reads(job, root)
    if reads is not None:
        raise StorkError(f"job {job.id} already wrote {reads}, which reads the data the job "
                         "moved; cancelling would strand it: resume the job to finish it, or "
                         "first undo the notebook",
                         next_steps=[NextStep("resume", str(job.id)), NextStep("undo", str(reads))])


def wait_stopped(metadata: MetadataStore, job_id: int, seconds: float) -> bool:
    """Wait (at most ``seconds``) until no transfer of the job moves bytes, or its process
    is gone; whether that happened."""
    deadline = time.monotonic() + seconds
    while True:
        job = metadata.get(Job, job_id)
        running = metadata.count(Transfer, job_id=job_id, status="running")
        if not running or process_gone(job.options or {}) is not False:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _abandon(backend, move, t: Transfer, job: Job) -> list[str]:
    """Remove an unfinished transfer's partial state at the destination."""
    if move.table:
        return [f"staging table {n}" for n in backend.drop_staging(move.table)]
    return backend.abandon(move.key, t.state or {}, job_id=job.id, since=job.started_at or "")


def _holds(backend, move) -> bool:
    """The job's content is at the move's name: a table there (its owner tag was checked
    by ``_owns``), or this very file (another store's migration may have written its
    own file under the name meanwhile: that one is not this job's to remove)."""
    if move.table:
        return backend.table_exists(move.table)
    return backend.holds(move.key, move.sha256)


def _remove(backend, move) -> None:
    if move.table:
        backend.drop_table(move.table)
    else:
        backend.remove(move.key)


def _used_elsewhere(metadata: MetadataStore, t: Transfer, job_id: int) -> bool:
    """Another job recorded this copy as a location of its dataset (it skipped sending
    it because this job had: removing it would break that job's notebook)."""
    if t.dataset_id is None:
        return False
    return any(loc.job_id not in (None, job_id) for loc in metadata.list(
        Location, dataset_id=t.dataset_id, url=t.target, limit=None))


# --------------------------------------------------------------------------- watch


def watch_job(job_id: int | None = None, *, root: Path | None = None,
              store: str | None = None, interval: float = 1.0,
              timeout: float | None = None) -> Iterator[Job]:
    """Yield the job (default: the newest unfinished one, else the newest) every
    ``interval`` seconds (bounded to 0.1..10) until it is finished, paused or
    interrupted, or ``timeout`` seconds passed; the last one yielded is its final state."""
    interval = min(max(interval, 0.1), 10.0)
    deadline = time.monotonic() + timeout if timeout else None
    with open_store(job_root(root), store) as metadata:
        if job_id is None:
            found = metadata.list(Job, status=("running", "pending"), limit=1) or metadata.list(
                Job, limit=1)
            if not found:
                raise StorkError("there are no jobs to watch")
            job_id = found[0].id
        while True:
            job = metadata.get(Job, job_id)
            yield job
            if job.status in (*FINISHED_STATUSES, "paused") or job_interrupted(job):
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(interval)


__all__ = ["CancelResult", "cancel_job", "job_json", "job_state", "request_pause",
           "undo_job", "watch_job"]
