"""What a person reads about jobs and datasets (issue 13, items 3 and 5): analyses are
recorded but not listed unless asked, a migrated copy is a location of its dataset (not
a new one), a job names the notebook it read and the one it wrote, ``stork jobs N``
shows its transfers, and times and sizes read as people write them."""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest
from migrate_support import small_project, stork

from stork_jupyter.jobs import list_jobs
from stork_jupyter.report import human_size, human_time
from stork_jupyter.store import Job, open_store

READ_CELLS = (
    "import json\nimport pandas as pd",
    "df = pd.read_csv('data/a.csv')\ndf.shape",
    "with open('data/cfg.json') as f:\n    cfg = json.load(f)",
)
RAW_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d\.\d+")


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose nb.ipynb was migrated to the folder ``lake`` inside it, -o out.ipynb."""
    folder = tmp_path / "project"
    small_project(folder, *READ_CELLS)
    (folder / "stork.toml").write_text('[destinations.lake]\nurl = "lake"\n')
    monkeypatch.chdir(folder)
    result = stork("migrate", "nb.ipynb", "--to", "lake", "-o", "out.ipynb", "--no-progress")
    assert result.exit_code == 0, result.output
    return folder


def _datasets() -> list[dict]:
    return json.loads(stork("datasets", "--json").stdout)


def test_analysing_a_migrated_notebook_adds_no_dataset_and_no_listed_job(migrated):
    before = _datasets()
    assert sorted(d["source_path"] for d in before) == ["data/a.csv", "data/cfg.json"]
    # the migrated copy reads the lake's files: they are locations of those datasets
    analysed = stork("analyze", "out.ipynb")
    assert analysed.exit_code == 0, analysed.output
    assert "lake/nb/data/a.csv" in analysed.stdout
    assert _datasets() == before
    # the analysis is recorded (kind filter, --all) but the job list shows the migration
    listed = stork("jobs")
    assert [line.split()[1] for line in listed.stdout.splitlines()[2:]] == ["migrate"]
    assert "1 analyze job not listed: --all shows them" in listed.stderr
    assert [j["kind"] for j in json.loads(stork("jobs", "--all", "--json").stdout)] == [
        "analyze", "migrate"]
    [analysis] = json.loads(stork("jobs", "--kind", "analyze", "--json").stdout)
    assert analysis["counts"]["datasets"] == 2
    # analysing the original again changes nothing either
    assert stork("analyze", "nb.ipynb").exit_code == 0
    assert _datasets() == before


def test_the_job_list_names_source_and_output_with_human_times(migrated):
    listed = stork("jobs").stdout.splitlines()
    assert listed[0].split() == ["id", "kind", "status", "progress", "notebook", "output",
                                 "destination", "finished"]
    row = listed[2].split()
    assert row[:6] == ["1", "migrate", "completed", "100%", "nb.ipynb", "out.ipynb"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", " ".join(row[-2:]))
    assert not RAW_TIME.search("\n".join(listed))
    [job] = json.loads(stork("jobs", "--json").stdout)
    # JSON keeps the stored values
    assert (job["source_notebook"], job["output_notebook"]) == ("nb.ipynb", "out.ipynb")
    assert RAW_TIME.search(job["finished_at"])


def test_one_job_shows_its_transfers(migrated):
    shown = stork("jobs", "1")
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert text.startswith("job 1: migrate, completed\n")
    assert re.search(r"^  notebook +nb\.ipynb$", text, re.M)
    assert re.search(r"^  output +out\.ipynb$", text, re.M)
    assert "2 transfers:" in text
    size = (migrated / "data" / "a.csv").stat().st_size
    rows = {line.split()[1]: line.split() for line in text.splitlines()
            if re.match(r"[12] +data/", line)}
    assert set(rows) == {"data/a.csv", "data/cfg.json"}
    csv = rows["data/a.csv"]
    assert csv[2] == str(migrated / "lake" / "nb" / "data" / "a.csv")
    assert " ".join(csv[3:5]) == human_size(size) and csv[-1] == "completed"
    assert not RAW_TIME.search(text)
    detail = json.loads(stork("jobs", "1", "--json").stdout)
    assert [t["source"] for t in detail["transfers"]] == ["data/a.csv", "data/cfg.json"]
    assert detail["transfers"][0]["bytes_total"] == size


def test_sizes_are_human_in_the_datasets_table(migrated):
    table = stork("datasets").stdout
    size = (migrated / "data" / "a.csv").stat().st_size
    assert f" {human_size(size)} " in table and not re.search(rf" {size} +\d", table)


def test_human_size_and_time():
    assert [human_size(n) for n in (0, 65, 1077, 12_900_000, 3 * 1024**3)] == [
        "0 B", "65 B", "1.1 KB", "12.3 MB", "3.0 GB"]
    moment = datetime(2026, 12, 2, 16, 40, 12, 345678, tzinfo=timezone.utc)
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    assert human_time(moment.isoformat()) == local
    assert human_time(None) == "" and human_time("") == ""


def test_interrupted_is_a_state_to_filter_by(tmp_path):
    """A running job whose process is gone is listed as interrupted, not running."""
    with open_store(tmp_path) as store:
        gone = {"pid": 2**22 + 12345, "host": socket.gethostname()}  # above pid_max's default
        dead = store.save(Job(kind="migrate", status="running", options=gone))
        store.save(Job(kind="migrate", status="running", options={"pid": None}))
        store.save(Job(kind="analyze", status="completed"))
        assert [j.id for j in list_jobs(store, state="interrupted").items] == [dead.id]
        assert dead.id not in [j.id for j in list_jobs(store, state="running").items]
        page = list_jobs(store)
        assert (page.total, page.hidden) == (2, 1)
        assert list_jobs(store, all_kinds=True).total == 3
