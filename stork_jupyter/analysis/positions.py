"""Where a cell's calls and compound statements are, taken from CPython's parse of the
same code (which the analysis runs first anyway). libcst's PositionProvider generates the
whole cell's code again to place every node, which took a third of the analysis; the
analysis only ever asks where a call or a compound statement is.

The two trees are paired in source order: the calls of the libcst tree in pre-order
against CPython's calls sorted by start, the longer first (``f(x)(y)`` starts where
``f(x)`` does). Each pair is checked (callee name, argument count); any doubt answers
``None`` and the caller falls back to PositionProvider.
"""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

#: compound statements whose line the analysis reports (a branch or a loop)
_COMPOUND = {
    cst.If: (ast.If,), cst.For: (ast.For, ast.AsyncFor), cst.While: (ast.While,),
    cst.Try: (ast.Try,), cst.TryStar: (ast.TryStar,) if hasattr(ast, "TryStar") else (),
    cst.With: (ast.With, ast.AsyncWith), cst.Match: (ast.Match,),
}
_AST_COMPOUND = tuple(t for ts in _COMPOUND.values() for t in ts)
#: line breaks other than ``\n``: CPython and ``str.splitlines`` may count lines apart
_ODD_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def from_ast(tree: ast.Module, module: cst.Module, code: str
             ) -> dict[cst.CSTNode, CodeRange] | None:
    """The ranges of ``module``'s calls and compound statements, or ``None`` when the
    pairing cannot be trusted."""
    if any(b in code for b in _ODD_BREAKS):
        return None
    calls, compounds = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, _AST_COMPOUND):
            compounds.append(node)
        elif isinstance(node, ast.JoinedStr) and any(
                isinstance(n, ast.Call) for n in ast.walk(node)):
            return None  # positions inside f-strings are not reliable before 3.12
    cst_calls, cst_compounds = _collect(module)
    if len(calls) != len(cst_calls) or len(compounds) != len(cst_compounds):
        return None
    calls.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
    compounds.sort(key=lambda n: (n.lineno, n.col_offset))
    lines = code.split("\n")
    out: dict[cst.CSTNode, CodeRange] = {}
    for mine, theirs in zip(cst_calls, calls, strict=True):
        if not _same_call(mine, theirs):
            return None
        out[mine] = _range(theirs, lines)
    for mine, theirs in zip(cst_compounds, compounds, strict=True):
        if not isinstance(theirs, _COMPOUND[type(mine)]):
            return None
        out[mine] = _range(theirs, lines)
    return out


def _collect(module: cst.Module) -> tuple[list[cst.Call], list[cst.CSTNode]]:
    """The calls and compound statements of ``module`` in source order."""
    calls: list[cst.Call] = []
    compounds: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            calls.append(node)
        elif type(node) in _COMPOUND:
            compounds.append(node)
        stack.extend(reversed(children(node)))
    return calls, compounds


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node.children`` that may hold code (no punctuation or whitespace), in source
    order. libcst's own property gives that order too, but rebuilds the node to find it
    (six times slower over a cell)."""
    found: list[cst.CSTNode] = []
    for name in _fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, list | tuple):
            found.extend(v for v in value if _is_node(type(v)))
        elif _is_node(type(value)):
            found.append(value)
    return found


#: fields that hold only punctuation and whitespace, never an expression or a statement
_PUNCTUATION = frozenset({
    "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon",
    "colon", "dot", "equal", "arrow", "operator", "asynchronous", "star", "relative",
    "posonly_ind", "leading_lines", "lines_after_decorators", "header", "footer",
    "trailing_whitespace", "newline"})
#: node types whose fields are declared in another order than the source's
_SOURCE_ORDER = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Arg: ("keyword", "value"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.MatchCase: ("pattern", "guard", "body"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.ExceptStarHandler: ("type", "name", "body"),
}
_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE_TYPES: dict[type, bool] = {}


def _is_node(cls: type) -> bool:
    """``issubclass(cls, CSTNode)``, remembered: CSTNode is an ABC, whose checks took
    half of the walk."""
    known = _NODE_TYPES.get(cls)
    if known is None:
        known = _NODE_TYPES[cls] = issubclass(cls, cst.CSTNode)
    return known


def _fields(cls: type) -> tuple[str, ...]:
    """The fields of a node type that may hold code, in source order."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _SOURCE_ORDER.get(cls) or tuple(
            f.name for f in dataclasses.fields(cls)
            if f.name not in _PUNCTUATION and not f.name.startswith("whitespace"))
        _FIELDS[cls] = names
    return names


def _same_call(mine: cst.Call, theirs: ast.Call) -> bool:
    if len(mine.args) != len(theirs.args) + len(theirs.keywords):
        return False
    func, other = mine.func, theirs.func
    if isinstance(func, cst.Name):
        return isinstance(other, ast.Name) and other.id == func.value
    if isinstance(func, cst.Attribute):
        return isinstance(other, ast.Attribute) and other.attr == func.attr.value
    return not isinstance(other, ast.Name | ast.Attribute)


def _range(node: ast.AST, lines: list[str]) -> CodeRange:
    return CodeRange(CodePosition(node.lineno, _column(lines, node.lineno, node.col_offset)),
                     CodePosition(node.end_lineno,
                                  _column(lines, node.end_lineno, node.end_col_offset)))


def _column(lines: list[str], line: int, offset: int) -> int:
    """CPython counts columns in UTF-8 bytes, libcst in characters."""
    text = lines[line - 1]
    if text.isascii():
        return offset
    return len(text.encode()[:offset].decode(errors="replace"))
