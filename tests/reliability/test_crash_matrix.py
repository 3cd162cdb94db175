"""The kill -9 matrix: a ``stork migrate`` process killed with SIGKILL at each step,
then ``stork resume``, ``stork cancel`` or ``stork undo`` run as a person runs them.

Steps: planned (the job and its names recorded, nothing sent), running (a real
``kill -9`` from outside while bytes move), transfers done, notebook written
(``--in-place`` and ``-o``), job recorded. After every recovery the notebook is
executed (nbclient) and the rule checked: it reads the old local data (the original's
outputs, with the data in place) or the new data (the same outputs with the local data
moved away), never missing or wrong data; and the destination holds nothing the job
left half-done (``.part`` files, multipart uploads, staging tables), nor, after a
cancel, the copies it made, and a cancel never removes data a written notebook reads.

Folder destinations run the whole matrix (each crash once, its folders saved and put
back before each recovery); S3 and PostgreSQL run the steps where they differ
(transfers running and done) with resume and cancel.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from functools import cache
from pathlib import Path

import pytest
from crash_support import SharedKernel, Snapshot, crash_at, stork
from migrate_support import small_project
from resume_support import pg_tables, wait_no_stork_sessions

from stork_jupyter.store import Job, Reservation, open_store

MB = 1024 * 1024
CELLS = ("import pandas as pd",
         "df = pd.read_csv('data/big.csv')\nprint(len(df), int(df.x.sum()), int(df.y.sum()))")
SLOW = MB  # bytes a second while the kill waits for a transfer in flight
STEPS = ("planned", "running", "transfers_done", "notebook_written", "job_recorded")
WRITTEN = ("notebook_written", "job_recorded")  # the crash left a rewritten notebook


@cache
def csv_bytes(size: int) -> bytes:
    rows, n, i = ["x,y\n"], 4, 0
    while n < size:
        row = f"{i},{i * 7 % 1000}\n"
        rows.append(row)
        n += len(row)
        i += 1
    return "".join(rows).encode()


@pytest.fixture(scope="module")
def kernel():
    k = SharedKernel()
    try:
        yield k
    finally:
        k.close()


@pytest.fixture(scope="module")
def expected(kernel, tmp_path_factory):
    """The original notebook's outputs on its own data, by data size."""
    found: dict[int, list] = {}

    def outputs(size: int) -> list:
        if size not in found:
            project = tmp_path_factory.mktemp("original")
            nb = small_project(project, *CELLS, files={"data/big.csv": csv_bytes(size)})
            found[size] = kernel.run(nb)
            assert str(len(csv_bytes(size).splitlines()) - 1) in str(found[size])
        return found[size]

    return outputs


class Case:
    """A project (``nb.ipynb`` reading ``data/big.csv``) and what to check about it."""

    def __init__(self, base: Path, size: int, to: str, out: str | None,
                 toml: str = ""):
        self.project = base / "project"
        self.size = size
        self.to = to
        self.out = out  # None: --in-place
        small_project(self.project, *CELLS, files={"data/big.csv": csv_bytes(size)})
        if toml:
            (self.project / "stork.toml").write_text(toml)
        self.original = (self.project / "nb.ipynb").read_bytes()

    @property
    def args(self) -> list[str]:
        return ["nb.ipynb", "--to", self.to, *(["-o", self.out] if self.out else ["--in-place"])]

    @property
    def written(self) -> Path:
        return self.project / (self.out or "nb.ipynb")

    def job(self) -> Job:
        with open_store(self.project) as metadata:
            [job] = metadata.list(Job, kind="migrate", limit=None)
        return job

    def reads(self, kernel, expected) -> str:
        """Execute the notebook the migration writes: "old" when it is the original
        (run on the local data), "new" when it was rewritten (run with the local data
        moved away); its outputs must equal the original's either way."""
        path = self.written
        if self.out:  # -o never touches the source notebook
            assert (self.project / "nb.ipynb").read_bytes() == self.original
            if not path.exists():
                return "old"
        if path.read_bytes() == self.original:
            assert kernel.run(path) == expected(self.size)
            return "old"
        data = self.project / "data"
        away = self.project.with_name("data-moved-away")
        shutil.move(data, away)
        try:
            assert kernel.run(path) == expected(self.size), "the rewritten notebook " \
                "does not give the original's outputs from the new data"
        finally:
            shutil.move(away, data)
        return "new"


def refused(run, *words: str) -> str:
    assert run.returncode != 0, run.stdout
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def ok(run) -> None:
    assert run.returncode == 0, run.stderr


def job_names(case: Case) -> list[Reservation]:
    with open_store(case.project) as metadata:
        return metadata.list(Reservation, limit=None)


# --------------------------------------------------------------------------- folder


def lake_files(lake: Path) -> dict[str, str]:
    if not lake.exists():
        return {}
    return {p.relative_to(lake).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in lake.rglob("*") if p.is_file()}


FOLDER_CASES = [(s, None) for s in STEPS] + [("notebook_written", "out.ipynb")]


