"""The metadata store on real SQLite files (and PostgreSQL when a server is reachable)."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, make_url, text

from stork_jupyter.config import redact_url
from stork_jupyter.errors import NotFoundError, StoreError
from stork_jupyter.store import (
    ENTITIES,
    SCHEMA_VERSION,
    STATUSES,
    Dataset,
    Datastore,
    Job,
    Location,
    MetadataStore,
    Project,
    Record,
    Transfer,
    open_store,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A folder that does not exist yet: the store must create it.
    return tmp_path / ".stork" / "stork.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[MetadataStore]:
    with MetadataStore(f"sqlite:///{db_path}") as opened:
        yield opened


@pytest.fixture
def project(store: MetadataStore, tmp_path: Path) -> Project:
    return store.ensure_project(tmp_path)


def _roundtrip(store: MetadataStore, obj):
    saved = store.save(obj)
    assert saved.id is not None
    loaded = store.get(type(obj), saved.id)
    assert loaded == saved
    json.dumps(loaded.to_json())  # JSON-ready as is
    return loaded


# -- opening -----------------------------------------------------------------------


def test_creates_folder_and_uses_wal(store: MetadataStore, db_path: Path) -> None:
    assert db_path.is_file()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # NORMAL (1): a commit does not wait for the disk; WAL keeps the file sound
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1


def test_schema_version_recorded(store: MetadataStore) -> None:
    assert store.schema_version == SCHEMA_VERSION == 1
    with store.engine.connect() as conn:
        value = conn.execute(
            text("SELECT value FROM stork_meta WHERE key = 'schema_version'")
        ).scalar()
    assert value == "1"


def test_reopening_keeps_data(db_path: Path, tmp_path: Path) -> None:
    with MetadataStore(f"sqlite:///{db_path}") as first:
        first.ensure_project(tmp_path)
    with MetadataStore(f"sqlite:///{db_path}") as second:
        assert second.count(Project) == 1
        assert second.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused(db_path: Path) -> None:
    with MetadataStore(f"sqlite:///{db_path}") as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE stork_meta SET value = '99' WHERE key = 'schema_version'"))

    with pytest.raises(StoreError, match=r"schema version 99, newer than .* knows \(1\)"):
        MetadataStore(f"sqlite:///{db_path}")


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a valid metadata store URL"):
        MetadataStore("::nonsense::")


def test_url_is_redacted_in_repr(db_path: Path) -> None:
    with MetadataStore(f"sqlite:///{db_path}") as store:
        assert repr(store) == f"MetadataStore('sqlite:///{db_path}')"


def test_concurrent_opening_of_a_new_store(db_path: Path) -> None:
    errors: list[BaseException] = []

    def open_and_write(n: int) -> None:
        try:
            with MetadataStore(f"sqlite:///{db_path}") as store:
                store.save(Job(kind="analyze", notebook=f"nb{n}.ipynb"))
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with MetadataStore(f"sqlite:///{db_path}") as store:
        assert store.count(Job) == 16


def test_open_store_uses_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORK_STORE", str(tmp_path / "env.db"))

    with open_store(tmp_path / "project") as store:
        assert store.url == f"sqlite:///{tmp_path.resolve()}/env.db"
    assert (tmp_path / "env.db").is_file()


# -- round trips ---------------------------------------------------------------------


def test_roundtrip_every_entity(store: MetadataStore, project: Project) -> None:
    datastore = _roundtrip(
        store, Datastore(name="lake", url="s3://KEY:" + "-".join(["not", "real"]) + "@bucket/prefix",
                         kind="s3")
    )
    assert datastore.url == "s3://KEY@bucket/prefix"

    dataset = _roundtrip(
        store,
        Dataset(
            project_id=project.id,
            source_path="data/sales.csv",
            format="csv",
            size=3_000_000_000,  # beyond 32 bits
            sha256="ab" * 32,
            schema=[{"name": "region", "type": "string"}, {"name": "total", "type": "float64"}],
            row_count=12,
        ),
    )
    assert dataset.version == 1
    assert dataset.created_at == dataset.updated_at is not None

    job = _roundtrip(
        store,
        Job(
            project_id=project.id,
            kind="migrate",
            notebook="analysis.ipynb",
            destination="postgresql://u:" + "pw@h/db?password=pw&schema=s",
            status="running",
            progress=0.25,
            started_at=datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc),
            counts={"datasets": 3, "bytes": 10},
            options={"layout": "flat", "to": "postgresql://u:" + "pw@h/db"},
        ),
    )
    assert job.destination == "postgresql://u@h/db?schema=s"
    assert job.options == {"layout": "flat", "to": "postgresql://u@h/db"}
    assert job.started_at == "2024-05-01T12:00:00.000000+00:00"
    assert job.created_at is not None

    location = _roundtrip(
        store,
        Location(
            dataset_id=dataset.id,
            datastore_id=datastore.id,
            url="postgresql://u:" + "pw@h/db",
            table_name="sales",
            job_id=job.id,
        ),
    )
    assert location.url == "postgresql://u@h/db"

    transfer = _roundtrip(
        store,
        Transfer(
            job_id=job.id,
            dataset_id=dataset.id,
            source="data/sales.csv",
            target="s3://bucket/prefix/sales.csv",
            status="paused",
            bytes_total=100,
            bytes_done=40,
            parts_done=2,
            state={"key": "prefix/sales.csv", "upload_id": "u1", "parts": [{"n": 1, "etag": "e"}]},
        ),
    )
    assert transfer.state["key"] == "prefix/sales.csv"  # a key named 'key' is not a secret here

    record = _roundtrip(
        store,
        Record(
            job_id=job.id,
            project_id=project.id,
            notebook="analysis.ipynb",
            cell_id="c1",
            cell_index=3,
            line=2,
            api="pandas.read_csv",
            original_source='df = pd.read_csv("data/sales.csv")\n',
            new_source='df = pd.read_sql_query("SELECT * FROM sales", engine)\n',
        ),
    )
    assert record.status == "applied"


def test_entities_by_name() -> None:
    assert ENTITIES["job"] is Job
    assert set(ENTITIES) == {
        "project",
        "datastore",
        "dataset",
        "location",
        "job",
        "transfer",
        "record",
    }
    assert STATUSES == ("pending", "running", "paused", "completed", "failed", "cancelled")


def test_save_updates(store: MetadataStore, project: Project) -> None:
    job = store.save(Job(project_id=project.id, kind="migrate"))
    job.status = "completed"
    job.progress = 1.0
    job.counts = {"datasets": 2}

    store.save(job)

    again = store.get(Job, job.id)
    assert (again.status, again.progress, again.counts) == ("completed", 1.0, {"datasets": 2})
    assert store.count(Job) == 1


def test_save_of_vanished_row(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match="No job with id 42"):
        store.save(Job(id=42, kind="migrate"))


def test_update_changes_only_given_fields(store: MetadataStore) -> None:
    job = store.save(Job(kind="migrate", progress=0.1))
    store.update(Job, job.id, status="paused")  # a door pauses ...

    updated = store.update(Job, job.id, progress=0.5)  # ... while the worker reports

    assert (updated.status, updated.progress) == ("paused", 0.5)


def test_bad_status_and_kind_are_refused(store: MetadataStore) -> None:
    with pytest.raises(StoreError, match="'done' is not a valid job status"):
        store.save(Job(kind="migrate", status="done"))
    with pytest.raises(StoreError, match="not a valid job kind"):
        store.save(Job(kind="teleport"))
    job = store.save(Job(kind="migrate"))
    with pytest.raises(StoreError, match="not a valid job status"):
        store.update(Job, job.id, status="finished")


def test_unknown_field_is_refused(store: MetadataStore) -> None:
    with pytest.raises(StoreError, match="A job has no field 'colour'"):
        store.list(Job, colour="red")
    with pytest.raises(StoreError, match="A project has no status"):
        store.list(Project, status="running")


def test_get_missing(store: MetadataStore) -> None:
    with pytest.raises(NotFoundError, match=r"^No job with id 42\.$"):
        store.get(Job, 42)
    with pytest.raises(NotFoundError, match="No dataset with id 7"):
        store.delete(Dataset, 7)


def test_foreign_keys_are_enforced(store: MetadataStore) -> None:
    with pytest.raises(StoreError, match="refused"):
        store.save(Transfer(job_id=999))


def test_delete_cascades(store: MetadataStore, project: Project) -> None:
    dataset = store.upsert_dataset(project.id, "a.csv")
    job = store.save(Job(project_id=project.id, kind="migrate"))
    store.add_location(dataset.id, "s3://b/a.csv", job_id=job.id)
    store.save(Transfer(job_id=job.id, dataset_id=dataset.id))
    record = store.save(Record(job_id=job.id, project_id=project.id, notebook="n.ipynb"))

    store.delete(Job, job.id)

    assert store.count(Transfer) == 0
    assert store.get(Record, record.id).job_id is None  # kept: undo needs it
    assert store.locations(dataset.id)[0].job_id is None

    store.delete(Project, project.id)

    assert store.count(Dataset) == store.count(Location) == store.count(Record) == 0


# -- list and count ------------------------------------------------------------------


def test_list_pages_filters_and_counts(store: MetadataStore, project: Project) -> None:
    statuses = ["pending", "running", "completed", "failed"]
    ids = [
        store.save(
            Job(
                project_id=project.id,
                kind="migrate",
                notebook=f"nb{i % 2}.ipynb",
                status=statuses[i % 4],
            )
        ).id
        for i in range(10)
    ]

    assert [j.id for j in store.list(Job, limit=3)] == ids[::-1][:3]
    assert [j.id for j in store.list(Job, limit=3, offset=3)] == ids[::-1][3:6]
    assert [j.id for j in store.list(Job, limit=3, order="oldest")] == ids[:3]
    assert [j.id for j in store.list(Job, status="failed")] == [ids[7], ids[3]]
    assert [j.id for j in store.list(Job, status=["failed", "pending"], order="oldest")] == [
        ids[0],
        ids[3],
        ids[4],
        ids[7],
        ids[8],
    ]
    assert [j.id for j in store.list(Job, notebook="nb1.ipynb", status="running")] == [
        ids[9],
        ids[5],
        ids[1],
    ]
    assert store.list(Job, notebook="nb9.ipynb") == []
    assert store.list(Job, offset=100) == []
    assert len(store.list(Job, limit=None)) == 10
    assert store.list(Job, error=None, limit=1)[0].id == ids[-1]

    assert store.count(Job) == 10
    assert store.count(Job, status="completed") == 2
    assert store.count(Job, notebook="nb0.ipynb") == 5
    assert store.count(Job, notebook="nb0.ipynb", status="completed") == 2
    assert store.count(Job, project_id=project.id + 1) == 0

    with pytest.raises(StoreError, match="Unknown order"):
        store.list(Job, order="random")


def test_list_by_job_id(store: MetadataStore) -> None:
    first = store.save(Job(kind="migrate"))
    second = store.save(Job(kind="migrate"))
    for job in (first, second, first):
        store.save(Transfer(job_id=job.id, source="a"))

    assert store.count(Transfer, job_id=first.id) == 2
    assert {t.job_id for t in store.list(Transfer, job_id=second.id)} == {second.id}


def _searchable(store: MetadataStore) -> dict[str, int]:
    """Jobs whose text holds LIKE's special characters; their ids by notebook."""
    notebooks = {
        "a%b.ipynb": None,
        "axb.ipynb": "x_y failed",
        "A_B.ipynb": "100% done",
        "back\\slash.ipynb": None,
        "plain.ipynb": "Disk FULL",
    }
    return {
        nb: store.save(Job(kind="migrate", notebook=nb, error=error)).id  # type: ignore[misc]
        for nb, error in notebooks.items()
    }


