"""Undoing a migration: a notebook's rewritten cells restored (its exact bytes when it is
unchanged), and what a migrate job wrote found again (for undo, and for cancel, which
must not strand a notebook that reads the job's data).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import find_project_root
from .destinations import (
    DestinationSpec,
)
from .errors import StorkError
from .inventory import relative_to_root
from .notebook import (
    nbformat,
    parse_notebook,
    read_notebook,
    write_bytes_atomic,
    write_notebook,
)
from .plan import plan_from_store
from .recovery import file_sha256, original_bytes
from .rewrite.setup_cell import SETUP_KEY
from .rewriting import CellChange, rewrite_notebook
from .store import Job, MetadataStore, Record, open_store


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
