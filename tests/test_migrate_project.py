"""``stork migrate FOLDER`` (or several notebooks): a project migrated in one job.

Two notebooks read one shared CSV and a third reads its own file: the shared file is
sent once, to one name, both notebooks read it from there, and every migrated notebook,
run with the project's data moved away, prints what its original printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from migrate_support import (
    code_sources,
    read_nb,
    setup_cells,
    stork,
    tree,
    write_files,
    write_nb,
)
from resume_support import run_stork

from stork_jupyter.store import Job, Record, Transfer, open_store

SHARED = "region,amount\nnorth,10\nsouth,32\nnorth,5\n"
OWN = "x,y\n1,2\n3,5\n"
RUN_TIMEOUT = 120


def make_project(root: Path) -> Path:
    """``root`` (with its stork.toml) holding ``notebooks/``: a.ipynb and b.ipynb read
    ``data/shared.csv``; ``sub/c.ipynb`` reads its own ``sub/own.csv``; ``d.ipynb``
    reads nothing. Returns the notebooks' folder."""
    (root / "stork.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "stork.toml").write_text("")
    write_files(root, {"data/shared.csv": SHARED, "notebooks/sub/own.csv": OWN})
    nbs = root / "notebooks"
    write_nb(nbs / "a.ipynb", "import pandas as pd",
             'df = pd.read_csv("../data/shared.csv")\nprint(df.amount.sum())')
    write_nb(nbs / "b.ipynb", "import pandas as pd",
             'sales = pd.read_csv("../data/shared.csv")\nsales.groupby("region").amount.sum()')
    write_nb(nbs / "sub" / "c.ipynb", "import pandas as pd",
             'own = pd.read_csv("own.csv")\nprint(own.y.mean())')
    write_nb(nbs / "d.ipynb", "print(6 * 7)")
    return nbs


MIGRATED = ("a.ipynb", "b.ipynb", "sub/c.ipynb")


def originals(nbs: Path, run_nb) -> dict[str, list]:
    return {name: run_nb(nbs / name, timeout=60)[1] for name in (*MIGRATED, "d.ipynb")}


def move_data_away(root: Path) -> None:
    """The project's data is gone: a migrated notebook can only read its new copies."""
    shutil.move(root / "data", root / "data.away")
    shutil.move(root / "notebooks" / "sub" / "own.csv", root / "own.csv.away")


def assert_same_outputs(out: Path, expected: dict[str, list], run_nb) -> None:
    for name, outputs in expected.items():
        nb, actual = run_nb(out / name, timeout=60)
        setup = setup_cells(nb)
        assert [o for i, o in enumerate(actual) if i not in setup] == outputs, name


def job_transfers(root: Path, job_id: int) -> list[Transfer]:
    with open_store(root) as metadata:
        return metadata.list(Transfer, job_id=job_id, limit=None, order="oldest")


def test_folder_project_one_transfer_per_dataset_same_outputs(tmp_path, run_nb):
    root = tmp_path / "proj"
    nbs = make_project(root)
    expected = originals(nbs, run_nb)
    lake = tmp_path / "lake"
    result = stork("migrate", nbs, "--to", lake, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    status = {Path(n["notebook"]).relative_to(nbs).as_posix(): n["status"]
              for n in report["notebooks"]}
    assert status == {"a.ipynb": "migrated", "b.ipynb": "migrated",
                      "sub/c.ipynb": "migrated", "d.ipynb": "nothing to migrate"}
    # one job, one transfer per file: the shared CSV is sent once, to one name
    with open_store(root) as metadata:
        jobs = metadata.list(Job, kind="migrate", limit=None)
    assert len(jobs) == 1 and jobs[0].id == report["job_id"]
    sources = sorted(t.source for t in job_transfers(root, jobs[0].id))
    assert sources == ["data/shared.csv", "notebooks/sub/own.csv"]
    assert sorted(tree(lake)) == ["data/shared.csv", "notebooks/sub/own.csv"]
    a, b = (read_nb(tmp_path / "out" / n) for n in ("a.ipynb", "b.ipynb"))
    shared = (lake / "data" / "shared.csv").as_posix()
    assert shared in code_sources(a)[1] and shared in code_sources(b)[1]
    # the copies keep their paths; the sources are unchanged
    assert sorted(tree(tmp_path / "out")) == ["a.ipynb", "b.ipynb", "d.ipynb", "sub/c.ipynb"]
    assert "../data/shared.csv" in read_nb(nbs / "a.ipynb").cells[2].source
    move_data_away(root)
    assert_same_outputs(tmp_path / "out", expected, run_nb)


def test_s3_project_sends_the_shared_csv_once(tmp_path, run_nb, s3_endpoint):
    from migrate_support import bucket_keys

    root = tmp_path / "proj"
    nbs = make_project(root)
    expected = originals(nbs, run_nb)
    result = stork("migrate", nbs, "--to", f"{s3_endpoint.url}/lake", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "sub/c.ipynb: migrated" in result.stdout
    assert "d.ipynb: nothing to migrate" in result.stdout
    assert bucket_keys(s3_endpoint, "lake/") == ["lake/data/shared.csv",
                                                 "lake/notebooks/sub/own.csv"]
    move_data_away(root)
    assert_same_outputs(tmp_path / "out", expected, run_nb)


def test_postgres_project_loads_the_shared_csv_as_one_table(tmp_path, run_nb, pg_dsn,
                                                            monkeypatch):
    import psycopg

    root = tmp_path / "proj"
    nbs = make_project(root)
    expected = originals(nbs, run_nb)
    result = stork("migrate", nbs, "--to", f"{pg_dsn}?schema=proj", "-o", tmp_path / "out",
                   "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(d["table"] for d in report["datasets"]) == ["own", "shared"]
    with psycopg.connect(pg_dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'proj' "
            "ORDER BY 1")]
    assert tables == ["own", "shared"]
    move_data_away(root)
    assert_same_outputs(tmp_path / "out", expected, run_nb)


def test_one_refused_notebook_refuses_the_project_and_lists_every_blocker(tmp_path):
    root = tmp_path / "proj"
    nbs = make_project(root)
    write_nb(nbs / "e.ipynb", "import pandas as pd",
             'name = input()\ndf = pd.read_csv(name)\nprint(len(df))\nopen(input())')
    out = tmp_path / "out"
    result = stork("migrate", nbs, "--to", tmp_path / "lake", "-o", out)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert "1 notebook(s) cannot be migrated" in lines[0] and "nothing was changed" in lines[0]
    blockers = [line.strip() for line in lines[1:]]
    assert len(blockers) == 2, blockers
    assert all(b.startswith(f"{nbs / 'e.ipynb'}: cell 3, line ") for b in blockers), blockers
    assert "line 2: pd.read_csv(name)" in blockers[0]
    assert not out.exists() and not (tmp_path / "lake").exists()
    with open_store(root) as metadata:
        assert metadata.list(Job, kind="migrate", limit=None) == []
    # --partial migrates the rest, and says what still reads local files
    result = stork("migrate", nbs, "--to", tmp_path / "lake", "-o", out, "--partial")
    assert result.exit_code == 0, result.output
    assert "still local:" in result.stdout and "a.ipynb: migrated" in result.stdout


def test_dry_run_of_a_project_changes_nothing(tmp_path):
    root = tmp_path / "proj"
    nbs = make_project(root)
    before = tree(root)
    result = stork("migrate", nbs, "--to", tmp_path / "lake", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("data/shared.csv ->") == 1
    assert "Dry run: 2 file(s) would be copied, 3 cell(s) in 3 notebook(s) would change" in (
        result.stdout)
    assert "+own = pd.read_csv(" in result.stdout
    assert tree(root) == before and not (tmp_path / "lake").exists()


def test_several_notebooks_in_place_then_undo_each(tmp_path):
    root = tmp_path / "proj"
    nbs = make_project(root)
    a, c = nbs / "a.ipynb", nbs / "sub" / "c.ipynb"
    before = {p: p.read_bytes() for p in (a, c)}
    result = stork("migrate", a, c, "--to", tmp_path / "lake", "--in-place")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lake" / "data" / "shared.csv").is_file()
    assert all(p.read_bytes() != data for p, data in before.items())
    assert stork("undo", a).exit_code == 0
    assert a.read_bytes() == before[a]  # the exact bytes
    assert c.read_bytes() != before[c]  # the other notebook stays migrated
    assert stork("undo", c).exit_code == 0
    assert c.read_bytes() == before[c]
    with open_store(root) as metadata:
        assert {r.status for r in metadata.list(Record, limit=None)} == {"undone"}


def test_project_job_killed_midway_resumes_and_writes_every_notebook(tmp_path, run_nb):
    root = tmp_path / "proj"
    nbs = make_project(root)
    big = "region,amount\n" + "north,1\n" * 400_000  # a few MB: killed while it copies
    (root / "data" / "shared.csv").write_text(big)
    out = tmp_path / "out"
    run = run_stork("migrate", nbs, "--to", tmp_path / "lake", "-o", out, "--parallel", "1",
                    cwd=root, kill_after=1_000_000)
    assert run.returncode != 0
    assert not (out / "a.ipynb").exists()  # nothing written before the data is there
    with open_store(root) as metadata:
        (job,) = metadata.list(Job, kind="migrate", limit=None)
    resumed = run_stork("resume", job.id, cwd=root)
    assert resumed.returncode == 0, resumed.stderr
    with open_store(root) as metadata:
        assert metadata.get(Job, job.id).status == "completed"
        assert metadata.count(Record, job_id=job.id) == 3
    assert sorted(tree(out)) == ["a.ipynb", "b.ipynb", "d.ipynb", "sub/c.ipynb"]
    _, outputs = run_nb(out / "a.ipynb", timeout=60)
    assert any("400000" in o.get("text", "") for cell in outputs for o in cell)


def test_project_job_killed_midway_cancels_cleanly(tmp_path):
    root = tmp_path / "proj"
    nbs = make_project(root)
    (root / "data" / "shared.csv").write_text("region,amount\n" + "north,1\n" * 400_000)
    lake = tmp_path / "lake"
    run = run_stork("migrate", nbs, "--to", lake, "-o", tmp_path / "out", "--parallel", "1",
                    cwd=root, kill_after=1_000_000)
    assert run.returncode != 0
    with open_store(root) as metadata:
        (job,) = metadata.list(Job, kind="migrate", limit=None)
    cancelled = run_stork("cancel", job.id, cwd=root)
    assert cancelled.returncode == 0, cancelled.stderr
    assert tree(lake) == {}
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.ipynb"))


def test_magic_migrates_a_folder_as_a_project(tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from stork_jupyter.magics import StorkMagics

    root = tmp_path / "proj"
    nbs = make_project(root)
    monkeypatch.chdir(nbs)
    shell = InteractiveShell.instance()
    shell.register_magics(StorkMagics)
    try:
        with capture_output() as captured:
            shell.run_line_magic("stork", f"migrate . --to {tmp_path / 'lake'} -o "
                                          f"{tmp_path / 'out'}")
        text = "\n".join(o.data["text/plain"] for o in captured.outputs)
    finally:
        InteractiveShell.clear_instance()
    assert "sub/c.ipynb: migrated" in text and "d.ipynb: nothing to migrate" in text
    assert sorted(tree(tmp_path / "lake")) == ["data/shared.csv", "notebooks/sub/own.csv"]
    assert sorted(tree(tmp_path / "out")) == ["a.ipynb", "b.ipynb", "d.ipynb", "sub/c.ipynb"]


def test_sync_and_import_work_per_notebook_of_a_project_job(tmp_path, run_nb):
    """A project job holds several notebooks: ``stork sync`` and ``stork import`` take
    one of them (its output or its source) and act on that notebook's datasets only."""
    root = tmp_path / "proj"
    nbs = make_project(root)
    lake, out = tmp_path / "lake", root / "out"  # in the project: its store is the same
    assert stork("migrate", nbs, "--to", lake, "-o", out).exit_code == 0
    (root / "data" / "shared.csv").write_text(SHARED + "south,100\n")  # same columns

    synced = stork("sync", out / "a.ipynb")
    assert synced.exit_code == 0, synced.output
    assert "sent    ../data/shared.csv" in synced.stdout
    assert "Synced: 1 sent, 0 unchanged (job 2)" in synced.stdout
    by_source = stork("sync", nbs / "sub" / "c.ipynb")  # named by its source notebook
    assert by_source.exit_code == 0, by_source.output
    assert "skipped own.csv (unchanged)" in by_source.stdout
    with open_store(root) as metadata:
        syncs = metadata.list(Job, kind="sync", limit=None, order="oldest")
    assert [j.status for j in syncs] == ["completed", "completed"]
    assert [Path(j.options["output"]).name for j in syncs] == ["a.ipynb", "c.ipynb"]

    # the data is gone locally: import brings back c's file, a's reads the synced content
    move_data_away(root)
    imported = stork("import", out / "sub" / "c.ipynb")
    assert imported.exit_code == 0, imported.output
    assert (nbs / "sub" / "own.csv").read_text() == OWN
    assert not (root / "data").exists()  # only c's dataset came back
    _, outputs = run_nb(out / "a.ipynb", timeout=60)
    assert any("147" in o.get("text", "") for cell in outputs for o in cell)
