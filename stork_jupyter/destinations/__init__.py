"""Where data goes: a destination URL (or a name from stork.toml) and its backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import StorkError
from ..urls import destination_kind, file_url_path, redact_url, url_scheme
from .base import Backend, DestinationError, DestinationTaken, Progress, PutResult, backends
from .local import LocalBackend, folder_of
from .s3 import S3Backend

backends.register("file", LocalBackend)
backends.register("s3", S3Backend)


def _postgres(url: str) -> Backend:
    from .postgres import PostgresBackend  # psycopg only when a PostgreSQL URL is used

    return PostgresBackend(url)


backends.register("postgresql", _postgres)


@dataclass
class DestinationSpec:
    """A destination as the user named it, resolved to a URL, kind and layout."""

    url: str
    kind: str
    layout: str = "mirror"
    name: str | None = None

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    def to_store(self) -> dict[str, str | None]:
        """The form a job's options keep (the URL carries no secret: see redact_url)."""
        return {"url": self.url, "kind": self.kind, "layout": self.layout, "name": self.name}

    @classmethod
    def of_job(cls, job: Any) -> DestinationSpec:
        """The destination a store ``Job`` recorded in its options (see ``to_store``)."""
        s = (job.options or {}).get("spec")
        if not s:
            raise StorkError(f"job {job.id} was recorded by an older stork and cannot be resumed")
        return cls(s["url"], s["kind"], s.get("layout") or "mirror", s.get("name"))


def resolve_destination(to: str, config: Config, layout: str | None = None) -> DestinationSpec:
    """``to`` is a name from stork.toml, a URL, or a folder path."""
    if to in config.destinations:
        d = config.destinations[to]
        url = d.url
        if d.kind == "file" and file_url_path(url) is None:
            url = (config.root / Path(url).expanduser()).resolve().as_posix()  # stork.toml-relative
        return DestinationSpec(url, d.kind, layout or d.layout, d.name)
    if url_scheme(to) is None and not to.startswith(("/", ".", "~")) and "/" not in to \
            and config.path:
        config.destination(to)  # raises ConfigError listing the known names
    kind = destination_kind(to)
    url = to
    if kind == "file":
        url = folder_of(to).as_posix()
    return DestinationSpec(url, kind, layout or "mirror", None)


def open_backend(spec: DestinationSpec) -> Backend:
    return backends.open(spec.kind, spec.url)


__all__ = ["Backend", "DestinationError", "DestinationSpec", "DestinationTaken", "LocalBackend", "Progress",
           "PutResult", "S3Backend", "backends", "folder_of", "open_backend",
           "resolve_destination"]

