"""``MetadataStore``: the one way every door reads and writes the metadata store.

SQLAlchemy Core over SQLite (default, WAL mode) or PostgreSQL (a team-shared
store). Doors never write SQL of their own; they call ``list``/``count``/``get``
and the few helpers below.
"""

from __future__ import annotations

import builtins
import dataclasses
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    String,
    Table,
    cast,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from ..config import find_project_root, redact_url, resolve_store_url
from ..errors import MissingDependencyError, NotFoundError, StoreError
from .models import (
    DATASTORE_KINDS,
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
    to_iso,
)
from .schema import SCHEMA_VERSION, TABLES, meta_table, metadata

T = TypeVar("T", bound=Entity)

ORDERS = ("newest", "oldest")
#: Escapes ``%``, ``_`` and itself in a search, so the user's text matches literally.
_LIKE_ESCAPE = "\\"
#: values in one IN (...) of list_any
_IN_CHUNK = 500
_INSERT_CHUNK = 1000
# Any constant: serialises schema creation between processes opening one PostgreSQL store.
_PG_SCHEMA_LOCK = 0x5707_4B01


class _ConflictError(StoreError):
    """A unique or foreign-key constraint refused a write."""


_BUSY_MS = 5000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set on every new SQLite connection: these pragmas are per connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        # WAL: readers (the sidebar, the CLI) never block the writer (a running transfer).
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is safe with WAL: a crashed process loses nothing; only a power cut can
        # lose the last commits. FULL syncs every commit (each dataset of an analysis).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once; every later connection only reads the mode.

    Converting needs the file to itself, and SQLite does not run the busy handler for
    it: processes opening a new store at once would get "database is locked" at once.
    So the conversion is retried, within the busy budget, until someone has done it.
    """
    deadline = time.monotonic() + _BUSY_MS / 1000
    delay = 0.005
    while True:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":
            return
        try:
            mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        else:
            # A refused switch is not an error: SQLite answers with the mode it kept.
            if str(mode).lower() in ("wal", "memory") or time.monotonic() > deadline:
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class MetadataStore:
    """The metadata store at a SQLAlchemy URL; use as a context manager or ``close()`` it.

    :param url: ``sqlite:///path/stork.db`` or ``postgresql://user@host/db``
        (mapped to the psycopg driver). Opening creates the schema when absent.
    """

    def __init__(self, url: str):
        try:
            sa_url = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"{redact_url(url)!r} is not a valid metadata store URL.") from exc
        self.url = redact_url(url)  #: the URL without secrets, safe to print
        backend = sa_url.get_backend_name()
        if backend in ("postgresql", "postgres"):
            if sa_url.drivername in ("postgresql", "postgres"):
                sa_url = sa_url.set(drivername="postgresql+psycopg")
            if sa_url.drivername == "postgresql+psycopg":
                try:
                    import psycopg  # noqa: F401
                except ImportError:
                    raise MissingDependencyError("psycopg", "postgres") from None
        elif backend == "sqlite":
            database = sa_url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"Cannot create the folder of the metadata store {database}: "
                        f"{exc.strerror or exc}."
                    ) from exc
        try:
            self._engine: Engine = create_engine(sa_url, pool_pre_ping=backend != "sqlite")
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"Cannot open the metadata store at {self.url}: {exc}.") from exc
        self.dialect = self._engine.dialect.name  #: ``sqlite`` or ``postgresql``
        if self.dialect == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        try:
            self._init_schema()
        except BaseException:
            self._engine.dispose()
            raise

    # -- lifecycle -----------------------------------------------------------

    def connect_url(self) -> str:
        """The URL that opens this store again, password included: for the engine calls
        a door makes on the store it shows (``url`` is the one to print)."""
        return self._engine.url.render_as_string(hide_password=False)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and diagnostics; doors use the methods)."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetadataStore({self.url!r})"

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        with self._begin() as conn:
            version = self._read_version(conn)
        return version if version is not None else 0

    def _init_schema(self) -> None:
        with self._begin() as conn:
            # Take the write lock before looking, so two processes opening a new
            # store at once do not both try to create it.
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SCHEMA_LOCK})
            version = self._read_version(conn)
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"The metadata store at {self.url} has schema version {version}, "
                    f"newer than this stork_jupyter knows ({SCHEMA_VERSION}); upgrade stork_jupyter."
                )
            metadata.create_all(conn)
            if version is None:
                conn.execute(
                    insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
                )

    def _read_version(self, conn: Connection) -> int | None:
        if not inspect(conn).has_table(meta_table.name):
            return None
        value = conn.execute(
            select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).scalar()
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise StoreError(
                f"The metadata store at {self.url} has an unreadable schema version {value!r}."
            ) from None

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction; database errors become StoreError naming the store."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise _ConflictError(
                f"The metadata store at {self.url} refused the change: {_reason(exc)}."
            ) from exc
        except DBAPIError as exc:
            raise StoreError(f"The metadata store at {self.url} failed: {_reason(exc)}.") from exc

    # -- generic API ---------------------------------------------------------

    def save(self, obj: T) -> T:
        """Insert ``obj`` (when its id is None) or update its row; return it with its id set.

        ``obj`` is normalised in place to what was stored: timestamps become ISO
        strings, URLs lose their secrets, ``created_at`` (and a dataset's
        ``updated_at``) are filled in.
        """
        table = _table(type(obj))
        _validate(obj)
        now = now_iso()
        if obj.id is None and getattr(obj, "created_at", "") is None:
            obj.created_at = now  # type: ignore[attr-defined]
        if isinstance(obj, Dataset) and (obj.id is not None or obj.updated_at is None):
            obj.updated_at = now
        values = _values(obj)
        for name, value in values.items():
            setattr(obj, name, value)
        with self._begin() as conn:
            if obj.id is None:
                result = conn.execute(insert(table).values(**values))
                obj.id = int(result.inserted_primary_key[0])
            else:
                result = conn.execute(update(table).where(table.c.id == obj.id).values(**values))
                if result.rowcount == 0:
                    raise NotFoundError(f"No {obj.entity} with id {obj.id}.")
        return obj

    def insert_many(self, objs: Iterable[Entity]) -> int:
        """Insert many new objects in bulk (ids are not set on them); return how many."""
        now = now_iso()
        batches: dict[Table, builtins.list[dict[str, Any]]] = {}
        count = 0
        with self._begin() as conn:
            for obj in objs:
                if obj.id is not None:
                    raise StoreError(
                        f"insert_many() got a {obj.entity} that already has id {obj.id}."
                    )
                _validate(obj)
                values = _values(obj)
                if "created_at" in values and values["created_at"] is None:
                    values["created_at"] = now
                if isinstance(obj, Dataset) and values["updated_at"] is None:
                    values["updated_at"] = now
                table = _table(type(obj))
                batch = batches.setdefault(table, [])
                batch.append(values)
                count += 1
                if len(batch) >= _INSERT_CHUNK:
                    conn.execute(insert(table), batch)
                    batch.clear()
            for table, batch in batches.items():
                if batch:
                    conn.execute(insert(table), batch)
        return count

    def update(self, cls: type[T], id: int, **fields: Any) -> T:
        """Change only the given fields of one row and return it.

        Prefer this over ``save`` for concurrent writers (a transfer reporting
        progress while a door pauses the job): it does not overwrite other columns.
        """
        table = _table(cls)
        _check_columns(cls, table, fields)
        _validate_values(cls, fields)
        if cls is Dataset and fields and "updated_at" not in fields:
            fields["updated_at"] = now_iso()
        values = _values_of(cls, fields)
        with self._begin() as conn:
            if values:
                result = conn.execute(update(table).where(table.c.id == id).values(**values))
                if result.rowcount == 0:
                    raise NotFoundError(f"No {cls.entity} with id {id}.")
            row = conn.execute(select(table).where(table.c.id == id)).mappings().first()
        if row is None:
            raise NotFoundError(f"No {cls.entity} with id {id}.")
        return cls(**row)

    def update_if(self, cls: type[T], id: int, expect: dict[str, Any],
                  expect_json: dict[tuple[str, str], int | str | None] | None = None,
                  **fields: Any) -> T | None:
        """Compare-and-set: change ``fields`` only while the row still holds ``expect``
        (column values) and ``expect_json`` (``(json column, key)``: value, None for an
        absent key). One statement, so of two processes that read the same row and both
        try, exactly one wins. The updated object, or None when the row had changed."""
        table = _table(cls)
        _check_columns(cls, table, {**expect, **fields})
        _validate_values(cls, fields)
        condition = table.c.id == id
        for name, value in expect.items():
            column = table.c[name]
            condition &= column.is_(None) if value is None else column == value
        for (name, key), value in (expect_json or {}).items():
            item = table.c[name][key]
            if value is None:
                condition &= item.as_string().is_(None)
            elif isinstance(value, int):
                condition &= item.as_integer() == value
            else:
                condition &= item.as_string() == value
        with self._begin() as conn:
            result = conn.execute(update(table).where(condition).values(
                **_values_of(cls, fields)))
            if result.rowcount == 0:
                return None
            row = conn.execute(select(table).where(table.c.id == id)).mappings().first()
        return cls(**row)

    def get(self, cls: type[T], id: int) -> T:
        """The object with this id; NotFoundError ("No job with id 42.") when absent."""
        table = _table(cls)
        with self._begin() as conn:
            row = conn.execute(select(table).where(table.c.id == id)).mappings().first()
        if row is None:
            raise NotFoundError(f"No {cls.entity} with id {id}.")
        return cls(**row)

    def list(
        self,
        cls: type[T],
        *,
        limit: int | None = 50,
        offset: int = 0,
        status: str | Sequence[str] | None = None,
        order: str | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        search: str | None = None,
        search_in: Sequence[str] | None = None,
        **filters: Any,
    ) -> builtins.list[T]:
        """One page of objects, newest (highest id) first unless told otherwise.

        ``status`` and each filter (``notebook=...``, ``job_id=...``) test equality;
        a list or tuple value means "any of", ``None`` means IS NULL.
        ``search`` keeps the rows where the text occurs, in any case, in one of the
        ``search_in`` columns (default: every text column); see ``count``.
        ``order_by`` sorts by any column, ascending unless ``descending``; empty
        values come last either way and the id breaks ties, so pages are stable.
        Without it, ``order="newest"`` (the default) or ``"oldest"`` sorts by id,
        as does ``descending`` alone. ``limit=None`` returns every match.
        """
        table = _table(cls)
        query = select(table).where(
            *_conditions(cls, table, status, filters), *_search(cls, table, search, search_in)
        )
        query = query.order_by(*_ordering(cls, table, order, order_by, descending))
        if limit is not None:
            query = query.limit(max(0, int(limit)))
        if offset:
            query = query.offset(max(0, int(offset)))
        with self._begin() as conn:
            rows = conn.execute(query).mappings().all()
        return [cls(**row) for row in rows]

    def page(
        self,
        cls: type[T],
        *,
        limit: int = 50,
        offset: int = 0,
        status: str | Sequence[str] | None = None,
        search: str | None = None,
        search_in: Sequence[str] | None = None,
        **options: Any,
    ) -> tuple[builtins.list[T], int]:
        """One page of what ``list`` finds (``options``: its ordering and filters), and
        how many match in all: what every door's listing shows. The last page is not
        counted again."""
        rows = self.list(cls, limit=limit, offset=offset, status=status, search=search,
                         search_in=search_in, **options)
        if limit > 0 and len(rows) < limit and (rows or offset == 0):
            return rows, offset + len(rows)
        filters = {k: v for k, v in options.items()
                   if k not in ("order", "order_by", "descending")}
        return rows, self.count(cls, status=status, search=search, search_in=search_in,
                                **filters)

    def count(
        self,
        cls: type[T],
        *,
        status: str | Sequence[str] | None = None,
        search: str | None = None,
        search_in: Sequence[str] | None = None,
        **filters: Any,
    ) -> int:
        """How many objects match (same filters and search as ``list``).

        ``search`` is a case-insensitive substring, taken literally (``%`` and ``_``
        are not wildcards), that must occur in at least one of the ``search_in``
        columns; by default every text column of the entity. Other columns named
        there are compared as text. An empty ``search`` keeps every row.
        """
        table = _table(cls)
        query = select(func.count()).select_from(table)
        query = query.where(
            *_conditions(cls, table, status, filters), *_search(cls, table, search, search_in)
        )
        with self._begin() as conn:
            return int(conn.execute(query).scalar_one())

    def delete(self, cls: type[Entity], id: int) -> None:
        """Delete one object (and what depends on it); NotFoundError when absent."""
        table = _table(cls)
        with self._begin() as conn:
            result = conn.execute(delete(table).where(table.c.id == id))
        if result.rowcount == 0:
            raise NotFoundError(f"No {cls.entity} with id {id}.")

    # -- helpers for the doors -----------------------------------------------

    def ensure_project(self, root: Path | str) -> Project:
        """The project at ``root`` (resolved to an absolute path), created if new."""
        path = Path(root).expanduser().resolve()
        key = str(path)
        found = self.list(Project, root=key, limit=1)
        if found:
            return found[0]
        try:
            return self.save(Project(root=key, name=path.name))
        except _ConflictError:  # another process created it meanwhile
            found = self.list(Project, root=key, limit=1)
            if found:
                return found[0]
            raise

    def ensure_datastore(self, name: str, url: str, kind: str) -> Datastore:
        """The datastore called ``name``, created if new, its URL and kind updated if changed."""
        found = self.list(Datastore, name=name, limit=1)
        if found:
            store = found[0]
            if store.url != redact_url(url) or store.kind != kind:
                return self.update(Datastore, store.id, url=url, kind=kind)  # type: ignore[arg-type]
            return store
        try:
            return self.save(Datastore(name=name, url=url, kind=kind))
        except _ConflictError:
            found = self.list(Datastore, name=name, limit=1)
            if found:
                return found[0]
            raise

    def dataset_by_path(self, project_id: int, source_path: str | PurePath) -> Dataset | None:
        """The dataset of this project at ``source_path`` (relative to its root), if known."""
        found = self.list(Dataset, project_id=project_id, source_path=_posix(source_path), limit=1)
        return found[0] if found else None

    def upsert_dataset(
        self, project_id: int, source_path: str | PurePath, **fields: Any
    ) -> Dataset:
        """Insert the dataset or update the given fields of the existing one.

        Idempotent: the same fields again change nothing. A new ``sha256`` over a
        known one bumps ``version`` (unless ``version`` is given).
        """
        path = _posix(source_path)
        table = _table(Dataset)
        _check_columns(Dataset, table, fields)
        for name in ("id", "project_id", "source_path", "created_at"):
            if name in fields:
                raise StoreError(f"upsert_dataset() cannot set {name!r}.")
        existing = self.dataset_by_path(project_id, path)
        if existing is None:
            try:
                return self.save(Dataset(project_id=project_id, source_path=path, **fields))
            except _ConflictError:
                existing = self.dataset_by_path(project_id, path)
                if existing is None:
                    raise
        changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        if (
            "sha256" in changes
            and existing.sha256 is not None
            and changes["sha256"] is not None
            and "version" not in fields
        ):
            changes["version"] = existing.version + 1
        if not changes:
            return existing
        return self.update(Dataset, existing.id, **changes)  # type: ignore[arg-type]

    def add_location(
        self,
        dataset_id: int,
        url: str,
        *,
        datastore_id: int | None = None,
        table_name: str | None = None,
        job_id: int | None = None,
    ) -> Location:
        """Record that a dataset now also lives at ``url`` (and ``table_name``).

        The same (dataset, url, table) again updates that location's job instead of
        adding a duplicate.
        """
        safe_url = redact_url(url)
        found = self.list(
            Location, dataset_id=dataset_id, url=safe_url, table_name=table_name, limit=1
        )
        if found:
            location = found[0]
            changes = {}
            if job_id is not None and location.job_id != job_id:
                changes["job_id"] = job_id
            if datastore_id is not None and location.datastore_id != datastore_id:
                changes["datastore_id"] = datastore_id
            if changes:
                return self.update(Location, location.id, **changes)  # type: ignore[arg-type]
            return location
        return self.save(
            Location(
                dataset_id=dataset_id,
                url=safe_url,
                datastore_id=datastore_id,
                table_name=table_name,
                job_id=job_id,
            )
        )

    def reserve(
        self, wanted: Sequence[Reservation], job: Job | None = None
    ) -> tuple[Job | None, builtins.list[Reservation]]:
        """Reserve destination names for their owners, atomically; ``(job, conflicts)``.

        In one transaction: insert ``job`` (when given; the new names get its id) and
        every name of ``wanted`` that nobody holds. A name already held by the same
        owner with the same content (``sha256``) is shared, not inserted again. When some
        names are held by others, nothing at all is written (not the job either) and
        those reservations are returned. The UNIQUE constraint on (destination, name)
        decides between processes asking at once: the loser sees the winner's row.
        """
        table = _table(Reservation)
        for attempt in range(20):
            try:
                return self._reserve_once(table, wanted, job)
            except _ConflictError:  # another process inserted one of them meanwhile
                if attempt == 19:
                    raise
        raise AssertionError("unreachable")

    def _reserve_once(self, table: Table, wanted: Sequence[Reservation], job: Job | None
                      ) -> tuple[Job | None, builtins.list[Reservation]]:
        class _Refused(Exception):
            pass

        conflicts: builtins.list[Reservation] = []
        job_values = None
        if job is not None:
            _validate(job)
            if job.created_at is None:
                job.created_at = now_iso()
            job_values = _values(job)
        try:
            with self._begin() as conn:
                if self.dialect == "sqlite":  # the write lock now: no upgrade deadlock later
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                job_id = None
                if job_values is not None:
                    result = conn.execute(insert(_table(Job)).values(**job_values))
                    job_id = int(result.inserted_primary_key[0])
                for w in wanted:
                    values = _values(w)
                    row = conn.execute(select(table).where(
                        table.c.destination == values["destination"],
                        table.c.name == values["name"])).mappings().first()
                    if row is not None:
                        if row["owner"] != w.owner or row["sha256"] != w.sha256:
                            conflicts.append(Reservation(**row))
                        continue
                    values["job_id"] = job_id if job_id is not None else values["job_id"]
                    values["created_at"] = values["created_at"] or now_iso()
                    conn.execute(insert(table).values(**values))
                if conflicts:
                    raise _Refused
        except _Refused:
            return None, conflicts
        if job is not None:
            for name, value in job_values.items():
                setattr(job, name, value)
            job.id = job_id
        return job, []

    def reservation(self, destination: str, name: str) -> Reservation | None:
        """Who holds ``name`` at ``destination``, if anybody."""
        found = self.list(Reservation, destination=destination, name=name, limit=1)
        return found[0] if found else None

    def dataset_at(self, urls: Iterable[str]) -> Dataset | None:
        """The dataset one of ``urls`` is a location of (a migrated copy), if any."""
        return self.datasets_at({"": urls}).get("")

    def datasets_at(self, url_groups: dict[str, Iterable[str]]) -> dict[str, Dataset]:
        """``dataset_at`` for many files in two queries: each key of ``url_groups`` whose
        URLs hold a location, mapped to that location's dataset (the newest location
        where several do)."""
        groups = {key: {redact_url(u) for u in urls} for key, urls in url_groups.items()}
        every = sorted(set().union(*groups.values())) if groups else []
        if not every:
            return {}
        located = self.list_any(Location, "url", every)  # newest first
        ids = {key: next((loc.dataset_id for loc in located if loc.url in urls), None)
               for key, urls in groups.items()}
        found = {d.id: d for d in self.list_any(
            Dataset, "id", {i for i in ids.values() if i is not None})}
        return {key: found[i] for key, i in ids.items() if i in found}

    def list_any(self, cls: type[T], column: str, values: Iterable[Any], **filters: Any
                 ) -> builtins.list[T]:
        """Every object whose ``column`` is one of ``values``, newest first; queried in
        chunks, as a database bounds the parameters of one statement."""
        values = sorted(set(values))
        found: builtins.list[T] = []
        for start in range(0, len(values), _IN_CHUNK):
            found += self.list(cls, limit=None, **filters,
                               **{column: values[start:start + _IN_CHUNK]})
        return sorted(found, key=lambda o: o.id, reverse=True)

    def locations(self, dataset_id: int) -> builtins.list[Location]:
        """Every location of a dataset, newest first."""
        return self.list(Location, dataset_id=dataset_id, limit=None)


def open_store(root: Path | None = None, explicit: str | None = None) -> MetadataStore:
    """The store of the project at ``root`` (default: the project around the working
    directory): ``explicit`` (``--store``), ``$STORK_STORE`` or the default. Every door
    opens the project's store through this (or :func:`existing_store`)."""
    return MetadataStore(_project_store_url(root, explicit))


