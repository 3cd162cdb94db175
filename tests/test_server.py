"""The REST API of the server extension (issue 7), through jupyter_server's own test
fixtures (pytest-jupyter): every route, authentication and authorisation, paths confined
to the server root, errors as JSON, a real migration started over REST and its edits."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from jupyter_server.auth import Authorizer
from migrate_support import SMALL_FILES, read_nb, small_project, tree, write_nb

from stork_jupyter.server import OPENAPI
from stork_jupyter.server.routes import NAMESPACE, ROUTES, route_methods
from stork_jupyter.store import Job, Record, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

READ_CELLS = (
    "import json\nimport pandas as pd",
    "df = pd.read_csv('data/a.csv')  # the orders\ndf.shape",
    'with open("data/cfg.json") as f:\n    cfg = json.load(f)',
)
STORK_TOML = '[destinations.local]\nurl = "migrated"\n'
JOB_DEADLINE = 60  # seconds a migration of two small files may take, at most


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"stork_jupyter": True}}}


@pytest.fixture(autouse=True)
def _default_store(monkeypatch):
    monkeypatch.delenv("STORK_STORE", raising=False)


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    """The server root is a project: nb.ipynb reading data/a.csv and data/cfg.json, and a
    stork.toml naming the destination ``local`` (the folder ``migrated`` in the root)."""
    small_project(jp_root_dir, *READ_CELLS)
    (jp_root_dir / "stork.toml").write_text(STORK_TOML)
    return jp_root_dir


@pytest.fixture
def api(jp_fetch):
    """``await api(*parts, method=, body=, params=, expect=)`` -> the JSON reply, after
    checking its status; an error reply is checked to be one message, no traceback."""

    async def call(*parts: str, method: str = "GET", body: Any = None,
                   params: dict | None = None, expect: int = 200,
                   headers: dict | None = None) -> Any:
        kwargs: dict[str, Any] = {"method": method, "params": params, "raise_error": False}
        if method != "GET":
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
        if headers is not None:
            kwargs["headers"] = headers
        response = await jp_fetch("stork", "api", *parts, **kwargs)
        text = response.body.decode()
        assert response.code == expect, f"{response.code}: {text}"
        assert response.headers["Content-Type"].startswith("application/json")
        data = json.loads(text)
        if expect >= 400:
            assert isinstance(data["message"], str) and data["message"], data
            assert set(data) <= {"message", "blockers", "next_steps"}, data
            assert "Traceback" not in text
        return data

    return call


def model(path: Path) -> dict:
    """The notebook as JupyterLab sends its document model: JSON, sources as lists of lines."""
    data = json.loads(path.read_text())
    for cell in data["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True) if isinstance(
            cell["source"], str) else cell["source"]
    return data


async def wait_for(api, job_id: int, **params: str) -> dict:
    """Poll the job until it is finished (completed, failed, cancelled, paused)."""
    deadline = time.monotonic() + JOB_DEADLINE
    while True:
        job = await api("jobs", str(job_id), params=params or None)
        if job["status"] in ("completed", "failed", "cancelled", "paused"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}: {job}"
        await asyncio.sleep(0.1)


def add_jobs(root: Path, n: int, **fields: Any) -> list[int]:
    with open_store(root) as store:
        project = store.ensure_project(root)
        return [store.save(Job(project_id=project.id, kind=fields.get("kind", "import"),
                               notebook=f"nb{i}.ipynb", options=fields.get("options", {}),
                               status=fields.get("status", "completed"))).id
                for i in range(n)]


# --------------------------------------------------------------------------- the routes


def test_every_route_is_in_openapi_and_back():
    spec = yaml.safe_load(OPENAPI.read_text())
    assert spec["servers"] == [{"url": NAMESPACE}]
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    served = {(template, method) for template, handler in ROUTES
              for method in route_methods(handler)}
    assert served == documented
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            params = {p.get("name") for p in op.get("parameters", []) if "name" in p}
            refs = {p["$ref"].rsplit("/", 1)[1] for p in op.get("parameters", []) if "$ref" in p}
            if "{id}" in path:
                assert "id" in refs, (path, method)
            assert "responses" in op and "403" in op["responses"], (path, method)
            assert params or refs or method == "post", (path, method)


async def test_extension_is_enabled_and_lists_destinations(api, project):
    reply = await api("destinations")
    assert reply == {"destinations": [
        {"name": "local", "url": "migrated", "kind": "file", "layout": "mirror"}]}


async def test_destinations_of_each_kind_and_a_bad_stork_toml(api, jp_root_dir):
    toml = jp_root_dir / "stork.toml"
    toml.write_text('[destinations.lake]\nurl = "s3://bucket/prefix"\nlayout = "flat"\n'
                    '[destinations.db]\nurl = "postgresql://reader@db.example/sales"\n')
    reply = await api("destinations")
    assert reply["destinations"] == [
        {"name": "lake", "url": "s3://bucket/prefix", "kind": "s3", "layout": "flat"},
        {"name": "db", "url": "postgresql://reader@db.example/sales", "kind": "postgresql",
         "layout": "mirror"}]
    secret = "hunter" + "2"
    user_and_secret = "u:" + secret
    toml.write_text(f'[destinations.db]\nurl = "postgresql://{user_and_secret}@h/db"\n')
    reply = await api("destinations", expect=400)
    assert "password or token" in reply["message"] and secret not in reply["message"]
    assert reply["message"].startswith("stork.toml: ")  # relative to the server root
    toml.write_text("[destinations\n")
    await api("destinations", expect=400)


async def test_lists_are_empty_before_anything_happened_and_create_nothing(api, project):
    for entity in ("datasets", "jobs", "records", "transfers"):
        assert await api(entity) == {"items": [], "total": 0, "limit": 50, "offset": 0}
        await api(entity, "1", expect=404)
    assert not (project / ".stork").exists()


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(("method", "parts"), [
    ("GET", ("datasets",)), ("GET", ("jobs", "1")), ("GET", ("destinations",)),
    ("POST", ("analyze",)), ("POST", ("migrate",)), ("POST", ("jobs", "1", "cancel")),
    ("GET", ("no", "such", "endpoint")),
])
@pytest.mark.parametrize("authorization", ["", "token not-the-token"])
async def test_without_the_token_every_route_is_refused(api, project, method, parts,
                                                        authorization):
    body = {"path": "nb.ipynb", "to": "local"} if method == "POST" else None
    await api(*parts, method=method, body=body, expect=403,
              headers={"Authorization": authorization})
    assert not (project / ".stork").exists() and not (project / "migrated").exists()


class DenyStork(Authorizer):
    """Authorises everything but the ``stork`` resource."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "stork"


