"""The metadata store: what stork found, moved and rewrote (SQLite or PostgreSQL)."""

from .api import MetadataStore, existing_store, open_store, store_exists
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
    "existing_store",
    "now_iso",
    "open_store",
    "store_exists",
]
