"""PostgreSQL: tabular files become typed tables (COPY, staged, renamed); other files
become rows of one files table.

``postgresql://user@host:port/db?schema=s`` (default schema ``stork``). The password,
if any, comes from libpq (``PGPASSWORD``, ``~/.pgpass``); a URL carrying one is accepted
for connecting but never kept in :attr:`PostgresBackend.url` nor logged.

A table is loaded in ONE transaction: ``CREATE TABLE`` a staging table, ``COPY ...
FROM STDIN`` chunk by chunk (bounded memory), a primary key on the ordering column
``_stork_row``, then ``ALTER TABLE ... RENAME`` to the final name; a reader never sees
half a table and a failure leaves no table at all. A table is tagged (its COMMENT) with
the identity of the dataset loaded into it: a load replaces an existing table only when
it carries the same tag, so a table another dataset (or a person) owns is never dropped.
Every identifier goes through ``psycopg.sql.Identifier``; types come from a fixed list.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ..checksum import CHUNK
from ..errors import MissingDependencyError, first_line
from ..tabular import (
    MAX_IDENT,
    PG_TYPES,
    ROW_COLUMN,
    TableSchema,
    TabularError,
    infer_schema,
    iter_frames,
    read_back,
    read_back_kwargs,
)
from ..urls import redact_url, scrub, split_password
from . import pg_early
from .base import Backend, DestinationError, Digest, Progress, PutResult, digest_value
from .pg_copy import BLOCK, RawCopy, Scan, Unfit, raw_copy, segments, streams_for

DEFAULT_SCHEMA = "stork"
FILES_TABLE = "stork_files"
CONNECT_TIMEOUT = 5  # seconds
MAX_BYTEA = (1 << 30) - 1  # PostgreSQL's limit for one bytea value
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")
#: the memory PostgreSQL may sort the primary key's values in (its own, not stork's)
PK_SORT_MEMORY = "256MB"
OWNER_TAG = "stork dataset "  #: a table's COMMENT: this prefix, then the owner's identity


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise MissingDependencyError("psycopg", "postgres") from None
    return psycopg


@dataclass
class LoadResult:
    table: str  #: the table's name in the destination schema
    schema: TableSchema  #: columns (names, SQL names, types, dtypes) and row count
    rows: int
    bytes: int  #: size of the source file
    #: how the rows went: ``raw`` (the file's own bytes to COPY) or ``converted``
    #: (pandas chunks encoded again); ``copy_reason`` says why not raw
    copy: str = "converted"
    copy_reason: str = ""
    streams: int = 1  #: COPY streams (connections) used
    #: the COPY began during planning, on the schema of the file's head, and the exact
    #: schema confirmed it (:mod:`.pg_early`)
    early: bool = False


def sanitize_table_name(path: str | Path) -> str:
    """A table name from a file name: lowercase ASCII ``[a-z0-9_]``, not starting with
    a digit or ``_``, at most 63 bytes (``data/Sales 2024.csv.gz`` -> ``sales_2024``)."""
    name = Path(str(path)).name
    lowered = name.lower()
    for ext in _COMPRESSED:
        if lowered.endswith(ext):
            name = name[: -len(ext)]
            break
    if "." in name.strip("."):
        name = name.strip(".").rsplit(".", 1)[0]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    clean = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not clean:
        clean = "table"
    if clean[0].isdigit():
        clean = f"t_{clean}"
    return clean[:MAX_IDENT].rstrip("_")


class PostgresBackend(Backend):
    kind = "postgresql"
    holds_tables = True

    def __init__(self, url: str):
        # the password first, by the rule redaction uses: an unencoded '#', '/' or '?'
        # in it would otherwise end the host part and land in the path or fragment
        bare, password = split_password(url.strip())
        parts = urlsplit(bare)
        scheme = parts.scheme.lower()
        if not scheme.startswith("postgres"):
            raise DestinationError(f"{redact_url(url)} is not a postgresql:// URL")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.schema = params.pop("schema", "") or DEFAULT_SCHEMA
        try:
            port = parts.port
        except ValueError:
            raise DestinationError(f"{redact_url(url)} has an invalid port") from None
        self.user = unquote(parts.username) if parts.username else None
        self.host = parts.hostname
        self.port = port
        self.dbname = unquote(parts.path.lstrip("/")) or None
        self._params = params  # other libpq parameters (sslmode...), none secret
        secret = [k for k in params if re.search(r"pass|secret|token|key", k, re.I)]
        for k in secret:
            params.pop(k)
        conn: dict[str, Any] = {k: v for k, v in params.items()}
        if self.host:
            conn["host"] = self.host
        if self.port:
            conn["port"] = self.port
        if self.user:
            conn["user"] = self.user
        if self.dbname:
            conn["dbname"] = self.dbname
        if password:
            conn["password"] = password  # kept in memory for connecting only
        self._conn_kwargs = conn
        self.url = redact_url(self._base_url() + "?" + urlencode(
            {"schema": self.schema, **params}))

    def __repr__(self) -> str:
        return f"PostgresBackend({self.url!r})"

    # ----------------------------------------------------------------- naming

    def _netloc(self, with_user: bool = True) -> str:
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        if self.port:
            host = f"{host}:{self.port}"
        if with_user and self.user:
            return f"{quote(self.user, safe='')}@{host}"
        return host

    def _base_url(self, scheme: str = "postgresql", with_user: bool = True) -> str:
        return f"{scheme}://{self._netloc(with_user)}/{quote(self.dbname or '', safe='')}"

    @property
    def where(self) -> str:
        """``host:port/db`` for messages."""
        return f"{self.host or 'localhost'}:{self.port or 5432}/{self.dbname or self.user}"

    def sqlalchemy_url(self) -> str:
        """``postgresql+psycopg://user@host:port/db`` (no password) for the setup cell."""
        url = self._base_url("postgresql+psycopg")
        if self._params:
            url += "?" + urlencode(self._params)
        return redact_url(url)

    def target(self, key: str) -> str:
        """Where a non-tabular file lives: a row of the files table."""
        return f"{self._base_url(with_user=False)}?schema={self.schema}#files/{key}"

    def table_target(self, table: str) -> str:
        return f"{self._base_url(with_user=False)}?schema={self.schema}#tables/{table}"

    def prepare_write(self, key: str) -> None:
        """Nothing to prepare: a notebook's writes become tables it creates itself."""

    # ----------------------------------------------------------------- connecting

    def connect(self, autocommit: bool = False):
        """A psycopg connection (UTF-8, connect timeout 5 s); DestinationError if refused."""
        psycopg = _psycopg()
        kwargs = dict(self._conn_kwargs)
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
        kwargs.setdefault("client_encoding", "UTF8")
        kwargs.setdefault("application_name", "stork")
        try:
            return psycopg.connect(autocommit=autocommit, **kwargs)
        except psycopg.OperationalError as e:
            raise DestinationError(self._explain(e)) from None

    def _explain(self, e: Exception) -> str:
        text = scrub(" ".join(str(e).split()), self._conn_kwargs.get("password"))
        low = text.lower()
        who = self.user or "the current user"
        if "connection refused" in low or "could not connect" in low and "no such file" in low:
            return (f"PostgreSQL at {self.host or 'localhost'}:{self.port or 5432} refused the "
                    "connection (is the server running and accepting TCP connections there?)")
        if "timeout expired" in low or "timed out" in low:
            return (f"PostgreSQL at {self.host or 'localhost'}:{self.port or 5432} did not answer "
                    f"within {CONNECT_TIMEOUT} s")
        if "password authentication failed" in low or "no password supplied" in low or \
                "authentication failed" in low:
            return (f"PostgreSQL at {self.where} refused the credentials of user {who} (set "
                    "PGPASSWORD or add the password to ~/.pgpass)")
        if re.search(r'role ".*" does not exist', low):
            return f"PostgreSQL at {self.where} has no user (role) {who}"
        if re.search(r'database ".*" does not exist', low):
            return (f"database {self.dbname!r} does not exist on PostgreSQL at "
                    f"{self.host or 'localhost'}:{self.port or 5432}")
        if "permission denied" in low or "not permitted" in low or "pg_hba.conf" in low:
            return f"PostgreSQL at {self.where} does not let {who} connect: {text}"
        return f"cannot connect to PostgreSQL at {self.where}: {text}"

    def check(self) -> None:
        """Connect and create the schema if needed; one clear sentence when not possible."""
        psycopg = _psycopg()
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            try:
                exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                      (self.schema,)).fetchone()
                if not exists:
                    # several migrations may start at once: IF NOT EXISTS alone still
                    # collides in the catalog (pg_namespace_nspname_index), so creators queue
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                     (f"stork_schema:{self.schema}",))
                        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            sql.Identifier(self.schema)))
                allowed = conn.execute("SELECT has_schema_privilege(%s, 'CREATE')",
                                       (self.schema,)).fetchone()
            except psycopg.errors.InsufficientPrivilege:
                raise DestinationError(
                    f"user {self.user or 'the current user'} may not create schema "
                    f"{self.schema!r} in database {self.dbname!r} at {self.where}") from None
            except psycopg.Error as e:
                raise DestinationError(f"PostgreSQL at {self.where}: {first_line(e)}") from None
            if not allowed or not allowed[0]:
                raise DestinationError(
                    f"user {self.user or 'the current user'} may not create tables in schema "
                    f"{self.schema!r} of database {self.dbname!r} at {self.where}")

    # ----------------------------------------------------------------- tables

    def existing_names(self, conn=None) -> set[str]:
        """Every relation name (tables, views, indexes...) in the schema."""
        own = conn is None
        conn = conn or self.connect(autocommit=True)
        try:
            rows = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s", (self.schema,)).fetchall()
        finally:
            if own:
                conn.close()
        return {r[0] for r in rows}

    def table_name(self, path: str, taken: set[str]) -> str:
        """A table name for ``path``: sanitised from the file name and not used by any
        relation of the schema nor in ``taken`` (``sales``, then ``sales_2``...)."""
        base = sanitize_table_name(path)
        used = self.existing_names() | set(taken) | {FILES_TABLE}
        if base not in used:
            return base
        n = 2
        while True:
            suffix = f"_{n}"
            name = base[: MAX_IDENT - len(suffix)] + suffix
            if name not in used:
                return name
            n += 1

    def table_exists(self, table: str) -> bool:
        return table in self.existing_names()

    def table_owners(self) -> dict[str, str | None]:
        """Every relation of the schema and the dataset identity its tag names (None for a
        relation stork did not load: a person's table, a view, an index...)."""
        with self.connect(autocommit=True) as conn:
            rows = conn.execute(
                "SELECT c.relname, d.description FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_description d ON d.objoid = c.oid "
                "AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 "
                "WHERE n.nspname = %s", (self.schema,)).fetchall()
        return {name: _owner_of_tag(tag) for name, tag in rows}

    def table_owner(self, table: str) -> str | None:
        """The dataset identity ``table``'s tag names (None: absent or not stork's)."""
        return self.table_owners().get(table)

    def load_table(self, source: Path, api: str, options: dict[str, Any], table: str,
                   progress: Callable[[int], None] | None = None,
                   chunksize: int | None = None,
                   schema: TableSchema | None = None, owner: str | None = None,
                   streams: int | None = None) -> LoadResult:
        """Load ``source`` as ``pandas.<api>(source, **options)`` parses it into
        ``<schema>.<table>``, atomically; see the module docstring.

        ``owner``: the identity of the dataset (the table is tagged with it). An existing
        ``table`` is replaced only when its tag names the same owner; any other existing
        relation of that name makes the load fail (DestinationError), leaving it alone.
        ``schema``: the file's schema when a plan already inferred it (of these very
        bytes), which spares the inference pass. A CSV that PostgreSQL parses as pandas
        does goes as its own bytes (:mod:`.pg_copy`; ``streams`` COPY connections, by
        default from its size), anything else as converted chunks; the result says which."""
        _psycopg()
        source = Path(source)
        if not table or len(table.encode("utf-8")) > MAX_IDENT:
            raise DestinationError(f"{table!r} is not a valid table name")
        if schema is None:
            schema = infer_schema(source, api, options, chunksize=chunksize)
        for c in schema.columns:
            if c.pg_type not in PG_TYPES:  # never reached: the whitelist is the only source
                raise DestinationError(f"{source}: column {c.name!r} has no PostgreSQL type")
        early = pg_early.take(self, source, table, schema)
        if early is not None:
            done = self._end_early(early, schema, table, owner, progress)
            if isinstance(done, LoadResult):
                return done
            result = self._load_converted(source, api, options, schema, table, owner,
                                          progress, chunksize)
            result.copy_reason = done
            return result
        plan, why = raw_copy(source, api, options, schema)
        if plan is not None:
            done = self._load_raw(source, schema, table, owner, plan, progress, streams)
            if isinstance(done, LoadResult):
                return done
            why = done
        result = self._load_converted(source, api, options, schema, table, owner, progress,
                                      chunksize)
        result.copy_reason = why
        return result

    def _end_early(self, early, schema: TableSchema, table: str, owner: str | None,
                   progress: Callable[[int], None] | None) -> LoadResult | str:
        """Finish a load begun during planning (:mod:`.pg_early`): its streams, then the
        checks and the rename of any raw load; the LoadResult, or why it did not fit."""
        run = early.run
        try:
            run.sent.attach(progress)
        except BaseException:
            run.close()
            raise
        done = self._end_streams(run, early.source, schema, table, owner, early.exact_plan)
        if isinstance(done, str):
            return done
        return LoadResult(table, schema, schema.row_count, early.stat[0], copy="raw",
                          streams=early.streams, early=True)

    def _stage(self, table: str) -> str:
        return f"_stork_stage_{table[:30]}_{secrets.token_hex(4)}"

    def _load_converted(self, source: Path, api: str, options: dict[str, Any],
                        schema: TableSchema, table: str, owner: str | None,
                        progress: Callable[[int], None] | None, chunksize: int | None
                        ) -> LoadResult:
        """The file parsed by pandas again, chunk by chunk, each chunk encoded as CSV
        for COPY (see :class:`_ChunkEncoder`)."""
        psycopg = _psycopg()
        from psycopg import sql

        stage = self._stage(table)
        ident = sql.Identifier
        columns = sql.SQL(", ").join(
            [sql.SQL("{} bigint NOT NULL").format(ident(ROW_COLUMN))]
            + [sql.SQL("{} {}").format(ident(c.sql_name), sql.SQL(c.pg_type))
               for c in schema.columns])
        names = sql.SQL(", ").join(ident(n) for n in [ROW_COLUMN] + [
            c.sql_name for c in schema.columns])
        conn = self.connect()
        encoder = _ChunkEncoder(schema, source)
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(
                    ident(self.schema, stage), columns))
                copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    ident(self.schema, stage), names)
                with cur.copy(copy_sql) as copy, _Sender(copy) as sender:
                    for df in iter_frames(source, api, options, schema, chunksize=chunksize,
                                          progress=progress):
                        sender.send(encoder.encode(df))
                self._finish_stage(cur, stage, table, owner, source)
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(ident(self.schema, table)))
                count = cur.fetchone()[0]
                if count != schema.row_count:
                    raise DestinationError(
                        f"{source}: {count} rows arrived in {self.schema}.{table}, "
                        f"{schema.row_count} expected; nothing was loaded")
        except TabularError:
            raise
        except psycopg.Error as e:
            raise DestinationError(self._copy_failure(e, source, schema, table, encoder)
                                   ) from None
        finally:
            conn.close()
        return LoadResult(table, schema, schema.row_count, source.stat().st_size)

    def _build_key_index(self, cur, stage: str) -> None:
        """The unique index on the ordering column that becomes the primary key. A
        plain index build takes a lock that lets reads of the table go on (the checks
        of a raw load run beside it)."""
        from psycopg import sql

        # the key's sort in memory: at the default 64 MB a few million rows spill to
        # disk (the build of a 3-million-row key took 2.2 s, 1.4 s with this)
        cur.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(
            sql.Literal(PK_SORT_MEMORY)))
        cur.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
            sql.Identifier(stage + "_pk"), sql.Identifier(self.schema, stage),
            sql.Identifier(ROW_COLUMN)))

    def _finish_stage(self, cur, stage: str, table: str, owner: str | None,
                      source: Path, indexed: bool = False) -> None:
        """In the load's transaction: the ordering key (on the index
        :meth:`_build_key_index` built, if ``indexed``), then the staging table becomes
        ``table`` (see :meth:`_take_name`), tagged with its owner."""
        from psycopg import sql

        ident = sql.Identifier
        pk = f"_stork_pk_{hashlib.sha1(table.encode()).hexdigest()[:16]}"
        if not indexed:
            self._build_key_index(cur, stage)
        # (the column is NOT NULL already: an identity's, or declared so)
        cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}"
                            ).format(ident(self.schema, stage), ident(stage + "_pk"),
                                     ident(stage + "_pk")))
        self._take_name(cur, table, owner, source)
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            ident(self.schema, stage), ident(table)))
        if owner is not None:
            cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
                ident(self.schema, table), sql.Literal(OWNER_TAG + owner)))
        cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            ident(self.schema, stage + "_pk"), ident(pk)))

    def _raw_setup(self, source: Path, schema: TableSchema, table: str, plan: RawCopy,
                   streams: int | None):
        """(byte ranges, staging table, its CREATE, the COPY statement by ``header``) of
        a raw load: what the COPY streams do depends on these and on nothing else."""
        from psycopg import sql

        size = source.stat().st_size
        parts = segments(source, streams_for(size, streams), size)
        # a record takes at least one byte per column: a block of this many row numbers
        # covers any segment (PostgreSQL walks a session's cache value by value)
        block = max(b - a for a, b in parts) // max(len(schema.columns), 1) + 2
        if block > MAX_ROW_BLOCK:
            parts = segments(source, 1, size)
        stage = self._stage(table)
        ident = sql.Identifier
        target = ident(self.schema, stage)
        # each session takes its row numbers from a cached block of the identity's
        # sequence: blocks reserved in file order keep the rows in order
        cache = block if len(parts) > 1 else 1000
        create = sql.SQL("CREATE TABLE {} ({} bigint GENERATED BY DEFAULT AS IDENTITY "
                         "(CACHE {}), {})").format(
            target, ident(ROW_COLUMN), sql.Literal(cache), sql.SQL(", ").join(
                sql.SQL("{} {}").format(ident(c.sql_name), sql.SQL(c.pg_type))
                for c in schema.columns))
        names = sql.SQL(", ").join(ident(n) for n in plan.columns)

        def copy_sql(header: bool):
            return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER {}, DELIMITER {}, "
                           "NULL '', FORCE_NULL ({}))").format(
                target, names, sql.SQL("true" if header else "false"),
                sql.Literal(plan.delimiter), names)

        return parts, stage, create, copy_sql

    def _load_raw(self, source: Path, schema: TableSchema, table: str, owner: str | None,
                  plan: RawCopy, progress: Callable[[int], None] | None,
                  streams: int | None) -> LoadResult | str:
        """The file's own bytes to COPY (see :mod:`.pg_copy`): the LoadResult, or why the
        file turned out not to fit (then nothing is left behind)."""
        psycopg = _psycopg()

        size = source.stat().st_size
        parts, stage, create, copy_sql = self._raw_setup(source, schema, table, plan, streams)
        sent = _Counter(progress)
        if len(parts) == 1:
            conn = self.connect()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    try:
                        cur.execute(create)
                        rows = _copy_segment(cur, copy_sql(True), source, parts[0], plan,
                                             True, sent)
                        self._check_raw(cur, _ident(self.schema, stage), schema, plan,
                                        rows)
                    except psycopg.Error as e:
                        self._raise_if_lost(e, source, table)
                        raise Unfit(first_line(e)) from None
                    self._finish_stage(cur, stage, table, owner, source)
            except Unfit as e:
                sent.undo()
                return str(e)
            except psycopg.Error as e:
                raise self._load_refused(source, table, e) from None
            finally:
                conn.close()
        else:
            run = self._start_streams(source, table, plan, parts, stage, create, copy_sql,
                                      sent)
            done = self._end_streams(run, source, schema, table, owner, plan)
            if isinstance(done, str):
                return done
        return LoadResult(table, schema, schema.row_count, size, copy="raw",
                          streams=len(parts))

    def _start_streams(self, source: Path, table: str, plan: RawCopy,
                       parts: list[tuple[int, int]], stage: str, create, copy_sql,
                       sent: _Counter | None = None) -> _Streams:
        """Several COPY streams into one staging table, each committed when done, the
        table checked and renamed by :meth:`_end_streams` (a session advisory lock marks
        it as a live load's own, so :meth:`drop_staging` leaves it alone meanwhile)."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        psycopg = _psycopg()

        sent = sent or _Counter(None)  # (a load begun early reports once it is taken)
        run = _Streams(self, source, stage, parts, sent)
        run.admin = self.connect(autocommit=True)
        try:
            run.admin.execute("SELECT pg_advisory_lock(hashtext(%s))",
                              (_stage_lock(self.schema, stage),))
            run.admin.execute(create)
            run.created = True
            qualified = run.target.as_string(run.admin)
            for _ in parts:
                run.conns.append(self.connect())
            for c in run.conns:  # in file order: each session's block of row numbers
                c.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))",
                          (qualified, ROW_COLUMN))
        except psycopg.Error as e:
            run.close()
            raise self._load_refused(source, table, e) from None
        except BaseException:
            run.close()
            raise
        run.stop = threading.Event()

        def one(k: int) -> int:
            try:
                with run.conns[k].cursor() as cur:
                    rows = _copy_segment(cur, copy_sql(k == 0), source, parts[k], plan,
                                         k == 0, sent, run.stop)
                run.conns[k].commit()
                return rows
            except BaseException:
                run.stop.set()
                raise

        run.pool = ThreadPoolExecutor(len(parts), thread_name_prefix="stork-copy")
        run.futures = [run.pool.submit(one, k) for k in range(len(parts))]
        return run

    def _end_streams(self, run: _Streams, source: Path, schema: TableSchema, table: str,
                     owner: str | None, plan: RawCopy) -> str | None:
        """Wait for the streams of :meth:`_start_streams`, then check the staging table
        (:meth:`_check_raw`) and rename it; why it did not fit, or None."""
        psycopg = _psycopg()
        try:
            errors = [f.exception() for f in run.futures]
            real = [e for e in errors if e is not None and not isinstance(
                e, Unfit | psycopg.Error)]
            if real:
                raise real[0]
            for e in errors:
                if isinstance(e, psycopg.Error):
                    self._raise_if_lost(e, source, table)
            unfit = [e for e in errors if e is not None]
            if unfit:
                first = next((e for e in unfit if not isinstance(e, Unfit) or
                              str(e) != _STOPPED), unfit[0])
                raise Unfit(first_line(first))
            rows = sum(f.result() for f in run.futures)
            self._check_rows(schema, rows)
            with run.admin.transaction(), run.admin.cursor() as cur:
                # the checks read the committed table on a stream's connection while
                # the key's index is built here: two scans at once, not one by one
                check = _Background(self._check_aside, run.conns[0], run.target, plan,
                                    rows)
                try:
                    self._build_key_index(cur, run.stage)
                finally:
                    verdict = check.wait()
                if isinstance(verdict, psycopg.Error):
                    raise Unfit(first_line(verdict))
                if isinstance(verdict, BaseException):
                    raise verdict
                try:
                    self._drop_identity(cur, run.target)
                except psycopg.Error as e:
                    raise Unfit(first_line(e)) from None
                self._finish_stage(cur, run.stage, table, owner, source, indexed=True)
            run.created = False
            return None
        except Unfit as e:
            run.sent.undo()
            return str(e)
        except psycopg.Error as e:
            raise self._load_refused(source, table, e) from None
        finally:
            run.close()

    def _raise_if_lost(self, e: Exception, source: Path, table: str) -> None:
        """A lost connection is a failure of the load, not a file unfit for COPY."""
        psycopg = _psycopg()
        if isinstance(e, psycopg.OperationalError) or (
                getattr(e, "sqlstate", None) or "").startswith(("08", "57P")):
            raise DestinationError(
                f"the connection to PostgreSQL at {self.where} was lost while loading "
                f"{source}: {first_line(e)}; nothing was loaded into "
                f"{self.schema}.{table}") from None

    def _check_raw(self, cur, target, schema: TableSchema, plan: RawCopy, rows: int
                   ) -> None:
        """What PostgreSQL got must be what pandas gave: the row count, the NULLs of
        each column with missing values, floats in the range both parse alike; then the
        identity is dropped (the ordering column is a plain bigint, as the other path's)."""
        self._check_rows(schema, rows)
        self._check_values(cur, target, plan, rows)
        self._drop_identity(cur, target)

    @staticmethod
    def _check_rows(schema: TableSchema, rows: int) -> None:
        if rows != schema.row_count:
            raise Unfit(f"COPY read {rows} rows where pandas reads {schema.row_count}")

    @staticmethod
    def _check_values(cur, target, plan: RawCopy, rows: int) -> None:
        """The NULLs and the floats of :meth:`_check_raw` (``cur``: a cursor or a
        connection), in one scan; Unfit when they differ."""
        from psycopg import sql

        ident = sql.Identifier
        items = [sql.SQL("count({})").format(ident(n)) for n in plan.nulls]
        items += [sql.SQL("coalesce(bool_and({c} = 0 OR abs({c}) = 'Infinity' OR "
                          "(abs({c}) >= '1e-7'::float8 AND abs({c}) < '1e22'::float8)), true)"
                          ).format(c=ident(n)) for n in plan.floats]
        if not items:
            return
        found = cur.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(items), target)).fetchone()
        for (name, nulls), count in zip(plan.nulls.items(), found, strict=False):
            if rows - count != nulls:
                raise Unfit(f"column {name!r} has {rows - count} NULLs where pandas "
                            f"has {nulls} missing values")
        if not all(found[len(plan.nulls):]):
            raise Unfit("a float out of the range both parsers read alike")

    @classmethod
    def _check_aside(cls, conn, target, plan: RawCopy, rows: int) -> None:
        """:meth:`_check_values` on another connection, its transaction ended after (it
        would hold a lock the rename waits for)."""
        try:
            cls._check_values(conn, target, plan, rows)
        finally:
            conn.rollback()

    @staticmethod
    def _drop_identity(cur, target) -> None:
        from psycopg import sql

        cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY").format(
            target, sql.Identifier(ROW_COLUMN)))

    def _take_name(self, cur, table: str, owner: str | None, source: Path) -> None:
        """In the load's transaction: make ``table`` free for its rename, dropping the
        table there only when it is ``owner``'s own. Loads of one name queue on a lock,
        so the one that comes second sees the first one's table."""
        from psycopg import sql

        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                    (f"stork_table:{self.schema}.{table}",))
        row = cur.execute(
            "SELECT c.relkind, d.description FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_description d ON d.objoid = c.oid "
            "AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 "
            "WHERE n.nspname = %s AND c.relname = %s", (self.schema, table)).fetchone()
        if row is None:
            return
        if row[0] != "r" or owner is None or _owner_of_tag(row[1]) != owner:
            raise DestinationError(
                f"{self.schema}.{table} already exists at {self.where} and holds other data "
                f"than {source}; it was left alone and nothing was loaded (migrate again: "
                "another table name is chosen)")
        cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(self.schema, table)))

    def _load_refused(self, source: Path, table: str, e: Exception) -> DestinationError:
        """A raw load PostgreSQL refused (not a row the file's bytes broke: that one
        falls back to converted chunks), as one line; nothing was loaded."""
        return DestinationError(f"{source}: PostgreSQL refused the load: {first_line(e)}; "
                                f"nothing was loaded into {self.schema}.{table}")

    def _copy_failure(self, e: Exception, source: Path, schema: TableSchema, table: str,
                      encoder: _ChunkEncoder) -> str:
        psycopg = _psycopg()
        diag = getattr(e, "diag", None)
        context = (getattr(diag, "context", None) or "") if diag else ""
        primary = (getattr(diag, "message_primary", None) if diag else None) or first_line(e)
        tail = f"nothing was loaded into {self.schema}.{table}"
        m = re.search(r"\bline (\d+)", context)
        if m and "COPY" in context:
            row = encoder.row_of_line(int(m.group(1)))
            col = None
            for c in sorted(schema.columns, key=lambda c: -len(c.sql_name)):
                if f"column {c.sql_name}:" in context or context.rstrip().endswith(
                        f"column {c.sql_name}"):
                    col = c
                    break
            where = (f"data row {row}" if row else f"line {m.group(1)} of the COPY data") + (
                f", column {col.name!r}" if col else "")
            return f"{source}: {where}: {primary}; {tail}"
        if isinstance(e, psycopg.OperationalError) or (
                getattr(e, "sqlstate", None) or "").startswith(("08", "57P")):
            return (f"the connection to PostgreSQL at {self.where} was lost while loading "
                    f"{source} (after about {encoder.rows} data rows): {primary}; {tail}")
        return f"{source}: PostgreSQL refused the load: {primary}; {tail}"

    def drop_table(self, table: str) -> None:
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.Identifier(self.schema, table)))

    @staticmethod
    def read_back_kwargs(schema: TableSchema, columns: list[str] | None = None) -> dict:
        """Keyword arguments for ``pd.read_sql_query`` (see :func:`tabular.read_back`)."""
        return read_back_kwargs(schema, columns)

    @staticmethod
    def read_back(schema: TableSchema, columns: list[str] | None = None):
        return read_back(schema, columns)

    # ----------------------------------------------------------------- files

    def _ensure_files_table(self, conn) -> None:
        """Create the files table if needed (in the caller's transaction). Transfers run
        in parallel: two sessions creating it at once would collide in the catalog
        (``pg_type_typname_nsp_index``), so creators queue on a transaction lock."""
        from psycopg import sql

        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                     (f"stork_files:{self.schema}",))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (path text PRIMARY KEY, bytes bytea NOT NULL, "
            "sha256 text NOT NULL, size bigint NOT NULL)").format(
                sql.Identifier(self.schema, FILES_TABLE)))

    def put(self, source: Path, key: str, sha256: str, progress: Progress | None = None
            ) -> PutResult:
        """Store the bytes of ``source`` as the row ``key`` of ``<schema>.stork_files``
        (streamed with binary COPY, verified by the server's sha256); skipped when the
        same content is already there."""
        psycopg = _psycopg()
        from psycopg import sql

        source = Path(source)
        size = source.stat().st_size
        if size > MAX_BYTEA:
            raise DestinationError(f"{source} is {size} bytes; PostgreSQL stores at most 1 GB "
                                   "in one value, use a folder or S3 destination for it")
        files = sql.Identifier(self.schema, FILES_TABLE)
        conn = self.connect()
        try:
            with conn.transaction():
                self._ensure_files_table(conn)
                row = conn.execute(sql.SQL("SELECT sha256, size FROM {} WHERE path = %s").format(
                    files), (key,)).fetchone()
            if row and row[0] == sha256 and row[1] == size:
                if progress:
                    progress(size)
                return PutResult(self.target(key), size, sha256, skipped=True)
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("DELETE FROM {} WHERE path = %s").format(files), (key,))
                digest = hashlib.sha256()
                with cur.copy(sql.SQL(
                        "COPY {} (path, bytes, sha256, size) FROM STDIN (FORMAT binary)").format(
                        files)) as copy:
                    path_b = key.encode("utf-8")
                    copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
                               + struct.pack("!h", 4) + struct.pack("!i", len(path_b)) + path_b
                               + struct.pack("!i", size))
                    sent = 0
                    with open(source, "rb") as f:
                        while sent < size and (block := f.read(min(CHUNK, size - sent))):
                            digest.update(block)
                            copy.write(block)
                            sent += len(block)
                            if progress:
                                progress(len(block))
                    if sent != size or digest.hexdigest() != sha256:
                        raise DestinationError(f"{source} changed while it was being stored")
                    sha_b = sha256.encode()
                    copy.write(struct.pack("!i", len(sha_b)) + sha_b + struct.pack("!iq", 8, size)
                               + struct.pack("!h", -1))
                stored = cur.execute(sql.SQL(
                    "SELECT encode(sha256(bytes), 'hex'), length(bytes) FROM {} WHERE path = %s"
                ).format(files), (key,)).fetchone()
                if not stored or stored[0] != sha256 or stored[1] != size:
                    raise DestinationError(f"the copy of {source} in {self.target(key)} does "
                                           "not verify")
        except psycopg.Error as e:
            raise DestinationError(f"cannot store {source} in {self.schema}.{FILES_TABLE} at "
                                   f"{self.where}: {first_line(e)}") from None
        finally:
            conn.close()
        return PutResult(self.target(key), size, sha256)

    def fetch(self, key: str, dest: Path, expected_sha256: str | None,
              progress: Progress | None = None) -> None:
        n = self.get(key, dest)
        if progress:
            progress(n)

    def read_table(self, table: str, schema: dict[str, Any]):
        import pandas as pd
        from sqlalchemy import create_engine, text

        from ..rewrite.postgres import select_query

        table_schema = TableSchema.from_json(schema)
        rb = read_back(table_schema)
        query = select_query(self.schema, table, [c.sql_name for c in table_schema.columns],
                             {}, rb.casts)
        password = ({"password": self._conn_kwargs["password"]}
                    if "password" in self._conn_kwargs else {})
        engine = create_engine(self.sqlalchemy_url(),
                               connect_args={"connect_timeout": 5, **password})
        try:
            with engine.connect() as conn:
                df = pd.read_sql_query(text(query), conn, **rb.kwargs)
        finally:
            engine.dispose()
        return rb.apply(df)

    def get(self, key: str, dest: Path) -> int:
        """Write the stored bytes of ``key`` to ``dest`` (the import direction)."""
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            row = conn.execute(sql.SQL("SELECT bytes FROM {} WHERE path = %s").format(
                sql.Identifier(self.schema, FILES_TABLE)), (key,)).fetchone()
        if row is None:
            raise DestinationError(f"{self.target(key)} does not exist")
        Path(dest).write_bytes(bytes(row[0]))
        return len(row[0])

    # ----------------------------------------------------------------- resume / cancel

    def staging_tables(self, table: str) -> list[str]:
        """Staging tables of ``table`` left by loads that did not finish (a load's own
        staging table is invisible to others until it commits, so these are leftovers)."""
        pattern = re.compile(rf"_stork_stage_{re.escape(table[:30])}_[0-9a-f]{{8}}")
        return sorted(n for n in self.existing_names() if pattern.fullmatch(n))

    def drop_staging(self, table: str) -> list[str]:
        """Drop every leftover staging table of ``table``; returns their names."""
        from psycopg import sql

        names = self.staging_tables(table)
        dropped = []
        if names:
            with self.connect(autocommit=True) as conn:
                for name in names:
                    lock = _stage_lock(self.schema, name)
                    # a multi-stream load still running holds its table's lock: not ours
                    if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                                        (lock,)).fetchone()[0]:
                        continue
                    try:
                        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                            sql.Identifier(self.schema, name)))
                    finally:
                        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))
                    dropped.append(name)
        return dropped

    def remove(self, key: str) -> None:
        """Delete the row ``key`` of the files table (cancel of the job that stored it)."""
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            if FILES_TABLE in self.existing_names(conn):
                conn.execute(sql.SQL("DELETE FROM {} WHERE path = %s").format(
                    sql.Identifier(self.schema, FILES_TABLE)), (key,))

    def identity(self) -> str:
        return f"{self._base_url(with_user=False)}?schema={self.schema}"

    def reserved_name(self, key: str | None = None, table: str | None = None) -> str:
        # tables and rows of the files table are names of their own
        return f"table:{table}" if table is not None else f"file:{key}"

    def free_for(self, key: str, sha256: Digest) -> bool:
        found = self.file_sha256(key)
        return found is None or (sha256 is not None and found == digest_value(sha256))

    def file_sha256(self, key: str) -> str | None:
        """The sha256 of the files-table row ``key`` (None when there is none)."""
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            if FILES_TABLE not in self.existing_names(conn):
                return None
            row = conn.execute(sql.SQL("SELECT sha256 FROM {} WHERE path = %s").format(
                sql.Identifier(self.schema, FILES_TABLE)), (key,)).fetchone()
        return row[0] if row else None

    def exists(self, key: str) -> bool:
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            if FILES_TABLE not in self.existing_names(conn):
                return False
            return conn.execute(sql.SQL("SELECT 1 FROM {} WHERE path = %s").format(
                sql.Identifier(self.schema, FILES_TABLE)), (key,)).fetchone() is not None


