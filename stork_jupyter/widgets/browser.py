"""The metadata store as an ipywidgets application: Datasets, Jobs and Records tabs.

Each tab is a pane: a ``DataTable`` over the store and a detail view of the selected
row. The ``Browser`` owns the panes, the toolbar (refresh, analyse the current
notebook) and the one ``Output`` where actions report; ``undo`` and ``analyze`` call
the same engine functions as the CLI and the magics.
"""

from __future__ import annotations

import contextlib
import difflib
import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import ipywidgets as widgets
from IPython.display import display as display_widget

from ..cells import cell_label
from ..config import find_project_root, resolve_store_url
from ..errors import NotFoundError
from ..preview import Preview
from ..report import JOB_COLUMNS, html_table, job_row, output_label, text_table
from ..store import (
    JOB_STATES,
    LISTED_KINDS,
    RECORD_STATUSES,
    STATUSES,
    Dataset,
    Datastore,
    Entity,
    Job,
    Location,
    MetadataStore,
    Project,
    Record,
    Transfer,
    open_store,
)
from ._base import (
    EMPTY,
    Composite,
    close_all,
    duration,
    esc,
    fmt_count,
    fmt_duration,
    fmt_percent,
    fmt_size,
    fmt_time,
    guarded,
    kv_html,
    progress_html,
    rows_html,
    show_error,
    show_message,
)
from .table import Column, DataTable, Page, Query, StoreSource, sort_rows

RESUMABLE = ("paused", "failed")  #: and "interrupted": running, its process gone
#: The job options worth a reader's eye (the rest: the stored plan, digests, pid...).
_OPTIONS_SHOWN = ("layout", "partial", "allow_outside_root", "in_place", "output", "parallel",
                  "cell")
PREVIEW_ROWS = 10
#: a path column shows at most this many characters, elided in the middle
PATH_CHARS = 40
DETAIL_LIMIT = 50  #: locations / jobs listed in a dataset's detail at most

DIFF_CSS = """<style>
.stork-diff table.diff { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px); border-collapse: collapse; }
.stork-diff td.diff_header { text-align: right; padding: 0 6px;
  color: var(--jp-ui-font-color2, #777); }
.stork-diff th.diff_header { text-align: left; padding: 2px 6px; }
.stork-diff .diff_next { display: none; }
.stork-diff { overflow-x: auto; max-width: 100%; }
.stork-diff td { padding: 0 4px; vertical-align: top; }
.stork-diff .diff_add { background: rgba(0, 200, 0, 0.25); }
.stork-diff .diff_chg { background: rgba(255, 200, 0, 0.35); }
.stork-diff .diff_sub { background: rgba(255, 0, 0, 0.25); }
</style>"""

UndoHandler = Callable[[str, "int | None"], Any]


def _cell_label(index: int | None, cell_id: str | None) -> str:
    if index is None:
        return cell_id or EMPTY
    return cell_label(index, cell_id, word=False)


def _transfer_progress(t: Transfer) -> float | None:
    if t.bytes_total:
        return t.bytes_done / t.bytes_total
    return 1.0 if t.status == "completed" else None


