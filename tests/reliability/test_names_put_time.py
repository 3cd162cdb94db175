"""Two stores, one destination: the name is checked when the bytes land, not only when
planning.

Two projects (two project roots, so two metadata stores that know nothing of each
other) each migrate their own ``data/sales.csv`` to one flat folder or S3 prefix at the
same moment: both plans see ``sales.csv`` free. The write itself refuses to land on
another dataset's file (a hard link, or S3's ``IfNoneMatch``), and the migration that
lost plans again and takes ``sales-2.csv``. Each notebook reads its own data.
"""

from __future__ import annotations

import hashlib

import pytest
from migrate_support import small_project
from names_support import data_moved_away, evaluate, run_many, stork_env

from stork_jupyter.destinations import LocalBackend, S3Backend
from stork_jupyter.destinations.base import DestinationTaken, TransferContext
from stork_jupyter.recovery import BARRIER_ENV

READ = ("import pandas as pd", "df = pd.read_csv('data/sales.csv')\ntotal = int(df.amount.sum())")


def _projects(tmp_path, rows: int):
    """Projects a and b, each reading its own sales.csv (different totals)."""
    projects = []
    for k, name in enumerate("ab", start=1):
        csv = "region,amount\n" + "".join(f"r{i % 7},{i * k}\n" for i in range(rows))
        small_project(tmp_path / name, *READ, files={"data/sales.csv": csv})
        (tmp_path / name / "stork.toml").write_text("")  # its own root, its own store
        projects.append((tmp_path / name, sum(i * k for i in range(rows))))
    return projects


def _migrate_at_once(tmp_path, projects, to: str) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    # both have planned (and chosen sales.csv) before either sends a byte
    env = stork_env({BARRIER_ENV: f"planned:{barrier}:{len(projects)}"})
    env.pop("STORK_STORE", None)
    runs = run_many([["migrate", str(p / "nb.ipynb"), "--to", to, "--layout", "flat", "-o",
                      str(p / "out.ipynb")] for p, _ in projects], cwd=tmp_path, env=env)
    for r in runs:
        assert r.returncode == 0, r.stderr


def _each_reads_its_own(projects) -> None:
    for project, total in projects:
        with data_moved_away(project / "data"):
            assert evaluate(project / "out.ipynb", ["total"]) == {"total": total}


def test_two_stores_one_folder_each_notebook_reads_its_own_data(tmp_path):
    projects = _projects(tmp_path, 2000)
    lake = tmp_path / "lake"
    _migrate_at_once(tmp_path, projects, str(lake))
    assert sorted(p.name for p in lake.iterdir()) == ["sales-2.csv", "sales.csv"]
    _each_reads_its_own(projects)


def test_two_stores_one_bucket_each_notebook_reads_its_own_data(tmp_path, s3_endpoint):
    projects = _projects(tmp_path, 2000)
    to = f"s3://{s3_endpoint.bucket}/lake"
    _migrate_at_once(tmp_path, projects, to)
    client = s3_endpoint.client()
    keys = sorted(o["Key"] for o in client.list_objects_v2(
        Bucket=s3_endpoint.bucket)["Contents"])
    assert keys == ["lake/sales-2.csv", "lake/sales.csv"]
    _each_reads_its_own(projects)


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_a_put_never_overwrites_another_datasets_object(tmp_path, request, kind):
    """The backend alone: a name that holds other content is refused at put time; the
    same content is shared; a sync's earlier content of this dataset is replaced."""
    if kind == "s3":
        backend = S3Backend(f"s3://{request.getfixturevalue('s3_endpoint').bucket}/lake")
    else:
        backend = LocalBackend(str(tmp_path / "lake"))
    backend.check()
    theirs, ours = tmp_path / "theirs.csv", tmp_path / "ours.csv"
    theirs.write_text("x\n1\n")
    ours.write_text("x\n2\n")

    def sha(p):
        return hashlib.sha256(p.read_bytes()).hexdigest()

    backend.put(theirs, "sales.csv", sha(theirs))
    with pytest.raises(DestinationTaken, match="sales.csv now holds other data"):
        backend.put(ours, "sales.csv", sha(ours))
    assert backend.holds("sales.csv", sha(theirs))
    assert backend.put(theirs, "sales.csv", sha(theirs)).skipped

    ctx = TransferContext(state={"replaces": sha(theirs)})
    backend.put_resumable(ours, "sales.csv", sha(ours), ctx)
    assert backend.holds("sales.csv", sha(ours))
