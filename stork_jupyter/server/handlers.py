"""The stork REST API: jupyter_server handlers over the engine and the metadata store.

One handler class per resource, every route in one table (:data:`ROUTES`) under
``/stork/api``, described in ``openapi.yaml`` beside this file. Every handler is an
``APIHandler``, authenticated (token or XSRF cookie) and authorised like the rest of
jupyter_server (resource ``stork``), reads and writes JSON, and is confined to the
server's root directory: every ``path`` a client sends is relative to it. Engine errors
(``StorkError``) become ``{"message": ...}`` with a 4xx status in one place,
:meth:`StorkHandler.error_reply`; a response never carries a traceback.

The handlers do no engine work of their own: they call what the CLI and the magics call
(``analyze_cells``, ``migrate``, ``jobs.*``, ``MetadataStore``), blocking work in a
thread so that the server stays responsive.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from http.client import responses
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlencode

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..analysis.cache import cached_analysis
from ..cells import cell_number, with_cell_number
from ..config import (
    CONFIG_FILE,
    LAYOUTS,
    destination_kind,
    find_project_root,
    load_config,
    resolve_store_url,
)
from ..destinations import folder_of, resolve_destination
from ..document import OUTPUTS, DocumentMigration, setup_cell_of
from ..errors import NotebookError, NotFoundError, StoreError, StorkError
from ..inventory import cache_folder, record_analysis, relative_to_root
from ..jobs import cancel_job, job_json, request_pause, resume_job
from ..migrate import MigrationRefused
from ..notebook import notebook_from_dict, read_notebook
from ..store import (
    JOB_KINDS,
    RECORD_STATUSES,
    STATUSES,
    Dataset,
    Entity,
    Job,
    MetadataStore,
    Project,
    Record,
    Transfer,
    open_store,
)
from ..transfer import NullReporter
from ..urls import file_url_path, url_scheme

NAMESPACE = "/stork/api"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1
MAX_ID = 2**63 - 1
_NAME_MAX = 255  # bytes in one path component (Linux)
_PATH_MAX = 4000


# --------------------------------------------------------------------------- errors


#: The HTTP status of each kind of engine error; the first that matches wins.
ERROR_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (NotFoundError, 404),
    (MigrationRefused, 409),
    (StoreError, 500),  # the store failed: not the request's fault
    (StorkError, 400),  # a bad notebook, destination, config, job state...
)


def _problem(status: int, message: str) -> web.HTTPError:
    """An HTTPError whose message is taken literally (``%`` included)."""
    return web.HTTPError(status, "%s", message)


# --------------------------------------------------------------------------- background


class _StartReporter(NullReporter):
    """A progress reporter that only learns the job id: the engine's runner calls
    ``start`` once the job exists, before anything moves."""

    def __init__(self, started: Future):
        self.started = started

    def start(self, job_id, datasets) -> None:
        if not self.started.done():
            self.started.set_result(job_id)


def run_in_background(work: Callable[[NullReporter], Any], log: Any) -> Future:
    """Run ``work(reporter)`` (a migration or a resume) in a thread of its own.

    The future resolves to the job id as soon as the engine created the job (its
    transfers then run on), to ``None`` when the work finished without a job, or to the
    error raised before the job existed (a refused migration, a bad destination): the
    handler answers with either. Later failures are recorded in the job by the engine."""
    started: Future = Future()

    def run() -> None:
        try:
            result = work(_StartReporter(started))
        except Exception as e:
            if not started.done():
                started.set_exception(e)
            else:
                log.info("stork: background job stopped: %s", e)
            return
        if not started.done():
            started.set_result(getattr(result, "job_id", None))

    threading.Thread(target=run, name="stork-rest-job", daemon=True).start()
    return started


# --------------------------------------------------------------------------- helpers


def _clean(value: Any) -> Any:
    """``value`` as strict JSON: non-finite floats become null, anything else unknown a string."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in value]
    return str(value)


