"""Migrations whose result an open document applies (the JupyterLab panel, the magic).

The user's file is never written: the rewritten copy goes to
``<project>/.stork/outputs/<run>/<name>`` and the editor applies the cell edits to its
model, so that Ctrl+Z undoes them and nothing changes on disk until the user saves. The
job and its records name the user's notebook, so ``stork undo`` and the notebook filters
find them once it is saved.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cells import cell_number
from .config import find_project_root
from .errors import NotebookError, StorkError
from .job_run import MigrationResult
from .migrate import migrate, plan_notebook
from .notebook import nbformat, read_notebook, write_notebook
from .rewrite.setup_cell import SETUP_KEY
from .rewriting import CellChange, MigrationRefused, rewrite_notebook, unified_diff
from .store import Job, Record, open_store
from .transfer import ProgressReporter, as_reporter

#: where the rewritten copies of document migrations go, under the project root
OUTPUTS = (".stork", "outputs")
#: the copy of the open document's content a migration reads (resume reads it again)
SOURCE_NAME = "source.ipynb"
#: finished runs' folders older than this are removed when the next one starts
KEEP_OUTPUTS_DAYS = 7


def cell_edit(cell_id: str | None, cell_index: int | None, original: str, new: str
              ) -> dict[str, Any]:
    """One cell's edit as the frontend applies it: found by id (else index), checked to
    still hold ``original_source``, then given ``new_source``."""
    return {"cell_id": cell_id, "cell_index": cell_index,
            "cell_number": cell_number(cell_index), "original_source": original,
            "new_source": new}


def cell_edits(changes: list[CellChange]) -> list[dict[str, Any]]:
    return [cell_edit(c.cell_id, c.cell_index, c.old, c.new) for c in changes]


def record_edits(records: list[Record]) -> list[dict[str, Any]]:
    """The cell edits of a finished job, from its records: one edit per rewritten cell (a
    cell with several rewritten calls has one record per call, all with the cell's whole
    old and new source), with the records' status, lines, APIs and ids."""
    edits: dict[tuple[str | None, int | None], dict[str, Any]] = {}
    for r in records:
        edit = edits.get((r.cell_id, r.cell_index))
        if edit is None:
            edit = edits[(r.cell_id, r.cell_index)] = {
                **cell_edit(r.cell_id, r.cell_index, r.original_source, r.new_source),
                "status": r.status, "lines": [], "apis": [], "records": []}
        if r.line is not None:
            edit["lines"].append(r.line)
        if r.api and r.api not in edit["apis"]:
            edit["apis"].append(r.api)
        edit["records"].append(r.id)
    return sorted(edits.values(), key=lambda e: (e["cell_index"] is None, e["cell_index"] or 0))


