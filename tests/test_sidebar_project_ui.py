"""The panel's "Migrate folder…": every notebook of the folder open in the file browser
migrated as one project (issue 13 item 9), in a real JupyterLab and a real browser.

Preview lists each notebook's outcome; Migrate reports per notebook; the copies, run
with the project's data moved away, print what the originals printed; Undo restores
every notebook the job wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from lab_support import ARTIFACTS, CHROMIUM, open_page, start_lab
from test_migrate_project import assert_same_outputs, make_project, move_data_away, originals

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh"),
]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sidebar-project-{name}.png"))


def test_migrate_folder_previews_reports_per_notebook_and_undoes(tmp_path: Path, run_nb):
    from playwright.sync_api import expect

    with start_lab(tmp_path) as lab, open_page() as page:
        root = lab.root / "proj"
        nbs = make_project(root)
        lake = lab.root / "lake"
        (root / "stork.toml").write_text(f'[destinations.lake]\nurl = "{lake}"\n')

        page.goto(f"{lab.base}/lab/tree/proj/notebooks?reset&token={lab.token}")
        page.wait_for_selector("#jp-main-dock-panel")
        # the file browser shows the folder: its notebooks are listed
        expect(page.locator(".jp-DirListing-item", has_text="a.ipynb")).to_be_visible()
        page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="stork-panel"]').click()
        panel = page.locator("#stork-panel")
        panel.get_by_role("button", name="Migrate folder…").click()
        dialog = page.locator(".jp-Stork-folderDialog")
        expect(dialog.locator(".jp-Dialog-title")).to_have_text(
            "Migrate every notebook of proj/notebooks")
        expect(dialog.locator(".jp-Stork-destInput")).to_have_value("lake")
        dialog.locator(".jp-Stork-outputInput").fill("proj/out")

        dialog.get_by_role("button", name="Preview").click()
        status = dialog.locator(".jp-Stork-dialogStatus")
        expect(status).to_have_text("2 files would be copied to " + str(lake)
                                    + "; 3 notebooks of 4 would change.")
        rows = dialog.locator(".jp-Stork-projectNotebook")
        expect(rows).to_have_count(4)
        expect(rows.filter(has_text="d.ipynb")).to_contain_text("nothing to migrate")
        expect(rows.filter(has_text="c.ipynb")).to_contain_text("would migrate, 1 cell rewritten")
        assert not (root / "out").exists()  # a preview writes nothing
        _shot(page, "preview")
        # c.ipynb gains a read after the preview: the report says what the job did
        c = nbformat.read(nbs / "sub" / "c.ipynb", as_version=4)
        c.cells.append(nbformat.v4.new_code_cell('again = pd.read_csv("own.csv")\n'
                                                 'print(len(again))'))
        nbformat.write(c, nbs / "sub" / "c.ipynb")
        expected = originals(nbs, run_nb)
        before = {p: p.read_bytes() for p in nbs.rglob("*.ipynb")}

        dialog.get_by_role("button", name="Migrate", exact=True).click()
        expect(status).to_contain_text("Done (job #1): 2 files copied, 4 cells rewritten in "
                                       "3 notebooks.")
        expect(rows.filter(has_text="a.ipynb")).to_contain_text("migrated, 1 cell rewritten")
        expect(rows.filter(has_text="c.ipynb")).to_contain_text("migrated, 2 cells rewritten")
        expect(rows.filter(has_text="d.ipynb")).to_contain_text("nothing to migrate")
        expect(rows.filter(has_text="a.ipynb")).to_contain_text("proj/out/a.ipynb")
        _shot(page, "migrated")
        out = root / "out"
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ipynb")) == [
            "a.ipynb", "b.ipynb", "d.ipynb", "sub/c.ipynb"]
        assert {p: p.read_bytes() for p in nbs.rglob("*.ipynb")} == before  # sources kept
        # the copies read the destination: the project's data moved away, same outputs
        move_data_away(root)
        assert_same_outputs(out, expected, run_nb)

        dialog.get_by_role("button", name="Undo").click()
        expect(status).to_have_text("Undone: 4 cells restored in 3 notebooks; they read the "
                                    "local files again (the copied data stays at the "
                                    "destination).")
        expect(dialog.locator(".jp-Stork-projectNotebook[data-status=undone]")).to_have_count(3)
        _shot(page, "undone")
        for name in ("a.ipynb", "b.ipynb", "sub/c.ipynb"):
            assert (out / name).read_bytes() == (nbs / name).read_bytes(), name
        # the Jobs tab lists the project job, source folder and output folder
        dialog.get_by_role("button", name="Close").click()
        panel.locator(".jp-Stork-tab[data-tab=jobs]").click()
        row = panel.locator(".jp-Stork-listView:visible .jp-Stork-row").first
        expect(row).to_contain_text("notebooks → out")
        row.click()  # its transfers: each file once, with the rows read while it was copied
        transfers = panel.locator(".jp-Stork-detail .jp-Stork-transfer")
        expect(transfers).to_have_count(2)
        expect(transfers.filter(has_text="shared.csv").locator(".jp-Stork-progressText")
               ).to_have_text("40 B / 40 B · 3 rows")
        # where each went: the folders elided, the file name whole in view
        target = transfers.filter(has_text="shared.csv").locator(".jp-Stork-pathMeta "
                                                                 ".jp-Stork-pathTail")
        expect(target).to_have_text("shared.csv")
        assert target.evaluate("el => el.clientWidth > 0 && el.scrollWidth <= el.clientWidth")
        meta, tail = target.locator("xpath=../.."), target.bounding_box()
        assert tail["x"] + tail["width"] <= meta.bounding_box()["x"] + meta.bounding_box()[
            "width"] + 0.5, "the file name runs past its line"
        _shot(page, "jobs")
        nb = nbformat.read(out / "a.ipynb", as_version=4)
        assert any("../data/shared.csv" in c.source for c in nb.cells)  # local reads again
