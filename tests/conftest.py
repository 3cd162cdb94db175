"""Shared test harness: a real PostgreSQL database, a real S3 API server, the example
project and a notebook runner.

- ``pg_dsn`` (session): URL of a fresh database ``stork_test_<hex>`` on the server named
  by ``STORK_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``),
  dropped at the end of the session.
- ``s3_server`` (session): a moto S3 server on 127.0.0.1; ``s3_endpoint`` (function):
  the AWS environment pointed at it (inherited by kernels the test starts) and a fresh
  bucket.
- ``example_project`` (function): a copy of ``notebooks/`` with its data generated.
- ``run_nb`` (function): ``run_nb(path, cwd=None, **kw) -> (executed_nb, outputs)``.

Every server is bound to 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
EXAMPLE_NOTEBOOKS = ("sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_START_TIMEOUT = 30  # seconds


# --------------------------------------------------------------------------- PostgreSQL


def _with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database (URL or key=value DSN)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, dbname=dbname)


def _redact(dsn: str) -> str:
    if "://" in dsn:
        parts = urlsplit(dsn)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    return dsn


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """The server given by ``STORK_TEST_PG`` (its maintenance database)."""
    return os.environ.get("STORK_TEST_PG") or DEFAULT_PG


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """URL of a fresh, empty database; dropped (``WITH (FORCE)``) after the session."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    name = f"stork_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(pg_admin_dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {_redact(pg_admin_dsn)} is not reachable ({str(exc).strip()}); "
            "run scripts/ensure_postgres.sh or set STORK_TEST_PG",
            pytrace=False,
        )
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(pg_admin_dsn, name)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True, connect_timeout=10) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --------------------------------------------------------------------------- S3


@dataclass(frozen=True)
class S3Endpoint:
    """A bucket on the test S3 server."""

    endpoint_url: str
    bucket: str

    @property
    def url(self) -> str:
        """``s3://<bucket>``"""
        return f"s3://{self.bucket}"

    def client(self) -> Any:
        """A boto3 S3 client pointed at the server (credentials from the environment)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (a free port); yields its endpoint URL."""
    pytest.importorskip("moto")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(SERVER_START_TIMEOUT)
    if starter.is_alive():
        pytest.fail(f"the moto S3 server did not start within {SERVER_START_TIMEOUT} s")
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        stopper = threading.Thread(target=server.stop, daemon=True)
        stopper.start()
        stopper.join(SERVER_START_TIMEOUT)


def _clear_fs_caches() -> None:
    try:
        import s3fs
    except ImportError:  # pragma: no cover - s3 extra not installed
        return
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3_endpoint(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Endpoint]:
    """The AWS environment pointed at the test server, and a fresh bucket in it.

    The variables are set in ``os.environ`` (so kernels and subprocesses the test
    starts inherit them) and restored afterwards.
    """
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    missing = str(REPO / ".no-aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", missing)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    no_proxy = ",".join(p for p in (os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost") if p)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("no_proxy", no_proxy)

    endpoint = S3Endpoint(endpoint_url=s3_server, bucket=f"stork-test-{secrets.token_hex(6)}")
    _clear_fs_caches()
    endpoint.client().create_bucket(Bucket=endpoint.bucket)
    try:
        yield endpoint
    finally:
        _clear_fs_caches()


# --------------------------------------------------------------------------- notebooks


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A copy of ``notebooks/`` (the three examples and make_data.py) with its data made.

    Returns the copied folder; the notebooks read ``data/`` and write ``out/`` in it.
    """
    return _make_example_project(tmp_path)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project with its data generated, shared by the session: never change
    it (copy it first)."""
    return _make_example_project(tmp_path_factory.mktemp("pristine"))


@pytest.fixture(scope="session")
def originals(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each example executed once on its local data (in a scratch copy of the project):
    the outputs every migrated copy must reproduce."""
    from stork_jupyter.execute import execute_notebook

    scratch = tmp_path_factory.mktemp("originals") / "notebooks"
    shutil.copytree(pristine, scratch)
    return {name: execute_notebook(scratch / name, timeout=120) for name in EXAMPLE_NOTEBOOKS}


def _make_example_project(base: Path) -> Path:
    project = base / "notebooks"
    project.mkdir()
    for name in (*EXAMPLE_NOTEBOOKS, "make_data.py"):
        shutil.copy2(NOTEBOOKS / name, project / name)
    proc = subprocess.run(
        [sys.executable, str(project / "make_data.py")],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"make_data.py failed:\n{proc.stdout}\n{proc.stderr}")
    return project


RunNb = Callable[..., tuple[Any, list[list[dict[str, str]]]]]


@pytest.fixture
def run_nb() -> RunNb:
    """``run_nb(path, cwd=None, **kw) -> (executed_nb, outputs)``.

    Executes the notebook in a fresh ``python3`` kernel on this interpreter (cwd: the
    notebook's folder unless given); ``kw`` goes to
    :func:`stork_jupyter.execute.execute_notebook` (``timeout``, ``env``,
    ``allow_errors``). ``outputs`` is :func:`stork_jupyter.execute.cell_outputs` of the
    executed notebook. A failing cell raises ``ExecutionError``.
    """
    from stork_jupyter.execute import cell_outputs, execute_notebook

    def run(path: Path | str, cwd: Path | str | None = None, **kw: Any):
        nb = execute_notebook(Path(path), cwd=cwd, **kw)
        return nb, cell_outputs(nb)

    return run


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item: the browser fixtures look at it to
    save a screenshot of a failed test's page."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
