"""The Stork sidebar (labextension/) in a real JupyterLab and a real browser.

Scenarios: Analyze lists the sales example's accesses and a click activates the cell;
Migrate… to a folder previews the diff, moves the data and rewrites the OPEN document
(dirty, file on disk untouched), one undo (Esc, Z) restores it, redo and save write it;
the Jobs tab shows the job; the same to S3 (moto); and ``%stork migrate`` in the kernel
rewriting the open document through the comm.

JupyterLab runs from this virtualenv (``lab_support.start_lab``), Playwright drives
Debian's chromium; every wait is bounded. Screenshots go to
``test-artifacts/sidebar-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from lab_support import ARTIFACTS, CHROMIUM, REPO, Lab, open_page, start_lab

pytestmark = [
    pytest.mark.slow,
    # one unexplained failure in 16 runs on a loaded 2-core machine: a failure is run
    # once more (with a fresh JupyterLab); its page is saved as failed-<test>.png
    pytest.mark.flaky(reruns=1),
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh"),
]

NOTEBOOK = "project/sales_analysis.ipynb"
#: ``stork analyze sales_analysis.ipynb --json``: (cell_index, line, api, mode, path)
EXPECTED_ACCESSES = [
    (3, 1, "pandas.read_csv", "read", "data/sales.csv"),
    (4, 1, "open", "read", "data/regions.json"),
    (5, 1, "pandas.read_csv", "read", "data/products.csv"),
    (9, 2, "pandas.read_csv", "read", "data/sales.csv"),
    (10, 2, "pandas.read_csv", "read", "data/returns.csv"),
    (12, 1, "os.makedirs", "write", "out"),  # the folder the write needs (issue 12 item 3)
    (12, 8, "pandas.DataFrame.to_parquet", "write", "out/summary.parquet"),
    (13, 2, "pandas.read_parquet", "read", "out/summary.parquet"),
]
SLOW_RATE = 2 * 1024 * 1024  #: bytes a second in ``slow_lab``
BIG = 12 * 1024 * 1024  #: the file the slow job moves: about six seconds
#: the example's input files a migration moves
MOVED_FILES = ("sales.csv", "regions.json", "products.csv", "returns.csv")
#: the open document's cells as the editors show them: each code (or unrendered
#: markdown) cell's lines, None for a rendered markdown cell (it has no editor shown)
CELLS_JS = """() => Array.from(
    document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')
  ).map(cell => {
    if (cell.classList.contains('jp-MarkdownCell') &&
        cell.classList.contains('jp-mod-rendered')) {
      return null;
    }
    const lines = cell.querySelectorAll('.jp-Cell-inputArea .cm-content .cm-line');
    return Array.from(lines).map(line => line.textContent).join('\\n');
  })"""

# --------------------------------------------------------------------------- fixtures


def _project(root: Path, destinations: dict[str, str]) -> Path:
    """The sales example with its data made and a stork.toml naming ``destinations``."""
    project = root / "project"
    project.mkdir()
    for name in ("sales_analysis.ipynb", "make_data.py"):
        shutil.copy2(REPO / "notebooks" / name, project / name)
    subprocess.run([sys.executable, str(project / "make_data.py")], cwd=project, check=True,
                   capture_output=True, timeout=120)
    toml = "".join(f'[destinations.{name}]\nurl = "{url}"\n\n'
                   for name, url in destinations.items())
    (project / "stork.toml").write_text(toml)
    return project


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with start_lab(tmp_path) as running:
        yield running


@pytest.fixture
def slow_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """JupyterLab whose migrations move about 2 MB a second (the transfer runner's test
    hook), so that a job can be watched running and paused."""
    monkeypatch.setenv("STORK_TEST_MAX_BYTES_PER_S", str(SLOW_RATE))
    with start_lab(tmp_path) as running:
        yield running


@pytest.fixture
def s3_lab(s3_endpoint: Any, tmp_path: Path) -> Iterator[tuple[Lab, Any]]:
    """JupyterLab started after ``s3_endpoint`` set the AWS_* variables it inherits."""
    with start_lab(tmp_path) as running:
        yield running, s3_endpoint


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with open_page() as page:
        yield page
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:  # what the page showed, for the log
            _shot(page, f"failed-{request.node.name}")


# --------------------------------------------------------------------------- helpers


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sidebar-{name}.png"))


def _api(lab: Lab, endpoint: str, **query: str) -> Any:
    url = f"{lab.base}/stork/api/{endpoint}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _api_post(lab: Lab, endpoint: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{lab.base}/stork/api/{endpoint}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _open_notebook(page: Any, lab: Lab, notebook: str = NOTEBOOK) -> Any:
    """Open ``notebook`` (the example by default) and the Stork panel once it tracks that
    notebook; return the panel's locator."""
    from playwright.sync_api import expect

    page.goto(f"{lab.base}/lab/tree/{notebook}?reset&token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=idle]")
    expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle").first).to_be_visible()
    page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="stork-panel"]').click()
    panel = page.locator("#stork-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".jp-Stork-hint")).to_have_text(notebook)
    expect(panel.get_by_role("button", name="Analyze")).to_be_enabled()
    return panel


def _cells(page: Any) -> list[str | None]:
    """The open document's cell sources as the editors show them (None: rendered markdown)."""
    return page.evaluate(CELLS_JS)


def _sources(nb: Any) -> list[str]:
    return [c.source for c in nb.cells]


def _migrate(page: Any, panel: Any, destination: str) -> Any:
    """Migrate… to ``destination``, preview, run; return the dialog once done."""
    from playwright.sync_api import expect

    panel.get_by_role("button", name="Migrate…").click()
    dialog = page.locator(".jp-Stork-dialog")
    expect(dialog).to_be_visible()
    dialog.locator(".jp-Stork-destSelect").select_option(destination)
    expect(dialog.locator(".jp-Stork-destInput")).to_have_value(destination)
    dialog.get_by_role("button", name="Preview").click()
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text(re.compile(r"\d+ cells? would change"))
    return dialog


def _run_migration(page: Any, dialog: Any) -> None:
    from playwright.sync_api import expect

    dialog.get_by_role("button", name="Migrate", exact=True).click()
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text("cells rewritten",
                                                                      timeout=120_000)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)


