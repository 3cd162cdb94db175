"""``stork cancel JOB`` leaves nothing at the destination (issue 5, Done when): no object
and no incomplete multipart upload (S3), no staging table (PostgreSQL), no ``.part`` file
(folder) — asserted by listing them. The job and its transfers end ``cancelled``."""

from __future__ import annotations

import random
import secrets
from pathlib import Path

import psycopg
import pytest
from migrate_support import small_project
from psycopg import sql
from resume_support import (
    aws_env,
    get_job,
    killed,
    new_bucket,
    object_keys,
    only_job,
    pending_uploads,
    pg_tables,
    recording_s3_server,
    run_stork,
    transfers,
    wait_no_stork_sessions,
)

from stork_jupyter.cli import CLI_STEPS
from stork_jupyter.destinations import s3 as s3_module
from stork_jupyter.jobs import cancel_job, request_pause
from stork_jupyter.migrate import migrate
from stork_jupyter.resume import resume_job
from stork_jupyter.store import Job, open_store
from stork_jupyter.transfer import JobCancelled, JobPaused, NullReporter

MB = 1024 * 1024
CELLS = ("import pandas as pd", "small = pd.read_csv('data/small.csv')",
         "blob = open('data/big.bin', 'rb').read()")


def _project(folder: Path, size: int) -> None:
    small_project(folder, *CELLS, files={"data/small.csv": "x,y\n1,2\n",
                                         "data/big.bin": random.Random(9).randbytes(size)})


def _cancelled(project: Path, job_id: int) -> None:
    job = get_job(project, job_id)
    assert job.status == "cancelled" and job.finished_at
    assert job.options["history"][-1]["status"] == "cancelled"
    assert {t.status for t in transfers(project, job_id)} == {"cancelled"}


def test_cancel_s3_aborts_the_upload_and_removes_what_the_job_sent(tmp_path, recording_s3):
    s3 = recording_s3
    project = tmp_path / "project"
    _project(project, 3 * s3_module.PART_SIZE)
    bucket = new_bucket(s3, f"cancel-{secrets.token_hex(4)}")
    env = aws_env(s3.endpoint)
    first = run_stork("migrate", "nb.ipynb", "--to", f"s3://{bucket}", "-o", "out.ipynb",
                      cwd=project, env=env, kill_after=s3_module.PART_SIZE + 1, )
    assert killed(first), first.stderr
    job = only_job(project)
    assert len(pending_uploads(s3, bucket)) == 1  # the interrupted multipart upload

    result = run_stork("cancel", str(job.id), cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert "multipart upload" in result.stdout and f"job {job.id} cancelled" in result.stdout
    assert pending_uploads(s3, bucket) == []
    assert object_keys(s3, bucket) == []  # small.csv, which the job sent, is gone too
    _cancelled(project, job.id)
    again = run_stork("resume", str(job.id), cwd=project, env=env)
    assert again.returncode != 0 and "cancelled" in again.stderr


def test_cancel_postgres_drops_staging_tables(tmp_path, pg_dsn):
    schema = f"cancel_{secrets.token_hex(3)}"
    project = tmp_path / "project"
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(40_000))
    small_project(project, "import pandas as pd", "df = pd.read_csv('data/t.csv')",
                  files={"data/t.csv": "a,b\n" + rows + "\n"})
    (project / "stork.toml").write_text("[transfer]\nchunk_rows = 4000\n")
    size = (project / "data" / "t.csv").stat().st_size
    first = run_stork("migrate", "nb.ipynb", "--to", f"{pg_dsn}?schema={schema}", "-o",
                      "out.ipynb", cwd=project, kill_after=size // 2)
    assert killed(first), first.stderr
    job = only_job(project)
    wait_no_stork_sessions(pg_dsn)
    # a load's staging table lives in its transaction, so a crash cannot leave one behind;
    # one committed by something else (an older stork, a manual COPY) is a leftover too
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (x int)").format(
            sql.Identifier(schema, "_stork_stage_t_0badc0de")))
    assert pg_tables(pg_dsn, schema) == ["_stork_stage_t_0badc0de"]

    result = run_stork("cancel", str(job.id), cwd=project)
    assert result.returncode == 0, result.stderr
    assert "staging table _stork_stage_t_0badc0de" in result.stdout
    assert pg_tables(pg_dsn, schema) == []  # no staging table, no half table
    _cancelled(project, job.id)


