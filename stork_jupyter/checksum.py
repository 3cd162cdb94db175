"""Streaming sha256 of files: computed in fixed-size chunks, never the whole file in memory.

A file this process hashed is remembered with its stat (size, modification and change
times, inode): a transfer that reads the same, unchanged file again need not hash it a
second time (:func:`unchanged`, :class:`SourceDigest`). The change time cannot be set
back by a writer, so any write after the hash shows (a file written just before is not
remembered: :data:`RACY_NS`); the early PostgreSQL load relies on the same test. A
plan's :class:`Digests` hash its sources in a thread of their own while the plan goes on.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

CHUNK = 1024 * 1024
#: The plan's pass reads 8 MB at a time: hashing releases the interpreter, and each block
#: takes it back at most twice, however busy another thread keeps it (the S3 client being
#: built meanwhile); 1 MB blocks spent a quarter of such a pass waiting for it.
PLAN_CHUNK = 8 * 1024 * 1024
#: how many hashed files this process remembers (a server migrates many notebooks)
_REMEMBERED = 4096
#: A file changed less than this long before its hash began is not remembered: a write
#: in the same tick of a coarse clock (or of a 2-second file system) would leave its stat
#: as it was. Git treats such "racily clean" files the same way.
RACY_NS = 2_000_000_000

_lock = threading.Lock()
_known: OrderedDict[str, tuple[tuple[int, ...], str]] = OrderedDict()


class _Stopped(Exception):
    """A background hash was stopped (its plan is over)."""


def _stat_key(fd: int) -> tuple[int, ...]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def sha256_file(path: Path, chunk: int = CHUNK,
                stop: threading.Event | None = None) -> str:
    """The file's sha256, remembered with its stat when the file did not change while it
    was read (``stop``: set to give up between blocks)."""
    started = time.time_ns()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        before = _stat_key(f.fileno())
        while block := f.read(chunk):
            if stop is not None and stop.is_set():
                raise _Stopped
            h.update(block)
        same = _stat_key(f.fileno()) == before
    digest = h.hexdigest()
    if same and max(before[1], before[2]) < started - RACY_NS:
        name = os.path.realpath(path)
        with _lock:
            _known[name] = (before, digest)
            _known.move_to_end(name)
            while len(_known) > _REMEMBERED:
                _known.popitem(last=False)
    return digest


def remembered(path: Path) -> str | None:
    """The sha256 this process computed of ``path``, if the file has not changed since
    (its stat is the same), else None. The stat is read from the file opened anew: a
    network file system checks its attributes again on open."""
    with _lock:
        known = _known.get(os.path.realpath(path))
    if known is None:
        return None
    try:
        with open(path, "rb") as f:
            return known[1] if _stat_key(f.fileno()) == known[0] else None
    except OSError:
        return None


def unchanged(path: Path, sha256: str | None) -> bool:
    """Whether this process hashed ``path`` as ``sha256`` and the file has not changed
    since."""
    return sha256 is not None and remembered(path) == sha256


class SourceDigest:
    """The check that the bytes a transfer reads from ``path`` are the planned ``sha256``:
    they are hashed as they go, unless this process already hashed the unchanged file,
    whose stat is then checked again once the bytes are read."""

    def __init__(self, path: Path, sha256: str):
        self.path, self.sha256 = path, sha256
        self._trusted = unchanged(path, sha256)
        self._hash = None if self._trusted else hashlib.sha256()

    def restart(self) -> None:
        """The bytes are read again from the start."""
        if self._hash is not None:
            self._hash = hashlib.sha256()

    def update(self, block: bytes) -> None:
        if self._hash is not None:
            self._hash.update(block)

    def matches(self) -> bool:
        if self._hash is None:
            return unchanged(self.path, self.sha256)
        return self._hash.hexdigest() == self.sha256


class Digests:
    """The sha256 of each source of one plan, each computed once however many names and
    moves need it. :meth:`start` hashes the files the analysis names in one thread of its
    own, in order (hashing holds no interpreter lock: the plan goes on meanwhile);
    :meth:`of` waits for a file's digest, or computes it when it was not begun."""

    def __init__(self) -> None:
        self._done: dict[Path, str] = {}
        self._queued: list[Path] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, paths: Iterable[Path]) -> Digests:
        self._queued = list(dict.fromkeys(Path(p) for p in paths))
        if self._queued:
            self._thread = threading.Thread(target=self._run, name="stork-digests",
                                            daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        for path in list(self._queued):
            try:
                digest = remembered(path) or sha256_file(path, PLAN_CHUNK, self._stop)
            except _Stopped:
                digest = None
            except OSError:  # asked for, it is hashed again where the error is named
                digest = None
            with self._cond:
                self._queued.remove(path)
                if digest is not None:
                    self._done[path] = digest
                self._cond.notify_all()
            if self._stop.is_set():
                return

    def of(self, path: Path) -> str:
        path = Path(path)
        with self._cond:
            while path not in self._done and path in self._queued:
                self._cond.wait()
            if path in self._done:
                return self._done[path]
        digest = remembered(path) or sha256_file(path, PLAN_CHUNK)
        with self._cond:
            self._done[path] = digest
        return digest

    def later(self, path: Path) -> Callable[[], str]:
        """``of(path)``, asked for only where it is needed."""
        return lambda: self.of(path)

    def close(self) -> None:
        """Stop hashing what no one asked for yet (the plan is made)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def sha256_once(path: Path, digests: Digests) -> str:
    """sha256 of ``path``, computed once per ``digests`` (a plan's memo)."""
    return digests.of(path)