class TestAuthorization:
    @pytest.fixture
    def jp_server_config(self):
        return {"ServerApp": {"jpserver_extensions": {"stork_jupyter": True},
                              "authorizer_class": DenyStork}}

    async def test_an_authenticated_user_without_the_stork_permission_is_refused(
            self, api, project, jp_fetch):
        status = await jp_fetch("api", "status")  # the rest of the server answers
        assert status.code == 200
        reply = await api("jobs", expect=403)
        assert "stork" in reply["message"]
        await api("analyze", method="POST", body={"path": "nb.ipynb"}, expect=403)


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path", ["../outside.ipynb", "/etc/passwd", "sub/../../x.ipynb",
                                  "~/nb.ipynb", "link/nb.ipynb"])
async def test_paths_outside_the_root_are_refused(api, project, tmp_path, path):
    outside = tmp_path / "outside"
    small_project(outside, *READ_CELLS)
    (project / "link").symlink_to(outside, target_is_directory=True)
    reply = await api("analyze", method="POST", body={"path": path}, expect=403)
    assert "outside the server's root" in reply["message"]
    await api("migrate", method="POST", body={"path": path, "to": "local"}, expect=403)
    await api("jobs", params={"path": path}, expect=403)
    await api("datasets", params={"notebook": path}, expect=403)
    await api("destinations", params={"path": path}, expect=403)


@pytest.mark.parametrize("to", ["/tmp/stork-elsewhere", "../elsewhere", "file:///tmp/x",
                                "~/data"])
async def test_folder_destinations_outside_the_root_are_refused(api, project, to):
    reply = await api("migrate", method="POST", body={"path": "nb.ipynb", "to": to},
                      expect=403)
    assert "destination folder" in reply["message"]
    assert not Path("/tmp/stork-elsewhere").exists()


# --------------------------------------------------------------------------- analyze