def _store_missing(root: Path) -> bool:
    """Whether the project's store is a SQLite file that does not exist yet."""
    url = resolve_store_url(None, root)
    if not url.startswith("sqlite:///"):
        return False
    database = url[len("sqlite:///"):]
    return bool(database) and not database.startswith((":", "file:")) and not Path(
        database).is_file()


def _existing_store(root: Path) -> MetadataStore | None:
    """The project's metadata store, or None when it does not exist yet: reading must
    not create a ``.stork`` folder."""
    return None if _store_missing(root) else open_store(root)


def _parse_id(entity: str, raw: str) -> int:
    if re.fullmatch(r"[0-9]{1,19}", raw) and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise NotFoundError(f"No {entity} with id {raw!r}.")


def _setup_cell(job: Job, allowed: list[Path]) -> dict[str, Any] | None:
    """The setup cell of the notebook a completed job wrote (when it is readable and in
    one of the ``allowed`` folders): what the frontend inserts with the cell edits."""
    output = (job.options or {}).get("output")
    if not isinstance(output, str):
        return None
    path = Path(output)
    if not any(path.is_relative_to(folder) for folder in allowed) or not path.is_file():
        return None
    try:
        return setup_cell_of(read_notebook(path))
    except NotebookError:
        return None


def _cell_edits(records: list[Record]) -> list[dict[str, Any]]:
    """One edit per rewritten cell (a cell with several rewritten calls has one record
    per call, all with the cell's whole old and new source)."""
    edits: dict[tuple[str | None, int | None], dict[str, Any]] = {}
    for r in records:
        edit = edits.setdefault((r.cell_id, r.cell_index), {
            "cell_id": r.cell_id, "cell_index": r.cell_index,
            "cell_number": cell_number(r.cell_index),
            "original_source": r.original_source, "new_source": r.new_source,
            "status": r.status, "lines": [], "apis": [], "records": []})
        if r.line is not None:
            edit["lines"].append(r.line)
        if r.api and r.api not in edit["apis"]:
            edit["apis"].append(r.api)
        edit["records"].append(r.id)
    return sorted(edits.values(), key=lambda e: (e["cell_index"] is None, e["cell_index"] or 0))


@dataclass
class PageQuery:
    limit: int
    offset: int
    search: str | None
    filters: dict[str, Any] = field(default_factory=dict)
    notebook: Path | None = None  #: absolute; turned into each project's relative path


# --------------------------------------------------------------------------- base