def test_search_is_a_literal_substring_in_any_case(store: MetadataStore) -> None:
    ids = _searchable(store)
    a_pct, axb, a_us, back, plain = ids.values()

    def found(search: str, **kwargs) -> list[int]:
        return sorted(j.id for j in store.list(Job, search=search, limit=None, **kwargs))

    # % and _ are the characters themselves, not wildcards; so is the escape character
    assert found("%") == [a_pct, a_us]
    assert found("a%b") == [a_pct]
    assert found("_") == [axb, a_us]
    assert found("a_b") == [a_us]  # not axb: _ is no wildcard
    assert found("\\") == [back]
    assert found("k\\s") == [back]
    assert found("%%") == found("\\%") == []
    # any case, in any text column (notebook, error, kind, ...) by default
    assert found("disk full") == [plain]
    assert found("A%B") == [a_pct]
    assert found("MIGRATE") == sorted(ids.values())
    assert found("") == found(None) == sorted(ids.values())  # type: ignore[arg-type]
    assert found("no such text") == []
    # search_in: only those columns, any of them
    assert found("done", search_in=["notebook"]) == []
    assert found("done", search_in=["error"]) == [a_us]
    assert found("a", search_in=["notebook", "error"]) == sorted(ids.values())
    assert found("x", search_in=("error",)) == [axb]
    assert found(str(plain), search_in=["id"]) == [plain]  # other columns: as text
    assert found("x", search_in=[]) == []
    # with the equality filters and paging
    assert [j.id for j in store.list(Job, search="a", search_in=["notebook"], limit=2)] == [
        plain,
        back,
    ]
    assert store.count(Job, search="_") == 2
    assert store.count(Job, search="_", error=None) == 0
    assert store.count(Job, search="ipynb", search_in=["notebook"], status="pending") == 5
    assert store.count(Job, search="") == 5
    with pytest.raises(StoreError, match="no field 'nope'"):
        store.list(Job, search="a", search_in=["notebook", "nope"])
    with pytest.raises(StoreError, match="no field 'nope'"):
        store.count(Job, search="a", search_in=["nope"])


