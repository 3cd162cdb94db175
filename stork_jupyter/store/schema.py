"""The metadata schema as SQLAlchemy Core tables (no ORM), one per entity.

Table names carry a ``stork_`` prefix because a team-shared PostgreSQL store may
be the very database data is migrated into, where a file called ``job.csv``
becomes a table ``job``. Column names equal the dataclass field names in
``models.py``, which is all the mapping there is.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .models import (
    Dataset,
    Datastore,
    Entity,
    Job,
    Location,
    Project,
    Record,
    Reservation,
    Transfer,
)

#: Bump when the tables change, and teach ``MetadataStore`` to migrate from the old one.
#: (A new table needs no bump: opening a store creates the tables it lacks, and an older
#: stork_jupyter ignores tables it does not know.)
SCHEMA_VERSION = 1

metadata = MetaData()

# ISO-8601 strings sort in time order, and behave the same on SQLite and PostgreSQL.
_TIMESTAMP = String(40)


def _json() -> JSON:
    # none_as_null: a None field is SQL NULL, not the JSON text 'null'.
    return JSON(none_as_null=True)


meta_table = Table(
    "stork_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

project_table = Table(
    "stork_project",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("root", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("created_at", _TIMESTAMP),
)

datastore_table = Table(
    "stork_datastore",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", _TIMESTAMP),
)

dataset_table = Table(
    "stork_dataset",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "project_id", Integer, ForeignKey("stork_project.id", ondelete="CASCADE"), nullable=False
    ),
    Column("source_path", Text, nullable=False),
    Column("format", String(32)),
    Column("size", BigInteger),
    Column("sha256", String(64)),
    Column("schema", _json()),
    Column("row_count", BigInteger),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", _TIMESTAMP),
    Column("updated_at", _TIMESTAMP),
    # Also serves lookups and listings by project_id (its leading column).
    UniqueConstraint("project_id", "source_path", name="uq_stork_dataset_path"),
)

job_table = Table(
    "stork_job",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey("stork_project.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False),
    Column("notebook", Text),
    Column("destination", Text),
    Column("status", String(16), nullable=False, default="pending"),
    Column("progress", Float, nullable=False, default=0.0),
    Column("created_at", _TIMESTAMP),
    Column("started_at", _TIMESTAMP),
    Column("finished_at", _TIMESTAMP),
    Column("counts", _json()),
    Column("error", Text),
    Column("options", _json()),
    Index("ix_stork_job_status", "status"),
    Index("ix_stork_job_notebook", "notebook"),
    Index("ix_stork_job_project_id", "project_id"),
)

transfer_table = Table(
    "stork_transfer",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("stork_job.id", ondelete="CASCADE"), nullable=False),
    Column("dataset_id", Integer, ForeignKey("stork_dataset.id", ondelete="SET NULL")),
    Column("source", Text, nullable=False, default=""),
    Column("target", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="pending"),
    Column("bytes_total", BigInteger),
    Column("bytes_done", BigInteger, nullable=False, default=0),
    Column("rows", BigInteger),
    Column("parts_done", Integer, nullable=False, default=0),
    Column("sha256", String(64)),
    Column("state", _json()),
    Column("error", Text),
    Column("started_at", _TIMESTAMP),
    Column("finished_at", _TIMESTAMP),
    Index("ix_stork_transfer_job_id", "job_id"),
    Index("ix_stork_transfer_status", "status"),
    Index("ix_stork_transfer_dataset_id", "dataset_id"),
)

record_table = Table(
    "stork_record",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # SET NULL, not CASCADE: a record holds the original source undo needs, so it
    # must outlive the job that wrote it.
    Column("job_id", Integer, ForeignKey("stork_job.id", ondelete="SET NULL")),
    Column("project_id", Integer, ForeignKey("stork_project.id", ondelete="CASCADE")),
    Column("notebook", Text, nullable=False),
    Column("cell_id", Text),
    Column("cell_index", Integer),
    Column("line", Integer),
    Column("api", Text),
    Column("original_source", Text, nullable=False, default=""),
    Column("new_source", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="applied"),
    Column("created_at", _TIMESTAMP),
    Index("ix_stork_record_job_id", "job_id"),
    Index("ix_stork_record_project_id", "project_id"),
    Index("ix_stork_record_notebook", "notebook"),
    Index("ix_stork_record_status", "status"),
)

location_table = Table(
    "stork_location",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "dataset_id", Integer, ForeignKey("stork_dataset.id", ondelete="CASCADE"), nullable=False
    ),
    Column("datastore_id", Integer, ForeignKey("stork_datastore.id", ondelete="SET NULL")),
    Column("url", Text, nullable=False),
    Column("table_name", Text),
    Column("job_id", Integer, ForeignKey("stork_job.id", ondelete="SET NULL")),
    Column("created_at", _TIMESTAMP),
    Index("ix_stork_location_dataset_id", "dataset_id"),
    Index("ix_stork_location_job_id", "job_id"),
)

reservation_table = Table(
    "stork_reservation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: the destination's identity (URL without secrets; PostgreSQL: with its schema)
    Column("destination", Text, nullable=False),
    #: the name there: ``table:<name>`` or ``file:<key>`` (PostgreSQL), else the key
    Column("name", Text, nullable=False),
    Column("owner", String(64), nullable=False),  #: names.dataset_owner of the source
    Column("source_path", Text, nullable=False, default=""),  #: for messages
    Column("sha256", String(64)),  #: the source's content (None: a name a notebook writes)
    Column("job_id", Integer, ForeignKey("stork_job.id", ondelete="SET NULL")),
    Column("created_at", _TIMESTAMP),
    # What makes a name belong to one dataset, whichever process asks first.
    UniqueConstraint("destination", "name", name="uq_stork_reservation_name"),
    Index("ix_stork_reservation_job_id", "job_id"),
)

#: The table of each entity class.
TABLES: dict[type[Entity], Table] = {
    Project: project_table,
    Datastore: datastore_table,
    Dataset: dataset_table,
    Location: location_table,
    Job: job_table,
    Transfer: transfer_table,
    Record: record_table,
    Reservation: reservation_table,
}
