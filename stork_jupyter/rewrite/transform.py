"""Apply a plan's edits to one cell with libcst, format-preserving: only the data-access
expressions change; comments, quotes, spacing and every other line stay as they were."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..analysis import catalog
from ..errors import StorkError
from ..notebook import mask_ipython
from ..plan_types import AccessEdit
from . import postgres as pg
from .support import s3_shape


class RewriteError(StorkError):
    """A cell whose code cannot be rewritten as planned."""


@dataclass
class CellRewrite:
    source: str
    needs: set[str] = field(default_factory=set)  #: setup-cell helpers the new code uses
    applied: int = 0


def rewrite_cell(source: str, edits: Sequence[AccessEdit], kind: str,
                 pg_schema: str = "stork") -> CellRewrite:
    masked = mask_ipython(source)
    if masked.skip_reason:
        raise RewriteError(f"the cell is not Python ({masked.skip_reason})")
    module = cst.parse_module(masked.code)
    by_pos = {}
    for e in edits:
        col = e.col - masked.col_offsets.get(e.line, 0)
        by_pos[(e.line, col)] = e
    transformer = _EditCalls(by_pos, kind, module)
    transformer.pg_schema = pg_schema
    new_module = MetadataWrapper(module).visit(transformer)
    if transformer.applied != len(by_pos):
        raise RewriteError("some calls were not found where the analysis saw them")
    return CellRewrite(_unmask(source, new_module.code, masked), transformer.needs,
                       transformer.applied)


def _unmask(original: str, new_code: str, masked) -> str:
    """Put IPython lines back: unchanged masked lines verbatim; a ``%time stmt`` whose
    statement was rewritten keeps its magic prefix.

    A rewrite may change the number of lines (a call spread over several lines becomes
    one): the masked code and the new code are aligned line by line with difflib, so each
    masked line is found again wherever it now is."""
    old_lines = original.split("\n")
    new_lines = new_code.split("\n")
    masked_code_lines = masked.code.split("\n")
    if not masked.masked_lines:
        return new_code
    if len(old_lines) == len(new_lines):
        pairs = list(enumerate(range(len(new_lines))))
        return "\n".join(_restore(old_lines, new_lines, masked_code_lines, masked, pairs))
    matcher = difflib.SequenceMatcher(None, masked_code_lines, new_lines, autojunk=False)
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
            pairs = list(zip(range(i1, i2), range(j1, j2), strict=True))
            out += _restore(old_lines, new_lines, masked_code_lines, masked, pairs)
            continue
        if any(i + 1 in masked.masked_lines for i in range(i1, i2)):
            raise RewriteError("the rewrite changed a statement that shares its lines with "
                               "IPython syntax (a magic or shell line)")
        out += new_lines[j1:j2]
    return "\n".join(out)


def _restore(old_lines: list[str], new_lines: list[str], masked_code_lines: list[str],
             masked, pairs: list[tuple[int, int]]) -> list[str]:
    """The new lines ``j`` for the (old ``i``, new ``j``) pairs, masked lines put back."""
    out = []
    for i, j in pairs:
        lineno = i + 1
        old, new = old_lines[i], new_lines[j]
        if lineno not in masked.masked_lines:
            out.append(new)
        elif new == masked_code_lines[i]:
            out.append(old)
        else:
            offset = masked.col_offsets.get(lineno, 0)
            indent = len(old) - len(old.lstrip())
            out.append(old[: indent + offset] + new[indent:])
    return out


def _string(value: str, like: cst.BaseExpression | None = None) -> cst.SimpleString:
    """A Python string literal, in the quote style of the literal it replaces."""
    if isinstance(like, cst.SimpleString) and like.prefix == "" and not like.quote.startswith(
            ('"""', "'''")):
        q = like.quote
        if q not in value and "\\" not in value and "\n" not in value:
            return cst.SimpleString(f"{q}{value}{q}")
    return cst.SimpleString(json.dumps(value, ensure_ascii=False))


class _EditCalls(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, edits: dict[tuple[int, int], AccessEdit], kind: str,
                 module: cst.Module):
        super().__init__()
        self.edits = edits
        self.kind = kind
        self.needs: set[str] = set()
        self.applied = 0
        self.module = module
        self._with_items: set[int] = set()
        self._done: set[tuple[int, int]] = set()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._with_items.add(id(node.item))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        start = self.get_metadata(PositionProvider, original).start
        pos = (start.line, start.column)
        edit = self.edits.get(pos)
        if edit is None or pos in self._done or not self._is_access(original, edit):
            return updated
        self._done.add(pos)
        self.applied += 1
        if edit.action == "glob":
            return self._glob(updated, edit)
        if self.kind == "postgresql":
            return self._postgres(original, updated, edit)
        spec = _spec(edit.api)
        index = _path_arg_index(updated, spec)
        if index is None:
            raise RewriteError(f"no path argument in {edit.code}")
        old_value = updated.args[index].value
        if edit.action == "prefix":
            new_value = _prefixed(edit.base or "", old_value)
        else:
            new_value = _string(edit.target or "", old_value)
        if self.kind != "s3":
            return _with_arg(updated, index, new_value)
        shape = s3_shape(edit.api)
        if shape == "url":
            return _with_arg(updated, index, new_value)
        if shape == "open":
            call = _with_arg(updated, index, new_value).with_changes(
                func=cst.parse_expression("fsspec.open"))
            if _path_arg_index(call, catalog.ApiSpec("open", "open", "read", None, 1, "mode")
                               ) is None:  # open() reads text by default, fsspec.open bytes
                args = list(call.args)
                args.insert(index + 1, cst.Arg(_string("r", new_value)))  # same quotes
                args[index] = args[index].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                call = call.with_changes(args=args)
            self.needs.add("fsspec")
            if id(original) in self._with_items:
                return call
            return cst.Call(func=cst.Attribute(value=call, attr=cst.Name("open")))
        if shape in ("read_bytes", "write_bytes"):
            return self._through_helper(updated, index, new_value, shape)
        raise RewriteError(f"{edit.api} has no S3 form")

    def _postgres(self, original: cst.Call, call: cst.Call, edit: AccessEdit
                  ) -> cst.BaseExpression:
        """Tables through read_sql_query / stork_to_table; other files through the files
        table (``stork_read``, ``stork_open``, ``stork_write`` from the setup cell)."""
        self.needs.add("engine")
        if edit.action == "table_read":
            pandas = _module_of(call) or "pandas"
            if pandas == "pandas":
                self.needs.add("pandas")
            try:
                code = pg.read_sql_code(pandas, self.pg_schema, edit.table or "",
                                        edit.details["schema"], edit.details["kwargs"],
                                        api=edit.api)
            except pg.NotTranslatable as e:
                raise RewriteError(f"{edit.code}: {e}") from None
            return cst.parse_expression(code)
        if edit.action == "table_artefact_read":
            self.needs.add("stork_from_table")
            args = [pg.py_literal(edit.table)] + [
                f"{k}={pg.py_literal(v)}" for k, v in edit.details["kwargs"].items()]
            return cst.parse_expression(f"stork_from_table({', '.join(args)})")
        if edit.action == "table_write":
            self.needs.add("stork_to_table")
            if not isinstance(call.func, cst.Attribute):
                raise RewriteError(f"{edit.code}: not a DataFrame method call")
            # the writer call itself, without its path: to_csv() gives the text and
            # to_parquet() the bytes it would have written, with all its options and
            # defaults (the index as it would have been written)
            writer = _without_path(call, _path_arg_index(call, _spec(edit.api)), edit)
            return cst.parse_expression(
                f"stork_to_table({cst.Module([]).code_for_node(writer)}, "
                f"{pg.py_literal(edit.table)}, {pg.py_literal(edit.details['like'])})")
        spec = _spec(edit.api)
        index = _path_arg_index(call, spec)
        if index is None:
            raise RewriteError(f"no path argument in {edit.code}")
        old_value = call.args[index].value
        if edit.action == "files_wrap":  # the glob already gives keys of the files table
            new_value: cst.BaseExpression = old_value
        elif edit.action == "files_prefix":
            new_value = _prefixed(edit.base or "", old_value)
        else:
            new_value = _string(edit.target or "", old_value)
        shape = edit.details.get("shape")
        if shape == "open":
            self.needs.add("stork_open")
            return _with_arg(call, index, new_value).with_changes(func=cst.Name("stork_open"))
        if shape in ("read_bytes", "write_bytes"):
            return self._through_helper(call, index, new_value, shape)
        raise RewriteError(f"{edit.api} has no PostgreSQL form")

    def _through_helper(self, call: cst.Call, index: int, new_value: cst.BaseExpression,
                        shape: str) -> cst.Call:
        """Reads get ``stork_read(where)`` as their file; writes become
        ``stork_write(where, lambda stork_file: call(stork_file, ...))`` (setup-cell helpers
        that move the bytes, whatever the destination)."""
        if shape == "read_bytes":
            self.needs.add("stork_read")
            return _with_arg(call, index, cst.Call(func=cst.Name("stork_read"),
                                                   args=[cst.Arg(new_value)]))
        self.needs.add("stork_write")
        inner = _with_arg(call, index, cst.Name("stork_file"))
        return cst.Call(func=cst.Name("stork_write"), args=[
            cst.Arg(new_value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(cst.Lambda(params=cst.Parameters([cst.Param(cst.Name("stork_file"))]),
                               body=inner))])

    def _is_access(self, call: cst.Call, edit: AccessEdit) -> bool:
        """Calls chained on the access (``pd.read_csv(p).head()``) or inside it
        (``df.assign(...).to_csv(p)``) start where it starts: the call's source text, as
        the analysis gives it, and its path argument tell them apart."""
        if edit.action == "glob":  # the innermost call at the glob's position
            return True
        if edit.code:
            text = self.module.code_for_node(call)
            if len(text) > 200:  # the analysis shortens long calls so
                text = text[:197] + "..."
            if text != edit.code:
                return False
        return _path_arg_index(call, _spec(edit.api)) is not None

    def _glob(self, call: cst.Call, edit: AccessEdit) -> cst.BaseExpression:
        pattern = edit.target or ""
        index = _path_arg_index(call, catalog.ApiSpec("glob", "glob", "read", None, 0, "pattern"))
        if index is None:
            raise RewriteError("a glob without a pattern")
        if self.kind in ("s3", "postgresql"):
            self.needs.add("stork_glob")
            return cst.Call(func=cst.Name("stork_glob"), args=[
                cst.Arg(_string(pattern, call.args[index].value))])
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("glob", "rglob") \
                and not _is_module_glob(call):
            raise RewriteError("Path.glob() is not rewritten yet")
        return _with_arg(call, index, _string(pattern, call.args[index].value))


#: Writer options with no effect on what a later read of the file gives, and that a
#: writer without a path does not take.
_NO_EFFECT_ON_READ = frozenset({"storage_options", "compression", "encoding", "errors", "mode"})


def _without_path(call: cst.Call, path_index: int | None, edit: AccessEdit) -> cst.Call:
    """``df.to_csv(path, sep=";")`` -> ``df.to_csv(sep=";")``; refused when the other
    arguments cannot do without the path (positional) or the write is not a whole
    file (appending, partitions)."""
    if path_index is None:
        raise RewriteError(f"no path argument in {edit.code}")
    args = []
    for i, arg in enumerate(call.args):
        if i == path_index:
            continue
        if arg.keyword is None and arg.star != "**":
            raise RewriteError(f"{edit.code}: give the writer's options by keyword to "
                               "migrate it")
        name = arg.keyword.value if arg.keyword is not None else None
        if name == "mode" and not (isinstance(arg.value, cst.SimpleString)
                                   and arg.value.evaluated_value in ("w", "wb", "x", "xb")):
            raise RewriteError(f"{edit.code}: mode={cst.Module([]).code_for_node(arg.value)} "
                               "adds to the file; a table is replaced on each write")
        if name == "partition_cols":
            raise RewriteError(f"{edit.code}: partition_cols writes a folder of files, "
                               "not one table")
        if name not in _NO_EFFECT_ON_READ:
            args.append(arg)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def _module_of(call: cst.Call) -> str | None:
    """``pd`` for ``pd.read_csv(...)``: the module name the cell already uses."""
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        return func.value.value
    return None


def _is_module_glob(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and (
        func.value.value == "glob")


def _spec(api: str) -> catalog.ApiSpec:
    for spec in catalog.CATALOG:
        if spec.api == api:
            return spec
    raise RewriteError(f"{api} is not in the catalog")


def _path_arg_index(call: cst.Call, spec: catalog.ApiSpec) -> int | None:
    positional = 0
    for i, arg in enumerate(call.args):
        if arg.keyword is not None:
            if spec.path_kw and arg.keyword.value == spec.path_kw:
                return i
            continue
        if arg.star:
            return None
        if positional == spec.path_arg:
            return i
        positional += 1
    return None


def _with_arg(call: cst.Call, index: int, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    args[index] = args[index].with_changes(value=value)
    return call.with_changes(args=args)


def _prefixed(base: str, expr: cst.BaseExpression) -> cst.BaseExpression:
    """``f"{base}/{expr}"``: the same loop, under the destination's folder."""
    code = cst.Module([]).code_for_node(expr)
    escaped = base.replace("{", "{{").replace("}", "}}")
    for quote in ('"', "'"):
        if quote not in code and quote not in base and "\\" not in code and "\n" not in code:
            return cst.parse_expression(f"f{quote}{escaped}/{{{code}}}{quote}")
    return cst.parse_expression(f"{json.dumps(base + '/')} + str({code})")
