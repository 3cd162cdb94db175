"""Plain value types for the metadata store, one dataclass per entity.

They know nothing about SQL: ``schema.py`` maps each to a table whose columns
have the same names as the fields. Timestamps are ISO-8601 UTC strings
(``2024-05-01T12:00:00.123456+00:00``) so every object is JSON-ready as is;
``MetadataStore.save`` also accepts ``datetime`` values and converts them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, ClassVar

STATUSES = ("pending", "running", "paused", "completed", "failed", "cancelled")
#: Statuses after which a job or transfer does not change any more.
FINISHED_STATUSES = ("completed", "failed", "cancelled")
JOB_KINDS = ("analyze", "migrate", "import", "sync", "undo")
#: The kinds a job list shows unless asked for more: an analysis records what it found
#: (datasets, counts) but is not work a person follows, so it is listed only on request.
LISTED_KINDS = tuple(k for k in JOB_KINDS if k != "analyze")
#: What people filter jobs by: the stored statuses and ``interrupted`` (a ``running``
#: job whose process is gone; see ``jobs.list_jobs``).
JOB_STATES = (*STATUSES, "interrupted")
DATASTORE_KINDS = ("file", "s3", "postgresql")
RECORD_STATUSES = ("applied", "undone")


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def to_iso(value: datetime | str | None) -> str | None:
    """A timestamp as an ISO-8601 UTC string; naive datetimes are taken as UTC."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


class Entity:
    """Mixin for the entity dataclasses: the table's name and JSON output."""

    entity: ClassVar[str]  #: singular name, used in messages and by the doors
    #: Fields holding URLs: redacted before they are stored.
    url_fields: ClassVar[tuple[str, ...]] = ()
    #: JSON fields whose nested string values are redacted when they look like URLs.
    json_fields: ClassVar[tuple[str, ...]] = ()
    id: int | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of all fields."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(kw_only=True)
class Project(Entity):
    """A folder of notebooks (with its ``stork.toml``)."""

    entity: ClassVar[str] = "project"

    id: int | None = None
    root: str  #: absolute path, unique
    name: str = ""
    created_at: str | None = None


@dataclass(kw_only=True)
class Datastore(Entity):
    """A named destination: its URL (no secrets) and kind."""

    entity: ClassVar[str] = "datastore"
    url_fields: ClassVar[tuple[str, ...]] = ("url",)

    id: int | None = None
    name: str  #: unique
    url: str
    kind: str  #: one of DATASTORE_KINDS
    created_at: str | None = None


@dataclass(kw_only=True)
class Dataset(Entity):
    """A piece of data found in a project, identified by its source path."""

    entity: ClassVar[str] = "dataset"

    id: int | None = None
    project_id: int
    source_path: str  #: relative to the project root, POSIX separators
    format: str | None = None
    size: int | None = None
    sha256: str | None = None
    schema: list[dict[str, Any]] | None = None  #: [{"name": ..., "type": ...}]
    row_count: int | None = None
    version: int = 1
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(kw_only=True)
class Location(Entity):
    """One place a dataset has been migrated to."""

    entity: ClassVar[str] = "location"
    url_fields: ClassVar[tuple[str, ...]] = ("url",)

    id: int | None = None
    dataset_id: int
    url: str
    datastore_id: int | None = None
    table_name: str | None = None  #: set when the data is a PostgreSQL table
    job_id: int | None = None
    created_at: str | None = None


@dataclass(kw_only=True)
class Job(Entity):
    """One analyze / migrate / import / sync / undo run."""

    entity: ClassVar[str] = "job"
    url_fields: ClassVar[tuple[str, ...]] = ("destination",)
    json_fields: ClassVar[tuple[str, ...]] = ("options",)

    id: int | None = None
    project_id: int | None = None
    kind: str  #: one of JOB_KINDS
    notebook: str | None = None  #: relative to the project root
    destination: str | None = None
    status: str = "pending"
    progress: float = 0.0  #: 0..1
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def notebooks(self) -> tuple[str | None, str | None]:
        """(the notebook the job read, the notebook it wrote), relative to the project.

        A migrate job keeps the notebook it wrote in ``notebook`` and the one it read in
        ``options["source_notebook"]`` (the same path for ``--in-place``); the output is
        None for a job that writes no notebook (analyze, import)."""
        options = self.options or {}
        source = options.get("source_notebook")
        if not isinstance(source, str):
            return self.notebook, None
        output, root = options.get("output"), options.get("project_root")
        if "notebooks" in options and not options.get("in_place") and isinstance(
                output, str) and isinstance(root, str):
            # a project job: ``notebook`` is the folder it read; -o named the folder written
            out = PurePosixPath(output)
            return source, (out.relative_to(root).as_posix() if out.is_relative_to(root)
                            else output)
        return source, self.notebook


@dataclass(kw_only=True)
class Transfer(Entity):
    """One dataset moved within a job, with what is needed to resume it."""

    entity: ClassVar[str] = "transfer"
    url_fields: ClassVar[tuple[str, ...]] = ("source", "target")
    json_fields: ClassVar[tuple[str, ...]] = ("state",)

    id: int | None = None
    job_id: int
    dataset_id: int | None = None
    source: str = ""
    target: str = ""
    status: str = "pending"
    bytes_total: int | None = None
    bytes_done: int = 0
    rows: int | None = None
    parts_done: int = 0
    sha256: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  #: e.g. upload id and finished parts
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


@dataclass(kw_only=True)
class Record(Entity):
    """One data access rewritten in a notebook; ``original_source`` lets undo restore it."""

    entity: ClassVar[str] = "record"

    id: int | None = None
    job_id: int | None = None
    project_id: int | None = None
    notebook: str  #: relative to the project root
    cell_id: str | None = None
    cell_index: int | None = None
    line: int | None = None
    api: str | None = None
    original_source: str = ""
    new_source: str = ""
    status: str = "applied"  #: one of RECORD_STATUSES
    created_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        # the number people see next to the 0-based index (see stork_jupyter.cells)
        data = super().to_json()
        data["cell_number"] = None if self.cell_index is None else self.cell_index + 1
        return data


@dataclass(kw_only=True)
class Reservation(Entity):
    """A destination name (table, key, file) held by one source dataset (see ``names``)."""

    entity: ClassVar[str] = "reservation"
    url_fields: ClassVar[tuple[str, ...]] = ("destination",)

    id: int | None = None
    destination: str
    name: str
    owner: str
    source_path: str = ""
    sha256: str | None = None
    job_id: int | None = None  #: the job that reserved it (resume and cancel act on it)
    created_at: str | None = None


#: Every entity class by its singular name, for doors that take the name from a URL.
ENTITIES: dict[str, type[Entity]] = {
    cls.entity: cls for cls in (Project, Datastore, Dataset, Location, Job, Transfer, Record)
}
