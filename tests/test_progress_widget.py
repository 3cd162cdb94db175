"""Transfer progress as ipywidgets: the reporter's bars, and the widget in a real kernel
(nbclient keeps the widget models of what ``%stork migrate`` displayed)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from stork_jupyter.transfer import TransferProgress
from stork_jupyter.widgets import ProgressWidget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_one_bar_per_dataset_and_one_overall():
    w = ProgressWidget("migrate")
    w.start(7, [("data/a.csv", 100), ("data/b.csv", 300)])
    assert w.overall.description == "job 7" and "400 B" in w.overall_label.value
    w.update(TransferProgress("data/a.csv", 50, 100, rows=5, rate=10.0, eta=5.0, job_id=7))
    w.update(TransferProgress(None, 50, 400, job_id=7))
    bar, label = w.rows["data/a.csv"]
    assert bar.value == 0.5 and "5 rows" in label.value and "5 s left" in label.value
    assert w.overall.value == pytest.approx(0.125)
    w.update(TransferProgress("data/a.csv", 100, 100, status="completed", job_id=7))
    w.update(TransferProgress("data/b.csv", 0, 300, status="skipped", job_id=7))
    assert [r[0].bar_style for r in w.rows.values()] == ["success", "info"]
    assert len(w.datasets.children) == 2
    w.close("completed")
    assert w.overall.bar_style == "success" and w.overall_label.value.endswith("completed")


@pytest.mark.slow
def test_migrate_magic_shows_the_progress_widget(tmp_path: Path, run_nb):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n2\n")
    (tmp_path / "data" / "b.txt").write_text("hello\n")
    other = nbformat.v4.new_notebook()
    other.cells = [nbformat.v4.new_code_cell(
        "import pandas as pd\ndf = pd.read_csv('data/a.csv')\ntext = open('data/b.txt').read()")]
    nbformat.write(other, tmp_path / "other.ipynb")
    driver = nbformat.v4.new_notebook()
    driver.cells = [nbformat.v4.new_code_cell(
        f"%load_ext stork_jupyter\n%stork migrate other.ipynb --to {tmp_path / 'lake'}")]
    nbformat.write(driver, tmp_path / "driver.ipynb")

    executed, _ = run_nb(tmp_path / "driver.ipynb")

    outputs = executed.cells[0].outputs
    views = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert views, outputs
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    # the overall bar and one per dataset, all full at the end
    assert len(bars) == 3 and all(b["value"] == 1.0 for b in bars), json.dumps(bars)[:500]
    assert {b["description"] for b in bars} == {"job 1", "data/a.csv", "data/b.txt"}
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "Migrated 2 file(s)" in text
    migrated = nbformat.read(tmp_path / "other.ipynb", as_version=4)
    assert "lake" in migrated.cells[1].source


@pytest.mark.slow
def test_cancel_magic_with_unknown_job_is_one_message(tmp_path: Path, run_nb):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext stork_jupyter\n%stork cancel 999")]
    nbformat.write(nb, tmp_path / "c.ipynb")
    executed, _ = run_nb(tmp_path / "c.ipynb", allow_errors=True)
    # IPython shows a UsageError as one line on stderr, with no traceback
    outputs = executed.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"], outputs
    assert outputs[0].name == "stderr"
    assert outputs[0].text.strip() == "UsageError: No job with id 999."
