"""The kernel's end of the link to the Stork JupyterLab panel.

With the panel loaded, ``%stork migrate`` hands its cell edits to the open document
(which marks itself dirty; Ctrl+Z undoes them) instead of rewriting the saved file under
the editor. The panel registers the comm target :data:`TARGET` on every notebook kernel;
``%load_ext stork_jupyter`` opens a comm to it and the panel answers ``ready`` with the
notebook's path. A kernel handles that answer between cells, so the link is ready from
the cell after the one that loaded the extension. The kernel also registers the target
:data:`TARGET` itself: a panel that connects later (the page was reloaded, the notebook
reopened) opens a fresh comm with ``ready``, which replaces the old one. Without an
answer (classic Notebook, VS Code, nbclient, a terminal IPython) the magic rewrites the
saved file as before.

Messages (``data`` of comm messages):

- kernel -> panel, on open: ``{"type": "hello", "version": ...}``
- panel -> kernel: ``{"type": "ready", "path": <notebook path relative to the server root>}``
  (as a message on the kernel's comm, or as the data of a comm the panel opens)
- kernel -> panel: ``{"type": "apply_edits", "job_id", "path", "edits", "setup_cell",
  "output"}`` (the shape of ``GET /stork/api/jobs/{id}``'s ``edits`` and ``setup_cell``)
- panel -> kernel: ``{"type": "applied", "job_id", "cells"}`` or
  ``{"type": "error", "job_id", "message"}``
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from . import __version__

TARGET = "stork_jupyter"


class FrontendLink:
    """One kernel's comm to the panel (if the panel answered)."""

    def __init__(self) -> None:
        self.comm: Any = None
        self.path: str | None = None  #: the notebook the panel says this kernel runs
        self.replies: list[dict[str, Any]] = []  #: the panel's answers to apply_edits
        self.opened_in: int | None = None  #: the execution count of the cell that opened it

    @property
    def ready(self) -> bool:
        return self.comm is not None and self.path is not None

    def open(self, execution_count: int | None = None) -> None:
        """Open (or reopen, after ``%reload_ext``) the comm to the panel, from the cell
        ``execution_count`` (the panel's answer comes after that cell)."""
        try:
            from comm import create_comm, get_comm_manager
        except ImportError:  # IPython without ipykernel's comm support
            return
        self.close()
        get_comm_manager().register_target(TARGET, self._on_open)
        comm = create_comm(target_name=TARGET, data={"type": "hello", "version": __version__})
        comm.on_msg(self._on_msg)
        comm.on_close(lambda _msg, comm=comm: self._on_close_of(comm))
        self.comm, self.opened_in = comm, execution_count

    def close(self) -> None:
        if self.comm is not None:
            with contextlib.suppress(Exception):  # the frontend may have closed it already
                self.comm.close()
        self.comm, self.path = None, None

    def send_edits(self, job_id: int | None, edits: list[dict[str, Any]],
                   setup_cell: dict[str, Any] | None, output: Path | None) -> None:
        self.comm.send({"type": "apply_edits", "job_id": job_id, "path": self.path,
                        "edits": edits, "setup_cell": setup_cell,
                        "output": str(output) if output else None})

    def _on_msg(self, msg: dict[str, Any]) -> None:
        data = msg.get("content", {}).get("data") or {}
        if data.get("type") == "ready" and isinstance(data.get("path"), str):
            self.path = data["path"]
        elif data.get("type") in ("applied", "error"):
            self.replies.append(data)

    def _on_open(self, comm: Any, msg: dict[str, Any]) -> None:
        """A panel connected after the extension loaded: its comm is the link now."""
        previous = self.comm
        self.comm, self.path = comm, None
        comm.on_msg(self._on_msg)
        comm.on_close(lambda _msg, comm=comm: self._on_close_of(comm))
        self._on_msg(msg)
        if previous is not None and previous is not comm:
            with contextlib.suppress(Exception):
                previous.close()

    def _on_close_of(self, comm: Any) -> None:
        if self.comm is comm:  # an older comm closing does not drop the newer link
            self.comm, self.path = None, None


#: the kernel's one link (a kernel runs one notebook)
LINK = FrontendLink()
