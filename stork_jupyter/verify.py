"""``stork verify``: run a migrated notebook where the files it no longer needs are absent,
and compare each cell's outputs with the ones stored in it (kept from the original)."""

from __future__ import annotations

import difflib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config import find_project_root
from .errors import ExecutionError, StorkError
from .execute import execute_notebook
from .inventory import relative_to_root
from .notebook import read_notebook
from .rewrite.setup_cell import SETUP_KEY
from .store import Job, Transfer, open_store


@dataclass
class CellResult:
    cell_number: int  #: as JupyterLab numbers cells (1-based, all cells)
    status: str  #: "equal", "differs" or "errors"
    detail: str = ""  #: a short diff, or the error the migrated cell raised

    def text(self) -> str:
        head = f"cell {self.cell_number}: {self.status}"
        return f"{head}\n{self.detail}" if self.detail else head


@dataclass
class VerifyReport:
    notebook: str
    hidden: list[str] = field(default_factory=list)  #: migrated files absent from the run
    cells: list[CellResult] = field(default_factory=list)
    error: str | None = None  #: the run itself failed (a kernel died, a timeout)
    compared: int = 0
    rerun: bool = False  #: the original was executed (its stored outputs were missing)

    @property
    def differences(self) -> list[str]:
        return [c.text() for c in self.cells if c.status != "equal"]

    @property
    def ok(self) -> bool:
        return not self.differences and self.error is None

    def text(self) -> str:
        against = ("the original run with its data" if self.rerun
                   else "the outputs stored in the notebook")
        head = (f"{self.notebook}: ran without {len(self.hidden)} migrated file(s); "
                f"{self.compared} code cell(s) compared with {against}")
        if self.error:
            return f"{head}\nFAILED: {self.error}"
        if self.differences:
            bad = [c for c in self.cells if c.status != "equal"]
            return (f"{head}\nFAILED: outputs differ in {len(bad)} cell(s) "
                    f"({sum(c.status == 'errors' for c in bad)} raised)\n"
                    + "\n".join(self.differences))
        same_as = "the original's, run with its data" if self.rerun else (
            "those stored in the notebook")
        return f"{head}\nOK: every cell gives the same outputs as {same_as}"


def _migrations(notebook: Path, store: str | None):
    """(root, the completed migrate jobs (per-notebook views) that wrote ``notebook``)."""
    from .undo import job_part

    root = find_project_root(notebook.resolve().parent)
    with open_store(root, store) as metadata:
        rel = relative_to_root(notebook, root)
        jobs = metadata.list(Job, kind="migrate", notebook=rel, status="completed", limit=None)
        for job in metadata.list(Job, kind="migrate", status="completed", limit=None):
            part = job_part(job, notebook) if "notebooks" in (job.options or {}) else None
            if part is not None:
                jobs.append(part)
        found = []
        for job in jobs:
            if "notebooks" in (job.options or {}) or job.options.get("project_root"):
                from .plan import plan_from_store

                nb_dir = Path(job.options["source_path"]).parent
                sources = [(nb_dir / m.source).resolve()
                           for m in plan_from_store(job.options["plan"]).moves]
            else:
                # transfer sources are relative to the notebook that was migrated, which
                # is another one than this when the migration wrote -o elsewhere
                origin = job.options.get("source_notebook") or job.notebook or ""
                base = (root / origin).parent
                sources = [(base / t.source).resolve()
                           for t in metadata.list(Transfer, job_id=job.id, limit=None)]
            found.append((job, sources))
    return root, found


def migrated_sources(notebook: Path, store: str | None) -> list[Path]:
    """The files moved by this notebook's migrations (absolute paths)."""
    sources: list[Path] = []
    for _, paths in _migrations(Path(notebook), store)[1]:
        sources += [p for p in paths if p not in sources]
    return sources


def _without_setup(nb):
    nb = nb.copy()
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(SETUP_KEY, {}).get("setup")]
    return nb


