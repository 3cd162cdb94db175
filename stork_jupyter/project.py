"""Migrating a project: every notebook of a folder (or several notebooks) in one job.

An engine module (no door imports). Each notebook is analysed and planned as
``migrate`` does, with two differences that make the project one migration:

- keys mirror the project (``prefix/<path relative to the root>``, see
  ``plan.build_plan(project=True)``) and the notebooks share one ``NameBook``, so a
  file several notebooks read gets one name, is sent once, and every notebook reading
  it is rewritten to that name;
- one job holds every transfer and, in ``options["notebooks"]``, what each notebook
  needs to be finished, recognised and undone (``undo.job_parts``).

Without ``partial`` a single refused notebook refuses the whole project: nothing
moves and nothing is written, and every blocker of every notebook is listed.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import analyze_cells
from .cells import with_cell_number
from .config import find_project_root, load_config, resolve_store_url
from .destinations import PutResult, open_backend, resolve_destination
from .errors import StorkError
from .inventory import relative_to_root
from .job_run import NamesTaken, check_output, execute_plan, write_output
from .migrate import PLAN_ATTEMPTS
from .names import NameBook, reserved_name
from .notebook import (
    nbformat,
    notebook_text,
    read_notebook,
    write_bytes_atomic,
    write_notebook,
    write_text_atomic,
)
from .plan import Blocker, MigrationPlan, build_plan, hash_sources, plan_from_store, plan_to_store
from .recovery import file_sha256, keep_original, sha256_bytes
from .report import move_line
from .rewriting import (
    CellChange,
    MigrationRefused,
    replay_rewrite,
    rewrite_digest,
    rewrite_notebook,
    unified_diff,
)
from .store import Reservation
from .transfer import ProgressReporter

#: A notebook's outcome in a project migration.
MIGRATED, REFUSED, NOTHING = "migrated", "refused", "nothing to migrate"


@dataclass
class NotebookOutcome:
    notebook: Path  #: the source notebook, as found
    plan: MigrationPlan
    status: str = NOTHING  #: MIGRATED, REFUSED or NOTHING
    output: Path | None = None
    changes: list[CellChange] = field(default_factory=list)
    diff: str = ""
    new_nb: nbformat.NotebookNode | None = None
    nb: nbformat.NotebookNode | None = None

    @property
    def blockers(self) -> list[Blocker]:
        return self.plan.blockers

    def to_json(self) -> dict[str, Any]:
        return {"notebook": str(self.notebook), "status": self.status,
                "output": str(self.output) if self.output else None,
                "cells": len(self.changes), "diff": self.diff,
                "blockers": [with_cell_number(dataclasses.asdict(b)) for b in self.blockers]}


class ProjectRefused(StorkError):
    """Some notebooks of the project cannot be migrated: nothing was changed."""

    def __init__(self, refused: list[NotebookOutcome]):
        self.refused = refused
        lines = [b.describe(str(o.notebook)) for o in refused for b in o.blockers]
        names = ", ".join(str(o.notebook) for o in refused)
        super().__init__(
            f"{len(refused)} notebook(s) cannot be migrated ({names}): {len(lines)} data "
            "access(es) would still read local files; nothing was changed (use --partial "
            "to migrate the rest):\n  " + "\n  ".join(lines))


@dataclass
class ProjectResult:
    folder: Path  #: the folder the notebooks' outputs keep their paths relative to
    destination: str
    layout: str
    notebooks: list[NotebookOutcome]
    plan: MigrationPlan  #: every dataset once (sources relative to the project root)
    dry_run: bool = False
    job_id: int | None = None
    transfers: list[PutResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "destination": self.destination,
                "layout": self.layout, "dry_run": self.dry_run,
                "datasets": [{"source": m.source, "target": m.target, "size": m.size,
                              "table": m.table} for m in self.plan.moves],
                "notebooks": [o.to_json() for o in self.notebooks]}

    def text(self) -> str:
        out = [f"{self.folder} -> {self.destination} (layout {self.layout}, "
               f"{len(self.notebooks)} notebook(s))"]
        out += [move_line(m) for m in self.plan.moves]
        for o in self.notebooks:
            if o.status == MIGRATED:
                out.append(f"  {o.notebook}: migrated, {len(o.changes)} cell(s) rewritten"
                           + (f" -> {o.output}" if o.output else ""))
                out += [f"      still local: {b.describe(str(o.notebook))}"
                        for b in o.blockers]
            elif o.status == REFUSED:
                out.append(f"  {o.notebook}: refused")
                out += [f"      {b.describe(str(o.notebook))}" for b in o.blockers]
            else:
                out.append(f"  {o.notebook}: nothing to migrate"
                           + (f" (copied to {o.output})" if o.output else ""))
                out += [f"      still local: {b.describe(str(o.notebook))}"
                        for b in o.blockers]
        if self.dry_run:
            diffs = [o.diff for o in self.notebooks if o.diff]
            if diffs:
                out += ["", *diffs, ""]
            out.append(f"Dry run: {len(self.plan.moves)} file(s) would be copied, "
                       f"{sum(len(o.changes) for o in self.notebooks)} cell(s) in "
                       f"{sum(o.status == MIGRATED for o in self.notebooks)} notebook(s) "
                       "would change; nothing was changed.")
        elif self.job_id is not None:
            sent = sum(not t.skipped for t in self.transfers)
            out.append(f"Migrated {sum(o.status == MIGRATED for o in self.notebooks)} "
                       f"notebook(s): {len(self.plan.moves)} file(s) ({sent} sent, "
                       f"{len(self.transfers) - sent} already there), "
                       f"{sum(len(o.changes) for o in self.notebooks)} cell(s) rewritten "
                       f"(job {self.job_id})")
        else:
            out.append("Nothing to migrate in these notebooks.")
        return "\n".join(out)


def find_notebooks(paths: list[Path], skip: Path | None = None) -> tuple[list[Path], Path]:
    """The notebooks of ``paths`` (folders searched recursively, hidden folders such
    as ``.ipynb_checkpoints`` and ``.stork`` and the folder ``skip`` left out) and the
    folder they are relative to: the one folder given, else their common folder."""
    found: list[Path] = []
    bases: list[Path] = []
    skip = skip.resolve() if skip is not None else None
    for p in map(Path, paths):
        if p.is_dir():
            bases.append(p.resolve())
            for nb in sorted(p.rglob("*.ipynb")):
                rel = nb.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or (
                        skip is not None and nb.resolve().is_relative_to(skip)):
                    continue
                found.append(nb)
        elif p.is_file():
            bases.append(p.resolve().parent)
            found.append(p)
        else:
            raise StorkError(f"{p}: no such notebook or folder")
    unique = list({nb.resolve(): nb for nb in found}.values())
    if not unique:
        raise StorkError(f"{', '.join(map(str, paths))}: no notebooks found")
    return unique, Path(os.path.commonpath(bases))


def migrate_project(paths: list[Path], to: str, *, output_dir: Path | None = None,
                    in_place: bool = False, dry_run: bool = False, partial: bool = False,
                    allow_outside_root: bool = False, layout: str | None = None,
                    store: str | None = None,
                    progress: ProgressReporter | None = None,
                    parallel: int | None = None) -> ProjectResult:
    """Migrate every notebook of ``paths`` in one job; the rewritten copies go under
    ``output_dir`` with their paths relative to the folder given (or the notebooks'
    common folder), or replace the notebooks (``in_place``)."""
    if not dry_run and not in_place and output_dir is None:
        raise StorkError("say where the migrated notebooks go: -o OUTDIR or --in-place")
    if output_dir is not None and in_place:
        raise StorkError("give either -o OUTDIR or --in-place, not both")
    for attempt in range(PLAN_ATTEMPTS):
        try:
            return _migrate_once(paths, to, output_dir=output_dir, in_place=in_place,
                                 dry_run=dry_run, partial=partial,
                                 allow_outside_root=allow_outside_root, layout=layout,
                                 store=store, progress=progress, parallel=parallel)
        except NamesTaken:  # another migration took a name meanwhile: plan again
            if attempt == PLAN_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _share(names: NameBook, plan: MigrationPlan) -> None:
    """The names ``plan`` takes, held for the notebooks planned after it: the same file
    gets the same name, another file another one."""
    for name, o in plan.owners.items():
        names.held.setdefault(name, Reservation(
            destination=names.destination, name=name, owner=o["owner"],
            sha256=o.get("sha256"), source_path=o.get("source") or ""))


def _plan_one(path: Path, root: Path, spec, backend, names: NameBook, *, partial: bool,
              allow_outside_root: bool) -> NotebookOutcome:
    nb = read_notebook(path)
    analysis = analyze_cells(nb.cells, path.resolve().parent, str(path))
    with hash_sources(analysis, path.resolve().parent) as digests:
        plan = build_plan(analysis, path, root, spec, backend, allow_outside_root,
                          names=names, project=True, digests=digests)
    for p in analysis.problems:
        plan.blockers.append(Blocker(p.cell_index, p.cell_id, p.line, "(cell)",
                                     f"the cell could not be analysed: {p.message}"))
    _share(names, plan)
    outcome = NotebookOutcome(path, plan, nb=nb)
    if plan.blockers and not partial:
        outcome.status = REFUSED
        return outcome
    try:
        outcome.new_nb, outcome.changes = rewrite_notebook(nb, plan, spec.safe_url,
                                                           partial=partial)
    except MigrationRefused:
        outcome.status = REFUSED
        return outcome
    outcome.diff = unified_diff(outcome.changes, str(path))
    outcome.status = MIGRATED if (plan.moves or outcome.changes) else NOTHING
    return outcome


def _combined(label: str, outcomes: list[NotebookOutcome], root: Path, spec, backend
              ) -> MigrationPlan:
    """One plan of every migrated notebook's datasets, each once (sources relative to
    the project root: the job's transfers read them from there)."""
    first = next((o.plan for o in outcomes), None)
    plan = MigrationPlan(label, spec.safe_url, spec.kind, spec.layout, "",
                         settings=dict(first.settings) if first else {})
    seen: set[str] = set()
    for o in outcomes:
        if o.status != MIGRATED:
            continue
        nb_dir = o.notebook.resolve().parent
        for m in o.plan.moves:
            name = reserved_name(backend, m.key, m.table)
            if name in seen:
                continue
            seen.add(name)
            source = Path(os.path.relpath(nb_dir / m.source, root)).as_posix()
            plan.moves.append(dataclasses.replace(m, source=source))
        plan.writes += [k for k in o.plan.writes if k not in plan.writes]
        plan.edits += o.plan.edits
        plan.blockers += o.plan.blockers
        plan.skipped += [f"{o.notebook}: {s}" for s in o.plan.skipped]
        plan.owners.update(o.plan.owners)
    return plan


