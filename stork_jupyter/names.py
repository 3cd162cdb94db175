"""Who owns a destination name: the identity of the source dataset behind a table, an
object key or a file at a destination.

A name (PostgreSQL table, S3 key, file in a folder) holds one source dataset: the file at
one resolved path (and, for a table, read with one set of parsing options). Its owner is
a digest of that identity; the content's sha256 is kept next to it, because only the same
path with the same content may share a name (a re-migration, two notebooks reading one
file). Anything else gets another name.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path
from typing import Any

from .destinations.base import DestinationError, Digest, digest_value

OWNER_LENGTH = 32  #: hex digits of an owner digest


def dataset_owner(source: Path | str, options: dict[str, Any] | None = None, *,
                  write: bool = False) -> str:
    """The owner digest of the dataset at ``source`` (read with ``options``). A name a
    notebook writes (``write``) is owned by the local path it wrote before migration."""
    identity = [Path(source).resolve().as_posix(), "write" if write else "read",
                options or {}]
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:OWNER_LENGTH]


def move_owner(source: Path, move) -> str:
    """The owner of a plan's move (``plan.DatasetMove``): tables include the parsing
    options (the same file read two ways is two tables)."""
    return dataset_owner(source, move.options if move.table else None)


def destination_identity(backend) -> str:
    """The identity of a destination in reservations (``Backend.identity``)."""
    return backend.identity()


def reserved_name(backend, key: str | None = None, table: str | None = None) -> str:
    """A destination's name for a key or table, as reservations spell it."""
    return backend.reserved_name(key, table)


def suffixed(key: str, n: int, sep: str = "-") -> str:
    """``dir/stem-2.ext`` for ``dir/stem.ext`` (the n-th alternative of a file's name)."""
    folder, name = posixpath.split(key)
    stem, ext = posixpath.splitext(name)
    return posixpath.join(folder, f"{stem}{sep}{n}{ext}")


class NameBook:
    """The names a plan may take at one destination: what the metadata store says is
    held (by which owner, content) and what the destination already holds. A name is
    free for an owner when the store holds it for that owner with the same content, or
    nobody holds it and the destination has nothing there but that very content.

    Planning reads; the names are reserved (``MetadataStore.reserve``) when the job
    starts, and a name taken meanwhile makes the migration plan again."""

    def __init__(self, backend, held: dict[str, Any] | None = None):
        self.backend = backend
        self.destination = destination_identity(backend)
        self.held = held or {}  #: name -> store.Reservation
        self._tables: dict[str, str | None] | None = None

    @classmethod
    def load(cls, backend, store_url: str | None) -> NameBook:
        """The book of ``backend``'s destination from the store at ``store_url`` (an
        absent SQLite store holds nothing: planning does not create it)."""
        book = cls(backend)
        if not store_url:
            return book
        from .store import MetadataStore, Reservation, store_exists

        if not store_exists(store_url):
            return book

        with MetadataStore(store_url) as metadata:
            book.held = {r.name: r for r in metadata.list(
                Reservation, destination=book.destination, limit=None)}
        return book

    def free(self, name: str, owner: str, sha256: Digest, *,
             key: str | None = None, table: str | None = None) -> bool:
        """``sha256``: the content's digest, or a function giving it (called only where
        something holds the name: a plan need not wait for a big file's hash)."""
        held = self.held.get(name)
        if held is not None:
            return held.owner == owner and held.sha256 == digest_value(sha256)
        return self._free_there(owner, sha256, key, table)

    def holder(self, name: str) -> str:
        """Who holds ``name``, for a person: its source (and job)."""
        held = self.held.get(name)
        if held is None:
            return "other data already at the destination"
        job = f" (job {held.job_id})" if held.job_id else ""
        return f"{held.source_path or 'another dataset'}{job}"

    def _free_there(self, owner: str, sha256: Digest, key: str | None,
                    table: str | None) -> bool:
        if table is not None:
            if self._tables is None:
                self._tables = self.backend.table_owners()
            return table not in self._tables or self._tables[table] == owner
        try:
            return self.backend.free_for(key, sha256)
        except DestinationError:  # unreachable now (planning offline): the store decides,
            return True  # and the transfer checks again before it writes
