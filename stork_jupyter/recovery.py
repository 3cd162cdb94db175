"""What a migration keeps so that it can always be finished or taken back.

An engine module (no door imports).

- The notebook's exact bytes before the migration, kept content-addressed in
  ``<project root>/.stork/originals/<sha256>.ipynb``: ``undo`` gives them back byte for
  byte (indent, line endings, escaped unicode, nbformat 3...) when the notebook is
  unchanged since the migration, and ``resume`` rewrites them again after a crash that
  happened once an ``--in-place`` notebook was already written.
- A job records, before anything moves, the sha256 of the notebook it will write
  (``written_sha256``), so that ``resume``, ``cancel`` and ``undo`` recognise that
  notebook on disk whatever the job's state.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

from .notebook import write_bytes_atomic

ORIGINALS = (".stork", "originals")

#: TEST HOOK, for tests/reliability/test_recovery.py only: ``STORK_TEST_CRASH_AT=STEP``
#: makes a migrating process kill itself with SIGKILL (a ``kill -9``: no cleanup, no
#: ``finally``) when it reaches STEP, one of :data:`CRASH_STEPS`. Crashes while bytes
#: move use ``STORK_TEST_KILL_AFTER_BYTES`` (see ``transfer``). Never set elsewhere.
CRASH_ENV = "STORK_TEST_CRASH_AT"
CRASH_STEPS = ("planned", "transfers_done", "notebook_written", "records_saved",
               "job_recorded")


#: TEST HOOK, for tests/reliability/test_names_put_time.py only:
#: ``STORK_TEST_BARRIER_AT=STEP:FOLDER:N`` makes a migrating process that reaches STEP
#: leave a file in FOLDER and wait (at most a minute) until N processes have: migrations
#: that share no store then write one destination at the same moment. Never set
#: elsewhere.
BARRIER_ENV = "STORK_TEST_BARRIER_AT"


def crash_point(step: str) -> None:
    """Die here when the test hook asks for this step (see :data:`CRASH_ENV`), or wait
    for other processes there (:data:`BARRIER_ENV`)."""
    if os.environ.get(CRASH_ENV) == step:  # TEST HOOK
        os.kill(os.getpid(), signal.SIGKILL)
    barrier = os.environ.get(BARRIER_ENV, "")  # TEST HOOK
    if barrier.startswith(f"{step}:"):
        _, folder, n = barrier.rsplit(":", 2) if barrier.count(":") >= 2 else ("", "", "0")
        Path(folder, str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(os.listdir(folder)) < int(n) and time.monotonic() < deadline:
            time.sleep(0.02)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _path(root: Path, sha256: str) -> Path:
    return Path(root).joinpath(*ORIGINALS, f"{sha256}.ipynb")


def keep_original(root: Path, data: bytes) -> str:
    """Keep ``data`` (a notebook's bytes) under the project; returns its sha256."""
    digest = sha256_bytes(data)
    path = _path(root, digest)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, data)
    return digest


def original_bytes(root: Path, sha256: str | None) -> bytes | None:
    """The kept bytes with this sha256, None when they are not (or no longer) there or
    do not verify."""
    if not sha256:
        return None
    try:
        data = _path(root, sha256).read_bytes()
    except OSError:
        return None
    return data if sha256_bytes(data) == sha256 else None


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file's bytes, None when it cannot be read."""
    try:
        return sha256_bytes(Path(path).read_bytes())
    except OSError:
        return None


__all__ = ["CRASH_ENV", "CRASH_STEPS", "crash_point", "file_sha256", "keep_original",
           "original_bytes", "sha256_bytes"]
