"""Apply a plan's edits to one cell with libcst, format-preserving: only the data-access
expressions change; comments, quotes, spacing and every other line stay as they were."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..analysis import catalog
from ..errors import StorkError
from ..notebook import mask_ipython
from ..plan_types import AccessEdit
from . import postgres as pg
from .shell import shell_code
from .support import KEEPS_OPEN, is_file_op, local_copy, s3_shape


class RewriteError(StorkError):
    """A cell whose code cannot be rewritten as planned."""


@dataclass
class CellRewrite:
    source: str
    needs: set[str] = field(default_factory=set)  #: setup-cell helpers the new code uses
    applied: int = 0


def rewrite_cell(source: str, edits: Sequence[AccessEdit], kind: str,
                 pg_schema: str = "stork") -> CellRewrite:
    needs: set[str] = set()
    shell = [e for e in edits if e.api.startswith("shell.")]
    if shell:  # first: the shell lines become Python, at their own lines
        source = _rewrite_shell_lines(source, shell, kind, needs)
    masked = mask_ipython(source)
    if masked.skip_reason:
        raise RewriteError(f"the cell is not Python ({masked.skip_reason})")
    module = cst.parse_module(masked.code)
    by_pos: dict[tuple[int, int], list[AccessEdit]] = {}
    for e in edits:
        if e.api.startswith("shell."):
            continue
        col = e.col - masked.col_offsets.get(e.line, 0)
        by_pos.setdefault((e.line, col), []).append(e)
    transformer = _EditCalls(by_pos, kind, module)
    transformer.pg_schema = pg_schema
    new_module = MetadataWrapper(module).visit(transformer)
    if transformer.applied != len(by_pos):
        raise RewriteError("some calls were not found where the analysis saw them")
    new_source = _unmask(source, new_module.code, masked)
    return CellRewrite(new_source, transformer.needs | needs, transformer.applied + len(shell))


def _rewrite_shell_lines(source: str, edits: Sequence[AccessEdit], kind: str,
                         needs: set[str]) -> str:
    """Each rewritten shell line becomes one line of Python, at the same indent."""
    lines = source.split("\n")
    for e in edits:
        old = lines[e.line - 1]
        if not old.lstrip().startswith("!"):
            raise RewriteError(f"line {e.line} is no longer the shell line {e.code}")
        where = e.target or ""
        try:
            code, used = shell_code(e.api, where, kind, e.details.get("options", {}),
                                    e.details.get("label"))
        except ValueError as err:
            raise RewriteError(f"{e.code}: {err}") from None
        needs |= used
        lines[e.line - 1] = old[: len(old) - len(old.lstrip())] + code
    return "\n".join(lines)


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
        here = self.edits.get(pos)
        if not here or pos in self._done or not self._is_access(original, here[0]):
            return updated
        self._done.add(pos)
        self.applied += 1
        edit = here[0]
        if edit.action == "glob_relative":
            return self._glob_relative(updated, edit)
        if edit.action in _NESTED:
            return self._nested_listing(updated, edit)
        if edit.action == "listdir" or is_file_op(edit.api, edit.details.get("op")):
            return self._file_op(updated, here)
        if edit.action == "glob":
            return self._glob(updated, edit)
        writes = any(e.mode == "write" for e in here)  # ("a": a read and a write here)
        if self.kind == "postgresql":
            return self._postgres(original, updated, edit, writes)
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
        shape = s3_shape(edit.api, writes)
        if shape == "local":
            return self._on_local_copy(updated, index, new_value, edit)
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

    def _postgres(self, original: cst.Call, call: cst.Call, edit: AccessEdit, writes: bool
                  ) -> cst.BaseExpression:
        """Tables through read_sql_query / stork_to_table; other files through the files
        table (``stork_read``, ``stork_open``, ``stork_write`` from the setup cell)."""
        self.needs.add("engine")
        if edit.action in ("table_read", "table_read_sheets"):
            pandas = _module_of(call) or "pandas"
            if pandas == "pandas":
                self.needs.add("pandas")
            try:
                if edit.action == "table_read_sheets":  # the dict of frames, one per sheet
                    code = "{" + ", ".join(
                        f"{pg.py_literal(part['sheet'])}: " + pg.read_sql_code(
                            pandas, self.pg_schema, part["table"], part["schema"],
                            edit.details["kwargs"], api=edit.api)
                        for part in edit.details["sheets"]) + "}"
                else:
                    code = pg.read_sql_code(pandas, self.pg_schema, edit.table or "",
                                            edit.details["schema"], edit.details["kwargs"],
                                            api=edit.api)
            except pg.NotTranslatable as e:
                raise RewriteError(f"{edit.code}: {e}") from None
            for helper in ("stork_chunks", "stork_read_table"):
                if code.startswith(f"{helper}("):
                    self.needs.add(helper)
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
        shape = "local" if local_copy(edit.api, writes) else edit.details.get("shape")
        if shape == "local":
            return self._on_local_copy(call, index, new_value, edit)
        if shape in ("open", "excel_writer"):
            helper = "stork_open" if shape == "open" else "stork_excel_writer"
            self.needs.add(helper)
            return _with_arg(call, index, new_value).with_changes(func=cst.Name(helper))
        if shape in ("read_bytes", "write_bytes"):
            return self._through_helper(call, index, new_value, shape)
        raise RewriteError(f"{edit.api} has no PostgreSQL form")

    def _on_local_copy(self, call: cst.Call, index: int, new_value: cst.BaseExpression,
                       edit: AccessEdit) -> cst.Call:
        """``stork_local(where, mode, lambda stork_file: call(stork_file, ...))``: the call
        on a local copy of the file (``rewrite/local_copy``), in the call's own mode;
        ``until_closed=True`` for a store or an archive, stored back when closed."""
        spec = _spec(edit.api)
        if any(arg.star for arg in call.args):
            raise RewriteError(f"{edit.code}: arguments passed with * or ** may hold the "
                               "mode; give the path and the mode by name to migrate it")
        at = _path_arg_index(call, replace(spec, path_arg=spec.mode_arg, path_kw="mode"))
        mode = call.args[at].value if at is not None else _string(spec.default_mode, new_value)
        self.needs.add("stork_local")
        inner = _with_arg(call, index, cst.Name("stork_file"))
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        args = [cst.Arg(new_value, comma=comma), cst.Arg(mode, comma=comma),
                cst.Arg(cst.Lambda(params=cst.Parameters([cst.Param(cst.Name("stork_file"))]),
                                   body=inner))]
        if edit.api in KEEPS_OPEN:
            args[-1] = args[-1].with_changes(comma=comma)
            args.append(cst.Arg(cst.Name("True"), keyword=cst.Name("until_closed"),
                                equal=cst.AssignEqual(
                                    whitespace_before=cst.SimpleWhitespace(""),
                                    whitespace_after=cst.SimpleWhitespace(""))))
        return cst.Call(func=cst.Name("stork_local"), args=args)

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

    def _file_op(self, call: cst.Call, edits: list[AccessEdit]) -> cst.BaseExpression:
        """File-system operations, pathlib methods and folder listings.

        A folder destination keeps the call with its new path(s) (``pathlib.Path(new)``
        for a path object); S3 and PostgreSQL do it through the setup cell's
        ``StorkPath``: ``os.remove(p)`` -> ``StorkPath(url).unlink()``,
        ``shutil.copy(a, b)`` -> ``StorkPath(url_a).copy(url_b)``."""
        edit = edits[0]
        if edit.action == "listdir" and isinstance(call.func, cst.Attribute) and (
                call.func.attr.value == "iterdir"):
            return self._iterdir(call, edit.target or "")
        if edit.action == "listdir":
            index = _path_arg_index(call, catalog.ApiSpec("listdir", "listdir", "read", None,
                                                          0, "path"))
            old = call.args[index].value if index is not None else None
            target = _string(edit.target or "", old)
            if self.kind == "file":
                if index is None:
                    return call.with_changes(args=[cst.Arg(target)])
                return _with_arg(call, index, target)
            self.needs.add("StorkPath")
            return _method(_stork_path(target), "listdir", [])
        if edit.api.startswith("pathlib.Path."):
            assert isinstance(call.func, cst.Attribute)
            value = self._new_value(edit, call.func.value)
            if self.kind == "file":
                return self._with_receiver(call, self._pathlib_of(value))
            self.needs.add("StorkPath")
            return self._with_receiver(call, _stork_path(value))
        spec = _spec(edit.api)
        values: dict[str, cst.BaseExpression] = {}
        indexes: dict[str, int] = {}
        for e in edits:
            role = e.details.get("role") or "source"
            where = (catalog.ApiSpec(spec.name, spec.api, "write", None, spec.path2_arg,
                                     spec.path2_kw) if role == "target" else spec)
            index = _path_arg_index(call, where)
            if index is None:
                raise RewriteError(f"no path argument in {e.code}")
            indexes[role] = index
            values[role] = self._new_value(e, call.args[index].value)
        if self.kind == "file":
            for role, index in indexes.items():
                call = _with_arg(call, index, values[role])
            return call
        if "source" not in values or (spec.path2_arg is not None and "target" not in values):
            raise RewriteError(f"{edit.code}: both paths must move to rewrite it")
        self.needs.add("StorkPath")
        args = [cst.Arg(values["target"])] if "target" in values else []
        return _method(_stork_path(values["source"]), spec.op or "", args)

    def _new_value(self, edit: AccessEdit, old: cst.BaseExpression) -> cst.BaseExpression:
        if edit.action in ("prefix", "files_prefix"):
            return _prefixed(edit.base or "", old)
        return _string(edit.target or "", old)

    def _pathlib_of(self, value: cst.BaseExpression) -> cst.BaseExpression:
        self.needs.add("pathlib")
        return cst.Call(func=cst.parse_expression("pathlib.Path"), args=[cst.Arg(value)])

    def _nested_listing(self, call: cst.Call, edit: AccessEdit) -> cst.BaseExpression:
        """A listing inside a loop (its folder or pattern built from the outer loop
        variable): the same expression under the destination's base, giving back the
        notebook's own relative names, so the loop's prefixed reads find the files."""
        base = (edit.base or "").rstrip("/")
        if edit.action == "iterdir_prefix":
            assert isinstance(call.func, cst.Attribute)
            return self._iterdir(call, _prefixed(base, call.func.value))
        spec = (catalog.ApiSpec("glob", "glob", "read", None, 0, "pattern")
                if edit.action == "glob_prefix" else
                catalog.ApiSpec("listdir", "listdir", "read", None, 0, "path"))
        index = _path_arg_index(call, spec)
        if index is None:
            raise RewriteError(f"no path argument in {edit.code or edit.api}")
        where = _prefixed(base, call.args[index].value)
        if edit.action == "listdir_prefix":
            if self.kind == "file":
                return _with_arg(call, index, where)
            self.needs.add("StorkPath")
            return _method(_stork_path(where), "listdir", [])
        func = call.func
        if isinstance(func, cst.Attribute) and not _is_module_glob(call):
            return self._nested_path_glob(call, index, base)
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if self.kind == "file":
            matches = _with_arg(call, index, where)
        else:
            self.needs.add("stork_glob")
            matches = cst.Call(func=cst.Name("stork_glob"), args=[cst.Arg(where)])
        text = cst.Module([]).code_for_node(matches)
        prefix = json.dumps(base + "/", ensure_ascii=False)
        comp = f"_stork_f.removeprefix({prefix}) for _stork_f in {text}"
        listed = name == "glob"  # glob.glob gives a list, iglob an iterator
        return cst.parse_expression(f"[{comp}]" if listed else f"({comp})")

    def _nested_path_glob(self, call: cst.Call, index: int, base: str) -> cst.BaseExpression:
        """``d.glob(pattern)`` in a loop over folders: the destination's matches under
        ``base``, given back as the Paths the notebook's own glob gives (pathlib's glob
        matches hidden names; ``rglob`` is ``glob("**/" + pattern)``)."""
        assert isinstance(call.func, cst.Attribute)
        folder = cst.Module([]).code_for_node(call.func.value)
        pattern = cst.Module([]).code_for_node(call.args[index].value)
        deep = '"**/" + ' if call.func.attr.value == "rglob" else ""
        where = _prefixed(base, cst.parse_expression(
            f"pathlib.PurePosixPath({folder}) / ({deep}{pattern})"))
        self.needs.add("pathlib")
        if self.kind == "file":
            self.needs.add("glob")
            matches = cst.Call(func=cst.parse_expression("glob.glob"), args=[
                cst.Arg(where), cst.Arg(cst.Name("True"), keyword=cst.Name("recursive")),
                cst.Arg(cst.Name("True"), keyword=cst.Name("include_hidden"))])
        else:
            self.needs.add("stork_glob")
            hidden = [cst.Arg(cst.Name("True"), keyword=cst.Name("hidden"))] if (
                self.kind == "postgresql") else []
            matches = cst.Call(func=cst.Name("stork_glob"), args=[cst.Arg(where), *hidden])
        text = cst.Module([]).code_for_node(matches)
        prefix = json.dumps(base + "/", ensure_ascii=False)
        return cst.parse_expression(
            f"(pathlib.Path(_stork_f.removeprefix({prefix})) for _stork_f in {text})")

    def _iterdir(self, call: cst.Call, target: str | cst.BaseExpression) -> cst.BaseExpression:
        """``d.iterdir()`` -> ``(d / name for name in <the destination folder's names>)``:
        the loop still sees the notebook's own relative paths (``.name``, ``.suffix`` and
        the rewritten reads of its items work unchanged), listed where the files now are."""
        assert isinstance(call.func, cst.Attribute)
        at = _string(target) if isinstance(target, str) else target
        if self.kind == "file":
            self.needs.add("os")
            names: cst.BaseExpression = cst.Call(func=cst.Name("sorted"), args=[cst.Arg(
                cst.Call(func=cst.parse_expression("os.listdir"), args=[cst.Arg(at)]))])
        else:
            self.needs.add("StorkPath")
            names = _method(_stork_path(at), "listdir", [])
        name = cst.Name("_stork_name")
        return cst.GeneratorExp(
            elt=cst.BinaryOperation(left=call.func.value, operator=cst.Divide(), right=name),
            for_in=cst.CompFor(target=name, iter=names))

    def _glob_relative(self, call: cst.Call, edit: AccessEdit) -> cst.BaseExpression:
        """A glob nothing reads from: the destination's matches, given back as the paths
        the notebook's own glob gives (``data/x.csv``, a ``Path`` for ``Path.glob``)."""
        base = (edit.target or "").rstrip("/")
        prefix = f"{base}/" if base else ""  # (files-table keys of a notebook at the root)
        pattern = json.dumps(prefix + edit.details["pattern"], ensure_ascii=False)
        func = call.func
        path_glob = isinstance(func, cst.Attribute) and func.attr.value in ("glob", "rglob") \
            and not _is_module_glob(call)
        # (pathlib's glob matches hidden names, glob.glob does not)
        if self.kind == "file":
            self.needs.add("glob")
            hidden = ", include_hidden=True" if path_glob else ""
            matches = f"glob.glob({pattern}, recursive=True{hidden})"
        elif self.kind == "postgresql":
            self.needs.add("stork_glob")
            matches = f"stork_glob({pattern}{', hidden=True' if path_glob else ''})"
        else:
            self.needs.add("stork_glob")
            matches = f"stork_glob({pattern})"
        item = f"_stork_f.removeprefix({json.dumps(prefix, ensure_ascii=False)})"
        if path_glob:
            self.needs.add("pathlib")
            item = f"pathlib.Path({item})"
        comp = f"{item} for _stork_f in {matches}"
        listed = _is_module_glob(call) and func.attr.value == "glob"  # glob.glob: a list
        return cst.parse_expression(f"[{comp}]" if listed else f"({comp})")

    @staticmethod
    def _with_receiver(call: cst.Call, receiver: cst.BaseExpression) -> cst.Call:
        assert isinstance(call.func, cst.Attribute)
        return call.with_changes(func=call.func.with_changes(value=receiver))

    def _is_access(self, call: cst.Call, edit: AccessEdit) -> bool:
        """Calls chained on the access (``pd.read_csv(p).head()``) or inside it
        (``df.assign(...).to_csv(p)``) start where it starts: the call's source text, as
        the analysis gives it, and its path argument tell them apart."""
        if edit.action in ("listdir", "glob_relative", *_NESTED):
            # ``Path("d").iterdir()`` starts where ``Path("d")`` does
            func = call.func
            name = func.attr.value if isinstance(func, cst.Attribute) else (
                func.value if isinstance(func, cst.Name) else None)
            return name in (("listdir", "iterdir") if "listdir" in edit.action or (
                edit.action == "iterdir_prefix") else ("glob", "iglob", "rglob"))
        if edit.action == "glob":  # the innermost call there
            return True
        if edit.code:
            text = self.module.code_for_node(call)
            if len(text) > 200:  # the analysis shortens long calls so
                text = text[:197] + "..."
            if text != edit.code:
                return False
        if edit.api.startswith("pathlib.Path."):  # the path is the receiver
            return isinstance(call.func, cst.Attribute) and (
                call.func.attr.value == edit.api.rsplit(".", 1)[1])
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


#: Listings inside a loop over folders, rewritten under the destination's base.
_NESTED = ("glob_prefix", "listdir_prefix", "iterdir_prefix")

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


def _stork_path(value: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name("StorkPath"), args=[cst.Arg(value)])


def _method(receiver: cst.BaseExpression, name: str, args: list[cst.Arg]) -> cst.Call:
    return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(name)), args=args)


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
