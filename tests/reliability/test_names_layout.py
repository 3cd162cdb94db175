"""Issue 11 item 3: different files never land on one destination key, one migration
after the other, for folders and S3. With ``--layout flat``, ``a/sales.csv`` and
``b/sales.csv`` of two notebooks; with the mirror layout, ``a.ipynb`` reading
``b/data.csv`` and ``a/b.ipynb`` reading ``data.csv`` (both ``a/b/data.csv``). The same
file (same path and content) keeps sharing one key."""

from __future__ import annotations

import pytest
from migrate_support import bucket_keys, stork, tree, write_files, write_nb
from names_support import data_moved_away, evaluate

from stork_jupyter.store import Reservation, open_store

READ = "import pandas as pd\ndf = pd.read_csv({path!r})"


@pytest.fixture(params=["folder", "s3"])
def destination(request, tmp_path):
    """``(url, keys())``: where to migrate, and the keys there now."""
    if request.param == "folder":
        lake = tmp_path / "lake"
        return str(lake), lambda: sorted(tree(lake)) if lake.exists() else []
    s3 = request.getfixturevalue("s3_endpoint")
    return f"{s3.url}/lake", lambda: [k.removeprefix("lake/") for k in bucket_keys(s3)]


def _project(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "stork.toml").write_text("")
    monkeypatch.chdir(project)
    return project


def _migrate(notebook: str, to: str, out: str, *extra: str) -> None:
    result = stork("migrate", notebook, "--to", to, "-o", out, *extra)
    assert result.exit_code == 0, result.output


def test_flat_layout_gives_same_named_files_their_own_keys(tmp_path, monkeypatch,
                                                           destination):
    to, keys = destination
    project = _project(tmp_path, monkeypatch)
    write_files(project, {"a/sales.csv": "who,v\na,1\na,2\n", "b/sales.csv": "who,v\nb,3\n"})
    write_nb(project / "a.ipynb", READ.format(path="a/sales.csv"))
    write_nb(project / "b.ipynb", READ.format(path="b/sales.csv"))
    _migrate("a.ipynb", to, "a_out.ipynb", "--layout", "flat")
    _migrate("b.ipynb", to, "b_out.ipynb", "--layout", "flat")
    assert keys() == ["sales-2.csv", "sales.csv"]
    with data_moved_away(project / "a", project / "b"):
        assert evaluate(project / "a_out.ipynb", ["df"])["df"]["who"].tolist() == ["a", "a"]
        assert evaluate(project / "b_out.ipynb", ["df"])["df"]["who"].tolist() == ["b"]


def test_mirror_layout_notebook_and_folder_of_one_name_stay_apart(tmp_path, monkeypatch,
                                                                  destination):
    to, keys = destination
    project = _project(tmp_path, monkeypatch)
    write_files(project, {"b/data.csv": "who\nnotebook a\n", "a/data.csv": "who\nnotebook a/b\n"})
    write_nb(project / "a.ipynb", READ.format(path="b/data.csv"))
    write_nb(project / "a" / "b.ipynb", READ.format(path="data.csv"))
    _migrate("a.ipynb", to, "a_out.ipynb")
    _migrate("a/b.ipynb", to, "a/b_out.ipynb")
    assert keys() == ["a/b/data-2.csv", "a/b/data.csv"]
    with data_moved_away(project / "b", project / "a" / "data.csv"):
        assert evaluate(project / "a_out.ipynb", ["df"])["df"]["who"].tolist() == [
            "notebook a"]
        assert evaluate(project / "a" / "b_out.ipynb", ["df"])["df"]["who"].tolist() == [
            "notebook a/b"]


def test_one_file_shares_its_key_and_a_changed_one_gets_another(tmp_path, monkeypatch,
                                                                destination):
    to, keys = destination
    project = _project(tmp_path, monkeypatch)
    write_files(project, {"shared/sales.csv": "who\nfirst\n"})
    write_nb(project / "a.ipynb", READ.format(path="shared/sales.csv"))
    write_nb(project / "b.ipynb", READ.format(path="shared/sales.csv"))
    _migrate("a.ipynb", to, "a_out.ipynb", "--layout", "flat")
    _migrate("b.ipynb", to, "b_out.ipynb", "--layout", "flat")  # the same file: shared
    _migrate("a.ipynb", to, "a_again.ipynb", "--layout", "flat")  # a re-migration: shared
    assert keys() == ["sales.csv"]
    with open_store(project) as metadata:
        assert [r.name.rsplit("/", 1)[-1] for r in metadata.list(Reservation)] == [
            "sales.csv"]
    # the file changed: the notebooks already migrated keep reading what they read
    write_files(project, {"shared/sales.csv": "who\nsecond\n"})
    _migrate("b.ipynb", to, "b_new.ipynb", "--layout", "flat")
    assert keys() == ["sales-2.csv", "sales.csv"]
    with data_moved_away(project / "shared"):
        for out, who in [("a_out", "first"), ("b_out", "first"), ("a_again", "first"),
                         ("b_new", "second")]:
            assert evaluate(project / f"{out}.ipynb", ["df"])["df"]["who"].tolist() == [who]
