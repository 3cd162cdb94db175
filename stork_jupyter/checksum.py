"""Streaming sha256 of files: computed in fixed-size chunks, never the whole file in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_file(path: Path, chunk: int = CHUNK) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_once(path: Path, digests: dict[Path, str]) -> str:
    """sha256 of ``path``, computed once per ``digests`` (a plan's memo) however many
    names and moves need it."""
    if path not in digests:
        digests[path] = sha256_file(path)
    return digests[path]