def _job_edits(lab: Lab) -> dict[str, Any]:
    jobs = _api(lab, "jobs", path=NOTEBOOK, kind="migrate", status="completed")
    assert jobs["total"] >= 1, jobs
    return _api(lab, f"jobs/{jobs['items'][0]['id']}", path=NOTEBOOK)


def _expected_after(before: list[str], job: dict[str, Any]) -> list[str]:
    """The sources the document should show: the edits applied, the setup cell inserted."""
    after = list(before)
    for edit in job["edits"]:
        assert after[edit["cell_index"]] == edit["original_source"]
        after[edit["cell_index"]] = edit["new_source"]
    setup = job["setup_cell"]
    assert setup is not None
    after.insert(setup["index"], setup["source"])
    return after


def _code_only(sources: list[str], editors: list[str | None]) -> list[str | None]:
    """``sources`` with the markdown cells (rendered, no editor) as None, like the DOM."""
    assert len(editors) == len(sources), (editors, sources)
    return [None if shown is None else src for src, shown in zip(sources, editors, strict=True)]


def _type_at_end(page: Any, index: int, text: str) -> None:
    """Type ``text`` at the end of cell ``index`` of the open notebook (unsaved), then
    leave the editor (command mode)."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    page.keyboard.press("Escape")


def _press_and_see(page: Any, key: str, sources: list[str]) -> None:
    """Press ``key`` (an undo or redo) and wait until the document shows ``sources``."""
    page.keyboard.press(key)
    page.wait_for_function(f"() => ({CELLS_JS})().length === {len(sources)}", timeout=10_000)
    editors = _cells(page)
    assert editors == _code_only(sources, editors)


def _save_first(page: Any, nb_path: Path) -> bytes:
    """Save the document as opened (the kernel filled in ``language_info``, which made
    it dirty), so that "dirty" below means the rewrite; the bytes saved."""
    from playwright.sync_api import expect

    _focus_command_mode(page)
    page.keyboard.press("Control+s")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
    return nb_path.read_bytes()


def _focus_command_mode(page: Any) -> None:
    """Select a cell in command mode (a click on its prompt), as a user would."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputPrompt").first.click()
    page.keyboard.press("Escape")


