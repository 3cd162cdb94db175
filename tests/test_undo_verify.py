"""``stork undo`` restores a notebook exactly; the store lists the job and its records;
``stork verify`` runs a migrated notebook without the migrated files and compares its
outputs with the stored ones, leaving the user's files alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from migrate_support import (
    assert_one_line_error,
    read_nb,
    setup_cells,
    small_project,
    stork,
    tree,
)

from stork_jupyter.execute import execute_notebook
from stork_jupyter.notebook import write_notebook
from stork_jupyter.store import Job, Record, open_store

EXAMPLES = ["sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb"]


def _records(folder: Path) -> list[Record]:
    with open_store(folder) as metadata:
        return metadata.list(Record, limit=None, order="oldest")


# --------------------------------------------------------------------------- undo


@pytest.mark.parametrize("name", EXAMPLES)
def test_undo_after_in_place_restores_the_exact_bytes(name, example_project, tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(example_project)
    original = (example_project / name).read_bytes()
    result = stork("migrate", name, "--to", tmp_path / "dest", "--in-place")
    assert result.exit_code == 0, result.output
    assert (example_project / name).read_bytes() != original
    edits = len(_records(example_project))
    assert edits > 0

    result = stork("undo", name)
    assert result.exit_code == 0, result.output
    assert "restored" in result.stdout and "setup cell removed" in result.stdout
    assert (example_project / name).read_bytes() == original
    records = _records(example_project)
    assert len(records) == edits and {r.status for r in records} == {"undone"}

    # nothing left to undo: one clear line, the notebook stays as it is
    assert_one_line_error(stork("undo", name), name, "no migration")
    assert (example_project / name).read_bytes() == original


def test_undo_after_in_place_to_s3(example_project, s3_endpoint, monkeypatch):
    monkeypatch.chdir(example_project)
    original = (example_project / "feature_pipeline.ipynb").read_bytes()
    result = stork("migrate", "feature_pipeline.ipynb", "--to", f"{s3_endpoint.url}/lake",
                   "--in-place")
    assert result.exit_code == 0, result.output
    assert stork("undo", "feature_pipeline.ipynb").exit_code == 0
    assert (example_project / "feature_pipeline.ipynb").read_bytes() == original


def test_undo_of_an_output_copy_gives_the_source_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small_project(tmp_path, "import pandas as pd", "df = pd.read_csv('data/a.csv')  # here")
    assert stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb"
                 ).exit_code == 0
    assert stork("undo", "out.ipynb").exit_code == 0
    assert (tmp_path / "out.ipynb").read_bytes() == (tmp_path / "nb.ipynb").read_bytes()


def test_undo_of_a_notebook_never_migrated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = small_project(tmp_path, "x = 1")
    before = nb.read_bytes()
    assert_one_line_error(stork("undo", "nb.ipynb"), "nb.ipynb", "no migration")
    assert nb.read_bytes() == before


def test_jobs_and_records_are_listed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small_project(tmp_path, "import json\nimport pandas as pd",
                  "df = pd.read_csv('data/a.csv')",
                  "with open('data/cfg.json') as f:\n    cfg = json.load(f)")
    assert stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "--in-place").exit_code == 0

    jobs = stork("jobs")
    assert jobs.exit_code == 0
    [row] = [line for line in jobs.stdout.splitlines() if " migrate " in line]
    assert "completed" in row and "100%" in row and "nb.ipynb" in row
    [job] = json.loads(stork("jobs", "--json").stdout)
    assert (job["kind"], job["status"], job["destination"]) == (
        "migrate", "completed", str(tmp_path / "dest"))
    assert job["counts"]["datasets"] == 2 and job["counts"]["sent"] == 2

    records = stork("records")
    assert records.exit_code == 0
    assert "pandas.read_csv" in records.stdout and "applied" in records.stdout
    assert stork("undo", "nb.ipynb").exit_code == 0
    listed = json.loads(stork("records", "--json").stdout)
    assert sorted(r["api"] for r in listed) == ["open", "pandas.read_csv"]
    assert {r["status"] for r in listed} == {"undone"}
    assert {r["job_id"] for r in listed} == {job["id"]}
    assert "undone" in stork("records", "--status", "undone").stdout
    assert stork("records", "--status", "applied", "--json").stdout.strip() == "[]"


# --------------------------------------------------------------------------- verify

VERIFY_CELLS = (
    "import os\nimport pandas as pd",
    "df = pd.read_csv('data/a.csv')\nprint(df.shape)\ndf",
    "os.makedirs('out', exist_ok=True)\ndf.assign(z=df.x * 2).to_csv('out/r.csv', index=False)",
    "back = pd.read_csv('out/r.csv')\nback.z.sum()",
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project whose notebook was executed once (its outputs are stored)."""
    folder = tmp_path_factory.mktemp("verify") / "project"
    nb = small_project(folder, *VERIFY_CELLS)
    write_notebook(execute_notebook(nb, timeout=60), nb)
    shutil.rmtree(folder / "out")
    return folder


