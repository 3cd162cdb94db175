"""What a new user meets on a fresh clone (issue 13, items 6 and 8): the plan says the
data is copied, and a migration of an example whose data was never generated names the
script that writes it."""

from __future__ import annotations

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
