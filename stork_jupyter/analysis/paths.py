"""Path helpers for analysis: normalising found paths, globbing, and the pure
functions (``os.path.join``, ``Path(...)``) whose results can be worked out statically."""

from __future__ import annotations

import glob as _glob
import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

REMOTE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
#: Formatting widths above this are refused: a literal could otherwise ask for gigabytes.
_BIG_WIDTH = re.compile(r"\d{5,}")


def is_remote(path: str) -> bool:
    return bool(REMOTE_RE.match(path)) and not path.startswith("file://")


def normalize(path: str, nb_dir: Path) -> str:
    """A found path as the analysis reports it: relative to the notebook's folder when
    inside it (POSIX separators), absolute otherwise; remote URLs unchanged."""
    if is_remote(path):
        return path
    if path.startswith("file://"):
        path = path[len("file://"):]
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        absolute = os.path.normpath(path)
        base = os.path.normpath(str(nb_dir.resolve()))
        if absolute == base or absolute.startswith(base + os.sep):
            return Path(os.path.relpath(absolute, base)).as_posix()
        return absolute
    return posixpath.normpath(path.replace(os.sep, "/"))


def expand_glob(pattern: str, nb_dir: Path, recursive: bool = False,
                hidden: bool = False) -> tuple[str, ...]:
    """Files matching ``pattern`` now, relative paths kept relative, sorted; ``hidden``:
    names starting with '.' match a '*' too, as in pathlib's glob (not glob.glob's)."""
    if is_remote(pattern):
        raise ValueError("remote glob")
    if os.path.isabs(pattern):
        return tuple(sorted(_glob.glob(pattern, recursive=recursive, include_hidden=hidden)))
    return tuple(sorted(_glob.glob(pattern, root_dir=nb_dir, recursive=recursive,
                                   include_hidden=hidden)))


def safe_format(template: str, *args: Any, **kwargs: Any) -> str:
    if _BIG_WIDTH.search(template):
        raise ValueError("format width too large")
    return template.format(*args, **kwargs)


def safe_percent(template: str, args: Any) -> str:
    if _BIG_WIDTH.search(template):
        raise ValueError("format width too large")
    return template % args


def format_value(value: Any, conversion: str | None, spec: str) -> str:
    if _BIG_WIDTH.search(spec):
        raise ValueError("format width too large")
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    elif conversion == "a":
        value = ascii(value)
    return format(value, spec)


def _join(*parts: Any) -> str:
    return posixpath.join(*(os.fspath(p) for p in parts))


def _path(*parts: Any) -> PurePosixPath:
    return PurePosixPath(*(os.fspath(p) for p in parts))


def _range(*args: int) -> tuple[int, ...]:
    r = range(*args)
    if len(r) > 1000:
        raise ValueError("range too long to enumerate")
    return tuple(r)


def _zip(*seqs: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(zip(*seqs, strict=False))


def _enumerate(seq: Any, start: int = 0) -> tuple[tuple[int, Any], ...]:
    return tuple(enumerate(seq, start))


def _splitext(p: Any) -> tuple[str, str]:
    return posixpath.splitext(os.fspath(p))


#: Pure functions of literals, evaluated statically (name after import aliases).
PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "os.path.join": _join,
    "os.path.basename": lambda p: posixpath.basename(os.fspath(p)),
    "os.path.dirname": lambda p: posixpath.dirname(os.fspath(p)),
    "os.path.splitext": _splitext,
    "os.path.normpath": lambda p: posixpath.normpath(os.fspath(p)),
    "os.fspath": os.fspath,
    "pathlib.Path": _path,
    "builtins.str": str,
    "builtins.list": tuple,
    "builtins.tuple": tuple,
    "builtins.sorted": lambda x: tuple(sorted(x)),
    "builtins.reversed": lambda x: tuple(reversed(x)),
    "builtins.len": len,
    "builtins.int": int,
    "builtins.range": lambda *a: _range(*a),
    "builtins.zip": _zip,
    "builtins.enumerate": _enumerate,
}

#: Methods of literal strings that are safe to evaluate.
STR_METHODS = frozenset({
    "replace", "strip", "lstrip", "rstrip", "lower", "upper", "join", "removeprefix",
    "removesuffix", "endswith", "startswith", "split", "title",
})
#: Methods and attributes of literal paths that are safe to evaluate.
PATH_METHODS = frozenset({"joinpath", "with_suffix", "with_name", "with_stem", "as_posix"})
#: Methods of literal dicts that are safe to evaluate (``for k, v in d.items()``).
DICT_METHODS = frozenset({"items", "keys", "values", "get"})
PATH_ATTRIBUTES = frozenset({"name", "stem", "suffix", "parent", "parts", "suffixes"})
