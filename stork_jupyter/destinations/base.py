"""What every destination backend offers, and the registry that picks one by URL scheme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import StorkError

#: Called with the number of bytes just moved.
Progress = Callable[[int], None]


class DestinationError(StorkError):
    """The destination refused or cannot be reached; the message says which and why."""


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
