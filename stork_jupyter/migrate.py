"""Migrating a notebook: analyse, plan, transfer (verified), rewrite, remember.

Nothing touches a notebook until every transfer it depends on has finished and been
verified; a failure leaves it exactly as it was. Every door calls ``migrate``/``undo``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .analysis import analyze_cells
from .cells import CellNumbered, cell_label
from .config import find_project_root, load_config, resolve_store_url
from .destinations import (
    DestinationSpec,
    DestinationTaken,
    PutResult,
    open_backend,
    resolve_destination,
)
from .errors import NextStep, StorkError
from .inventory import relative_to_root
from .names import NameBook, destination_identity
from .notebook import (
    notebook_text,
    parse_notebook,
    read_notebook,
    write_bytes_atomic,
    write_notebook,
    write_text_atomic,
)
from .plan import AccessEdit, Blocker, MigrationPlan, build_plan, plan_to_store
from .recovery import crash_point, file_sha256, keep_original, original_bytes, sha256_bytes
from .rewrite.setup_cell import SETUP_KEY, setup_source
from .rewrite.transform import rewrite_cell
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


class MigrationRefused(StorkError):
    """Some accesses cannot be migrated: the notebook would still read local files."""

    def __init__(self, notebook: str, blockers: list[Blocker]):
        self.blockers = blockers
        lines = [b.describe(notebook) for b in blockers]
        hint = data_hint(notebook, blockers)
        if len(lines) == 1:  # one problem: one line, like every other failure
            super().__init__(f"{lines[0]}; nothing was changed (use --partial to migrate "
                             "the rest)" + (f"; {hint}" if hint else ""))
            return
        super().__init__(
            f"{notebook}: {len(blockers)} data access(es) cannot be migrated, nothing was "
            "changed (use --partial to migrate the rest):\n  " + "\n  ".join(lines)
            + (f"\n{hint}" if hint else ""))


#: The script that writes the example notebooks' data (``notebooks/make_data.py``).
DATA_SCRIPT = "make_data.py"


def data_hint(notebook: str, blockers: list[Blocker]) -> str | None:
    """How to create missing source files when the notebook's folder has the script that
    writes them (the examples of a fresh clone have no data until it runs)."""
    if not any(b.reason.startswith("source file ") and b.reason.endswith(" does not exist")
               for b in blockers):
        return None
    script = Path(notebook).parent / DATA_SCRIPT
    if not script.is_file():
        return None
    return f"the data of these examples is written by: python {script.as_posix()}"


class NamesTaken(StorkError):
    """Another migration reserved a name this plan takes, after it was planned."""

    def __init__(self, notebook: str, conflicts: list[Reservation]):
        self.conflicts = conflicts
        held = ", ".join(f"{r.name} ({r.source_path or 'another dataset'})" for r in conflicts)
        super().__init__(f"{notebook}: another migration took {held} meanwhile; nothing was "
                         "changed, migrate again (another name is chosen)")


#: How often ``migrate`` plans again when concurrent migrations took its names first.
PLAN_ATTEMPTS = 20


def plan_reservations(plan: MigrationPlan, backend) -> list[Reservation]:
    """The names ``plan`` takes, as the store reserves them."""
    destination = destination_identity(backend)
    return [Reservation(destination=destination, name=name, owner=o["owner"],
                        sha256=o.get("sha256"), source_path=o.get("source") or "")
            for name, o in sorted(plan.owners.items())]


@dataclass
class CellChange(CellNumbered):
    cell_index: int
    cell_id: str | None
    old: str
    new: str
    edits: list[AccessEdit] = field(default_factory=list)


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


def plan_notebook(notebook: Path, to: str, *, layout: str | None = None,
                  allow_outside_root: bool = False, nb: nbformat.NotebookNode | None = None,
                  cells_from: Path | None = None, store: str | None = None):
    """Analyse and plan; returns (nb, root, spec, backend, plan). Nothing moves.

    ``nb`` (an open document's content) or ``cells_from`` (a copy of it on disk) is
    planned instead of the saved ``notebook``; data paths stay relative to its folder."""
    if nb is None:
        nb = read_notebook(cells_from if cells_from is not None else notebook)
    root, spec, backend, plan = plan_cells(
        nb.cells, notebook, notebook.resolve().parent, to, layout=layout,
        allow_outside_root=allow_outside_root, store=store)
    return nb, root, spec, backend, plan


def plan_cells(cells: list, label: Path, nb_dir: Path, to: str, *, layout: str | None = None,
               allow_outside_root: bool = False, seed: dict | None = None,
               store: str | None = None):
    """Analyse ``cells`` (paths relative to ``nb_dir``; ``seed``: names a kernel already
    knows) and plan them for ``to``; returns (root, spec, backend, plan). Cells that could
    not be analysed are blockers: they may read local files nobody saw. The names the
    plan takes are free for its datasets in the store (``store``) and at the destination."""
    root = find_project_root(nb_dir)
    spec = resolve_destination(to, load_config(root), layout)
    backend = open_backend(spec)
    analysis = analyze_cells(cells, nb_dir, str(label), seed=seed)
    names = NameBook.load(backend, resolve_store_url(store, root))
    plan = build_plan(analysis, label, root, spec, backend, allow_outside_root, names=names)
    for p in analysis.problems:
        plan.blockers.append(Blocker(p.cell_index, p.cell_id, p.line, "(cell)",
                                     f"the cell could not be analysed: {p.message}"))
    return root, spec, backend, plan


def rewrite_notebook(nb: nbformat.NotebookNode, plan: MigrationPlan, destination: str,
                     partial: bool = False) -> tuple[nbformat.NotebookNode, list[CellChange]]:
    """The rewritten copy of ``nb`` and what changed in each cell.

    An access whose call cannot be rewritten becomes a blocker of ``plan``: without
    ``partial`` the migration is refused (nothing changed); with it that access stays
    local (the plan forgets its edit, and a table only it would have read) and the rest
    is migrated."""
    new_nb = copy.deepcopy(nb)
    by_cell: dict[int, list[AccessEdit]] = {}
    for e in plan.edits:
        by_cell.setdefault(e.cell_index, []).append(e)
    changes: list[CellChange] = []
    needs: set[str] = set()
    failed: list[tuple[AccessEdit, str]] = []
    for index, edits in sorted(by_cell.items()):
        cell = new_nb.cells[index]
        kept, result = rewrite_what_can_be(cell.source, edits, plan, failed)
        if result is None:
            continue
        needs |= result.needs
        if result.source != cell.source:
            changes.append(CellChange(index, cell.get("id"), cell.source, result.source, kept))
            cell.source = result.source
    if failed:
        leave_local(plan, failed)
        if not partial:
            raise MigrationRefused(plan.notebook, plan.blockers)
    if changes:
        _ensure_setup_cell(new_nb, plan.kind, destination, needs, plan.settings)
    return new_nb, changes


def rewrite_what_can_be(source: str, edits: list[AccessEdit], plan: MigrationPlan,
                         failed: list[tuple[AccessEdit, str]]):
    """(edits applied, the cell rewritten with them) -- every edit when the cell rewrites
    as a whole, else each edit that rewrites with those before it; the others go to
    ``failed`` with the reason."""
    schema = plan.settings.get("schema", "stork")
    try:
        return edits, rewrite_cell(source, edits, plan.kind, schema)
    except Exception as e:  # a failure of the rewrite of one access, whatever its kind
        if len(edits) == 1:
            failed.append((edits[0], _reason(e)))
            return [], None
    kept: list[AccessEdit] = []
    result = None
    for e in edits:
        try:
            result = rewrite_cell(source, kept + [e], plan.kind, schema)
            kept.append(e)
        except Exception as err:  # as above: this access stays local
            failed.append((e, _reason(err)))
    if not kept:
        return [], None
    return kept, rewrite_cell(source, kept, plan.kind, schema) if result is None else result


def _reason(e: BaseException) -> str:
    return f"cannot rewrite it ({' '.join(str(e).split()) or type(e).__name__})"


def leave_local(plan: MigrationPlan, failed: list[tuple[AccessEdit, str]]) -> None:
    """Turn edits that could not be applied into blockers; drop the tables no edit
    reads any more (files are kept: a loop or another access may still use them)."""
    gone = {id(e) for e, _ in failed}
    plan.edits = [e for e in plan.edits if id(e) not in gone]
    for e, reason in failed:
        plan.blockers.append(Blocker(e.cell_index, e.cell_id, e.line, e.code or e.api, reason))
    used = {e.table for e in plan.edits if e.table}
    plan.moves = [m for m in plan.moves if m.table is None or m.table in used]


def _ensure_setup_cell(nb: nbformat.NotebookNode, kind: str, destination: str,
                       needs: set[str], settings: dict | None = None) -> None:
    """One setup cell, before the first code cell; reused (and extended) on a second run."""
    existing = next((c for c in nb.cells if c.get("metadata", {}).get(SETUP_KEY, {}).get(
        "setup")), None)
    if existing is not None:
        meta = existing.metadata[SETUP_KEY]
        needs = needs | set(meta.get("needs", []))
        if meta.get("kind") != kind:  # a second migration elsewhere: keep both notes
            kind = "s3" if "s3" in (kind, meta.get("kind")) else kind
        existing.source = setup_source(kind, destination, needs, settings)
        meta.update({"needs": sorted(needs), "kind": kind, "destination": destination})
        return
    cell = nbformat.v4.new_code_cell(setup_source(kind, destination, needs, settings))
    cell.metadata[SETUP_KEY] = {"setup": True, "kind": kind, "destination": destination,
                                "needs": sorted(needs)}
    if "id" not in (nb.cells[0] if nb.cells else {"id": 1}):
        cell.pop("id", None)  # nbformat < 4.5 notebooks have no cell ids
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)


def unified_diff(changes: list[CellChange], notebook: str) -> str:
    out = []
    for ch in changes:
        label = f"{notebook} {cell_label(ch.cell_index, ch.cell_id)}"
        out += difflib.unified_diff(ch.old.splitlines(), ch.new.splitlines(), f"a/{label}",
                                    f"b/{label}", lineterm="")
    return "\n".join(out)


def migrate(notebook: Path, to: str, *, output: Path | None = None, in_place: bool = False,
            dry_run: bool = False, partial: bool = False, allow_outside_root: bool = False,
            layout: str | None = None, store: str | None = None,
            progress: ProgressReporter | None = None,
            parallel: int | None = None, cells_from: Path | None = None,
            record_as: Path | None = None) -> MigrationResult:
    """Analyse, plan, transfer (verified, ``parallel`` datasets at once), rewrite.

    ``cells_from`` is a copy of the notebook to migrate instead of the saved file (the
    content of an editor, unsaved edits included): the data paths stay relative to
    ``notebook``, and a resumed job reads that copy again. ``record_as`` is the notebook
    the job and its records name (default: the one written, ``output`` or ``notebook``).

    Ctrl+C during the transfers pauses the job (``stork resume JOB`` finishes it, the
    notebook is untouched until then) and raises KeyboardInterrupt again."""
    notebook = Path(notebook)
    if not dry_run and not in_place and output is None:
        raise StorkError("say where the migrated notebook goes: -o OUT.ipynb or --in-place")
    if in_place and cells_from is not None:
        raise StorkError("--in-place rewrites the saved notebook; it cannot take another copy")
    source = Path(cells_from) if cells_from is not None else notebook
    for attempt in range(PLAN_ATTEMPTS):
        try:
            return _migrate_once(notebook, to, source, output=output, in_place=in_place,
                                 dry_run=dry_run, partial=partial,
                                 allow_outside_root=allow_outside_root, layout=layout,
                                 store=store, progress=progress, parallel=parallel,
                                 cells_from=cells_from, record_as=record_as)
        except (NamesTaken, DestinationTaken):
            # names are chosen when planning and reserved when the job starts: a
            # migration that reserved one of ours in between (or, sharing no store with
            # us, wrote it at the destination) makes us plan again
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _migrate_once(notebook: Path, to: str, source: Path, *, output, in_place, dry_run, partial,
                  allow_outside_root, layout, store, progress, parallel, cells_from,
                  record_as) -> MigrationResult:
    nb, root, spec, backend, plan = plan_notebook(
        notebook, to, layout=layout, allow_outside_root=allow_outside_root, cells_from=source,
        store=store)
    if plan.blockers and not partial:
        raise MigrationRefused(str(notebook), plan.blockers)
    new_nb, changes = rewrite_notebook(nb, plan, spec.safe_url, partial=partial)
    result = MigrationResult(plan, changes, unified_diff(changes, str(notebook)), new_nb)
    if dry_run:
        return result
    target = notebook if in_place else Path(output)
    check_output(target)  # before anything moves: a typo in -o must not cost a transfer
    if not plan.moves and not changes:  # nothing to migrate: a plain copy for -o
        if not in_place:
            write_output(lambda: write_notebook(nb, target), target)
        result.output = target
        return result
    backend.check()
    text = notebook_text(new_nb)
    try:
        result.job_id, result.transfers = execute_plan(
            plan, changes, notebook=notebook, label=Path(record_as or target), root=root,
            spec=spec, backend=backend,
            store=store, progress=progress, write=lambda: write_text_atomic(target, text),
            parallel=parallel,
            options={"source_notebook": relative_to_root(notebook, root), "partial": partial,
                     "allow_outside_root": allow_outside_root,
                     "source_path": notebook.resolve().as_posix(),
                     "cells_from": source.resolve().as_posix() if cells_from else None,
                     # the exact bytes migrated, kept for undo and for a resume after a
                     # crash that followed an --in-place write
                     "notebook_sha256": keep_original(root, source.read_bytes()),
                     "output": target.resolve().as_posix(), "in_place": in_place,
                     "rewrite_sha256": rewrite_digest(new_nb),
                     "written_sha256": sha256_bytes(text.encode("utf-8"))})
    except DestinationTaken as e:
        if e.job_id is not None:  # its traces go; the next plan takes another name
            from .jobs import cancel_job

            cancel_job(e.job_id, root=root, store=store)
        raise
    result.output = target
    return result


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


def rewrite_digest(nb: nbformat.NotebookNode) -> str:
    """A digest of a rewritten notebook's cell sources: a resumed job checks that
    rewriting again gives the same notebook as the interrupted run would have written."""
    h = hashlib.sha256()
    for c in nb.cells:
        h.update(json.dumps([c.get("cell_type"), c.get("source")]).encode())
    return h.hexdigest()


def replay_rewrite(job_id: int, source: Path, entry: dict, plan: MigrationPlan, url: str,
                   root: Path, *, written: Callable[[str | None], bool],
                   ) -> tuple[nbformat.NotebookNode, list[CellChange], bool]:
    """For a resumed job: the notebook it planned, rewritten again, its changes, and
    whether ``source`` already holds the job's own write (``written(current sha256)``
    says so; the original is then taken from the store's copy). Refuses, naming the job,
    when the notebook changed since the job started or rewriting it again no longer gives
    the notebook the job planned: continuing would write a notebook nobody reviewed."""
    cancel = NextStep("cancel", str(job_id))
    current = file_sha256(source) if source.is_file() else None
    from_original = current != entry.get("notebook_sha256")
    if not from_original:
        nb = read_notebook(source)
    else:
        data = original_bytes(root, entry.get("notebook_sha256")) if written(current) else None
        if data is None:
            raise StorkError(f"{source} changed since job {job_id} started; cancel the job "
                             "and migrate again", next_steps=[cancel])
        nb = parse_notebook(data.decode("utf-8"), str(source))
    new_nb, changes = rewrite_notebook(nb, plan, url)
    if rewrite_digest(new_nb) != entry.get("rewrite_sha256"):
        raise StorkError(f"job {job_id}: rewriting {source} again does not give the notebook "
                         "the job planned; cancel the job and migrate again",
                         next_steps=[cancel])
    return new_nb, changes, from_original


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


def undo(notebook: Path, store: str | None = None) -> int:
    """Restore the original source of every rewritten cell and drop the setup cell.

    When the notebook is unchanged since the migration, the exact bytes it had before
    come back (its indent, line endings, nbformat version...). A migration that did not
    finish (a crash after the notebook was written) is undone too. Returns how many
    cells were restored."""
    notebook = Path(notebook)
    nb = read_notebook(notebook)
    current = file_sha256(notebook)
    root = find_project_root(notebook.resolve().parent)
    with open_store(root, store) as metadata:
        records = metadata.list(Record, notebook=relative_to_root(notebook, root),
                                status="applied", limit=None, order="oldest")
        originals: dict[str | int, str] = {}
        for r in records:  # the oldest record of a cell holds its source before any migration
            originals.setdefault(r.cell_id or r.cell_index, r.original_source)
        jobs = [metadata.get(Job, i) for i in dict.fromkeys(
            r.job_id for r in reversed(records) if r.job_id is not None)]
        jobs = [p for p in (job_part(j, notebook) for j in jobs) if p is not None]
        if not records:
            found = _unfinished_written(metadata, notebook, nb, current)
            if found is None:
                raise StorkError(f"{notebook}: no migration of this notebook to undo")
            jobs = [found[0]]
            originals = {ch.cell_id or ch.cell_index: ch.old for ch in found[1]}
        restored = 0
        cells = [c for c in nb.cells if not c.get("metadata", {}).get(SETUP_KEY, {}).get("setup")]
        nb.cells = cells
        for key, source in originals.items():
            cell = _find_cell(nb, key)
            if cell is not None and cell.source != source:
                cell.source = source
                restored += 1
        exact = _bytes_before(root, jobs, current)
        if exact is not None:
            write_bytes_atomic(notebook, exact)
        else:
            write_notebook(nb, notebook)
        for r in records:
            metadata.update(Record, r.id, status="undone")
    return restored


def job_parts(job: Job) -> list[Job]:
    """A migrate job as one job per notebook it migrated: a job of several notebooks
    (``options["notebooks"]``, see ``project``) gives one view per notebook, whose
    options are the job's with that notebook's (its plan, source, output, sha256s)."""
    o = job.options or {}
    if "notebooks" not in o:
        return [job]
    shared = {k: v for k, v in o.items() if k != "notebooks"}
    return [dataclasses.replace(job, options={**shared, **entry}) for entry in o["notebooks"]]


def job_part(job: Job, notebook: Path) -> Job | None:
    """The view of ``job`` for the notebook it wrote at ``notebook`` (None: not one)."""
    if "notebooks" not in (job.options or {}):
        return job
    target = Path(notebook).resolve().as_posix()
    return next((p for p in job_parts(job) if p.options.get("output") == target), None)


def _bytes_before(root: Path, jobs: list[Job], current: str | None) -> bytes | None:
    """The notebook's bytes before the first of ``jobs`` (newest first), when it holds
    exactly what the last one wrote: follow each job's written -> migrated sha256 back."""
    sha, moved = current, False
    for _ in jobs:
        job = next((j for j in jobs if sha and j.options.get("written_sha256") == sha), None)
        if job is None:
            break
        sha, moved = job.options.get("notebook_sha256"), True
    return original_bytes(root, sha) if moved else None


def job_rewrite(job: Job, root: Path) -> tuple[nbformat.NotebookNode, list[CellChange]] | None:
    """The notebook a migrate job read (its kept bytes, else the source if unchanged)
    and the cell changes it makes; None when neither is there any more."""
    from .plan import plan_from_store

    o = job.options or {}
    if "plan" not in o:
        return None
    data = original_bytes(root, o.get("notebook_sha256"))
    source = Path(o.get("cells_from") or o.get("source_path") or "")
    if data is None and source.is_file() and file_sha256(source) == o.get("notebook_sha256"):
        data = source.read_bytes()
    if data is None:
        return None
    nb = parse_notebook(data.decode("utf-8"), str(source))
    spec = DestinationSpec.of_job(job)
    return nb, rewrite_notebook(nb, plan_from_store(o["plan"]), spec.safe_url)[1]


def written_notebook_reads(job: Job, root: Path) -> Path | None:
    """The notebook this (unfinished) migrate job wrote, when it is on disk and still
    reads the job's data: its exact bytes, or a cell holding a rewritten source (the
    first such notebook of a job of several)."""
    if "notebooks" in (job.options or {}):
        return next((p for p in map(lambda part: written_notebook_reads(part, root),
                                    job_parts(job)) if p is not None), None)
    o = job.options or {}
    output = Path(o["output"]) if o.get("output") else None
    if output is None or not output.is_file():
        return None
    if o.get("written_sha256") and file_sha256(output) == o["written_sha256"]:
        return output
    found = job_rewrite(job, root)
    if found is None:
        return None
    try:
        sources = {c.source for c in read_notebook(output).cells}
    except StorkError:
        return None
    return output if any(ch.new in sources for ch in found[1]) else None


def _unfinished_written(metadata: MetadataStore, notebook: Path, nb, current: str | None):
    """(job, changes) of the newest migrate job that did not complete but wrote
    ``notebook`` (its bytes, or a cell it rewrote is still there), else None."""
    target = notebook.resolve().as_posix()
    root = find_project_root(notebook.resolve().parent)
    for job in metadata.list(Job, kind="migrate", limit=None):
        job = job_part(job, notebook)
        o = (job.options or {}) if job is not None else {}
        if job is None or job.status == "completed" or o.get("output") != target:
            continue
        found = job_rewrite(job, root)
        if found is None:
            continue
        sources = {c.source for c in nb.cells}
        if (current and o.get("written_sha256") == current) or any(
                ch.new in sources for ch in found[1]):
            return job, found[1]
    return None


def _find_cell(nb, key: str | int):
    if isinstance(key, str):
        return next((c for c in nb.cells if c.get("id") == key), None)
    # without cell ids (nbformat < 4.5) a record names the cell by its index then
    return nb.cells[key] if 0 <= key < len(nb.cells) else None
