"""A planned job run: the names it takes reserved with the job, one transfer per move, the
transfers run (verified), then the rewritten notebook written and its records saved: the
one path migrate, a project migrate, sync and resume share.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .destinations import (
    DestinationTaken,
    PutResult,
)
from .errors import NextStep, StorkError
from .inventory import relative_to_root
from .names import destination_identity
from .notebook import nbformat
from .plan import Blocker, MigrationPlan, plan_to_store
from .recovery import crash_point
from .rewriting import CellChange
from .store import Job, MetadataStore, Record, Reservation, Transfer, now_iso, open_store
from .transfer import (
    JobCancelled,
    JobPaused,
    ProgressReporter,
    TransferItem,
    TransferRunner,
    TransferSettings,
    add_history,
    as_reporter,
    process_identity,
)


class NamesTaken(StorkError):
    """Another migration reserved a name this plan takes, after it was planned."""

    def __init__(self, notebook: str, conflicts: list[Reservation]):
        self.conflicts = conflicts
        held = ", ".join(f"{r.name} ({r.source_path or 'another dataset'})" for r in conflicts)
        super().__init__(f"{notebook}: another migration took {held} meanwhile; nothing was "
                         "changed, migrate again (another name is chosen)")


def plan_reservations(plan: MigrationPlan, backend) -> list[Reservation]:
    """The names ``plan`` takes, as the store reserves them."""
    destination = destination_identity(backend)
    return [Reservation(destination=destination, name=name, owner=o["owner"],
                        sha256=o.get("sha256"), source_path=o.get("source") or "")
            for name, o in sorted(plan.owners.items())]


@dataclass
class MigrationResult:
    plan: MigrationPlan
    changes: list[CellChange]
    diff: str
    notebook: nbformat.NotebookNode  #: the rewritten notebook (written unless dry run)
    output: Path | None = None
    job_id: int | None = None
    transfers: list[PutResult] = field(default_factory=list)

    @property
    def left_local(self) -> list[Blocker]:
        return self.plan.blockers


def check_output(target: Path) -> None:
    """StorkError (one line) unless a notebook can be written at ``target``: its folder
    exists and takes a new file (tried, as the atomic write will), it is not a folder."""
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise StorkError(f"{target} is a folder; give the migrated notebook's file name "
                         "(-o OUT.ipynb); nothing was moved")
    if not folder.is_dir():
        raise StorkError(f"{target}: the folder {folder} does not exist; create it or write "
                         "the migrated notebook elsewhere; nothing was moved")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StorkError(f"{target}: cannot write a notebook in {folder} "
                         f"({e.strerror or e}); nothing was moved") from None


def write_output(write: Callable[[], None], target: Path, job_id: int | None = None) -> None:
    """Run ``write``; an OSError (disk full, folder gone) becomes one line that says the
    data is safe and how to finish."""
    try:
        write()
    except OSError as e:
        how = "; the data is at the destination: fix that and resume the job"
        raise StorkError(f"{target}: the migrated notebook could not be written "
                         f"({e.strerror or e}){how if job_id is not None else ''}",
                         next_steps=[NextStep("resume", str(job_id))] if job_id is not None
                         else ()) from None


def execute_plan(plan: MigrationPlan, changes: list[CellChange], *, notebook: Path, label: Path,
                 root: Path, spec, backend, store: str | None,
                 progress: ProgressReporter | None,
                 write: Callable[[], None] | None, options: dict, kind: str = "migrate",
                 parallel: int | None = None, data_dir: Path | None = None,
                 records: list[tuple[str, list[CellChange]]] | None = None
                 ) -> tuple[int, list[PutResult]]:
    """Transfer, then ``write`` the rewritten code, then record it: one job in the store.

    ``notebook`` is where the data paths are relative to (``data_dir``, when given, is
    their folder); ``label`` the notebook the records name (the rewritten one; or
    ``records`` for a job of several notebooks). The job's options keep the plan and the
    destination, so that ``resume_job`` can finish it."""
    settings = TransferSettings.for_project(root, parallel)
    with open_store(root, store) as metadata:
        project = metadata.ensure_project(root)
        datastore = metadata.ensure_datastore(spec.name or spec.safe_url, spec.url, spec.kind)
        # the job and the names it takes, in one transaction: a name another dataset
        # reserved since planning refuses both (and the caller plans again)
        job, conflicts = metadata.reserve(plan_reservations(plan, backend), Job(
            project_id=project.id, kind=kind, notebook=relative_to_root(label, root),
            destination=spec.safe_url, status="running", started_at=now_iso(),
            options={"layout": spec.layout, **options, "spec": spec.to_store(),
                     "plan": plan_to_store(plan), **process_identity(),
                     "history": [{"status": "running", "at": now_iso()}]}))
        if conflicts:
            raise NamesTaken(str(notebook), conflicts)
        items = create_transfers(metadata, job.id, project.id, plan, notebook, root,
                                 data_dir=data_dir)
        crash_point("planned")
        try:
            transfers = run_job(metadata, job.id, items, plan=plan, changes=changes,
                                backend=backend, write=write, reporter=as_reporter(progress),
                                settings=settings, label=str(notebook),
                                project_id=project.id, datastore_id=datastore.id, root=root,
                                records=records)
        except DestinationTaken as e:
            e.job_id = job.id
            raise
    return job.id, transfers


def create_transfers(metadata: MetadataStore, job_id: int, project_id: int,
                     plan: MigrationPlan, notebook: Path, root: Path,
                     moves: list[int] | None = None, data_dir: Path | None = None
                     ) -> list[TransferItem]:
    """One pending Transfer row (and dataset) per move of the plan (or per index in
    ``moves``); ``state["move"]`` is the move's index in the plan. Sources are relative
    to ``data_dir`` (default: the notebook's folder)."""
    nb_dir = Path(data_dir).resolve() if data_dir is not None else notebook.resolve().parent
    items = []
    for index in range(len(plan.moves)) if moves is None else moves:
        move = plan.moves[index]
        source = nb_dir / move.source
        dataset = metadata.upsert_dataset(project_id, relative_to_root(source, root),
                                          format=move.format, size=move.size,
                                          sha256=move.sha256)
        transfer = metadata.save(Transfer(
            job_id=job_id, dataset_id=dataset.id, source=move.source, target=move.target,
            status="pending", bytes_total=move.size, state={"move": index}))
        items.append(TransferItem(move, transfer.id, source, dataset.id, {"move": index}))
    return items


def run_job(metadata: MetadataStore, job_id: int, items: list[TransferItem], *,
            plan: MigrationPlan, changes: list[CellChange], backend,
            write: Callable[[], None] | None, reporter: ProgressReporter,
            settings: TransferSettings, label: str, project_id: int, datastore_id: int,
            root: Path, records: list[tuple[str, list[CellChange]]] | None = None
            ) -> list[PutResult]:
    """Run ``items`` (the job's unfinished transfers), then ``write``, record the
    rewritten cells and complete the job. Returns every transfer of the job.

    ``records``: (notebook relative to the root, its changes) for a job that wrote
    several notebooks; else ``changes`` are the job's notebook's."""
    done_before = sum(t.bytes_total or 0 for t in metadata.list(
        Transfer, job_id=job_id, status="completed", limit=None))
    runner = TransferRunner(metadata, job_id, backend, label=label, settings=settings,
                            reporter=reporter, total_bytes=sum(m.size for m in plan.moves),
                            done_bytes=done_before, datastore_id=datastore_id,
                            project_id=project_id, root=root)
    status = "failed"
    try:
        try:
            runner.run(items)
            status = "completed"
        except (KeyboardInterrupt, JobPaused):
            status = "paused"  # the runner recorded it
            raise
        except JobCancelled:
            status = "cancelled"
            raise
        finally:
            reporter.close(status)
        crash_point("transfers_done")
        for key in plan.writes:
            backend.prepare_write(key)
        if metadata.get(Job, job_id).status == "cancelled":
            # cancelled by another door once the bytes were sent: a notebook written now
            # would read data the cancel is removing
            raise JobCancelled(f"job {job_id} was cancelled")
        if write is not None:
            write_output(write, Path(metadata.get(Job, job_id).options.get("output") or
                                     label), job_id)
        crash_point("notebook_written")
    except (KeyboardInterrupt, JobPaused, JobCancelled):
        raise
    except BaseException as e:
        add_history(metadata, job_id, "failed", str(e) or type(e).__name__,
                    finished_at=now_iso(), error=str(e) or type(e).__name__)
        raise
    job = metadata.get(Job, job_id)
    if not metadata.count(Record, job_id=job_id):  # a resume after a crash may find them
        for name, ch in [(n, c) for n, cs in (records or [(job.notebook, changes)]) for c in cs]:
            for e in ch.edits:
                metadata.save(Record(
                    job_id=job_id, project_id=project_id, notebook=name,
                    cell_id=ch.cell_id, cell_index=ch.cell_index, line=e.line, api=e.api,
                    original_source=ch.old, new_source=ch.new, status="applied"))
    crash_point("records_saved")
    rows = metadata.list(Transfer, job_id=job_id, limit=None, order="oldest")
    results = [PutResult(t.target, t.bytes_total or 0, t.sha256 or "",
                         skipped=bool(t.state.get("skipped")), parts=t.parts_done or 1)
               for t in rows]
    add_history(metadata, job_id, "completed", progress=1.0, finished_at=now_iso(), error=None,
                counts={"datasets": len(plan.moves), "cells": len(changes),
                        "edits": len(plan.edits), "left_local": len(plan.blockers),
                        "sent": sum(not r.skipped for r in results),
                        "skipped": sum(r.skipped for r in results)})
    crash_point("job_recorded")
    return results