def test_order_by_any_column_with_the_id_breaking_ties(store: MetadataStore) -> None:
    notebooks = ["b", "a", None, "b", "a", "c", None, "b"]
    ids = [store.save(Job(kind="migrate", notebook=nb)).id for nb in notebooks]
    key = dict(zip(ids, notebooks, strict=True))

    def ordered(**kwargs) -> list[int]:
        return [j.id for j in store.list(Job, limit=None, **kwargs)]  # type: ignore[misc]

    named = [i for i in ids if key[i] is not None]
    unnamed = [i for i in ids if key[i] is None]
    ascending = sorted(named, key=lambda i: (key[i], i)) + unnamed
    descending = sorted(named, key=lambda i: (key[i], i), reverse=True) + unnamed[::-1]
    assert ordered(order_by="notebook") == ascending
    # empty values last either way; ties newest first when descending
    assert ordered(order_by="notebook", descending=True) == descending
    assert [key[i] for i in descending] == ["c", "b", "b", "b", "a", "a", None, None]
    # pages of 3 put together are the whole order: nothing twice, nothing lost
    for desc, expected in ((False, ascending), (True, descending)):
        pages = [
            j.id
            for offset in range(0, len(ids), 3)
            for j in store.list(Job, order_by="notebook", descending=desc, limit=3, offset=offset)
        ]
        assert pages == expected
    # with a search and a filter
    assert ordered(order_by="notebook", search="b", search_in=["notebook"]) == [
        i for i in ascending if key[i] == "b"
    ]
    # the id, and the old order names
    assert ordered() == ordered(order="newest") == ordered(descending=True) == ids[::-1]
    assert ordered(order="oldest") == ordered(order_by="id") == ordered(descending=False) == ids
    assert ordered(order_by="id", descending=True) == ids[::-1]
    # a JSON column sorts by its text
    assert len(ordered(order_by="options")) == len(ids)
    with pytest.raises(StoreError, match="no field 'nope' to order by"):
        store.list(Job, order_by="nope")
    with pytest.raises(StoreError, match="not both"):
        store.list(Job, order="oldest", order_by="notebook")
    with pytest.raises(StoreError, match="Unknown order"):
        store.list(Job, order="random", order_by="notebook")