def _owner_of_tag(tag: str | None) -> str | None:
    return tag[len(OWNER_TAG):] if tag and tag.startswith(OWNER_TAG) else None


_STOPPED = "another COPY stream failed"
MAX_ROW_BLOCK = 1 << 27  #: row numbers one COPY stream may take


def _stage_lock(schema: str, stage: str) -> str:
    """The advisory lock a multi-stream load holds on its committed staging table."""
    return f"stork_stage:{schema}.{stage}"


class _Counter:
    """Bytes sent for progress, from any stream; :meth:`undo` takes them back when the
    load falls back to the other path (which reports the file again)."""

    def __init__(self, progress: Callable[[int], None] | None):
        import threading

        self.progress = progress
        self.sent = 0
        self.lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self.lock:
            self.sent += n
            progress = self.progress
        if progress:
            progress(n)

    def attach(self, progress: Callable[[int], None] | None) -> None:
        """Report to ``progress`` from now on, starting with the bytes already sent (a
        load begun before its transfer: see :mod:`.pg_early`)."""
        with self.lock:
            self.progress = progress
            n = self.sent
        if progress and n:
            progress(n)

    def undo(self) -> None:
        with self.lock:
            n, self.sent = self.sent, 0
        if self.progress and n:
            self.progress(-n)