def _migrate_once(paths, to, *, output_dir, in_place, dry_run, partial, allow_outside_root,
                  layout, store, progress, parallel) -> ProjectResult:
    skip = Path(output_dir) if output_dir is not None else None
    notebooks, folder = find_notebooks(paths, skip=skip)
    root = find_project_root(folder)
    others = sorted({str(nb) for nb in notebooks
                     if find_project_root(nb.resolve().parent) != root})
    if others:
        raise StorkError(f"{', '.join(others)}: in another project than {root} (a stork.toml "
                         "of their own); migrate each project on its own")
    spec = resolve_destination(to, load_config(root), layout)
    backend = open_backend(spec)
    backend.warm_up()  # (its client builds while the notebooks are planned)
    names = NameBook.load(backend, resolve_store_url(store, root))
    outcomes = [_plan_one(nb, root, spec, backend, names, partial=partial,
                          allow_outside_root=allow_outside_root) for nb in notebooks]
    refused = [o for o in outcomes if o.status == REFUSED]
    if refused:
        raise ProjectRefused(refused)
    label = relative_to_root(folder, root)
    plan = _combined(label, outcomes, root, spec, backend)
    result = ProjectResult(folder, spec.safe_url, spec.layout, outcomes, plan, dry_run=dry_run)
    for o in outcomes:
        o.output = o.notebook if in_place else (
            Path(output_dir) / o.notebook.resolve().relative_to(folder) if output_dir else None)
        if o.output is not None and not in_place and o.output.resolve() == o.notebook.resolve():
            raise StorkError(f"{o.output}: -o would overwrite the notebook itself; use "
                             "--in-place to rewrite the notebooks")
    if dry_run:
        return result
    for o in outcomes:
        if not in_place:
            o.output.parent.mkdir(parents=True, exist_ok=True)
        check_output(o.output)
    migrated = [o for o in outcomes if o.status == MIGRATED]
    if migrated:
        backend.check()
        entries, texts = [], []
        for o in migrated:
            text = notebook_text(o.new_nb)
            texts.append((o.output, text))
            entries.append({
                "source_path": o.notebook.resolve().as_posix(),
                "source_notebook": relative_to_root(o.notebook, root),
                "output": o.output.resolve().as_posix(), "in_place": in_place,
                "cells_from": None,
                "notebook_sha256": keep_original(root, o.notebook.read_bytes()),
                "rewrite_sha256": rewrite_digest(o.new_nb),
                "written_sha256": sha256_bytes(text.encode("utf-8")),
                "plan": plan_to_store(o.plan)})

        copies = [[o.notebook.resolve().as_posix(), o.output.resolve().as_posix()]
                  for o in outcomes if o.status == NOTHING and not in_place]

        def write() -> None:
            for target, text in texts:
                write_text_atomic(target, text)
            _copy(copies)

        result.job_id, result.transfers = execute_plan(
            plan, [c for o in migrated for c in o.changes], notebook=folder, label=folder,
            root=root, spec=spec, backend=backend, store=store, progress=progress,
            write=write, parallel=parallel, data_dir=root,
            records=[(relative_to_root(o.output, root), o.changes) for o in migrated],
            options={"source_notebook": label, "source_path": folder.resolve().as_posix(),
                     "project_root": root.resolve().as_posix(), "partial": partial,
                     "allow_outside_root": allow_outside_root, "in_place": in_place,
                     "output": (Path(output_dir) if output_dir else folder).resolve().as_posix(),
                     "notebooks": entries, "copies": copies})
    else:  # nothing to migrate anywhere: plain copies under -o
        for o in outcomes:
            if not in_place:
                write_output(lambda o=o: write_notebook(o.nb, o.output), o.output)
    return result