def _run_magic_cells(page: Any) -> None:
    """Two new cells at the end: load the extension, then ``%stork migrate --to lake``."""
    from playwright.sync_api import expect

    last = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").last
    last.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")  # edit mode in the new cell
    page.keyboard.type("%load_ext stork_jupyter")
    page.keyboard.press("Shift+Enter")
    # the kernel reads the panel's "ready" between cells: let the first one finish
    loaded = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell",
                          has_text="%load_ext stork_jupyter")
    expect(loaded.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"))
    page.keyboard.type("%stork migrate --to lake")
    page.keyboard.press("Shift+Enter")


# --------------------------------------------------------------------------- scenarios


def test_analyze_lists_accesses_and_activates_the_cell(lab: Lab, browser_page: Any):
    from playwright.sync_api import expect

    _project(lab.root, {"lake": str(lab.root / "lake")})
    page = browser_page
    # no notebook open: the actions are disabled, with a hint
    page.goto(f"{lab.base}/lab?reset&token={lab.token}")
    page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="stork-panel"]').click()
    panel = page.locator("#stork-panel")
    expect(panel.locator(".jp-Stork-hint")).to_have_text("Open a notebook to analyze or migrate it.")
    expect(panel.get_by_role("button", name="Analyze")).to_be_disabled()
    expect(panel.get_by_role("button", name="Migrate…")).to_be_disabled()
    panel = _open_notebook(page, lab)

    panel.get_by_role("button", name="Analyze").click()
    rows = panel.locator(".jp-Stork-analysis .jp-Stork-access")
    expect(rows).to_have_count(len(EXPECTED_ACCESSES))
    expect(panel.locator(".jp-Stork-analysis .jp-Stork-sectionTitle")).to_have_text(
        f"Analysis: {len(EXPECTED_ACCESSES)} accesses")
    shown = []
    for i in range(rows.count()):
        row = rows.nth(i)
        shown.append((int(row.get_attribute("data-cell-index")),
                      int(row.locator(".jp-Stork-where").inner_text().split(":")[1]),
                      row.locator(".jp-Stork-api").inner_text(),
                      row.locator(".jp-Stork-badge").inner_text(),
                      row.locator(".jp-Stork-path").inner_text()))
        expect(row).not_to_have_class("jp-mod-unresolved")
    assert shown == EXPECTED_ACCESSES
    # the analysis was recorded: its datasets are listed
    expect(panel.locator(".jp-Stork-listView:visible .jp-Stork-row").first).to_be_visible()
    expect(panel.locator(".jp-Stork-listView:visible .jp-Stork-pageInfo")).to_have_text(
        "1–4 of 4")
    _shot(page, "analysis")

    rows.nth(4).click()  # cell 10, pd.read_csv("data/returns.csv")
    active = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active")
    expect(active).to_have_count(1)
    expect(active.locator(".cm-content")).to_contain_text("returns.csv")
    index = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
        .findIndex(c => c.classList.contains('jp-mod-active'))""")
    assert index == 10
    # the notebook has the focus, in command mode
    expect(page.locator(".jp-Notebook.jp-mod-commandMode")).to_have_count(1)

    # the datasets list: filter and detail
    search = panel.locator(".jp-Stork-listView:visible .jp-Stork-search")
    search.fill("returns")
    expect(panel.locator(".jp-Stork-listView:visible .jp-Stork-pageInfo")).to_have_text(
        "1–1 of 1")
    search.fill("")
    expect(panel.locator(".jp-Stork-listView:visible .jp-Stork-pageInfo")).to_have_text(
        "1–4 of 4")
    _shot(page, "datasets")
    panel.locator(".jp-Stork-listView:visible .jp-Stork-row",
                  has_text="data/sales.csv").click()
    detail = panel.locator(".jp-Stork-detail")
    expect(detail.locator(".jp-Stork-detailTitle")).to_have_text("data/sales.csv")
    expect(detail).to_contain_text("SHA-256")

    # the analysis is recorded but not listed; paging: 27 import jobs, two pages of 25
    from stork_jupyter.store import Job, open_store

    panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
    jobs = panel.locator(".jp-Stork-listView:visible")
    expect(jobs.locator(".jp-Stork-empty")).to_be_visible()
    project = lab.root / "project"
    with open_store(project) as store:
        project_id = store.ensure_project(project).id
        for _ in range(27):
            store.save(Job(project_id=project_id, kind="import", status="completed",
                           notebook="sales_analysis.ipynb"))
    jobs.locator("button[title='Reload the jobs']").click()
    expect(jobs.locator(".jp-Stork-pageInfo")).to_have_text("1–25 of 27")
    expect(jobs.locator(".jp-Stork-row")).to_have_count(25)
    expect(jobs.get_by_role("button", name="‹ Prev")).to_be_disabled()
    jobs.get_by_role("button", name="Next ›").click()
    expect(jobs.locator(".jp-Stork-pageInfo")).to_have_text("26–27 of 27")
    expect(jobs.locator(".jp-Stork-row")).to_have_count(2)
    expect(jobs.get_by_role("button", name="Next ›")).to_be_disabled()
    jobs.locator(".jp-Stork-status").select_option("failed")
    expect(jobs.locator(".jp-Stork-empty")).to_have_text("No jobs match the filter.")
    expect(jobs.locator(".jp-Stork-pageInfo")).to_have_text("0–0 of 0")
    jobs.locator(".jp-Stork-status").select_option("completed")
    expect(jobs.locator(".jp-Stork-pageInfo")).to_have_text("1–25 of 27")


def test_migrate_to_a_folder_rewrites_the_open_document(lab: Lab, browser_page: Any):
    from playwright.sync_api import expect

    lake = lab.root / "lake"
    project = _project(lab.root, {"lake": str(lake)})
    nb_path = project / "sales_analysis.ipynb"
    before = _sources(nbformat.read(nb_path, as_version=4))
    page = browser_page
    panel = _open_notebook(page, lab)
    saved = _save_first(page, nb_path)

    dialog = _migrate(page, panel, "lake")
    preview = dialog.locator(".jp-Stork-preview")
    cell3 = preview.locator(".jp-Stork-change[data-cell-index='3']")
    expect(cell3.locator("h4")).to_have_text("Cell 4 (sales-03)")
    expect(cell3.locator(".jp-Stork-diffLine.jp-mod-del").first).to_contain_text("sales.csv")
    expect(cell3.locator(".jp-Stork-diffLine.jp-mod-add").first).to_contain_text(str(lake))
    expect(preview.locator(".jp-Stork-change.jp-mod-setup")).to_have_count(1)
    _shot(page, "migrate-preview")
    _run_migration(page, dialog)

    job = _job_edits(lab)
    after = _expected_after(before, job)
    editors = _cells(page)
    assert len(editors) == len(before) + 1
    assert editors == _code_only(after, editors)
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty")).to_have_count(1)
    assert nb_path.read_bytes() == saved  # nothing on disk changed
    for name in MOVED_FILES:
        assert any(p.name == name for p in lake.rglob("*")), f"{name} not in {lake}"
    _shot(page, "migrated")

    # one undo (command mode) restores every cell and removes the setup cell
    _focus_command_mode(page)
    _press_and_see(page, "z", before)
    # redo, then save: the file now holds the rewrite and the setup cell
    _press_and_see(page, "Shift+Z", after)
    page.keyboard.press("Control+s")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
    written = nbformat.read(nb_path, as_version=4)
    assert _sources(written) == after
    setup = written.cells[job["setup_cell"]["index"]]
    assert setup.metadata["stork"]["setup"]

    # the Jobs tab lists the completed job; its detail lists the transfers
    panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
    row = panel.locator(".jp-Stork-listView:visible .jp-Stork-row", has_text="migrate")
    expect(row.first).to_contain_text("completed")
    row.first.click()
    detail = panel.locator(".jp-Stork-detail")
    expect(detail.locator(".jp-Stork-detailTitle .jp-Stork-badge")).to_have_text("completed")
    transfers = detail.locator(".jp-Stork-transfer")
    expect(transfers.first).to_be_visible()
    assert transfers.count() == len(job["transfers"]) >= len(MOVED_FILES)
    expect(detail.get_by_role("button", name="Pause")).to_be_disabled()
    expect(detail.get_by_role("button", name="Cancel")).to_be_disabled()
    _shot(page, "job")

    # the Records tab: a search finds the rewritten read of returns.csv; its detail is the
    # cell before and after
    panel.locator(".jp-Stork-tab[data-tab=records]").click()
    records = panel.locator(".jp-Stork-listView:visible")
    records.locator(".jp-Stork-search").fill("returns = pd.read_csv")
    expect(records.locator(".jp-Stork-pageInfo")).to_have_text("1–1 of 1")
    records.locator(".jp-Stork-row").first.click()
    record = panel.locator(".jp-Stork-detail")
    expect(record.locator(".jp-Stork-detailTitle")).to_contain_text("Record #")
    expect(record).to_contain_text("pandas.read_csv")
    expect(record.locator(".jp-Stork-diffLine.jp-mod-del")).to_have_text(
        "- returns = pd.read_csv(path)")
    expect(record.locator(".jp-Stork-diffLine.jp-mod-add")).to_contain_text(
        "/sales_analysis/data/returns.csv\")")
    expect(record.locator(".jp-Stork-diffLine.jp-mod-same").first).to_have_text(
        '  path = "data/returns.csv"')
    _shot(page, "record")
    record.get_by_role("button", name="‹ Back").click()
    expect(records.locator(".jp-Stork-row")).to_have_count(1)


def test_migrate_to_s3_rewrites_the_open_document(s3_lab: tuple[Lab, Any], browser_page: Any):
    from playwright.sync_api import expect

    lab, s3 = s3_lab
    project = _project(lab.root, {"lake": str(lab.root / "lake"),
                                  "bucket": f"s3://{s3.bucket}/nb"})
    nb_path = project / "sales_analysis.ipynb"
    before = _sources(nbformat.read(nb_path, as_version=4))
    page = browser_page
    panel = _open_notebook(page, lab)
    saved = _save_first(page, nb_path)
    # an unsaved edit in a cell that reads data: the open document is what migrates
    _type_at_end(page, 10, "\n# unsaved note")
    before[10] += "\n# unsaved note"
    assert _cells(page)[10] == before[10]

    dialog = _migrate(page, panel, "bucket")
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text(f"s3://{s3.bucket}/nb")
    _run_migration(page, dialog)

    job = _job_edits(lab)
    after = _expected_after(before, job)
    editors = _cells(page)
    assert editors == _code_only(after, editors)
    assert any("s3://" in (src or "") for src in editors)
    assert "s3://" in editors[11] and editors[11].endswith("\n# unsaved note")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty")).to_have_count(1)
    assert nb_path.read_bytes() == saved
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="nb/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    for name in MOVED_FILES:
        assert any(k.endswith("/" + name) for k in keys), (name, keys)
    # Ctrl+Z in command mode (the Edit menu's undo) also undoes it all at once
    _focus_command_mode(page)
    _press_and_see(page, "Control+z", before)
    _press_and_see(page, "Control+Shift+z", after)
    # typed in a cell since: Ctrl+Z (command mode) undoes the typing first, then the rewrite
    _type_at_end(page, 4, "  # typed")
    assert _cells(page)[4] == after[4] + "  # typed"
    page.keyboard.press("Control+z")
    page.wait_for_function(f"() => ({CELLS_JS})()[4] === {json.dumps(after[4])}",
                           timeout=10_000)
    assert len(_cells(page)) == len(after)
    _press_and_see(page, "Control+z", before)


def test_a_refused_migration_lists_blockers_and_migrates_the_rest(lab: Lab, browser_page: Any):
    from playwright.sync_api import expect

    project = _project(lab.root, {"lake": str(lab.root / "lake")})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import pandas as pd\nname = input('file?')"),
        nbformat.v4.new_code_cell("df = pd.read_csv('data/sales.csv')"),
        nbformat.v4.new_code_cell("other = pd.read_csv(name)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, project / "blocked.ipynb")
    page = browser_page
    panel = _open_notebook(page, lab, "project/blocked.ipynb")
    panel.get_by_role("button", name="Analyze").click()
    expect(panel.locator(".jp-Stork-access.jp-mod-unresolved")).to_have_count(1)
    panel.get_by_role("button", name="Migrate…").click()
    dialog = page.locator(".jp-Stork-dialog")
    expect(dialog.locator(".jp-Stork-destInput")).to_have_value("lake")
    dialog.get_by_role("button", name="Preview").click()
    blockers = dialog.locator(".jp-Stork-blockers")
    expect(blockers).to_contain_text("pd.read_csv(name)")
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text("cell 3, line 1")
    dialog.get_by_role("button", name="Preview the rest").click()
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text("1 cell would change")
    dialog.get_by_role("button", name="Migrate", exact=True).click()
    expect(dialog.locator(".jp-Stork-dialogStatus")).to_contain_text("1 cell rewritten")
    editors = _cells(page)
    assert len(editors) == 4  # the setup cell added
    assert "lake" in editors[2] and editors[3] == "other = pd.read_csv(name)"


def test_stork_migrate_magic_rewrites_the_open_document(lab: Lab, browser_page: Any):
    from playwright.sync_api import expect

    project = _project(lab.root, {"lake": str(lab.root / "lake")})
    nb_path = project / "sales_analysis.ipynb"
    before = _sources(nbformat.read(nb_path, as_version=4))
    page = browser_page
    _open_notebook(page, lab)
    saved = _save_first(page, nb_path)

    _run_magic_cells(page)

    toast = page.locator(".Toastify__toast", has_text="cells rewritten")
    expect(toast.first).to_be_visible(timeout=120_000)
    job = _job_edits(lab)
    after = _expected_after(before, job)
    editors = _cells(page)
    assert editors[:len(after)] == _code_only(after, editors[:len(after)])
    assert editors[len(after):][:2] == ["%load_ext stork_jupyter", "%stork migrate --to lake"]
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty")).to_have_count(1)
    assert nb_path.read_bytes() == saved


def test_stork_migrate_magic_applies_nothing_to_a_changed_cell(lab: Lab, browser_page: Any):
    from playwright.sync_api import expect

    project = _project(lab.root, {"lake": str(lab.root / "lake")})
    nb_path = project / "sales_analysis.ipynb"
    page = browser_page
    _open_notebook(page, lab)
    saved = _save_first(page, nb_path)
    # cell 4 (index 3) edited, not saved: the magic migrates the saved file, so the edit for it
    # no longer fits the open document
    _type_at_end(page, 3, "\n# my change")
    shown = _cells(page)
    _run_magic_cells(page)

    toast = page.locator(".Toastify__toast", has_text="Stork applied nothing")
    expect(toast.first).to_contain_text("cell 4 (id sales-03) changed")
    toast.first.get_by_role("button", name="Details").click()
    details = page.locator(".jp-Dialog-content", has_text="Stork: nothing applied")
    expect(details).to_contain_text("the migrated notebook is also at")
    expect(details).to_contain_text(".stork/outputs/")
    _shot(page, "not-applied")
    details.get_by_role("button", name="Close").click()
    editors = _cells(page)
    assert editors[:len(shown)] == shown  # nothing applied
    assert nb_path.read_bytes() == saved


def test_a_running_job_shows_progress_pauses_resumes_and_applies(slow_lab: Lab,
                                                                 browser_page: Any):
    """Live progress in the dialog and the job's detail; Pause, then Resume from the
    panel; the completed job's edits applied to the open notebook from its detail."""
    from playwright.sync_api import expect

    lab = slow_lab
    project = _project(lab.root, {"lake": str(lab.root / "lake")})
    (project / "data" / "big.bin").write_bytes(os.urandom(BIG))
    read_big = "blob = open('data/big.bin', 'rb').read()\nlen(blob)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(read_big)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb_path = project / "big.ipynb"
    nbformat.write(nb, nb_path)
    page = browser_page
    panel = _open_notebook(page, lab, "project/big.ipynb")
    saved = _save_first(page, nb_path)

    dialog = _migrate(page, panel, "lake")
    dialog.get_by_role("button", name="Migrate", exact=True).click()
    status = dialog.locator(".jp-Stork-dialogStatus")
    expect(status).to_contain_text("running")
    bar = dialog.locator(".jp-Stork-jobProgress [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^([1-9]|[1-8][0-9])$"))
    _shot(page, "progress")
    dialog.get_by_role("button", name="Close").click()  # the job goes on

    # the job's detail follows it live; Pause stops it midway
    panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
    row = panel.locator(".jp-Stork-listView:visible .jp-Stork-row", has_text="migrate")
    row.first.click()
    detail = panel.locator(".jp-Stork-detail")
    badge = detail.locator(".jp-Stork-detailTitle .jp-Stork-badge")
    expect(badge).to_have_text("running")
    job_bar = detail.locator(".jp-Stork-detailBody > [role=progressbar]")
    first = int(job_bar.get_attribute("aria-valuenow"))
    expect(job_bar).not_to_have_attribute("aria-valuenow", str(first))  # it moves
    detail.get_by_role("button", name="Pause").click()
    expect(badge).to_have_text("paused")
    # the transfer stops at its next progress flush, and the detail shows it stopped
    expect(detail.locator(".jp-Stork-transfer .jp-Stork-badge")).to_have_text("paused")
    paused_at = int(job_bar.get_attribute("aria-valuenow"))
    assert 0 < paused_at < 100
    [job] = _api(lab, "jobs", path="project/big.ipynb", kind="migrate")["items"]
    assert job["status"] == "paused"
    part = [p for p in (lab.root / "lake").rglob("big.bin*") if p.name.endswith(".part")]
    assert part and 0 < part[0].stat().st_size < BIG  # stopped midway, resumable
    expect(detail.get_by_role("button", name="Resume")).to_be_enabled()
    _shot(page, "paused")
    assert _cells(page) == [read_big]  # nothing applied to a paused job's notebook

    # Resume: the job finishes; its edits go to the open notebook from the detail
    detail.get_by_role("button", name="Resume").click()
    expect(badge).to_have_text("completed", timeout=120_000)
    expect(job_bar).to_have_attribute("aria-valuenow", "100")
    detail.get_by_role("button", name="Apply to notebook").click()
    lake = (lab.root / "lake").as_posix()
    page.wait_for_function(f"() => ({CELLS_JS})().length === 2", timeout=10_000)
    cells = _cells(page)
    assert cells[1] == f"blob = open('{lake}/big/data/big.bin', 'rb').read()\nlen(blob)"
    assert (lab.root / "lake" / "big" / "data" / "big.bin").read_bytes() == (
        project / "data" / "big.bin").read_bytes()
    assert nb_path.read_bytes() == saved
    # applied once: a second press finds the cell already rewritten and changes nothing
    detail.get_by_role("button", name="Apply to notebook").click()
    expect(page.locator(".Toastify__toast", has_text="Stork applied nothing").first
           ).to_be_visible()
    assert _cells(page) == cells


