"""Done when (issue 6): in a real JupyterLab and a real browser, ``%stork browse`` shows
the store of a migrated example; clicking a dataset row shows its schema.

The test starts JupyterLab from this virtualenv on 127.0.0.1 at a free port with a
token, in a temporary root (its own config, data, runtime and workspace folders, the
"Jupyter news" announcements disabled), and drives Debian's chromium with Python
Playwright. Every wait is bounded; the server is stopped in a ``finally``. A
screenshot goes to ``test-artifacts/widgets-browser.png``.

File destinations record no schema or row count (only PostgreSQL will): after the
real migration the test records one for ``data/sales.csv`` with ``upsert_dataset``,
as a PostgreSQL migration would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from lab_support import ARTIFACTS, CHROMIUM, REPO, Lab, open_page, run_first_cell, start_lab

from stork_jupyter.migrate import migrate
from stork_jupyter.store import Dataset, MetadataStore

# a failure is run once more with a fresh JupyterLab (see tests/test_sidebar_ui.py)
pytestmark = [pytest.mark.slow, pytest.mark.flaky(reruns=1)]

SCHEMA = [{"name": "date", "type": "date"}, {"name": "order_id", "type": "bigint"},
          {"name": "product_id", "type": "bigint"}, {"name": "region", "type": "text"},
          {"name": "quantity", "type": "bigint"}, {"name": "unit_price", "type": "double precision"}]
ROW_COUNT = 180


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with start_lab(tmp_path) as running:
        yield running


def _migrated_project(root: Path) -> tuple[Path, str]:
    """The sales example migrated to a folder, with a schema recorded for sales.csv."""
    project = root / "project"
    project.mkdir()
    for name in ("sales_analysis.ipynb", "make_data.py"):
        shutil.copy2(REPO / "notebooks" / name, project / name)
    subprocess.run([sys.executable, str(project / "make_data.py")], check=True,
                   capture_output=True, timeout=120)
    store_url = f"sqlite:///{root / 'meta.db'}"
    migrate(project / "sales_analysis.ipynb", str(root / "shared"),
            output=project / "sales_analysis.migrated.ipynb", store=store_url)
    with MetadataStore(store_url) as store:
        [sales] = store.list(Dataset, source_path="data/sales.csv", limit=1)
        store.upsert_dataset(sales.project_id, sales.source_path, schema=SCHEMA,
                             row_count=ROW_COUNT)
    return project, store_url


def test_browse_in_jupyterlab_shows_a_datasets_schema(lab: Lab):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh (apt-get install "
                    "chromium)")
    from playwright.sync_api import expect

    project, store_url = _migrated_project(lab.root)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"%load_ext stork_jupyter\n%stork browse --store {store_url}")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, project / "browse.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "widgets-browser.png"

    with open_page(1400, 1100) as page:
        page.goto(f"{lab.base}/lab/tree/project/browse.ipynb?reset&token={lab.token}")
        page.wait_for_selector("#jp-main-dock-panel")
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=idle]")
        # the status bar says Idle once the kernel's connection is up (the toolbar's
        # indicator may say so earlier, and a request sent then can get lost)
        expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle").first).to_be_visible()
        run_first_cell(page)

        widget = page.locator(".stork-browser")
        expect(widget).to_be_visible()
        expect(widget.locator(".lm-TabBar-tab", has_text="Datasets (4)")).to_be_visible()
        row = widget.get_by_role("button", name="data/sales.csv", exact=True)
        expect(row).to_be_visible()
        row.click()

        detail = widget.locator(".stork-detail").first
        expect(detail).to_contain_text("Schema")
        for field in SCHEMA:
            expect(detail.locator("td", has_text=field["name"]).first).to_be_visible()
        expect(detail).to_contain_text("double precision")
        expect(detail).to_contain_text(f"{ROW_COUNT}")
        expect(detail).to_contain_text("Locations (1)")
        # the preview read the first rows from the new location
        preview = widget.locator(".stork-preview").first
        expect(preview).to_contain_text("pd.read_csv(")
        expect(preview).to_contain_text("unit_price")
        detail.locator("h5", has_text="Schema").scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        preview.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "widgets-browser-preview.png"))

        # the job that moved it: its transfers, resume greyed out until it exists
        widget.locator(".lm-TabBar-tab", has_text="Jobs (1)").click()
        jobs = widget.locator(".stork-detail:visible").first
        widget.get_by_role("button", name="sales_analysis.migrated.ipynb",
                           exact=True).first.click()
        expect(jobs).to_contain_text("Transfers (4)")
        expect(jobs.get_by_role("button", name="data/sales.csv", exact=True)).to_be_visible()
        expect(jobs.get_by_role("button", name="Resume")).to_be_disabled()
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "widgets-browser-jobs.png"))

        # a record: its cell before and after, side by side
        widget.locator(".lm-TabBar-tab", has_text="Records (8)").click()
        widget.locator(".stork-grid:visible .stork-cell").first.click()
        records = widget.locator(".stork-detail:visible").first
        expect(records.locator(".stork-diff table.diff")).to_be_visible()
        expect(records.locator(".stork-diff")).to_contain_text("rewritten")
        page.screenshot(path=str(ARTIFACTS / "widgets-browser-records.png"))
    assert shot.stat().st_size > 10_000
