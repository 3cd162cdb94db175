"""``stork verify``: run a migrated notebook where the files it no longer needs are absent,
and compare each cell's outputs with the ones stored in it (kept from the original)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config import find_project_root
from .errors import ExecutionError, StorkError
from .execute import compare_outputs, execute_notebook
from .inventory import relative_to_root
from .notebook import read_notebook
from .rewrite.setup_cell import SETUP_KEY
from .store import Job, Transfer, open_store


@dataclass
class VerifyReport:
    notebook: str
    hidden: list[str] = field(default_factory=list)  #: migrated files absent from the run
    differences: list[str] = field(default_factory=list)
    error: str | None = None
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences and self.error is None

    def text(self) -> str:
        head = (f"{self.notebook}: ran without {len(self.hidden)} migrated file(s); "
                f"{self.compared} code cell(s) compared")
        if self.error:
            return f"{head}\nFAILED: {self.error}"
        if self.differences:
            return f"{head}\nFAILED: outputs differ\n" + "\n".join(self.differences)
        return f"{head}\nOK: every cell gives the outputs stored in the notebook"


def migrated_sources(notebook: Path, store: str | None) -> list[Path]:
    """The files moved by this notebook's migrations (absolute paths)."""
    root = find_project_root(notebook.resolve().parent)
    with open_store(root, store) as metadata:
        jobs = metadata.list(Job, kind="migrate", notebook=relative_to_root(notebook, root),
                             status="completed", limit=None)
        sources: list[Path] = []
        for job in jobs:
            # transfer sources are relative to the notebook that was migrated, which is
            # another one than this when the migration wrote -o elsewhere
            origin = job.options.get("source_notebook") or job.notebook or ""
            base = (root / origin).parent
            for t in metadata.list(Transfer, job_id=job.id, limit=None):
                path = (base / t.source).resolve()
                if path not in sources:
                    sources.append(path)
    return sources


def _without_setup(nb):
    nb = nb.copy()
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get(SETUP_KEY, {}).get("setup")]
    return nb


def verify(notebook: Path, store: str | None = None, timeout: int = 300) -> VerifyReport:
    notebook = Path(notebook)
    expected = read_notebook(notebook)
    sources = migrated_sources(notebook, store)
    report = VerifyReport(str(notebook), hidden=[str(p) for p in sources])
    if not report.hidden:
        raise StorkError(f"{notebook}: no completed migration of this notebook is recorded")
    folder = notebook.resolve().parent
    hidden = set(sources)
    with tempfile.TemporaryDirectory(prefix="stork-verify-") as tmp:
        scratch = Path(tmp) / folder.name
        # a scratch copy of the folder without the migrated files: the user's own files
        # are never moved or touched
        shutil.copytree(folder, scratch, ignore=lambda d, names: [
            n for n in names if (Path(d) / n).resolve() in hidden or n == ".stork"])
        try:
            actual = execute_notebook(scratch / notebook.name, timeout=timeout)
        except ExecutionError as e:
            report.error = str(e).replace(str(scratch), str(folder))
            return report
    report.compared = sum(c.cell_type == "code" for c in expected.cells)
    report.differences = compare_outputs(_without_setup(expected), _without_setup(actual))
    return report
