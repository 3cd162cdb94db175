"""The widgets' Python side (issue 6): select a row, filter, sort, page, act, and what
is shown then — against a store filled by real migrations of the example notebooks,
and a 100,000-record store for paging.

No browser here: ipywidgets run without a frontend, and each test reads the traits
(cell descriptions, HTML values, Output contents) a frontend would render.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import event

pytest.importorskip("ipywidgets")

from stork_jupyter.errors import StoreError  # noqa: E402
from stork_jupyter.migrate import migrate  # noqa: E402
from stork_jupyter.preview import preview_location  # noqa: E402
from stork_jupyter.report import analysis_html, analysis_text  # noqa: E402
from stork_jupyter.store import Dataset, Job, MetadataStore, Record, Transfer  # noqa: E402
from stork_jupyter.widgets import (  # noqa: E402
    AnalysisTable,
    Browser,
    JobsPane,
    Query,
    StoreSource,
)
from stork_jupyter.widgets._base import duration  # noqa: E402
from stork_jupyter.widgets.browser import TRANSFER_COLUMNS, preview_html  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = ("sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb")


@dataclass
class Migrated:
    project: Path
    shared: Path  #: the destination folder
    store_url: str

    def store(self) -> MetadataStore:
        return MetadataStore(self.store_url)




def _migrate(pristine: Path, base: Path, names: tuple[str, ...]) -> Migrated:
    project = base / "notebooks"
    shutil.copytree(pristine, project)
    shared = base / "shared"
    store_url = f"sqlite:///{base / 'meta.db'}"
    for name in names:
        migrate(project / name, str(shared), output=project / name.replace(
            ".ipynb", ".migrated.ipynb"), store=store_url)
    return Migrated(project, shared, store_url)


@pytest.fixture(scope="module")
def migrated(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    """All three examples migrated to a folder; the tests of this fixture only read."""
    return _migrate(pristine, tmp_path_factory.mktemp("migrated"), EXAMPLES)


@pytest.fixture
def sales(pristine: Path, tmp_path: Path) -> Migrated:
    """Only the sales example migrated, in a copy a test may change (undo, analyse)."""
    return _migrate(pristine, tmp_path, ("sales_analysis.ipynb",))


@pytest.fixture
def browser(migrated: Migrated) -> Iterator[Browser]:
    b = Browser(store=migrated.store_url, project_root=migrated.project)
    try:
        yield b
    finally:
        b.close()


def _row_index(table, column: int, text: str) -> int:
    return next(i for i, row in enumerate(table.shown()) if row[column] == text)


def _errors(*outputs) -> list[str]:
    return [o.get("text", "") for out in outputs for o in out.outputs]


# -- opening ----------------------------------------------------------------------------


def test_opens_on_the_migrated_store_with_counts_and_newest_first(browser, migrated):
    with migrated.store() as store:
        counts = [store.count(cls) for cls in (Dataset, Job, Record)]
        newest = store.list(Dataset, limit=20)
    assert counts[0] >= 10 and counts[1] == 3 and counts[2] >= 15
    assert browser.tabs.titles == (f"Datasets ({counts[0]})", f"Jobs ({counts[1]})",
                                   f"Records ({counts[2]})")
    table = browser.datasets.table
    assert [row[1] for row in table.shown()] == [d.source_path for d in newest]
    assert table.header_labels()[0] == "id ▼"
    assert table.summary.value == f"rows 1–{min(20, counts[0])} of {counts[0]}"
    assert "data/sales.csv" in {row[1] for row in table.shown()}
    # nothing selected yet: the detail says so, and nothing went wrong
    assert "Select a dataset" in browser.datasets.info.value
    assert _errors(browser.messages, browser.datasets.messages, table.messages) == []


# -- datasets ---------------------------------------------------------------------------


def test_selecting_a_dataset_shows_its_detail_and_a_preview_from_its_new_location(
        browser, migrated):
    table = browser.datasets.table
    table.select(_row_index(table, 1, "data/sales.csv"))
    dataset = table.value
    assert dataset.source_path == "data/sales.csv"
    info = browser.datasets.info.value
    target = migrated.shared / "sales_analysis" / "data" / "sales.csv"
    for expected in (dataset.sha256, f"{dataset.size:,} bytes", "Schema", "Locations (1)",
                     str(target), "Moved by (1 job)", "sales_analysis.migrated.ipynb"):
        assert expected in info, expected
    # a folder destination records the CSV's fields, types and row count too
    assert "not recorded" not in info
    assert "<td style='text-align:left'>region</td>" in info and "int64" in info
    assert dataset.row_count and dataset.schema
    # the preview read the new location with pandas, as the migrated notebook does
    preview = browser.datasets.preview.value
    assert f"pd.read_csv(&#x27;{target}&#x27;, nrows=10)" in preview
    header = target.read_text().splitlines()[0].split(",")
    assert all(f">{column}<br>" in preview for column in header), preview[:400]
    assert "Cannot preview" not in preview
    # the selected row is highlighted, the others not
    colors = {cell.style.button_color for cell in table._cells[_row_index(
        table, 1, "data/sales.csv")]}
    assert colors == {"var(--jp-brand-color3, #bbdefb)"}


def test_a_recorded_schema_is_shown_field_by_field(migrated, tmp_path):
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    shutil.copy(migrated.store_url.removeprefix("sqlite:///"), tmp_path / "copy.db")
    with MetadataStore(url) as store:
        sales = store.list(Dataset, source_path="data/sales.csv", limit=1)[0]
        store.upsert_dataset(sales.project_id, sales.source_path, row_count=180,
                             schema=[{"name": "region", "type": "text"},
                                     {"name": "quantity", "type": "bigint"}])
    b = Browser(store=url, project_root=migrated.project)
    try:
        table = b.datasets.table
        row = _row_index(table, 1, "data/sales.csv")
        assert table.shown()[row][4] == "180"
        table.select(row)
        info = b.datasets.info.value
        assert "<td style='text-align:left'>region</td><td style='text-align:left'>text" in info
        assert "quantity" in info and "bigint" in info and "not recorded" not in info
    finally:
        b.close()


def test_previews_of_text_json_lines_and_npy_datasets(browser):
    table = browser.datasets.table
    table.filter.value = "app-01"
    [(_, path, *_)] = table.shown()
    assert path == "data/logs/app-01.log"
    table.select(0)
    assert "<pre" in browser.datasets.preview.value
    assert "handled request" in browser.datasets.preview.value or "INFO" in (
        browser.datasets.preview.value)
    table.filter.value = "events.jsonl"
    table.select(0)
    assert "lines=True, nrows=10" in browser.datasets.preview.value
    table.filter.value = "embeddings"
    table.select(0)
    assert "array of shape" in browser.datasets.preview.value


def test_a_missing_location_is_an_error_in_the_preview_not_an_exception(tmp_path):
    preview = preview_location(str(tmp_path / "gone.csv"), "csv")
    assert not preview.ok and "does not exist" in preview.error
    assert "Cannot preview" in preview_html(preview)
    assert preview_location(str(tmp_path / "x.pkl"), "pickle").message.startswith(
        "pickle files are not opened")


def test_text_filter_and_paging_of_datasets(browser, migrated):
    table = browser.datasets.table
    table.filter.value = "features"
    shown = table.shown()
    assert shown and all("features" in row[1] for row in shown)
    assert table.summary.value == f"rows 1–{len(shown)} of {len(shown)}"
    table.filter.value = "FEATURES/PART"  # any case
    assert {row[1] for row in table.shown()} == {
        "data/features/part-000.csv", "data/features/part-001.csv",
        "data/features/part-002.csv"}
    table.filter.value = "no such dataset"
    assert table.shown() == [] and table.summary.value == "no rows"
    table.filter.value = ""
    table.page_size.value = 10
    with migrated.store() as store:
        total = store.count(Dataset)
        ids = [d.id for d in store.list(Dataset, limit=None)]
    assert [int(r[0]) for r in table.shown()] == ids[:10]
    assert table.prev.disabled and not table.next.disabled
    table.next.click()
    assert [int(r[0]) for r in table.shown()] == ids[10:20]
    assert table.summary.value == f"rows 11–{min(20, total)} of {total}"
    table.prev.click()
    assert [int(r[0]) for r in table.shown()] == ids[:10]


def test_sorting_by_a_column_and_back(browser):
    table = browser.datasets.table
    table.headers["size"].click()
    sizes = [d.size for d in table.page.rows]
    assert sizes == sorted(sizes) and table.header_labels()[3] == "size ▲"
    table.headers["size"].click()
    assert [d.size for d in table.page.rows] == sorted(sizes, reverse=True)[:len(sizes)]
    assert table.header_labels()[3] == "size ▼" and table.header_labels()[0] == "id"
    table.headers["source_path"].click()
    paths = [row[1] for row in table.shown()]
    assert paths == sorted(paths)
    table.headers["id"].click()
    ids = [int(r[0]) for r in table.shown()]
    assert ids == sorted(ids, reverse=True)


# -- jobs -------------------------------------------------------------------------------


def test_selecting_a_job_shows_its_transfers_and_disabled_resume(browser, migrated):
    jobs = browser.jobs
    table = jobs.table
    assert {row[2] for row in table.shown()} == {"completed"}
    # each job names the notebook it read and the one it wrote
    row = _row_index(table, 5, "sales_analysis.migrated.ipynb")
    assert table.shown()[row][4] == "sales_analysis.ipynb"
    table.select(row)
    job = table.value
    info = jobs.info.value
    for expected in (f"Job {job.id}: migrate · completed", str(migrated.shared), "took",
                     "<th style='text-align:left;padding-right:1em;vertical-align:top'>output"
                     "</th><td style='text-align:left'>sales_analysis.migrated.ipynb</td>",
                     "datasets 4", "<progress value='1.000'"):
        assert expected in info, expected
    shown = jobs.transfers.shown()
    assert {row[1] for row in shown} == {"data/sales.csv", "data/regions.json",
                                         "data/products.csv", "data/returns.csv"}
    assert all(row[3] == "completed" and row[4] == "100%" for row in shown)
    assert jobs.transfers_title.value.count("Transfers (4)") == 1
    assert jobs.resume.disabled and jobs.cancel.disabled  # a completed job: nothing to do
    assert jobs.undo.layout.display is None  # the migration can be undone
    # the transfers table has its own status filter
    jobs.transfers.status.value = "failed"
    assert jobs.transfers.shown() == []
    jobs.transfers.status.value = ""
    assert len(jobs.transfers.shown()) == 4
    # another job: its own transfers, filters reset
    table.select(_row_index(table, 5, "feature_pipeline.migrated.ipynb"))
    assert all(row[1].startswith("data/") for row in jobs.transfers.shown())
    assert "data/sales.csv" not in {row[1] for row in jobs.transfers.shown()}


def test_a_paused_job_is_resumed_and_another_cancelled_from_the_jobs_tab(pristine, tmp_path):
    """A real migration paused by Ctrl+C (the transfer runner's test hook sends SIGINT to
    its own process), then finished with the Resume button."""
    project = tmp_path / "notebooks"
    shutil.copytree(pristine, project)
    store_url = f"sqlite:///{tmp_path / 'meta.db'}"
    out = project / "sales.migrated.ipynb"
    env = {**os.environ, "STORK_TEST_KILL_AFTER_BYTES": "1", "STORK_TEST_KILL_SIGNAL": "INT"}
    for target in (out, project / "again.ipynb"):
        run = subprocess.run(
            [sys.executable, "-m", "stork_jupyter.cli", "migrate",
             str(project / "sales_analysis.ipynb"), "--to", str(tmp_path / "shared"),
             "-o", str(target), "--store", store_url, "--no-progress"],
            env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 130, run.stderr
    assert not out.exists()
    b = Browser(store=store_url, project_root=project)
    try:
        jobs = b.jobs
        paused = [row for row in jobs.table.page.rows if row.status == "paused"]
        assert len(paused) == 2
        jobs.table.select(_row_index(jobs.table, 0, str(paused[1].id)))
        assert not jobs.resume.disabled and not jobs.cancel.disabled
        jobs.resume.click()
        assert not _errors(jobs.messages), _errors(jobs.messages)
        assert out.exists() and "shared" in out.read_text()
        with MetadataStore(store_url) as store:
            assert store.get(Job, paused[1].id).status == "completed"
        jobs.table.select(_row_index(jobs.table, 0, str(paused[0].id)))
        jobs.cancel.click()
        with MetadataStore(store_url) as store:
            assert store.get(Job, paused[0].id).status == "cancelled"
        assert not (project / "again.ipynb").exists()
    finally:
        b.close()


def test_job_status_filter(browser):
    table = browser.jobs.table
    table.status.value = "failed"
    assert table.shown() == [] and table.summary.value == "no rows"
    table.status.value = "completed"
    assert len(table.shown()) == 3
    table.filter.value = "log_processing"
    assert [row[4:6] for row in table.shown()] == [
        ("log_processing.ipynb", "log_processing.migrated.ipynb")]


# -- records ----------------------------------------------------------------------------


def test_selecting_a_record_shows_the_cell_before_and_after_as_a_diff(browser, migrated):
    table = browser.records.table
    table.filter.value = "regions.json"
    assert table.shown()
    table.select(0)
    record = table.value
    info = browser.records.info.value
    assert f"cell {record.cell_index + 1} ({record.cell_id}), line {record.line}" in info
    assert "class=\"diff\"" in info and "diff_chg" in info
    assert "original" in info and "rewritten" in info
    assert "data/regions.json" in info
    # the rewritten side names the new location (long lines wrap in the diff: join them)
    text = re.sub(r"[\s>]", "", re.sub(r"<[^>]+>", "", info).replace("&nbsp;", " "))
    assert f'open("{migrated.shared}/sales_analysis/data/regions.json")' in text
    assert browser.records.undo.layout.display is None


# -- actions ----------------------------------------------------------------------------


def test_undo_from_the_records_tab_restores_the_notebook(sales):
    migrated_nb = sales.project / "sales_analysis.migrated.ipynb"
    original = nbformat.read(sales.project / "sales_analysis.ipynb", as_version=4)
    b = Browser(store=sales.store_url, project_root=sales.project)
    try:
        pane = b.records
        pane.table.select(0)
        assert pane.undo.description == "Undo migration…"
        pane.undo.click()  # the first click only arms it
        assert pane.undo.description == "Confirm: restore sales_analysis.migrated.ipynb"
        assert "data/sales.csv" not in _sources(nbformat.read(migrated_nb, as_version=4))
        pane.undo.click()
        restored = nbformat.read(migrated_nb, as_version=4)
        assert _sources(restored) == _sources(original)
        assert "restored" in "".join(_errors(b.messages))
        # the tabs were refreshed: every record now undone, no undo offered any more
        assert {row[5] for row in pane.table.shown()} == {"undone"}
        assert pane.undo.layout.display == "none"
        b.jobs.table.select(0)
        assert b.jobs.undo.layout.display == "none"
    finally:
        b.close()


def _sources(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_analyze_action_shows_the_analysis_of_the_current_notebook(sales):
    notebook = sales.project / "sales_analysis.ipynb"
    b = Browser(store=sales.store_url, project_root=sales.project, notebook=notebook)
    try:
        assert b.analyze_button.description == "Analyze sales_analysis.ipynb"
        assert not b.analyze_button.disabled
        b.analyze_button.click()
        [table, _hide] = b.analysis.children
        assert isinstance(table, AnalysisTable)
        shown = table.table.shown()
        assert shown[0][:3] == ("4 (sales-03)", "1", "pandas.read_csv")
        assert any(row[5] == "out/summary.parquet" and row[3] == "write" for row in shown)
        table.table.status.value = "write"
        assert {row[3] for row in table.table.shown()} == {"write"}
        table.table.select([row[2] for row in table.table.shown()].index(
            "pandas.DataFrame.to_parquet"))
        assert "to_parquet" in table.detail.value
        # the analysis was recorded, but the jobs list shows it only when asked
        assert b.tabs.titles[1] == "Jobs (1)"
        assert [row[1] for row in b.jobs.table.shown()] == ["migrate"]
        b.jobs.show_analyses.value = True
        assert [row[1] for row in b.jobs.table.shown()] == ["analyze", "migrate"]
        assert b.jobs.table.shown()[0][5] == "—"  # an analysis writes no notebook
        b.jobs.show_analyses.value = False
        assert [row[1] for row in b.jobs.table.shown()] == ["migrate"]
        _hide.click()
        assert b.analysis.children == ()
    finally:
        b.close()
    assert Browser(store=sales.store_url, project_root=sales.project).analyze_button.disabled


def test_errors_show_in_the_widget_and_the_ui_keeps_working(browser, monkeypatch):
    table = browser.records.table

    def broken(*args, **kwargs):
        raise StoreError("The metadata store at sqlite:///x failed: disk I/O error.")

    monkeypatch.setattr(browser.store, "list", broken)
    browser.refresh_button.click()
    assert _errors(table.messages) == [
        "The metadata store at sqlite:///x failed: disk I/O error.\n"]
    monkeypatch.undo()
    browser.refresh_button.click()
    assert _errors(table.messages) == [] and table.shown()
    # an unexpected exception keeps its traceback, in the Output, not in the kernel
    monkeypatch.setattr(browser.datasets, "_detail_html", lambda row: 1 / 0)
    browser.datasets.table.select(0)
    [text] = _errors(browser.datasets.messages)
    assert "ZeroDivisionError" in text and "Traceback" in text


# -- fallbacks --------------------------------------------------------------------------


def test_plain_text_and_html_travel_with_the_widget_view(browser):
    bundle = browser._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html",
                           "application/vnd.jupyter.widget-view+json"}
    assert bundle["text/plain"].startswith("Stork metadata store sqlite:///")
    assert "data/sales.csv" in bundle["text/plain"] and "data/sales.csv" in bundle["text/html"]
    assert "<table class='stork-table'>" in bundle["text/html"]


def test_analysis_table_falls_back_to_the_magics_text_and_html(sales):
    from stork_jupyter.analysis import analyze_notebook

    analysis = analyze_notebook(sales.project / "sales_analysis.ipynb")
    table = AnalysisTable(analysis)
    bundle = table._repr_mimebundle_()
    assert bundle["text/plain"] == analysis_text(analysis)
    assert bundle["text/html"] == analysis_html(analysis)
    assert len(table.table.shown()) == min(20, len(analysis.accesses))
    table.close()


def test_magics_browse_and_jobs_in_a_shell(sales, monkeypatch, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from stork_jupyter.magics import StorkMagics

    monkeypatch.chdir(sales.project)
    shell = InteractiveShell.instance()
    shell.register_magics(StorkMagics)
    try:
        with capture_output() as captured:
            shell.run_line_magic("stork", f"browse --store {sales.store_url} --page-size 5")
        [browse] = captured.outputs
        assert "Stork metadata store" in browse.data["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in browse.data
        with capture_output() as captured:  # a terminal: the text table
            shell.run_line_magic("stork", f"jobs --store {sales.store_url}")
        [jobs] = captured.outputs
        assert "application/vnd.jupyter.widget-view+json" not in jobs.data
        assert "sales_analysis.migrated.ipynb" in jobs.data["text/plain"]
        monkeypatch.setattr(StorkMagics, "_widgets_likely", lambda self: True)
        with capture_output() as captured:  # a kernel: the widget, with the same tables
            shell.run_line_magic("stork", f"jobs --store {sales.store_url}")
        [widget] = captured.outputs
        assert "application/vnd.jupyter.widget-view+json" in widget.data
        assert widget.data["text/plain"] == jobs.data["text/plain"]
    finally:
        InteractiveShell.clear_instance()


def test_jobs_pane_owning_its_store_closes_it(sales):
    store = MetadataStore(sales.store_url)
    pane = JobsPane(store, owns_store=True)
    closed = []
    store.close = lambda: closed.append(True)  # type: ignore[method-assign]
    pane.close()
    pane.close()  # twice is harmless
    assert closed == [True]


# -- a large store ------------------------------------------------------------------------

N = 100_000


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetadataStore]:
    folder = tmp_path_factory.mktemp("big")
    with MetadataStore(f"sqlite:///{folder / 'big.db'}") as store:
        project = store.ensure_project(folder)
        store.insert_many(Job(project_id=project.id, kind="migrate", status="completed",
                              notebook=f"nb{i}.ipynb") for i in range(50))
        store.insert_many(Record(
            job_id=i % 50 + 1, project_id=project.id, notebook=f"notebooks/nb{i % 500}.ipynb",
            cell_id=f"c{i % 40}", cell_index=i % 40, line=i % 7 + 1, api="pandas.read_csv",
            status="undone" if i % 10 == 0 else "applied",
            original_source=f"df = pd.read_csv('data/file{i}.csv')",
            new_source=f"df = pd.read_csv('s3://bucket/data/file{i}.csv')")
            for i in range(N))
        yield store


def _notebook(i: int) -> str:
    """The notebook of the ``i``-th record of ``big_store`` (its id is ``i + 1``)."""
    return f"notebooks/nb{i % 500}.ipynb"


@pytest.fixture
def spied(big_store, monkeypatch) -> Iterator[tuple[list[int | None], list[str]]]:
    """The limit of every ``Record`` page read, and every SQL statement on the records."""
    limits: list[int | None] = []
    statements: list[str] = []
    real_list = big_store.list

    def spy(cls, **kwargs):
        if cls is Record:
            limits.append(kwargs.get("limit", 50))
        return real_list(cls, **kwargs)

    def on_sql(_conn, _cursor, statement, *_):
        if "FROM stork_record" in statement:
            statements.append(statement)

    monkeypatch.setattr(big_store, "list", spy)
    event.listen(big_store.engine, "before_cursor_execute", on_sql)
    try:
        yield limits, statements
    finally:
        event.remove(big_store.engine, "before_cursor_execute", on_sql)


def _never_read_whole(limits: list[int | None], statements: list[str]) -> None:
    assert limits and None not in limits and max(limits) <= 100
    # every read of records is a count or one page: LIMIT in SQL, never every row
    assert statements and all(
        "count(*)" in s or re.search(r"\bLIMIT\b", s) for s in statements), statements


def test_a_large_store_is_paged_never_read_whole(big_store, spied):
    b = Browser(store=big_store)
    try:
        table = b.records.table
        assert b.tabs.titles[2] == f"Records ({N:,})"
        assert table.summary.value == f"rows 1–20 of {N:,}"
        assert [int(r[0]) for r in table.shown()] == list(range(N, N - 20, -1))
        table.next.click()
        assert [int(r[0]) for r in table.shown()] == list(range(N - 20, N - 40, -1))
        table.last.click()
        assert [int(r[0]) for r in table.shown()] == list(range(20, 0, -1))
        assert table.summary.value == f"rows 99,981–{N:,} of {N:,}" and table.next.disabled
        table.first.click()
        table.headers["id"].click()  # oldest first
        assert [int(r[0]) for r in table.shown()][:3] == [1, 2, 3]
        table.status.value = "undone"
        assert table.summary.value == f"rows 1–20 of {N // 10:,}"
        assert {r[5] for r in table.shown()} == {"undone"}
        table.status.value = ""
        table.filter.value = "file12345.csv"
        assert [r[0] for r in table.shown()] == ["12346"]
        assert table.summary.value == "rows 1–1 of 1" and table.next.disabled
        table.select(0)
        assert "notebooks/nb345.ipynb" in b.records.info.value
    finally:
        b.close()
    _never_read_whole(*spied)


def test_a_text_filter_on_a_large_store_is_exact_page_by_page(big_store, spied):
    b = Browser(store=big_store)
    try:
        table = b.records.table
        table.page_size.value = 50
        table.filter.value = "NB7.ipynb"  # any case; not nb17, nb107 or nb170
        expected = [str(i + 1) for i in reversed(range(N)) if i % 500 == 7]
        assert table.summary.value == f"rows 1–50 of {len(expected)}" and table.note.value == ""
        shown = []
        while True:
            shown += [r[0] for r in table.shown()]
            if table.next.disabled:
                break
            table.next.click()
        assert shown == expected
        assert table.summary.value == f"rows 151–200 of {len(expected)}"
        # with the status filter: both apply, in the store
        table.status.value = "undone"  # none of nb7's records is undone
        assert table.shown() == [] and table.summary.value == "no rows"
        table.filter.value = "nb10.ipynb"  # every one of nb10's is
        assert [r[0] for r in table.shown()] == [
            str(i + 1) for i in reversed(range(N)) if i % 500 == 10][:50]
        assert table.summary.value == "rows 1–50 of 200"
        table.status.value = ""
        # % and _ are the user's text, not wildcards
        table.filter.value = "%"
        assert table.shown() == [] and table.summary.value == "no rows"
        table.filter.value = "read_csv('data/file99999"
        assert [r[0] for r in table.shown()] == [str(N)]
        table.filter.value = "read_csv('data_file"
        assert table.shown() == []
    finally:
        b.close()
    _never_read_whole(*spied)


def test_a_sort_on_a_large_store_is_exact_page_by_page(big_store, spied):
    b = Browser(store=big_store)
    try:
        table = b.records.table
        table.page_size.value = 100
        table.headers["notebook"].click()  # ascending, the id breaks ties
        assert table.header_labels()[1] == "notebook ▲" and table.note.value == ""
        by_notebook = sorted(range(N), key=lambda i: (_notebook(i), i))
        ids = [str(i + 1) for i in by_notebook]
        assert [r[0] for r in table.shown()] == ids[:100]
        table.next.click()
        assert [r[0] for r in table.shown()] == ids[100:200]
        table.last.click()
        assert [r[0] for r in table.shown()] == ids[-100:]
        table.headers["notebook"].click()  # descending: ties newest first
        by_notebook_desc = sorted(range(N), key=lambda i: (_notebook(i), i), reverse=True)
        assert [r[0] for r in table.shown()] == [str(i + 1) for i in by_notebook_desc[:100]]
        # a sort and a text filter together: the matches, in order, page by page
        table.filter.value = "c7"  # cell c7 only: the sources say csv, not c7
        matches = [i for i in by_notebook_desc if i % 40 == 7]
        shown = [r[0] for r in table.shown()]
        table.next.click()
        shown += [r[0] for r in table.shown()]
        assert shown == [str(i + 1) for i in matches[:200]]
        assert table.summary.value == f"rows 101–200 of {len(matches):,}"
        table.headers["line"].click()
        by_line = sorted((i for i in range(N) if i % 40 == 7), key=lambda i: (i % 7 + 1, i))
        assert [r[0] for r in table.shown()] == [str(i + 1) for i in by_line[:100]]
    finally:
        b.close()
    _never_read_whole(*spied)


def test_a_derived_column_sorts_the_page_shown_and_says_so(tmp_path):
    with MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}") as store:
        job = store.save(Job(kind="migrate"))
        store.insert_many(Transfer(
            job_id=job.id, source=f"data/t{i}.csv", status="completed",
            started_at="2024-05-01T12:00:00+00:00",
            finished_at=f"2024-05-01T12:00:{(i * 7) % 30:02d}+00:00") for i in range(30))
        source = StoreSource(store, Transfer, TRANSFER_COLUMNS)
        page = source.fetch(Query(limit=10, sort="took", descending=False))
        # the pages keep the store's order (newest first); "took" sorts this page only
        assert sorted(t.id for t in page.rows) == list(range(21, 31))
        took = [duration(t.started_at, t.finished_at) for t in page.rows]
        assert took == sorted(took)
        assert "took sorts the rows of this page" in page.note and page.total == 30
        # a field the store holds sorts every page
        page = source.fetch(Query(offset=10, limit=10, sort="source", descending=False))
        assert [t.source for t in page.rows] == sorted(f"data/t{i}.csv" for i in range(30))[
            10:20] and page.note == ""


# -- previews from S3 and PostgreSQL -------------------------------------------------------


def test_preview_reads_a_dataset_migrated_to_s3(pristine, tmp_path, s3_endpoint):
    project = tmp_path / "notebooks"
    shutil.copytree(pristine, project)
    store_url = f"sqlite:///{tmp_path / 'meta.db'}"
    migrate(project / "sales_analysis.ipynb", f"{s3_endpoint.url}/lake",
            output=project / "out.ipynb", store=store_url)
    shutil.rmtree(project / "data")  # the preview cannot have read the local copy
    b = Browser(store=store_url, project_root=project)
    try:
        table = b.datasets.table
        table.select(_row_index(table, 1, "data/sales.csv"))
        preview = b.datasets.preview.value
        assert f"pd.read_csv(&#x27;{s3_endpoint.url}/lake/" in preview
        assert ">region<br>" in preview and "Cannot preview" not in preview
    finally:
        b.close()


def test_preview_of_a_postgresql_table(pg_dsn):
    psycopg = pytest.importorskip("psycopg")
    schema = f"preview_{secrets.token_hex(4)}"  # the session's database is shared
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}"."Sales data" (region text, amount bigint)')
        conn.execute(f"""INSERT INTO "{schema}"."Sales data" VALUES ('N', 1), ('S', 2), ('E', 3)""")
    url = f"{pg_dsn}?schema={schema}"
    preview = preview_location(url, "csv", rows=2, table_name="Sales data")
    assert preview.ok, preview.error
    assert preview.columns == [("region", "str"), ("amount", "int64")] or (
        [c for c, _ in preview.columns] == ["region", "amount"])
    assert len(preview.rows) == 2
    assert "LIMIT 2" in preview.code and '"Sales data"' in preview.code
    missing = preview_location(url, "csv", table_name="no_such_table")
    assert not missing.ok and "no_such_table" in missing.error


def test_job_status_filter_has_interrupted(tmp_path):
    """As in the panel and ``stork jobs --status``: a running job whose process is gone
    is listed under interrupted, and running leaves it out."""
    import socket

    with MetadataStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        gone = {"pid": 2**22 + 12345, "host": socket.gethostname()}  # above pid_max's default
        dead = store.save(Job(kind="migrate", status="running", notebook="a.ipynb",
                              options=gone))
        alive = store.save(Job(kind="migrate", status="running", notebook="b.ipynb",
                               options={"pid": os.getpid(), "host": socket.gethostname()}))
        pane = JobsPane(store)
        table = pane.table
        assert "interrupted" in [value for _, value in table.status.options]
        table.status.value = "interrupted"
        assert [(row[0], row[2]) for row in table.shown()] == [(str(dead.id), "interrupted")]
        table.status.value = "running"
        assert [row[0] for row in table.shown()] == [str(alive.id)]
        table.status.value = ""
        assert sorted(row[2] for row in table.shown()) == ["interrupted", "running"]
        pane.close()


def test_a_long_path_elides_in_the_middle_with_the_whole_path_on_hover(tmp_path):
    """The widgets' cells cut a long path in its middle: the file name's end stays."""
    from stork_jupyter.widgets import DatasetsPane
    from stork_jupyter.widgets.browser import PATH_CHARS

    path = "data/" + "/".join(f"level-{i}-folder" for i in range(4)) + (
        "/customer_transactions_2026_q3_part_07.csv")
    with MetadataStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        project = store.ensure_project(tmp_path)
        store.upsert_dataset(project.id, path)
        pane = DatasetsPane(store)
        cell = pane.table._cells[0][1]  # the dataset column of the first row
        assert len(cell.description) == PATH_CHARS
        assert cell.description.startswith("data/level-0") and "…" in cell.description
        assert cell.description.endswith("_part_07.csv")
        assert cell.tooltip == path
        assert pane.table.shown()[0][1] == path  # the text itself is whole
        pane.close()
