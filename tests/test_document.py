"""Migrations for an open document (the JupyterLab panel and the magic with the panel):
the edits the editor applies, the user's file never written, and the run folders under
``.stork/outputs`` kept exactly as long as a job may be resumed from them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from migrate_support import SMALL_FILES, read_nb, small_project, tree

from stork_jupyter.document import OUTPUTS, DocumentMigration, prune_outputs
from stork_jupyter.rewriting import MigrationRefused
from stork_jupyter.store import Job, Record, open_store
from stork_jupyter.transfer import add_history

READ_A = "import pandas as pd\ndf = pd.read_csv('data/a.csv')"
READ_CFG = "import json\ncfg = json.load(open('data/cfg.json'))"


def _outputs(project: Path) -> list[Path]:
    folder = project.joinpath(*OUTPUTS)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_edits_of_the_open_document_and_the_file_untouched(tmp_path: Path):
    notebook = small_project(tmp_path, READ_A, READ_CFG)
    before = notebook.read_bytes()
    content = read_nb(notebook)
    content.cells.insert(1, content.cells[1].copy())  # an unsaved cell the file lacks
    content.cells[1].id = "unsaved-cell"
    content.cells[1].source = "x = 1"

    done = DocumentMigration(notebook, str(tmp_path / "dest"), content=content).run()

    dest = (tmp_path / "dest").as_posix()
    assert [(e["cell_id"], e["cell_index"]) for e in done.edits] == [
        (content.cells[2].id, 2), (content.cells[3].id, 3)]
    assert done.edits[0]["original_source"] == READ_A
    assert done.edits[0]["new_source"] == (
        f"import pandas as pd\ndf = pd.read_csv('{dest}/nb/data/a.csv')")
    # the setup cell goes before the first code cell: the unsaved one
    assert done.setup_cell["before_cell_id"] == "unsaved-cell"
    assert done.setup_cell["metadata"]["stork"]["setup"] is True
    assert notebook.read_bytes() == before
    assert tree(tmp_path / "dest" / "nb" / "data") == tree(tmp_path / "data")
    assert set(tree(tmp_path / "data")) == {k.removeprefix("data/") for k in SMALL_FILES}
    assert done.output.parent.parent == tmp_path.joinpath(*OUTPUTS)
    with open_store(tmp_path) as store:
        [job] = store.list(Job, limit=None)
        assert (job.id, job.notebook, job.status) == (done.job_id, "nb.ipynb", "completed")
        assert {r.notebook for r in store.list(Record, limit=None)} == {"nb.ipynb"}


def test_a_refused_migration_leaves_no_run_folder(tmp_path: Path):
    notebook = small_project(tmp_path, "import pandas as pd\ndf = pd.read_csv(input())")
    with pytest.raises(MigrationRefused):
        DocumentMigration(notebook, str(tmp_path / "dest"), content=read_nb(notebook)).run()
    assert _outputs(tmp_path) == []


def test_nothing_to_migrate_leaves_no_run_folder(tmp_path: Path):
    notebook = small_project(tmp_path, "print(1)")
    done = DocumentMigration(notebook, str(tmp_path / "dest")).run()
    assert done.job_id is None and done.edits == [] and done.output is None
    assert _outputs(tmp_path) == []


def test_old_finished_runs_are_pruned_resumable_ones_kept(tmp_path: Path):
    notebook = small_project(tmp_path, READ_A)
    runs = [DocumentMigration(notebook, str(tmp_path / f"dest{i}")).run() for i in range(3)]
    folders = [r.output.parent for r in runs]
    with open_store(tmp_path) as store:  # the second job as if paused midway
        add_history(store, runs[1].job_id, "paused", "test")
    orphan = tmp_path.joinpath(*OUTPUTS, "orphan")
    orphan.mkdir()
    week_ago = time.time() - 8 * 86400
    for folder in (folders[0], folders[1], orphan):
        os.utime(folder, (week_ago, week_ago))

    assert sorted(prune_outputs(tmp_path)) == sorted([folders[0], orphan])
    assert _outputs(tmp_path) == sorted([folders[1], folders[2]])
    # the next run prunes too; nothing old is left to remove
    DocumentMigration(notebook, str(tmp_path / "dest3")).run()
    assert folders[1].is_dir() and folders[2].is_dir()