async def test_analyze_the_open_document_with_its_unsaved_edits(api, project):
    content = model(project / "nb.ipynb")
    content["cells"].append({"cell_type": "code", "id": "new", "metadata": {}, "outputs": [],
                             "execution_count": None,
                             "source": ["df.to_parquet('data/out.parquet')"]})
    reply = await api("analyze", method="POST", body={"path": "nb.ipynb", "content": content})
    found = {(a["api"], a["path"], a["mode"]) for a in reply["accesses"]}
    assert found == {("pandas.read_csv", "data/a.csv", "read"),
                     ("open", "data/cfg.json", "read"),
                     ("pandas.DataFrame.to_parquet", "data/out.parquet", "write")}
    assert reply["counts"] == {"accesses": 3, "reads": 2, "writes": 1, "unresolved": 0,
                               "problems": 0}
    write = next(a for a in reply["accesses"] if a["mode"] == "write")
    assert (write["cell_id"], write["cell_index"], write["line"]) == ("new", 4, 1)
    # like `stork analyze`: remembered in the project's store
    jobs = await api("jobs", params={"kind": "analyze"})
    assert jobs["total"] == 1 and jobs["items"][0]["path"] == "nb.ipynb"
    datasets = await api("datasets")
    assert sorted(d["source_path"] for d in datasets["items"]) == sorted(SMALL_FILES)


async def test_analyze_the_saved_notebook_without_recording(api, project):
    reply = await api("analyze", method="POST", body={"path": "nb.ipynb", "record": False})
    assert reply["counts"]["reads"] == 2
    assert not (project / ".stork").exists()


async def test_analyze_reports_cells_it_cannot_parse(api, project):
    content = model(project / "nb.ipynb")
    content["cells"][1]["source"] = "df = pd.read_csv('data/a.csv'\n"
    reply = await api("analyze", method="POST",
                      body={"path": "nb.ipynb", "content": content, "record": False})
    assert [p["cell_index"] for p in reply["problems"]] == [1]


@pytest.mark.parametrize("content", [
    [], "nb", {"nbformat": 4}, {"cells": [], "nbformat": 99},
    {"cells": "x", "nbformat": 4, "nbformat_minor": 5, "metadata": {}},
    {"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4, "nbformat_minor": 5,
     "metadata": {}},
    {"cells": [{"cell_type": "nonsense", "source": "x"}], "nbformat": 4, "nbformat_minor": 5,
     "metadata": {}},
])
async def test_a_malformed_notebook_model_is_a_400(api, project, content):
    reply = await api("analyze", method="POST", body={"path": "nb.ipynb", "content": content},
                      expect=400)
    assert reply["message"].startswith("nb.ipynb: ")
    await api("migrate", method="POST", expect=400,
              body={"path": "nb.ipynb", "to": "local", "dry_run": True, "content": content})


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "not valid JSON"), (b"\xff\xfe\x00", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"), ('{"path": "\\ud800.ipynb"}', "not valid JSON"),
    ({}, "path is required"), ({"path": 3}, "path must be a string"),
    ({"path": "nb.ipynb", "record": "yes"}, "record must be a boolean"),
    ({"path": "x" * 300 + ".ipynb"}, "too long"), ({"path": "a\x00b"}, "NUL"),
    ({"path": ""}, "a folder"), ({"path": "data"}, "a folder"),
])
async def test_a_bad_analyze_request_is_a_400(api, project, body, message):
    reply = await api("analyze", method="POST", body=body, expect=400)
    assert message in reply["message"]


async def test_analyze_a_missing_notebook_is_a_404(api, project):
    await api("analyze", method="POST", body={"path": "missing.ipynb"}, expect=404)
    await api("analyze", method="POST", expect=404,
              body={"path": "nowhere/nb.ipynb", "content": model(project / "nb.ipynb")})
    # the open document of a notebook not saved yet, in an existing folder, is fine
    await api("analyze", method="POST", body={"path": "new.ipynb", "record": False,
                                              "content": model(project / "nb.ipynb")})


# --------------------------------------------------------------------------- migrate