def _ident(*names: str):
    from psycopg import sql

    return sql.Identifier(*names)


class _Background:
    """``fn(*args)`` in a thread; :meth:`wait` gives its result, or the exception it
    raised (as a value)."""

    def __init__(self, fn, *args):
        import threading

        self.value: Any = None
        self.thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True,
                                       name="stork-check")
        self.thread.start()

    def _run(self, fn, *args) -> None:
        try:
            self.value = fn(*args)
        except BaseException as e:  # handed to the caller
            self.value = e

    def wait(self):
        self.thread.join()
        return self.value


class _Streams:
    """The COPY streams of one raw load under way (see
    :meth:`PostgresBackend._start_streams`); :meth:`close` stops them and drops the
    staging table unless it became the final table."""

    def __init__(self, backend: PostgresBackend, source: Path, stage: str,
                 parts: list[tuple[int, int]], sent: _Counter):
        self.schema = backend.schema
        self.source = source
        self.stage = stage
        self.target = _ident(backend.schema, stage)
        self.parts = parts
        self.sent = sent
        self.admin: Any = None
        self.conns: list[Any] = []
        self.created = False
        self.stop: Any = None
        self.pool: Any = None
        self.futures: list[Any] = []

    def close(self) -> None:
        psycopg = _psycopg()
        from psycopg import sql

        if self.stop is not None:
            self.stop.set()
        for f in self.futures:
            f.exception()  # each stream sees the stop at its next block
        if self.pool is not None:
            self.pool.shutdown()
        for c in self.conns:
            c.close()
        self.conns = []
        if self.admin is not None:
            if self.created:
                with contextlib.suppress(psycopg.Error):  # else resume/cancel drops it
                    self.admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                        self.target))
                self.created = False
            self.admin.close()
            self.admin = None