@pytest.mark.parametrize(("step", "out"), FOLDER_CASES,
                         ids=[f"{s}-{'o' if o else 'in_place'}" for s, o in FOLDER_CASES])
def test_folder_crash_then_resume_cancel_undo(tmp_path, kernel, expected, step, out):
    case = Case(tmp_path / "case", 3 * MB, str(tmp_path / "case" / "lake"), out)
    lake = tmp_path / "case" / "lake"
    crash_at(step, case.project, case.args, SLOW)
    job = case.job()
    saved = Snapshot([case.project, lake], tmp_path / "saved")
    sha = hashlib.sha256(csv_bytes(case.size)).hexdigest()
    copy = "nb/data/big.csv"
    assert case.reads(kernel, expected) == ("new" if step in WRITTEN else "old")

    # resume: the job completes and the notebook reads the new data
    run = stork("resume", str(job.id), cwd=case.project)
    if step == "job_recorded":
        refused(run, "nothing to resume")
    else:
        ok(run)
        assert case.job().status == "completed"
    assert case.reads(kernel, expected) == "new"
    assert lake_files(lake) == {copy: sha}  # one verified copy, no .part file

    # cancel: before the notebook is written, the job's traces go and it reads the old
    # data; once it is written, cancel refuses (it would strand it) and keeps the data
    saved.restore()
    run = stork("cancel", str(job.id), cwd=case.project)
    if step in WRITTEN:
        refused(run, *(["completed"] if step == "job_recorded" else ["stork resume"]))
        assert case.reads(kernel, expected) == "new"
        assert lake_files(lake) == {copy: sha}
    else:
        ok(run)
        assert case.job().status == "cancelled"
        assert case.reads(kernel, expected) == "old"
        assert lake_files(lake) == {}  # no copy, no .part file
        assert job_names(case) == []  # its name is free again

    # undo: a written notebook gets its exact bytes back, whatever the job's state
    saved.restore()
    run = stork("undo", case.out or "nb.ipynb", cwd=case.project)
    if step in WRITTEN:
        ok(run)
        assert case.written.read_bytes() == case.original
        assert case.reads(kernel, expected) == "old"
        if step == "notebook_written":  # undone, the unfinished job can now be cancelled
            ok(stork("cancel", str(job.id), cwd=case.project))
            assert lake_files(lake) == {}
            assert case.reads(kernel, expected) == "old"
    else:
        refused(run, "no migration")
        assert case.reads(kernel, expected) == "old"


# --------------------------------------------------------------------------- S3


# the kill must land while parts are in flight (about a second under the rate hook): on a
# loaded machine it can come after the upload completed ("killed too late"), so rerun
@pytest.mark.flaky(reruns=2)
@pytest.mark.parametrize("then", ["resume", "cancel"])
@pytest.mark.parametrize("step", ["running", "transfers_done"])
def test_s3_crash_then_resume_or_cancel(tmp_path, kernel, expected, s3_endpoint, step, then):
    # killed mid-upload: above the multipart threshold, so that parts are at S3
    size = 17 * MB if step == "running" else 3 * MB
    case = Case(tmp_path, size, f"s3://{s3_endpoint.bucket}/lake", None)
    crash_at(step, case.project, case.args, 4 * MB)
    client = s3_endpoint.client()
    job = case.job()
    if step == "running":
        assert client.list_multipart_uploads(Bucket=s3_endpoint.bucket).get("Uploads")
    run = stork(then, str(job.id), cwd=case.project)
    ok(run)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_endpoint.bucket).get(
        "Contents", [])]
    assert not client.list_multipart_uploads(Bucket=s3_endpoint.bucket).get("Uploads")
    if then == "resume":
        assert keys == ["lake/nb/data/big.csv"]
        assert case.reads(kernel, expected) == "new"
    else:
        assert keys == []
        assert case.reads(kernel, expected) == "old"
        assert job_names(case) == []


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("then", ["resume", "cancel"])
@pytest.mark.parametrize("step", ["running", "transfers_done"])
def test_postgres_crash_then_resume_or_cancel(tmp_path, kernel, expected, pg_dsn, step,
                                              then):
    schema = f"crash_{secrets.token_hex(4)}"
    case = Case(tmp_path, 3 * MB, f"{pg_dsn}?schema={schema}", None,
                toml="[transfer]\nchunk_rows = 20000\n")  # progress while COPY runs
    # the converted-chunks load: the rate hook slows it (raw COPY of the file's bytes would
    # finish before the kill)
    crash_at(step, case.project, case.args, SLOW, env={"STORK_PG_COPY": "converted"})
    wait_no_stork_sessions(pg_dsn)  # the killed load's transaction rolled back
    job = case.job()
    if step == "running":
        assert "big" not in pg_tables(pg_dsn, schema)  # all or nothing
    run = stork(then, str(job.id), cwd=case.project)
    ok(run)
    tables = pg_tables(pg_dsn, schema)
    if then == "resume":
        assert tables == ["big"]  # no staging table left
        assert case.reads(kernel, expected) == "new"
    else:
        assert tables == []
        assert case.reads(kernel, expected) == "old"
        assert job_names(case) == []
