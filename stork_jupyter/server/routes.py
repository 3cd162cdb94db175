"""The routes of the stork REST API: every URL under :data:`NAMESPACE`, in one table.

The routes are described in ``openapi.yaml`` beside this package's ``__init__``.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .framework import NAMESPACE, StorkHandler
from .resources import (
    AnalyzeHandler,
    DatasetsHandler,
    DestinationsHandler,
    JobCancelHandler,
    JobPauseHandler,
    JobResumeHandler,
    JobsHandler,
    JobUndoHandler,
    MigrateHandler,
    NotFoundHandler,
    RecordsHandler,
    TransfersHandler,
)

#: Every route, relative to :data:`NAMESPACE`, in OpenAPI form (``{id}`` is a segment).
ROUTES: tuple[tuple[str, type[StorkHandler]], ...] = (
    ("/datasets", DatasetsHandler),
    ("/datasets/{id}", DatasetsHandler),
    ("/jobs", JobsHandler),
    ("/jobs/{id}", JobsHandler),
    ("/jobs/{id}/pause", JobPauseHandler),
    ("/jobs/{id}/resume", JobResumeHandler),
    ("/jobs/{id}/cancel", JobCancelHandler),
    ("/jobs/{id}/undo", JobUndoHandler),
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
