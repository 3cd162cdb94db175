"""schemathesis against ``openapi.yaml``: requests generated from the description of every
route, sent to a real jupyter_server (started by the test on 127.0.0.1, with a token)
whose root is a small project with a store holding a migration, get no 5xx and answers
that match the description (status codes, content type, response schemas)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from migrate_support import small_project
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stork_jupyter.server import OPENAPI

START_TIMEOUT = 30  # seconds for the server to answer
JOB_TIMEOUT = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A jupyter_server with the extension enabled, its root a project that migrated once
    (so ids 1, 2... exist); yields (API base URL, auth headers)."""
    base = tmp_path_factory.mktemp("schemathesis")
    root = base / "root"
    small_project(root, "import json\nimport pandas as pd",
                  "df = pd.read_csv('data/a.csv')",
                  'with open("data/cfg.json") as f:\n    cfg = json.load(f)')
    (root / "stork.toml").write_text('[destinations.local]\nurl = "migrated"\n')
    config = base / "jupyter_server_config.json"
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"stork_jupyter": True}}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "STORK_STORE"}
    # nothing generated may reach another machine: S3 and PostgreSQL go to closed ports
    env.update({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                "PGHOST": "127.0.0.1", "PGPORT": "9", "PGCONNECT_TIMEOUT": "2",
                "JUPYTER_CONFIG_DIR": str(base / "config"),
                "JUPYTER_RUNTIME_DIR": str(base / "runtime")})
    args = [sys.executable, "-m", "jupyter_server", f"--config={config}", "--no-browser",
            "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = (base / "server.log").open("w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{url}/api/status", headers=headers, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter_server did not start: {(base / 'server.log').read_text()}")
            time.sleep(0.1)
        api = f"{url}/stork/api"
        reply = requests.post(f"{api}/migrate", headers=headers, timeout=30,
                              json={"path": "nb.ipynb", "to": "local"})
        assert reply.status_code == 202, reply.text
        job_url = f"{api}/jobs/{reply.json()['job_id']}"
        deadline = time.monotonic() + JOB_TIMEOUT
        while requests.get(job_url, headers=headers, timeout=5).json()["status"] != "completed":
            assert time.monotonic() < deadline, "the seed migration did not complete"
            time.sleep(0.1)
        yield api, headers
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_no_server_errors_and_answers_as_described(case, server):
    base_url, headers = server
    body = case.body if isinstance(case.body, dict) else {}
    to = body.get("to")
    if isinstance(to, str) and "://" in to and not to.startswith("file://"):
        body["to"] = "local"  # generated URLs never name a real host
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)


def test_the_seeded_ids_exist(server):
    base_url, headers = server
    for entity in ("datasets", "jobs", "records", "transfers"):
        reply = requests.get(f"{base_url}/{entity}/1", headers=headers, timeout=5)
        assert reply.status_code == 200, (entity, reply.text)
