"""A notebook's cells rewritten for a plan: what changed in each cell, the setup cell, the
diff; a refusal when an access cannot be rewritten; the rewrite replayed for a resumed
job.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .cells import CellNumbered, cell_label
from .errors import NextStep, StorkError
from .notebook import (
    nbformat,
    parse_notebook,
    read_notebook,
)
from .plan import AccessEdit, Blocker, MigrationPlan
from .recovery import file_sha256, original_bytes
from .rewrite.setup_cell import SETUP_KEY, setup_source
from .rewrite.transform import rewrite_cell


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


@dataclass
class CellChange(CellNumbered):
    cell_index: int
    cell_id: str | None
    old: str
    new: str
    edits: list[AccessEdit] = field(default_factory=list)


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
        # git's form: an absolute path reads a/tmp/nb.ipynb, not a//tmp/nb.ipynb
        label = f"{notebook.lstrip('/')} {cell_label(ch.cell_index, ch.cell_id)}"
        out += difflib.unified_diff(ch.old.splitlines(), ch.new.splitlines(), f"a/{label}",
                                    f"b/{label}", lineterm="")
    return "\n".join(out)


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
