"""Planning for a PostgreSQL destination: which accesses become tables, which go to the
files table, and the edits that read them back.

- A pandas read of one file becomes a typed table (loaded with the call's own parsing
  options; the same file read with other options gets a table of its own) and the call
  a ``read_sql_query`` of it.
- A pandas write (``to_csv``, ``to_parquet``...) becomes a table the notebook writes
  itself (``stork_to_table``); a later read of that file reads the table back.
- Everything else (``open``, numpy, pickle, joblib, and pandas reads in loops or globs)
  goes byte for byte into the files table, read through ``stork_read``/``stork_open``.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import DataAccess
from .checksum import Digests
from .destinations.base import Digest
from .names import dataset_owner
from .plan_files import folder_files, op_details
from .plan_types import AccessEdit, DatasetMove, MigrationPlan
from .rewrite.postgres import ARTEFACT_FORMATS, TABLE_READS, file_shape

#: the chunks of the exact pass when a COPY runs beside it (8 MB alone)
EARLY_CHUNK_BYTES = 4 * 1024 * 1024
#: Options an artefact's read can take (they select; parsing ones have nothing to parse).
_ARTEFACT_READ_OPTIONS = frozenset({"usecols", "nrows", "index_col", "columns"})


@dataclass
class PostgresPlanner:
    """Per-plan state: table names taken, tables by (file, options), artefact tables."""

    backend: object
    plan: MigrationPlan
    nb_dir: Path
    tables: dict[tuple[str, str], str] = field(default_factory=dict)
    artefacts: dict[str, tuple[str, str]] = field(default_factory=dict)  #: path -> (table, like)
    taken: set[str] = field(default_factory=set)
    names: object = None  #: names.NameBook, or None: names avoid only existing relations
    digests: Digests = field(default_factory=Digests)  #: each source's sha256, once
    taken_reason: str = ""  #: why the current access's files key is not free
    #: files a pandas writer writes that the notebook also reaches otherwise (``open``,
    #: ``os.path.exists``, ``!cat``, a loop): kept as bytes in the files table, not a table
    as_files: set[str] = field(default_factory=set)

    def note_accesses(self, accesses: list[DataAccess]) -> None:
        written = {a.path for a in accesses if a.mode == "write" and a.api in ARTEFACT_FORMATS}
        self.as_files = {a.path for a in accesses if a.path in written and not (
            a.api in ARTEFACT_FORMATS or a.api in TABLE_READS) or (
            a.path in written and (a.expanded_at is not None or a.expanded_from))}

    def access(self, a: DataAccess, key: str, loop_base: str | None, written: set[str],
               moved: set[str]) -> list[AccessEdit] | str:
        """The edits for one resolved access, or why it cannot be migrated."""
        literal = {k: _type_names(v) if k == "dtype" else v for k, v in a.kwargs.items()}
        dynamic = [k for k, v in literal.items() if isinstance(v, dict) and "__expr__" in v]
        edit = dict(cell_index=a.cell_index, cell_id=a.cell_id, line=a.line, col=a.col,
                    api=a.api, mode=a.mode, code=a.code)
        in_loop = loop_base is not None or a.expanded_at is not None
        if a.api in ARTEFACT_FORMATS and a.mode == "write" and not in_loop and (
                a.path not in self.as_files):
            table = self._name(a.path, dataset_owner(self.nb_dir / a.path, write=True), None)
            self.artefacts[a.path] = (table, ARTEFACT_FORMATS[a.api])
            return [AccessEdit(**edit, action="table_write", table=table,
                               details={"like": ARTEFACT_FORMATS[a.api]})]
        if a.mode == "read" and a.path in self.artefacts and a.path in written:
            table, like = self.artefacts[a.path]
            if a.api not in TABLE_READS or in_loop:
                return (f"{a.path} is written as a table by pandas; only a pandas read of it "
                        "(outside a loop) can be migrated")
            extra = sorted(set(literal) - _ARTEFACT_READ_OPTIONS)
            if extra or dynamic:
                return (f"reading the table written from {a.path} with {', '.join(extra + dynamic)}"
                        " is not supported; only usecols, nrows, index_col and columns")
            return [AccessEdit(**edit, action="table_artefact_read", table=table,
                               details={"kwargs": literal})]
        as_bytes = None  # why no table reproduces this pandas read
        if a.api in TABLE_READS and a.mode == "read" and not in_loop and a.path not in written \
                and self._chunks_from_table(a, literal, dynamic):
            # (a file the notebook wrote itself is read back from where it wrote it)
            if dynamic:
                as_bytes = f"the option(s) {', '.join(dynamic)} are only known at run time"
            else:
                from .tabular import TabularError, UnreadableFile

                try:
                    return self._table_read(a, edit, literal, moved)
                except UnreadableFile as e:  # the notebook's own read fails there too
                    return str(e)
                except TabularError as e:
                    as_bytes = str(e)
            # the notebook's own call, on the file's bytes from the files table, gives
            # exactly what it gave (converters, iterator=True, a file no table holds...)
        # file-system operations, pathlib methods and shell lines act on the files table
        # through the setup cell's StorkPath
        is_op = bool(a.op) or a.api.startswith(("pathlib.Path.", "shell."))
        shape = "op" if is_op else file_shape(a.api, a.mode == "write") or (
            "write_bytes" if a.api in ARTEFACT_FORMATS and a.path in self.as_files else None)
        if shape is None:
            return f"{a.api} has no form that reads from PostgreSQL"
        if shape == "excel_writer" and a.open_mode is None:
            return f"the mode of {a.api}() is only known at run time"
        if shape == "excel_writer" and "a" in a.open_mode:
            return (f"{a.api}(..., mode={a.open_mode!r}) updates a workbook in place; the "
                    "files table keeps whole files, written once")
        if key is None:
            return self.taken_reason
        if a.mode == "read" and a.path not in written and a.path not in moved:
            absolute = self.nb_dir / a.path
            if absolute.is_dir() and a.optional:  # ``!ls data``: what the folder holds
                for rel in folder_files(self.nb_dir, a.path):
                    if rel not in written and rel not in moved:
                        moved.add(rel)
                        f = self.nb_dir / rel
                        rel_key = posixpath.normpath(f"{key}/{posixpath.relpath(rel, a.path)}")
                        self.plan.moves.append(DatasetMove(
                            rel, rel_key, self.backend.target(rel_key), None, f.stat().st_size,
                            self._sha(f)))
            elif absolute.is_file():
                moved.add(a.path)
                self.plan.moves.append(DatasetMove(a.path, key, self.backend.target(key),
                                                   a.format, absolute.stat().st_size,
                                                   self._sha(absolute), note=as_bytes))
            elif not a.optional:
                return f"source file {a.path} does not exist"
        if a.expanded_at is not None and loop_base is None:
            # fed by a glob: the glob gives keys; wrap the read
            return [AccessEdit(**edit, action="files_wrap", details={"shape": shape})]
        action = "files_prefix" if loop_base is not None else "files"
        return [AccessEdit(**edit, action=action, target=key, base=loop_base,
                           details={"shape": shape, **op_details(a)})]

    def _chunks_from_table(self, a: DataAccess, kwargs: dict, dynamic: list[str]) -> bool:
        """Whether a read's chunks (``chunksize=N``) can be the table's: when pandas' own
        chunks are slices of the whole read. If not, the read keeps its iterator of
        frames by reading the file's bytes from the files table."""
        if "chunksize" in dynamic:  # (any size: pandas makes the chunks of the bytes)
            return False
        if "chunksize" not in kwargs or dynamic or not (self.nb_dir / a.path).is_file():
            return True
        from .tabular.chunks import chunk_mismatch

        try:
            return chunk_mismatch(self.nb_dir / a.path, a.api, kwargs) is None
        except Exception:  # (pandas' own read fails: the table load names the reason)
            return True

    def _table_read(self, a: DataAccess, edit: dict, kwargs: dict, moved: set[str]
                    ) -> list[AccessEdit] | str:
        """The typed table of a pandas read, or why not (a missing file); a TabularError
        when no table can give what the call gives."""
        from .tabular import TabularError, infer_schema, load_options
        from .tabular.source import auto_chunksize

        sheets = kwargs.get("sheet_name", 0)
        if a.api == "pandas.read_excel" and (sheets is None or isinstance(sheets, list)):
            return self._sheets_read(a, edit, kwargs, sheets, moved)
        load = {k: v for k, v in kwargs.items() if k != "chunksize"}
        if a.api == "pandas.read_excel" and isinstance(sheets, int) and not isinstance(
                sheets, bool):  # a sheet by position and by name: one table
            names = _sheet_names(self.nb_dir / a.path)
            if names and 0 <= sheets < len(names):
                load["sheet_name"] = names[sheets]
        options = load_options(a.api, load)
        signature = (a.path, json.dumps(options, sort_keys=True, default=str))
        table = self.tables.get(signature)
        absolute = self.nb_dir / a.path
        if table is None:
            if not absolute.is_file():
                return f"source file {a.path} does not exist"
            early = self._begin_early(a, absolute, options)
            try:
                # beside the COPY streams, in smaller chunks: the memory of the two
                # together stays what the pass alone used to take
                schema = infer_schema(absolute, a.api, options, chunksize=None if (
                    early is None) else auto_chunksize(absolute, EARLY_CHUNK_BYTES))
            except TabularError:
                if early is not None:
                    early.discard()
                    self._forget(early.table)
                raise
            if early is not None:
                table = early.table
                early.confirm(schema)  # (else dropped: the transfer loads it as usual)
            else:
                table = self._name(a.path, dataset_owner(absolute, options),
                                   self.digests.later(absolute.resolve()))
            self.tables[signature] = table
            self.plan.moves.append(DatasetMove(
                a.path, table, self.backend.table_target(table), a.format,
                absolute.stat().st_size, self._sha(absolute), table=table, api=a.api,
                options=options, schema=_planned(schema)))
        move = next(m for m in self.plan.moves if m.table == table)
        return [AccessEdit(**edit, action="table_read", table=table,
                           details={"kwargs": kwargs, "schema": move.schema})]

    def _sheets_read(self, a: DataAccess, edit: dict, kwargs: dict, sheets: list | None,
                     moved: set[str]) -> list[AccessEdit] | str:
        """``read_excel(p, sheet_name=None)`` (every sheet) or ``sheet_name=[...]``: one
        table per sheet, read back as the dict pandas gives (its keys, in its order)."""
        from .tabular import TabularError

        absolute = self.nb_dir / a.path
        if not absolute.is_file():
            return f"source file {a.path} does not exist"
        if sheets is None:
            sheets = _sheet_names(absolute)
            if sheets is None:
                return f"pandas cannot list the sheets of {a.path}"
        parts = []
        for sheet in dict.fromkeys(sheets):  # (a sheet named twice is one key)
            if isinstance(sheet, bool) or not isinstance(sheet, int | str):
                return "sheet_name other than a literal list of names or positions"
            try:
                one = self._table_read(a, edit, {**kwargs, "sheet_name": sheet}, moved)
            except TabularError as e:
                raise type(e)(f"sheet {sheet!r}: {e}") from None
            if isinstance(one, str):
                return f"sheet {sheet!r}: {one}"
            parts.append({"sheet": sheet, "table": one[0].table,
                          "schema": one[0].details["schema"]})
        select = {k: v for k, v in kwargs.items() if k != "sheet_name"}
        return [AccessEdit(**edit, action="table_read_sheets", table=parts[0]["table"],
                           details={"kwargs": select, "sheets": parts})]

    def _begin_early(self, a: DataAccess, absolute: Path, options: dict):
        """The file's raw COPY, begun before its exact schema is known so that the two
        overlap (:mod:`.destinations.pg_early`; only inside its scope), or None."""
        from .destinations import pg_early

        if not pg_early.may_begin(absolute, a.api):
            return None
        # (the name needs the digest only where it is held: the COPY need not wait)
        table = self._name(a.path, dataset_owner(absolute, options),
                           self.digests.later(absolute.resolve()))
        early = pg_early.begin(self.backend, absolute, a.api, options, table)
        if early is None:
            self._forget(table)  # (the same name is chosen again after the inference)
        return early

    def _forget(self, table: str) -> None:
        """Give back a name :meth:`_name` took."""
        self.taken.discard(table)
        self.plan.owners.pop(f"table:{table}", None)

    def _sha(self, path: Path) -> str:
        return self.digests.of(path.resolve())

    def _name(self, path: str, owner: str, sha256: Digest) -> str:
        """A table name for ``path``'s dataset: ``sales``, else ``sales_2``..., the first
        that no other table of this plan, no other dataset (in the store) and no other
        relation of the schema (unless it is this dataset's table) has."""
        from .destinations.postgres import FILES_TABLE, MAX_IDENT, sanitize_table_name

        if self.names is None:
            name = self.backend.table_name(posixpath.basename(path), self.taken)
        else:
            base = sanitize_table_name(posixpath.basename(path))
            name, n = base, 1
            while name in self.taken or name == FILES_TABLE or not self.names.free(
                    f"table:{name}", owner, sha256, table=name):
                n += 1
                name = base[: MAX_IDENT - len(f"_{n}")] + f"_{n}"
            self.plan.owners[f"table:{name}"] = {
                "owner": owner, "sha256": sha256,
                "source": (self.nb_dir / path).resolve().as_posix()}
        self.taken.add(name)
        return name


