"""What every destination backend offers, and the registry that picks one by URL scheme."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import StorkError

#: Called with the number of bytes just moved.
Progress = Callable[[int], None]


class DestinationError(StorkError):
    """The destination refused or cannot be reached; the message says which and why."""


class SourceChanged(DestinationError):
    """The source's bytes are not the planned ones: nothing of it is kept (no partial
    state to resume from)."""


class TransferContext:
    """What a resumable transfer gets from whoever runs it (``transfer.TransferRunner``).

    ``state`` is the backend's resumable state recorded by an earlier, interrupted run of
    the same transfer (``{}`` the first time); :meth:`record` changes it (``durable=True``:
    written to the store before returning, for what must never be lost, e.g. an S3
    upload id before its first part is sent). :meth:`progress` reports bytes moved now,
    :meth:`resumed` bytes found already at the destination. Thread-safe: parts sent in
    parallel record themselves.
    """

    def __init__(self, state: dict[str, Any] | None = None, job_id: int | None = None,
                 progress: Progress | None = None,
                 save: Callable[[dict[str, Any], bool], None] | None = None,
                 resumed: Progress | None = None):
        self.state: dict[str, Any] = dict(state or {})
        self.job_id = job_id
        self._progress = progress
        self._resumed = resumed or progress
        self._save = save
        self._lock = threading.Lock()

    def record(self, durable: bool = False, **changes: Any) -> None:
        with self._lock:
            self.state.update(changes)
            snapshot = dict(self.state)
        if self._save:
            self._save(snapshot, durable)

    def add_part(self, part: dict[str, Any]) -> None:
        """An S3 part finished: ``{"n": number, "etag": ..., "size": ...}``."""
        with self._lock:
            parts = [p for p in self.state.get("parts", []) if p["n"] != part["n"]]
            self.state["parts"] = sorted([*parts, part], key=lambda p: p["n"])
            snapshot = dict(self.state)
        if self._save:
            self._save(snapshot, False)

    def progress(self, n: int) -> None:
        if self._progress and n:
            self._progress(n)

    def resumed(self, n: int) -> None:
        if self._resumed and n:
            self._resumed(n)


@dataclass
class PutResult:
    target: str  #: where the bytes are now (path or URL)
    bytes: int
    sha256: str
    skipped: bool = False  #: the same content was already there
    parts: int = 1


class Backend(Protocol):
    kind: str  #: "file" or "s3"
    url: str  #: the destination's base URL, without secrets

    def check(self) -> None:
        """Fail now, before anything moves, when the destination cannot be written."""

    def target(self, key: str) -> str:
        """The path or URL the migrated notebook uses for ``key``."""

    def put(self, source: Path, key: str, sha256: str, progress: Progress | None = None
            ) -> PutResult:
        """Copy ``source`` to ``key``, verified; nothing is sent when it is already there."""

    def prepare_write(self, key: str) -> None:
        """Make ``key`` writable by the notebook (parent folders for files)."""

    # Optional (the transfer runner falls back to ``put`` without them):
    #
    # def put_resumable(self, source, key, sha256, ctx: TransferContext) -> PutResult:
    #     """``put``, recording in ``ctx`` what an interrupted run needs to continue,
    #     and continuing from ``ctx.state`` when it is not empty."""
    #
    # def abandon(self, key, state) -> None:
    #     """Remove the partial state an unfinished ``put_resumable`` left (S3: abort the
    #     multipart upload; files: delete the .part file)."""
    #
    # def remove(self, key) -> None:
    #     """Delete the finished copy at ``key`` (cancel of a job that created it)."""


class BackendRegistry:
    """Backends by destination kind; other packages may register their own."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[str], Backend]] = {}

    def register(self, kind: str, factory: Callable[[str], Backend]) -> None:
        self._factories[kind] = factory

    def open(self, kind: str, url: str) -> Backend:
        try:
            factory = self._factories[kind]
        except KeyError:
            raise DestinationError(
                f"{kind} destinations are not supported yet (destination {url})") from None
        return factory(url)


backends = BackendRegistry()
