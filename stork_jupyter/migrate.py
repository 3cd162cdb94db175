"""Migrating a notebook: analyse, plan, transfer (verified), rewrite, remember.

Nothing touches a notebook until every transfer it depends on has finished and been
verified; a failure leaves it exactly as it was. The run itself is ``job_run``, the rewrite
``rewriting``, undoing ``undo``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .analysis import analyze_cells
from .config import find_project_root, load_config, resolve_store_url
from .destinations import (
    DestinationTaken,
    open_backend,
    pg_early,
    resolve_destination,
)
from .errors import StorkError
from .inventory import relative_to_root
from .job_run import MigrationResult, NamesTaken, check_output, execute_plan, write_output
from .jobs import cancel_job
from .names import NameBook
from .notebook import (
    nbformat,
    notebook_text,
    read_notebook,
    write_notebook,
    write_text_atomic,
)
from .plan import Blocker, build_plan, hash_sources
from .recovery import keep_original, sha256_bytes
from .rewriting import MigrationRefused, rewrite_digest, rewrite_notebook, unified_diff
from .transfer import (
    ProgressReporter,
)

#: How often ``migrate`` plans again when concurrent migrations took its names first.
PLAN_ATTEMPTS = 20


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
    backend.warm_up()  # (its client builds while the cells are analysed and files hashed)
    analysis = analyze_cells(cells, nb_dir, str(label), seed=seed)
    with hash_sources(analysis, nb_dir) as digests:  # (hashed while the store is read)
        names = NameBook.load(backend, resolve_store_url(store, root))
        plan = build_plan(analysis, label, root, spec, backend, allow_outside_root,
                          names=names, digests=digests)
    for p in analysis.problems:
        plan.blockers.append(Blocker(p.cell_index, p.cell_id, p.line, "(cell)",
                                     f"the cell could not be analysed: {p.message}"))
    return root, spec, backend, plan


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
            # a big CSV's COPY may begin while its plan is made (dropped unless loaded)
            with pg_early.scope() if not dry_run else contextlib.nullcontext():
                return _migrate_once(notebook, to, source, output=output,
                                     in_place=in_place, dry_run=dry_run, partial=partial,
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
            cancel_job(e.job_id, root=root, store=store)
        raise
    result.output = target
    return result


