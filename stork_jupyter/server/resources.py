"""The resources of the stork REST API: one handler class per resource.

Each calls what the CLI and the magics call (``analyze_and_record``,
``DocumentMigration``, ``jobs.*``, the store), blocking work in a thread so that the
server stays responsive; none does engine work of its own.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..cells import with_cell_number
from ..config import CONFIG_FILE, LAYOUTS, destination_kind, find_project_root, load_config
from ..destinations import folder_of, resolve_destination
from ..document import OUTPUTS, DocumentMigration, job_setup_cell, record_edits
from ..inventory import analyze_and_record, relative_to_root
from ..jobs import (
    cancel_job,
    job_json,
    job_notebooks,
    job_totals,
    list_jobs,
    request_pause,
    undo_job,
)
from ..notebook import notebook_from_dict
from ..project import ProjectResult, migrate_project
from ..resume import resume_job
from ..store import (
    JOB_KINDS,
    JOB_STATES,
    RECORD_STATUSES,
    STATUSES,
    Dataset,
    Job,
    MetadataStore,
    Record,
    Transfer,
)
from ..urls import file_url_path, url_scheme
from .framework import NAMESPACE, EntityHandler, StorkHandler, parse_id, problem, run_in_background


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
    #: without ``kind`` the list leaves analyses out, as every door does; ``all`` lists all
    filters = {"status": JOB_STATES, "notebook": None, "kind": (*JOB_KINDS, "all")}

    def fetch(self, store, query, filters):
        kind = filters.pop("kind", None)
        page = list_jobs(store, limit=query.limit, offset=query.offset,
                         state=filters.pop("status", None), search=query.search,
                         kind=None if kind == "all" else kind, all_kinds=kind == "all",
                         **filters)
        return page.items, page.total

    def item(self, obj, roots):
        root = roots.get(obj.project_id)
        # the panel shows destinations inside the project relative to its root
        return {**job_json(obj), "path": self.server_path(roots, obj.project_id, obj.notebook),
                "project_root": root.as_posix() if root is not None else None}

    def detail(self, store, obj, roots):
        data = self.item(obj, roots)
        transfers = store.list(Transfer, job_id=obj.id, limit=None, order="oldest")
        data["transfers"] = [t.to_json() for t in transfers]
        data["totals"] = job_totals(transfers)
        data["edits"] = []
        data["setup_cell"] = None
        if obj.status == "completed":
            records = store.list(Record, job_id=obj.id, limit=None, order="oldest")
            data["edits"] = record_edits(records)
            data["notebooks"] = self.notebooks(obj, records, roots)
            project = roots.get(obj.project_id)
            allowed = [self.root_dir] + ([project.joinpath(*OUTPUTS)] if project else [])
            data["setup_cell"] = job_setup_cell(obj, allowed) if data["edits"] else None
        return data


    def notebooks(self, job, records, roots) -> list[dict] | None:
        """``jobs.job_notebooks``, its paths relative to the server root."""
        root = roots.get(job.project_id)
        report = job_notebooks(job, records, root) if root is not None else None
        if report is None:
            return None
        return [{**n, "notebook": self.server_path(roots, job.project_id, n["notebook"]),
                 "output": self.server_path(roots, job.project_id, n["output"])}
                for n in report]


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
        job_id = parse_id("job", id)
        root = self.project_root(self.get_query_argument("path", ""))
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


class JobUndoHandler(_JobActionHandler):
    """``stork undo`` of every notebook a completed migration wrote (each notebook of a
    project job): their rewritten cells read the local files again."""

    async def act(self, job_id, root):
        undone = await self.blocking(functools.partial(undo_job, job_id, root=root))
        self.write_json({"job_id": job_id, "notebooks": [
            {"notebook": relative_to_root(nb, self.root_dir), "cells": n} for nb, n in undone]})


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
    analysis = analyze_and_record(path, record=record, content=nb, label=rel)
    return {"path": rel, "accesses": [a.to_json() for a in analysis.accesses],
            "problems": [p.to_json() for p in analysis.problems], "counts": analysis.counts()}


class MigrateHandler(StorkHandler):
    """``stork migrate NB --to DEST [--dry-run] [--partial]``; a folder (``path``) or
    ``paths`` migrate as one project (``stork migrate FOLDER -o OUTDIR``).

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
        if "paths" in body or self._is_folder(body.get("path")):
            await self._project(body)
            return
        path, rel = self.notebook_path(body, must_exist=True)
        to = self.body_field(body, "to", str, required=True)
        dry_run = self.body_field(body, "dry_run", bool, default=False)
        partial = self.body_field(body, "partial", bool, default=False)
        layout = self.body_field(body, "layout", str)
        if layout is not None and layout not in LAYOUTS:
            raise problem(400, f"layout must be one of {', '.join(LAYOUTS)}")
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

    def _is_folder(self, rel: Any) -> bool:
        return isinstance(rel, str) and self.resolve_path(rel).is_dir()

    async def _project(self, body: dict[str, Any]) -> None:
        """A folder (``path``) or several notebooks (``paths``) migrated in one job, as
        ``stork migrate FOLDER``: the copies go under ``output`` (a folder relative to
        the server root), or the notebooks are rewritten (``in_place``). A dry run
        answers with each notebook's outcome and diff."""
        raw = body.get("paths", [body.get("path")])
        if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
            raise problem(400, "paths must be a non-empty list of notebook or folder paths")
        paths = [self.resolve_path(p) for p in raw]
        missing = [rel for rel, p in zip(raw, paths, strict=True) if not p.exists()]
        if missing:
            raise problem(404, f"no such notebook or folder: {', '.join(missing)}")
        to = self.body_field(body, "to", str, required=True)
        dry_run = self.body_field(body, "dry_run", bool, default=False)
        partial = self.body_field(body, "partial", bool, default=False)
        in_place = self.body_field(body, "in_place", bool, default=False)
        output = self.body_field(body, "output", str)
        layout = self.body_field(body, "layout", str)
        if layout is not None and layout not in LAYOUTS:
            raise problem(400, f"layout must be one of {', '.join(LAYOUTS)}")
        if not dry_run and (output is None) == (not in_place):
            raise problem(400, "give either output (a folder) or in_place: true")
        out = self.resolve_path(output, "output") if output is not None else None
        root = find_project_root(paths[0] if paths[0].is_dir() else paths[0].parent)
        to = await self.blocking(self.destination, to, root)

        def work(progress) -> ProjectResult:
            return migrate_project(paths, to, output_dir=out, in_place=in_place,
                                   dry_run=dry_run, partial=partial, layout=layout,
                                   progress=progress)

        if dry_run:
            result = await self.blocking(work, None)
            self.write_json(self._relative(result.to_json()))
            return
        job_id = await asyncio.wrap_future(run_in_background(work, self.log))
        if job_id is None:
            self.write_json({"job_id": None, "path": ", ".join(raw), "paths": raw,
                             "message": f"{', '.join(raw)}: nothing to migrate"})
            return
        url = url_path_join(self.base_url, NAMESPACE, "jobs", str(job_id))
        self.write_json({"job_id": job_id, "path": ", ".join(raw), "paths": raw, "url": url},
                        status=202)

    def _relative(self, data: dict[str, Any]) -> dict[str, Any]:
        """A project result with its notebooks' paths relative to the server root."""
        for n in data["notebooks"]:
            for key in ("notebook", "output"):
                if n.get(key):
                    n[key] = relative_to_root(Path(n[key]), self.root_dir)
        return data

    def destination(self, to: str, root: Path) -> str:
        """``to`` as the engine takes it: a folder (path or ``file:`` URL, given or named
        in ``stork.toml``) relative to the server root and inside it (403 if not);
        another URL or name as is."""
        if not to.strip() or "\x00" in to:
            raise problem(400, "to must name a destination or give its URL or folder")
        config = load_config(root)
        if to in config.destinations:
            spec = resolve_destination(to, config)
            folder = folder_of(spec.url)
            if spec.kind == "file" and not folder.resolve().is_relative_to(self.root_dir):
                # stork.toml is a file anyone with write access to the project edits:
                # it must not take a REST migration where a path could not
                raise problem(403, f"destination {to!r} of {CONFIG_FILE} is the folder "
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
        raise problem(404, f"no such endpoint: {self.request.path}")

    post = put = patch = delete = get

