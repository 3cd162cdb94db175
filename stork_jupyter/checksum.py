"""Streaming sha256 of files: computed in fixed-size chunks, never the whole file in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1024 * 1024
#: The plan's pass reads 8 MB at a time: hashing releases the interpreter, and each block
#: takes it back at most twice, however busy another thread keeps it (the S3 client being
#: built meanwhile); 1 MB blocks spent a quarter of such a pass waiting for it.
PLAN_CHUNK = 8 * 1024 * 1024


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
        digests[path] = sha256_file(path, PLAN_CHUNK)
    return digests[path]
