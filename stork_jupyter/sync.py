"""``sync``: send again only the datasets of a migrated notebook whose source changed.

An engine module (no door imports). The last completed migrate (or sync) job of the
notebook says what was sent and with which sha256; a source whose sha256 differs now is
transferred again (a new version of its dataset is recorded), the others are recorded as
skipped (``Transfer.state["skipped"]`` and ``["unchanged"]``). The notebook itself does
not change: its cells already read the destination.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .checksum import sha256_file
from .config import find_project_root
from .destinations import DestinationSpec, open_backend
from .errors import StorkError
from .inventory import relative_to_root
from .store import Job, MetadataStore, Transfer, now_iso, open_store
from .transfer import (
    ProgressReporter,
    TransferSettings,
    as_reporter,
    process_identity,
)


@dataclass
class SyncResult:
    job_id: int | None
    sent: list[str] = field(default_factory=list)  #: sources transferred again
    skipped: list[str] = field(default_factory=list)  #: unchanged sources
    missing: list[str] = field(default_factory=list)  #: sources gone locally (kept there)

    def text(self) -> str:
        out = [f"sent    {s}" for s in self.sent] + [f"skipped {s} (unchanged)"
                                                        for s in self.skipped]
        out += [f"missing {s} (no local file; the copy at the destination is kept)"
                for s in self.missing]
        summary = f"Synced: {len(self.sent)} sent, {len(self.skipped)} unchanged"
        if self.missing:
            summary += f", {len(self.missing)} missing"
        if self.job_id:
            summary += f" (job {self.job_id})"
        out.append(summary)
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"job_id": self.job_id, "sent": self.sent, "skipped": self.skipped,
                "missing": self.missing}


def last_migration(metadata: MetadataStore, notebook_rel: str) -> Job | None:
    """The newest completed migrate or sync job of a notebook, named either as the
    migrated notebook (``job.notebook``) or as the source it was migrated from.

    A project job (several notebooks, ``migrate.job_parts``) answers with its view for
    that notebook: its plan, source and output, ``notebook`` naming the output as a
    one-notebook job does."""
    from .undo import job_parts

    for job in metadata.list(Job, kind=("migrate", "sync"), status="completed", limit=None):
        if (job.options or {}).get("cell"):
            continue
        for part in job_parts(job):
            o = part.options
            if "plan" not in o:
                continue
            if part is not job:  # a project's notebook: job.notebook is the folder
                part = dataclasses.replace(part, notebook=relative_to_root(
                    Path(o["output"]), Path(o["project_root"])))
            if notebook_rel in (part.notebook, o.get("source_notebook")):
                return part
    return None


def _read_shape(schema_json: dict | None):
    """What the rewritten reads of a table depend on: columns, types, dtypes, nulls."""
    if not schema_json:
        return None
    return ([(f["name"], f["sql_name"], f["pg_type"], f["dtype"], bool(f.get("nulls")),
              f.get("none", False), f.get("cast")) for f in schema_json["fields"]],
            schema_json.get("index"), schema_json.get("index_names"))


def sync(notebook: Path, *, store: str | None = None,
         progress: ProgressReporter | None = None,
         parallel: int | None = None) -> SyncResult:
    """Re-transfer the datasets of ``notebook``'s last migration whose source changed."""
    from .job_run import create_transfers, run_job
    from .plan import plan_from_store, plan_to_store

    notebook = Path(notebook)
    root = find_project_root(notebook.resolve().parent)
    with open_store(root, store) as metadata:
        rel = relative_to_root(notebook, root)
        last = last_migration(metadata, rel)
        if last is None:
            raise StorkError(f"{notebook}: no completed migration of this notebook to sync")
        o = last.options
        plan = plan_from_store(o["plan"])
        nb_dir = Path(o["source_path"]).parent
        spec = DestinationSpec.of_job(last)
        result = SyncResult(None)
        changed: list[int] = []
        new_plan = copy.deepcopy(plan)
        for i, move in enumerate(new_plan.moves):
            source = nb_dir / move.source
            if not source.is_file():
                result.missing.append(move.source)
                continue
            sha = sha256_file(source)
            if sha == move.sha256:
                result.skipped.append(move.source)
                continue
            move.sha256, move.size = sha, source.stat().st_size
            if move.table:
                _check_table_shape(source, move)
            changed.append(i)
            result.sent.append(move.source)
        backend = open_backend(spec)
        backend.check()
        project = metadata.ensure_project(root)
        datastore = metadata.ensure_datastore(spec.name or spec.safe_url, spec.url, spec.kind)
        keep = {k: v for k, v in o.items() if k not in ("plan", "history", "pid", "host",
                                                          "pid_start", "copies")}
        job = metadata.save(Job(
            project_id=project.id, kind="sync", notebook=last.notebook,
            destination=spec.safe_url, status="running", started_at=now_iso(),
            options={**keep, "spec": spec.to_store(), "plan": plan_to_store(new_plan),
                     "synced_from": last.id, **process_identity(),
                     "history": [{"status": "running", "at": now_iso()}]}))
        result.job_id = job.id
        for i, move in enumerate(new_plan.moves):
            if i in changed:
                continue
            dataset = metadata.dataset_by_path(project.id,
                                               relative_to_root(nb_dir / move.source, root))
            metadata.save(Transfer(
                job_id=job.id, dataset_id=dataset.id if dataset else None, source=move.source,
                target=move.target, status="completed",
                bytes_total=move.size, bytes_done=0, sha256=move.sha256, started_at=now_iso(),
                finished_at=now_iso(),
                state={"move": i, "skipped": True,
                       "unchanged": move.source not in result.missing,
                       "missing": move.source in result.missing}))
        items = create_transfers(metadata, job.id, project.id, new_plan, Path(o["source_path"]),
                                 root, moves=changed)
        for item in items:  # the one content a sync may overwrite: its dataset's last one
            item.state["replaces"] = plan.moves[item.state["move"]].sha256
            metadata.update(Transfer, item.transfer_id, state=item.state)
        run_job(metadata, job.id, items, plan=new_plan, changes=[], backend=backend,
                write=None, reporter=as_reporter(progress),
                settings=TransferSettings.for_project(root, parallel), label=str(notebook),
                project_id=project.id, datastore_id=datastore.id, root=root)
    return result


def _check_table_shape(source: Path, move) -> None:
    """A table's new content must read back with the code the notebook already has."""
    from .tabular import infer_schema

    schema = infer_schema(source, move.api, move.options or {}).to_json()
    if _read_shape(schema) != _read_shape(move.schema):
        raise StorkError(f"{source}: its columns, types or missing values changed since it "
                         "was migrated, and the notebook's reads depend on them; nothing was "
                         "sent: undo the migration, then migrate the notebook again")
    move.schema = schema


__all__ = ["SyncResult", "last_migration", "sync"]
