"""One exception root for the engine; each door maps it to its own kind of message."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add DETAIL/HINT lines), else its type."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception's whole message on one line, else its type."""
    return " ".join(str(exc).split()) or type(exc).__name__


class StorkError(Exception):
    """Base class: the message is one sentence naming the notebook, cell/line or file."""


class NotebookError(StorkError):
    """A notebook is missing, unreadable or not a notebook."""


class ConfigError(StorkError):
    """stork.toml or a destination name/URL is wrong."""


class StoreError(StorkError):
    """The metadata store cannot be opened or used."""


class NotFoundError(StoreError):
    """An id asked of the store does not exist."""


class MissingDependencyError(StorkError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"{package} is needed for this; install it with: pip install 'stork_jupyter[{extra}]'"
        )


class ExecutionError(StorkError):
    """A notebook could not be executed: a cell raised, timed out, or the kernel died."""

    def __init__(
        self,
        message: str,
        *,
        notebook: str | None = None,
        cell_index: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
    ):
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index  #: 0-based among all cells, markdown included
        self.ename = ename
        self.evalue = evalue

    @property
    def cell_number(self) -> int | None:
        """The number JupyterLab shows for that cell (1-based)."""
        return None if self.cell_index is None else self.cell_index + 1