async def test_dry_run_returns_the_diff_and_changes_nothing(api, project):
    before = tree(project)
    reply = await api("migrate", method="POST",
                      body={"path": "nb.ipynb", "to": "local", "dry_run": True})
    dest = (project / "migrated").as_posix()
    assert reply["destination"] == dest
    assert [c["cell_index"] for c in reply["changes"]] == [2, 3]
    assert reply["changes"][0]["new_source"] == (
        f"df = pd.read_csv('{dest}/nb/data/a.csv')  # the orders\ndf.shape")
    assert "--- a/nb.ipynb cell 3" in reply["diff"]
    assert f"+df = pd.read_csv('{dest}/nb/data/a.csv')" in reply["diff"]
    assert sorted(m["source"] for m in reply["plan"]["moves"]) == sorted(SMALL_FILES)
    assert reply["blockers"] == []
    assert reply["setup_cell"]["index"] == 1 and dest in reply["setup_cell"]["source"]
    assert tree(project) == before


async def test_dry_run_of_the_open_document(api, project):
    content = model(project / "nb.ipynb")
    content["cells"][2]["source"] = ["df = pd.read_csv('data/a.csv', nrows=1)"]
    reply = await api("migrate", method="POST", body={
        "path": "nb.ipynb", "to": "out/dest", "dry_run": True, "content": content})
    dest = (project / "out" / "dest").as_posix()
    assert reply["changes"][0]["new_source"] == (
        f"df = pd.read_csv('{dest}/nb/data/a.csv', nrows=1)")
    assert not (project / "out").exists()


async def test_migration_in_the_background_returns_its_cell_edits(api, project):
    before = (project / "nb.ipynb").read_bytes()
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": "nb.ipynb", "to": "local",
                            "content": model(project / "nb.ipynb")})
    job_id = reply["job_id"]
    assert reply["url"].endswith(f"/stork/api/jobs/{job_id}?path=nb.ipynb")
    job = await wait_for(api, job_id)
    assert job["status"] == "completed", job
    assert job["kind"] == "migrate" and job["progress"] == 1.0
    assert job["notebook"] == "nb.ipynb" and job["path"] == "nb.ipynb"
    assert job["totals"] == {"transfers": 2, "transfers_done": 2,
                             "bytes_total": sum(map(len, SMALL_FILES.values())),
                             "bytes_done": sum(map(len, SMALL_FILES.values()))}
    assert {t["status"] for t in job["transfers"]} == {"completed"}

    # the edits, for the frontend to apply to the open document
    dest = (project / "migrated").as_posix()
    original = read_nb(project / "nb.ipynb")
    edits = job["edits"]
    assert [(e["cell_index"], e["cell_id"]) for e in edits] == [
        (2, original.cells[2].id), (3, original.cells[3].id)]
    assert edits[0]["original_source"] == original.cells[2].source
    assert edits[0]["new_source"] == (
        f"df = pd.read_csv('{dest}/nb/data/a.csv')  # the orders\ndf.shape")
    assert edits[0]["apis"] == ["pandas.read_csv"] and edits[0]["status"] == "applied"
    setup = job["setup_cell"]
    assert setup["index"] == 1 and setup["metadata"]["stork"]["setup"] is True
    assert dest in setup["source"]

    # the data moved; the user's file did not change (-o semantics)
    assert (project / "nb.ipynb").read_bytes() == before
    assert tree(project / "migrated" / "nb" / "data") == tree(project / "data")
    output = Path(job["options"]["output"])
    assert output.parent.parent == project / ".stork" / "outputs"
    assert read_nb(output).cells[3].source == edits[0]["new_source"]

    # the store names the user's notebook, so the lists and `stork undo` find it
    records = await api("records", params={"notebook": "nb.ipynb"})
    assert records["total"] == 2 and {r["job_id"] for r in records["items"]} == {job_id}
    assert records["items"][0]["path"] == "nb.ipynb"
    record = await api("records", str(records["items"][0]["id"]))
    assert record["notebook"] == "nb.ipynb"
    transfers = await api("transfers", params={"job_id": str(job_id)})
    assert transfers["total"] == 2
    assert (await api("transfers", params={"notebook": "nb.ipynb"}))["total"] == 2
    assert (await api("transfers", str(transfers["items"][0]["id"])))["job_id"] == job_id
    datasets = await api("datasets", params={"notebook": "nb.ipynb"})
    assert datasets["total"] == 2
    dataset = await api("datasets", str(datasets["items"][0]["id"]))
    assert [loc["job_id"] for loc in dataset["locations"]] == [job_id]
    assert dataset["locations"][0]["url"].startswith(dest)
    assert (await api("jobs", params={"notebook": "nb.ipynb", "status": "completed"}))[
        "total"] == 1
    with open_store(project) as store:
        assert store.get(Job, job_id).notebook == "nb.ipynb"
        assert {r.notebook for r in store.list(Record, limit=None)} == {"nb.ipynb"}

    # a finished job cannot be paused, resumed or cancelled
    for action in ("pause", "resume", "cancel"):
        reply = await api("jobs", str(job_id), action, method="POST", expect=400)
        assert f"job {job_id}" in reply["message"]
    # what to do instead comes as data, for the panel to word; no CLI command in the text
    assert "stork " not in reply["message"]
    assert reply["next_steps"] == [
        {"action": "undo", "target": "nb.ipynb", "options": ["--restore-data"]}]


