"""Stork: move a notebook's data off the laptop and rewrite its cells to match."""

__version__ = "0.1.0"


def load_ipython_extension(ipython):  # pragma: no cover - exercised through a real kernel
    """``%load_ext stork_jupyter`` registers the ``%stork`` / ``%%stork`` magics and
    opens the comm to the JupyterLab panel (when one listens)."""
    from .frontend_comm import LINK
    from .magics import StorkMagics

    ipython.register_magics(StorkMagics)
    if getattr(ipython, "kernel", None) is not None:
        LINK.open(ipython.execution_count)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The jupyter_server extension: the REST API in ``stork_jupyter.server``."""
    return [{"module": "stork_jupyter.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The JupyterLab sidebar panel, built from ``labextension/`` into the package."""
    return [{"src": "labextension", "dest": "stork-jupyter"}]
