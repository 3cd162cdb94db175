"""The metadata store: what stork found, moved and rewrote (SQLite or PostgreSQL)."""

from .api import MetadataStore, open_store
from .models import (
    DATASTORE_KINDS,
    ENTITIES,
    FINISHED_STATUSES,
    JOB_KINDS,
    RECORD_STATUSES,
    STATUSES,
    Dataset,
    Datastore,
    Entity,
    Job,
    Location,
    Project,
    Record,
    Reservation,
    Transfer,
    now_iso,
)
from .schema import SCHEMA_VERSION

__all__ = [
    "DATASTORE_KINDS",
    "ENTITIES",
    "FINISHED_STATUSES",
    "JOB_KINDS",
    "RECORD_STATUSES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Dataset",
    "Datastore",
    "Entity",
    "Job",
    "Location",
    "MetadataStore",
    "Project",
    "Record",
    "Reservation",
    "Transfer",
    "now_iso",
    "open_store",
]