def _copy_segment(cur, copy_sql, source: Path, part: tuple[int, int], plan: RawCopy,
                  first: bool, sent: _Counter, stop=None) -> int:
    """Send bytes ``part`` of the file to one COPY, checking them (:class:`Scan`);
    the rows COPY read."""
    start, end = part
    scan = Scan(plan.delimiter, bool(plan.floats), first)
    with open(source, "rb") as f, cur.copy(copy_sql) as copy:
        f.seek(start)
        left = end - start
        while left > 0:
            if stop is not None and stop.is_set():
                raise Unfit(_STOPPED)
            block = f.read(min(BLOCK, left))
            if not block:
                raise Unfit("the file got shorter while it was sent")
            scan.feed(block)
            copy.write(block)
            left -= len(block)
            sent(len(block))
    scan.end(end == source.stat().st_size)
    return cur.rowcount


class _Sender:
    """Sends COPY data from a second thread while the next chunk is parsed: at most two
    chunks wait (bounded memory). Only this thread touches the connection meanwhile; an
    error it meets is raised in the caller at its next :meth:`send` or at the end."""

    def __init__(self, copy):
        import queue
        import threading

        self.copy = copy
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="stork-copy", daemon=True)

    def __enter__(self) -> _Sender:
        self.thread.start()
        return self

    def _run(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            if self.error is None:
                try:
                    self.copy.write(data)
                except BaseException as e:  # handed to the caller
                    self.error = e

    def send(self, data: bytes) -> None:
        import queue

        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(data, timeout=0.5)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    raise DestinationError("the COPY sender stopped unexpectedly") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        self.queue.put(None)
        self.thread.join()
        if exc is None and self.error is not None:
            raise self.error


class _ChunkEncoder:
    """Chunks as CSV for ``COPY ... (FORMAT csv)``: the row number (1-based) first, NULL
    as an unquoted empty field and every string quoted (``""`` is an empty string), so
    NULL and empty text stay distinct; floats in shortest round-trip form. Remembers
    where rows start, to turn a COPY error's line number into a data row."""

    def __init__(self, schema: TableSchema, source: Path):
        self.source = source
        self.names = [c.name for c in schema.columns]
        self.text = [i for i, c in enumerate(schema.columns) if c.pg_type == "text"]
        self.rows = 0
        self.lines = 0
        #: (first line, first row, cumulative lines per row or None when one line per row)
        self.chunks: list[tuple[int, int, Any]] = []

    def encode(self, df) -> bytes:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        first = self.rows + 1
        arrays = [pa.array(np.arange(first, first + len(df), dtype=np.int64))]
        for i in range(df.shape[1]):
            s = df.iloc[:, i]
            if str(s.dtype) == "category":
                cats = s.cat.categories.dtype
                s = s.astype(cats if cats.kind != "O" and not s.hasnans else object)
            elif str(s.dtype) in ("uint64", "UInt64"):
                s = s.astype(object).where(s.notna(), None).map(
                    lambda v: None if v is None else str(v))
            try:
                arrays.append(pa.Array.from_pandas(s))
            except (pa.ArrowException, TypeError, ValueError) as e:
                raise DestinationError(
                    f"{self.source}: column {self.names[i]!r} (data rows {first}-"
                    f"{first + len(df) - 1}) cannot be written for COPY: {e}") from None
        newlines = None
        for i in self.text:
            arr = arrays[i + 1]
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                continue
            nul = pc.match_substring(arr, "\x00").fill_null(False)
            if pc.any(nul).as_py():
                k = int(pc.index(nul, True).as_py())
                raise DestinationError(
                    f"{self.source}: data row {first + k}, column {self.names[i]!r}: the text "
                    "holds a NUL character, which PostgreSQL text cannot store; nothing was "
                    "loaded")
            count = pc.count_substring(arr, "\n").fill_null(0).to_numpy(zero_copy_only=False)
            if count.any():
                newlines = count if newlines is None else newlines + count
        table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False,
                                                        batch_size=65536))
        cum = None if newlines is None else np.cumsum(newlines + 1)
        self.chunks.append((self.lines + 1, first, cum))
        self.lines += len(df) if cum is None else (int(cum[-1]) if len(cum) else 0)
        self.rows += len(df)
        return buf.getvalue()

    def row_of_line(self, line: int) -> int | None:
        """The 1-based data row that COPY's (physical) ``line`` belongs to."""
        import numpy as np

        for start, first, cum in reversed(self.chunks):
            if line >= start:
                offset = line - start  # 0-based line within the chunk
                if cum is None:
                    return first + offset
                return first + int(np.searchsorted(cum, offset + 1))
        return None


__all__ = ["FILES_TABLE", "LoadResult", "PostgresBackend", "sanitize_table_name"]