def test_long_paths_elide_in_the_middle_and_keep_the_tabs(lab: Lab, browser_page: Any):
    """A dataset deep in the project: its row and its detail keep the file name in view
    (the folders elided, the whole path on hover) and the tab bar stays in the panel."""
    from playwright.sync_api import expect

    project = lab.root / "project"
    folder = project.joinpath("data", *(f"level-{i}-of-a-rather-long-folder-name"
                                        for i in range(6)))
    folder.mkdir(parents=True)
    (folder / "quarterly_sales_final.csv").write_text("a,b\n1,2\n")
    rel = folder.relative_to(project).as_posix() + "/quarterly_sales_final.csv"
    (project / "stork.toml").write_text("")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(f"import pandas as pd\ndf = pd.read_csv({rel!r})")]
    nbformat.write(nb, project / "long.ipynb")
    _api_post(lab, "analyze", {"path": "project/long.ipynb"})

    page = browser_page
    panel = _open_notebook(page, lab, "project/long.ipynb")
    row = panel.locator(".jp-Stork-listView:visible .jp-Stork-row").first
    expect(row).to_be_visible()
    title = row.locator(".jp-Stork-path")
    expect(title).to_have_attribute("title", rel)
    box = panel.bounding_box()

    def inside(locator: Any) -> None:
        b = locator.bounding_box()
        assert b is not None and b["width"] > 0, locator
        assert box["x"] - 1 <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"] + 1, (
            b, box)

    tail = title.locator(".jp-Stork-pathTail")
    expect(tail).to_have_text("quarterly_sales_final.csv")
    inside(tail)
    tabs = panel.locator(".jp-Stork-tabs")
    inside(tabs)
    for tab in ("datasets", "jobs", "records"):
        inside(panel.locator(f".jp-Stork-tab[data-tab={tab}]"))
    _shot(page, "long-path-list")

    row.click()
    detail = panel.locator(".jp-Stork-detailTitle .jp-Stork-path")
    expect(detail).to_have_attribute("title", rel)
    expect(detail.locator(".jp-Stork-pathTail")).to_have_text("quarterly_sales_final.csv")
    inside(detail.locator(".jp-Stork-pathTail"))
    # the detail shows the whole file name: not cut by an ellipsis
    assert detail.locator(".jp-Stork-pathTail").evaluate(
        "el => el.scrollWidth <= el.clientWidth")
    inside(tabs)
    _shot(page, "long-path-detail")

    # the jobs list filters by every state a job is shown in, interrupted included
    panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
    options = panel.locator(".jp-Stork-listView:visible .jp-Stork-status option")
    assert "interrupted" in options.all_text_contents()


