"""The analyze door serves an unchanged notebook from a cache keyed by its content, and
analyses again whenever the cells or the files around them change."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from stork_jupyter.analysis import analyzer, cache
from stork_jupyter.inventory import analyze_and_record, cache_folder


@pytest.fixture
def calls(monkeypatch):
    """How many times the real analyser ran."""
    count = [0]
    real = analyzer.analyze_cells

    def counting(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(analyzer, "analyze_cells", counting)
    cache.clear_memory()
    yield count
    cache.clear_memory()


def _project(tmp_path: Path, *cells: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    nb = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), nb)
    return nb


CELLS = ("import glob\nimport pandas as pd", "df = pd.read_csv('data/a.csv')",
         "parts = [pd.read_csv(p) for p in glob.glob('data/*.csv')]")


def _json(analysis):
    return [a.to_json() for a in analysis.accesses]


def test_unchanged_notebook_is_served_from_the_cache(tmp_path, calls):
    nb = _project(tmp_path, *CELLS)
    first = analyze_and_record(nb)
    second = analyze_and_record(nb)
    assert calls[0] == 1
    assert _json(second) == _json(first)
    assert {a.path for a in second.accesses} == {"data/a.csv"}
    cache.clear_memory()  # a new process: the project's .stork/cache answers
    assert _json(analyze_and_record(nb)) == _json(first)
    assert calls[0] == 1
    assert list(cache_folder(tmp_path).glob("analysis-*.json"))


def test_changed_cells_or_files_are_analysed_again(tmp_path, calls):
    nb = _project(tmp_path, *CELLS)
    analyze_and_record(nb)
    (tmp_path / "data" / "b.csv").write_text("x\n2\n")  # the glob now matches two files
    again = analyze_and_record(nb)
    assert calls[0] == 2
    assert sorted(a.path for a in again.accesses if a.expanded_from) == [
        "data/a.csv", "data/b.csv"]

    content = nbformat.read(nb, 4)
    content.cells[1].source = "df = pd.read_csv('data/b.csv')"
    nbformat.write(content, nb)
    edited = analyze_and_record(nb)
    assert calls[0] == 3
    assert edited.accesses[0].path == "data/b.csv"


def test_a_file_rewritten_in_place_is_stat_again(tmp_path, calls):
    nb = _project(tmp_path, *CELLS)
    analyze_and_record(nb)
    (tmp_path / "data" / "a.csv").write_text("x\n1\n2\n3\n")  # same folder entries
    again = analyze_and_record(nb)
    assert calls[0] == 1
    assert {a.size for a in again.accesses} == {len("x\n1\n2\n3\n")}


def test_no_record_keeps_the_cache_in_memory_only(tmp_path, calls):
    nb = _project(tmp_path, *CELLS)
    analyze_and_record(nb, record=False)
    analyze_and_record(nb, record=False)
    assert calls[0] == 1
    assert not (tmp_path / ".stork").exists()  # --no-record writes nothing