def _copy(copies: list[list[str]]) -> None:
    """The notebooks with nothing to migrate, copied unchanged next to the others."""
    for source, target in copies:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(Path(target), Path(source).read_bytes())


def resume_writes(job, root: Path) -> tuple[list[tuple[str, list[CellChange]]],
                                            list[CellChange], Any]:
    """For ``jobs.resume_job`` of a project job: each notebook's records, every change,
    and the write of the notebooks not written yet (a crash may have written some)."""
    from .destinations import DestinationSpec

    spec = DestinationSpec.of_job(job)
    records, texts = [], []
    for entry in job.options["notebooks"]:
        source, target = Path(entry["source_path"]), Path(entry["output"])
        written = file_sha256(target) == entry.get("written_sha256")
        new_nb, changes, _ = replay_rewrite(job.id, source, entry,
                                            plan_from_store(entry["plan"]), spec.safe_url,
                                            root, written=lambda _current, w=written: w)
        records.append((relative_to_root(target, root), changes))
        if not written:
            texts.append((target, notebook_text(new_nb)))

    def write() -> None:
        for target, text in texts:
            write_text_atomic(target, text)
        _copy(job.options.get("copies", []))

    return records, [c for _, cs in records for c in cs], write


__all__ = ["MIGRATED", "NOTHING", "REFUSED", "NotebookOutcome", "ProjectRefused",
           "ProjectResult", "find_notebooks", "migrate_project", "resume_writes"]