def test_100k_rows_then_one_page(store: MetadataStore, project: Project) -> None:
    total = 100_000
    inserted = store.insert_many(
        Job(
            project_id=project.id,
            kind="migrate",
            notebook=f"nb{i % 7}.ipynb",
            status=STATUSES[i % len(STATUSES)],
        )
        for i in range(total)
    )
    assert inserted == total
    # ids are 1..total in insertion order: row i has id i + 1.
    expected = [
        i + 1
        for i in reversed(range(total))
        if STATUSES[i % len(STATUSES)] == "failed" and i % 7 == 3
    ]

    statements: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: statements.append(statement),
    )
    page = store.list(Job, status="failed", notebook="nb3.ipynb", limit=25, offset=50)

    assert [job.id for job in page] == expected[50:75]
    assert all(job.status == "failed" and job.notebook == "nb3.ipynb" for job in page)
    assert store.count(Job) == total
    assert store.count(Job, status="failed", notebook="nb3.ipynb") == len(expected)
    # Paging happens in SQL, never by loading every row.
    assert any("LIMIT" in s and "OFFSET" in s for s in statements)
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM stork_job WHERE status = 'failed' "
            "ORDER BY id DESC LIMIT 25"
        ).all()
    assert any("ix_stork_job_status" in str(row) for row in plan)

    # a search and a sort by another column, also in SQL: one page comes back
    statements.clear()
    matches = [i for i in range(total) if i % 7 == 3 and STATUSES[i % len(STATUSES)] != "failed"]
    by_status = sorted(matches, key=lambda i: (STATUSES[i % len(STATUSES)], i), reverse=True)
    page = store.list(
        Job,
        search="NB3",
        search_in=["notebook"],
        status=[s for s in STATUSES if s != "failed"],
        order_by="status",
        descending=True,
        limit=25,
        offset=1000,
    )
    assert [job.id for job in page] == [i + 1 for i in by_status[1000:1025]]
    assert store.count(Job, search="nb3.IPYNB") == total // 7 + (total % 7 > 3)
    assert len(statements) == 2 and "LIMIT" in statements[0] and "OFFSET" in statements[0]