async def test_pause_and_resume_a_migration_started_over_rest(api, project, monkeypatch):
    from stork_jupyter.destinations.local import LocalBackend

    release = threading.Event()
    put = LocalBackend.put_resumable

    def held(self, *args, **kwargs):  # every transfer waits until the test lets it go
        release.wait(JOB_DEADLINE)
        return put(self, *args, **kwargs)

    monkeypatch.setattr(LocalBackend, "put_resumable", held)
    reply = await api("migrate", method="POST", body={"path": "nb.ipynb", "to": "local"},
                      expect=202)
    job_id = reply["job_id"]
    running = await api("jobs", str(job_id))  # the server answers while the job runs
    assert running["status"] == "running" and running["edits"] == []
    assert running["setup_cell"] is None
    paused = await api("jobs", str(job_id), "pause", method="POST")
    assert paused["status"] == "paused"
    release.set()
    workers = [t for t in threading.enumerate() if t.name == "stork-rest-job"]
    await asyncio.to_thread(lambda: [t.join(JOB_DEADLINE) for t in workers])
    job = await api("jobs", str(job_id))
    assert job["status"] == "paused" and job["edits"] == []
    assert {t["status"] for t in job["transfers"]} == {"paused"}
    assert not (project / "migrated" / "nb" / "data" / "a.csv").exists()

    monkeypatch.setattr(LocalBackend, "put_resumable", put)
    assert await api("jobs", str(job_id), "resume", method="POST", expect=202) == {
        "job_id": job_id}
    job = await wait_for(api, job_id)
    assert job["status"] == "completed", job
    assert len(job["edits"]) == 2 and job["setup_cell"] is not None
    assert tree(project / "migrated" / "nb" / "data") == tree(project / "data")
    assert [h["status"] for h in job["options"]["history"]] == [
        "running", "paused", "running", "completed"]


async def test_migrate_a_notebook_in_a_subfolder_project(api, jp_root_dir):
    sub = jp_root_dir / "team" / "work"
    small_project(sub, *READ_CELLS)
    (sub / "stork.toml").write_text(STORK_TOML)
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": "team/work/nb.ipynb", "to": "local"})
    job = await wait_for(api, reply["job_id"], path="team/work/nb.ipynb")
    assert job["status"] == "completed", job
    assert job["notebook"] == "nb.ipynb" and job["path"] == "team/work/nb.ipynb"
    assert job["project_root"] == (sub).resolve().as_posix()
    assert len(job["edits"]) == 2
    assert (sub / "migrated" / "nb" / "data" / "a.csv").is_file()
    # the server root's own project has no store
    assert (await api("jobs"))["total"] == 0
    listed = await api("jobs", params={"path": "team/work",
                                       "notebook": "team/work/nb.ipynb"})
    assert [j["id"] for j in listed["items"]] == [job["id"]]


