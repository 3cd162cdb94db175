"""Failures (issue 3, Done when): unreachable S3 endpoint, missing bucket, bad
credentials, missing source file, destination not writable. Each leaves the notebook
byte-for-byte as it was, writes no output notebook, and says what went wrong in one
line on stderr (no traceback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from migrate_support import assert_one_line_error, bucket_keys, small_project, stork, tree

from stork_jupyter.errors import StorkError
from stork_jupyter.migrate import migrate
from stork_jupyter.store import Job, Transfer, open_store
from stork_jupyter.transfer import NullReporter

CELLS = ("import pandas as pd", "a = pd.read_csv('data/a.csv')", "b = pd.read_csv('data/b.csv')")
FILES = {"data/a.csv": "x\n1\n", "data/b.csv": "y\n2\n"}
SERVER_START_TIMEOUT = 30  # seconds


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    small_project(folder, *CELLS, files=FILES)
    monkeypatch.chdir(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _migrate_fails(project: Path, dest: str | Path, *expected: str) -> str:
    """``stork migrate nb.ipynb --to DEST`` with -o and with --in-place: both fail in
    one line and leave every file of the project as it was."""
    before = tree(project)
    line = assert_one_line_error(
        stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb"), *expected)
    assert_one_line_error(stork("migrate", "nb.ipynb", "--to", dest, "--in-place"), *expected)
    after = tree(project)
    after.pop(".stork/stork.db", None)  # the store may record the failed job
    # ...and keep the notebook's exact bytes for undo (.stork/originals, by sha256)
    after = {k: v for k, v in after.items() if not k.startswith(".stork/originals/")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".stork/")}
    return line


# --------------------------------------------------------------------------- S3


def test_unreachable_s3_endpoint(project, s3_endpoint, monkeypatch):
    endpoint = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    _migrate_fails(project, f"{s3_endpoint.url}/lake", "cannot reach S3", endpoint)


def test_missing_bucket(project, s3_endpoint):
    _migrate_fails(project, "s3://no-such-bucket-for-stork/lake",
                   "bucket 'no-such-bucket-for-stork' does not exist")
    assert bucket_keys(s3_endpoint) == []


@pytest.fixture(scope="module")
def strict_s3() -> Iterator[str]:
    """A second moto server, in its own process, that checks credentials
    (``INITIAL_NO_AUTH_ACTION_COUNT=0``: authentication from the first request on), so
    keys it does not know are refused like AWS refuses them."""
    server = Path(sys.executable).with_name("moto_server")
    if not server.exists():
        pytest.skip("moto[server] is not installed")
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the credential-checking moto server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_bad_credentials(project, s3_endpoint, strict_s3, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", strict_s3)
    # built from parts: no key-shaped literal in the repo
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + "NOTAKNOWNKEY0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    line = _migrate_fails(project, f"{s3_endpoint.url}/lake", "refused the credentials")
    assert "not-the-secret" not in line


def test_no_credentials_at_all(project, s3_endpoint, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    _migrate_fails(project, f"{s3_endpoint.url}/lake", "no AWS credentials")


# --------------------------------------------------------------------------- sources


def test_missing_source_file(project, tmp_path):
    (project / "data" / "b.csv").unlink()
    line = _migrate_fails(project, tmp_path / "dest", "data/b.csv", "does not exist",
                          "nothing was changed")
    assert "cell 4, line 1" in line
    assert tree(tmp_path / "dest") == {}  # a.csv was not sent either


def test_source_file_vanishing_during_the_transfer(project, tmp_path):
    """b.csv disappears after a.csv started moving: the job fails with one clear
    sentence, the notebook is untouched and no output is written."""
    before = (project / "nb.ipynb").read_bytes()

    class Vanish(NullReporter):
        def update(self, progress):  # a.csv's first report: b.csv goes away
            if progress.dataset is not None:
                (project / "data" / "b.csv").unlink(missing_ok=True)

    with pytest.raises(StorkError) as failure:
        migrate(project / "nb.ipynb", str(tmp_path / "dest"), output=project / "out.ipynb",
                progress=Vanish())
    message = str(failure.value)
    assert "data/b.csv" in message and "\n" not in message
    assert (project / "nb.ipynb").read_bytes() == before
    assert not (project / "out.ipynb").exists()
    with open_store(project) as metadata:
        [job] = metadata.list(Job)
        transfers = metadata.list(Transfer, order="oldest")
    assert job.status == "failed" and "data/b.csv" in job.error
    assert [t.status for t in transfers] == ["completed", "failed"]


# --------------------------------------------------------------------------- destination


def test_destination_folder_not_writable(project, tmp_path):
    # tests run as root, where chmod does not stop writes: a path through a regular
    # file cannot be created by anyone
    (tmp_path / "somefile").write_text("a file, not a folder")
    _migrate_fails(project, tmp_path / "somefile" / "sub", "somefile/sub", "cannot be created")
    assert (tmp_path / "somefile").read_text() == "a file, not a folder"


def test_malformed_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.ipynb").write_text("{ not json")
    result = stork("migrate", "bad.ipynb", "--to", tmp_path / "dest", "--in-place")
    assert_one_line_error(result, "bad.ipynb", "not a notebook")
    assert (tmp_path / "bad.ipynb").read_text() == "{ not json"


def test_missing_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = stork("migrate", "nope.ipynb", "--to", tmp_path / "dest", "-o", "o.ipynb")
    assert_one_line_error(result, "nope.ipynb", "no such notebook")
    assert not (tmp_path / "o.ipynb").exists()
