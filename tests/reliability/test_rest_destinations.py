"""REST migrations write only inside the server's root (issue 11, item 12): a folder
destination named in ``stork.toml`` is confined like one given in the request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from migrate_support import small_project

pytest_plugins = ["pytest_jupyter.jupyter_server"]

CELLS = ("import pandas as pd", "df = pd.read_csv('data/a.csv')")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"stork_jupyter": True}}}


async def _migrate(jp_fetch, to: str, **body) -> tuple[int, dict]:
    reply = await jp_fetch("stork", "api", "migrate", method="POST", raise_error=False,
                           body=json.dumps({"path": "nb.ipynb", "to": to, **body}))
    return reply.code, json.loads(reply.body.decode())


@pytest.mark.parametrize("form", ["{}", "file://{}", "../{}"])
async def test_a_stork_toml_folder_outside_the_root_is_refused(
        jp_fetch, jp_root_dir, tmp_path_factory, monkeypatch, form):
    monkeypatch.delenv("STORK_STORE", raising=False)
    outside = tmp_path_factory.mktemp("elsewhere") / "lake"
    small_project(jp_root_dir, *CELLS)
    where = (form.format(outside.as_posix()) if not form.startswith("..") else
             "../" * len(jp_root_dir.parts) + outside.as_posix().lstrip("/"))
    (jp_root_dir / "stork.toml").write_text(f'[destinations.out]\nurl = "{where}"\n')
    for dry_run in (True, False):
        code, reply = await _migrate(jp_fetch, "out", dry_run=dry_run)
        assert code == 403, reply
        assert "outside the server's root" in reply["message"] and "'out'" in reply["message"]
    assert not outside.exists()
    assert not (jp_root_dir / ".stork" / "outputs").exists()


async def test_a_stork_toml_folder_inside_the_root_still_works(jp_fetch, jp_root_dir,
                                                                monkeypatch):
    monkeypatch.delenv("STORK_STORE", raising=False)
    small_project(jp_root_dir, *CELLS)
    (jp_root_dir / "stork.toml").write_text('[destinations.out]\nurl = "lake"\n')
    code, reply = await _migrate(jp_fetch, "out", dry_run=True)
    assert code == 200, reply
    assert Path(reply["destination"]) == (jp_root_dir / "lake").resolve()
