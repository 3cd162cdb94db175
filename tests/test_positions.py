"""The analysis places calls and compound statements from CPython's parse of a cell
(``analysis.positions``) instead of libcst's PositionProvider: every range it gives is
PositionProvider's own, and where the two trees cannot be paired it gives none."""

from __future__ import annotations

import json
from pathlib import Path

import libcst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from stork_jupyter.analysis import analyzer, positions
from stork_jupyter.notebook import mask_ipython

CORPUS = Path(__file__).parent / "corpus" / "notebooks"

SNIPPETS = [
    "f(x)(y)\na.b(c).d(e)\n",
    "@dec(1)\n@other.deco(read('a.csv'))\ndef f(a, /, b=g(), *args, c=h(), **kw) -> r():\n"
    "    return open('x')\n",
    "@cls_deco(z())\nclass C(Base(q()), metaclass=M(m())):\n    x = y()\n",
    "v = body() if test() else orelse()\nw = (lambda p=d(): p(e()))(k())\n",
    "r = [f(i) for i in g() if h(i)]\ns = {k(): v() for k in a() if b()}\nt = (q() for q in z())\n",
    "if a():\n    b()\nelif c():\n    d()\nelse:\n    e()\nwhile w():\n    pass\n",
    "for x in it():\n    try:\n        t()\n    except E(e()) as err:\n        u()\n"
    "    finally:\n        fin()\n",
    "with open('a') as f, open(g()) as h:\n    h.write(f.read())\n",
    "f(a=1, *b(), **c())\nf(*x(), k=y())\n",
    "match cmd():\n    case Point(x=0) if guard():\n        go()\n    case _:\n        stop()\n",
    "try:\n    a()\nexcept* ValueError(v()):\n    b()\n",
    "déjà = lire('données/é.csv'); ok(déjà)\nx = 'ü' + f('ß', g('€'))\n",
    "async def main():\n    async with s() as x:\n        async for y in z():\n            await w(y)\n",
    "(yield_(1))\n(a)(b)\n((f))(x)\nx = (\n    g(\n        1,\n    )\n)\n",
    "print(  'spaced'  , end = f_end() )\n",
    "x[g()](h())\ny = x.attr[i()].meth(j())\nz = -n() ** p()\n",
    "global_ = [*a(), *b()]\n{**c(), 'k': d()}\nassert t(), m()\ndel x[i()]\nraise E(f()) from g()\n",
]


def _ranges(code: str) -> tuple[dict, dict]:
    module = libcst.parse_module(code)
    import ast

    quick = positions.from_ast(ast.parse(code), module, code)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return quick, theirs


def _check(code: str) -> int:
    quick, theirs = _ranges(code)
    if quick is None:
        return -1
    for node, where in quick.items():
        expected = theirs[node]
        if isinstance(node, libcst.Call):
            assert (where.start, where.end) == (expected.start, expected.end), (
                code, libcst.Module([]).code_for_node(node))
        else:
            assert where.start == expected.start, code
    return len(quick)


@pytest.mark.parametrize("code", SNIPPETS)
def test_every_call_and_compound_is_where_libcst_places_it(code: str) -> None:
    assert _check(code) > 0


def test_every_code_cell_of_the_corpus_is_placed_as_libcst_places_it() -> None:
    placed = cells = 0
    for path in sorted(CORPUS.rglob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell[
                "source"]
            masked = mask_ipython(source)
            if masked.skip_reason:
                continue
            try:
                n = _check(masked.code)
            except (SyntaxError, libcst.ParserSyntaxError):
                continue
            cells += 1
            placed += n >= 0
    assert cells > 100
    assert placed > cells * 0.8  # the rest: calls inside f-strings, which fall back


@pytest.mark.parametrize("code", [
    "x = f'{read(path)}'\n",  # CPython 3.11 places nodes inside f-strings unreliably
    "a()\n\x0cb()\n",  # a form feed: str.splitlines and CPython count lines apart
])
def test_no_ranges_where_the_trees_cannot_be_trusted(code: str) -> None:
    quick, _ = _ranges(code)
    assert quick is None


def test_a_cell_the_pairing_refuses_is_placed_by_libcst(tmp_path: Path) -> None:
    """An f-string with a call: the access is still found at libcst's position."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("a\n1\n")
    cells = [{"cell_type": "code", "id": "c0", "source":
              "import pandas as pd\nname = 'a'\nprint(f'{len(name)}')\n"
              "df = pd.read_csv(f'data/{name}.csv')"}]
    result = analyzer.analyze_cells(cells, tmp_path)
    assert [(a.line, a.col, a.path) for a in result.accesses] == [(4, 5, "data/a.csv")]


def _preorder(module: libcst.Module, kids) -> list[libcst.CSTNode]:
    code = (libcst.BaseExpression, libcst.BaseStatement, libcst.BaseSmallStatement)
    out, stack = [], [module]
    while stack:
        node = stack.pop()
        if isinstance(node, code):
            out.append(node)
        stack.extend(reversed(kids(node)))
    return out


@pytest.mark.parametrize("code", SNIPPETS)
def test_children_are_libcsts_own_in_its_order(code: str) -> None:
    """The analysis evaluates a node's children through ``positions.children`` (fields
    read directly): the same expressions and statements, in the order libcst gives."""
    module = libcst.parse_module(code)
    ours = _preorder(module, positions.children)
    theirs = _preorder(module, lambda n: list(n.children))
    assert [id(n) for n in ours] == [id(n) for n in theirs]
