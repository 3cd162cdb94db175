"""What a new user meets on a fresh clone (issue 13, items 6 and 8): the plan says the
data is copied, and a migration of an example whose data was never generated names the
script that writes it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from migrate_support import small_project, stork

EXAMPLES = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example notebooks and their data script as a clone has them: no data/."""
    folder = tmp_path / "clone"
    (folder / "notebooks").mkdir(parents=True)
    for path in [*EXAMPLES.glob("*.ipynb"), EXAMPLES / "make_data.py"]:
        shutil.copy(path, folder / "notebooks")
    monkeypatch.chdir(folder)
    return folder


def test_a_refusal_for_missing_example_data_names_the_data_script(clone):
    result = stork("migrate", "notebooks/sales_analysis.ipynb", "--to", "lake", "-o", "o.ipynb")
    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert sum("does not exist" in line for line in lines) == 5  # one per blocked access
    assert lines[-1] == ("the data of these examples is written by: "
                         "python notebooks/make_data.py")
    # README's advice works: after the script the same command migrates
    import subprocess
    import sys
    subprocess.run([sys.executable, "notebooks/make_data.py"], check=True, timeout=120,
                   capture_output=True)
    again = stork("migrate", "notebooks/sales_analysis.ipynb", "--to", "lake", "-o",
                  "o.ipynb", "--no-progress")
    assert again.exit_code == 0, again.output


def test_other_missing_files_get_no_data_hint(tmp_path, monkeypatch):
    small_project(tmp_path, "import pandas as pd", "df = pd.read_csv('data/nope.csv')")
    monkeypatch.chdir(tmp_path)
    result = stork("migrate", "nb.ipynb", "--to", "lake", "-o", "o.ipynb")
    assert result.exit_code != 0 and "does not exist" in result.stderr
    assert "make_data" not in result.stderr


def test_the_plan_says_the_data_is_copied(tmp_path, monkeypatch):
    small_project(tmp_path, "import pandas as pd", "df = pd.read_csv('data/a.csv')")
    monkeypatch.chdir(tmp_path)
    result = stork("migrate", "nb.ipynb", "--to", "lake", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "  copy   data/a.csv -> " in result.stdout
    assert "move" not in result.stdout


def test_the_migrate_magic_shows_a_summary_then_each_cell_collapsible(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from stork_jupyter.magics import StorkMagics

    small_project(tmp_path, "import pandas as pd", "df = pd.read_csv('data/a.csv')",
                  "with open('data/cfg.json') as f:\n    f.read()")
    monkeypatch.chdir(tmp_path)
    shell = InteractiveShell.instance()
    shell.register_magics(StorkMagics)
    try:
        with capture_output() as captured:
            shell.run_line_magic("stork", "migrate nb.ipynb --to lake --dry-run")
        [shown] = captured.outputs
    finally:
        InteractiveShell.clear_instance()
    text, page = shown.data["text/plain"], shown.data["text/html"]
    assert text.splitlines()[0].startswith("Dry run: 2 file(s) would be copied, 2 cell(s)")
    assert page.startswith("<div><b>Dry run: 2 file(s) would be copied")
    # one collapsible section per changed cell, named as the text diff names it
    assert page.count("<details class='stork-cell-diff'>") == 2
    labels = re.findall(r"<summary>(cell \d+ \([^)]+\))", page)
    assert len(labels) == 2 and all(f"--- a/nb.ipynb {label}" in text for label in labels)
    assert "+1 −1</summary>" in page
    assert "color:var(--jp-success-color1" in page and "color:var(--jp-error-color1" in page
    assert "--- a/" not in page  # the raw file headers stay in the text fallback only
    assert "--- a/" in text
