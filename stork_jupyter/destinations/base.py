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


#: a content's sha256, a function giving it (asked for only where it is needed), or None
Digest = str | Callable[[], str] | None


def digest_value(sha256: Digest) -> str | None:
    """The sha256 a :data:`Digest` stands for."""
    return sha256() if callable(sha256) else sha256


class DestinationError(StorkError):
    """The destination refused or cannot be reached; the message says which and why."""


class SourceChanged(DestinationError):
    """The source's bytes are not the planned ones: nothing of it is kept (no partial
    state to resume from)."""


class DestinationTaken(DestinationError):
    """The name a transfer was writing holds another dataset now (a migration that
    shares no store with this one wrote it meanwhile): nothing was overwritten."""

    job_id: int | None = None  #: the job whose transfer was refused (set by its runner)

    def __init__(self, target: str):
        self.target = target
        super().__init__(f"{target} now holds other data (another migration wrote it "
                         "meanwhile); it was not overwritten")


class TransferContext:
    """What a resumable transfer gets from whoever runs it (``transfer.TransferRunner``).

    ``state`` is the backend's resumable state recorded by an earlier, interrupted run of
    the same transfer (``{}`` the first time); :meth:`record` changes it (``durable=True``:
    written to the store before returning, for what must never be lost, e.g. an S3
    upload id before its first part is sent). :meth:`progress` reports bytes moved now,
    :meth:`resumed` bytes found already at the destination. Thread-safe: parts sent in
    parallel record themselves.

    ``owner`` is the dataset's identity (``names.move_owner``), written next to the
    content where the destination keeps metadata. ``state["replaces"]`` (set by
    ``sync``) is the sha256 of this dataset's earlier content, which the put may
    overwrite; any other content already at the name is never overwritten.
    """

    def __init__(self, state: dict[str, Any] | None = None, job_id: int | None = None,
                 progress: Progress | None = None,
                 save: Callable[[dict[str, Any], bool], None] | None = None,
                 resumed: Progress | None = None, owner: str | None = None):
        self.state: dict[str, Any] = dict(state or {})
        self.job_id = job_id
        self.owner = owner
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
    """Everything the lifecycle (migrate, resume, cancel, import, sync) asks of a
    destination. A new kind is one module: a class that subclasses this (inheriting the
    defaults below) and a ``backends.register`` line. No module outside ``destinations/``
    looks at ``kind`` to decide what to call."""

    kind: str  #: "file", "s3", "postgresql"
    url: str  #: the destination's base URL, without secrets

    # ----------------------------------------------------------------- files (every kind)

    def check(self) -> None:
        """Fail now, before anything moves, when the destination cannot be written."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Begin in the background what the first call to the destination needs (a
        client), while the plan hashes the files; errors wait for that first call. The
        default: nothing to begin."""

    def target(self, key: str) -> str:
        """The path or URL the migrated notebook uses for ``key``."""
        raise NotImplementedError

    def prepare_write(self, key: str) -> None:
        """Make ``key`` writable by the notebook (parent folders for files)."""
        raise NotImplementedError

    def put(self, source: Path, key: str, sha256: str, progress: Progress | None = None
            ) -> PutResult:
        """Copy ``source`` to ``key``, verified; nothing is sent when it is already there."""
        raise NotImplementedError

    def put_resumable(self, source: Path, key: str, sha256: str, ctx: TransferContext
                      ) -> PutResult:
        """``put``, recording in ``ctx`` what an interrupted run needs to continue, and
        continuing from ``ctx.state`` when it is not empty. The default has nothing to
        continue from: it records whether the copy is new (so a cancel knows whether it
        may remove it), then puts."""
        if "created" not in ctx.state:
            ctx.record(durable=True, created=not self.exists(key))
        return self.put(source, key, sha256, ctx.progress)

    def exists(self, key: str) -> bool:
        """A finished copy is at ``key``."""
        raise NotImplementedError

    def holds(self, key: str, sha256: str | None) -> bool:
        """The content at ``key`` is ``sha256`` (what a cancel may remove as its own).
        The default, for a destination that cannot tell: a copy is there."""
        return self.exists(key)

    def fetch(self, key: str, dest: Path, expected_sha256: str | None,
              progress: Progress | None = None) -> None:
        """Write the bytes at ``key`` to the local file ``dest`` (the import direction);
        refuse when the destination itself records other content than ``expected_sha256``."""
        raise NotImplementedError

    def abandon(self, key: str, state: dict[str, Any], *, job_id: int | None = None,
                since: str | None = None) -> list[str]:
        """Remove the partial state an unfinished ``put_resumable`` left (its ``state``;
        with ``job_id`` / ``since`` also what that job may have begun before recording it);
        returns what was removed, for people. The default: there is no partial state."""
        return []

    def remove(self, key: str) -> None:
        """Delete the finished copy at ``key`` (cancel of the job that created it)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- names

    def identity(self) -> str:
        """The destination in name reservations (``names``): what makes two URLs one
        place (a folder's absolute path; no user or password)."""
        return self.url

    def reserved_name(self, key: str | None = None, table: str | None = None) -> str:
        """``key`` (or ``table``) as reservations spell it, unique within :meth:`identity`."""
        return key if table is None else f"table:{table}"

    def free_for(self, key: str, sha256: Digest) -> bool:
        """Whether ``key`` may receive the content ``sha256``: nothing is there, or that
        very content (``sha256`` None, a name the notebook writes: only nothing; a
        function giving it is called only where something is there)."""
        return not self.exists(key)

    def table_owners(self) -> dict[str, str | None]:
        """Every table (relation) name in use and the dataset its tag names (None: not
        one stork loaded)."""
        return {}

    # ----------------------------------------------------------------- tables

    #: True where tabular files become typed tables (PostgreSQL); the table methods
    #: below are only called for moves that the planner gave a table.
    holds_tables: bool = False

    def table_exists(self, table: str) -> bool:
        return False

    def load_table(self, source: Path, api: str, options: dict[str, Any], table: str,
                   progress: Progress | None = None, **settings: Any) -> Any:
        raise DestinationError(f"{self.kind} destinations hold files, not tables")

    def read_table(self, table: str, schema: dict[str, Any]) -> Any:
        """The table as the notebook's original read call gave the file (a DataFrame)."""
        raise DestinationError(f"{self.kind} destinations hold files, not tables")

    def drop_staging(self, table: str) -> list[str]:
        """Drop what unfinished loads of ``table`` left; returns their names."""
        return []

    def drop_table(self, table: str) -> None:
        raise DestinationError(f"{self.kind} destinations hold files, not tables")


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
