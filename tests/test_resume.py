"""Interrupted transfers resume where they stopped (issue 5, Done when).

A real ``stork migrate`` runs in its own process and is killed with SIGKILL at a
controlled point (the transfer runner's test hook ``STORK_TEST_KILL_AFTER_BYTES``): an S3
multipart upload midway, a PostgreSQL COPY midway, a filesystem copy midway. ``stork
resume JOB`` then finishes it: the result is byte-identical (files, objects) or
row-identical (tables) to an uninterrupted transfer; no S3 part is uploaded twice
(counted at the S3 server by moto's request recorder); the store tells the job's
history. Ctrl+C (SIGINT) pauses a job cleanly.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from migrate_support import read_nb, small_project
from resume_support import (
    REPO,
    aws_env,
    created_uploads,
    get_job,
    history,
    killed,
    new_bucket,
    object_keys,
    only_job,
    pending_uploads,
    pg_rows,
    pg_tables,
    recording_s3_server,
    run_stork,
    transfers,
    uploaded_parts,
    wait_no_stork_sessions,
)

from stork_jupyter.destinations import s3 as s3_module
from stork_jupyter.jobs import job_state

MB = 1024 * 1024
READ_BIG = "blob = open('data/big.bin', 'rb').read()"
READ_CSV = "import pandas as pd\nsmall = pd.read_csv('data/small.csv')"


def _big(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _project(folder: Path, big: bytes, extra: str = "") -> Path:
    files: dict[str, str | bytes] = {"data/big.bin": big, "data/small.csv": "x,y\n1,2\n3,4\n"}
    small_project(folder, READ_CSV, READ_BIG, files=files)
    if extra:
        (folder / "stork.toml").write_text(extra)
    return folder / "nb.ipynb"


def _multipart_etag(data: bytes, part_size: int) -> str:
    md5s = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{hashlib.md5(b''.join(md5s)).hexdigest()}-{len(md5s)}"


def _assert_interrupted_then_completed(project: Path, job_id: int) -> None:
    job = get_job(project, job_id)
    assert job.status == "completed" and job.progress == 1.0 and job.error is None
    assert history(job) == ["running", "paused (interrupted)", "running", "completed"]
    assert all(t.status == "completed" for t in transfers(project, job_id))


# --------------------------------------------------------------------------- S3


def test_s3_multipart_killed_midway_resumes_without_sending_a_part_twice(
        tmp_path, recording_s3):
    s3 = recording_s3
    part = s3_module.PART_SIZE
    data = _big(5 * part + part // 2)  # 6 parts
    project = tmp_path / "project"
    _project(project, data)
    bucket = new_bucket(s3, f"resume-{secrets.token_hex(4)}")
    env = aws_env(s3.endpoint)

    s3.start_recording()
    first = run_stork("migrate", "nb.ipynb", "--to", f"s3://{bucket}/lake", "-o", "out.ipynb",
                      cwd=project, env=env, kill_after=2 * part + 1)
    first_requests = s3.stop_recording()
    assert killed(first), first.stderr
    job = only_job(project)
    assert job.status == "running" and job_state(job) == "interrupted"
    assert not (project / "out.ipynb").exists()
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    upload_id = big.state["upload_id"]  # recorded before the first part was sent
    key = "lake/nb/data/big.bin"
    before = s3.client().list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    held = {p["PartNumber"]: (p["ETag"], p["LastModified"]) for p in before}
    assert 2 <= len(held) < 6, held  # midway: some parts there, some not
    assert created_uploads(first_requests) == 1
    assert set(held) <= set(uploaded_parts(first_requests, key))
    assert object_keys(s3, bucket) in ([], ["lake/nb/data/small.csv"])

    s3.start_recording()
    resumed = run_stork("resume", str(job.id), cwd=project, env=env)
    requests = s3.stop_recording()
    assert resumed.returncode == 0, resumed.stderr

    sent_again = uploaded_parts(requests, key)
    assert sorted(sent_again) == sorted(set(range(1, 7)) - set(held))  # only the missing ones
    assert len(sent_again) == len(set(sent_again))  # each once
    assert created_uploads(requests) == 0  # the recorded upload went on, no new one
    assert sum(r["method"] == "POST" and "uploadId" in r["url"] for r in requests) == 1  # complete
    client = s3.client()
    obj = client.get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == data  # byte-identical
    assert obj["ETag"].strip('"') == _multipart_etag(data, part)  # as an uninterrupted upload
    assert obj["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert pending_uploads(s3, bucket) == []
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    assert big.state["listed_parts"] == sorted(held)
    assert big.parts_done == 6
    _assert_interrupted_then_completed(project, job.id)
    assert f"s3://{bucket}/{key}" in read_nb(project / "out.ipynb").cells[-1].source


# --------------------------------------------------------------------------- PostgreSQL


def _csv(rows: int) -> str:
    rng = random.Random(7)
    lines = ["id,city,amount,when"]
    for i in range(rows):
        lines.append(f"{i},{rng.choice(['Lyon', 'Oslo', 'Kyiv', ''])},{rng.random() * 1000:.3f},"
                     f"2024-0{1 + i % 9}-1{i % 10}")
    return "\n".join(lines) + "\n"


def test_postgres_copy_killed_midway_restarts_into_a_fresh_staging_table(tmp_path, pg_dsn):
    text = _csv(60_000)  # about 2 MB: 12 chunks of 5000 rows
    schema = f"resume_{secrets.token_hex(3)}"
    dest = f"{pg_dsn}?schema={schema}"
    project = tmp_path / "project"
    small_project(project, "import pandas as pd", "df = pd.read_csv('data/sales.csv')",
                  files={"data/sales.csv": text})
    (project / "stork.toml").write_text("[transfer]\nchunk_rows = 5000\n")

    first = run_stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", cwd=project,
                      kill_after=len(text) // 2)
    assert killed(first), first.stderr
    job = only_job(project)
    assert job_state(job) == "interrupted"
    wait_no_stork_sessions(pg_dsn)
    assert "sales" not in pg_tables(pg_dsn, schema)  # all or nothing: no half table

    resumed = run_stork("resume", str(job.id), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert pg_tables(pg_dsn, schema) == ["sales"]  # no staging table left
    _assert_interrupted_then_completed(project, job.id)

    # row-identical to an uninterrupted load of the same file
    other = tmp_path / "other"
    small_project(other, "import pandas as pd", "df = pd.read_csv('data/sales.csv')",
                  files={"data/sales.csv": text})
    clean = run_stork("migrate", "nb.ipynb", "--to", f"{pg_dsn}?schema={schema}_clean", "-o",
                      "out.ipynb", cwd=other)
    assert clean.returncode == 0, clean.stderr
    rows = pg_rows(pg_dsn, schema, "sales")
    assert len(rows) == 60_000
    assert rows == pg_rows(pg_dsn, f"{schema}_clean", "sales")
    [t] = transfers(project, job.id)
    assert t.rows == 60_000


# --------------------------------------------------------------------------- folder


def test_folder_copy_killed_midway_continues_from_its_offset(tmp_path):
    data = _big(12 * MB, seed=2)
    project = tmp_path / "project"
    _project(project, data)
    dest = tmp_path / "dest"

    first = run_stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", cwd=project,
                      kill_after=5 * MB, env=None)
    assert killed(first), first.stderr
    job = only_job(project)
    [part] = (dest / "nb" / "data").glob(f"big.bin.{job.id}-*.part")
    assert part.is_file() and 5 * MB <= part.stat().st_size < len(data)
    assert not (dest / "nb" / "data" / "big.bin").exists()
    written = part.stat().st_size

    resumed = run_stork("resume", str(job.id), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert (dest / "nb" / "data" / "big.bin").read_bytes() == data
    assert not part.exists()
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    assert big.state["resumed_at"] == written  # continued after the verified part
    _assert_interrupted_then_completed(project, job.id)


def test_folder_part_that_does_not_match_the_source_starts_over(tmp_path):
    data = _big(6 * MB, seed=3)
    project = tmp_path / "project"
    _project(project, data)
    dest = tmp_path / "dest"
    first = run_stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", cwd=project,
                      kill_after=3 * MB)
    assert killed(first)
    job = only_job(project)
    [part] = (dest / "nb" / "data").glob(f"big.bin.{job.id}-*.part")
    with open(part, "r+b") as f:  # the part on disk is damaged
        f.seek(MB)
        f.write(b"\0" * 16)

    resumed = run_stork("resume", str(job.id), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert (dest / "nb" / "data" / "big.bin").read_bytes() == data
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    assert big.state["resumed_at"] == 0


# --------------------------------------------------------------------------- Ctrl+C


def test_ctrl_c_pauses_the_job_and_resume_finishes_it(tmp_path):
    data = _big(8 * MB, seed=4)
    project = tmp_path / "project"
    _project(project, data)
    before = (project / "nb.ipynb").read_bytes()
    dest = tmp_path / "dest"

    first = run_stork("migrate", "nb.ipynb", "--to", dest, "--in-place", cwd=project,
                      kill_after=2 * MB, kill_signal="INT")
    assert first.returncode == 130, first.stderr
    job = only_job(project)
    assert f"job {job.id} paused" in first.stderr and f"stork resume {job.id}" in first.stderr
    assert "Traceback" not in first.stderr
    assert (project / "nb.ipynb").read_bytes() == before  # untouched until transfers finish
    assert job.status == "paused" and history(job) == ["running", "paused"]
    [big] = [t for t in transfers(project, job.id) if t.source == "data/big.bin"]
    assert big.status == "paused" and 2 * MB <= big.bytes_done < len(data)
    assert Path(big.state["part"]).name.startswith(f"big.bin.{job.id}-")

    resumed = run_stork("resume", str(job.id), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert (dest / "nb" / "data" / "big.bin").read_bytes() == data
    assert str(dest) in (project / "nb.ipynb").read_text()  # now rewritten in place
    job = get_job(project, job.id)
    assert history(job) == ["running", "paused", "running", "completed"]


def test_resume_refuses_a_completed_job_and_a_live_one(tmp_path):
    project = tmp_path / "project"
    _project(project, b"tiny")
    ok = run_stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb",
                   cwd=project)
    assert ok.returncode == 0, ok.stderr
    job = only_job(project)
    again = run_stork("resume", str(job.id), cwd=project)
    assert again.returncode != 0
    assert again.stderr.strip().splitlines() == [
        f"Error: job {job.id} is completed; there is nothing to resume"]
    missing = run_stork("resume", "999", cwd=project)
    assert missing.returncode != 0 and "No job with id 999" in missing.stderr


@pytest.fixture(scope="module")
def recording_s3(tmp_path_factory):
    with recording_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_stray_hook(monkeypatch):
    monkeypatch.delenv("STORK_TEST_KILL_AFTER_BYTES", raising=False)


def test_open_document_migration_killed_midway_resumes_from_its_copy(tmp_path):
    """A migration of an open document's unsaved content (the JupyterLab panel's) keeps
    that content beside its output: a resume rewrites the same cells, and the user's
    file is never written."""
    data = _big(8 * MB, seed=3)
    project = tmp_path / "project"
    notebook = _project(project, data)
    before = notebook.read_bytes()
    dest = tmp_path / "dest"
    unsaved = "blob = open('data/big.bin', 'rb').read()  # unsaved edit"
    script = (
        "import json, sys, nbformat\n"
        "from pathlib import Path\n"
        "from stork_jupyter.document import DocumentMigration\n"
        "nb = nbformat.read('nb.ipynb', as_version=4)\n"
        f"nb.cells[2].source = {unsaved!r}\n"
        f"DocumentMigration(Path('nb.ipynb'), {str(dest)!r}, content=nb).run()\n")
    env = {**os.environ, "STORK_TEST_KILL_AFTER_BYTES": str(3 * MB),
           "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-c", script], cwd=project, env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == -signal.SIGKILL, first.stderr
    job = only_job(project)
    assert job.notebook == "nb.ipynb"
    source = Path(job.options["cells_from"])
    assert source.name == "source.ipynb" and source.is_file()

    resumed = run_stork("resume", str(job.id), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert (dest / "nb" / "data" / "big.bin").read_bytes() == data
    output = read_nb(Path(job.options["output"]))
    assert output.cells[3].source == (
        f"blob = open('{dest}/nb/data/big.bin', 'rb').read()  # unsaved edit")
    assert notebook.read_bytes() == before
    _assert_interrupted_then_completed(project, job.id)


def test_resume_right_after_a_pause_waits_for_the_transfers_to_stop(tmp_path, monkeypatch):
    """Pause and Resume pressed in quick succession (the panel's buttons, both in the
    server's process): the resume waits for the paused runner to stop moving bytes, so
    that two copies never write the same file at once."""
    import threading
    import time

    from stork_jupyter.document import DocumentMigration
    from stork_jupyter.jobs import request_pause
    from stork_jupyter.resume import resume_job
    from stork_jupyter.store import Job, open_store

    monkeypatch.setenv("STORK_TEST_MAX_BYTES_PER_S", str(4 * MB))
    data = _big(8 * MB, seed=4)
    notebook = _project(tmp_path, data)
    dest = tmp_path / "dest"
    run = DocumentMigration(notebook, str(dest))
    outcome: list[BaseException] = []

    def migrate_in_background() -> None:
        try:
            run.run()
        except BaseException as e:  # the pause ends it with JobPaused
            outcome.append(e)

    worker = threading.Thread(target=migrate_in_background)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        job = None
        while job is None and time.monotonic() < deadline:  # a job that moved some bytes
            with open_store(tmp_path) as metadata:
                job = next((j for j in metadata.list(Job, limit=None) if j.progress), None)
            time.sleep(0.05)
        assert job is not None
        request_pause(job.id, root=tmp_path)
        result = resume_job(job.id, root=tmp_path)  # at once: the runner is still stopping
    finally:
        worker.join(60)
    assert [type(e).__name__ for e in outcome] == ["JobPaused"]
    assert result.job_id == job.id
    assert (dest / "nb" / "data" / "big.bin").read_bytes() == data
    assert get_job(tmp_path, job.id).status == "completed"
