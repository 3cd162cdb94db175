"""Resuming a job: a paused, failed or interrupted migrate or sync job continued from its
recorded state (the plan, the destination, each transfer's resumable state), in this
process or another, then finished as the original call asked.
"""

from __future__ import annotations

from pathlib import Path

from .destinations import DestinationSpec, open_backend
from .errors import NextStep, StorkError
from .job_run import MigrationResult, plan_reservations, run_job
from .jobs import RESUMABLE_KINDS, job_root, job_state, open_job_store, wait_stopped
from .notebook import notebook_text, write_text_atomic
from .plan import plan_from_store
from .project import resume_writes
from .rewriting import replay_rewrite, unified_diff
from .store import (
    Job,
    MetadataStore,
    Project,
    Transfer,
    now_iso,
)
from .sync import SyncResult
from .transfer import (
    STOP_WAIT_SECONDS,
    ProgressReporter,
    TransferItem,
    TransferSettings,
    as_reporter,
    process_gone,
    process_identity,
)


def _check_resumable(job: Job, force: bool = False) -> str:
    """Why the job can be resumed (a note for its history); StorkError when it cannot."""
    if job.kind not in RESUMABLE_KINDS:
        raise StorkError(f"job {job.id} is a {job.kind} job; only migrate and sync jobs can "
                         "be resumed")
    if job.status in ("paused", "failed", "pending"):
        return f"resumed after it was {job.status}"
    if job.status == "running":
        gone = process_gone(job.options or {})
        if gone is True or force:
            return "resumed"
        where = f"process {job.options.get('pid')} on {job.options.get('host')}"
        if gone is None:
            raise StorkError(f"job {job.id} is running in {where}, which cannot be checked "
                             "from here; resume it there (or add --force if it is gone)")
        raise StorkError(f"job {job.id} is still running ({where})")
    raise StorkError(f"job {job.id} is {job.status}; there is nothing to resume")


def _claim(metadata: MetadataStore, job: Job, note: str) -> Job:
    """Take the job for this process, atomically: the status and owner pid this process
    read must still be there (compare-and-set), so of two ``resume`` of one job exactly
    one goes on. A running job whose process is gone gets "interrupted" in its history,
    and its running transfers become paused, before anything continues."""
    o = dict(job.options or {})
    history = list(o.get("history", []))
    if job.status == "running":
        history.append({"status": "paused", "at": now_iso(), "note":
                        f"interrupted: process {o.get('pid')} on {o.get('host')} is gone"})
    history.append({"status": "running", "at": now_iso(), "note": note})
    claimed = metadata.update_if(
        Job, job.id, {"status": job.status}, {("options", "pid"): o.get("pid")},
        status="running", finished_at=None, error=None,
        options={**o, **process_identity(), "history": history})
    if claimed is None:
        now = metadata.get(Job, job.id)
        n = now.options or {}
        raise StorkError(f"job {job.id} was taken meanwhile by process {n.get('pid')} on "
                         f"{n.get('host')} (it is {job_state(now)}); follow its progress from there",
                         next_steps=[NextStep("watch", str(job.id))])
    for t in metadata.list(Transfer, job_id=job.id, status="running", limit=None):
        metadata.update(Transfer, t.id, status="paused")
    return claimed


def unfinished_items(metadata: MetadataStore, job: Job, plan, nb_dir: Path
                     ) -> list[TransferItem]:
    items = []
    for t in metadata.list(Transfer, job_id=job.id, limit=None, order="oldest"):
        if t.status == "completed":
            continue
        move = plan.moves[t.state["move"]]
        items.append(TransferItem(move, t.id, nb_dir / move.source, t.dataset_id,
                                  dict(t.state)))
    return items