DATASET_COLUMNS = [
    Column("id", "id", "4em"),
    Column("source_path", "dataset", "minmax(14em, 3fr)", elide=PATH_CHARS),
    Column("format", "format", "6em"),
    Column("size", "size", "7em", fmt=fmt_size),
    Column("row_count", "rows", "6em", fmt=fmt_count),
    Column("version", "version", "6em"),
    Column("updated_at", "updated", "9.5em", fmt=fmt_time),
]
JOB_TABLE_COLUMNS = [
    Column("id", "id", "4em"),
    Column("kind", "kind", "6em"),
    # "interrupted" (running, its process gone) as the panel and the CLI show it
    Column("status", "status", "7em", get=lambda j: _job_state(j)),
    Column("progress", "progress", "6em", fmt=fmt_percent),
    Column("notebook", "notebook", "minmax(10em, 2fr)", get=lambda j: j.notebooks()[0],
           elide=PATH_CHARS),
    Column("output", "output", "minmax(10em, 2fr)",
           get=lambda j: output_label(*j.notebooks()), elide=PATH_CHARS),
    Column("destination", "destination", "minmax(10em, 2fr)", elide=PATH_CHARS),
    Column("started_at", "started", "9.5em", fmt=fmt_time),
    Column("finished_at", "finished", "9.5em", fmt=fmt_time),
]
TRANSFER_COLUMNS = [
    Column("id", "id", "4em"),
    Column("source", "source", "minmax(10em, 2fr)", elide=PATH_CHARS),
    Column("target", "target", "minmax(12em, 3fr)", elide=PATH_CHARS),
    Column("status", "status", "7em"),
    Column("progress", "progress", "10em", get=_transfer_progress,
           fmt=fmt_percent),
    Column("bytes_total", "size", "6em", fmt=fmt_size),
    Column("rows", "rows", "5em", fmt=fmt_count),
    Column("took", "took", "5em", get=lambda t: duration(t.started_at, t.finished_at),
           fmt=fmt_duration),
    Column("error", "error", "minmax(6em, 1fr)"),
]
RECORD_COLUMNS = [
    Column("id", "id", "4em"),
    Column("notebook", "notebook", "minmax(12em, 2fr)", elide=PATH_CHARS),
    Column("cell_index", "cell", "8em", render=lambda r: _cell_label(r.cell_index, r.cell_id)),
    Column("line", "line", "4em"),
    Column("api", "api", "minmax(10em, 1fr)"),
    Column("status", "status", "6em"),
    Column("job_id", "job", "4em"),
    Column("created_at", "created", "9.5em", fmt=fmt_time),
]


def _job_state(job: Job) -> str:
    from ..jobs import job_state

    return job_state(job)


class JobSource(StoreSource):
    """Jobs as every door lists them (``jobs.list_jobs``): the status filter also takes
    ``interrupted``, a running job whose process is gone, which ``running`` leaves out."""

    def fetch(self, query: Query) -> Page:
        if query.status not in ("running", "interrupted"):
            return super().fetch(query)
        from ..jobs import list_jobs

        # the pane's kind filter is list_jobs' default (analyses left out); without it, all
        filters = {k: v for k, v in self.filters.items() if k != "kind"}
        listed = list_jobs(self.store, limit=query.limit, offset=query.offset,
                           state=query.status, all_kinds="kind" not in self.filters,
                           search=query.text or None,
                           search_in=[k for k in self.search if k in self.fields] or None,
                           **filters)
        rows = sort_rows(listed.items, next((c for c in self.columns if c.key == query.sort),
                                            None), query.descending)
        return Page(rows, listed.total, query.offset + query.limit < listed.total)


