"""The result of ``%stork analyze`` as a widget: one row per data access, with its detail.

Where widgets cannot render (nbconvert, a terminal) the same object shows the text
and HTML tables the magic always showed (``report.analysis_text``/``analysis_html``).
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..analysis import Analysis, DataAccess
from ..cells import cell_label
from ..report import access_status, analysis_html, analysis_summary, analysis_text, problem_lines
from ._base import EMPTY, Composite, close_all, guarded, kv_html, show_error
from .table import Column, DataTable, ListSource


def _cell(a: DataAccess) -> str:
    return cell_label(a.cell_index, a.cell_id, word=False)


def _format(a: DataAccess) -> str:
    fmt = a.format or ""
    if a.consumer and not a.consumer.startswith("."):
        fmt = f"{fmt} via {a.consumer}"
    return fmt or EMPTY


ANALYSIS_COLUMNS = [
    # sorting by cell keeps notebook order: (cell, line, column)
    Column("cell", "cell", "8em", get=lambda a: (a.cell_index, a.line, a.col), render=_cell),
    Column("line", "line", "4em"),
    Column("api", "api", "minmax(10em, 1.5fr)"),
    Column("mode", "mode", "5em"),
    Column("format", "format", "8em", get=lambda a: a.format, render=_format),
    Column("path", "path", "minmax(12em, 2fr)", fmt=lambda p: p or "?"),
    Column("status", "status", "minmax(10em, 1.5fr)", get=access_status),
]


class AnalysisTable(Composite):
    """Every data access of one notebook: filter, sort by cell/line/path, select for detail."""

    def __init__(self, analysis: Analysis, *, page_size: int = 20):
        self.analysis = analysis
        self.summary = widgets.HTML(f"<b>{html.escape(analysis_summary(analysis))}</b>")
        self.table = DataTable(
            ListSource(analysis.accesses, ANALYSIS_COLUMNS, status_key="mode"),
            ANALYSIS_COLUMNS, page_size=page_size, statuses=("read", "write"),
            status_label="mode", sort="cell", descending=False, placeholder="filter accesses")
        problems = problem_lines(analysis)
        self.problems = widgets.HTML(
            "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
            if problems else "")
        self.detail = widgets.HTML("<i>Select an access to see its detail.</i>")
        self.detail.add_class("stork-detail")
        self.messages = widgets.Output()
        self.table.observe(self._on_select, names="value")
        super().__init__(children=[self.summary, self.table, self.problems, self.detail,
                                   self.messages])

    @guarded
    def _on_select(self, change: dict) -> None:
        self.show(change["new"])

    def show(self, a: DataAccess | None) -> None:
        """The detail of one access (None: nothing selected)."""
        if a is None:
            self.detail.value = "<i>Select an access to see its detail.</i>"
            return
        kwargs = ", ".join(f"{k}={v!r}" for k, v in (a.kwargs or {}).items()) or EMPTY
        pairs = [("cell", _cell(a)), ("line, column", f"{a.line}, {a.col}"), ("api", a.api),
                 ("mode", a.mode + (f" ({a.open_mode})" if a.open_mode else "")),
                 ("format", _format(a)), ("path", a.path or "?"),
                 ("path in the code", a.path_code), ("status", access_status(a)),
                 ("keyword arguments", kwargs)]
        if a.expanded_from:
            pairs.append(("expanded from", a.expanded_from))
        code = f"<pre style='margin:4px 0'>{html.escape(a.code)}</pre>" if a.code else ""
        self.detail.value = kv_html(pairs) + code

    def report(self, error: BaseException) -> None:
        show_error(self.messages, error)

    def to_text(self) -> str:
        return analysis_text(self.analysis)

    def to_html(self) -> str:
        return analysis_html(self.analysis)


    def close(self) -> None:
        if self._closing():
            return
        self.table.unobserve(self._on_select, names="value")
        close_all([self.table, self.summary, self.problems, self.detail, self.messages])
        super().close()