class StorkHandler(APIHandler):
    """Base of every stork handler: authorisation resource, the server root and paths
    confined to it, JSON in and out, and the one mapping of errors to HTTP."""

    auth_resource = "stork"

    # -- errors ----------------------------------------------------------------------

    def error_reply(self, exc: BaseException) -> tuple[int, dict[str, Any]]:
        """The status and JSON body answering an exception: the one place errors
        become HTTP. Paths in messages are shown relative to the server root."""
        if isinstance(exc, web.HTTPError):
            status = exc.status_code
            message = exc.log_message % exc.args if exc.args else exc.log_message
            body: dict[str, Any] = {"message": message or responses.get(status, "Error")}
        else:
            status = next((code for kind, code in ERROR_STATUS if isinstance(exc, kind)), 500)
            if status == 500 and not isinstance(exc, StoreError):
                body = {"message": "Internal error in the stork server extension; "
                                   "the server's log has the details."}
            else:
                body = {"message": str(exc) or type(exc).__name__}
            if isinstance(exc, MigrationRefused):
                body["blockers"] = [with_cell_number(asdict(b)) for b in exc.blockers]
        root = f"{self.root_dir.as_posix()}/"
        body["message"] = body["message"].replace(root, "")
        return status, body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and exc_info[1] is not None:
            status_code, body = self.error_reply(exc_info[1])
        else:
            body = {"message": responses.get(status_code, "Error")}
        self.set_status(status_code)
        self.finish(json.dumps(_clean(body)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected engine errors are one warning line; anything else keeps its traceback
        (in the log only)."""
        if isinstance(value, StorkError) and self.error_reply(value)[0] < 500:
            self.log.warning("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    # -- the server root and paths ---------------------------------------------------------

    @property
    def root_dir(self) -> Path:
        root = self.settings.get("server_root_dir") or self.settings["serverapp"].root_dir
        return Path(root).expanduser().resolve()

    def resolve_path(self, rel: Any, name: str = "path", absolute_ok: bool = False) -> Path:
        """``rel`` (relative to the server root) as an absolute path inside the root;
        403 when it is absolute (unless ``absolute_ok``) or leads outside (``..``, a
        symlink)."""
        if not isinstance(rel, str):
            raise _problem(400, f"{name} must be a string")
        if "\x00" in rel:
            raise _problem(400, f"{name} must not contain a NUL character")
        parts = PurePosixPath(rel).parts
        if len(rel.encode()) > _PATH_MAX or any(len(p.encode()) > _NAME_MAX for p in parts):
            raise _problem(400, f"{name} is too long")
        root = self.root_dir
        if rel.startswith("~") or (PurePosixPath(rel).is_absolute() and not absolute_ok):
            raise _problem(403, f"{name} {rel!r} is outside the server's root directory; "
                                "give it relative to that root")
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise _problem(403, f"{name} {rel!r} is outside the server's root directory")
        return path

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the server root (POSIX), None when outside it."""
        root = self.root_dir
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else None

    def project_root(self, rel: str) -> Path:
        """The project of a notebook or folder (relative to the server root; the root
        itself when empty): the folder of the nearest ``stork.toml``."""
        path = self.resolve_path(rel)
        if not path.exists():
            raise _problem(404, f"{rel!r} does not exist")
        return find_project_root(path)

    def notebook_path(self, body: dict[str, Any], must_exist: bool) -> tuple[Path, str]:
        """The notebook named by ``body["path"]``: its absolute path and the path as
        given. 404 when it (or, when ``must_exist`` is false, its folder) does not exist."""
        rel = self.body_field(body, "path", str, required=True)
        path = self.resolve_path(rel)
        if path == self.root_dir or path.is_dir():
            raise _problem(400, f"path {rel!r} is a folder, not a notebook")
        if not (path.is_file() if must_exist else path.parent.is_dir()):
            raise _problem(404, f"no such notebook: {rel}")
        return path, rel

    # -- JSON ---------------------------------------------------------------------

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object; 400 for anything else."""
        try:
            body = json.loads(self.request.body or b"null")
            json.dumps(body, ensure_ascii=False).encode()  # lone surrogates
        except (ValueError, RecursionError) as e:
            raise _problem(400, f"the request body is not valid JSON: {e}") from None
        if not isinstance(body, dict):
            raise _problem(400, "the request body must be a JSON object")
        return body

    @staticmethod
    def body_field(body: dict[str, Any], name: str, kind: type, default: Any = None,
                   required: bool = False) -> Any:
        """``body[name]``, checked to be a ``kind``; 400 when it is not (or is missing and
        ``required``)."""
        value = body.get(name)
        if value is None:
            if required:
                raise _problem(400, f"{name} is required")
            return default
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise _problem(400, f"{name} must be a {_KIND_NAMES.get(kind, kind.__name__)}")
        return value

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(_clean(data)))

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
            raise _problem(400, f"{name} must be an integer from {low} to {high}")
        return int(raw)

    def text_argument(self, name: str) -> str | None:
        """A query argument; None when absent or empty (tornado removed control
        characters)."""
        return self.get_query_argument(name, None) or None

    async def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in a worker thread: store and file work never blocks the
        server's event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args))


_KIND_NAMES = {str: "string", bool: "boolean", dict: "JSON object", int: "integer"}


# --------------------------------------------------------------------------- entities


class EntityHandler(StorkHandler):
    """``GET /stork/api/<entities>`` (one page) and ``/<entities>/{id}`` (one, with detail).

    Query: ``path`` picks the project (a notebook or folder, relative to the server
    root; default the root), ``limit``/``offset`` page, ``search`` finds text, and each
    of ``filters`` narrows."""

    entity: ClassVar[type[Entity]]
    #: query filters this entity takes: name -> allowed values (None: any)
    filters: ClassVar[dict[str, tuple[str, ...] | None]] = {}
    _ALL_FILTERS: ClassVar[tuple[str, ...]] = ("status", "notebook", "job_id", "kind")

    @web.authenticated
    @authorized
    async def get(self, id: str | None = None) -> None:
        root = self.project_root(self.get_query_argument("path", ""))
        if id is None:
            query = self.page_query()
            self.write_json(await self.blocking(self.page, root, query))
        else:
            self.write_json(await self.blocking(self.one, root, _parse_id(self.entity.entity,
                                                                          id)))

    def page_query(self) -> PageQuery:
        name = f"{self.entity.entity}s"
        query = PageQuery(limit=self.int_argument("limit", DEFAULT_LIMIT, 0, MAX_LIMIT),
                          offset=self.int_argument("offset", 0, 0, MAX_OFFSET),
                          search=self.text_argument("search"))
        for key in self._ALL_FILTERS:
            value = self.text_argument(key)
            if value is None:
                continue
            if key not in self.filters:
                raise _problem(400, f"{name} cannot be filtered by {key}")
            allowed = self.filters[key]
            if allowed is not None and value not in allowed:
                raise _problem(400, f"{key} must be one of {', '.join(allowed)}")
            if key == "notebook":
                query.notebook = self.resolve_path(value, "notebook")
            elif key == "job_id":
                query.filters[key] = self.int_argument("job_id", 0, 1, MAX_ID)
            else:
                query.filters[key] = value
        return query

    # -- in a worker thread ----------------------------------------------------------

    def page(self, root: Path, query: PageQuery) -> dict[str, Any]:
        reply = {"items": [], "total": 0, "limit": query.limit, "offset": query.offset}
        store = _existing_store(root)
        if store is None:
            return reply
        with store:
            filters = dict(query.filters)
            if query.notebook is not None:
                notebook = relative_to_root(query.notebook, root)
                for key, value in self.notebook_filter(store, notebook).items():
                    if key in filters and isinstance(value, list):  # both: what both allow
                        value = [v for v in value if v == filters[key]]
                    filters[key] = value
            items = store.list(self.entity, limit=query.limit, offset=query.offset,
                               search=query.search, **filters)
            reply["total"] = store.count(self.entity, search=query.search, **filters)
            roots = _ProjectRoots(store)
            reply["items"] = [self.item(obj, roots) for obj in items]
        return reply

    def one(self, root: Path, id: int) -> dict[str, Any]:
        store = _existing_store(root)
        if store is None:
            raise NotFoundError(f"No {self.entity.entity} with id {id}.")
        with store:
            obj = store.get(self.entity, id)
            return self.detail(store, obj, _ProjectRoots(store))

    def notebook_filter(self, store: MetadataStore, notebook: str) -> dict[str, Any]:
        """The store filters selecting what concerns one notebook (project-relative)."""
        return {"notebook": notebook}

    def item(self, obj: Entity, roots: _ProjectRoots) -> dict[str, Any]:
        return obj.to_json()

    def detail(self, store: MetadataStore, obj: Entity, roots: _ProjectRoots
               ) -> dict[str, Any]:
        return self.item(obj, roots)

    def server_path(self, roots: _ProjectRoots, project_id: int | None,
                    rel: str | None) -> str | None:
        """A project-relative path as a path relative to the server root (None outside)."""
        root = roots.get(project_id)
        if root is None or rel is None:
            return None
        return self.relative((root / rel).resolve())


class _ProjectRoots:
    """Project roots by id, each looked up once."""

    def __init__(self, store: MetadataStore):
        self.store = store
        self.roots: dict[int, Path | None] = {}

    def get(self, project_id: int | None) -> Path | None:
        if project_id is None:
            return None
        if project_id not in self.roots:
            try:
                self.roots[project_id] = Path(self.store.get(Project, project_id).root)
            except NotFoundError:
                self.roots[project_id] = None
        return self.roots[project_id]


def _job_ids(store: MetadataStore, notebook: str) -> list[int]:
    return [j.id for j in store.list(Job, notebook=notebook, limit=None)]


class DatasetsHandler(EntityHandler):
    """Datasets: ``stork datasets``; one dataset with its ``locations``."""

    entity = Dataset
    filters = {"notebook": None}

    def notebook_filter(self, store, notebook):
        jobs = _job_ids(store, notebook)
        transfers = store.list(Transfer, job_id=jobs, limit=None) if jobs else []
        return {"id": sorted({t.dataset_id for t in transfers if t.dataset_id is not None})}

    def item(self, obj, roots):
        return {**obj.to_json(), "path": self.server_path(roots, obj.project_id,
                                                          obj.source_path)}

    def detail(self, store, obj, roots):
        return {**self.item(obj, roots),
                "locations": [loc.to_json() for loc in store.locations(obj.id)]}


class JobsHandler(EntityHandler):
    """Jobs: ``stork jobs``; one job with its transfers, progress and, once completed,
    its cell edits (and the setup cell) for the frontend to apply."""

    entity = Job
    filters = {"status": STATUSES, "notebook": None, "kind": JOB_KINDS}

    def item(self, obj, roots):
        return {**job_json(obj), "path": self.server_path(roots, obj.project_id, obj.notebook)}

    def detail(self, store, obj, roots):
        data = self.item(obj, roots)
        transfers = store.list(Transfer, job_id=obj.id, limit=None, order="oldest")
        data["transfers"] = [t.to_json() for t in transfers]
        data["totals"] = {
            "transfers": len(transfers),
            "transfers_done": sum(t.status == "completed" for t in transfers),
            "bytes_total": sum(t.bytes_total or 0 for t in transfers),
            "bytes_done": sum(t.bytes_done or 0 for t in transfers),
        }
        data["edits"] = []
        data["setup_cell"] = None
        if obj.status == "completed":
            records = store.list(Record, job_id=obj.id, limit=None, order="oldest")
            data["edits"] = _cell_edits(records)
            project = roots.get(obj.project_id)
            allowed = [self.root_dir] + ([project.joinpath(*OUTPUTS)] if project else [])
            data["setup_cell"] = _setup_cell(obj, allowed) if data["edits"] else None
        return data


class RecordsHandler(EntityHandler):
    """Records (one rewritten data access each): ``stork records``."""

    entity = Record
    filters = {"status": RECORD_STATUSES, "notebook": None, "job_id": None}

    def item(self, obj, roots):
        return {**obj.to_json(), "path": self.server_path(roots, obj.project_id, obj.notebook)}


class TransfersHandler(EntityHandler):
    """Transfers (one dataset moved within a job)."""

    entity = Transfer
    filters = {"status": STATUSES, "notebook": None, "job_id": None}

    def notebook_filter(self, store, notebook):
        return {"job_id": _job_ids(store, notebook)}


# --------------------------------------------------------------------------- job actions


class _JobActionHandler(StorkHandler):
    """``POST /stork/api/jobs/{id}/<action>?path=...``."""

    @web.authenticated
    @authorized
    async def post(self, id: str) -> None:
        job_id = _parse_id("job", id)
        root = self.project_root(self.get_query_argument("path", ""))
        if await self.blocking(_store_missing, root):
            raise NotFoundError(f"No job with id {job_id}.")
        await self.act(job_id, root)

    async def act(self, job_id: int, root: Path) -> None:
        raise NotImplementedError


class JobPauseHandler(_JobActionHandler):
    """``stork pause``: a running job stops its transfers within about a second and can
    be resumed."""

    async def act(self, job_id, root):
        job = await self.blocking(functools.partial(request_pause, job_id, root=root))
        self.write_json(job_json(job))


class JobResumeHandler(_JobActionHandler):
    """``stork resume JOB``: continue a paused, failed or interrupted job in the
    background (202); its notebook output goes where the job first said."""

    async def act(self, job_id, root):
        started = run_in_background(
            lambda reporter: resume_job(job_id, root=root, progress=reporter), self.log)
        await asyncio.wrap_future(started)
        self.write_json({"job_id": job_id}, status=202)


class JobCancelHandler(_JobActionHandler):
    """``stork cancel JOB``: stop the job and remove what it left at the destination."""

    async def act(self, job_id, root):
        result = await self.blocking(functools.partial(cancel_job, job_id, root=root))
        self.write_json({"job_id": result.job_id, "removed": result.removed,
                         "kept": result.kept})


# --------------------------------------------------------------------------- the rest


class DestinationsHandler(StorkHandler):
    """The destinations named in the project's ``stork.toml`` (URLs without secrets)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        root = self.project_root(self.get_query_argument("path", ""))
        config = await self.blocking(load_config, root)
        self.write_json({"destinations": [
            {k: d.to_json()[k] for k in ("name", "url", "kind", "layout")}
            for d in config.destinations.values()]})


class AnalyzeHandler(StorkHandler):
    """``stork analyze NB``, on the notebook model the frontend has open (unsaved edits
    included) or, without ``content``, the saved file."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        content = body.get("content")
        path, rel = self.notebook_path(body, must_exist=content is None)
        record = self.body_field(body, "record", bool, default=True)
        nb = notebook_from_dict(content, rel) if content is not None else None
        self.write_json(await self.blocking(_analyze, path, rel, nb, record))


def _analyze(path: Path, rel: str, nb: Any, record: bool) -> dict[str, Any]:
    if nb is None:
        nb = read_notebook(path)
    root = find_project_root(path.parent)
    analysis = cached_analysis(nb.cells, path.parent, rel,
                               cache_folder(root) if record else None)
    if record:
        with open_store(root) as store:
            record_analysis(store, root, path, analysis)
    return {
        "path": rel,
        "accesses": [a.to_json() for a in analysis.accesses],
        "problems": [p.to_json() for p in analysis.problems],
        "counts": {"accesses": len(analysis.accesses), "reads": len(analysis.reads),
                   "writes": len(analysis.writes),
                   "unresolved": sum(not a.resolved for a in analysis.accesses),
                   "problems": len(analysis.problems)},
    }


class MigrateHandler(StorkHandler):
    """``stork migrate NB --to DEST [--dry-run] [--partial]``.

    ``content``, when given, is the open document (unsaved edits included): it is what
    gets planned and rewritten. A dry run answers with the plan, the cell changes and the
    diff. Otherwise the migration starts in the background and the answer (202) is its
    job id as soon as the job exists; the rewritten notebook goes to
    ``<project>/.stork/outputs/`` (``-o``), never over the user's file: the frontend
    applies the job's edits (``GET /stork/api/jobs/{id}``) to the open document."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path, rel = self.notebook_path(body, must_exist=True)
        to = self.body_field(body, "to", str, required=True)
        dry_run = self.body_field(body, "dry_run", bool, default=False)
        partial = self.body_field(body, "partial", bool, default=False)
        layout = self.body_field(body, "layout", str)
        if layout is not None and layout not in LAYOUTS:
            raise _problem(400, f"layout must be one of {', '.join(LAYOUTS)}")
        content = body.get("content")
        nb = notebook_from_dict(content, rel) if content is not None else None
        root = find_project_root(path.parent)
        to = await self.blocking(self.destination, to, root)
        run = DocumentMigration(path, to, content=nb, partial=partial, layout=layout, label=rel)
        if dry_run:
            preview = await self.blocking(run.preview)
            plan = preview.result.plan
            self.write_json({
                "dry_run": True, "path": rel, "destination": plan.destination,
                "plan": plan.to_json(), "changes": preview.edits,
                "diff": preview.result.diff, "setup_cell": preview.setup_cell,
                "blockers": [with_cell_number(asdict(b)) for b in plan.blockers]})
            return
        job_id = await asyncio.wrap_future(run_in_background(run.run, self.log))
        if job_id is None:
            self.write_json({"job_id": None, "path": rel,
                             "message": f"{rel}: nothing to migrate"})
            return
        url = url_path_join(self.base_url, NAMESPACE, "jobs", str(job_id))
        self.write_json({"job_id": job_id, "path": rel, "url": f"{url}?{urlencode({'path': rel})}"},
                        status=202)

    def destination(self, to: str, root: Path) -> str:
        """``to`` as the engine takes it: a folder (path or ``file:`` URL, given or named
        in ``stork.toml``) relative to the server root and inside it (403 if not);
        another URL or name as is."""
        if not to.strip() or "\x00" in to:
            raise _problem(400, "to must name a destination or give its URL or folder")
        config = load_config(root)
        if to in config.destinations:
            spec = resolve_destination(to, config)
            folder = folder_of(spec.url)
            if spec.kind == "file" and not folder.resolve().is_relative_to(self.root_dir):
                # stork.toml is a file anyone with write access to the project edits:
                # it must not take a REST migration where a path could not
                raise _problem(403, f"destination {to!r} of {CONFIG_FILE} is the folder "
                                    f"{folder}, outside the server's root directory; "
                                    "migrate there with the stork command instead")
            return to
        if destination_kind(to) != "file":
            return to
        bare = not to.startswith((".", "~", "/")) and "/" not in to and url_scheme(to) is None
        if bare and config.path is not None:
            return to  # the engine says there is no such destination and lists the names
        folder = file_url_path(to) or to
        return self.resolve_path(folder, "destination folder", absolute_ok=True).as_posix()


class NotFoundHandler(StorkHandler):
    """Any other URL under ``/stork/api``: a JSON 404."""

    @web.authenticated
    async def get(self, *args: str) -> None:
        raise _problem(404, f"no such endpoint: {self.request.path}")

    post = put = patch = delete = get


# --------------------------------------------------------------------------- routes


#: Every route, relative to :data:`NAMESPACE`, in OpenAPI form (``{id}`` is a segment).
ROUTES: tuple[tuple[str, type[StorkHandler]], ...] = (
    ("/datasets", DatasetsHandler),
    ("/datasets/{id}", DatasetsHandler),
    ("/jobs", JobsHandler),
    ("/jobs/{id}", JobsHandler),
    ("/jobs/{id}/pause", JobPauseHandler),
    ("/jobs/{id}/resume", JobResumeHandler),
    ("/jobs/{id}/cancel", JobCancelHandler),
    ("/records", RecordsHandler),
    ("/records/{id}", RecordsHandler),
    ("/transfers", TransfersHandler),
    ("/transfers/{id}", TransfersHandler),
    ("/destinations", DestinationsHandler),
    ("/analyze", AnalyzeHandler),
    ("/migrate", MigrateHandler),
)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def route_methods(handler: type[StorkHandler]) -> list[str]:
    """The HTTP methods a handler class answers (those it defines beyond APIHandler)."""
    return [m for m in HTTP_METHODS if getattr(handler, m) is not getattr(APIHandler, m)]


def _pattern(template: str) -> str:
    return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)


def setup_handlers(web_app: Any) -> None:
    """Add every route under ``<base_url>/stork/api`` to the server's web application."""
    base_url = web_app.settings.get("base_url", "/")
    handlers: list[tuple[str, type[StorkHandler]]] = [
        (url_path_join(base_url, NAMESPACE, _pattern(template)), handler)
        for template, handler in ROUTES]
    handlers.append((url_path_join(base_url, NAMESPACE, "(.*)"), NotFoundHandler))
    web_app.add_handlers(".*$", handlers)