async def test_refused_migration_is_a_409_with_its_blockers(api, project):
    write_nb(project / "nb.ipynb", "import pandas as pd",
             "df = pd.read_csv('data/a.csv')", "df2 = pd.read_csv(input())")
    reply = await api("migrate", method="POST", body={"path": "nb.ipynb", "to": "local"},
                      expect=409)
    assert reply["message"].startswith("nb.ipynb: cell 4, line 1")
    assert "/" not in reply["message"].split(":")[0]  # named relative to the root
    assert [b["cell_index"] for b in reply["blockers"]] == [3]
    await api("migrate", method="POST", expect=409,
              body={"path": "nb.ipynb", "to": "local", "dry_run": True})
    assert not (project / "migrated").exists()
    assert not (project / ".stork" / "outputs").exists() or not any(
        (project / ".stork" / "outputs").iterdir())
    preview = await api("migrate", method="POST",
                        body={"path": "nb.ipynb", "to": "local", "dry_run": True,
                              "partial": True})
    assert [c["cell_index"] for c in preview["changes"]] == [2]
    assert [b["cell_index"] for b in preview["blockers"]] == [3]
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": "nb.ipynb", "to": "local", "partial": True})
    job = await wait_for(api, reply["job_id"])
    assert job["status"] == "completed" and len(job["edits"]) == 1


async def test_migrating_the_open_document_with_unsaved_changes(api, project):
    before = (project / "nb.ipynb").read_bytes()
    content = model(project / "nb.ipynb")
    unsaved = "df = pd.read_csv('data/a.csv', nrows=1)"
    content["cells"][2]["source"] = [unsaved]
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": "nb.ipynb", "to": "local", "content": content})
    job = await wait_for(api, reply["job_id"])
    assert job["status"] == "completed", job
    # the edit is of the open document's cell, not the saved one; the file is untouched
    [edit, _] = job["edits"]
    assert edit["original_source"] == unsaved
    dest = (project / "migrated").as_posix()
    assert edit["new_source"] == f"df = pd.read_csv('{dest}/nb/data/a.csv', nrows=1)"
    assert (project / "nb.ipynb").read_bytes() == before
    assert job["setup_cell"]["before_cell_id"] == content["cells"][1]["id"]
    # the copy it migrated stays beside the output (a paused job is resumed from it)
    source = Path(job["options"]["cells_from"])
    assert source.parent == Path(job["options"]["output"]).parent
    assert read_nb(source).cells[2].source == unsaved


async def test_a_notebook_without_data_has_nothing_to_migrate(api, project):
    write_nb(project / "plain.ipynb", "print(1)")
    reply = await api("migrate", method="POST", body={"path": "plain.ipynb", "to": "local"})
    assert reply["job_id"] is None and "nothing to migrate" in reply["message"]
    outputs = project / ".stork" / "outputs"
    assert not outputs.exists() or not any(outputs.iterdir())


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"path": "nb.ipynb"}, 400, "to is required"),
    ({"path": "nb.ipynb", "to": ""}, 400, "to must name a destination"),
    ({"path": "nb.ipynb", "to": "nowhere"}, 400, "No destination named 'nowhere'"),
    ({"path": "nb.ipynb", "to": "ftp://host/x"}, 400, "are not supported"),
    ({"path": "nb.ipynb", "to": "local", "dry_run": "yes"}, 400, "dry_run must be a boolean"),
    ({"path": "nb.ipynb", "to": "local", "layout": "tree"}, 400, "layout must be one of"),
    ({"path": "missing.ipynb", "to": "local"}, 404, "no such notebook"),
])
async def test_a_bad_migrate_request(api, project, body, status, message):
    reply = await api("migrate", method="POST", body=body, expect=status)
    assert message in reply["message"]


# --------------------------------------------------------------------------- lists


async def test_lists_page_filter_and_search(api, project):
    ids = add_jobs(project, 7)
    add_jobs(project, 2, status="failed")
    first = await api("jobs", params={"limit": "3"})
    assert (first["total"], first["limit"], first["offset"]) == (9, 3, 0)
    pages = [first] + [await api("jobs", params={"limit": "3", "offset": str(o)})
                       for o in (3, 6, 9)]
    seen = [j["id"] for p in pages for j in p["items"]]
    assert len(seen) == 9 and len(set(seen)) == 9 and pages[-1]["items"] == []
    assert seen == sorted(seen, reverse=True)  # newest first
    completed = await api("jobs", params={"status": "completed", "limit": "500"})
    assert sorted(j["id"] for j in completed["items"]) == ids and completed["total"] == 7
    found = await api("jobs", params={"search": "NB3.IPYNB"})
    assert [j["notebook"] for j in found["items"]] == ["nb3.ipynb"] and found["total"] == 1
    assert (await api("jobs", params={"notebook": "nb5.ipynb"}))["total"] == 1
    assert (await api("jobs", params={"limit": "0"}))["items"] == []