# -- helpers for the doors -------------------------------------------------------------


def test_ensure_project(store: MetadataStore, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proj").mkdir()

    first = store.ensure_project(Path("proj"))
    second = store.ensure_project(tmp_path / "proj")

    assert first == second
    assert first.root == str((tmp_path / "proj").resolve())
    assert first.name == "proj"
    assert store.count(Project) == 1


def test_ensure_datastore(store: MetadataStore) -> None:
    first = store.ensure_datastore("lake", "s3://bucket/a", "s3")
    same = store.ensure_datastore("lake", "s3://bucket/a", "s3")
    moved = store.ensure_datastore("lake", "s3://bucket/b", "s3")

    assert first == same
    assert moved.id == first.id and moved.url == "s3://bucket/b"
    assert store.count(Datastore) == 1
    with pytest.raises(StoreError, match="not a valid datastore kind"):
        store.ensure_datastore("ftp", "ftp://h", "ftp")


def test_upsert_dataset_is_idempotent(store: MetadataStore, project: Project) -> None:
    pid = project.id
    assert pid is not None
    assert store.dataset_by_path(pid, "data/a.csv") is None

    created = store.upsert_dataset(pid, Path("data") / "a.csv", format="csv", sha256="1" * 64)
    again = store.upsert_dataset(pid, "data/a.csv", format="csv", sha256="1" * 64)

    assert again == created
    assert store.count(Dataset) == 1
    assert store.dataset_by_path(pid, "data/a.csv") == created

    sized = store.upsert_dataset(pid, "data/a.csv", size=10, row_count=2)
    assert (sized.id, sized.size, sized.row_count, sized.version) == (created.id, 10, 2, 1)
    assert sized.format == "csv"  # untouched fields are kept

    changed = store.upsert_dataset(pid, "data/a.csv", sha256="2" * 64)
    assert changed.version == 2
    assert store.count(Dataset) == 1

    with pytest.raises(StoreError, match="cannot set 'id'"):
        store.upsert_dataset(pid, "data/a.csv", id=3)


def test_locations(store: MetadataStore, project: Project) -> None:
    dataset = store.upsert_dataset(project.id, "a.csv")
    lake = store.ensure_datastore("lake", "s3://bucket", "s3")
    job = store.save(Job(kind="migrate"))

    first = store.add_location(dataset.id, "s3://bucket/a.csv", datastore_id=lake.id)
    table = store.add_location(
        dataset.id,
        "postgresql://u:" + "pw@h/db",
        table_name="a",
        job_id=job.id,
    )
    repeat = store.add_location(dataset.id, "s3://bucket/a.csv", job_id=job.id)

    assert repeat.id == first.id and repeat.job_id == job.id
    assert table.url == "postgresql://u@h/db"
    assert [loc.id for loc in store.locations(dataset.id)] == [table.id, first.id]


# -- PostgreSQL ------------------------------------------------------------------------


def _pg_admin_url() -> str:
    return os.environ.get("STORK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway database on ``STORK_TEST_PG``, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    admin = _pg_admin_url()
    if "://" not in admin:
        pytest.skip("STORK_TEST_PG must be a URL for the store test")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {redact_url(admin)}: {str(exc).strip()}")
    name = f"stork_store_test_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(admin).set(database=name).render_as_string(hide_password=False)
        finally:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_postgresql_store(pg_url: str, tmp_path: Path) -> None:
    with MetadataStore(pg_url) as store:  # plain postgresql:// maps to psycopg
        assert store.dialect == "postgresql"
        assert store.schema_version == SCHEMA_VERSION
        project = store.ensure_project(tmp_path)
        dataset = store.upsert_dataset(
            project.id,
            "data/a.csv",
            size=5_000_000_000,
            schema=[{"name": "x", "type": "int64"}],
        )
        job = store.save(Job(project_id=project.id, kind="migrate", counts={"n": 1}))
        store.insert_many(Job(kind="analyze", status="failed") for _ in range(30))

        assert store.get(Dataset, dataset.id) == dataset
        assert store.get(Job, job.id).counts == {"n": 1}
        assert store.count(Job, status="failed") == 30
        assert len(store.list(Job, status="failed", limit=10, offset=25)) == 5

    with MetadataStore(pg_url) as reopened:  # the schema is found, not recreated
        assert reopened.count(Job) == 31


def test_postgresql_search_and_order(pg_url: str) -> None:
    with MetadataStore(pg_url) as store:
        ids = _searchable(store)
        a_pct, axb, a_us, back, plain = ids.values()

        def found(search: str, **kwargs) -> list[int]:
            return sorted(j.id for j in store.list(Job, search=search, limit=None, **kwargs))  # type: ignore[misc]

        assert found("%") == [a_pct, a_us]
        assert found("a_b") == [a_us]
        assert found("\\") == [back]
        assert found("disk full") == [plain]
        assert found("done", search_in=["error"]) == [a_us]
        assert found(str(plain), search_in=["id", "options"]) == [plain]
        assert store.count(Job, search="_") == 2
        # NULLS LAST both ways, as on SQLite (PostgreSQL's default puts them first
        # when descending); ties by id
        by_error = [j.id for j in store.list(Job, order_by="error", descending=True, limit=None)]
        assert by_error[-2:] == [back, a_pct]
        by_error = [j.id for j in store.list(Job, order_by="error", limit=None)]
        assert by_error[-2:] == [a_pct, back]
        pages = [
            j.id
            for offset in (0, 2, 4)
            for j in store.list(Job, order_by="kind", descending=True, limit=2, offset=offset)
        ]
        assert pages == sorted(ids.values(), reverse=True)
        assert len(store.list(Job, order_by="options", limit=None)) == 5


def test_a_store_opened_with_a_password_can_be_opened_again(pg_url: str) -> None:
    """The doors show ``url`` (no secret) and hand ``connect_url()`` to the engine calls
    they make (resume, cancel, undo from the widgets): a redacted URL would not log in."""
    with_password = make_url(pg_url).set(password="s3cret").render_as_string(
        hide_password=False)
    with MetadataStore(with_password) as store:
        assert "s3cret" not in store.url and "s3cret" not in repr(store)
        again = store.connect_url()
        assert make_url(again).password == "s3cret"
        assert make_url(again).database == make_url(pg_url).database
    with MetadataStore(again) as reopened:
        assert reopened.schema_version == SCHEMA_VERSION


def test_the_widgets_act_on_the_store_they_were_given(pg_url: str, tmp_path: Path) -> None:
    from stork_jupyter.widgets import Browser

    with_password = make_url(pg_url).set(password="s3cret").render_as_string(
        hide_password=False)
    with MetadataStore(with_password) as store:
        browser = Browser(store=store, project_root=tmp_path)
        try:
            assert make_url(browser.store_url).password == "s3cret"
            assert browser.jobs.root == browser.project_root
        finally:
            browser.close()
