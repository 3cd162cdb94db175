"""``stork migrate``: the -o / --in-place / --dry-run modes, exit codes, refusals and
--partial, notebooks without data access, the project root (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from migrate_support import (
    assert_one_line_error,
    bucket_keys,
    code_sources,
    names,
    read_nb,
    setup_cells,
    small_project,
    stork,
    tree,
    write_nb,
)

from stork_jupyter.store import Job, Record, open_store

READ_CELLS = (
    "import json\nimport pandas as pd",
    "df = pd.read_csv('data/a.csv')  # the orders\ndf.shape",
    "with open(\"data/cfg.json\") as f:\n    cfg = json.load(f)",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small project (nb.ipynb reading data/a.csv and data/cfg.json); cwd is its folder."""
    folder = tmp_path / "project"
    small_project(folder, *READ_CELLS)
    monkeypatch.chdir(folder)
    return folder


def _jobs(folder: Path) -> list[Job]:
    with open_store(folder) as metadata:
        return metadata.list(Job, limit=None)


# --------------------------------------------------------------------------- -o


def test_output_leaves_the_source_byte_for_byte(project, tmp_path):
    before = (project / "nb.ipynb").read_bytes()
    dest = tmp_path / "dest"
    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (project / "nb.ipynb").read_bytes() == before
    migrated = read_nb(project / "out.ipynb")
    assert code_sources(migrated)[1] == (
        f"df = pd.read_csv('{dest}/nb/data/a.csv')  # the orders\ndf.shape")
    assert tree(dest) == {f"nb/data/{k}": v for k, v in tree(project / "data").items()}
    assert "out.ipynb" in result.stdout and "Migrated 2 file(s)" in result.stdout
    [job] = _jobs(project)
    assert (job.kind, job.status, job.notebook) == ("migrate", "completed", "out.ipynb")


def test_output_into_another_folder(project, tmp_path):
    out = tmp_path / "elsewhere" / "nb.migrated.ipynb"
    out.parent.mkdir()
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", out)
    assert result.exit_code == 0, result.output
    assert len(setup_cells(read_nb(out))) == 1
    # the migrated copy reads absolute paths, so it works from its new folder too
    assert all(str(tmp_path / "dest") in s for s in code_sources(read_nb(out))[1:])


# --------------------------------------------------------------------------- --in-place


def test_in_place_rewrites_the_notebook_atomically(project, tmp_path):
    before_names = names(project)
    before = (project / "nb.ipynb").read_bytes()
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "--in-place")
    assert result.exit_code == 0, result.output
    after = (project / "nb.ipynb").read_bytes()
    assert after != before
    nb = read_nb(project / "nb.ipynb")
    assert len(setup_cells(nb)) == 1
    assert "data/a.csv" in code_sources(nb)[1] and str(tmp_path / "dest") in code_sources(nb)[1]
    # no temporary file left next to the notebook or at the destination
    assert names(project) == before_names | {".stork"}
    assert [p.name for p in (tmp_path / "dest").rglob("*") if p.name.startswith(".")] == []


def test_output_and_in_place_together_is_a_usage_error(project, tmp_path):
    before = (project / "nb.ipynb").read_bytes()
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "x.ipynb",
                   "--in-place")
    assert result.exit_code == 2
    assert "not both" in result.stderr and "Traceback" not in result.output
    assert (project / "nb.ipynb").read_bytes() == before
    assert not (project / "x.ipynb").exists() and not (tmp_path / "dest").exists()


def test_neither_output_nor_in_place_is_a_clear_error(project, tmp_path):
    before = (project / "nb.ipynb").read_bytes()
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest")
    assert_one_line_error(result, "-o", "--in-place")
    assert result.exit_code == 1
    assert (project / "nb.ipynb").read_bytes() == before
    assert not (tmp_path / "dest").exists()


def test_missing_to_is_a_usage_error(project):
    result = stork("migrate", "nb.ipynb", "-o", "x.ipynb")
    assert result.exit_code == 2 and "--to" in result.stderr


# --------------------------------------------------------------------------- --dry-run


