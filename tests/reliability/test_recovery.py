"""Recovery after a crash at any step of a migration (issue 11, items 4 and 5).

A migration ``--in-place`` to a folder is killed (SIGKILL, no cleanup) once its records
are saved, before the job is marked complete (the other steps are the CLI matrix of
``test_crash_matrix.py``). Then ``resume``, ``cancel`` or ``undo`` runs, and the rule is
checked: the notebook reads its old local data or the new data, never missing or wrong
data. Two resumes of one job at once: exactly one goes on.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import pytest
from migrate_support import read_nb, small_project
from resume_support import killed, only_job, run_stork

from stork_jupyter import resume as resume_module
from stork_jupyter.cli import CLI_STEPS
from stork_jupyter.errors import StorkError
from stork_jupyter.jobs import cancel_job
from stork_jupyter.recovery import CRASH_ENV
from stork_jupyter.resume import resume_job
from stork_jupyter.store import Job, open_store
from stork_jupyter.undo import undo

MB = 1024 * 1024
CELLS = ("import pandas as pd", "df = pd.read_csv('data/big.csv')\nprint(len(df), df.x.sum())")
READ = re.compile(r"read_csv\(\s*['\"]([^'\"]+)['\"]")
STEPS = ("planned", "running", "transfers_done", "notebook_written", "records_saved",
         "job_recorded")
WRITTEN = ("notebook_written", "records_saved", "job_recorded")  # the notebook is rewritten


def _csv(size: int) -> bytes:
    rows, n, i = ["x,y\n"], 4, 0
    while n < size:
        row = f"{i},{i * 7 % 1000}\n"
        rows.append(row)
        n += len(row)
        i += 1
    return "".join(rows).encode()


DATA = _csv(3 * MB)
DATA_SHA = hashlib.sha256(DATA).hexdigest()


def _project(tmp_path: Path) -> tuple[Path, Path, bytes]:
    project = tmp_path / "project"
    nb = small_project(project, *CELLS, files={"data/big.csv": DATA})
    return project, tmp_path / "lake", nb.read_bytes()


def _crash(project: Path, lake: Path, step: str):
    env = {k: v for k, v in os.environ.items() if k != "STORK_STORE"}
    if step == "running":  # killed while bytes move (the transfer runner's hook)
        return run_stork("migrate", "nb.ipynb", "--to", lake, "--in-place", cwd=project,
                         env=env, kill_after=MB + 1)
    return run_stork("migrate", "nb.ipynb", "--to", lake, "--in-place", cwd=project,
                     env={**env, CRASH_ENV: step})


def reads(project: Path) -> str:
    """"old" or "new": which data the notebook reads; fails when any read would find
    missing or other data."""
    nb = read_nb(project / "nb.ipynb")
    paths = [p for c in nb.cells if c.cell_type == "code" for p in READ.findall(c.source)]
    assert len(paths) == 1, paths
    path = project / paths[0]
    assert path.is_file(), f"the notebook reads {paths[0]}, which is missing"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DATA_SHA, "wrong data"
    return "old" if paths[0] == "data/big.csv" else "new"


def _refused(action) -> str | None:
    try:
        action()
    except StorkError as e:
        assert "\n" not in str(e) and "stork " not in str(e)  # each door words its command
        return e.worded(CLI_STEPS)
    return None


# the other steps run as CLI commands in test_crash_matrix.py
@pytest.mark.parametrize("step", ["records_saved"])
@pytest.mark.parametrize("then", ["resume", "cancel", "undo"])
def test_a_crash_at_any_step_leaves_the_notebook_reading_its_data(tmp_path, monkeypatch,
                                                                 step, then):
    monkeypatch.delenv("STORK_STORE", raising=False)
    project, lake, original = _project(tmp_path)
    crashed = _crash(project, lake, step)
    assert killed(crashed), crashed.stderr
    assert reads(project) == ("new" if step in WRITTEN else "old")
    job = only_job(project)
    copy = lake / "nb" / "data" / "big.csv"

    if then == "resume":
        refused = _refused(lambda: resume_job(job.id, root=project))
        if step == "job_recorded":
            assert refused and "nothing to resume" in refused
        else:
            assert refused is None
            assert only_job(project).status == "completed"
        assert reads(project) == "new"
    elif then == "cancel":
        refused = _refused(lambda: cancel_job(job.id, root=project))
        if step in WRITTEN:
            assert refused and ("stork resume" in refused or "completed" in refused), refused
            assert reads(project) == "new" and copy.is_file()
        else:
            assert refused is None
            assert reads(project) == "old" and not copy.exists()
    else:
        refused = _refused(lambda: undo(project / "nb.ipynb"))
        if step in WRITTEN:
            assert refused is None
            assert (project / "nb.ipynb").read_bytes() == original  # exactly
            if step != "job_recorded":  # an unfinished job, undone: now it can go
                assert _refused(lambda: cancel_job(job.id, root=project)) is None
                assert not copy.exists()
        else:
            assert refused and "no migration" in refused
        assert reads(project) == "old"


def test_resume_after_the_in_place_write_gives_the_same_outputs_without_local_data(
        tmp_path, monkeypatch, run_nb):
    monkeypatch.delenv("STORK_STORE", raising=False)
    project, lake, _ = _project(tmp_path)
    _, before = run_nb(project / "nb.ipynb")
    assert killed(_crash(project, lake, "notebook_written"))
    resumed = run_stork("resume", "1", cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    (project / "data" / "big.csv").rename(tmp_path / "moved-away.csv")
    _, after = run_nb(project / "nb.ipynb")
    assert after[-1] == before[-1] and "7" in str(before[-1])
    with open_store(project) as store:
        job = store.get(Job, 1)
    assert [h["status"] for h in job.options["history"]][-2:] == ["running", "completed"]


def test_two_resumes_of_one_job_at_once_exactly_one_goes_on(tmp_path, monkeypatch):
    monkeypatch.delenv("STORK_STORE", raising=False)
    project, lake, _ = _project(tmp_path)
    assert killed(_crash(project, lake, "running"))
    job = only_job(project)
    # both resumes have read the job and found it resumable before either goes on: the
    # race two terminals (or two clicks) make
    both_checked = threading.Barrier(2, timeout=60)
    check = resume_module._check_resumable

    def checked_together(*args, **kwargs):
        note = check(*args, **kwargs)
        both_checked.wait()
        return note

    monkeypatch.setattr(resume_module, "_check_resumable", checked_together)
    outcomes: list[str] = []

    def resume() -> None:
        outcomes.append(_refused(lambda: resume_job(job.id, root=project)) or "went on")

    threads = [threading.Thread(target=resume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outcomes.count("went on") == 1, outcomes
    [refusal] = [o for o in outcomes if o != "went on"]
    assert f"job {job.id} was taken meanwhile" in refusal
    done = only_job(project)
    assert done.status == "completed"
    statuses = [h["status"] for h in done.options["history"]]
    assert statuses[-1] == "completed" and "failed" not in statuses
    assert reads(project) == "new"
    refused = _refused(lambda: cancel_job(job.id, root=project))
    assert refused and "completed" in refused
    assert reads(project) == "new"