def _project_store_url(root: Path | None, explicit: str | None) -> str:
    return resolve_store_url(explicit, find_project_root() if root is None else root)


def store_exists(url: str) -> bool:
    """Whether opening the store at ``url`` finds one rather than creates it: False only
    for a SQLite file that does not exist yet."""
    if not url.startswith("sqlite:///"):
        return True
    database = url[len("sqlite:///"):]
    return not database or database.startswith((":", "file:")) or Path(database).is_file()


def existing_store(root: Path | None = None, explicit: str | None = None
                   ) -> MetadataStore | None:
    """The project's store as :func:`open_store` finds it, or None when it does not exist
    yet: reading must not create a ``.stork`` folder."""
    url = _project_store_url(root, explicit)
    return MetadataStore(url) if store_exists(url) else None


# -- mapping between dataclasses and rows ------------------------------------


def _table(cls: type[Entity]) -> Table:
    try:
        return TABLES[cls]
    except KeyError:
        raise StoreError(f"{cls.__name__} is not kept in the metadata store.") from None


def _reason(exc: DBAPIError) -> str:
    """The driver's message on one line (psycopg's span several), without a final period."""
    return " ".join(str(exc.orig).split()).rstrip(".")


def _posix(path: str | PurePath) -> str:
    return path.as_posix() if isinstance(path, PurePath) else str(path).replace("\\", "/")