def setup_cell_of(nb: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The setup cell of a rewritten notebook, with where it goes: ``before_cell_id`` (the
    id of the next cell, stable when the open document has more cells than the saved
    file) and ``index`` (its position in the rewritten notebook)."""
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if meta.get(SETUP_KEY, {}).get("setup"):
            after = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            return {"index": index, "cell_type": cell.cell_type, "source": cell.source,
                    "metadata": dict(meta),
                    "before_cell_id": after.get("id") if after is not None else None}
    return None


def job_setup_cell(job: Job, allowed: list[Path]) -> dict[str, Any] | None:
    """The setup cell of the notebook a completed job wrote (when it is readable and in
    one of the ``allowed`` folders): what the editor inserts with the job's cell edits."""
    output = (job.options or {}).get("output")
    if not isinstance(output, str):
        return None
    path = Path(output)
    if not any(path.is_relative_to(folder) for folder in allowed) or not path.is_file():
        return None
    try:
        return setup_cell_of(read_notebook(path))
    except NotebookError:
        return None


@dataclass
class DocumentResult:
    """A completed (or empty) document migration: what the editor applies."""

    result: MigrationResult
    output: Path | None  #: the rewritten copy (None when there was nothing to migrate)
    edits: list[dict[str, Any]] = field(default_factory=list)
    setup_cell: dict[str, Any] | None = None

    @property
    def job_id(self) -> int | None:
        return self.result.job_id


class DocumentMigration:
    """``migrate NB --to DEST -o <project>/.stork/outputs/<run>/NB`` for an open document.

    ``content`` is the document's model (unsaved edits included); without it the saved
    file is migrated. ``label`` names the notebook in messages and diffs (default: its
    path). The output folder stays while its job may still be resumed, and is removed
    when no job was created (a refusal, nothing to migrate)."""

    def __init__(self, notebook: Path, to: str, *, content: nbformat.NotebookNode | None = None,
                 partial: bool = False, layout: str | None = None, store: str | None = None,
                 parallel: int | None = None, allow_outside_root: bool = False,
                 label: str | None = None):
        self.notebook = Path(notebook).resolve()
        self.to, self.content = to, content
        self.partial, self.layout, self.store, self.parallel = partial, layout, store, parallel
        self.allow_outside_root = allow_outside_root
        self.label = label or str(self.notebook)
        self.root = find_project_root(self.notebook.parent)
        self.run_dir = self.root.joinpath(*OUTPUTS, uuid.uuid4().hex)
        self.output = self.run_dir / self.notebook.name

    def preview(self) -> DocumentResult:
        """The dry run: the edits the document would get; nothing moves or is written."""
        nb = self.content if self.content is not None else read_notebook(self.notebook)
        _, _, spec, _, plan = plan_notebook(self.notebook, self.to, layout=self.layout,
                                            allow_outside_root=self.allow_outside_root, nb=nb,
                                            store=self.store)
        if plan.blockers and not self.partial:
            raise MigrationRefused(self.label, plan.blockers)
        new_nb, changes = rewrite_notebook(nb, plan, spec.safe_url, partial=self.partial)
        result = MigrationResult(plan, changes, unified_diff(changes, self.label), new_nb)
        return DocumentResult(result, None, cell_edits(changes),
                              setup_cell_of(new_nb) if changes else None)

    def run(self, progress: ProgressReporter | None = None) -> DocumentResult:
        with contextlib.suppress(OSError, StorkError):  # tidying up never stops a migration
            prune_outputs(self.root, self.store)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cells_from = None
        reporter = _JobWatch(as_reporter(progress))
        try:
            if self.content is not None:
                cells_from = self.run_dir / SOURCE_NAME
                write_notebook(self.content, cells_from)
            result = migrate(self.notebook, self.to, output=self.output, partial=self.partial,
                             layout=self.layout, store=self.store, progress=reporter,
                             parallel=self.parallel, cells_from=cells_from,
                             allow_outside_root=self.allow_outside_root,
                             record_as=self.notebook)
        except BaseException:
            if reporter.job_id is None:  # no job to resume: nothing to keep
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise
        if result.job_id is None:  # nothing to migrate: migrate wrote a plain copy
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return DocumentResult(result, None)
        return DocumentResult(result, self.output, cell_edits(result.changes),
                              setup_cell_of(result.notebook) if result.changes else None)


def prune_outputs(root: Path, store: str | None = None,
                  keep_days: float = KEEP_OUTPUTS_DAYS) -> list[Path]:
    """Remove the run folders older than ``keep_days`` whose job completed or was
    cancelled, or that no job names (a refusal interrupted before cleaning up). A paused,
    failed or interrupted job keeps its folder: resuming it reads the copy there.
    Returns the folders removed."""
    outputs = root.joinpath(*OUTPUTS)
    cutoff = time.time() - keep_days * 86400
    old = [p for p in outputs.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff] \
        if outputs.is_dir() else []
    if not old:
        return []
    status: dict[Path, str] = {}
    with open_store(root, store) as metadata:
        for job in metadata.list(Job, kind="migrate", limit=None):
            output = (job.options or {}).get("output")
            if isinstance(output, str):
                status[Path(output).parent] = job.status
    removed = []
    for folder in old:
        if status.get(folder, "completed") in ("completed", "cancelled"):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class _JobWatch:
    """Passes progress on to the door's reporter and learns the job id: a run that
    created a job keeps its folder (a failed or paused job is resumed from it)."""

    def __init__(self, inner: ProgressReporter):
        self.inner = inner
        self.job_id: int | None = None

    def start(self, job_id, datasets) -> None:
        self.job_id = job_id
        self.inner.start(job_id, datasets)

    def update(self, progress) -> None:
        self.inner.update(progress)

    def close(self, status) -> None:
        self.inner.close(status)
