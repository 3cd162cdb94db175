"""The two passes of ``analyze_cells`` (the second binds a def's parameters to the
values its calls give) share each cell's parse and positions: a cell is parsed and its
positions resolved once (from CPython's parse: libcst's PositionProvider is not needed
for these cells), and the accesses sit where libcst places the calls."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import libcst
from libcst.metadata import MetadataWrapper, PositionProvider

from stork_jupyter.analysis import analyzer, positions
from stork_jupyter.analysis.analyzer import analyze_cells

CELLS = [
    'import pandas as pd\n\ndef load(name):\n    return pd.read_csv("data/" + name)',
    'df = (\n    load("a.csv"))\nx = pd.read_csv(  "data/a.csv")',
    "%matplotlib inline\ny = pd.read_csv('data/a.csv')",
]


def _cells() -> list[dict]:
    return [{"cell_type": "code", "source": s, "id": f"c{i}"} for i, s in enumerate(CELLS)]


def test_each_cell_is_parsed_and_positioned_once(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("a,b\n1,2\n")
    parsed: Counter[str] = Counter()
    positioned: Counter[str] = Counter()
    provided: Counter[int] = Counter()
    real_parse, real_positions = libcst.parse_module, analyzer._positions
    real_from_ast = positions.from_ast

    def parse(code, *args, **kwargs):
        parsed[code] += 1
        return real_parse(code, *args, **kwargs)

    def provider(cell):
        provided[cell.index] += 1
        return real_positions(cell)

    def from_ast(tree, module, code):
        positioned[code] += 1
        return real_from_ast(tree, module, code)

    monkeypatch.setattr(libcst, "parse_module", parse)
    monkeypatch.setattr(analyzer, "_positions", provider)
    monkeypatch.setattr(positions, "from_ast", from_ast)
    result = analyze_cells(_cells(), tmp_path)

    # the def's read_csv is resolved through its call in the next cell: two passes ran
    assert [(a.cell_index, a.line, a.col, a.path) for a in result.accesses] == [
        (0, 4, 11, "data/a.csv"), (1, 3, 4, "data/a.csv"), (2, 2, 4, "data/a.csv")]
    assert len(parsed) == 3 and set(parsed.values()) == {1}
    assert len(positioned) == 3 and set(positioned.values()) == {1}
    assert not provided


def test_positions_are_libcsts_own(tmp_path: Path) -> None:
    """The positions the analysis resolves are those of MetadataWrapper.resolve."""
    cell = analyzer._parse_cell(1, "c1", CELLS[1])
    ours = analyzer._positions(cell)
    module = libcst.parse_module(CELLS[1])
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    # the same tree shape: compare node by node in visiting order
    assert [(r.start, r.end) for r in ours.values()] == [
        (r.start, r.end) for r in theirs.values()]
    assert len(ours) == len(theirs) > 10
