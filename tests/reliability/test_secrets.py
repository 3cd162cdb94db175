"""A password never leaves the process (issue 11, item 10): one redaction helper, which
finds the user info by hand because a pasted password may hold an unencoded ``#``, ``/``
or ``?``, is what CLI errors, REST 400 bodies, the store and the notebook show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from migrate_support import assert_one_line_error, read_nb, small_project, stork

from stork_jupyter.store import Job, open_store
from stork_jupyter.urls import redact_url, scrub, split_password

pytest_plugins = ["pytest_jupyter.jupyter_server"]

CELLS = ("import pandas as pd", "df = pd.read_csv('data/a.csv')\nprint(df.x.sum())")
#: each password's halves are distinct, so neither half may show up anywhere
PASSWORDS = ["Kq7v#Wz3m", "Kq7v/Wz3m", "Kq7v?Wz3m", "Kq7v@Wz3m", "Kq7v:Wz3m"]


def _halves(password: str) -> list[str]:
    return [password, password[:4], password[5:]]


@pytest.mark.parametrize("password", PASSWORDS)
def test_redaction_drops_the_whole_password(password):
    for url in (f"postgresql://ann:{password}@db.example:5432/sales?schema=s",
                f"postgresql://ann:{password}@db.example/sales",
                f"s3://key:{password}@bucket/prefix"):
        shown = redact_url(url)
        assert not any(h in shown for h in _halves(password)), shown
        assert shown.startswith(url.split(":", 1)[0] + "://ann@" if "ann" in url else "s3")
        assert split_password(url)[1] == password


def test_redaction_leaves_urls_without_secrets_alone():
    for url in ("postgresql://ann@db:5432/sales?schema=s", "sqlite:////abs/stork.db",
                "s3://bucket/a:b@c.csv", "postgresql://db:5432/sales", "/plain/path",
                "postgresql://ann@db/x?schema=s#tables/t"):
        assert redact_url(url) == url
    assert redact_url("postgresql://ann@db/x?sslmode=require&password=zz") == \
        "postgresql://ann@db/x?sslmode=require"
    assert scrub("FATAL: bad value 'Kq7v#Wz3m' for port", "Kq7v#Wz3m") == \
        "FATAL: bad value '***' for port"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    small_project(folder, *CELLS)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("STORK_STORE", raising=False)
    return folder


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_refused_connection_does_not_print_the_password(project, password):
    url = f"postgresql://ann:{password}@127.0.0.1:1/sales"
    for args in (["--dry-run"], ["-o", "out.ipynb"]):
        result = stork("migrate", "nb.ipynb", "--to", url, *args, "--no-progress")
        line = assert_one_line_error(result, "127.0.0.1:1")
        assert not any(h in result.output + line for h in _halves(password)), line


def test_a_migration_with_a_password_in_the_url_keeps_it_out_of_everything(project, pg_dsn):
    # the test server trusts loopback connections, so the password is sent but not needed
    password = "Kq7v#Wz3m/x?y"
    url = pg_dsn.replace("://postgres@", f"://postgres:{password}@") + "?schema=secrets"
    assert password in url
    result = stork("migrate", "nb.ipynb", "--to", url, "-o", "out.ipynb", "--no-progress")
    assert result.exit_code == 0, result.output
    leaks = [p for p in project.rglob("*") if p.is_file() and any(
        h.encode() in p.read_bytes() for h in ("Kq7v", "Wz3m"))]
    assert leaks == []  # the notebook, the store (and its WAL) hold no part of it
    assert "Kq7v" not in result.output
    with open_store(project) as store:
        job = store.list(Job, limit=1)[0]
    assert "Kq7v" not in json.dumps(job.to_json(), default=str)
    assert "postgres@" in job.destination
    assert read_nb(project / "out.ipynb").cells  # written


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"stork_jupyter": True}}}


@pytest.mark.parametrize("password", PASSWORDS[:3])
async def test_a_rest_400_does_not_show_the_password(jp_fetch, jp_root_dir, monkeypatch,
                                                     password):
    monkeypatch.delenv("STORK_STORE", raising=False)
    small_project(jp_root_dir, *CELLS)
    for dry_run in (True, False):
        reply = await jp_fetch("stork", "api", "migrate", method="POST", raise_error=False,
                               body=json.dumps({"path": "nb.ipynb", "dry_run": dry_run,
                                                "to": f"postgresql://ann:{password}@"
                                                      "127.0.0.1:1/sales"}))
        text = reply.body.decode()
        assert reply.code == 400, text
        assert "127.0.0.1:1" in json.loads(text)["message"]
        assert not any(h in text for h in _halves(password)), text
