"""What the stork widgets share: error display, formatting, closing a tree of widgets."""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import ipywidgets as widgets

from ..errors import NextStep, StorkError
from ..report import human_size, human_time

F = TypeVar("F", bound=Callable[..., Any])
EMPTY = "—"


def guarded(method: F) -> F:
    """A callback that never breaks the UI: an exception goes to ``self.report``."""

    @wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as e:  # shown in the widget; the kernel and the UI carry on
            self.report(e)
            return None

    return wrapper  # type: ignore[return-value]


#: How the widgets word an error's next steps: the buttons that do them.
WIDGET_STEPS = {
    "resume": "Resume on job {target} in the Jobs tab",
    "cancel": "Cancel on job {target} in the Jobs tab",
    "undo": "Undo migration… for {target}",
    "watch": "job {target} in the Jobs tab",
}


def widget_step(step: NextStep) -> str:
    return WIDGET_STEPS[step.action].format(target=step.target)


def error_text(error: BaseException) -> str:
    """A stork error is a message for the user; anything else keeps its traceback."""
    if isinstance(error, StorkError):
        return f"{error.worded(widget_step)}\n"
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def show_error(out: widgets.Output, error: BaseException) -> None:
    """Replace what ``out`` shows with the error (works with or without a kernel)."""
    out.outputs = ()
    out.append_stderr(error_text(error))


def show_message(out: widgets.Output, text: str) -> None:
    out.outputs = ()
    out.append_stdout(text if text.endswith("\n") else text + "\n")


def fmt_time(value: str | None) -> str:
    """A stored timestamp as the CLI shows it (``2026-12-02 16:40``, local time)."""
    return human_time(value) or EMPTY


def duration(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return EMPTY
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {sec:02d}s"


def fmt_size(value: int | None) -> str:
    return EMPTY if value is None else human_size(value)


def fmt_count(value: int | None) -> str:
    return EMPTY if value is None else f"{value:,}"


def fmt_percent(value: float | None) -> str:
    return EMPTY if value is None else f"{value:.0%}"


def esc(value: Any) -> str:
    return html.escape(EMPTY if value is None or value == "" else str(value))


def kv_html(pairs: Iterable[tuple[str, Any]], *, raw: Sequence[str] = ()) -> str:
    """A two-column table of labels and values (values escaped unless named in ``raw``)."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;vertical-align:top'>{esc(k)}</th>"
        f"<td style='text-align:left'>{v if k in raw else esc(v)}</td></tr>"
        for k, v in pairs)
    return f"<table class='stork-kv'>{rows}</table>"


def rows_html(columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
              raw: Sequence[int] = ()) -> str:
    """A small HTML table; cells are escaped unless their column index is in ``raw``."""
    head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(
        f"<td style='text-align:left'>{v if i in raw else esc(v)}</td>"
        for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table class='stork-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def progress_html(fraction: float | None) -> str:
    """A native HTML progress bar (no widget, no script) with its percentage."""
    if fraction is None:
        return EMPTY
    fraction = min(1.0, max(0.0, fraction))
    return (f"<progress value='{fraction:.3f}' max='1' style='width:6em'></progress> "
            f"{fraction:.0%}")


def close_all(items: Iterable[widgets.Widget | None]) -> None:
    for item in items:
        if item is not None:
            item.close()


class Composite(widgets.VBox):
    """A widget made of others: it owns them, closes them once, and renders as text/HTML
    (``to_text``/``to_html``) where widgets cannot, next to the widget view."""

    _stork_closed = False

    def _closing(self) -> bool:
        """True when already closed; otherwise marks it closed (``close`` runs once)."""
        if self._stork_closed:
            return True
        self._stork_closed = True
        return False

    def to_text(self) -> str:
        raise NotImplementedError

    def to_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data.update({"text/plain": self.to_text(), "text/html": self.to_html()})
        return data