def resume_job(job_id: int, *, root: Path | None = None, store: str | None = None,
               progress: ProgressReporter | None = None,
               parallel: int | None = None, force: bool = False):
    """Continue a paused, failed or interrupted (process gone) migrate or sync job from
    its recorded state, then finish it as the original call asked (rewrite and write the
    notebook for a migrate job). Returns a ``MigrationResult`` (migrate) or a
    ``SyncResult`` (sync)."""

    root = job_root(root)
    with open_job_store(root, store, job_id) as metadata:
        job = metadata.get(Job, job_id)
        note = _check_resumable(job, force)
        # a pause from another door takes effect at the runner's next progress flush
        # (about a second): resuming before its transfers stop would have two copies
        # write the same destination at once
        if job.status == "paused" and not wait_stopped(metadata, job.id, STOP_WAIT_SECONDS):
            raise StorkError(f"job {job.id} is still stopping its transfers; resume it in "
                             "a moment")
        o = job.options or {}
        if o.get("cell"):
            raise StorkError(f"job {job.id} migrated one cell (%%stork migrate); run that cell "
                             "again: the data already sent is not sent again")
        if "plan" not in o or "source_path" not in o:
            raise StorkError(f"job {job.id} was recorded by an older stork and cannot be "
                             "resumed")
        project_root = Path(metadata.get(Project, job.project_id).root)
        plan = plan_from_store(o["plan"])
        notebook = Path(o["source_path"])
        spec = DestinationSpec.of_job(job)
        changes: list = []
        new_nb = None
        write = None
        records = None
        if job.kind == "migrate" and "notebooks" in o:  # several notebooks, one job
            records, changes, write = resume_writes(job, project_root)
        elif job.kind == "migrate":
            # the cells migrated: the notebook, or the copy of an open document's content;
            # after a crash past an --in-place write, the notebook holds the job's own write
            source = Path(o.get("cells_from") or notebook)
            in_place = source.resolve().as_posix() == o.get("output")
            new_nb, changes, written = replay_rewrite(
                job.id, source, o, plan, spec.safe_url, project_root,
                written=lambda current: in_place and current == o.get("written_sha256"))
            target = Path(o["output"])
            text = notebook_text(new_nb)
            write = None if written else (lambda: write_text_atomic(target, text))  # noqa: E731
        backend = open_backend(spec)
        backend.check()
        ensure_names(metadata, job, plan, backend)
        datastore = metadata.ensure_datastore(spec.name or spec.safe_url, spec.url, spec.kind)
        job = _claim(metadata, job, note)
        data_dir = project_root if records is not None else notebook.resolve().parent
        items = unfinished_items(metadata, job, plan, data_dir)
        transfers = run_job(metadata, job.id, items, plan=plan, changes=changes,
                            backend=backend, write=write, reporter=as_reporter(progress),
                            settings=TransferSettings.for_project(project_root, parallel),
                            label=str(notebook), project_id=job.project_id,
                            datastore_id=datastore.id, root=project_root, records=records)
        if job.kind == "sync":
            rows = metadata.list(Transfer, job_id=job.id, limit=None, order="oldest")
            return SyncResult(job.id, [t.source for t in rows if not t.state.get("unchanged")],
                              [t.source for t in rows if t.state.get("unchanged")])
    result = MigrationResult(plan, changes, unified_diff(changes, str(notebook)), new_nb,
                             output=Path(o["output"]), job_id=job.id, transfers=transfers)
    return result


def ensure_names(metadata: MetadataStore, job: Job, plan, backend) -> None:
    """Before a job continues: every name it takes is (still, or now) reserved for its
    datasets. A name another dataset holds refuses the resume: continuing would
    overwrite what that dataset's notebook reads."""
    wanted = plan_reservations(plan, backend)
    for w in wanted:
        w.job_id = job.id
    _, conflicts = metadata.reserve(wanted)
    if conflicts:
        held = ", ".join(f"{c.name} now holds {c.source_path or 'another dataset'}"
                         + (f" (job {c.job_id})" if c.job_id else "") for c in conflicts)
        raise StorkError(f"job {job.id}: {held}; resuming would overwrite it, so nothing was "
                         "done: cancel the job and migrate again",
                         next_steps=[NextStep("cancel", str(job.id))])


__all__ = ["resume_job"]