async def test_jobs_leave_analyses_out_unless_asked_and_filter_interrupted(api, project):
    listed = add_jobs(project, 2)
    analyses = add_jobs(project, 3, kind="analyze")
    gone = {"pid": 2**22 + 12345, "host": socket.gethostname()}  # no such process
    [dead] = add_jobs(project, 1, kind="migrate", status="running", options=gone)
    page = await api("jobs")
    assert [j["id"] for j in page["items"]] == [dead, *reversed(listed)]
    assert page["total"] == 3
    assert sorted(j["id"] for j in (await api("jobs", params={"kind": "analyze"}))[
        "items"]) == analyses
    assert (await api("jobs", params={"kind": "all"}))["total"] == 6
    interrupted = await api("jobs", params={"status": "interrupted"})
    assert [(j["id"], j["state"]) for j in interrupted["items"]] == [(dead, "interrupted")]
    assert (await api("jobs", params={"status": "running"}))["total"] == 0


@pytest.mark.parametrize(("entity", "params", "message"), [
    ("jobs", {"limit": "501"}, "limit must be an integer from 0 to 500"),
    ("jobs", {"limit": "-1"}, "limit must be"), ("jobs", {"limit": "x"}, "limit must be"),
    ("records", {"offset": "-5"}, "offset must be"),
    ("jobs", {"status": "done"}, "status must be one of"),
    ("records", {"status": "running"}, "status must be one of applied, undone"),
    ("jobs", {"kind": "nap"}, "kind must be one of"),
    ("datasets", {"status": "completed"}, "datasets cannot be filtered by status"),
    ("jobs", {"job_id": "1"}, "jobs cannot be filtered by job_id"),
    ("transfers", {"job_id": "0"}, "job_id must be"),
])
async def test_bad_list_queries_are_a_400(api, project, entity, params, message):
    add_jobs(project, 1)
    reply = await api(entity, params=params, expect=400)
    assert message in reply["message"]


@pytest.mark.parametrize("ident", ["999", "0", "abc", "-1", "99999999999999999999999"])
async def test_unknown_ids_are_a_404(api, project, ident):
    add_jobs(project, 1)
    for entity in ("datasets", "jobs", "records", "transfers"):
        reply = await api(entity, ident, expect=404)
        assert ident in reply["message"]
    for action in ("pause", "resume", "cancel"):
        await api("jobs", ident, action, method="POST", expect=404)


async def test_unknown_endpoints_and_methods(api, project):
    reply = await api("nothing", expect=404)
    assert "no such endpoint" in reply["message"]
    await api("jobs", "1", "explode", method="POST", body={}, expect=404)
    await api("jobs", method="POST", body={}, expect=405)
    await api("analyze", expect=405)
    await api("jobs", expect=404, params={"path": "no/such/folder"})


async def test_a_broken_store_is_a_500_with_its_message(api, project):
    (project / ".stork").mkdir()
    (project / ".stork" / "stork.db").write_bytes(b"not a database" * 100)
    reply = await api("jobs", expect=500)
    assert reply["message"].startswith("The metadata store at sqlite:///.stork/stork.db")


async def test_an_unexpected_error_is_a_500_without_details(api, project, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr("stork_jupyter.inventory.cached_analysis", explode)
    reply = await api("analyze", method="POST", body={"path": "nb.ipynb"}, expect=500)
    assert "internal detail" not in reply["message"]
    assert "server's log" in reply["message"]


async def test_job_actions_say_why_they_cannot(api, project):
    (analyze_job,) = add_jobs(project, 1, kind="analyze")
    (paused,) = add_jobs(project, 1, status="paused")
    reply = await api("jobs", str(analyze_job), "resume", method="POST", expect=400)
    assert "only migrate and sync jobs can be resumed" in reply["message"]
    reply = await api("jobs", str(paused), "pause", method="POST", expect=400)
    assert "not running" in reply["message"]
    with open_store(project) as store:
        running = store.save(Job(kind="migrate", status="running", notebook="nb.ipynb")).id
    job = await api("jobs", str(running), "pause", method="POST")
    assert job["status"] == "paused" and job["options"]["history"][-1]["note"]
    reply = await api("jobs", str(running), "cancel", method="POST")
    assert reply == {"job_id": running, "removed": [], "kept": []}
    assert (await api("jobs", str(running)))["status"] == "cancelled"


async def test_an_old_notebook_without_cell_ids(api, project):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in READ_CELLS])
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    (project / "old.ipynb").write_text(json.dumps(nb))
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": "old.ipynb", "to": "local"})
    job = await wait_for(api, reply["job_id"])
    assert [(e["cell_id"], e["cell_index"]) for e in job["edits"]] == [(None, 1), (None, 2)]