def test_cancel_folder_deletes_the_part_file(tmp_path):
    project = tmp_path / "project"
    _project(project, 6 * MB)
    dest = tmp_path / "dest"
    first = run_stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", cwd=project,
                      kill_after=2 * MB)
    assert killed(first), first.stderr
    job = only_job(project)
    assert list(dest.rglob("*.part"))

    result = run_stork("cancel", str(job.id), cwd=project)
    assert result.returncode == 0, result.stderr
    assert [p for p in dest.rglob("*") if p.is_file()] == []  # no .part, no copy
    _cancelled(project, job.id)
    assert not (project / "out.ipynb").exists()


def test_cancel_keeps_copies_that_were_there_before(tmp_path):
    """A copy the job found already there (skipped) is not the job's to remove."""
    project = tmp_path / "project"
    _project(project, 6 * MB)
    dest = tmp_path / "dest"
    # an earlier migration of the small file only
    (dest / "nb" / "data").mkdir(parents=True)
    (dest / "nb" / "data" / "small.csv").write_bytes((project / "data/small.csv").read_bytes())
    first = run_stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", cwd=project,
                      kill_after=2 * MB)
    assert killed(first)
    job = only_job(project)
    assert run_stork("cancel", str(job.id), cwd=project).returncode == 0
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()] == [
        "nb/data/small.csv"]


def test_cancel_refuses_a_completed_job(tmp_path):
    project = tmp_path / "project"
    _project(project, 10)
    assert run_stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb",
                     cwd=project).returncode == 0
    job = only_job(project)
    result = run_stork("cancel", str(job.id), cwd=project)
    assert result.returncode != 0
    assert "completed" in result.stderr and "undo" in result.stderr
    assert get_job(project, job.id).status == "completed"


@pytest.fixture(scope="module")
def recording_s3(tmp_path_factory):
    with recording_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_stray_hook(monkeypatch):
    monkeypatch.delenv("STORK_TEST_KILL_AFTER_BYTES", raising=False)


# --------------------------------------------------------------------------- from another door


class _Once(NullReporter):
    """Calls ``action(job_id)`` once, when the big file starts moving (its first update:
    the runner then sees it at its first store flush, after the first block)."""

    def __init__(self, action):
        self.action = action
        self.fired = False

    def update(self, progress):
        if progress.dataset == "data/big.bin" and not self.fired:
            self.fired = True
            self.action(progress.job_id)


def test_pause_requested_by_another_door_then_resumed(tmp_path, monkeypatch):
    project = tmp_path / "project"
    _project(project, 24 * MB)
    monkeypatch.chdir(project)
    dest = tmp_path / "dest"
    reporter = _Once(lambda job_id: request_pause(job_id, root=project))
    with pytest.raises(JobPaused) as paused:  # one at a time: small.csv first
        migrate(project / "nb.ipynb", str(dest), output=project / "out.ipynb",
                progress=reporter, parallel=1)
    assert "stork resume" in paused.value.worded(CLI_STEPS)
    job = only_job(project)
    assert job.status == "paused"
    assert [h["status"] for h in job.options["history"]] == ["running", "paused"]
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    assert big.status == "paused" and 0 < big.bytes_done < 24 * MB
    assert not (project / "out.ipynb").exists()

    result = resume_job(job.id, root=project)
    assert result.output == project / "out.ipynb" and result.output.exists()
    assert (dest / "nb/data/big.bin").read_bytes() == (project / "data/big.bin").read_bytes()
    assert get_job(project, job.id).status == "completed"


def test_cancel_of_a_running_job_stops_it_and_cleans_up(tmp_path, monkeypatch):
    project = tmp_path / "project"
    _project(project, 24 * MB)
    monkeypatch.chdir(project)
    dest = tmp_path / "dest"

    def cancel_elsewhere(job_id: int) -> None:  # what cancel_job does first, from elsewhere
        with open_store(project) as metadata:
            metadata.update(Job, job_id, status="cancelled")

    with pytest.raises(JobCancelled):
        migrate(project / "nb.ipynb", str(dest), output=project / "out.ipynb",
                progress=_Once(cancel_elsewhere), parallel=1)
    job = only_job(project)
    assert not list(dest.rglob("*.part"))  # the runner removed its partial copy itself
    cancel_job(job.id, root=project)  # and the door's cancel finishes the job
    assert [p for p in dest.rglob("*") if p.is_file()] == []
    _cancelled(project, job.id)
