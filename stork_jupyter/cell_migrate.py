"""``%%stork migrate``: migrate the data of one cell, analysed with what the kernel knows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .analysis.values import Value
from .job_run import execute_plan
from .migrate import plan_cells
from .plan import MigrationPlan
from .progress import ProgressReporter
from .rewrite.setup_cell import setup_source
from .rewriting import CellChange, MigrationRefused, leave_local, rewrite_what_can_be


@dataclass
class CellMigration:
    plan: MigrationPlan
    source: str  #: the cell's new text (what the magic puts in place of the cell)
    job_id: int | None = None


def migrate_cell(source: str, to: str, *, notebook: Path | None, cwd: Path,
                 seed: dict[str, Value] | None = None, cell_id: str | None = None,
                 partial: bool = False, allow_outside_root: bool = False,
                 layout: str | None = None, store: str | None = None,
                 progress: ProgressReporter | None = None) -> CellMigration:
    """Transfer what ``source`` reads, and return its rewritten text.

    The data paths are relative to the kernel's folder ``cwd``; when the notebook is
    unknown the mirror layout files them under ``<folder>/cell``."""
    label = notebook if notebook is not None else cwd / "cell.ipynb"
    root, spec, backend, plan = plan_cells(
        [{"cell_type": "code", "source": source, "id": cell_id}], label, cwd, to,
        layout=layout, allow_outside_root=allow_outside_root, seed=seed, store=store)
    if plan.blockers and not partial:
        raise MigrationRefused("this cell", plan.blockers)
    if not plan.edits:
        return CellMigration(plan, source)
    failed: list = []
    kept, rewritten = rewrite_what_can_be(source, plan.edits, plan, failed)
    if failed:  # an access whose call cannot be rewritten stays local
        leave_local(plan, failed)
        if not partial:
            raise MigrationRefused("this cell", plan.blockers)
    if rewritten is None:
        return CellMigration(plan, source)
    new_source = rewritten.source
    if rewritten.needs:  # the cell must run on its own after a restart: carry its setup
        new_source = setup_source(spec.kind, spec.safe_url, rewritten.needs,
                                  plan.settings) + "\n\n" + new_source
    backend.check()
    change = CellChange(0, cell_id, source, new_source, kept)
    job_id, _ = execute_plan(plan, [change], notebook=label, label=label, root=root, spec=spec,
                             backend=backend, store=store, progress=progress,
                             write=lambda: None, options={"cell": True})
    return CellMigration(plan, new_source, job_id)
