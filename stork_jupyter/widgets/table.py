"""A paged, sortable, filterable table built from standard ipywidgets 8 controls only.

``DataTable`` shows one page of rows that a *source* returns for a ``Query``
(offset, limit, sort, text filter, status). Two sources:

- ``StoreSource`` asks ``MetadataStore.list``/``count`` for exactly the page shown:
  the store filters (equality, status), searches (the text, in any case, in the
  searched columns) and sorts (by the column, the id breaking ties) in SQL, with
  LIMIT/OFFSET, so every page is exact and nothing reads a 100,000-row store whole.
  A column the store does not hold (a value derived from a row, e.g. how long a
  transfer took) cannot be sorted there: the pages keep the store's order (newest
  first) and that column sorts the page shown, which the note under the table says.
- ``ListSource`` holds rows already in memory (the analysis of one notebook).

Rows are a grid of flat buttons, so clicking anywhere on a row selects it; the
selected row is the table's ``value`` trait: ``table.observe(f, names="value")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import ipywidgets as widgets
import traitlets

from ..report import html_table, text_table
from ..store import Entity, MetadataStore
from ._base import Composite, guarded, show_error

#: CSS for the grid (no JavaScript): left-aligned flat cells, bold headers.
TABLE_CSS = """<style>
.stork-grid .jupyter-button.stork-cell, .stork-grid .jupyter-button.stork-head {
  text-align: left; box-shadow: none; padding: 0 6px; margin: 0; border-radius: 0;
  height: 26px; line-height: 26px; }