def _redact_json(value: Any) -> Any:
    """Redact URL-looking strings nested anywhere in a JSON value (keys are kept)."""
    if isinstance(value, str):
        return redact_url(value) if "://" in value else value
    if isinstance(value, dict):
        return {k: _redact_json(v) for k, v in value.items()}
    if isinstance(value, (builtins.list, tuple)):
        return [_redact_json(v) for v in value]
    return value


def _convert(cls: type[Entity], name: str, value: Any) -> Any:
    """A field's value as stored: ISO timestamps, redacted URLs."""
    if name.endswith("_at"):
        return to_iso(value)
    if name in cls.url_fields and isinstance(value, str):
        return redact_url(value)
    if name in cls.json_fields:
        return _redact_json(value)
    return value


def _values(obj: Entity) -> dict[str, Any]:
    """Column values of ``obj`` (without its id)."""
    cls = type(obj)
    return {
        f.name: _convert(cls, f.name, getattr(obj, f.name))
        for f in dataclasses.fields(obj)  # type: ignore[arg-type]
        if f.name != "id"
    }


def _values_of(cls: type[Entity], fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _convert(cls, name, value) for name, value in fields.items() if name != "id"}


def _check_columns(cls: type[Entity], table: Table, fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(table.c.keys()))
    if unknown:
        raise StoreError(f"A {cls.entity} has no field {', '.join(map(repr, unknown))}.")


