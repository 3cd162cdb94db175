"""Reading and writing .ipynb files, and hiding IPython syntax from the Python parser."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .cells import cell_label
from .errors import NotebookError, first_line
from .quiet import no_warnings


def _import_nbformat():
    """nbformat, without the second its jsonschema can spend on an unused grammar.

    jsonschema's format checkers import ``rfc3987_syntax`` when it is installed (Jupyter
    installs it), and that import compiles a Lark grammar: about a second per process,
    for "iri" formats that no notebook schema uses. When jsonschema is not loaded yet,
    that optional import is made to fail while nbformat loads; nothing else changes.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import nbformat
        return nbformat
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import nbformat
    finally:
        del sys.modules["rfc3987_syntax"]
    return nbformat


nbformat = _import_nbformat()

#: Cell magics whose body is Python: the body is analysed, the magic line is hidden.
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "stork"})
#: Line magics followed by a Python statement on the same line.
STATEMENT_LINE_MAGICS = frozenset({"time", "timeit", "prun"})


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4, or raise one clear ``NotebookError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook") from None
    except IsADirectoryError:
        raise NotebookError(f"{path}: is a folder, not a notebook") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a notebook (not UTF-8 text)") from None
    except OSError as e:
        raise NotebookError(f"{path}: cannot be read ({e.strerror})") from None
    return parse_notebook(text, str(path))


def parse_notebook(text: str, name: str = "<notebook>") -> nbformat.NotebookNode:
    """Parse notebook JSON text (e.g. a model sent by JupyterLab) as nbformat 4."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(
            f"{name}: not a notebook (invalid JSON at line {e.lineno}, column {e.colno})"
        ) from None
    # nbformat reads the text itself: writing the parsed dict out again for it took
    # longer than both parses of a notebook with big outputs (100 ms at 24 MB)
    return _as_v4(data, text, name)


def notebook_from_dict(data: object, name: str = "<notebook>") -> nbformat.NotebookNode:
    return _as_v4(data, None, name)


def _as_v4(data: object, text: str | None, name: str) -> nbformat.NotebookNode:
    """``data`` (parsed from ``text`` when given) read by nbformat as version 4, or one
    clear ``NotebookError``."""
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError(f"{name}: not a notebook (no cells)")
    major = data.get("nbformat")
    if not isinstance(major, int) or major not in (3, 4):
        raise NotebookError(f"{name}: unsupported nbformat {major!r} (expected 4)")
    try:
        with no_warnings():  # e.g. MissingIDFieldWarning: not the user's problem
            nb = nbformat.reads(json.dumps(data) if text is None else text, as_version=4)
    except Exception as e:  # nbformat raises several kinds for malformed structure
        raise NotebookError(f"{name}: malformed notebook ({first_line(e)})") from None
    for i, cell in enumerate(nb.cells):
        if not isinstance(cell.get("source", ""), str):
            raise NotebookError(f"{name}: {cell_label(i)} has a malformed source")
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The file text ``write_notebook`` writes (nbformat's JSON and a final newline)."""
    return nbformat.writes(nb) + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, then rename over the target."""
    write_text_atomic(Path(path), notebook_text(nb))


def write_text_atomic(path: Path, text: str) -> None:
    _write_atomic(path, text)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    _write_atomic(path, data)


def _write_atomic(path: Path, content: str | bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(content, bytes):
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        with f:
            f.write(content)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:  # mkstemp makes 0600 files; a new notebook gets the usual umask-based mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- IPython syntax -------------------------------------------------------------------

@dataclass
class MaskedCell:
    """A cell's source with IPython syntax replaced by Python of the same line count.

    ``col_offsets[line]`` is how many characters were removed at the start of that
    (1-based) line, so positions found in ``code`` map back to the original source.
    ``skip_reason`` is set when the cell is not Python at all (``%%bash``...).
    """

    code: str
    col_offsets: dict[int, int] = field(default_factory=dict)
    masked_lines: set[int] = field(default_factory=set)
    skip_reason: str | None = None


_ASSIGN_FROM_SHELL = re.compile(r"^(\s*[\w.\[\], ]+?\s*=\s*)[!%]")
_HELP = re.compile(r"^\s*\?{0,2}[\w.\[\]()'\"]*\?{0,2}\s*$")
_TIMEIT_OPTS = re.compile(r"^(?:-[nr]\s*\d+\s+|-[pt]\s*\d*\s+|-[qoc]\s+)*")


def mask_ipython(source: str) -> MaskedCell:
    """Hide magics, shell escapes and help syntax, keeping every line in place."""
    lines = source.split("\n")
    masked = MaskedCell(code=source)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name = lines[first].lstrip()[2:].split(maxsplit=1)
        name = name[0] if name else ""
        if name not in PYTHON_BODY_CELL_MAGICS:
            masked.skip_reason = f"cell magic %%{name} (not Python)"
            return masked
        lines[first] = ""
        masked.masked_lines.add(first + 1)

    continued = False
    magic_indent = ""
    python = _LineState()
    for i, line in enumerate(lines):
        lineno = i + 1
        if lineno in masked.masked_lines:
            continue
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if continued:  # continuation of a magic/shell line ending with a backslash
            lines[i] = magic_indent + "pass"
            masked.masked_lines.add(lineno)
            continued = stripped.endswith("\\")
            continue
        if not python.at_statement_start():
            # inside brackets, a triple-quoted string or after a backslash: ``% b`` or
            # ``!= b`` here is Python, as IPython's own transformers see it
            python.scan(line)
            continue
        magic_indent = indent
        if stripped.startswith(("%", "!")):
            magic = stripped[1:].split(maxsplit=1)
            if stripped.startswith("%") and magic and magic[0] in STATEMENT_LINE_MAGICS:
                rest = magic[1] if len(magic) > 1 else "pass"
                if magic[0] == "timeit":
                    rest = _TIMEIT_OPTS.sub("", rest, count=1) or "pass"
                lines[i] = indent + rest
                masked.col_offsets[lineno] = len(line) - len(indent) - len(rest)
            else:
                lines[i] = indent + "pass"
            masked.masked_lines.add(lineno)
            continued = stripped.endswith("\\")
            if not continued:  # ``%time f(`` goes on as Python on the next lines
                python.scan(lines[i])
            continue
        m = _ASSIGN_FROM_SHELL.match(line)
        if m:
            lines[i] = m.group(1) + "None"
            masked.masked_lines.add(lineno)
            continued = stripped.endswith("\\")
            continue
        if stripped and ("?" in stripped) and _HELP.match(line):
            lines[i] = indent + "pass"
            masked.masked_lines.add(lineno)
        python.scan(lines[i])
    masked.code = "\n".join(lines)
    return masked


class _LineState:
    """Just enough of Python's tokenizer to tell whether a line starts a statement:
    open brackets, an open triple-quoted string, a trailing backslash."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: str | None = None
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.backslash

    def scan(self, line: str) -> None:
        i, n = 0, len(line)
        self.backslash = False
        while i < n:
            c = line[i]
            if self.quote is not None:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            if c == "#":
                return
            if c in "\"'":
                triple = line[i:i + 3]
                self.quote = triple if triple in ('"""', "'''") else c
                i += len(self.quote)
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        if self.quote in ('"', "'"):  # a one-line string does not go on (without "\\")
            if line.endswith("\\"):
                return
            self.quote = None
        self.backslash = self.quote is None and line.endswith("\\")
