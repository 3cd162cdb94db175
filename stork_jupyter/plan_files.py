"""Helpers both planners use for file-system operations and shell lines."""

from __future__ import annotations

import posixpath
from pathlib import Path

from .analysis import DataAccess


def op_details(a: DataAccess) -> dict:
    """What the rewrite of a file-system operation or shell line needs to know."""
    details: dict = {}
    if a.op:
        details["op"] = a.op
    if a.role:
        details["role"] = a.role
    if a.api.startswith("shell."):
        details["options"] = dict(a.kwargs)
        details["label"] = a.raw_path
    return details


def folder_files(nb_dir: Path, folder: str) -> list[str]:
    """Every file under ``folder`` (relative to the notebook's folder), sorted."""
    root = nb_dir / folder
    return sorted(posixpath.normpath(f"{folder}/{p.relative_to(root).as_posix()}")
                  for p in root.rglob("*") if p.is_file())
