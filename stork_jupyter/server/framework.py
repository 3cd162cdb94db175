"""The handler framework of the stork REST API: what every handler shares.

:class:`StorkHandler` is an ``APIHandler``, authenticated (token or XSRF cookie) and
authorised like the rest of jupyter_server (resource ``stork``); it reads and writes
JSON and confines every ``path`` a client sends to the server's root directory. Engine
errors (``StorkError``) become ``{"message": ...}`` with a 4xx status in one place,
:meth:`StorkHandler.error_reply` (:data:`ERROR_STATUS`); a response never carries a
traceback. :class:`EntityHandler` pages one kind of store entity (``limit``, ``offset``,
``search``, filters). :func:`run_in_background` runs a migration or a resume in a thread
and answers as soon as its job exists.
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

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..cells import with_cell_number
from ..config import find_project_root
from ..errors import NotFoundError, StoreError, StorkError
from ..inventory import relative_to_root
from ..project import ProjectRefused
from ..rewriting import MigrationRefused
from ..store import Entity, MetadataStore, Project, existing_store
from ..transfer import NullReporter

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
    (ProjectRefused, 409),
    (StoreError, 500),  # the store failed: not the request's fault
    (StorkError, 400),  # a bad notebook, destination, config, job state...
)


def problem(status: int, message: str) -> web.HTTPError:
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


def parse_id(entity: str, raw: str) -> int:
    if re.fullmatch(r"[0-9]{1,19}", raw) and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise NotFoundError(f"No {entity} with id {raw!r}.")



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
                if isinstance(exc, StorkError) and exc.next_steps:  # each client words them
                    body["next_steps"] = [step.to_json() for step in exc.next_steps]
            if isinstance(exc, MigrationRefused):
                body["blockers"] = [with_cell_number(asdict(b)) for b in exc.blockers]
            if isinstance(exc, ProjectRefused):  # each blocker names its notebook
                body["blockers"] = [
                    {"notebook": relative_to_root(o.notebook, self.root_dir),
                     **with_cell_number(asdict(b))} for o in exc.refused for b in o.blockers]
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
            raise problem(400, f"{name} must be a string")
        if "\x00" in rel:
            raise problem(400, f"{name} must not contain a NUL character")
        parts = PurePosixPath(rel).parts
        if len(rel.encode()) > _PATH_MAX or any(len(p.encode()) > _NAME_MAX for p in parts):
            raise problem(400, f"{name} is too long")
        root = self.root_dir
        if rel.startswith("~") or (PurePosixPath(rel).is_absolute() and not absolute_ok):
            raise problem(403, f"{name} {rel!r} is outside the server's root directory; "
                                "give it relative to that root")
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise problem(403, f"{name} {rel!r} is outside the server's root directory")
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
            raise problem(404, f"{rel!r} does not exist")
        return find_project_root(path)

    def notebook_path(self, body: dict[str, Any], must_exist: bool) -> tuple[Path, str]:
        """The notebook named by ``body["path"]``: its absolute path and the path as
        given. 404 when it (or, when ``must_exist`` is false, its folder) does not exist."""
        rel = self.body_field(body, "path", str, required=True)
        path = self.resolve_path(rel)
        if path == self.root_dir or path.is_dir():
            raise problem(400, f"path {rel!r} is a folder, not a notebook")
        if not (path.is_file() if must_exist else path.parent.is_dir()):
            raise problem(404, f"no such notebook: {rel}")
        return path, rel

    # -- JSON ---------------------------------------------------------------------

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object; 400 for anything else."""
        try:
            body = json.loads(self.request.body or b"null")
            json.dumps(body, ensure_ascii=False).encode()  # lone surrogates
        except (ValueError, RecursionError) as e:
            raise problem(400, f"the request body is not valid JSON: {e}") from None
        if not isinstance(body, dict):
            raise problem(400, "the request body must be a JSON object")
        return body

    @staticmethod
    def body_field(body: dict[str, Any], name: str, kind: type, default: Any = None,
                   required: bool = False) -> Any:
        """``body[name]``, checked to be a ``kind``; 400 when it is not (or is missing and
        ``required``)."""
        value = body.get(name)
        if value is None:
            if required:
                raise problem(400, f"{name} is required")
            return default
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise problem(400, f"{name} must be a {_KIND_NAMES.get(kind, kind.__name__)}")
        return value

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(_clean(data)))

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
            raise problem(400, f"{name} must be an integer from {low} to {high}")
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
            self.write_json(await self.blocking(self.one, root, parse_id(self.entity.entity,
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
                raise problem(400, f"{name} cannot be filtered by {key}")
            allowed = self.filters[key]
            if allowed is not None and value not in allowed:
                raise problem(400, f"{key} must be one of {', '.join(allowed)}")
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
        store = existing_store(root)
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
            items, reply["total"] = self.fetch(store, query, filters)
            roots = ProjectRoots(store)
            reply["items"] = [self.item(obj, roots) for obj in items]
        return reply

    def one(self, root: Path, id: int) -> dict[str, Any]:
        store = existing_store(root)
        if store is None:
            raise NotFoundError(f"No {self.entity.entity} with id {id}.")
        with store:
            obj = store.get(self.entity, id)
            return self.detail(store, obj, ProjectRoots(store))

    def fetch(self, store: MetadataStore, query: PageQuery, filters: dict[str, Any]
              ) -> tuple[list[Entity], int]:
        """One page of the entity with these store filters, and how many match."""
        return store.page(self.entity, limit=query.limit, offset=query.offset,
                          search=query.search, **filters)

    def notebook_filter(self, store: MetadataStore, notebook: str) -> dict[str, Any]:
        """The store filters selecting what concerns one notebook (project-relative)."""
        return {"notebook": notebook}

    def item(self, obj: Entity, roots: ProjectRoots) -> dict[str, Any]:
        return obj.to_json()

    def detail(self, store: MetadataStore, obj: Entity, roots: ProjectRoots
               ) -> dict[str, Any]:
        return self.item(obj, roots)

    def server_path(self, roots: ProjectRoots, project_id: int | None,
                    rel: str | None) -> str | None:
        """A project-relative path as a path relative to the server root (None outside)."""
        root = roots.get(project_id)
        if root is None or rel is None:
            return None
        return self.relative((root / rel).resolve())


class ProjectRoots:
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


