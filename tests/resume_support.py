"""Helpers for the resume / cancel / import / sync tests: the ``stork`` CLI run in a real
subprocess (so it can be killed), a moto S3 server of our own that records requests, and
small checks on the store.

The kill point is the transfer runner's test hook: ``STORK_TEST_KILL_AFTER_BYTES=N``
makes the stork process send itself SIGKILL (or ``STORK_TEST_KILL_SIGNAL``) once N bytes
have moved (see ``stork_jupyter.transfer.TEST_KILL_ENV``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stork_jupyter.store import Job, Transfer, open_store

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 120  # seconds for one stork command
SERVER_START_TIMEOUT = 30


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_stork(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
              kill_after: int | None = None, kill_signal: str | None = None,
              timeout: float = RUN_TIMEOUT) -> Run:
    """``python -m stork_jupyter.cli ARGS`` in ``cwd``, in its own process."""
    full = dict(os.environ if env is None else env)
    full.pop("STORK_TEST_KILL_AFTER_BYTES", None)
    full.pop("STORK_TEST_KILL_SIGNAL", None)
    if kill_after is not None:
        full["STORK_TEST_KILL_AFTER_BYTES"] = str(kill_after)
    if kill_signal is not None:
        full["STORK_TEST_KILL_SIGNAL"] = kill_signal
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "stork_jupyter.cli", *map(str, args)],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def killed(run: Run) -> bool:
    return run.returncode == -signal.SIGKILL


def only_job(project: Path, kind: str = "migrate") -> Job:
    with open_store(project) as metadata:
        jobs = metadata.list(Job, kind=kind, limit=None)
    assert len(jobs) == 1, jobs
    return jobs[0]


def get_job(project: Path, job_id: int) -> Job:
    with open_store(project) as metadata:
        return metadata.get(Job, job_id)


def transfers(project: Path, job_id: int) -> list[Transfer]:
    with open_store(project) as metadata:
        return metadata.list(Transfer, job_id=job_id, limit=None, order="oldest")


def history(job: Job) -> list[str]:
    return [h["status"] + (" (interrupted)" if "interrupted" in h.get("note", "") else "")
            for h in job.options["history"]]


# --------------------------------------------------------------------------- S3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_env(endpoint: str) -> dict[str, str]:
    """This process's environment pointed at ``endpoint`` with test credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    missing = str(REPO / ".no-aws-config")
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    return env


@dataclass
class RecordingS3:
    """A moto S3 server in its own process whose request recorder (moto's
    ``/moto-api/recorder/*``) writes every request it receives to ``log``."""

    endpoint: str
    log: Path

    def _api(self, action: str) -> str:
        url = f"{self.endpoint}/moto-api/recorder/{action}"
        method = "GET" if action == "download-recording" else "POST"
        req = urllib.request.Request(url, method=method, data=None if method == "GET" else b"")
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.read().decode()

    def start_recording(self) -> None:
        self._api("reset-recording")
        self._api("start-recording")

    def stop_recording(self) -> list[dict]:
        self._api("stop-recording")
        return [json.loads(line) for line in self._api("download-recording").splitlines()
                if line.strip()]

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def uploaded_parts(requests: list[dict], key: str) -> list[int]:
    """Part numbers of the UploadPart requests for ``key`` in a recording, in order."""
    numbers = []
    for r in requests:
        url = urlsplit(r["url"])
        query = parse_qs(url.query)
        if r["method"] == "PUT" and "partNumber" in query and url.path.endswith("/" + key):
            numbers.append(int(query["partNumber"][0]))
    return numbers


def created_uploads(requests: list[dict]) -> int:
    """How many CreateMultipartUpload requests (``POST /key?uploads``) a recording holds."""
    return sum(r["method"] == "POST" and "uploads" in parse_qs(
        urlsplit(r["url"]).query, keep_blank_values=True) for r in requests)


#: ``moto.server``'s own app, served by ONE thread: moto's recorder appends each request
#: to its log without a lock, so concurrent requests (parallel part uploads) would
#: interleave their lines. One request at a time (HTTP/1.0, no keep-alive) keeps it exact.
_SERVER = """
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app),
           threaded=False, use_reloader=False, request_handler=MotoRequestHandler)
"""


@contextmanager
def recording_s3_server(folder: Path) -> Iterator[RecordingS3]:
    """Start the server (its log in ``folder``); a test module makes it a fixture."""
    pytest.importorskip("moto")
    port = free_port()
    env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(folder / "requests.jsonl"),
           "MOTO_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the recording moto server did not start")
                time.sleep(0.1)
        yield RecordingS3(endpoint, folder / "requests.jsonl")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def new_bucket(s3: RecordingS3, name: str) -> str:
    s3.client().create_bucket(Bucket=name)
    return name


def pending_uploads(s3: RecordingS3, bucket: str) -> list[dict]:
    return s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def object_keys(s3: RecordingS3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get(
        "Contents", []))


# --------------------------------------------------------------------------- PostgreSQL


def pg_tables(dsn: str, schema: str) -> list[str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = %s ORDER BY 1", (schema,)).fetchall()
    return [r[0] for r in rows]


def pg_rows(dsn: str, schema: str, table: str) -> list[tuple]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY _stork_row").format(
            sql.Identifier(schema, table))).fetchall()


def wait_no_stork_sessions(dsn: str, timeout: float = 30) -> None:
    """Until the server has noticed that a killed client's connection is gone (its
    transaction rolled back)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             "'stork' AND datname = current_database()").fetchone()[0]
            if n == 0:
                return
            time.sleep(0.1)
    raise AssertionError("a killed stork's PostgreSQL session did not end")