def test_a_very_long_file_name_elides_in_its_middle(lab: Lab, browser_page: Any):
    """A file name longer than the row: its start gives way behind an ellipsis, its end
    (what tells it from its neighbours) stays in view, the whole path on hover."""
    from playwright.sync_api import expect

    project = lab.root / "project"
    project.mkdir()
    name = "customer_transactions_export_all_regions_including_returns_2026_q3_part_07.csv"
    (project / "data").mkdir()
    (project / "data" / name).write_text("a,b\n1,2\n")
    (project / "stork.toml").write_text("")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(f"import pandas as pd\ndf = pd.read_csv('data/{name}')")]
    nbformat.write(nb, project / "long.ipynb")
    _api_post(lab, "analyze", {"path": "project/long.ipynb"})

    page = browser_page
    panel = _open_notebook(page, lab, "project/long.ipynb")
    title = panel.locator(".jp-Stork-listView:visible .jp-Stork-row .jp-Stork-path").first
    expect(title).to_have_attribute("title", f"data/{name}")
    expect(title).to_have_text(f"data/{name}")  # every character is there, some hidden
    end = title.locator(".jp-Stork-pathEnd")
    expect(end).to_have_text("_part_07.csv")
    box, end_box = panel.bounding_box(), end.bounding_box()
    assert end_box["x"] + end_box["width"] <= box["x"] + box["width"] + 1, (end_box, box)
    assert title.locator(".jp-Stork-pathTail").evaluate("el => el.scrollWidth > el.clientWidth")
    _shot(page, "long-file-name")