class _Pane(Composite):
    """A table of one entity and the detail of its selected row."""

    entity: type[Entity]
    columns: Sequence[Column]
    search: Sequence[str] = ()
    statuses: Sequence[str] | None = None
    #: filters the table starts with (the jobs pane leaves analyze jobs out)
    filters: dict[str, Any] = {}
    source_class: type[StoreSource] = StoreSource

    def __init__(self, store: MetadataStore, *, page_size: int = 20,
                 on_undo: UndoHandler | None = None, owns_store: bool = False):
        self.store = store
        self.owns_store = owns_store
        self.on_undo = on_undo
        self.source = self.source_class(store, self.entity, self.columns, search=self.search,
                                         filters=self.filters)
        self.table = DataTable(self.source, self.columns, page_size=page_size,
                               statuses=self.statuses,
                               placeholder=f"filter {self.entity.entity}s")
        self.info = widgets.HTML()
        self.undo = widgets.Button(description="Undo migration…", icon="undo",
                                   layout=widgets.Layout(width="auto", display="none"))
        self._undo_target: tuple[str, int | None] | None = None
        self._armed = False
        self.actions = widgets.HBox([self.undo])
        self.detail = widgets.VBox([self.info, self.actions],
                                   layout=widgets.Layout(margin="8px 0 0 0"))
        self.detail.add_class("stork-detail")
        self.messages = widgets.Output()
        self.table.observe(self._on_select, names="value")
        self.undo.on_click(self._on_undo)
        super().__init__(children=[self.table, self.detail, self.messages])
        self.show(None)

    # -- the one update path for the detail ----------------------------------------

    @guarded
    def show(self, row: Any) -> None:
        """Show ``row``'s detail (None: nothing selected)."""
        self.messages.outputs = ()
        self._disarm()
        if row is None:
            self.info.value = (f"<i>Select a {self.entity.entity} to see its detail.</i>")
            self._set_undo(None)
            self._show_extra(None)
            return
        self.info.value = self._detail_html(row)
        self._set_undo(self._undo_for(row))
        self._show_extra(row)

    def _detail_html(self, row: Any) -> str:
        raise NotImplementedError

    def _show_extra(self, row: Any) -> None:
        """Widgets of the detail beyond its HTML (a preview, a transfers table)."""

    def _undo_for(self, row: Any) -> tuple[str, int | None] | None:
        return None

    @guarded
    def _on_select(self, change: dict) -> None:
        self.show(change["new"])

    @guarded
    def refresh(self) -> None:
        """Read the store again: the page shown and the selected row's detail."""
        selected = self.table.value
        self.table.refresh(reload=True)
        if selected is None:
            return
        try:
            fresh = self.store.get(self.entity, selected.id)
        except NotFoundError:
            fresh = None
        if fresh == selected:
            self.show(fresh)  # related rows (locations, transfers) may have changed
        else:
            self.table.value = fresh  # the observer shows it

    def count(self) -> int:
        return self.store.count(self.entity, **self.source.filters)

    # -- undo: armed by a first click, done by a second ------------------------------

    def _set_undo(self, target: tuple[str, int | None] | None) -> None:
        self._undo_target = target if self.on_undo is not None else None
        self.undo.layout.display = None if self._undo_target else "none"
        if self._undo_target:
            self.undo.tooltip = (f"restore the cells of {self._undo_target[0]} as they were "
                                 "before stork rewrote them")

    def _disarm(self) -> None:
        self._armed = False
        self.undo.description = "Undo migration…"
        self.undo.button_style = ""

    @guarded
    def _on_undo(self, _button: Any) -> None:
        if not self._undo_target or self.on_undo is None:
            return
        if not self._armed:
            self._armed = True
            self.undo.description = f"Confirm: restore {self._undo_target[0]}"
            self.undo.button_style = "danger"
            return
        target = self._undo_target
        self._disarm()
        self.on_undo(*target)

    def _applied_records(self, notebook: str, project_id: int | None) -> int:
        filters: dict[str, Any] = {"notebook": notebook, "status": "applied"}
        if project_id is not None:
            filters["project_id"] = project_id
        return self.store.count(Record, **filters)

    # -- fallbacks, errors, lifecycle -------------------------------------------------

    def report(self, error: BaseException) -> None:
        show_error(self.messages, error)

    def to_text(self) -> str:
        return self.table.to_text()

    def to_html(self) -> str:
        return self.table.to_html()


    def close(self) -> None:
        if self._closing():
            return
        self.table.unobserve(self._on_select, names="value")
        self._close_extra()
        close_all([self.table, self.info, self.undo, self.actions, self.detail, self.messages])
        super().close()
        if self.owns_store:
            self.store.close()

    def _close_extra(self) -> None:
        """Close widgets a subclass added."""