def _outputs_missing(nb) -> bool:
    """No code cell was run: the notebook was saved without its outputs."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    return bool(code) and all(c.get("execution_count") is None and not c.get("outputs")
                              for c in code)


def _comparable(outputs: list[dict]) -> list[dict]:
    """Outputs as compared: stderr (warnings naming temporary paths, progress bars) is
    left out; stdout, results, displays and errors count."""
    return [o for o in outputs if not (o["output_type"] == "stream" and o["name"] == "stderr")]


def compare_cells(expected_nb, actual_nb) -> list[CellResult]:
    """Each code cell of two runs of one notebook: equal, differs (a short diff) or
    errors (the migrated cell raised what the original did not)."""
    from .execute import cell_outputs, describe_outputs

    results = []
    expected, actual = cell_outputs(expected_nb), cell_outputs(actual_nb)
    for index, (cell, exp, act) in enumerate(zip(expected_nb.cells, expected, actual,
                                                 strict=False)):
        if cell.cell_type != "code":
            continue
        exp, act = _comparable(exp), _comparable(act)
        if exp == act:
            results.append(CellResult(index + 1, "equal"))
            continue
        errors = [o for o in act if o["output_type"] == "error" and o not in exp]
        if errors:
            results.append(CellResult(index + 1, "errors", "  " + "; ".join(
                f"{o['ename']}: {o['evalue']}" for o in errors)))
            continue
        diff = difflib.unified_diff(describe_outputs(exp).splitlines(),
                                    describe_outputs(act).splitlines(), "expected", "actual",
                                    lineterm="", n=1)
        lines = list(diff)
        short = lines[:MAX_DIFF_LINES] + (["  ..."] if len(lines) > MAX_DIFF_LINES else [])
        results.append(CellResult(index + 1, "differs", "\n".join(short)))
    return results


#: Lines of a cell's diff in the report.
MAX_DIFF_LINES = 12


def _run_original(job, root: Path, timeout: int):
    """The original notebook executed with its data, in a scratch copy of the project
    (its own files are never touched); None when it is no longer there."""
    source = Path((job.options or {}).get("source_path") or "")
    if not source.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="stork-verify-original-") as tmp:
        scratch = Path(tmp) / root.name
        shutil.copytree(root, scratch, symlinks=True,
                        ignore=lambda d, names: [n for n in names if n == ".stork"])
        copy = scratch / source.resolve().relative_to(root.resolve())
        return execute_notebook(copy, timeout=timeout, allow_errors=True)


def verify(notebook: Path, store: str | None = None, timeout: int = 300,
           rerun: bool = False) -> VerifyReport:
    """Run the migrated ``notebook`` where its migrated files are absent and compare
    every cell with the original: its stored outputs, or (``rerun``, or when the
    notebook was saved without outputs) the original notebook executed with its data.
    Every cell runs, whatever an earlier one raised."""
    notebook = Path(notebook)
    expected = read_notebook(notebook)
    root, migrations = _migrations(notebook, store)
    sources: list[Path] = []
    for _, paths in migrations:
        sources += [p for p in paths if p not in sources]
    report = VerifyReport(str(notebook), hidden=[str(p) for p in sources])
    if not report.hidden:
        raise StorkError(f"{notebook}: no completed migration of this notebook is recorded")
    baseline = _without_setup(expected)
    if rerun or _outputs_missing(baseline):
        original = _run_original(migrations[-1][0], root, timeout) if migrations else None
        if original is None:
            raise StorkError(f"{notebook}: its stored outputs are missing and the original "
                             "notebook it was migrated from is gone; nothing to compare with")
        baseline, report.rerun = original, True
    folder = notebook.resolve().parent
    hidden = set(sources)
    with tempfile.TemporaryDirectory(prefix="stork-verify-") as tmp:
        scratch = Path(tmp) / folder.name
        # a scratch copy of the folder without the migrated files: the user's own files
        # are never moved or touched
        shutil.copytree(folder, scratch, ignore=lambda d, names: [
            n for n in names if (Path(d) / n).resolve() in hidden or n == ".stork"])
        try:
            actual = execute_notebook(scratch / notebook.name, timeout=timeout,
                                      allow_errors=True)
        except ExecutionError as e:
            report.error = str(e).replace(str(scratch), str(folder))
            return report
    actual = _without_setup(actual)
    report.compared = sum(c.cell_type == "code" for c in actual.cells)
    report.cells = compare_cells(baseline, actual)
    if len(baseline.cells) != len(actual.cells):
        report.error = (f"the original has {len(baseline.cells)} cells and the migrated "
                        f"notebook {len(actual.cells)} (setup cell left out)")
    return report
