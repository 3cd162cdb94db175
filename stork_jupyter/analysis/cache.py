"""Repeated analysis of an unchanged notebook, served from a cache keyed by its content.

The key is the sha256 of the code cells (index, id, type, source), the notebook's folder
and label, and the analysis code itself (its source files), so a new version of stork
never serves an old result. What analysis reads from the filesystem besides the cells
(globs, folder listings, which files exist) is covered by a fingerprint kept with the
entry: the entries (names) of every folder under the notebook's folder and of every
folder holding a file it found. Creating, removing or renaming a file changes a listing,
so the entry no longer matches and the notebook is analysed again; ``exists`` and
``size`` of each access are read again on every hit (a file rewritten in place).

Entries live in memory (a server or kernel analysing the same notebook again) and, when
the caller names a folder (the project's ``.stork/cache``), on disk as JSON (never
pickle: a shared folder must not run code). Only the analyze door uses the cache;
migrations always analyse afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import fields
from pathlib import Path
from typing import Any

from .access import Analysis, CellProblem, DataAccess

MEMORY_ENTRIES = 32  #: notebooks remembered per process
DISK_ENTRIES = 64  #: files kept in the cache folder (the oldest go first)
MAX_FOLDERS = 2000  #: a notebook folder with more sub-folders is not fingerprinted
SKIP_FOLDERS = frozenset({".git", ".stork", ".ipynb_checkpoints", "__pycache__",
                          "node_modules", ".venv", "venv"})

#: key -> (folder listings, the analysis as JSON text)
_memory: OrderedDict[str, tuple[dict[str, str], str]] = OrderedDict()
_lock = threading.Lock()
_code_version: str | None = None


def code_version() -> str:
    """A digest of the analysis package's own source: a changed analyser is a new key."""
    global _code_version
    if _code_version is None:
        h = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for path in sorted(here.glob("*.py")) + [here.parent / "notebook.py"]:
            try:
                h.update(path.read_bytes())
            except OSError:  # pragma: no cover - a zipped install: the version will do
                from importlib.metadata import version

                h.update(version("stork_jupyter").encode())
        _code_version = h.hexdigest()
    return _code_version


def content_key(cells: list[Any], nb_dir: Path, label: str) -> str:
    h = hashlib.sha256(code_version().encode())
    h.update(json.dumps([str(Path(nb_dir).resolve()), label]).encode())
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        h.update(json.dumps([index, cell.get("id"), source]).encode())
    return h.hexdigest()


def _listing(folder: str) -> str:
    """A digest of a folder's entries (names, and which are folders): what globs and
    listings see. "" for a folder that cannot be read."""
    try:
        with os.scandir(folder) as it:
            names = sorted(f"{e.name}/" if e.is_dir() else e.name for e in it
                           if e.name not in SKIP_FOLDERS)
    except OSError:
        return ""
    return hashlib.sha1("\0".join(names).encode(), usedforsecurity=False).hexdigest()


def _folders(nb_dir: Path, analysis: Analysis | None,
             extra: dict[str, str] | None = None) -> dict[str, str] | None:
    """Folder -> digest of its entries, for every folder under ``nb_dir`` and every
    folder holding a found file (None: too many folders to be worth it)."""
    listings: dict[str, str] = {}
    for count, (top, dirs, _files) in enumerate(os.walk(nb_dir), 1):
        dirs[:] = [d for d in dirs if d not in SKIP_FOLDERS]
        if count > MAX_FOLDERS:
            return None
        listings[top] = _listing(top)
    folders = set(extra or ())
    if analysis is not None:
        for a in analysis.accesses:
            if a.resolved and a.path and not a.remote:
                folders.add(os.path.dirname(os.path.abspath(nb_dir / a.path)))
    for folder in folders - listings.keys():
        listings[folder] = _listing(folder)
    return listings


def _to_json(analysis: Analysis) -> dict[str, Any]:
    def plain(obj) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    return {"notebook": analysis.notebook,
            "accesses": [plain(a) for a in analysis.accesses],
            "problems": [plain(p) for p in analysis.problems]}


def _from_json(text: str, nb_dir: Path) -> Analysis:
    data = json.loads(text)
    accesses = [DataAccess(**a) for a in data["accesses"]]
    for a in accesses:  # a file rewritten in place keeps its folder's time: stat again
        if a.resolved and a.path and not a.remote:
            try:
                st = (nb_dir / a.path).stat()
                a.exists, a.size = os.path.isfile(nb_dir / a.path), st.st_size
            except OSError:
                a.exists, a.size = False, None
    return Analysis(data["notebook"], accesses,
                    [CellProblem(**p) for p in data["problems"]])


def _disk_path(folder: Path, key: str) -> Path:
    return folder / f"analysis-{key[:32]}.json"


def _lookup(key: str, nb_dir: Path, folder: Path | None) -> str | None:
    with _lock:
        entry = _memory.get(key)
        if entry is not None:
            _memory.move_to_end(key)
    if entry is None and folder is not None:
        try:
            stored = json.loads(_disk_path(folder, key).read_text())
            if stored.get("key") == key:
                entry = (stored["folders"], json.dumps(stored["analysis"]))
        except (OSError, ValueError, KeyError, TypeError):
            entry = None
    if entry is None:
        return None
    times, data = entry
    if _folders(nb_dir, None, times) != times:
        return None
    return data


def _store(key: str, times: dict[str, str], text: str, folder: Path | None) -> None:
    with _lock:
        _memory[key] = (times, text)
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
    if folder is None:
        return
    try:  # a cache that cannot be written is no cache, never an error
        folder.mkdir(parents=True, exist_ok=True)
        path = _disk_path(folder, key)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(f'{{"key": {json.dumps(key)}, "folders": {json.dumps(times)}, '
                       f'"analysis": {text}}}')
        os.replace(tmp, path)
        entries = sorted(folder.glob("analysis-*.json"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-DISK_ENTRIES]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def cached_analysis(cells: list[Any], nb_dir: Path, label: str,
                    folder: Path | None = None) -> Analysis:
    """``analyze_cells(cells, nb_dir, label)``, or the same result remembered from an
    earlier analysis of the same content with the same files around it. ``folder``: where
    entries are also kept on disk (None: in memory only)."""
    from .analyzer import analyze_cells

    nb_dir = Path(nb_dir)
    key = content_key(cells, nb_dir, label)
    text = _lookup(key, nb_dir, folder)
    if text is not None:
        return _from_json(text, nb_dir)
    before = _folders(nb_dir, None)
    analysis = analyze_cells(cells, nb_dir, label)
    times = _folders(nb_dir, analysis, before)
    if times is None or before is None or any(times[f] != d for f, d in before.items()):
        return analysis  # something changed while it was analysed
    data = _to_json(analysis)
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):  # a literal JSON cannot hold (bytes, a set)
        return analysis
    if json.loads(text) == data:  # only what comes back exactly (no tuple -> list)
        _store(key, times, text, folder)
    return analysis


def clear_memory() -> None:
    with _lock:
        _memory.clear()