class DatasetsPane(_Pane):
    """Datasets: schema, size, checksum, locations, the jobs that moved it, a preview."""

    entity = Dataset
    columns = DATASET_COLUMNS
    search = ("source_path", "format", "sha256")

    def __init__(self, store: MetadataStore, **kwargs: Any):
        self.locations = widgets.Dropdown(description="preview of", options=[],
                                          layout=widgets.Layout(width="36em"),
                                          style={"description_width": "initial"})
        self.preview_button = widgets.Button(description="Preview", icon="eye",
                                             tooltip="read the first rows again",
                                             layout=widgets.Layout(width="auto"))
        self.preview = widgets.HTML()
        self.preview.add_class("stork-preview")
        self._quiet = False
        self.preview_bar = widgets.HBox([self.locations, self.preview_button])
        super().__init__(store, **kwargs)
        self.detail.children = (self.info, self.preview_bar, self.preview)
        self.locations.observe(self._on_location, names="value")
        self.preview_button.on_click(lambda _b: self.show_preview())

    def _detail_html(self, d: Dataset) -> str:
        store = self.store
        try:
            project = store.get(Project, d.project_id).root
        except NotFoundError:
            project = None
        size = EMPTY if d.size is None else f"{fmt_size(d.size)} ({d.size:,} bytes)"
        parts = [f"<h4 style='margin:4px 0'>{esc(d.source_path)}</h4>", kv_html([
            ("project", project), ("format", d.format), ("size", size),
            ("sha256", d.sha256), ("rows", fmt_count(d.row_count)), ("version", d.version),
            ("first seen", fmt_time(d.created_at)), ("updated", fmt_time(d.updated_at))])]
        parts.append("<h5 style='margin:8px 0 2px'>Schema</h5>")
        if d.schema:
            fields = [(f.get("name"), f.get("type")) if isinstance(f, dict) else (f, EMPTY)
                      for f in d.schema]
            parts.append(rows_html(["field", "type"], fields))
        else:
            parts.append(f"<div>{EMPTY} <small>(not recorded: a schema and row count are "
                         "kept for the tables a migration reads)</small></div>")
        locations = store.list(Location, dataset_id=d.id, limit=DETAIL_LIMIT)
        total = store.count(Location, dataset_id=d.id)
        names = self._datastore_names({loc.datastore_id for loc in locations})
        parts.append(f"<h5 style='margin:8px 0 2px'>Locations ({total})</h5>")
        parts.append(rows_html(["url", "table", "datastore", "job", "since"], [
            (loc.url, loc.table_name, names.get(loc.datastore_id), loc.job_id,
             fmt_time(loc.created_at)) for loc in locations]) if locations
            else f"<div>{EMPTY} <small>(not migrated yet)</small></div>")
        transfers = store.list(Transfer, dataset_id=d.id, limit=DETAIL_LIMIT)
        job_ids = sorted({t.job_id for t in transfers}, reverse=True)
        jobs = {j.id: j for j in store.list(Job, id=job_ids, limit=None)} if job_ids else {}
        parts.append(f"<h5 style='margin:8px 0 2px'>Moved by ({len(job_ids)} "
                     f"job{'s' if len(job_ids) != 1 else ''})</h5>")
        rows = []
        for t in transfers:
            job = jobs.get(t.job_id)
            rows.append((t.job_id, job.kind if job else EMPTY, t.status,
                         job.notebook if job else EMPTY, fmt_time(t.finished_at)))
        parts.append(rows_html(["job", "kind", "transfer", "notebook", "finished"], rows)
                     if rows else f"<div>{EMPTY}</div>")
        parts.append("<h5 style='margin:8px 0 2px'>Preview</h5>")
        return "".join(parts)

    def _datastore_names(self, ids: set[int | None]) -> dict[int | None, str]:
        known = [i for i in ids if i is not None]
        if not known:
            return {}
        return {s.id: s.name for s in self.store.list(Datastore, id=known, limit=None)}

    def _show_extra(self, d: Dataset | None) -> None:
        self.preview_bar.layout.display = None if d is not None else "none"
        if d is None:
            self.preview.value = ""
            return
        locations = self.store.list(Location, dataset_id=d.id, limit=DETAIL_LIMIT)
        self._quiet = True
        try:
            self.locations.options = [(loc.url + (f" ({loc.table_name})" if loc.table_name
                                                  else ""), loc) for loc in locations]
            self.locations.value = locations[0] if locations else None
        finally:
            self._quiet = False
        self.show_preview()

    @guarded
    def show_preview(self) -> None:
        """Read the first rows of the selected dataset from the location chosen."""
        from ..preview import preview_dataset

        dataset = self.table.value
        if dataset is None:
            self.preview.value = ""
            return
        result = preview_dataset(self.store, dataset, rows=PREVIEW_ROWS,
                                 location=self.locations.value)
        self.preview.value = preview_html(result)

    def _on_location(self, _change: dict) -> None:
        if not self._quiet:
            self.show_preview()

    def _close_extra(self) -> None:
        self.locations.unobserve(self._on_location, names="value")
        close_all([self.locations, self.preview_button, self.preview, self.preview_bar])


