"""Import (the reverse direction), sync, and what the doors show of jobs (issue 5).

- ``stork import NB`` / ``stork import DATASET --to PATH`` bring the data back from a
  folder, S3 and PostgreSQL: files by sha256; a table re-exported with pandas, checked
  by row count and a content hash (the CSV here was written by pandas, so it even comes
  back byte for byte); ``stork undo --restore-data`` undoes a migration completely.
- ``stork sync NB`` sends only the dataset whose source changed.
- ``stork jobs --json`` objects carry the documented fields; ``--watch`` follows a job
  until it ends; progress bars go to stderr, so ``--json`` stdout stays valid JSON.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from migrate_support import read_nb, stork, write_files, write_nb
from resume_support import run_stork

from stork_jupyter.store import Dataset, Job, Transfer, open_store
from stork_jupyter.transfer import process_identity

CELLS = (
    "import json\nimport pandas as pd",
    "sales = pd.read_csv('data/sales.csv')",
    "with open('data/cfg.json') as f:\n    cfg = json.load(f)",
    "blob = open('data/blob.bin', 'rb').read()",
)


def _sales(n: int = 500, bump: float = 0.0) -> str:
    df = pd.DataFrame({"id": range(n), "city": [["Lyon", "Oslo", "Kyiv"][i % 3] for i in range(n)],
                       "amount": [round(i * 1.25 + bump, 2) for i in range(n)]})
    return df.to_csv(index=False)


FILES = {"data/sales.csv": _sales(), "data/cfg.json": '{"scale": 10}\n',
         "data/blob.bin": bytes(range(256)) * 64}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    write_files(folder, FILES)
    write_nb(folder / "nb.ipynb", *CELLS)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(params=["file", "s3", "postgresql"])
def dest(request, tmp_path) -> str:
    if request.param == "file":
        return str(tmp_path / "dest")
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_endpoint")
        return f"{s3.url}/lake"
    pg = request.getfixturevalue("pg_dsn")
    return f"{pg}?schema=imp_{secrets.token_hex(3)}"


def _jobs(project: Path, kind: str) -> list[Job]:
    with open_store(project) as metadata:
        return metadata.list(Job, kind=kind, limit=None)


def _transfers(project: Path, job_id: int) -> list[Transfer]:
    with open_store(project) as metadata:
        return metadata.list(Transfer, job_id=job_id, limit=None, order="oldest")


# --------------------------------------------------------------------------- import


def test_import_round_trip(project, dest):
    originals = {rel: _sha(project / rel) for rel in FILES}
    original_frame = pd.read_csv(project / "data/sales.csv")
    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    for rel in FILES:
        (project / rel).unlink()

    imported = stork("import", "out.ipynb")
    assert imported.exit_code == 0, imported.output
    assert "Imported 3 file(s)" in imported.stdout
    assert {rel: _sha(project / rel) for rel in FILES} == originals
    assert pd.read_csv(project / "data/sales.csv").equals(original_frame)
    [job] = _jobs(project, "import")
    assert job.status == "completed" and job.progress == 1.0
    states = {Path(t.target).name: t for t in _transfers(project, job.id)}
    if dest.startswith("postgresql"):  # the table came back re-exported, then verified
        assert states["sales.csv"].state["verified"] == "rows+content"
        assert states["sales.csv"].rows == 500
    assert states["blob.bin"].state["verified"] == "sha256"
    # a second import finds everything already there
    again = stork("import", "out.ipynb")
    assert again.exit_code == 0 and "Imported 0 file(s), 3 already there" in again.stdout


def test_import_one_dataset_to_a_path(project, tmp_path):
    assert stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb"
                 ).exit_code == 0
    with open_store(project) as metadata:
        dataset = metadata.dataset_by_path(metadata.ensure_project(project).id, "data/blob.bin")
    target = tmp_path / "elsewhere" / "copy.bin"
    result = stork("import", str(dataset.id), "--to", target)
    assert result.exit_code == 0, result.output
    assert _sha(target) == dataset.sha256
    assert stork("import", str(dataset.id)).exit_code != 0  # --to is needed


def test_import_refuses_to_overwrite_a_different_file(project, tmp_path):
    assert stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb"
                 ).exit_code == 0
    (project / "data/cfg.json").write_text('{"scale": 99}\n')
    result = stork("import", "out.ipynb")
    assert result.exit_code != 0
    assert "data/cfg.json exists and differs" in result.stderr and "--force" in result.stderr
    assert (project / "data/cfg.json").read_text() == '{"scale": 99}\n'
    assert stork("import", "out.ipynb", "--force").exit_code == 0
    assert (project / "data/cfg.json").read_text() == FILES["data/cfg.json"]


def test_undo_restore_data(project, s3_endpoint):
    before = (project / "nb.ipynb").read_text()
    originals = {rel: _sha(project / rel) for rel in FILES}
    assert stork("migrate", "nb.ipynb", "--to", f"{s3_endpoint.url}/lake", "--in-place"
                 ).exit_code == 0
    for rel in FILES:
        (project / rel).unlink()
    result = stork("undo", "nb.ipynb", "--restore-data")
    assert result.exit_code == 0, result.output
    assert {rel: _sha(project / rel) for rel in FILES} == originals
    assert [c.source for c in read_nb(project / "nb.ipynb").cells] == [
        c.source for c in json_cells(before)]


def json_cells(text: str):
    import nbformat

    return nbformat.reads(text, as_version=4).cells


# --------------------------------------------------------------------------- sync


@pytest.mark.parametrize("kind", ["file", "s3", "postgresql"])
def test_sync_sends_only_the_changed_file(project, tmp_path, kind, request):
    if kind == "file":
        to = str(tmp_path / "dest")
    elif kind == "s3":
        to = f"{request.getfixturevalue('s3_endpoint').url}/lake"
    else:
        to = f"{request.getfixturevalue('pg_dsn')}?schema=sync_{secrets.token_hex(3)}"
    assert stork("migrate", "nb.ipynb", "--to", to, "-o", "out.ipynb").exit_code == 0
    (project / "data/sales.csv").write_text(_sales(bump=0.5))  # same columns, new values

    result = stork("sync", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert "sent    data/sales.csv" in result.stdout
    assert "Synced: 1 sent, 2 unchanged" in result.stdout
    [job] = _jobs(project, "sync")
    assert job.status == "completed"
    rows = {t.source: t for t in _transfers(project, job.id)}
    assert rows["data/sales.csv"].state["skipped"] is False
    assert rows["data/cfg.json"].state == {**rows["data/cfg.json"].state, "skipped": True,
                                           "unchanged": True}
    assert rows["data/blob.bin"].state["skipped"] is True
    with open_store(project) as metadata:
        versions = {d.source_path: d.version for d in metadata.list(Dataset, limit=None)}
    assert versions == {"data/sales.csv": 2, "data/cfg.json": 1, "data/blob.bin": 1}
    # the destination has the new content: bring it back and compare
    (project / "data/sales.csv").rename(project / "data/sales.new.csv")
    assert stork("import", "out.ipynb").exit_code == 0
    assert pd.read_csv(project / "data/sales.csv").equals(
        pd.read_csv(project / "data/sales.new.csv"))
    # nothing changed since: everything is skipped
    again = stork("sync", "out.ipynb")
    assert "Synced: 0 sent, 3 unchanged" in again.stdout


def test_sync_without_a_migration(project):
    result = stork("sync", "nb.ipynb")
    assert result.exit_code != 0 and "no completed migration" in result.stderr


# --------------------------------------------------------------------------- jobs, progress


def test_progress_bars_go_to_stderr_and_json_stays_clean(project, tmp_path):
    run = run_stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb",
                    "--json", "--progress", cwd=project)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)  # nothing but the JSON document
    assert report["job_id"] == 1
    assert "%|" in run.stderr  # tqdm drew its bars there

    listing = run_stork("jobs", "--json", cwd=project)
    [job] = json.loads(listing.stdout)
    for key in ("id", "status", "kind", "notebook", "destination", "progress", "started_at",
                "finished_at", "error"):
        assert key in job
    assert (job["kind"], job["status"], job["progress"], job["error"]) == (
        "migrate", "completed", 1.0, None)
    assert job["started_at"] <= job["finished_at"]


def test_jobs_watch_follows_a_job_until_it_ends(project):
    with open_store(project) as metadata:
        job = metadata.save(Job(kind="migrate", status="running", notebook="nb.ipynb",
                                options=process_identity()))

    def work() -> None:
        with open_store(project) as metadata:
            for step in (0.25, 0.5, 0.75):
                time.sleep(0.3)
                metadata.update(Job, job.id, progress=step)
            metadata.update(Job, job.id, status="completed", progress=1.0)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        start = time.monotonic()
        result = stork("jobs", "--watch", str(job.id), "--interval", "0.1", "--timeout", "30",
                       "--json")
    finally:
        worker.join(30)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 30
    final = json.loads(result.stdout)
    assert (final["id"], final["status"], final["progress"]) == (job.id, "completed", 1.0)


def test_jobs_shows_an_interrupted_job(project):
    with open_store(project) as metadata:  # a job whose process is gone
        job = metadata.save(Job(kind="migrate", status="running", notebook="nb.ipynb",
                                options={**process_identity(), "pid": 2 ** 22 + 7}))
    listing = stork("jobs", "--json")
    [shown] = json.loads(listing.stdout)
    assert (shown["status"], shown["state"]) == ("running", "interrupted")
    watched = stork("jobs", "--watch", str(job.id), "--timeout", "10")
    assert watched.exit_code == 0 and "interrupted" in watched.stdout
