"""A paged, sortable, filterable table built from standard ipywidgets 8 controls only.

``DataTable`` shows one page of rows that a *source* returns for a ``Query``
(offset, limit, sort, text filter, status). Two sources:

- ``StoreSource`` pages through ``MetadataStore.list``/``count`` (limit/offset and
  equality filters). A set of rows up to ``full_below`` (5,000) is read whole, so
  sort and text filter are exact on it; above that only the store's own order (by id)
  is available: the pages come straight from limit/offset, another column sorts the
  page shown (and says so), and a text filter scans forward in chunks under a time
  budget, remembering where it stopped. Nothing reads a 100,000-row store whole.
- ``ListSource`` holds rows already in memory (the analysis of one notebook).

Rows are a grid of flat buttons, so clicking anywhere on a row selects it; the
selected row is the table's ``value`` trait: ``table.observe(f, names="value")``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
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
    total: int | None  #: rows matching the query; None while a search has not finished
    has_more: bool  #: a next page exists (or a search can continue)
    partial: bool = False  #: a search stopped on its time budget; fetching again continues
    note: str = ""  #: shown under the table, e.g. how a large store was sorted


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


@dataclass
class _Scan:
    """How far a text search over a large store got, so the next page continues it."""

    key: tuple
    position: int = 0  #: rows of the store read so far
    done: bool = False
    matches: list[Any] = field(default_factory=list)


class StoreSource:
    """Pages of one entity from a ``MetadataStore``, through its ``list``/``count`` API.

    :param filters: equality filters always applied (e.g. ``job_id=3`` for a job's
        transfers); change them with ``set_filters``.
    :param search: fields the text filter looks in.
    :param full_below: a matching set up to this size is read whole (exact sort/search).
    :param chunk: rows read per store call by a search over a larger set.
    :param budget: seconds one search step may take before it shows what it found.
    """

    def __init__(self, store: MetadataStore, cls: type[Entity], columns: Sequence[Column], *,
                 search: Sequence[str] = (), filters: dict[str, Any] | None = None,
                 full_below: int = 5000, chunk: int = 2000, budget: float = 0.35):
        self.store = store
        self.cls = cls
        self.columns = list(columns)
        self.search = list(search) or [c.key for c in self.columns]
        self.filters = dict(filters or {})
        self.full_below = full_below
        self.chunk = chunk
        self.budget = budget
        self._cache: tuple[tuple, list[Any]] | None = None
        self._scan: _Scan | None = None

    def set_filters(self, **filters: Any) -> None:
        self.filters = dict(filters)
        self.invalidate()

    def invalidate(self) -> None:
        """Forget cached rows and searches (after the store changed)."""
        self._cache = None
        self._scan = None

    def fetch(self, query: Query) -> Page:
        filters = dict(self.filters)
        if query.status is not None:
            filters["status"] = query.status
        scope = self.store.count(self.cls, **filters)
        if scope <= self.full_below:
            return self._fetch_whole(query, filters)
        column = _column(self.columns, query.sort)
        by_id = query.sort in (None, "id")
        order = "oldest" if by_id and not query.descending else "newest"
        if query.text.strip():
            page = self._fetch_search(query, filters, order, scope)
        else:
            rows = self.store.list(self.cls, limit=query.limit, offset=query.offset,
                                   order=order, **filters)
            page = Page(rows, scope, query.offset + query.limit < scope)
        if not by_id and column is not None:
            page.rows = sort_rows(page.rows, column, query.descending)
            page.note = (f"{scope:,} rows: pages follow the store's order (newest first); "
                         f"{column.label} sorts the rows of this page.")
        return page

    def _fetch_whole(self, query: Query, filters: dict[str, Any]) -> Page:
        key = (tuple(sorted(filters.items(), key=lambda kv: kv[0])), query.text, query.sort,
               query.descending)
        key = tuple(map(repr, key))
        if self._cache is None or self._cache[0] != key:
            rows = self.store.list(self.cls, limit=None, **filters)
            match = _matcher(query.text, self.columns, self.search)
            rows = [r for r in rows if match(r)]
            rows = sort_rows(rows, _column(self.columns, query.sort), query.descending)
            self._cache = (key, rows)
        rows = self._cache[1]
        end = query.offset + query.limit
        return Page(rows[query.offset:end], len(rows), end < len(rows))

    def _fetch_search(self, query: Query, filters: dict[str, Any], order: str,
                      scope: int) -> Page:
        key = tuple(map(repr, (sorted(filters.items()), query.text, order)))
        scan = self._scan if self._scan is not None and self._scan.key == key else _Scan(key)
        self._scan = scan
        match = _matcher(query.text, self.columns, self.search)
        need = query.offset + query.limit + 1  # one more: is there a next page?
        deadline = time.monotonic() + self.budget
        first = True  # every step reads at least one chunk, whatever the budget
        while len(scan.matches) < need and not scan.done and (
                first or time.monotonic() < deadline):
            first = False
            rows = self.store.list(self.cls, limit=self.chunk, offset=scan.position,
                                   order=order, **filters)
            scan.position += len(rows)
            scan.done = len(rows) < self.chunk or scan.position >= scope
            scan.matches.extend(r for r in rows if match(r))
        end = query.offset + query.limit
        rows = scan.matches[query.offset:end]
        if scan.done:
            return Page(rows, len(scan.matches), end < len(scan.matches))
        if len(scan.matches) >= need:
            return Page(rows, None, True,
                        note=f"searched {scan.position:,} of {scope:,} rows so far")
        return Page(rows, None, True, partial=True,
                    note=f"searched {scan.position:,} of {scope:,} rows; "
                         "press “Search on” to look further")


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
        self.next.on_click(self._on_next)
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
        if not page.rows and self.query.offset > 0 and page.total is not None:
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
                    cell.description = text
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
        self.next.disabled = not page.has_more
        self.next.description = "search on ›" if page.partial else "next ›"
        self.last.disabled = page.total is None or not page.has_more
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
        self._on_next(None)

    def prev_page(self) -> None:
        self._go(self.query.offset - self.query.limit)

    def _go(self, offset: int) -> None:
        self.query = replace(self.query, offset=max(0, offset))
        self.refresh()

    def _on_next(self, _button: Any) -> None:
        if self.page.partial:  # the same page again: the search goes on from where it was
            self.refresh()
        else:
            self._go(self.query.offset + self.query.limit)

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
        return "no rows" if page.total == 0 or page.total is None else (
            f"no rows here (of {page.total:,})")
    first, last = q.offset + 1, q.offset + len(page.rows)
    if page.total is None:
        return f"rows {first:,}–{last:,} of the matches found so far"
    return f"rows {first:,}–{last:,} of {page.total:,}"