@pytest.fixture
def migrated(executed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the executed project, migrated to a folder with -o migrated.ipynb."""
    project = tmp_path / "project"
    shutil.copytree(executed, project)
    monkeypatch.chdir(project)
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    return project


def test_verify_passes_and_leaves_the_user_files_alone(migrated):
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in migrated.rglob("*")
              if p.is_file() and ".stork" not in p.parts}
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "ran without 1 migrated file(s)" in result.stdout
    assert "OK" in result.stdout
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in migrated.rglob("*")
             if p.is_file() and ".stork" not in p.parts}
    assert after == before  # data/a.csv still there, untouched; nothing added
    assert (migrated / "data" / "a.csv").is_file()


def test_verify_fails_when_a_cell_still_reads_a_migrated_file(migrated):
    nb = read_nb(migrated / "migrated.ipynb")
    [cell] = [c for c in nb.cells if "df = pd.read_csv(" in c.source]
    cell.source = "df = pd.read_csv('data/a.csv')\nprint(df.shape)\ndf"  # only local
    write_notebook(nb, migrated / "migrated.ipynb")
    data = tree(migrated / "data")
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "FileNotFoundError" in result.stdout
    assert "Traceback" not in result.output
    assert tree(migrated / "data") == data


def test_verify_fails_when_outputs_differ(migrated):
    nb = read_nb(migrated / "migrated.ipynb")
    [cell] = [c for c in nb.cells if "df = pd.read_csv(" in c.source]
    cell.outputs[0]["text"] = "(99, 2)\n"  # the stored stdout of print(df.shape)
    write_notebook(nb, migrated / "migrated.ipynb")
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 1
    assert "FAILED: outputs differ" in result.stdout and "(99, 2)" in result.stdout


def test_verify_needs_a_recorded_migration(migrated):
    assert_one_line_error(stork("verify", "nb.ipynb"), "nb.ipynb", "no completed migration")
    assert len(setup_cells(read_nb(migrated / "nb.ipynb"))) == 0
    with open_store(migrated) as metadata:
        assert [j.status for j in metadata.list(Job)] == ["completed"]


def test_undo_without_cell_ids(tmp_path, monkeypatch):
    """nbformat 4.4 notebooks have no cell ids: records name cells by index."""
    monkeypatch.chdir(tmp_path)
    nb = small_project(tmp_path, "import pandas as pd", "df = pd.read_csv('data/a.csv')")
    old = nbformat.read(nb, as_version=4)
    old.nbformat_minor = 4
    for cell in old.cells:
        del cell["id"]
    nb.write_text(nbformat.writes(old) + "\n")
    original = nb.read_bytes()
    assert stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "--in-place").exit_code == 0
    assert '"id"' not in nb.read_text()
    assert stork("undo", "nb.ipynb").exit_code == 0
    assert nb.read_bytes() == original


# verify proves more: every cell, against the original run when outputs are missing,
# stderr left out


def _migrate_unexecuted(tmp_path, monkeypatch, *cells: str, execute: bool = False) -> Path:
    project = tmp_path / "project"
    nb = small_project(project, *cells)
    if execute:
        write_notebook(execute_notebook(nb, timeout=60, allow_errors=True), nb)
    monkeypatch.chdir(project)
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    return project


def test_verify_of_a_notebook_saved_without_outputs_runs_the_original(tmp_path, monkeypatch):
    _migrate_unexecuted(tmp_path, monkeypatch, *VERIFY_CELLS)
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "compared with the original run with its data" in result.stdout
    assert "OK" in result.stdout


def test_verify_compares_every_cell_past_one_that_raises(tmp_path, monkeypatch):
    _migrate_unexecuted(tmp_path, monkeypatch, "import pandas as pd", "1 / 0",
                        "df = pd.read_csv('data/a.csv')\nprint(df.shape)", execute=True)
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "3 code cell(s) compared" in result.stdout
    # a migrated cell that raises is reported, numbered as JupyterLab shows it
    nb = read_nb(Path("migrated.ipynb"))
    [cell] = [c for c in nb.cells if "read_csv" in c.source]
    cell.source = "df = pd.read_csv('data/a.csv')\nprint(df.shape)"  # still local
    write_notebook(nb, Path("migrated.ipynb"))
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 1
    assert "cell 4: errors" in result.stdout and "FileNotFoundError" in result.stdout


def test_verify_ignores_a_warning_naming_a_temporary_path(tmp_path, monkeypatch):
    _migrate_unexecuted(tmp_path, monkeypatch, "import tempfile, warnings\nimport pandas as pd",
                        "warnings.warn(tempfile.mkdtemp())\nprint(pd.read_csv('data/a.csv').x.sum())",
                        execute=True)
    result = stork("verify", "migrated.ipynb", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout
