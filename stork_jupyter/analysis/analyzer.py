"""Static analysis of a notebook's data accesses.

Cells are parsed with libcst and walked in notebook order by a small abstract
interpreter: names bound in one cell are known in the next, path expressions are
worked out when they depend only on literals (``values.combine``), and every call the
catalog knows becomes a ``DataAccess``. Nothing is executed and nothing is guessed: a
path that depends on run time is reported unresolved, with the reason.
"""

from __future__ import annotations

import ast
import builtins
import operator
import os
import posixpath
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ..notebook import MaskedCell, mask_ipython, read_notebook
from ..quiet import no_warnings
from . import catalog, paths, positions
from .access import Analysis, CellProblem, DataAccess
from .shell import parse_shell
from .values import (
    MAX_OPTIONS,
    SETUP_FILE_PARAMETER,
    SETUP_HELPERS,
    Buffer,
    Func,
    Handle,
    Known,
    Migrated,
    Multi,
    Ref,
    Unknown,
    Value,
    as_path_strings,
    combine,
    iterate,
    new_key,
    to_json,
)

_BUILTINS = frozenset(dir(builtins))
_BINOPS = {
    cst.Add: operator.add,
    cst.Divide: operator.truediv,  # pathlib's "/" join
    cst.Modulo: paths.safe_percent,
    cst.Subtract: operator.sub,
}
_COMPARE = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.GreaterThan: operator.gt, cst.LessThanEqual: operator.le,
    cst.GreaterThanEqual: operator.ge, cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
}


@dataclass
class Scope:
    """Names bound so far; a function or comprehension gets a child scope."""

    vars: dict[str, Value] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> Value | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        return None

    def branch(self) -> Scope:
        return Scope(dict(self.vars), self.parent)


@dataclass
class CallSite:
    """The values a user function's parameters take at one call (``load("train")``)."""

    values: dict[str, Value]  #: parameter -> value (missing: the parameter's default)
    where: str  #: "cell 3, line 2", for reasons


@dataclass
class _Cell:
    index: int
    cell_id: str | None
    module: cst.Module
    wrapper: MetadataWrapper
    masked: MaskedCell
    #: CPython's parse of the same code: where the calls and compound statements are
    tree: ast.Module | None = None
    #: resolved on first use: most cells need no position, and it is half the time
    positions: Any = None
    #: the calls' and compound statements' ranges from ``tree`` (``positions.from_ast``;
    #: empty when the two trees could not be paired)
    quick: dict | None = None
    #: the masked source's lines, for a node's text from its position
    lines: list[str] | None = None


#: a cell the analysis skips (``%%bash``...)
_SKIP = object()


def _parse_cell(index: int, cell_id: str | None, source: str) -> _Cell | CellProblem | object:
    """A code cell parsed for analysis (its IPython syntax masked), why it cannot be, or
    ``_SKIP``. The parsed tree is never changed, so the passes of ``analyze_cells`` share
    it (and its positions, resolved once)."""
    masked = mask_ipython(source)
    if masked.skip_reason:
        return _SKIP
    # CPython's parser first: it refuses deeply nested code cleanly (its own limits),
    # where libcst's native parser can overflow the stack and kill the process
    try:
        tree = ast.parse(masked.code)
    except SyntaxError as e:
        return CellProblem(index, cell_id, e.lineno or 1, f"not valid Python: {e.msg}")
    except (RecursionError, MemoryError, ValueError) as e:
        why = str(e) or "nested too deeply"
        return CellProblem(index, cell_id, 1, f"cannot be parsed: {why}")
    try:
        module = cst.parse_module(masked.code)
    except cst.ParserSyntaxError as e:
        line, message = _syntax_error(masked.code, e)
        return CellProblem(index, cell_id, line, f"not valid Python: {message}")
    except (RecursionError, MemoryError, ValueError) as e:
        return CellProblem(index, cell_id, 1, f"cannot be parsed: {e}")
    return _Cell(index, cell_id, module, MetadataWrapper(module, unsafe_skip_copy=True),
                 masked, tree)


