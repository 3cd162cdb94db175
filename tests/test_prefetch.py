"""``stork migrate`` begins hashing the big files its notebook names before it loads
the engine; the plan takes those digests, and a literal that is no data access costs
nothing but a stopped hash."""

from __future__ import annotations

import hashlib
import json
import random

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from resume_support import run_stork

from stork_jupyter import checksum, prefetch
from stork_jupyter.store import Dataset, open_store

BIG = prefetch.MIN_BYTES + 1


@pytest.fixture
def clean_early():
    checksum._early = None
    yield
    if checksum._early is not None:
        checksum._early.close()
    checksum._early = None


def _big(path, seed: int = 1):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(BIG))
    return path


def _notebook(folder, *sources: str, name: str = "nb.ipynb"):
    cells = [new_markdown_cell("'data/notes.bin' in markdown is not code")]
    cells += [new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells), folder / name)
    return folder / name


def test_the_files_named_in_code_literals_that_exist_and_are_big(tmp_path):
    big = _big(tmp_path / "data" / "big.bin")
    other = _big(tmp_path / "other.bin", 2)
    _big(tmp_path / "data" / "notes.bin", 3)
    (tmp_path / "data" / "small.csv").write_text("a\n1\n")
    nb = _notebook(
        tmp_path,
        "import pandas as pd\nraw = open(r'data/big.bin', 'rb').read()\n"
        "small = pd.read_csv('data/small.csv')",
        "x = f'data/{name}.bin'\nmissing = open('data/missing.bin')\n"
        "again = \"data/big.bin\"\nup = open('../" + tmp_path.name + "/other.bin')")
    assert prefetch.named_files(nb) == [big.resolve(), other.resolve()]


def test_a_notebook_that_cannot_be_read_names_nothing(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert prefetch.named_files(tmp_path / "broken.ipynb") == []
    assert prefetch.named_files(tmp_path / "absent.ipynb") == []


def test_only_the_migrate_command_begins_early_digests(tmp_path, monkeypatch, clean_early):
    big = _big(tmp_path / "data" / "big.bin")
    _notebook(tmp_path, "raw = open('data/big.bin', 'rb').read()")
    monkeypatch.chdir(tmp_path)
    prefetch.from_command_line(["pytest", "migrate", "nb.ipynb"])
    prefetch.from_command_line(["/venv/bin/stork", "analyze", "nb.ipynb"])
    prefetch.from_command_line(["/venv/bin/stork", "migrate", "x.ipynb", "-o", "nb.ipynb"])
    assert checksum._early is None
    prefetch.from_command_line(["/venv/bin/stork", "migrate", "nb.ipynb", "--to", "lake",
                                "-o", "out.ipynb"])
    early, checksum._early = checksum._early, None
    try:
        assert early.of(big.resolve()) == hashlib.sha256(big.read_bytes()).hexdigest()
    finally:
        early.close()


def test_a_plan_takes_the_early_digests_and_stops_the_rest(tmp_path, clean_early):
    read, named = _big(tmp_path / "read.bin"), _big(tmp_path / "named.bin", 4)
    checksum.begin_early([named.resolve(), read.resolve()])
    plan = checksum.plan_digests([read.resolve()])
    assert checksum._early is None  # (taken once)
    assert plan.of(read.resolve()) == hashlib.sha256(read.read_bytes()).hexdigest()
    plan.close()
    assert not plan._thread.is_alive()


def test_migrate_command_with_early_digests_records_the_files_sha256(tmp_path):
    project = tmp_path / "project"
    big = _big(project / "data" / "big.bin", 5)
    decoy = _big(project / "data" / "decoy.bin", 6)
    nb = _notebook(project, "with open('data/big.bin', 'rb') as f:\n    head = f.read(4)\n"
                            "label = 'data/decoy.bin'\nprint(len(head), label)")
    (project / "stork.toml").write_text("")
    run = run_stork("migrate", nb, "--to", tmp_path / "lake", "-o", project / "out.ipynb",
                    "--no-progress", "--json", cwd=project)
    assert run.returncode == 0, run.stderr
    copied = tmp_path / "lake" / "nb" / "data" / "big.bin"  # (mirror: under the notebook)
    assert copied.read_bytes() == big.read_bytes()
    assert not (tmp_path / "lake" / "nb" / "data" / "decoy.bin").exists() and decoy.is_file()
    with open_store(project) as metadata:
        datasets = {d.source_path: d for d in metadata.list(Dataset, limit=None)}
    assert datasets["data/big.bin"].sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    out = json.loads((project / "out.ipynb").read_text())
    code = ["".join(c["source"]) for c in out["cells"] if c["cell_type"] == "code"]
    assert any(f"open('{copied}', 'rb')" in c for c in code), code
