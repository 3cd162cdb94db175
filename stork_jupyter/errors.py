"""One exception root for the engine; each door maps it to its own kind of message."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add DETAIL/HINT lines), else its type."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception's whole message on one line, else its type."""
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class NextStep:
    """What an error suggests doing next. The engine's message says it in words ("cancel
    job 3 and migrate again"); each door adds its own way to do it (``stork cancel 3``,
    ``%stork cancel 3``, the panel's Cancel button), so no door's command is in the
    engine's text."""

    action: str  #: "resume", "cancel", "undo" or "watch" (follow a job's progress)
    target: str  #: the job id, or the notebook for "undo"
    options: tuple[str, ...] = ()  #: e.g. ("--restore-data",)

    def to_json(self) -> dict:
        return {"action": self.action, "target": self.target, "options": list(self.options)}


class StorkError(Exception):
    """Base class: the message is one sentence naming the notebook, cell/line or file;
    ``next_steps`` are what it suggests doing, for each door to word."""

    def __init__(self, *args: object, next_steps: Iterable[NextStep] = ()):
        super().__init__(*args)
        self.next_steps = tuple(next_steps)

    def worded(self, command: Callable[[NextStep], str]) -> str:
        """The message with each next step as ``command`` words it, e.g.
        ``"...; cancel job 3 and migrate again (stork cancel 3)"``."""
        text = str(self)
        if not self.next_steps:
            return text
        return f"{text} ({' or '.join(command(step) for step in self.next_steps)})"


def command_line(prefix: str, forms: dict[str, str] | None = None,
                 ) -> Callable[[NextStep], str]:
    """Words a next step as a command line, ``PREFIX ACTION TARGET [OPTIONS]``:
    ``command_line("stork")`` for the CLI, ``command_line("%stork")`` in a kernel;
    ``forms`` words an action the door spells otherwise (``{target}`` is replaced)."""
    def word(step: NextStep) -> str:
        form = (forms or {}).get(step.action)
        if form is not None:
            return form.format(target=step.target)
        return " ".join([prefix, step.action, step.target, *step.options])
    return word


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