def _conditions(
    cls: type[Entity],
    table: Table,
    status: str | Sequence[str] | None,
    filters: dict[str, Any],
) -> builtins.list[ColumnElement[bool]]:
    if status is not None:
        if "status" not in table.c:
            raise StoreError(f"A {cls.entity} has no status to filter on.")
        filters = {**filters, "status": status}
    _check_columns(cls, table, filters)
    conditions: builtins.list[ColumnElement[bool]] = []
    for name, value in filters.items():
        column = table.c[name]
        if value is None:
            conditions.append(column.is_(None))
        elif isinstance(value, (builtins.list, tuple, set, frozenset)):
            conditions.append(column.in_([_convert(cls, name, v) for v in value]))
        else:
            conditions.append(column == _convert(cls, name, value))
    return conditions


def _search(
    cls: type[Entity], table: Table, search: str | None, search_in: Sequence[str] | None
) -> builtins.list[ColumnElement[bool]]:
    """The condition of a search: ``search`` in any case in one of the columns, literally."""
    if search_in is not None:
        if isinstance(search_in, str):
            search_in = [search_in]
        _check_columns(cls, table, dict.fromkeys(search_in))
    if not search:
        return []
    if search_in is None:
        columns = [c for c in table.c if isinstance(c.type, String)]
    else:
        columns = [table.c[name] for name in dict.fromkeys(search_in)]
    if not columns:
        return [false()]
    escaped = (
        search.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    pattern = f"%{escaped}%"
    return [
        or_(
            *(
                (c if isinstance(c.type, String) else cast(c, String)).ilike(
                    pattern, escape=_LIKE_ESCAPE
                )
                for c in columns
            )
        )
    ]


def _ordering(
    cls: type[Entity],
    table: Table,
    order: str | None,
    order_by: str | None,
    descending: bool | None,
) -> builtins.list[UnaryExpression[Any]]:
    """ORDER BY terms: the column (empty values last), then the id the same way."""
    if order is not None:
        if order not in ORDERS:
            raise StoreError(f"Unknown order {order!r}; use 'newest' or 'oldest'.")
        if order_by is not None or descending is not None:
            raise StoreError("Give order='newest'/'oldest' or order_by/descending, not both.")
        descending = order == "newest"
    elif descending is None:
        descending = order_by is None  # newest first by default
    name = order_by or "id"
    if name not in table.c:
        raise StoreError(f"A {cls.entity} has no field {name!r} to order by.")
    ids = table.c.id.desc() if descending else table.c.id.asc()
    if name == "id":
        return [ids]
    column = table.c[name]
    # JSON has no order in PostgreSQL: compare its text.
    key: Any = cast(column, String) if isinstance(column.type, JSON) else column
    term = key.desc() if descending else key.asc()
    if column.nullable:  # NULLS LAST on both backends (their defaults differ)
        term = term.nulls_last()
    return [term, ids]


def _validate(obj: Entity) -> None:
    _validate_values(type(obj), {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})  # type: ignore[arg-type]


def _validate_values(cls: type[Entity], values: dict[str, Any]) -> None:
    """Reject a status or kind the doors would not understand."""
    allowed: dict[str, tuple[str, ...]] = {}
    if cls in (Job, Transfer):
        allowed["status"] = STATUSES
    if cls is Record:
        allowed["status"] = RECORD_STATUSES
    if cls is Job:
        allowed["kind"] = JOB_KINDS
    if cls is Datastore:
        allowed["kind"] = DATASTORE_KINDS
    for name, choices in allowed.items():
        if name in values and values[name] not in choices:
            raise StoreError(
                f"{values[name]!r} is not a valid {cls.entity} {name}; use one of {', '.join(choices)}."
            )
