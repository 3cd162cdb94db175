"""Recording what analysis found in the metadata store: the notebook and its datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .analysis import Analysis
from .analysis.cache import cached_analysis
from .checksum import sha256_file
from .store import Dataset, Job, MetadataStore, now_iso


def relative_to_root(path: Path, root: Path) -> str:
    """A path relative to the project root when inside it, else absolute (POSIX)."""
    path = path.resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def location_urls(path: Path) -> list[str]:
    """The forms a folder destination's location of ``path`` is recorded in."""
    resolved = path.resolve()
    return [str(path), str(resolved), resolved.as_uri()]


def record_analysis(store: MetadataStore, root: Path, notebook: Path,
                    analysis: Analysis) -> list[Dataset]:
    """Save the notebook's analysis as a completed ``analyze`` job and upsert every local
    file it reads or writes that exists now (size, format, sha256). A file that is a
    migrated copy (a location the store recorded, as a migrated notebook reads from a
    folder destination) is that dataset, not a new one."""
    project = store.ensure_project(root)
    nb_dir = notebook.resolve().parent
    sources: dict[str, tuple[Path, str | None]] = {}
    seen: set[str] = set()  # (a path read in many cells is resolved once)
    for access in analysis.accesses:
        if access.resolved and not access.remote and access.exists and (
                access.path not in seen):
            seen.add(access.path)
            source = nb_dir / access.path
            sources.setdefault(relative_to_root(source, root), (source, access.format))
    # two queries for every file at once: one per file took most of a first analysis
    copies = store.datasets_at({key: location_urls(source)
                                for key, (source, _) in sources.items()})
    known = {d.source_path: d for d in store.list_any(
        Dataset, "source_path", sources, project_id=project.id)}
    datasets: dict[str, Dataset] = {}
    for key, (source, fmt) in sources.items():
        if key in copies:
            datasets[key] = copies[key]
            continue
        stat = source.stat()
        before = known.get(key)
        # re-hash only when the file changed size: hashing is the slow part of analysis
        sha = before.sha256 if before and before.size == stat.st_size and before.sha256 else (
            sha256_file(source))
        if before is not None and (before.format, before.size, before.sha256) == (
                fmt, stat.st_size, sha):
            datasets[key] = before  # nothing to write
            continue
        datasets[key] = store.upsert_dataset(
            project.id, key, format=fmt, size=stat.st_size, sha256=sha)
    store.save(Job(
        project_id=project.id, kind="analyze", notebook=relative_to_root(notebook, root),
        status="completed", progress=1.0, started_at=now_iso(), finished_at=now_iso(),
        counts={**analysis.counts(), "datasets": len(datasets)}))
    return list(datasets.values())


def cache_folder(root: Path) -> Path:
    """Where the analyze door keeps its cache (next to the default store)."""
    return root / ".stork" / "cache"


def analyze_and_record(notebook: Path, store: str | None = None, record: bool = True, *,
                       content: Any = None, label: str | None = None) -> Analysis:
    """What every door's "analyze" does: analyse (an unchanged notebook from the cache of
    ``analysis.cache``, kept in the project's ``.stork/cache`` when recording), then
    remember it in the project's store.

    ``content``: the notebook as the editor has it (unsaved edits included) instead of
    the saved file; ``label``: how messages name the notebook (default: ``notebook``)."""
    from .config import find_project_root
    from .notebook import read_notebook
    from .store import open_store

    nb_dir = notebook.resolve().parent
    root = find_project_root(nb_dir)
    nb = content if content is not None else read_notebook(notebook)
    analysis = cached_analysis(nb.cells, nb_dir, label or str(notebook),
                               cache_folder(root) if record else None)
    if record:
        with open_store(root, store) as metadata:
            record_analysis(metadata, root, notebook, analysis)
    return analysis