def _sheet_names(path: Path) -> list[str] | None:
    """The sheets of a workbook in order, or None when pandas cannot open it."""
    import pandas as pd

    try:
        with pd.ExcelFile(path) as book:
            return [str(name) for name in book.sheet_names]
    except Exception:  # (not a workbook, or no engine for it: the load names why)
        return None


#: Modules whose type attributes a ``dtype=`` names (``np.float32``).
_TYPE_MODULES = frozenset({"np", "numpy"})


def _type_names(value):
    """A ``dtype=`` argument that names Python or NumPy types (``str``, ``np.float32``,
    ``{"a": str, "b": "Int64"}``) as the dtype strings pandas makes of them (``"str"``,
    ``"float32"``): the same read, known before run time. Anything else is kept."""
    if not (isinstance(value, dict) and set(value) == {"__expr__"}):
        return value
    import ast
    import builtins

    import numpy as np
    import pandas as pd

    def resolve(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
            return node.value
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {resolve(k): resolve(v) for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.Name) and node.id in ("str", "int", "float", "bool", "object",
                                                      "complex"):
            kind = getattr(builtins, node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                node.value.id in _TYPE_MODULES) and isinstance(getattr(np, node.attr, None),
                                                                type):
            kind = getattr(np, node.attr)
        else:
            raise ValueError(node)
        dtype = pd.api.types.pandas_dtype(kind)
        if getattr(dtype, "kind", "") == "U":
            return "object"  # read_csv gives numpy strings (np.str_) as object columns
        if str(dtype) == "str" or getattr(dtype, "kind", "") in ("b", "i", "u", "f", "O"):
            return str(dtype)
        raise ValueError(node)

    try:
        return resolve(ast.parse(value["__expr__"], mode="eval").body)
    except (SyntaxError, ValueError, TypeError):
        return value


def _planned(schema) -> dict:
    """The schema as the plan keeps it: with the first pass's parse hints when they
    survive JSON (string column labels), so the load need not infer it again."""
    data = schema.to_json()
    if all(isinstance(k, str) for hint in schema.hints.values() if isinstance(hint, dict)
           for k in hint):
        data["hints"] = schema.hints
    return data