def test_dry_run_prints_the_diff_and_changes_nothing(project, tmp_path):
    before = tree(project)
    dest = tmp_path / "dest"
    result = stork("migrate", "nb.ipynb", "--to", dest, "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "-df = pd.read_csv('data/a.csv')  # the orders" in out
    assert f"+df = pd.read_csv('{dest}/nb/data/a.csv')  # the orders" in out
    assert f"data/cfg.json -> {dest}/nb/data/cfg.json" in out
    assert "nothing was changed" in out
    assert tree(project) == before  # no notebook, no store, nothing
    assert not (project / ".stork").exists()
    assert not dest.exists()


def test_diff_headers_of_an_absolute_notebook_path_read_as_git_writes_them(project,
                                                                          tmp_path):
    nb = project / "nb.ipynb"
    result = stork("migrate", nb, "--to", tmp_path / "dest", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"--- a{nb} cell " in result.stdout and f"+++ b{nb} cell " in result.stdout
    assert "a//" not in result.stdout and "b//" not in result.stdout


def test_dry_run_with_output_writes_no_output(project, tmp_path):
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "--dry-run", "-o",
                   "x.ipynb")
    assert result.exit_code == 0, result.output
    assert not (project / "x.ipynb").exists() and not (tmp_path / "dest").exists()


def test_dry_run_json_is_the_plan(project, tmp_path):
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["job_id"] is None and data["output"] is None
    assert sorted(m["source"] for m in data["plan"]["moves"]) == ["data/a.csv", "data/cfg.json"]
    assert "+df = pd.read_csv(" in data["diff"]
    assert not (tmp_path / "dest").exists()


def test_dry_run_to_s3_sends_nothing(project, s3_endpoint):
    result = stork("migrate", "nb.ipynb", "--to", f"{s3_endpoint.url}/lake", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"+df = pd.read_csv('{s3_endpoint.url}/lake/nb/data/a.csv')" in result.stdout
    assert "+with fsspec.open(" in result.stdout
    assert bucket_keys(s3_endpoint) == []
    assert not (project / ".stork").exists()


# --------------------------------------------------------------------------- refusals


def test_unresolved_access_refuses_and_lists_it(project, tmp_path):
    write_nb(project / "nb.ipynb", *READ_CELLS, "x = 1\nother = pd.read_csv(input())")
    before = tree(project)
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nothing was changed" in result.stderr and "--partial" in result.stderr
    # cell 5 as JupyterLab numbers it (the markdown title is cell 1), line 2, the code
    # and the reason
    assert "cell 5, line 2: pd.read_csv(input()): the result of input() is only known at " \
           "run time" in result.stderr
    assert tree(project) == before  # no notebook written, no store
    assert tree(tmp_path / "dest") == {}


def test_several_refused_accesses_are_each_listed(project, tmp_path):
    write_nb(project / "nb.ipynb", *READ_CELLS, "a = pd.read_csv(input())",
             "b = pd.read_csv(input())")
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb")
    assert result.exit_code == 1
    assert "2 data access(es) cannot be migrated" in result.stderr
    assert "cell 5, line 1: pd.read_csv(input())" in result.stderr
    assert "cell 6, line 1: pd.read_csv(input())" in result.stderr
    assert not (project / "out.ipynb").exists() and tree(tmp_path / "dest") == {}


def test_partial_migrates_the_rest_and_says_what_stays_local(project, tmp_path):
    write_nb(project / "nb.ipynb", *READ_CELLS, "other = pd.read_csv(input())")
    dest = tmp_path / "dest"
    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb", "--partial")
    assert result.exit_code == 0, result.output
    assert "Still reading local files:" in result.stdout
    assert "cell 5, line 1: pd.read_csv(input())" in result.stdout
    sources = code_sources(read_nb(project / "out.ipynb"))
    assert str(dest) in sources[1] and str(dest) in sources[2]
    assert sources[3] == "other = pd.read_csv(input())"
    assert sorted(tree(dest)) == ["nb/data/a.csv", "nb/data/cfg.json"]
    [job] = _jobs(project)
    assert job.counts["left_local"] == 1 and job.options["partial"] is True


def test_notebook_without_data_access(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_nb(tmp_path / "plain.ipynb", "x = 1 + 1\nprint(x)", "import os\nos.getcwd()")
    before = (tmp_path / "plain.ipynb").read_bytes()
    result = stork("migrate", "plain.ipynb", "--to", tmp_path / "dest", "-o", "copy.ipynb")
    assert result.exit_code == 0, result.output
    assert "no data access to migrate" in result.stdout
    assert (tmp_path / "copy.ipynb").read_bytes() == before
    assert (tmp_path / "plain.ipynb").read_bytes() == before
    assert not (tmp_path / "dest").exists()
    result = stork("migrate", "plain.ipynb", "--to", tmp_path / "dest", "--in-place")
    assert result.exit_code == 0 and "no data access to migrate" in result.stdout
    assert (tmp_path / "plain.ipynb").read_bytes() == before


# --------------------------------------------------------------------------- project root


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """root/stork.toml, root/analysis/nb.ipynb reading ../shared/a.csv (inside the root)
    and ../../outside.csv (outside it)."""
    root = tmp_path / "root"
    (root / "analysis").mkdir(parents=True)
    (root / "stork.toml").write_text("")
    (root / "shared").mkdir()
    (root / "shared" / "a.csv").write_text("x\n1\n")
    (tmp_path / "outside.csv").write_text("y\n2\n")
    write_nb(root / "analysis" / "nb.ipynb", "import pandas as pd",
             "a = pd.read_csv('../shared/a.csv')", "b = pd.read_csv('../../outside.csv')")
    monkeypatch.chdir(root / "analysis")
    return root


def test_paths_outside_the_project_root_are_refused(nested, tmp_path):
    result = stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb")
    assert result.exit_code == 1
    assert "outside the project root" in result.stderr and "--allow-outside-root" in result.stderr
    assert "pd.read_csv('../../outside.csv')" in result.stderr
    assert "../shared/a.csv" not in result.stderr  # inside the root: fine
    assert tree(tmp_path / "dest") == {} and not (nested / "analysis" / "out.ipynb").exists()


def test_allow_outside_root_moves_them(nested, tmp_path):
    dest = tmp_path / "dest"
    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "out.ipynb",
                   "--allow-outside-root")
    assert result.exit_code == 0, result.output
    files = tree(dest)
    assert len(files) == 2
    # mirror layout under the notebook's folder relative to the root; nothing escapes DEST
    # a file above the notebook's folder stays under the notebook's own key (no clash
    # with a sibling notebook called shared.ipynb), and one level up is not two levels up
    assert sorted(files) == ["analysis/nb/_up/_up/outside.csv", "analysis/nb/_up/shared/a.csv"]
    sources = code_sources(read_nb(nested / "analysis" / "out.ipynb"))
    for s in sources[1:]:
        path = s.split("'")[1]
        assert Path(path).is_file() and Path(path).is_relative_to(dest)


def test_records_name_the_output_notebook(project, tmp_path):
    stork("migrate", "nb.ipynb", "--to", tmp_path / "dest", "-o", "out.ipynb")
    with open_store(project) as metadata:
        records = metadata.list(Record, limit=None)
    assert {r.notebook for r in records} == {"out.ipynb"}
    assert sorted(r.api for r in records) == ["open", "pandas.read_csv"]


# --------------------------------------------------------------------------- DEST forms


def test_file_url_flat_layout(project, tmp_path):
    dest = tmp_path / "flat"
    result = stork("migrate", "nb.ipynb", "--to", f"file://{dest}", "--layout", "flat",
                   "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert sorted(tree(dest)) == ["a.csv", "cfg.json"]
    assert f"'{dest}/a.csv'" in code_sources(read_nb(project / "out.ipynb"))[1]


def test_named_destination_from_stork_toml(project, tmp_path, s3_endpoint):
    (project / "stork.toml").write_text(
        f'[destinations.lake]\nurl = "{s3_endpoint.url}/team"\n')
    result = stork("migrate", "nb.ipynb", "--to", "lake", "-o", "out.ipynb")
    assert result.exit_code == 0, result.output
    assert bucket_keys(s3_endpoint) == ["team/nb/data/a.csv", "team/nb/data/cfg.json"]
    assert_one_line_error(stork("migrate", "nb.ipynb", "--to", "nolake", "-o", "o.ipynb"),
                          "nolake", "lake")
