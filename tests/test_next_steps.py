"""An engine error that suggests a next step (resume, cancel, undo) says it in words;
each door adds its own way to do it: the CLI ``stork cancel 3``, the magics
``%stork cancel 3``, the widgets the button that does it (the REST reply carries the
steps as data: tests/test_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from migrate_support import assert_one_line_error, small_project, stork

from stork_jupyter.errors import NextStep, StorkError, command_line
from stork_jupyter.jobs import cancel_job
from stork_jupyter.migrate import migrate
from stork_jupyter.store import Job, open_store
from stork_jupyter.widgets._base import error_text

CELLS = ("import pandas as pd", "df = pd.read_csv('data/a.csv')\ndf.shape")


@pytest.fixture
def completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    """A project whose notebook was migrated to a folder (its job completed)."""
    folder = tmp_path / "project"
    small_project(folder, *CELLS)
    monkeypatch.chdir(folder)
    migrate(folder / "nb.ipynb", str(tmp_path / "lake"), output=folder / "out.ipynb")
    with open_store(folder) as metadata:
        [job] = metadata.list(Job, kind="migrate", limit=None)
    return folder, job.id


def test_the_engine_names_no_door_command(completed):
    folder, job_id = completed
    with pytest.raises(StorkError) as refused:
        cancel_job(job_id, root=folder)
    assert "stork" not in str(refused.value) and "undo its notebook" in str(refused.value)
    assert refused.value.next_steps == (NextStep("undo", "out.ipynb", ("--restore-data",)),)


def test_the_cli_words_the_next_step_as_its_command(completed):
    _, job_id = completed
    line = assert_one_line_error(stork("cancel", str(job_id)), f"job {job_id} completed")
    assert line.endswith("(stork undo out.ipynb --restore-data)"), line


def test_the_magic_words_it_as_the_magic(completed):
    _, job_id = completed
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "stork_jupyter")
        with pytest.raises(UsageError) as refused:
            shell.run_line_magic("stork", f"cancel {job_id}")
    finally:
        InteractiveShell.clear_instance()
    assert str(refused.value).endswith("(%stork undo out.ipynb --restore-data)"), refused.value


def test_the_widgets_name_the_button(completed):
    folder, job_id = completed
    with pytest.raises(StorkError) as refused:
        cancel_job(job_id, root=folder)
    assert error_text(refused.value).rstrip().endswith("(Undo migration… for out.ipynb)")


def test_several_steps_are_offered_as_alternatives():
    error = StorkError("job 4 already wrote nb.ipynb; resume it, or first undo the notebook",
                       next_steps=[NextStep("resume", "4"), NextStep("undo", "nb.ipynb")])
    assert error.worded(command_line("stork")).endswith("(stork resume 4 or stork undo nb.ipynb)")
    assert str(error).endswith("first undo the notebook")
    assert StorkError("no steps").worded(command_line("stork")) == "no steps"
