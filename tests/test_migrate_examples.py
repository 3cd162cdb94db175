"""Done when (issue 3): every example notebook, migrated to a folder and to S3, runs
with its original data folder gone and gives the original run's outputs, cell by cell.

The originals are executed once per module; each case migrates a fresh copy of the
project with ``stork migrate NB --to DEST -o OUT``, moves ``data/`` away, removes
``out/`` and executes the migrated notebook with nbclient.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from migrate_support import code_sources, read_nb, setup_cells, stork, without_setup

from stork_jupyter.execute import compare_outputs, execute_notebook
from stork_jupyter.notebook import write_notebook

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = ["sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb"]
CELL_TIMEOUT = 120  # seconds per cell: the examples take well under a second each
#: Distinctive credentials: neither may appear anywhere in a migrated notebook.
ACCESS_KEY = "STORKE2EACCESSKEY7Q"
SECRET_KEY = "stork-e2e-secret-5b9e1c4d7a"




@pytest.mark.parametrize("kind", ["folder", "s3"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_migrated_example_gives_the_same_outputs(name, kind, pristine, originals, tmp_path,
                                                 request, monkeypatch):
    project = tmp_path / "notebooks"
    shutil.copytree(pristine, project)
    notebook = project / name
    write_notebook(originals[name], notebook)  # as `stork run NB`: outputs stored in it
    source_bytes = notebook.read_bytes()
    if kind == "s3":
        s3 = request.getfixturevalue("s3_endpoint")
        dest = f"{s3.url}/lake"
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    else:
        dest = str(tmp_path / "shared")
    monkeypatch.chdir(project)

    result = stork("migrate", name, "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    assert notebook.read_bytes() == source_bytes

    migrated_path = project / "migrated.ipynb"
    migrated = read_nb(migrated_path)
    nbformat.validate(migrated)
    text = migrated_path.read_text()
    assert "stork_jupyter" not in text
    assert SECRET_KEY not in text and ACCESS_KEY not in text
    if kind == "s3":  # the endpoint comes from the environment, not the code
        assert s3.endpoint_url not in text
    assert len(setup_cells(migrated)) == 1
    first_code = next(i for i, c in enumerate(migrated.cells) if c.cell_type == "code")
    assert setup_cells(migrated) == [first_code]
    # the migrated notebook keeps the original's outputs (so nbval can check it)
    assert compare_outputs(originals[name], without_setup(migrated)) == []
    assert code_sources(migrated) != code_sources(originals[name])

    shutil.move(project / "data", tmp_path / "data-moved-away")
    shutil.rmtree(project / "out", ignore_errors=True)
    executed = execute_notebook(migrated_path, timeout=CELL_TIMEOUT)

    assert compare_outputs(originals[name], without_setup(executed)) == []
    assert not (project / "data").exists()
    # artefacts went to the destination: at most the empty folder os.makedirs made
    assert [p for p in (project / "out").rglob("*") if p.is_file()] == []