class JobsPane(_Pane):
    """Jobs: status, timing, counts, error, and the transfers with their progress."""

    entity = Job
    columns = JOB_TABLE_COLUMNS
    search = ("kind", "notebook", "destination", "error")
    statuses = JOB_STATES
    filters = {"kind": list(LISTED_KINDS)}
    source_class = JobSource

    def __init__(self, store: MetadataStore, *, transfers_page_size: int = 10,
                 root: Path | None = None, **kwargs: Any):
        self.root = root  #: the project resume and cancel act in (default: the working dir)
        self.show_analyses = widgets.Checkbox(
            value=False, description="analyses too", indent=False,
            tooltip="also list the analyze jobs (each analysis records what it found)",
            layout=widgets.Layout(width="auto"))
        self.resume = widgets.Button(description="Resume", icon="play", disabled=True,
                                     tooltip="continue a paused or interrupted job",
                                     layout=widgets.Layout(width="auto"))
        self.cancel = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                     tooltip="stop the job and remove what it left behind",
                                     layout=widgets.Layout(width="auto"))
        self.resume.on_click(self._on_resume)
        self.cancel.on_click(self._on_cancel)
        self.transfer_source = StoreSource(store, Transfer, TRANSFER_COLUMNS,
                                           search=("source", "target", "error"),
                                           filters={"job_id": -1})
        self.transfers = DataTable(self.transfer_source, TRANSFER_COLUMNS,
                                   page_size=transfers_page_size, statuses=STATUSES,
                                   placeholder="filter transfers")
        self.transfers_title = widgets.HTML("<h5 style='margin:8px 0 2px'>Transfers</h5>")
        super().__init__(store, **kwargs)
        self.actions.children = (self.resume, self.cancel, self.undo)
        self.detail.children = (self.info, self.actions, self.transfers_title, self.transfers)
        self.children = (self.show_analyses, *self.children)
        self.show_analyses.observe(self._on_show_analyses, names="value")

    @guarded
    def _on_show_analyses(self, change: dict) -> None:
        self.source.set_filters(**({} if change["new"] else self.filters))
        self.table.query = replace(self.table.query, offset=0)
        self.table.refresh(reload=True)

    def _detail_html(self, j: Job) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in (j.counts or {}).items()) or EMPTY
        # the stored plan, its digests and paths are for resuming, not for reading here
        options = ", ".join(f"{k}={v}" for k, v in (j.options or {}).items()
                            if k in _OPTIONS_SHOWN) or EMPTY
        history = " → ".join(
            h.get("status", "?") + (f" ({h['note']})" if h.get("note") else "")
            for h in (j.options or {}).get("history", [])) or EMPTY
        error = (f"<span style='color:var(--jp-error-color1,#c00)'>{esc(j.error)}</span>"
                 if j.error else EMPTY)
        source, output = j.notebooks()
        return (f"<h4 style='margin:4px 0'>Job {j.id}: {esc(j.kind)} · {esc(j.status)}</h4>"
                + kv_html([
                    ("notebook", source), ("output", output_label(source, output)),
                    ("destination", j.destination),
                    ("progress", progress_html(j.progress)),
                    ("created", fmt_time(j.created_at)), ("started", fmt_time(j.started_at)),
                    ("finished", fmt_time(j.finished_at)),
                    ("took", fmt_duration(duration(j.started_at, j.finished_at))),
                    ("counts", counts), ("options", options), ("history", history),
                    ("error", error)],
                    raw=("progress", "error")))

    def _show_extra(self, j: Job | None) -> None:
        display = None if j is not None else "none"
        for widget in (self.resume, self.cancel, self.transfers_title, self.transfers):
            widget.layout.display = display
        if j is None:
            return
        from ..jobs import job_state

        state = job_state(j)
        self.resume.disabled = not (j.status in RESUMABLE or state == "interrupted")
        self.cancel.disabled = j.status in ("completed", "cancelled") or j.kind == "analyze"
        self.transfer_source.set_filters(job_id=j.id)
        self.transfers.reset()
        n = self.transfers.page.total
        self.transfers_title.value = (f"<h5 style='margin:8px 0 2px'>Transfers "
                                      f"({n if n is not None else '…'})</h5>")

    @guarded
    def _on_resume(self, _button: Any) -> None:
        """Finish the selected job here, with its progress shown under the table."""
        from ..resume import resume_job
        from .progress import ProgressWidget

        job = self.table.value
        progress = ProgressWidget(f"job {job.id}")
        with self.messages:
            display_widget(progress)
        result = resume_job(job.id, root=self.root, store=self.store.connect_url(),
                            progress=progress)
        self.refresh()
        if hasattr(result, "output") and result.output:
            self.info.value += (f"<p>Finished: {esc(str(result.output))} was written; "
                                "reload it if it is open.</p>")

    @guarded
    def _on_cancel(self, _button: Any) -> None:
        from ..jobs import cancel_job

        result = cancel_job(self.table.value.id, root=self.root,
                            store=self.store.connect_url())
        self.refresh()
        self.info.value += f"<pre>{esc(result.text())}</pre>"

    def _undo_for(self, j: Job) -> tuple[str, int | None] | None:
        if j.kind != "migrate" or not j.notebook:
            return None
        if not self._applied_records(j.notebook, j.project_id):
            return None
        return (j.notebook, j.project_id)

    def to_text(self) -> str:
        return text_table(JOB_COLUMNS, [job_row(j) for j in self.table.page.rows])

    def to_html(self) -> str:
        return html_table(JOB_COLUMNS, [job_row(j) for j in self.table.page.rows])

    def _close_extra(self) -> None:
        self.show_analyses.unobserve(self._on_show_analyses, names="value")
        close_all([self.show_analyses, self.resume, self.cancel, self.transfers,
                   self.transfers_title])


class RecordsPane(_Pane):
    """Records: one rewritten data access, its cell before and after as a diff."""

    entity = Record
    columns = RECORD_COLUMNS
    search = ("notebook", "api", "cell_id", "original_source", "new_source")
    statuses = RECORD_STATUSES

    def _detail_html(self, r: Record) -> str:
        job = None
        if r.job_id is not None:
            try:
                job = self.store.get(Job, r.job_id)
            except NotFoundError:
                job = None
        job_text = EMPTY if r.job_id is None else (
            f"{r.job_id}" + (f" ({job.kind} to {job.destination})" if job else ""))
        return (f"<h4 style='margin:4px 0'>{esc(r.notebook)}, cell "
                f"{esc(_cell_label(r.cell_index, r.cell_id))}, line {esc(r.line)}</h4>"
                + kv_html([("api", r.api), ("status", r.status), ("job", job_text),
                           ("recorded", fmt_time(r.created_at))])
                + "<h5 style='margin:8px 0 2px'>Original and rewritten cell</h5>"
                + diff_html(r.original_source, r.new_source))

    def _undo_for(self, r: Record) -> tuple[str, int | None] | None:
        if r.status != "applied":
            return None
        return (r.notebook, r.project_id)


def diff_html(old: str, new: str) -> str:
    """The two sources side by side (difflib), changed lines marked."""
    table = difflib.HtmlDiff(tabsize=4, wrapcolumn=60).make_table(
        old.splitlines(), new.splitlines(), "original", "rewritten")
    return f"{DIFF_CSS}<div class='stork-diff'>{table}</div>"


class Browser(Composite):
    """Datasets, jobs and records of a metadata store, in three tabs.

    :param store: a ``MetadataStore``, a store URL or SQLite path, or None for the
        project's store (``$STORK_STORE`` or ``<root>/.stork/stork.db``).
    :param project_root: where to look for the project (default: the working directory).
    :param notebook: the notebook "Analyze" acts on (the magic passes the kernel's).
    """

    TABS = ("Datasets", "Jobs", "Records")

    def __init__(self, store: MetadataStore | str | None = None,
                 project_root: str | Path | None = None, *, notebook: str | Path | None = None,
                 page_size: int = 20):
        self.project_root = find_project_root(project_root or None)
        if isinstance(store, MetadataStore):
            self.store, self._owns_store, self.store_url = store, False, store.connect_url()
        else:
            self.store, self._owns_store = open_store(self.project_root, store), True
            #: the store as engine calls (undo, analyse) are told of it (with its password)
            self.store_url = resolve_store_url(store, self.project_root)
        self.notebook = Path(notebook) if notebook else None
        try:
            self.title = widgets.HTML(layout=widgets.Layout(flex="1 1 auto"))
            self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                                 tooltip="read the store again",
                                                 layout=widgets.Layout(width="auto",
                                                                       flex="0 0 auto"))
            name = self.notebook.name if self.notebook else "notebook"
            self.analyze_button = widgets.Button(
                description=f"Analyze {name}", icon="search",
                disabled=self.notebook is None,
                layout=widgets.Layout(width="auto", flex="0 0 auto"),
                tooltip=("find every data access of this notebook" if self.notebook else
                         "run %stork browse in a notebook, or pass notebook=, to analyse it"))
            self.datasets = DatasetsPane(self.store, page_size=page_size)
            self.jobs = JobsPane(self.store, page_size=page_size, on_undo=self.undo_notebook,
                                 root=self.project_root)
            self.records = RecordsPane(self.store, page_size=page_size,
                                       on_undo=self.undo_notebook)
            self.tabs = widgets.Tab(children=[self.datasets, self.jobs, self.records])
            self.analysis = widgets.VBox()
            self.messages = widgets.Output()
            self.refresh_button.on_click(lambda _b: self.refresh())
            self.analyze_button.on_click(lambda _b: self.analyze())
            toolbar = widgets.HBox([self.title, self.refresh_button, self.analyze_button],
                                   layout=widgets.Layout(align_items="center",
                                                         justify_content="space-between"))
            super().__init__(children=[toolbar, self.messages, self.analysis, self.tabs])
            self.add_class("stork-browser")
            self._update_titles()
        except BaseException:
            if self._owns_store:
                self.store.close()
            raise

    @property
    def panes(self) -> tuple[DatasetsPane, JobsPane, RecordsPane]:
        return (self.datasets, self.jobs, self.records)

    # -- updates ----------------------------------------------------------------------

    @guarded
    def refresh(self) -> None:
        """Read the store again in every tab."""
        for pane in self.panes:
            pane.refresh()
        self._update_titles()

    def _update_titles(self) -> None:
        counts = [pane.count() for pane in self.panes]
        self.tabs.titles = tuple(f"{t} ({n:,})" for t, n in zip(self.TABS, counts, strict=True))
        self.title.value = (f"<b>Stork</b> · <code>{html.escape(self.store.url)}</code>")

    # -- actions ----------------------------------------------------------------------

    @guarded
    def undo_notebook(self, notebook: str, project_id: int | None = None) -> int:
        """Restore the cells a migration rewrote in ``notebook`` (relative to its project)."""
        from ..undo import undo

        path = self._notebook_path(notebook, project_id)
        restored = undo(path, self.store_url)
        show_message(self.messages, f"{path}: restored {restored} cell(s) and removed the "
                     "setup cell; reload it from disk (File > Reload Notebook from Disk).")
        self.refresh()
        return restored

    def _notebook_path(self, notebook: str, project_id: int | None) -> Path:
        root = self.project_root
        if project_id is not None:
            with contextlib.suppress(NotFoundError):
                root = Path(self.store.get(Project, project_id).root)
        return root / notebook

    @guarded
    def analyze(self, notebook: str | Path | None = None):
        """Analyse ``notebook`` (default: this kernel's), record it, show it above the tabs."""
        from ..inventory import analyze_and_record
        from .analysis_table import AnalysisTable

        target = Path(notebook) if notebook else self.notebook
        if target is None:
            show_message(self.messages, "No notebook to analyse: pass notebook=.")
            return None
        analysis = analyze_and_record(target, self.store_url)
        close_all(self.analysis.children)
        hide = widgets.Button(description="Hide analysis", icon="times",
                              layout=widgets.Layout(width="auto"))
        table = AnalysisTable(analysis)
        hide.on_click(lambda _b: self._hide_analysis())
        self.analysis.children = (table, hide)
        self.messages.outputs = ()
        self.refresh()
        return table

    def _hide_analysis(self) -> None:
        close_all(self.analysis.children)
        self.analysis.children = ()

    def report(self, error: BaseException) -> None:
        show_error(self.messages, error)

    # -- fallbacks and lifecycle --------------------------------------------------------

    def to_text(self) -> str:
        counts = ", ".join(f"{n:,} {t.lower()}" for t, n in zip(
            self.TABS, (p.count() for p in self.panes), strict=True))
        parts = [f"Stork metadata store {self.store.url}: {counts}"]
        for title, pane in zip(self.TABS, self.panes, strict=True):
            parts += ["", f"{title}:", pane.table.to_text()]
        return "\n".join(parts)

    def to_html(self) -> str:
        parts = [f"<div><b>Stork</b> metadata store <code>{html.escape(self.store.url)}"
                 "</code></div>"]
        for title, pane in zip(self.TABS, self.panes, strict=True):
            parts.append(f"<h4>{html.escape(title)}</h4>{pane.table.to_html()}")
        return "".join(parts)


    def close(self) -> None:
        """Close every widget of the browser and the store if it opened it."""
        if self._closing():
            return
        self._hide_analysis()
        close_all([*self.panes, self.tabs, self.title, self.refresh_button,
                   self.analyze_button, self.analysis, self.messages, *self.children])
        super().close()
        if self._owns_store:
            self.store.close()


def preview_html(preview: Preview) -> str:
    """A preview as HTML, for the browser's preview pane."""
    esc = html.escape
    out = [f"<div class='stork-preview'><div>from <code>{esc(preview.url)}</code>"]
    if preview.code:
        out.append(f" as <code>{esc(preview.code)}</code>")
    out.append("</div>")
    if preview.error:
        out.append(f"<div style='color:var(--jp-error-color1,#c00)'>Cannot preview: "
                   f"{esc(preview.error)}</div>")
    if preview.message:
        out.append(f"<div><i>{esc(preview.message)}</i></div>")
    if preview.columns:
        head = "".join(f"<th style='text-align:left'>{esc(n)}<br><small>{esc(t)}</small></th>"
                       for n, t in preview.columns)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{esc(v)}</td>"
                                        for v in r) + "</tr>" for r in preview.rows)
        out.append(f"<table class='stork-table'><thead><tr>{head}</tr></thead>"
                   f"<tbody>{body}</tbody></table>")
    if preview.text is not None:
        out.append(f"<pre style='max-height:16em;overflow:auto'>{esc(preview.text)}</pre>")
    out.append("</div>")
    return "".join(out)
