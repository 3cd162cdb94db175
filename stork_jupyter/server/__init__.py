"""The stork jupyter_server extension: a REST API under ``/stork/api``.

Enabled on install by ``jupyter-config/server-config/stork_jupyter.json``; the API is
described in ``openapi.yaml`` beside this file. Nothing in the engine imports this
package. Its modules: ``framework`` (the base handlers: errors as HTTP, paths confined
to the server root, JSON, paging, background jobs), ``resources`` (one handler per
resource) and ``routes`` (the URL table and its registration).
"""

from __future__ import annotations

from pathlib import Path

#: The OpenAPI 3 description of every route.
OPENAPI = Path(__file__).with_name("openapi.yaml")


def _load_jupyter_server_extension(serverapp) -> None:
    """Register the handlers on the server's web application."""
    from .routes import NAMESPACE, setup_handlers

    setup_handlers(serverapp.web_app)
    serverapp.log.info("stork_jupyter: REST API at %s", NAMESPACE)