class NotebookAnalyzer:
    """Walks cells in order; one instance per notebook (the state carries across cells)."""

    def __init__(self, nb_dir: Path, seed: dict[str, Value] | None = None,
                 parsed: dict[tuple[int, str], Any] | None = None):
        self.nb_dir = Path(nb_dir)
        #: (cell index, source) -> :func:`_parse_cell`'s answer, shared between passes
        self.parsed: dict[tuple[int, str], Any] = {} if parsed is None else parsed
        self.globals = Scope(dict(seed or {}))  # seed: what a live kernel already knows
        self.star_modules: list[str] = []
        self.accesses: list[DataAccess] = []
        self.problems: list[CellProblem] = []
        self._quiet = 0
        #: an existence probe answers from the disk (while ``_narrowing`` tries a test)
        self._probing = False
        #: (cell, node, ...) already recorded: a node id is unique only within its cell
        self._seen: set[tuple[int, int, int, str | None]] = set()
        #: user function name -> the argument values at each call site (see ``analyze_cells``)
        self.call_sites: dict[str, list[CallSite]] = {}
        #: what a first pass found at the call sites: parameters bound at each def
        self.known_calls: dict[str, list[CallSite]] = {}
        self.func_params: dict[str, list[str] | None] = {}
        self._root: Path | None = None
        self.func_kwonly: dict[str, list[str]] = {}
        self._cell: _Cell | None = None
        #: listings of project folders (globs, ``os.listdir``, ``Path.iterdir``) by the
        #: call's (cell, line, col); one that no access expands from is an access itself
        self.listings: dict[tuple[int, int, int], DataAccess] = {}
        #: an inner loop's key -> the outer loop's names it repeats in step (``_flatten``)
        self._outer: dict[int, dict[str, Multi]] = {}

    # --- driver ----------------------------------------------------------------------

    def analyze_cell(self, index: int, cell_id: str | None, source: str) -> None:
        # parsing and evaluating the user's literals ("\d", "1if") must not warn about them
        with no_warnings():
            self._analyze_cell(index, cell_id, source)

    def _analyze_cell(self, index: int, cell_id: str | None, source: str) -> None:
        parsed = self.parsed.get((index, source))
        if parsed is None:
            parsed = self.parsed[(index, source)] = _parse_cell(index, cell_id, source)
        if parsed is _SKIP:
            return
        if isinstance(parsed, CellProblem):
            self.problems.append(parsed)
            return
        self.shell_lines(index, cell_id, source, parsed.masked)
        try:
            self._cell = parsed
            self.exec_body(parsed.module.body, self.globals)
        except RecursionError:
            self.problems.append(CellProblem(index, cell_id, 1, "nested too deeply to analyse"))
        except Exception as e:  # the analysis must never take the notebook down with it
            self.problems.append(CellProblem(
                index, cell_id, 1, f"could not be analysed ({type(e).__name__}: {e})"))
        finally:
            self._cell = None

    def shell_lines(self, index: int, cell_id: str | None, source: str, masked: MaskedCell
                    ) -> None:
        """The files ``!cat data/x.csv`` and other shell lines read, list or remove."""
        lines = source.split("\n")
        for lineno in sorted(masked.masked_lines):
            line = lines[lineno - 1]
            stripped = line.lstrip()
            if not stripped.startswith("!") or stripped.startswith("!!"):
                continue
            command = parse_shell(stripped[1:])
            col = len(line) - len(stripped)
            base = DataAccess(
                cell_index=index, cell_id=cell_id, line=lineno, col=col, api=command.api,
                mode=command.mode, format=None, path=None, resolved=False,
                kwargs=dict(command.options), code=stripped, reason=command.reason,
                op="unlink" if command.api == "shell.rm" else None,
                optional=command.api in ("shell.ls", "shell.rm"))
            if command.reason is not None and not command.paths:
                if "run time" in command.reason:
                    self.accesses.append(base)
                continue
            for raw in command.paths:
                if command.reason is not None and not self._project_file(raw):
                    continue
                access = self._resolved(base, raw, None)
                if command.api == "shell.ls":
                    access.format = None
                self.accesses.append(access)

    def result(self, notebook: str) -> Analysis:
        # ``sorted(p.name for p in Path("data").rglob("*.csv"))`` reads no file but shows
        # what the project holds: once the data moves it must list the destination
        expanded = {tuple(a.expanded_at) for a in self.accesses if a.expanded_at}
        listed = [a for at, a in self.listings.items() if at not in expanded]
        # ``Path("data/missing.json").exists()`` of a file that is not there and that the
        # notebook never writes reads no data: it gives False before and after migration
        written = {a.path for a in self.accesses if a.mode == "write" and a.path}
        kept = [a for a in self.accesses if not (
            a.op in _PROBES and a.resolved and not a.remote and a.path not in written
            and not os.path.lexists(self.nb_dir / a.path))]
        ordered = sorted(kept + listed, key=lambda a: (a.cell_index, a.line, a.col))
        return Analysis(notebook, ordered, self.problems)

    # --- statements ------------------------------------------------------------------

    def exec_body(self, body: Sequence[cst.CSTNode], scope: Scope) -> None:
        for i, stmt in enumerate(body):
            narrowed = self._narrowing(stmt.test, scope) if _skips_rest(stmt) else None
            if narrowed is not None:
                # ``if not os.path.isdir(p): continue``: the rest runs for the other entries
                self.ev(stmt.test, scope)
                self._with_values(narrowed[1], scope,
                                  lambda inner, rest=body[i + 1:]: self.exec_body(rest, inner))
                return
            self.exec_stmt(stmt, scope)

    def exec_stmt(self, node: cst.CSTNode, scope: Scope) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.exec_small(small, scope)
        elif isinstance(node, cst.If):
            self.exec_if(node, scope)
        elif isinstance(node, cst.For):
            self.exec_for(node, scope)
        elif isinstance(node, cst.While):
            self.ev(node.test, scope)
            self.exec_loop_body(node, scope, may_skip=True)
            if node.orelse:
                self.exec_block(node.orelse.body, scope)
        elif isinstance(node, cst.With):
            for item in node.items:
                value = self.ev(item.item, scope)
                if item.asname is not None:
                    self.bind(item.asname.name, value, scope)
            self.exec_block(node.body, scope)
        elif isinstance(node, cst.Try | cst.TryStar):
            self.exec_block(node.body, scope)
            self.exec_branches(node, [h.body for h in node.handlers], scope, with_fallthrough=True)
            if node.orelse:
                self.exec_block(node.orelse.body, scope)
            if node.finalbody:
                self.exec_block(node.finalbody.body, scope)
        elif isinstance(node, cst.FunctionDef):
            self.exec_def(node, scope)
        elif isinstance(node, cst.ClassDef):
            scope.vars[node.name.value] = Unknown(f"class {node.name.value}")
            self.exec_block(node.body, Scope(parent=scope))
        elif isinstance(node, cst.Match):
            self.ev(node.subject, scope)
            self.exec_branches(node, [c.body for c in node.cases], scope, with_fallthrough=True)
        else:
            self.visit_children(node, scope)

    def exec_block(self, block: cst.BaseSuite, scope: Scope) -> None:
        if isinstance(block, cst.IndentedBlock):
            self.exec_body(block.body, scope)
        else:  # a one-line suite: ``if x: y = 1``
            for small in block.body:
                self.exec_small(small, scope)

    def exec_small(self, node: cst.CSTNode, scope: Scope) -> None:
        if isinstance(node, cst.Assign):
            value = self.ev(node.value, scope)
            for target in node.targets:
                self.bind(target.target, value, scope)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.bind(node.target, self.ev(node.value, scope), scope)
        elif isinstance(node, cst.AugAssign):
            value = self.ev(node.value, scope)
            current = self.ev(node.target, scope)
            op = _BINOPS.get(_aug_to_bin(node))
            new = combine(op, current, value, what=self.what(node)) if op else Unknown(
                f"'{self.code(node)}' is only known at run time")
            self.bind(node.target, new, scope)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                full = _dotted(alias.name)
                if alias.asname is not None:
                    self.bind(alias.asname.name, Ref(full), scope)
                else:
                    first = full.split(".")[0]
                    scope.vars[first] = Ref(first)
        elif isinstance(node, cst.ImportFrom):
            if node.relative or node.module is None:
                return
            module = _dotted(node.module)
            if isinstance(node.names, cst.ImportStar):
                self.star_modules.append(module)
                return
            for alias in node.names:
                name = _dotted(alias.name)
                target = alias.asname.name if alias.asname is not None else alias.name
                self.bind(target, Ref(f"{module}.{name}"), scope)
        else:
            self.visit_children(node, scope)

    def exec_if(self, node: cst.If, scope: Scope) -> None:
        self.ev(node.test, scope)
        narrowed = None if isinstance(node.orelse, cst.If) else self._narrowing(
            node.test, scope)
        if narrowed is not None:
            results = []
            for body, values in ((node.body, narrowed[0]),
                                 (node.orelse.body if node.orelse else None, narrowed[1])):
                if any(v.options for v in values.values()):  # (else no entry goes this way)
                    branch = scope.branch()
                    if body is not None:
                        self._with_values(values, branch, lambda b, body=body:
                                          self.exec_block(body, b))
                    results.append(branch.vars)
            self._merge(node, scope, results)
            return
        bodies: list[cst.BaseSuite] = [node.body]
        orelse = node.orelse
        while isinstance(orelse, cst.If):
            self.ev(orelse.test, scope)
            bodies.append(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            bodies.append(orelse.body)
        self.exec_branches(node, bodies, scope, with_fallthrough=orelse is None)

    def exec_branches(self, node: cst.CSTNode, bodies: list[cst.BaseSuite], scope: Scope,
                      with_fallthrough: bool) -> None:
        """Run each branch on its own copy of the scope, then keep only what they agree on."""
        results = []
        for body in bodies:
            branch = scope.branch()
            self.exec_block(body, branch)
            results.append(branch.vars)
        if with_fallthrough:
            results.append(dict(scope.vars))
        self._merge(node, scope, results)

    def _merge(self, node: cst.CSTNode, scope: Scope, results: list[dict[str, Value]]
               ) -> None:
        for name in set().union(*results) if results else ():
            values = [r.get(name) for r in results]
            first = values[0]
            if all(v == first for v in values) and first is not None:
                scope.vars[name] = first
            else:
                line = self.pos(node).start.line
                scope.vars[name] = Unknown(f"'{name}' depends on the condition at line {line}")

    def _narrowing(self, test: cst.BaseExpression, scope: Scope
                   ) -> tuple[dict[str, Multi], dict[str, Multi]] | None:
        """For a test known for each entry of the loop the names vary with (an existence
        probe, ``os.path.isdir(os.path.join(d, name))``, on a listing's entries): those
        names' values where it holds, and where it does not. None: not such a test."""
        groups: dict[int, dict[str, Multi]] = {}
        for name, value in scope.vars.items():
            if isinstance(value, Multi) and value.options:
                groups.setdefault(value.key, {})[name] = value
        for group in groups.values():
            counts = {len(v.options) for v in group.values()}
            if len(counts) != 1:
                continue
            verdicts = self._verdicts(test, group, counts.pop(), scope)
            if verdicts is None:
                continue
            return tuple({n: Multi(tuple(o for o, t in zip(v.options, verdicts, strict=True)
                                         if t is want), v.origin, key, v.origin_at)
                          for n, v in group.items()}
                         for want, key in ((True, new_key()), (False, new_key())))
        return None

    def _verdicts(self, test: cst.BaseExpression, group: dict[str, Multi], count: int,
                  scope: Scope) -> list[bool] | None:
        """The test's value for each entry, quietly, probes answered from the disk."""
        verdicts = []
        with self.quiet():
            self._probing = True
            try:
                for i in range(count):
                    probe = Scope({n: v.options[i] for n, v in group.items()}, scope)
                    verdict = self.ev(test, probe)
                    if not isinstance(verdict, Known):
                        return None
                    verdicts.append(bool(verdict.value))
            finally:
                self._probing = False
        return verdicts

    def _probe_now(self, node: cst.Call, scope: Scope) -> Known | None:
        """An existence probe's answer on disk now (``os.path.isdir(p)``, ``p.is_dir()``),
        for a path the notebook has not written so far; None: not such a probe."""
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PROBE_METHODS and (
                not node.args):
            kind, path = func.attr.value, self.ev(func.value, scope)
        else:
            ref = self.ev(func, scope)
            spec = catalog.FUNCTIONS.get(catalog.canonical(ref.qualname)) if isinstance(
                ref, Ref) else None
            kind = spec.op if spec is not None else None
            if kind not in _PROBE_METHODS or len(node.args) != 1 or node.args[0].keyword:
                return None
            path = self.ev(node.args[0].value, scope)
        raw = as_path_strings(path) if isinstance(path, Known) else None
        if not raw or paths.is_remote(raw[0]):
            return None
        rel = paths.normalize(raw[0], self.nb_dir)
        if any(a.mode == "write" and a.path and (a.path == rel or a.path.startswith(
                rel.rstrip("/") + "/")) for a in self.accesses):
            return None  # written here: what it holds then is not what it holds now
        where = Path(os.path.expanduser(raw[0]))
        return Known(getattr(self.nb_dir / where if not where.is_absolute() else where,
                             kind)())

    @staticmethod
    def _with_values(values: dict[str, Multi], scope: Scope, run) -> None:
        """``run(scope)`` with ``values`` bound; the names it did not rebind take their
        loop's values again afterwards."""
        before = {n: scope.vars.get(n) for n in values}
        scope.vars.update(values)
        run(scope)
        for name, value in values.items():
            if scope.vars.get(name) is value and before[name] is not None:
                scope.vars[name] = before[name]

    def exec_for(self, node: cst.For, scope: Scope) -> None:
        loop_value = self.loop_value(node.target, node.iter, scope)
        self.exec_loop_body(
            node, scope, may_skip=not (isinstance(loop_value, Multi) and loop_value.options))
        if node.orelse:
            self.exec_block(node.orelse.body, scope)
        outer = self._outer.pop(loop_value.key, {}) if isinstance(loop_value, Multi) else {}
        if isinstance(loop_value, Multi) and loop_value.options:
            # after the loop, the target and what was computed from it hold the last value
            for name, value in scope.vars.items():
                if isinstance(value, Multi) and value.key == loop_value.key:
                    scope.vars[name] = value.options[-1]
            self.bind(node.target, loop_value.options[-1], scope)
        scope.vars.update(outer)  # an outer loop's names vary with it again

    def exec_loop_body(self, node: cst.For | cst.While, scope: Scope, may_skip: bool) -> None:
        """Run a loop's body once for its accesses, with the names whose value changes from
        one iteration to the next made unknown first: ``p = p + "/x"`` in a loop is not
        ``"data/x"``. Two quiet trial runs find them."""
        if self._quiet:  # already a trial run: once is enough
            self.exec_block(node.body, scope)
            return
        trial = scope.branch()
        with self.quiet():
            self.exec_block(node.body, trial)
            first = dict(trial.vars)
            self.exec_block(node.body, trial)
        # carried: iteration 2 ends differently; changed: iteration 2 starts differently
        carried = {n for n, v in first.items() if _differs(trial.vars.get(n), v)}
        changed = {n for n, v in first.items() if n in scope.vars and _differs(scope.vars[n], v)}
        varying = carried | changed
        if varying:
            line = self.pos(node).start.line
        for name in varying:
            scope.vars[name] = Unknown(
                f"'{name}' changes from one iteration of the loop at line {line} to the next")
        self.exec_block(node.body, scope)
        for name in carried | (changed if may_skip else set()):
            scope.vars[name] = Unknown(
                f"'{name}' depends on how many times the loop at line {line} runs")

    def loop_value(self, target: cst.BaseExpression, iter_node: cst.BaseExpression,
                   scope: Scope) -> Value:
        """Bind a loop target to every value it takes; ``enumerate`` gives an unknown counter."""
        if (isinstance(iter_node, cst.Call) and isinstance(iter_node.func, cst.Name)
                and iter_node.func.value == "enumerate" and iter_node.args
                and isinstance(target, cst.Tuple) and len(target.elements) == 2):
            inner = self.ev(iter_node.args[0].value, scope)
            if isinstance(inner, Known) and len(iter_node.args) == 1:
                # a literal list: the counter is known too (``for i, p in enumerate([...])``)
                pairs = Known(tuple(enumerate(_items(inner.value))), inner.origin,
                              inner.origin_at)
                value = iterate(pairs)
                self.bind(target, value, scope)
                return value
            value = iterate(inner)
            self.bind(target.elements[0].value, Unknown("a loop counter"), scope)
            self.bind(target.elements[1].value, value, scope)
            return value
        iterable = self.ev(iter_node, scope)
        value = iterate(iterable)
        if isinstance(iterable, Multi):
            value = self._flatten(iterable, scope)
        if isinstance(value, Unknown) and not isinstance(iterable, Unknown):
            value = Unknown(f"loop over '{self.code(iter_node)}', known only at run time")
        self.bind(target, value, scope)
        return value

    def _flatten(self, iterable: Multi, scope: Scope) -> Value:
        """An inner loop over a sequence that varies with an outer loop variable: the
        inner variable takes every item of every sequence, and the names that vary with
        the outer variable are repeated in step with it (``label`` once per file of its
        folder), restored after the loop (see ``exec_for``)."""
        seqs = []
        for option in iterable.options:
            seq = option.value
            if isinstance(seq, dict):
                seq = tuple(seq)
            if not isinstance(seq, tuple | list):
                return Unknown("loop over a value that is not a literal list")
            seqs.append(seq)
        items = [Known(x) for seq in seqs for x in seq]
        if len(items) > MAX_OPTIONS:
            return Unknown(f"a loop over more than {MAX_OPTIONS} values")
        flat = Multi(tuple(items), iterable.origin, origin_at=iterable.origin_at)
        for name, v in list(scope.vars.items()):
            if isinstance(v, Multi) and v.key == iterable.key and len(v.options) == len(seqs):
                self._outer.setdefault(flat.key, {})[name] = v
                scope.vars[name] = Multi(
                    tuple(o for o, seq in zip(v.options, seqs, strict=True) for _ in seq),
                    flat.origin, flat.key, flat.origin_at)  # paths built in here come from it
        return flat

    def exec_def(self, node: cst.FunctionDef, scope: Scope) -> None:
        name = node.name.value
        for deco in node.decorators:
            self.ev(deco.decorator, scope)
        inner = Scope(parent=scope)
        params = node.params
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
            pname = p.name.value
            if p.default is not None:
                default = self.ev(p.default, scope)
                inner.vars[pname] = Known(
                    default.value, origin=f"default of parameter '{pname}' of {name}()"
                ) if isinstance(default, Known) else Unknown(
                    f"path is the function parameter '{pname}' of {name}()")
            else:
                inner.vars[pname] = Unknown(
                    f"path is the function parameter '{pname}' of {name}()")
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                inner.vars[star.name.value] = Unknown(f"arguments of {name}()")
        self.func_params[name] = [p.name.value for p in [*params.posonly_params,
                                                          *params.params]]
        self.func_kwonly[name] = [p.name.value for p in params.kwonly_params]
        if isinstance(params.star_arg, cst.Param):
            self.func_params[name] = None  # *args: positions past the named ones unknown
        self._bind_from_calls(name, inner)
        scope.vars[name] = Func(name)
        self.exec_block(node.body, inner)

    def _bind_from_calls(self, name: str, inner: Scope) -> None:
        """Parameters given constants at every call site (found by a first pass) take
        each call's value in step: one access per call, rewritten once in the body."""
        sites = self.known_calls.get(name)
        if not sites:
            return
        key = new_key()
        for pname, default in list(inner.vars.items()):
            options: list[Known] = []
            reason = None
            for site in sites:
                value = site.values.get(pname, default)
                if isinstance(value, Known):
                    options.append(Known(value.value))
                else:
                    reason = (f"path is the function parameter '{pname}' of {name}(), given a "
                              f"value known only at run time at {site.where}")
                    break
            if reason is not None:
                inner.vars[pname] = Unknown(reason)
            elif options:
                inner.vars[pname] = Multi(tuple(options), f"calls of {name}()", key)

    def _record_call(self, node: cst.Call, name: str, args: list[tuple[cst.Arg, Value]]
                     ) -> None:
        """Remember what a call of the user function ``name`` passes (first pass)."""
        if self._quiet or self._cell is None or name not in self.func_params:
            return
        positional = self.func_params[name]
        values: dict[str, Value] = {}
        unknown = Unknown("arguments passed with * or **")
        index = 0
        for a, v in args:
            if a.star:
                values = {p: unknown for p in [*(positional or []), *self.func_kwonly[name]]}
                break
            if isinstance(v, Multi):  # a call in a loop: not one value per call site
                v = Unknown("a value that changes from one iteration of a loop to the next")
            if a.keyword is not None:
                values[a.keyword.value] = v
            elif positional is not None and index < len(positional):
                values[positional[index]] = v
                index += 1
        start = self.pos(node).start
        where = f"cell {self._cell.index + 1}, line {start.line}"
        sites = self.call_sites.setdefault(name, [])
        sites.append(CallSite(values, where))

    def bind(self, target: cst.CSTNode, value: Value, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            scope.vars[target.value] = value
        elif isinstance(target, cst.Tuple | cst.List):
            elements = [e.value for e in target.elements]
            if isinstance(value, Multi) and _unpacks(value, len(elements)) and not any(
                    isinstance(e, cst.StarredElement) for e in target.elements):
                for i, element in enumerate(elements):  # ``for name, path in [(...), ...]``
                    self.bind(element, Multi(tuple(Known(o.value[i]) for o in value.options),
                                             value.origin, value.key), scope)
                return
            seq = value.value if isinstance(value, Known) else None
            if isinstance(seq, tuple | list) and len(seq) == len(elements) and not any(
                    isinstance(e, cst.StarredElement) for e in target.elements):
                for element, item in zip(elements, seq, strict=True):
                    self.bind(element, Known(item), scope)
            else:
                for element in elements:
                    self.bind(element, Unknown(f"unpacked from '{self.code(target)}'"), scope)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value, Unknown("a starred assignment"), scope)
        else:  # attribute or item assignment: evaluate its parts for nested accesses
            self.visit_children(target, scope)

    # --- expressions -----------------------------------------------------------------

    def ev(self, node: cst.CSTNode, scope: Scope) -> Value:
        # the commonest nodes first, by exact type: libcst's node classes are ABCs, whose
        # isinstance checks cost more than the rest of a simple evaluation
        kind = type(node)
        if kind is cst.Name:
            return self.ev_name(node.value, scope)
        if kind is cst.Call:
            return self.ev_call(node, scope)
        if kind is cst.Attribute:
            return self.ev_attribute(node, scope)
        if isinstance(node, cst.SimpleString):
            return Known(_string_value(node.value))
        if isinstance(node, cst.Integer | cst.Float | cst.Imaginary):
            return Known(node.evaluated_value)
        if isinstance(node, cst.FormattedString):
            return self.ev_fstring(node, scope)
        if isinstance(node, cst.ConcatenatedString):
            return combine(operator.add, self.ev(node.left, scope), self.ev(node.right, scope),
                           what=self.what(node))
        if isinstance(node, cst.BinaryOperation):
            left, right = self.ev(node.left, scope), self.ev(node.right, scope)
            op = _BINOPS.get(type(node.operator))
            if op is None:
                return Unknown(f"'{self.code(node)}' is only known at run time")
            return combine(op, left, right, what=self.what(node, "'{}'"))
        if isinstance(node, cst.UnaryOperation):
            value = self.ev(node.expression, scope)
            ops = {cst.Minus: operator.neg, cst.Not: operator.not_, cst.Plus: operator.pos}
            op = ops.get(type(node.operator))
            return combine(op, value, what=self.what(node)) if op else Unknown("an operator")
        if isinstance(node, cst.Comparison):
            return self.ev_comparison(node, scope)
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            items = [self.ev(e.value, scope) for e in node.elements]
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return Unknown("a list built with *")
            if all(isinstance(v, Known) for v in items):
                return Known(tuple(v.value for v in items))
            return Unknown(f"'{self.code(node)}' has elements known only at run time")
        if isinstance(node, cst.Dict):
            return self.ev_dict(node, scope)
        if isinstance(node, cst.Subscript):
            return self.ev_subscript(node, scope)
        if isinstance(node, cst.ListComp | cst.GeneratorExp | cst.SetComp):
            return self.ev_comprehension(node, node.elt, scope)
        if isinstance(node, cst.DictComp):
            self.ev_comprehension(node, node.value, scope)
            return Unknown("a dict comprehension")
        if isinstance(node, cst.NamedExpr):
            value = self.ev(node.value, scope)
            self.bind(node.target, value, scope)
            return value
        if isinstance(node, cst.Lambda):
            inner = Scope(parent=scope)
            for p in node.params.params:
                name = p.name.value
                inner.vars[name] = Migrated() if name == SETUP_FILE_PARAMETER else Unknown(
                    f"a lambda parameter '{name}'")
            self.ev(node.body, inner)
            return Unknown("a lambda")
        if isinstance(node, cst.IfExp):
            self.visit_children(node, scope)
            return Unknown(f"'{self.code(node)}' is chosen at run time")
        self.visit_children(node, scope)
        return Unknown(f"'{self.code(node)}' is only known at run time")

    def visit_children(self, node: cst.CSTNode, scope: Scope) -> None:
        """Evaluate every expression below ``node`` once, for the accesses inside it."""
        for child in positions.children(node):
            if isinstance(child, cst.BaseExpression):
                self.ev(child, scope)
            elif isinstance(child, cst.BaseCompoundStatement | cst.SimpleStatementLine):
                self.exec_stmt(child, scope)
            elif isinstance(child, cst.BaseSmallStatement):
                self.exec_small(child, scope)
            else:
                self.visit_children(child, scope)

    def ev_name(self, name: str, scope: Scope) -> Value:
        value = scope.lookup(name)
        if value is not None:
            return value
        if name in ("True", "False", "None"):
            return Known({"True": True, "False": False, "None": None}[name])
        for module in reversed(self.star_modules):
            qual = catalog.canonical(f"{module}.{name}")
            if qual in catalog.FUNCTIONS or qual in paths.PURE_FUNCTIONS:
                return Ref(qual)
        if name in _BUILTINS:
            return Ref(f"builtins.{name}")
        return Unknown(f"'{name}' is not assigned in an earlier cell")

    def ev_attribute(self, node: cst.Attribute, scope: Scope) -> Value:
        base = self.ev(node.value, scope)
        attr = node.attr.value
        if isinstance(base, Ref):
            return Ref(f"{base.qualname}.{attr}")
        if isinstance(base, Buffer):  # ``tmp.name`` of a temporary file: not project data
            return base
        if attr in paths.PATH_ATTRIBUTES and isinstance(base, Known | Multi):
            return combine(lambda p: _as_path(getattr(PurePosixPath(p), attr)), base,
                           what=self.what(node))
        if isinstance(base, Unknown):
            return base
        return Unknown(f"'{self.code(node)}' is only known at run time")

    def ev_fstring(self, node: cst.FormattedString, scope: Scope) -> Value:
        raw = "r" in node.prefix.lower()
        parts: list[Value] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                if not raw and "\\" in text:
                    text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
                parts.append(Known(text))
            else:
                value = self.ev(part.expression, scope)
                spec: Value = Known("")
                if part.format_spec:
                    spec = self.ev_fstring(
                        cst.FormattedString(parts=part.format_spec, start='f"', end='"'), scope)
                conversion = part.conversion
                parts.append(combine(lambda v, s, c=conversion: paths.format_value(v, c, s),
                                     value, spec, what=self.what(node, "'{}'")))
        return combine(lambda *xs: "".join(xs), *parts, what=self.what(node, "'{}'"))

    def ev_comparison(self, node: cst.Comparison, scope: Scope) -> Value:
        left = self.ev(node.left, scope)
        result: Value = Known(True)
        for target in node.comparisons:
            right = self.ev(target.comparator, scope)
            op = _COMPARE.get(type(target.operator))
            if op is None:
                return Unknown("a comparison")
            step = combine(op, left, right, what=self.what(node))
            result = combine(lambda a, b: a and b, result, step, what=self.what(node))
            left = right
        return result

    def ev_dict(self, node: cst.Dict, scope: Scope) -> Value:
        out: dict[Any, Any] = {}
        known = True
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                k, v = self.ev(element.key, scope), self.ev(element.value, scope)
                if isinstance(k, Known) and isinstance(v, Known):
                    try:
                        out[k.value] = v.value
                        continue
                    except TypeError:
                        pass
            else:
                self.ev(element.value, scope)
            known = False
        return Known(out) if known else Unknown(f"'{self.code(node)}' is only known at run time")

    def ev_subscript(self, node: cst.Subscript, scope: Scope) -> Value:
        base = self.ev(node.value, scope)
        if len(node.slice) != 1:
            self.visit_children(node, scope)
            return Unknown("a multi-dimensional subscript")
        item = node.slice[0].slice
        if isinstance(item, cst.Index):
            key = self.ev(item.value, scope)
        else:
            bounds = [self.ev(b, scope) if b is not None else Known(None)
                      for b in (item.lower, item.upper, item.step)]
            key = combine(lambda *b: slice(*b), *bounds, what=self.what(node))
        if isinstance(base, Ref):
            return Unknown(f"'{self.code(node)}' is only known at run time")
        return combine(operator.getitem, base, key, what=self.what(node, "'{}'"))

    def ev_comprehension(self, node: cst.CSTNode, elt: cst.BaseExpression,
                         scope: Scope) -> Value:
        inner = Scope(parent=scope)
        comp: cst.CompFor | None = node.for_in  # type: ignore[attr-defined]
        filtered = False
        while comp is not None:
            # the first iterable is evaluated in the enclosing scope, as Python does
            self.loop_value(comp.target, comp.iter, inner)
            for cond in comp.ifs:
                filtered = True
                self._filter(comp.target, cond.test, inner)
            comp = comp.inner_for_in
        value = self.ev(elt, inner)
        if isinstance(value, Multi) and not filtered:
            return Known(tuple(o.value for o in value.options))
        return Unknown(f"'{self.code(node)}' is only known at run time")

    def _filter(self, target: cst.BaseExpression, test: cst.BaseExpression,
                scope: Scope) -> None:
        """Keep the loop values for which a comprehension's ``if`` is statically true."""
        if not isinstance(target, cst.Name):
            return
        current = scope.vars.get(target.value)
        if not isinstance(current, Multi):
            return
        kept = []
        with self.quiet():
            for option in current.options:
                probe = Scope({target.value: option}, scope)
                verdict = self.ev(test, probe)
                if not isinstance(verdict, Known):
                    scope.vars[target.value] = Unknown(
                        f"filtered by '{self.code(test)}', known only at run time")
                    return
                if verdict.value:
                    kept.append(option)
        scope.vars[target.value] = Multi(tuple(kept), current.origin)

    # --- calls -----------------------------------------------------------------------

    def ev_call(self, node: cst.Call, scope: Scope) -> Value:
        if self._probing:
            verdict = self._probe_now(node, scope)
            if verdict is not None:
                return verdict
        receiver: Value | None = None
        attr = ""
        if isinstance(node.func, cst.Attribute):
            receiver = self.ev(node.func.value, scope)
            attr = node.func.attr.value
            target: Value = Ref(f"{receiver.qualname}.{attr}") if isinstance(
                receiver, Ref) else Unknown("a method")
            if isinstance(receiver, Ref):
                receiver = None
        else:
            target = self.ev(node.func, scope)
        args = [(arg, self.ev(arg.value, scope)) for arg in node.args]
        if self._unlisted(node, target, receiver, attr):
            self.flag_unknown(node, args)
        if receiver is not None:
            return self.call_method(node, receiver, attr, args)
        if isinstance(target, Ref):
            return self.call_function(node, catalog.canonical(target.qualname), args)
        if isinstance(target, Func):
            if target.name in SETUP_HELPERS:
                return Migrated()
            self._record_call(node, target.name, args)
            return Unknown(f"the result of {target.name}() is only known at run time")
        return Unknown(f"the result of '{self.code(node.func)}(...)' is only known at run time")

    def _unlisted(self, node: cst.Call, target: Value, receiver: Value | None, attr: str
                  ) -> bool:
        """Whether this call is none the catalog or the evaluator knows (the safety net
        looks at its arguments)."""
        if receiver is not None:
            if isinstance(receiver, Known | Multi | Handle | Buffer | Migrated):
                return False  # a literal's method, or a file handle's (its access is known)
            return attr not in catalog.METHODS and attr not in _NOT_ACCESSES
        if isinstance(target, Func):
            return False  # a user function: its body is analysed
        if isinstance(target, Ref):
            qual = catalog.canonical(target.qualname)
            if qual in catalog.FUNCTIONS or qual in paths.PURE_FUNCTIONS or qual in _HANDLED:
                return False
            if qual.startswith(("io.", "tempfile.", "glob.")):
                return False
            return qual.rpartition(".")[2] not in _NOT_ACCESSES
        name = _dotted(node.func).rpartition(".")[2]
        return name not in _NOT_ACCESSES

    def flag_unknown(self, node: cst.Call, args: list[tuple[cst.Arg, Value]]) -> None:
        """A string naming an existing file, passed to a call the catalog does not list,
        may read or write that file: report it (never migratable), so that a migration
        refuses rather than leaving a notebook that still reads local files."""
        if self._quiet or self._cell is None:
            return
        call = self.code(node.func)
        for a, v in args:
            if a.star:
                continue
            for raw in as_path_strings(v) or []:
                if not raw or paths.is_remote(raw) or not self._project_file(raw):
                    continue
                spec = catalog.ApiSpec("unknown", "unknown", "read", None)
                ids = self.record(node, spec, None, [(a, Known(raw))], path_arg=0)
                for i in ids or []:
                    self.accesses[i].reason = (
                        f"{call}() is not a call Stork knows, and it is given the file "
                        f"{self.accesses[i].path}: it may read or write it, so it cannot be "
                        "migrated (the notebook would still use the local file)")

    def _project_file(self, raw: str, folder: bool = False) -> bool:
        """Whether ``raw`` names a file (or a ``folder``) that exists now under the
        project root."""
        from ..config import find_project_root

        where = Path(os.path.expanduser(raw))
        if not where.is_absolute():
            where = self.nb_dir / where
        try:
            if not (where.is_dir() if folder else where.is_file()):
                return False
            if self._root is None:
                self._root = find_project_root(self.nb_dir)
            where.resolve().relative_to(self._root)
        except (OSError, ValueError):
            return False
        return True

    def call_function(self, node: cst.Call, qual: str, args: list[tuple[cst.Arg, Value]]
                      ) -> Value:
        spec = catalog.FUNCTIONS.get(qual)
        if spec is not None:
            if spec.kind == "consumer":
                return self.consume(spec, args)
            return self.call_api(node, spec, args)
        if qual in ("glob.glob", "glob.iglob"):
            return self.call_glob(node, args)
        if qual == "os.listdir":
            found = _arg(args, 0, "path")
            return self.call_listdir(node, found[1] if found else Known("."), as_paths=False)
        if qual.startswith("tempfile."):  # scratch space of its own, not project data
            return Buffer()
        if qual in ("io.StringIO", "io.BytesIO"):
            return Buffer()
        pure = paths.PURE_FUNCTIONS.get(qual)
        if pure is not None and not any(a.keyword or a.star for a, _ in args):
            values = [v for _, v in args]
            result = combine(pure, *values, what=self.what(node, "'{}'"))
            source = next((v for v in values if isinstance(v, Known) and v.origin), None)
            if isinstance(result, Known) and source is not None:  # sorted(glob(...)) stays a glob
                return Known(result.value, source.origin, source.origin_at)
            return result
        short = qual.removeprefix("builtins.")
        return Unknown(f"the result of {short}() is only known at run time")

    def call_method(self, node: cst.Call, receiver: Value, attr: str,
                    args: list[tuple[cst.Arg, Value]]) -> Value:
        if isinstance(receiver, Handle):
            if attr in catalog.ARCHIVE_MEMBERS.get(receiver.api, ()):
                return Buffer()  # a member of the archive: reading it reads no other file
            spec = catalog.ARCHIVE_FILES.get((receiver.api, attr))
            if spec is not None:
                self.archive_file(node, spec, args)
                return Unknown(f"the result of '.{attr}()' is only known at run time")
            self.consume_handle(receiver, f".{attr}()", None)
            return Unknown("data read from a file")
        literal = isinstance(receiver, Known | Multi)
        if literal and attr in catalog.PATH_METHODS:
            mode, fmt = catalog.PATH_METHODS[attr]
            spec = catalog.ApiSpec(attr, f"pathlib.Path.{attr}", mode, fmt, op=attr,
                                   may_be_missing=attr in catalog.PATH_MAY_BE_MISSING)
            self.record(node, spec, receiver, args, path_arg=None)
            return Unknown("data read from a file")
        if literal and attr == "iterdir":
            return self.call_listdir(node, receiver, as_paths=True)
        if literal and attr == "open":
            spec = catalog.ApiSpec("open", "pathlib.Path.open", "read", None, kind="open",
                                   mode_arg=0)
            return self.call_api(node, spec, args, receiver=receiver)
        if literal and attr in ("glob", "rglob"):
            return self.call_glob(node, args, base=receiver, recursive=attr == "rglob")
        if isinstance(receiver, Known) and isinstance(receiver.value, dict) and (
                attr in paths.DICT_METHODS):
            positional = [v for a, v in args if not a.keyword and not a.star]
            if len(positional) != len(args):
                return Unknown(f"'{self.code(node)}' is only known at run time")

            def dict_call(d: dict, *vals: Any) -> Any:
                result = getattr(d, attr)(*vals)
                return tuple(result) if attr != "get" else result
            return combine(dict_call, receiver, *positional, what=self.what(node, "'{}'"))
        if literal and (attr in paths.PATH_METHODS or attr in paths.STR_METHODS or attr == "format"):
            kwargs = {a.keyword.value: v for a, v in args if a.keyword}
            positional = [v for a, v in args if not a.keyword and not a.star]
            names = list(kwargs)

            def call(obj: Any, *vals: Any) -> Any:
                pos, kws = vals[: len(positional)], dict(zip(names, vals[len(positional):],
                                                             strict=True))
                if attr == "format":
                    return paths.safe_format(obj, *pos, **kws)
                return _as_path(getattr(obj, attr)(*pos, **kws))
            return combine(call, receiver, *positional, *kwargs.values(),
                           what=self.what(node, "'{}'"))
        spec = catalog.METHODS.get(attr)
        if spec is not None:
            return self.call_api(node, spec, args)
        if isinstance(receiver, Unknown):  # ``datetime.now().date()``: the first cause
            return receiver
        return Unknown(f"the result of '.{attr}()' is only known at run time")

    def call_glob(self, node: cst.Call, args: list[tuple[cst.Arg, Value]],
                  base: Value | None = None, recursive: bool = False) -> Value:
        pattern = _arg(args, 0, "pattern")
        if pattern is None:
            return Unknown("a glob without a pattern")
        for a, v in args:
            if a.keyword and a.keyword.value == "recursive" and isinstance(v, Known):
                recursive = bool(v.value)
        value = pattern[1]
        if base is not None:  # Path.rglob(p) is Path.glob("**/" + p)
            prefix = "**/" if recursive else ""
            value = combine(lambda b, p: str(PurePosixPath(b) / (prefix + p)), base, value)
        as_paths = base is not None

        def expand(p: str) -> tuple[Any, ...]:
            found = paths.expand_glob(p, self.nb_dir, recursive, hidden=as_paths)
            return tuple(PurePosixPath(f) for f in found) if as_paths else found
        result = combine(expand, value, what=self.what(node, "the glob '{}'"))
        if isinstance(result, Known):
            start = self.pos(node).start
            at = (self._cell.index, start.line, start.column) if self._cell else None
            pattern = as_path_strings(value)[0]
            if result.value:
                api = f"pathlib.Path.{'rglob' if base is not None and recursive else 'glob'}" \
                    if base is not None else "glob.glob"
                folder = posixpath.dirname(pattern.split("*", 1)[0].split("?", 1)[0]
                                           .split("[", 1)[0]) or "."
                self._listing(node, api, folder, "glob",
                              {"pattern": pattern, "recursive": recursive})
            return Known(result.value, origin=f"glob '{pattern}'", origin_at=at)
        return self._nested(node, result, "glob")

    def _listing(self, node: cst.Call, api: str, folder: str, op: str,
                 kwargs: dict[str, Any], made_here: bool = False) -> None:
        """Note a listing of a folder of the project (see ``self.listings``); one the
        notebook itself ``made_here`` need not exist yet."""
        if self._quiet or self._cell is None or paths.is_remote(folder) or (
                os.path.isabs(folder) or not (made_here or self._project_file(folder,
                                                                             folder=True))):
            return
        start = self.pos(node).start
        self.listings[(self._cell.index, start.line, start.column)] = DataAccess(
            cell_index=self._cell.index, cell_id=self._cell.cell_id, line=start.line,
            col=start.column, api=api, mode="read", format="listing",
            path=paths.normalize(folder, self.nb_dir), resolved=True, kwargs=kwargs,
            exists=not made_here, code=self.code(node), op=op, optional=True)

    def call_listdir(self, node: cst.Call, folder: Value, as_paths: bool) -> Value:
        """``os.listdir(d)`` (names) or ``Path(d).iterdir()`` (paths) of a folder that
        exists now: its entries, sorted (a loop over them is then a loop over literals)."""
        def entries(d: Any) -> tuple[Any, ...]:
            d = os.fspath(d)
            where = Path(d) if os.path.isabs(d) else self.nb_dir / d
            if paths.is_remote(d) or not where.is_dir():
                raise ValueError("not a folder")
            names = sorted(os.listdir(where))
            return tuple(PurePosixPath(d) / n for n in names) if as_paths else tuple(names)
        what = self.what(node, "the listing '{}'")
        result = combine(entries, folder, what=what)
        if isinstance(result, Known):
            start = self.pos(node).start
            at = (self._cell.index, start.line, start.column) if self._cell else None
            where = as_path_strings(folder)[0]
            if result.value:
                self._listing(node, "pathlib.Path.iterdir" if as_paths else "os.listdir",
                              where, "listdir", {})
            return Known(result.value, origin=f"listdir '{where}'", origin_at=at)
        if isinstance(result, Unknown) and result.reason.endswith("(ValueError)"):
            made = self._made_here(folder)
            if made is not None:  # it lists the destination's folder once migrated
                self._listing(node, "pathlib.Path.iterdir" if as_paths else "os.listdir",
                              made, "listdir", {}, made_here=True)
                return Unknown(f"{what} lists a folder the notebook fills at run time")
            return Unknown(f"{what} is not of a folder that exists now")
        return self._nested(node, result, "iterdir" if as_paths else "listdir")

    def _made_here(self, folder: Value) -> str | None:
        """The folder (as given) when the notebook made it or wrote into it before
        (``os.makedirs("data/staging")``, then ``shutil.copy(..., "data/staging/x")``)."""
        if not isinstance(folder, Known) or not isinstance(folder.value, str | PurePosixPath):
            return None
        given = os.fspath(folder.value)
        where = paths.normalize(given, self.nb_dir)
        if where.startswith("..") or os.path.isabs(where) or paths.is_remote(where):
            return None
        for a in self.accesses:
            if a.mode == "write" and a.path and (a.path == where or a.path.startswith(where + "/")):
                return given
        return None

    def _nested(self, node: cst.Call, result: Value, op: str) -> Value:
        """A listing whose folder or pattern varies with an outer loop (``for label in
        [...]: glob(os.path.join("data", label, "*.txt"))``): one listing per iteration,
        marked with the call so the plan rewrites the call under the destination."""
        if not isinstance(result, Multi) or self._cell is None:
            return result
        start = self.pos(node).start
        return Multi(result.options, f"nested {op} '{self.code(node)}'", result.key,
                     (self._cell.index, start.line, start.column))

    def call_api(self, node: cst.Call, spec: catalog.ApiSpec,
                 args: list[tuple[cst.Arg, Value]], receiver: Value | None = None) -> Value:
        open_mode = None
        if spec.file_modes:
            return self.call_with_file_mode(node, spec, args, receiver)
        if spec.kind == "open":
            open_mode = spec.default_mode
            found = _arg(args, spec.mode_arg, "mode") if spec.mode_arg is not None else None
            if found is not None:
                if not (isinstance(found[1], Known) and isinstance(found[1].value, str)):
                    open_mode = None
                else:
                    open_mode = found[1].value
            # (a mode known only at run time: the call's default decides)
            mode = "read" if set(open_mode or spec.default_mode) <= set("rbt") else "write"
            binary = open_mode is not None and "b" in open_mode
            fmt = spec.format or ("binary" if binary else "text")
            spec = catalog.ApiSpec(spec.name, spec.api, mode, fmt, spec.path_arg,
                                   spec.path_kw, spec.kind)
            ids = self.record(node, spec, receiver, args, open_mode=open_mode,
                              path_arg=None if receiver is not None else spec.path_arg)
            return Handle(tuple(ids or ()), binary)
        ids = self.record(node, spec, receiver, args,
                          path_arg=None if receiver is not None else spec.path_arg,
                          role="source" if spec.path2_arg is not None else None)
        if spec.path2_arg is not None:  # shutil.copy(src, dst): dst is written
            target = catalog.ApiSpec(spec.name, spec.api, "write", spec.format,
                                     spec.path2_arg, spec.path2_kw, op=spec.op)
            self.record(node, target, None, args, path_arg=spec.path2_arg, role="target")
        if ids is None:  # the "path" was a handle or buffer: no new access
            return Unknown("data read from a file")
        return Unknown(f"data {'read by' if spec.mode == 'read' else 'written by'} {spec.api}")

    def call_with_file_mode(self, node: cst.Call, spec: catalog.ApiSpec,
                            args: list[tuple[cst.Arg, Value]], receiver: Value | None
                            ) -> Value:
        """An HDF5 file or a zip archive opened in a mode (``catalog.FILE_MODES``): a read
        of the file, a write, or both ("a": a read of what is there, if anything, then a
        write). A mode known only at run time may do both."""
        found = _arg(args, spec.mode_arg, "mode")
        open_mode: str | None = spec.default_mode
        if found is not None:
            value = found[1]
            open_mode = value.value if isinstance(value, Known) and isinstance(
                value.value, str) else None
        modes = catalog.FILE_MODES.get(open_mode or "", ("read", "write"))
        ids: list[int] = []
        for mode in modes:
            one = replace(spec, mode=mode, may_be_missing=mode == "read" and "write" in modes
                          and open_mode != "r+")
            got = self.record(node, one, receiver, args, open_mode=open_mode,
                              path_arg=None if receiver is not None else spec.path_arg)
            ids += got or []
        if spec.kind == "open":
            return Handle(tuple(ids), True, spec.api)
        return Unknown(f"data {'read by' if modes == ('read',) else 'written by'} {spec.api}")

    def archive_file(self, node: cst.Call, spec: catalog.ApiSpec,
                     args: list[tuple[cst.Arg, Value]]) -> None:
        """``z.extractall(folder)``, ``z.write(path)``: an access of that folder (the
        notebook's own when not given) or file, reported with why it stays local."""
        if _arg(args, spec.path_arg, spec.path_kw) is None:
            here = cst.SimpleString('"."')
            args, spec = [(cst.Arg(here), Known("."))], replace(spec, path_arg=0, path_kw=None)
        for i in self.record(node, spec, None, args, path_arg=spec.path_arg) or []:
            access = self.accesses[i]
            access.reason = (f"{spec.api} cannot be migrated: "
                             f"{catalog.ARCHIVE_FILE_REASONS[spec.api]}")

    def consume(self, spec: catalog.ApiSpec, args: list[tuple[cst.Arg, Value]]) -> Value:
        found = _arg(args, spec.path_arg, spec.path_kw)
        if found is not None and isinstance(found[1], Handle):
            self.consume_handle(found[1], spec.name, spec.format)
        return Unknown(f"data read by {spec.name}")

    def consume_handle(self, handle: Handle, consumer: str, fmt: str | None) -> None:
        for i in handle.access_ids:
            access = self.accesses[i]
            if access.consumer is None or access.consumer.startswith("."):
                access.consumer = consumer
            if fmt is not None:
                access.format = fmt

    def record(self, node: cst.Call, spec: catalog.ApiSpec, receiver: Value | None,
               args: list[tuple[cst.Arg, Value]], path_arg: int | None,
               open_mode: str | None = None, role: str | None = None) -> list[int] | None:
        """Add the access(es) of one call: one per path the argument can take."""
        found = None
        if receiver is not None:
            path_value: Value = receiver
        else:
            found = _arg(args, path_arg, spec.path_kw) if path_arg is not None else None
            if found is None:
                return None  # e.g. df.to_csv() with no path returns a string
            path_value = found[1]
        if isinstance(path_value, Buffer | Migrated) or _is_stream(path_value):
            return None
        if isinstance(path_value, Handle):
            self.consume_handle(path_value, spec.api, spec.format)
            return None
        if spec.literal_only and not as_path_strings(path_value):
            return None  # a connection object, not something stored under a path
        if self._quiet or self._cell is None:
            return []
        cell = self._cell
        start = self.pos(node).start  # first: the code texts below are sliced by position
        path_code = self.code(found[0].value) if found is not None else None
        col = start.column + cell.masked.col_offsets.get(start.line, 0)
        kwargs = {a.keyword.value: to_json(v, self.code(a.value)) for a, v in args
                  if a.keyword is not None and a.keyword.value != spec.path_kw
                  and a.keyword.value != "mode"}
        base = DataAccess(
            cell_index=cell.index, cell_id=cell.cell_id, line=start.line, col=col,
            api=spec.api, mode=spec.mode, format=spec.format, path=None, resolved=False,
            kwargs=kwargs, code=self.code(node), open_mode=open_mode, path_code=path_code,
            op=spec.op, role=role, optional=spec.may_be_missing)
        found_paths = as_path_strings(path_value)
        ids: list[int] = []
        if found_paths is None or not found_paths:
            key = (cell.index, id(node), 0, role)
            if key not in self._seen:
                self._seen.add(key)
                base.reason = _why_unresolved(path_value, self.code(node))
                self.accesses.append(base)
                ids.append(len(self.accesses) - 1)
            return ids
        origin = path_value.origin if isinstance(path_value, Multi | Known) else None
        at = path_value.origin_at if isinstance(path_value, Multi | Known) else None
        base.expanded_at = list(at) if at else None
        for i, raw in enumerate(found_paths):
            key = (cell.index, id(node), 1, f"{role}:{spec.mode}:{raw}")
            if key in self._seen:
                continue
            self._seen.add(key)
            access = self._resolved(base, raw, origin)
            if isinstance(path_value, Multi):  # ``for name, sep in [...]``: this file's own
                access.kwargs.update(_iteration_kwargs(args, spec, path_value, i, self.code))
            self.accesses.append(access)
            ids.append(len(self.accesses) - 1)
        return ids

    def _resolved(self, base: DataAccess, raw: str, origin: str | None) -> DataAccess:
        path = paths.normalize(raw, self.nb_dir)
        remote = paths.is_remote(path)
        suffix = catalog.ADDED_SUFFIX.get(base.api)
        if suffix and not remote and not path.endswith(suffix):
            path += suffix  # np.save("data/a", x) writes data/a.npy
        access = DataAccess(**{**base.__dict__, "kwargs": dict(base.kwargs)})
        access.path, access.resolved, access.remote = path, True, remote
        access.raw_path = raw
        access.expanded_from = origin
        if access.format is None:
            access.format = catalog.format_from_extension(path)
        if not remote:
            try:
                st = (self.nb_dir / path).stat()
                access.exists, access.size = os.path.isfile(self.nb_dir / path), st.st_size
            except OSError:
                access.exists = False
        return access

    # --- helpers ---------------------------------------------------------------------

    @contextmanager
    def quiet(self):
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def code(self, node: cst.CSTNode) -> str:
        return _code_text(self._cell, node)

    def what(self, node: cst.CSTNode, template: str = "{}") -> _CodeText:
        """``node``'s code in ``template``, made only if a message needs it: most values
        combine without one, and generating the code took a sixth of the analysis."""
        return _CodeText(self._cell, node, template)

    def pos(self, node: cst.CSTNode) -> CodeRange:
        cell = self._cell
        assert cell is not None
        where = _quick(cell).get(node)
        if where is not None:
            return where
        if cell.positions is None:
            cell.positions = _positions(cell)
        return cell.positions[node]


#: existence probes whose answer on disk a loop's branch may follow (see ``_narrowing``):
#: pathlib's methods of these names, and the catalog's functions of these operations
_PROBE_METHODS = frozenset({"is_dir", "is_file", "exists"})


def _skips_rest(stmt: cst.CSTNode) -> bool:
    """``if TEST: continue``, with no else."""
    if not isinstance(stmt, cst.If) or stmt.orelse is not None:
        return False
    body = stmt.body.body
    if isinstance(stmt.body, cst.IndentedBlock):
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
            return False
        body = body[0].body
    return len(body) == 1 and isinstance(body[0], cst.Continue)


def _string_value(literal: str) -> str | bytes:
    """A string literal's value: a plain one (no prefix, no escape) without a parse,
    which ``ast.literal_eval`` costs for each of the notebook's many paths."""
    if "\\" not in literal and "\r" not in literal and literal[0] in "'\"":
        quotes = 3 if literal[:3] in ('"""', "'''") and len(literal) >= 6 else 1
        return literal[quotes:-quotes]
    return ast.literal_eval(literal)


def _source_slice(lines: list[str], where: CodeRange) -> str:
    """The text of ``lines`` (1-based lines, 0-based columns) in ``where``."""
    (l1, c1), (l2, c2) = (where.start.line, where.start.column), (where.end.line,
                                                                  where.end.column)
    if l1 == l2:
        return lines[l1 - 1][c1:c2]
    return "".join([lines[l1 - 1][c1:], *lines[l1:l2 - 1], lines[l2 - 1][:c2]])


def _code_text(cell: _Cell | None, node: cst.CSTNode) -> str:
    """``node``'s code, shortened for messages: a slice of the cell's source where the
    node's position is known (cheaper than generating it again; parentheses lie outside
    the range)."""
    if cell is None:
        return "?"
    if isinstance(node, cst.Name | cst.SimpleString) and not node.lpar:
        text = node.value
    else:
        where = _quick(cell).get(node) if isinstance(node, cst.Call) else None
        if where is None and cell.positions is not None:
            where = cell.positions.get(node)
        if where is not None and not getattr(node, "lpar", None):
            if cell.lines is None:
                cell.lines = cell.masked.code.splitlines(keepends=True)
            text = _source_slice(cell.lines, where)
        else:
            text = cell.module.code_for_node(node)
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(frozen=True)
class _CodeText:
    """A node's code in a message template, generated when first shown (``str``)."""
    cell: _Cell | None
    node: cst.CSTNode
    template: str

    def __str__(self) -> str:
        return self.template.format(_code_text(self.cell, self.node))


def _quick(cell: _Cell) -> dict:
    """The cell's call and compound-statement ranges from CPython's parse, once."""
    if cell.quick is None:
        found = positions.from_ast(cell.tree, cell.module, cell.masked.code) \
            if cell.tree is not None else None
        cell.quick = found if found is not None else {}
    return cell.quick


def _positions(cell: _Cell) -> Any:
    """PositionProvider's ranges of the cell's nodes. Resolved as ``MetadataWrapper``
    does, less its extra walk of the whole tree (for an empty batch of visitors), which
    took as long as the positions themselves."""
    provider = PositionProvider()
    try:
        provider._gen_impl(cell.module)
        return provider._computed
    except AttributeError:  # a libcst without these internals
        return cell.wrapper.resolve(PositionProvider)


def _syntax_error(code: str, error: cst.ParserSyntaxError) -> tuple[int, str]:
    """CPython's wording is clearer ("Missing parentheses in call to 'print'")."""
    try:
        with no_warnings():
            compile(code, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return e.lineno or error.raw_line, e.msg
    except Exception:  # compile() can fail in other ways (null bytes): keep libcst's account
        pass
    return error.raw_line, error.message.split(":")[0]


def _why_unresolved(value: Value, code: str) -> str:
    if isinstance(value, Unknown):
        return value.reason
    if isinstance(value, Multi) or (isinstance(value, Known) and value.origin):
        origin = value.origin
        return f"the {origin} matches no file" if origin.startswith("glob") else (
            f"the {origin} is empty")
    if isinstance(value, Ref):
        return f"'{value.qualname}' is only known at run time"
    if isinstance(value, Func):
        return f"the path is the function {value.name}"
    if isinstance(value, Known):
        return f"the path is not a string ({type(value.value).__name__})"
    return f"the path in '{code}' is only known at run time"


def _arg(args: list[tuple[cst.Arg, Value]], index: int | None, keyword: str | None
         ) -> tuple[cst.Arg, Value] | None:
    if keyword is not None:
        for a, v in args:
            if a.keyword is not None and a.keyword.value == keyword:
                return a, v
    if index is None:
        return None
    positional = []
    for a, v in args:
        if a.keyword is not None:
            continue
        if a.star:  # *args before the path: position unknown
            return a, Unknown("the path is passed through *args")
        positional.append((a, v))
    return positional[index] if index < len(positional) else None


def _iteration_kwargs(args: list[tuple[cst.Arg, Value]], spec: catalog.ApiSpec, path: Multi,
                      i: int, code: Any) -> dict[str, Any]:
    """Keyword arguments that vary with the same loop as the path, at iteration ``i``."""
    return {a.keyword.value: to_json(v.options[i], code(a.value)) for a, v in args
            if a.keyword is not None and a.keyword.value not in (spec.path_kw, "mode")
            and isinstance(v, Multi) and v.key == path.key
            and len(v.options) == len(path.options)}


#: Calls the evaluator handles itself (not in the catalog, not file accesses).
_HANDLED = frozenset({"os.listdir"})
#: Calls that only ask whether a path exists.
_PROBES = frozenset({"exists", "is_file", "is_dir", "isfile", "isdir"})
#: Names of functions and methods that take strings without touching a file (printing,
#: logging, labels, containers, string matching): the safety net ignores them.
_NOT_ACCESSES = frozenset({
    "print", "display", "repr", "str", "len", "isinstance", "format", "type", "hash",
    "bool", "int", "float", "list", "tuple", "set", "dict", "sorted", "min", "max", "sum",
    "info", "debug", "warning", "warn", "error", "exception", "critical", "log",
    "title", "set_title", "suptitle", "xlabel", "ylabel", "set_xlabel", "set_ylabel",
    "text", "annotate", "legend", "label", "Markdown", "HTML", "Text", "markdown",
    "append", "extend", "add", "insert", "remove", "index", "count", "get", "pop",
    "setdefault", "update", "discard", "startswith", "endswith", "split", "replace",
    "strip", "join", "encode", "decode", "match", "search", "fullmatch", "sub", "findall",
    "compile", "fnmatch", "abspath", "realpath", "relpath", "isabs", "expanduser",
    "normpath", "basename", "dirname", "splitext", "Path", "PurePath", "PosixPath",
    "assertEqual", "assertTrue", "assertIn", "write", "writelines",
})

#: Standard streams: writing a frame to ``sys.stdout`` prints it, it stores nothing.
_STREAMS = ("sys.stdout", "sys.stderr", "sys.stdin", "sys.__stdout__", "sys.__stderr__",
            "sys.__stdin__")


def _is_stream(value: Value) -> bool:
    return isinstance(value, Ref) and value.qualname.startswith(_STREAMS)


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list | dict | str) else ()


def _differs(a: Value | None, b: Value | None) -> bool:
    """Whether two values of a name differ (file handles count as the same)."""
    return a != b and not (isinstance(a, Handle) and isinstance(b, Handle))


def _unpacks(value: Multi, n: int) -> bool:
    """Whether every option is a sequence of ``n`` items (``for a, b in [(1, 2), ...]``)."""
    return all(isinstance(o.value, tuple | list) and len(o.value) == n for o in value.options)


def _as_path(x: Any) -> Any:
    """Pure-path results stay paths; anything else as it is."""
    return PurePosixPath(x) if isinstance(x, PurePosixPath) else x


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _aug_to_bin(node: cst.AugAssign) -> type | None:
    mapping = {cst.AddAssign: cst.Add, cst.DivideAssign: cst.Divide,
               cst.ModuloAssign: cst.Modulo, cst.SubtractAssign: cst.Subtract}
    return mapping.get(type(node.operator))


def analyze_cells(cells: Iterable[Any], nb_dir: Path, notebook: str = "<notebook>",
                  seed: dict[str, Value] | None = None) -> Analysis:
    """Analyse nbformat cells (dict-like, with ``cell_type``, ``source``, ``id``).

    ``seed`` binds names before the first cell (``seed.values_from_namespace`` turns a
    kernel's namespace into them, for ``%%stork`` on one cell)."""
    sources = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        sources.append((index, cell.get("id"), source))
    analyzer = NotebookAnalyzer(nb_dir, seed)
    for index, cell_id, source in sources:
        analyzer.analyze_cell(index, cell_id, source)
    if analyzer.call_sites:
        # user functions are called with constants: a second pass binds each def's
        # parameters to the values its calls (later in the notebook) give them
        second = NotebookAnalyzer(nb_dir, seed, parsed=analyzer.parsed)
        second.known_calls = analyzer.call_sites
        for index, cell_id, source in sources:
            second.analyze_cell(index, cell_id, source)
        analyzer = second
    return analyzer.result(notebook)


def analyze_notebook(path: str | os.PathLike) -> Analysis:
    """Read and analyse a notebook; paths come out relative to its folder."""
    path = Path(path)
    nb = read_notebook(path)
    return analyze_cells(nb.cells, path.resolve().parent, str(path))