async def test_migrate_a_folder_as_a_project(api, project):
    # two notebooks read data/a.csv: one job, the file sent once, both rewritten to it
    write_nb(project / "more" / "two.ipynb", "import pandas as pd",
             "pd.read_csv('../data/a.csv').shape")
    refused = {"path": ".", "to": "local", "output": "out"}
    write_nb(project / "bad.ipynb", "import pandas as pd", "pd.read_csv(input())")
    reply = await api("migrate", method="POST", body=refused, expect=409)
    assert [(b["notebook"], b["cell_number"]) for b in reply["blockers"]] == [("bad.ipynb", 3)]
    assert not (project / "out").exists()
    (project / "bad.ipynb").unlink()
    preview = await api("migrate", method="POST",
                        body={"paths": ["nb.ipynb", "more"], "to": "local", "dry_run": True})
    assert {n["notebook"]: n["status"] for n in preview["notebooks"]} == {
        "nb.ipynb": "migrated", "more/two.ipynb": "migrated"}
    assert [d["source"] for d in preview["datasets"]] == ["data/a.csv", "data/cfg.json"]
    await api("migrate", method="POST", body={"path": ".", "to": "local"}, expect=400)
    reply = await api("migrate", method="POST", expect=202,
                      body={"path": ".", "to": "local", "output": "out"})
    job = await wait_for(api, reply["job_id"])
    assert job["status"] == "completed", job
    assert tree(project / "migrated" / "data") == tree(project / "data")
    dest = (project / "migrated" / "data" / "a.csv").as_posix()
    assert dest in read_nb(project / "out" / "more" / "two.ipynb").cells[3].source
    assert dest in read_nb(project / "out" / "nb.ipynb").cells[3].source

    # the report comes from the job: what each notebook's copy got, no plan in the options
    assert job["notebooks"] == [
        {"notebook": "more/two.ipynb", "output": "out/more/two.ipynb", "status": "migrated",
         "cells": 1},
        {"notebook": "nb.ipynb", "output": "out/nb.ipynb", "status": "migrated", "cells": 2}]
    assert all("plan" not in entry for entry in job["options"]["notebooks"])
    single = await api("jobs", str(add_jobs(project, 1, kind="migrate")[0]))
    assert single.get("notebooks") is None

    # the panel's Undo: every notebook the job wrote reads its local files again
    undone = await api("jobs", str(job["id"]), "undo", method="POST")
    assert undone == {"job_id": job["id"], "notebooks": [
        {"notebook": "out/more/two.ipynb", "cells": 1}, {"notebook": "out/nb.ipynb", "cells": 2}]}
    assert read_nb(project / "out" / "more" / "two.ipynb").cells[2].source == (
        "pd.read_csv('../data/a.csv').shape")
    assert "data/a.csv')" in read_nb(project / "out" / "nb.ipynb").cells[2].source
    assert not any(dest in c.source for c in read_nb(project / "out" / "nb.ipynb").cells)


async def test_undo_of_an_unfinished_or_other_job_says_what_to_do_instead(api, project):
    (paused,) = add_jobs(project, 1, kind="migrate", status="paused")
    reply = await api("jobs", str(paused), "undo", method="POST", expect=400)
    assert reply["message"] == (f"job {paused} is a paused migrate job; only a completed "
                                "migration can be undone")
    assert reply["next_steps"] == [
        {"action": "resume", "target": str(paused), "options": []},
        {"action": "cancel", "target": str(paused), "options": []}]
    (analyze_job,) = add_jobs(project, 1, kind="analyze")
    reply = await api("jobs", str(analyze_job), "undo", method="POST", expect=400)
    assert "only a completed migration can be undone" in reply["message"]
    assert "next_steps" not in reply or reply["next_steps"] == []
    await api("jobs", "999", "undo", method="POST", expect=404)