.stork-grid .jupyter-button.stork-cell { border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.stork-grid .jupyter-button.stork-head { font-weight: bold;
  border-bottom: 2px solid var(--jp-border-color1, #bbb); }
.stork-grid .jupyter-button.stork-cell:hover:enabled { box-shadow: none;
  text-decoration: underline; }
.stork-grid .jupyter-button.stork-head:disabled { opacity: 1; cursor: default; }
</style>"""

SELECTED_COLOR = "var(--jp-brand-color3, #bbdefb)"
PLAIN_COLOR = "transparent"
EMPTY = "—"


@dataclass(frozen=True)
class Column:
    """One column: which attribute it shows, how, and whether it sorts."""

    key: str  #: attribute (or dict key) of a row
    label: str
    width: str = "1fr"  #: a CSS grid track, e.g. ``4em`` or ``minmax(12em, 3fr)``
    sortable: bool = True
    fmt: Callable[[Any], str] | None = None  #: raw value -> text (default ``str``, None -> —)
    get: Callable[[Any], Any] | None = None  #: row -> raw value (default: the attribute)
    render: Callable[[Any], str] | None = None  #: row -> text, when it takes more than the value
    #: at most this many characters shown, elided in the middle (a path's file name and
    #: extension stay; the whole text is the tooltip)
    elide: int | None = None

    def value(self, row: Any) -> Any:
        if self.get is not None:
            return self.get(row)
        if isinstance(row, dict):
            return row.get(self.key)
        return getattr(row, self.key, None)

    def text(self, row: Any) -> str:
        if self.render is not None:
            return self.render(row)
        value = self.value(row)
        if self.fmt is not None:
            return self.fmt(value)
        return EMPTY if value is None or value == "" else str(value)


def elide_middle(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters in its middle, keeping more of the end (a
    long file name's end tells it from its neighbours)."""
    if limit is None or len(text) <= limit:
        return text
    tail = (limit - 1) * 3 // 5
    return text[:limit - 1 - tail] + "…" + text[-tail:]


@dataclass(frozen=True)
class Query:
    """What the table asks its source for."""

    offset: int = 0
    limit: int = 20
    sort: str | None = "id"
    descending: bool = True
    text: str = ""
    status: str | None = None


@dataclass
class Page:
    """One page of rows and what is known about the rest."""

    rows: list[Any]
    total: int  #: rows matching the query
    has_more: bool  #: a next page exists
    note: str = ""  #: shown under the table, e.g. that only the page shown was sorted


class PageSource(Protocol):
    def fetch(self, query: Query) -> Page: ...

    def invalidate(self) -> None: ...


def _matcher(text: str, columns: Sequence[Column], search: Sequence[str]
             ) -> Callable[[Any], bool]:
    """Every whitespace-separated term must occur (any case) in one of the searched fields."""
    terms = [t.casefold() for t in text.split()]
    by_key = {c.key: c for c in columns}

    def haystack(row: Any) -> str:
        parts = []
        for key in search:
            column = by_key.get(key)
            value = column.value(row) if column else (
                row.get(key) if isinstance(row, dict) else getattr(row, key, None))
            if value is not None:
                parts.append(str(value))
            if column is not None and (column.fmt is not None or column.render is not None):
                parts.append(column.text(row))
        return "\n".join(parts).casefold()

    def matches(row: Any) -> bool:
        if not terms:
            return True
        found = haystack(row)
        return all(t in found for t in terms)

    return matches


def sort_rows(rows: list[Any], column: Column | None, descending: bool) -> list[Any]:
    """Rows ordered by ``column``; empty values last in either direction."""
    if column is None:
        return rows
    present = [r for r in rows if column.value(r) is not None]
    empty = [r for r in rows if column.value(r) is None]
    try:
        present.sort(key=column.value, reverse=descending)
    except TypeError:  # mixed types: compare as text
        present.sort(key=lambda r: str(column.value(r)), reverse=descending)
    return present + empty


class ListSource:
    """Rows held in memory: filter, sort and slice them."""

    def __init__(self, rows: Iterable[Any], columns: Sequence[Column], *,
                 search: Sequence[str] = (), status_key: str = "status"):
        self.rows = list(rows)
        self.columns = list(columns)
        self.search = list(search) or [c.key for c in self.columns]
        self.status_key = status_key

    def invalidate(self) -> None:
        """Nothing cached."""

    def fetch(self, query: Query) -> Page:
        match = _matcher(query.text, self.columns, self.search)
        rows = [r for r in self.rows if match(r) and (
            query.status is None or _attr(r, self.status_key) == query.status)]
        rows = sort_rows(rows, _column(self.columns, query.sort), query.descending)
        end = query.offset + query.limit
        return Page(rows[query.offset:end], len(rows), end < len(rows))


def _attr(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def _column(columns: Sequence[Column], key: str | None) -> Column | None:
    return next((c for c in columns if c.key == key), None)


class StoreSource:
    """Pages of one entity from a ``MetadataStore``, through its ``page`` API.

    Each fetch is one ``list`` of ``limit`` rows and, unless that was the last page,
    one ``count`` (``MetadataStore.page``): the store filters, searches and sorts. Nothing is cached, so a
    fetch always shows the store as it is.

    :param filters: equality filters always applied (e.g. ``job_id=3`` for a job's
        transfers); change them with ``set_filters``.
    :param search: fields the text filter looks in; those the store does not hold are
        left out (when none is left, the store searches every text column).
    """

    def __init__(self, store: MetadataStore, cls: type[Entity], columns: Sequence[Column], *,
                 search: Sequence[str] = (), filters: dict[str, Any] | None = None):
        self.store = store
        self.cls = cls
        self.columns = list(columns)
        self.search = list(search) or [c.key for c in self.columns]
        self.filters = dict(filters or {})
        #: the entity's fields: the store's columns (names equal field names)
        self.fields = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]

    def set_filters(self, **filters: Any) -> None:
        self.filters = dict(filters)

    def invalidate(self) -> None:
        """Nothing cached: every fetch reads the store."""

    def sortable_in_store(self, column: Column | None) -> bool:
        """Whether the store can sort by ``column`` (its value is a field, not derived)."""
        return column is not None and column.get is None and column.key in self.fields

    def fetch(self, query: Query) -> Page:
        filters = dict(self.filters)
        if query.status is not None:
            filters["status"] = query.status
        text = query.text or None
        search_in = [key for key in self.search if key in self.fields] or None
        column = _column(self.columns, query.sort)
        in_store = self.sortable_in_store(column)
        rows, total = self.store.page(
            self.cls, limit=query.limit, offset=query.offset,
            order_by=column.key if in_store and column is not None else "id",
            descending=query.descending if in_store else True,
            search=text, search_in=search_in, **filters)
        page = Page(rows, total, query.offset + query.limit < total)
        if column is not None and not in_store:
            page.rows = sort_rows(page.rows, column, query.descending)
            page.note = (f"{total:,} rows: pages follow the store's order (newest first); "
                         f"{column.label} sorts the rows of this page.")
        return page


class DataTable(Composite):
    """A table over a ``PageSource``; the selected row is ``value``.

    Controls: a text filter, an optional status filter, sortable column headers,
    first/previous/next/last page and a page size. Every control changes the query
    and calls ``refresh``, the one method that reads the source and redraws.
    """

    value = traitlets.Any(None, allow_none=True)  #: the selected row (not synced)

    def __init__(self, source: PageSource, columns: Sequence[Column], *, page_size: int = 20,
                 statuses: Sequence[str] | None = None, status_label: str = "status",
                 sort: str | None = "id", descending: bool = True,
                 placeholder: str = "filter", page_sizes: Sequence[int] = (10, 20, 50, 100),
                 **kwargs: Any):
        self.source = source
        self.columns = list(columns)
        self.query = Query(limit=page_size, sort=sort, descending=descending)
        self.page = Page([], 0, False)
        self._default_sort = (sort, descending)
        self._quiet = False

        self.filter = widgets.Text(placeholder=placeholder, continuous_update=False,
                                   layout=widgets.Layout(width="18em"))
        self.status: widgets.Dropdown | None = None
        if statuses:
            # "" rather than None: a Dropdown whose value is None shows no selection
            options = [(f"any {status_label}", ""), *((s, s) for s in statuses)]
            self.status = widgets.Dropdown(options=options, value="",
                                           layout=widgets.Layout(width="11em"))
        self.page_size = widgets.Dropdown(
            options=[(f"{n} / page", n) for n in sorted({*page_sizes, page_size})],
            value=page_size, layout=widgets.Layout(width="8em"))
        self.first = widgets.Button(description="«", tooltip="first page",
                                    layout=widgets.Layout(width="3em"))
        self.prev = widgets.Button(description="‹ prev", tooltip="previous page",
                                   layout=widgets.Layout(width="6em"))
        self.next = widgets.Button(description="next ›", tooltip="next page",
                                   layout=widgets.Layout(width="7em"))
        self.last = widgets.Button(description="»", tooltip="last page",
                                   layout=widgets.Layout(width="3em"))
        self.summary = widgets.Label(layout=widgets.Layout(margin="0 0 0 1em"))
        self.note = widgets.HTML()
        self.messages = widgets.Output()
        self.headers: dict[str, widgets.Button] = {}
        for c in self.columns:
            head = widgets.Button(description=c.label, disabled=not c.sortable,
                                  tooltip=f"sort by {c.label}" if c.sortable else c.label,
                                  layout=widgets.Layout(width="auto"))
            head.add_class("stork-head")
            head.style.button_color = PLAIN_COLOR
            head.on_click(self._on_header)
            self.headers[c.key] = head
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns=" ".join(c.width for c in self.columns), grid_gap="0",
            width="100%", overflow="hidden"))
        self.grid.add_class("stork-grid")
        self._cells: list[list[widgets.Button]] = []
        self._empty = widgets.HTML("<i>no rows</i>", layout=widgets.Layout(
            grid_column="1 / -1", padding="4px 6px"))

        self.filter.observe(self._on_filter, names="value")
        if self.status is not None:
            self.status.observe(self._on_filter, names="value")
        self.page_size.observe(self._on_page_size, names="value")
        self.first.on_click(lambda _b: self._go(0))
        self.prev.on_click(lambda _b: self._go(self.query.offset - self.query.limit))
        self.next.on_click(lambda _b: self.next_page())
        self.last.on_click(self._on_last)

        toolbar = [self.filter, *([self.status] if self.status else [])]
        pager = widgets.HBox([self.first, self.prev, self.next, self.last, self.page_size,
                              self.summary], layout=widgets.Layout(align_items="center"))
        super().__init__(children=[widgets.HTML(TABLE_CSS), widgets.HBox(toolbar), self.grid,
                                   pager, self.note, self.messages], **kwargs)
        self.refresh()

    # -- the one update path ----------------------------------------------------

    @guarded
    def refresh(self, *, reload: bool = False) -> None:
        """Read the page the query names and redraw it (``reload``: forget caches first)."""
        if reload:
            self.source.invalidate()
        page = self.source.fetch(self.query)
        if not page.rows and self.query.offset > 0:
            # the rows went away (a filter, a delete): show the last page there is
            last = max(0, (page.total - 1) // self.query.limit * self.query.limit)
            self.query = replace(self.query, offset=last)
            page = self.source.fetch(self.query)
        self.page = page
        self.messages.outputs = ()
        self._draw()
        self._reselect()

    def _draw(self) -> None:
        rows = self.page.rows
        while len(self._cells) < len(rows):
            self._cells.append(self._new_row(len(self._cells)))
        selected = _row_key(self.value)
        children: list[widgets.Widget] = list(self.headers.values())
        for r, row in enumerate(rows):
            color = SELECTED_COLOR if selected is not None and _row_key(row) == selected else (
                PLAIN_COLOR)
            for column, cell in zip(self.columns, self._cells[r], strict=True):
                text = column.text(row)
                with cell.hold_sync():
                    cell.description = elide_middle(text, column.elide)
                    cell.tooltip = text if len(text) > 12 else None
                    cell.style.button_color = color
                children.append(cell)
        if not rows:
            children.append(self._empty)
        self.grid.children = tuple(children)
        for column in self.columns:
            arrow = ""
            if column.key == self.query.sort:
                arrow = " ▼" if self.query.descending else " ▲"
            self.headers[column.key].description = column.label + arrow
        q, page = self.query, self.page
        self.summary.value = _summary(q, page)
        self.first.disabled = self.prev.disabled = q.offset == 0
        self.next.disabled = self.last.disabled = not page.has_more
        self.note.value = f"<small>{page.note}</small>" if page.note else ""

    def _new_row(self, index: int) -> list[widgets.Button]:
        cells = []
        for _ in self.columns:
            cell = widgets.Button(layout=widgets.Layout(width="auto"))
            cell.add_class("stork-cell")
            cell.style.button_color = PLAIN_COLOR
            cell.on_click(lambda _b, i=index: self.select(i))
            cells.append(cell)
        return cells

    def _reselect(self) -> None:
        """After a refresh, the selected row's fresh copy when it is on this page."""
        key = _row_key(self.value)
        if key is None:
            return
        for row in self.page.rows:
            if _row_key(row) == key and row != self.value:
                self.value = row
                return

    # -- controls -----------------------------------------------------------------

    @guarded
    def select(self, index: int) -> None:
        """Select the ``index``-th row of the page shown (what a click does)."""
        row = self.page.rows[index]
        self.value = row
        self._highlight()

    def _highlight(self) -> None:
        selected = _row_key(self.value)
        for r, row in enumerate(self.page.rows):
            color = SELECTED_COLOR if selected is not None and _row_key(row) == selected else (
                PLAIN_COLOR)
            for cell in self._cells[r]:
                cell.style.button_color = color

    def clear_selection(self) -> None:
        self.value = None
        self._highlight()

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        """Sort by the column ``key``; the same column again flips the direction."""
        if descending is None:
            descending = (not self.query.descending if key == self.query.sort
                          else key == "id")
        self.query = replace(self.query, sort=key, descending=descending, offset=0)
        self.refresh()

    def reset(self) -> None:
        """Back to the first page, no filter, the default order (e.g. for a new parent row)."""
        sort, descending = self._default_sort
        self.query = Query(limit=self.query.limit, sort=sort, descending=descending)
        self._quiet = True  # the controls follow the query here, not the other way round
        try:
            self.filter.value = ""
            if self.status is not None:
                self.status.value = ""
        finally:
            self._quiet = False
        self.value = None
        self.refresh(reload=True)

    def next_page(self) -> None:
        self._go(self.query.offset + self.query.limit)

    def prev_page(self) -> None:
        self._go(self.query.offset - self.query.limit)

    def _go(self, offset: int) -> None:
        self.query = replace(self.query, offset=max(0, offset))
        self.refresh()

    def _on_last(self, _button: Any) -> None:
        if self.page.total:
            limit = self.query.limit
            self._go((self.page.total - 1) // limit * limit)

    def _on_header(self, button: widgets.Button) -> None:
        key = next(k for k, b in self.headers.items() if b is button)
        self.sort_by(key)

    def _on_filter(self, _change: dict) -> None:
        if self._quiet:
            return
        self.query = replace(self.query, text=self.filter.value.strip(), offset=0,
                             status=(self.status.value or None) if self.status is not None
                             else None)
        self.refresh()

    def _on_page_size(self, change: dict) -> None:
        self.query = replace(self.query, limit=int(change["new"]), offset=0)
        self.refresh()

    def report(self, error: BaseException) -> None:
        show_error(self.messages, error)

    # -- what is shown, for tests and the plain-text fallback ---------------------------

    def shown(self) -> list[tuple[str, ...]]:
        """The text of every cell of the page shown, row by row."""
        return [tuple(c.text(row) for c in self.columns) for row in self.page.rows]

    def header_labels(self) -> list[str]:
        return [self.headers[c.key].description for c in self.columns]

    def to_text(self) -> str:
        return "\n".join(filter(None, [
            text_table([c.label for c in self.columns], self.shown()), self.summary.value]))

    def to_html(self) -> str:
        return html_table([c.label for c in self.columns], self.shown(), self.summary.value)


    def close(self) -> None:
        if self._closing():
            return
        self.filter.unobserve(self._on_filter, names="value")
        if self.status is not None:
            self.status.unobserve(self._on_filter, names="value")
        self.page_size.unobserve(self._on_page_size, names="value")
        for row in self._cells:
            for cell in row:
                cell.close()
        for widget in (*self.headers.values(), self._empty, self.filter, self.status,
                       self.page_size, self.first, self.prev, self.next, self.last,
                       self.summary, self.note, self.messages, self.grid, *self.children):
            if widget is not None:
                widget.close()
        super().close()


def _row_key(row: Any) -> Any:
    if row is None:
        return None
    key = getattr(row, "id", None)
    return ("id", key) if key is not None else ("obj", id(row))


def _summary(q: Query, page: Page) -> str:
    if not page.rows:
        return "no rows" if page.total == 0 else f"no rows here (of {page.total:,})"
    first, last = q.offset + 1, q.offset + len(page.rows)
    return f"rows {first:,}–{last:,} of {page.total:,}"
