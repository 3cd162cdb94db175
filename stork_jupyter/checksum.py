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
import sys
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
#: The interpreter's switch interval while the early digests run beside a command's
#: imports: each hashed block waits for the interpreter once or twice, and the importing
#: thread holds it for up to the interval (5 ms by default: beside a busy thread a 500 MB
#: hash took 1.11 s instead of 0.43 s; at 0.5 ms, 0.52 s).
EARLY_SWITCH = 0.0005
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
    # one buffer read into again and again: no block of its size allocated and freed
    # per read (which moves the allocator's thresholds and keeps memory about)
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        before = _stat_key(f.fileno())
        while n := f.readinto(buffer):
            if stop is not None and stop.is_set():
                raise _Stopped
            h.update(view[:n])
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
        #: None: the file is trusted as unchanged, its stat checked again at the end
        self._hash = None if unchanged(path, sha256) else hashlib.sha256()

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
    moves need it. :meth:`start` queues files for a thread of its own, which hashes them
    in order (hashing holds no interpreter lock: the plan goes on meanwhile); :meth:`of`
    waits for the file that thread is hashing, and hashes one it has not begun itself.
    Used as a context manager, it is closed on the way out."""

    def __init__(self, switch: float | None = None) -> None:
        #: the switch interval while hashing (None: the interpreter's own)
        self._switch = switch
        self._done: dict[Path, str] = {}
        self._queued: list[Path] = []
        self._current: Path | None = None  #: what the thread is hashing now
        self._running = False
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, paths: Iterable[Path]) -> Digests:
        with self._cond:
            for path in dict.fromkeys(Path(p) for p in paths):
                if path not in self._done and path not in self._queued and (
                        path != self._current):
                    self._queued.append(path)
            if self._queued and not self._running and not self._stop.is_set():
                self._running = True
                self._thread = threading.Thread(target=self._run, name="stork-digests",
                                                daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        if self._switch is None:
            return self._hash_queued()
        before = sys.getswitchinterval()
        sys.setswitchinterval(self._switch)
        try:
            self._hash_queued()
        finally:
            sys.setswitchinterval(before)

    def _hash_queued(self) -> None:
        while True:
            with self._cond:
                if not self._queued or self._stop.is_set():
                    self._running = False
                    self._cond.notify_all()
                    return
                path = self._current = self._queued.pop(0)
            try:
                digest = remembered(path) or sha256_file(path, PLAN_CHUNK, self._stop)
            except (_Stopped, OSError):  # (an error is named where the digest is asked for)
                digest = None
            with self._cond:
                self._current = None
                if digest is not None:
                    self._done[path] = digest
                self._cond.notify_all()

    def of(self, path: Path) -> str:
        path = Path(path)
        with self._cond:
            while path == self._current:
                self._cond.wait()
            if path in self._done:
                return self._done[path]
            if path in self._queued:  # not begun: hashed here, beside the thread's file
                self._queued.remove(path)
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

    def __enter__(self) -> Digests:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: digests a command began before its imports (:func:`begin_early`), for its plan
_early: Digests | None = None


def begin_early(paths: Iterable[Path]) -> None:
    """Begin hashing ``paths`` now, for the plan this process is about to make."""
    global _early
    _early = Digests(switch=EARLY_SWITCH).start(paths)


def plan_digests(paths: Iterable[Path]) -> Digests:
    """A plan's :class:`Digests`, ``paths`` queued: those begun early (once), else new."""
    global _early
    digests, _early = _early or Digests(), None
    return digests.start(paths)