def test_a_completed_cli_migration_is_undone_from_its_detail(lab: Lab, browser_page: Any):
    """``stork migrate NB -o OUT`` in a terminal, then Undo on the job's detail in the
    panel: OUT reads its local files again, and the detail offers no second undo."""
    from playwright.sync_api import expect

    project = _project(lab.root, {"lake": str(lab.root / "lake")})
    original = nbformat.read(project / "sales_analysis.ipynb", as_version=4)
    out = project / "sales_cloud.ipynb"
    subprocess.run([str(Path(sys.executable).with_name("stork")), "migrate",
                    "sales_analysis.ipynb", "--to", "lake", "-o", out.name],
                   cwd=project, check=True, capture_output=True, timeout=180)
    assert _sources(nbformat.read(out, as_version=4)) != _sources(original)

    page = browser_page
    panel = _open_notebook(page, lab)
    panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
    panel.locator(".jp-Stork-listView:visible .jp-Stork-row", has_text="migrate").first.click()
    detail = panel.locator(".jp-Stork-detail")
    expect(detail.locator(".jp-Stork-detailTitle .jp-Stork-badge")).to_have_text("completed")
    undo = detail.get_by_role("button", name="Undo")
    expect(undo).to_have_attribute("title", re.compile(r"sales_cloud\.ipynb"))
    undo.click()
    expect(page.locator(".Toastify__toast", has_text="undone").first).to_contain_text(
        "7 cells restored in project/sales_cloud.ipynb")
    _shot(page, "job-undone")
    assert _sources(nbformat.read(out, as_version=4)) == _sources(original)
    assert (lab.root / "lake").exists()  # the copies stay: undo restores cells only
    expect(detail.get_by_role("button", name="Undo")).to_have_count(0)
    expect(detail).to_contain_text("7 cells rewritten, then undone.")
