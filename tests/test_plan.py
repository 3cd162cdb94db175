"""Planning: what moves where (layout, keys), which calls change, what is refused and
why. Planning moves nothing and needs no destination to be reachable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from migrate_support import small_project, write_files, write_nb

from stork_jupyter.migrate import plan_notebook


def _plan(notebook: Path, to: str, **kw):
    return plan_notebook(notebook, to, **kw)[-1]


def _moves(plan) -> dict[str, str]:
    return {m.source: m.key for m in plan.moves}


def test_moves_carry_size_checksum_and_target(tmp_path):
    nb = small_project(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    plan = _plan(nb, "s3://bucket/lake")
    [move] = plan.moves
    data = (tmp_path / "data" / "a.csv").read_bytes()
    assert (move.source, move.key, move.target, move.format) == (
        "data/a.csv", "nb/data/a.csv", "s3://bucket/lake/nb/data/a.csv", "csv")
    assert (move.size, move.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    [edit] = plan.edits
    assert (edit.cell_index, edit.line, edit.action, edit.target) == (
        1, 2, "literal", "s3://bucket/lake/nb/data/a.csv")
    assert (plan.kind, plan.layout, plan.base_key, plan.blockers) == ("s3", "mirror", "nb", [])
    json.dumps(plan.to_json())  # printable, serialisable


def test_a_source_is_hashed_once_per_plan(tmp_path, monkeypatch):
    """Naming its key and recording its move both need a source's sha256: one read of
    the file (a big file's hash is most of a plan's time)."""
    nb = small_project(tmp_path, "import pandas as pd",
                       "a = pd.read_csv('data/a.csv')\nb = pd.read_csv('./data/a.csv')")
    hashed = _count_hashes(monkeypatch)
    plan = _plan(nb, str(tmp_path / "dest"))
    data = (tmp_path / "data" / "a.csv").read_bytes()
    assert [m.sha256 for m in plan.moves] == [hashlib.sha256(data).hexdigest()]
    assert hashed == [(tmp_path / "data" / "a.csv").resolve()]


def test_a_listed_file_is_hashed_once_per_plan(tmp_path, monkeypatch):
    """A file a glob lists (no call reads it) is named and moved with one read too."""
    write_files(tmp_path, {"data/parts/a.csv": "x\n1\n", "data/parts/b.csv": "x\n2\n"})
    nb = write_nb(tmp_path / "nb.ipynb", "import glob",
                  "n = len(glob.glob('data/parts/*.csv'))")
    hashed = _count_hashes(monkeypatch)
    plan = _plan(nb, str(tmp_path / "dest"))
    parts = tmp_path / "data" / "parts"
    assert sorted(m.source for m in plan.moves) == ["data/parts/a.csv", "data/parts/b.csv"]
    assert {m.sha256 for m in plan.moves} == {
        hashlib.sha256((parts / n).read_bytes()).hexdigest() for n in ("a.csv", "b.csv")}
    assert sorted(hashed) == [(parts / "a.csv").resolve(), (parts / "b.csv").resolve()]


def _count_hashes(monkeypatch) -> list[Path]:
    """The files a plan reads for their sha256, in order (one entry per pass), wherever
    the planning modules call the hash from."""
    import stork_jupyter.checksum as checksum_module
    import stork_jupyter.plan as plan_module
    import stork_jupyter.plan_postgres as plan_postgres_module

    hashed: list[Path] = []
    real = checksum_module.sha256_file

    def counting(path, *args):
        hashed.append(Path(path))
        return real(path, *args)

    for module in (checksum_module, plan_module, plan_postgres_module):
        if hasattr(module, "sha256_file"):
            monkeypatch.setattr(module, "sha256_file", counting)
    return hashed


def test_a_file_read_twice_moves_once(tmp_path):
    nb = small_project(tmp_path, "import pandas as pd",
                       "a = pd.read_csv('data/a.csv')", "b = pd.read_csv('./data/a.csv')")
    plan = _plan(nb, str(tmp_path / "dest"))
    assert _moves(plan) == {"data/a.csv": "nb/data/a.csv"}
    assert [e.target for e in plan.edits] == [str(tmp_path / "dest/nb/data/a.csv")] * 2


def test_mirror_layout_keeps_the_notebook_folder_under_the_root(tmp_path):
    (tmp_path / "stork.toml").write_text("")
    nb = small_project(tmp_path / "team" / "sales",
                       "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    plan = _plan(nb, "s3://bucket/lake")
    assert _moves(plan) == {"data/a.csv": "team/sales/nb/data/a.csv"}


def test_flat_layout_gives_unique_names(tmp_path):
    write_files(tmp_path, {"data/a.csv": "x\n1\n", "other/a.csv": "x\n2\n"})
    nb = write_nb(tmp_path / "nb.ipynb", "import pandas as pd",
                  "a = pd.read_csv('data/a.csv')\nb = pd.read_csv('other/a.csv')")
    plan = _plan(nb, "s3://bucket/lake", layout="flat")
    assert _moves(plan) == {"data/a.csv": "a.csv", "other/a.csv": "a-2.csv"}


def test_flat_layout_from_stork_toml(tmp_path):
    (tmp_path / "stork.toml").write_text(
        '[destinations.lake]\nurl = "s3://bucket/lake"\nlayout = "flat"\n')
    nb = small_project(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')")
    plan = _plan(nb, "lake")
    assert _moves(plan) == {"data/a.csv": "a.csv"}
    assert plan.destination == "s3://bucket/lake"


def test_an_artefact_written_then_read_is_planned_not_moved(tmp_path):
    nb = small_project(tmp_path, "import pandas as pd\ndf = pd.read_csv('data/a.csv')",
                       "df.to_csv('out/r.csv', index=False)", "back = pd.read_csv('out/r.csv')")
    plan = _plan(nb, str(tmp_path / "dest"))
    assert _moves(plan) == {"data/a.csv": "nb/data/a.csv"}
    assert plan.writes == ["nb/out/r.csv"]
    targets = {(e.cell_index, e.mode): e.target for e in plan.edits}
    assert targets[(2, "write")] == targets[(3, "read")] == str(tmp_path / "dest/nb/out/r.csv")


def test_unresolved_missing_and_unsupported_are_blockers(tmp_path):
    nb = small_project(
        tmp_path, "import pandas as pd\nimport pathlib",
        "a = pd.read_csv(input())",
        "b = pd.read_csv('data/missing.csv')",
        "with open('data/a.csv', 'a') as f:\n    f.write('3,4\\n')",
        "c = pd.read_csv('data/a.csv')")
    plan = _plan(nb, "s3://bucket/lake")
    found = {(b.cell_index, b.line): (b.code, b.reason) for b in plan.blockers}
    assert found[(2, 1)] == ("pd.read_csv(input())",
                             "the result of input() is only known at run time")
    assert found[(3, 1)][1] == "source file data/missing.csv does not exist"
    assert "cannot update an object in place" in found[(4, 1)][1]
    assert len(found) == 3
    # the rest is still planned (for --partial)
    assert _moves(plan) == {"data/a.csv": "nb/data/a.csv"}
    assert [(e.cell_index, e.api) for e in plan.edits] == [(5, "pandas.read_csv")]
    assert plan.blockers[0].describe("nb.ipynb") == (
        "nb.ipynb: cell 3, line 1: pd.read_csv(input()): the result of input() is only "
        "known at run time")


def test_append_mode_is_fine_for_a_folder(tmp_path):
    nb = small_project(tmp_path, "with open('data/a.csv', 'a') as f:\n    f.write('3,4\\n')")
    plan = _plan(nb, str(tmp_path / "dest"))
    assert plan.blockers == [] and len(plan.edits) == 1


def test_remote_and_already_migrated_paths_are_skipped(tmp_path):
    nb = small_project(tmp_path, "import pandas as pd",
                       "a = pd.read_csv('s3://elsewhere/x.csv')",
                       "b = pd.read_csv('s3://bucket/lake/nb/data/a.csv')")
    plan = _plan(nb, "s3://bucket/lake")
    assert plan.moves == [] and plan.edits == [] and plan.blockers == []
    assert len(plan.skipped) == 2 and plan.empty


def test_outside_the_root(tmp_path):
    (tmp_path / "outside.csv").write_text("x\n1\n")
    nb = small_project(tmp_path / "project",
                       "import pandas as pd\ndf = pd.read_csv('../outside.csv')")
    plan = _plan(nb, str(tmp_path / "dest"))
    [blocker] = plan.blockers
    assert "outside the project root" in blocker.reason and plan.moves == []
    plan = _plan(nb, str(tmp_path / "dest"), allow_outside_root=True)
    assert plan.blockers == []
    assert _moves(plan) == {"../outside.csv": "nb/_up/outside.csv"}


def test_glob_becomes_one_edit_and_one_move_per_file(tmp_path):
    write_files(tmp_path, {f"data/parts/p{i}.csv": f"x\n{i}\n" for i in range(3)})
    nb = write_nb(tmp_path / "nb.ipynb", "import glob\nimport pandas as pd",
                  "dfs = [pd.read_csv(p) for p in sorted(glob.glob('data/parts/*.csv'))]")
    plan = _plan(nb, "s3://bucket/lake")
    assert sorted(_moves(plan)) == [f"data/parts/p{i}.csv" for i in range(3)]
    [edit] = plan.edits
    assert (edit.action, edit.target) == ("glob", "s3://bucket/lake/nb/data/parts/*.csv")


def test_loop_over_literal_paths_becomes_a_prefix(tmp_path):
    write_files(tmp_path, {"data/a.txt": "a", "data/b.txt": "b"})
    nb = write_nb(tmp_path / "nb.ipynb",
                  "for name in ['a.txt', 'b.txt']:\n    print(open('data/' + name).read())")
    plan = _plan(nb, "s3://bucket/lake")
    assert sorted(_moves(plan)) == ["data/a.txt", "data/b.txt"]
    [edit] = plan.edits
    assert (edit.action, edit.base) == ("prefix", "s3://bucket/lake/nb")


def test_a_loop_needs_the_mirror_layout(tmp_path):
    write_files(tmp_path, {"data/a.txt": "a", "data/b.txt": "b"})
    nb = write_nb(tmp_path / "nb.ipynb",
                  "for name in ['a.txt', 'b.txt']:\n    print(open('data/' + name).read())")
    plan = _plan(nb, "s3://bucket/lake", layout="flat")
    assert plan.edits == [] and len(plan.blockers) == 2
    assert "layout = mirror" in plan.blockers[0].reason


@pytest.mark.parametrize("to", ["s3://bucket/lake", "DEST"])
def test_no_data_access_is_an_empty_plan(tmp_path, to):
    nb = write_nb(tmp_path / "nb.ipynb", "x = 1")
    plan = _plan(nb, to.replace("DEST", str(tmp_path / "dest")))
    assert plan.empty and plan.blockers == [] and plan.writes == []
