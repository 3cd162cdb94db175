"""What the analyzer knows about an expression's value, without running it.

A value is ``Known`` (a literal worked out statically), ``Multi`` (one of several
known values: a loop over a literal list, a glob), ``Unknown`` (depends on run time,
with the reason), or a reference to a module/function (``Ref``), a user function
(``Func``) or an open file handle (``Handle``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

#: More combinations than this are reported as unresolved rather than enumerated.
MAX_OPTIONS = 1000
#: Longer strings/sequences are reported as unresolved: ``s += s`` in every cell would
#: otherwise double a literal until memory runs out.
MAX_LENGTH = 10_000

_keys = itertools.count(1)


def new_key() -> int:
    """A fresh identity for the values one loop variable takes."""
    return next(_keys)


@dataclass(frozen=True)
class Known:
    value: Any
    #: where a sequence came from (a glob pattern), kept when it is iterated
    origin: str | None = field(default=None, compare=False)
    #: (cell_index, line, col) of the call that produced it (a glob)
    origin_at: tuple[int, int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Multi:
    options: tuple[Known, ...]
    origin: str  #: e.g. "loop over ['a.csv', 'b.csv']" or "glob 'data/*.csv'"
    #: values with the same key vary together (one loop iteration each): ``f"{n}/{n}"``
    #: pairs each option with itself instead of taking every combination
    key: int = field(default_factory=new_key, compare=False)
    origin_at: tuple[int, int, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Unknown:
    reason: str


@dataclass(frozen=True)
class Ref:
    qualname: str


@dataclass(frozen=True)
class Func:
    name: str


@dataclass(frozen=True)
class Handle:
    access_ids: tuple[int, ...]  #: indexes of the accesses that opened it
    binary: bool
    api: str = "open"  #: what opened it (``zipfile.ZipFile``: an archive of members)


@dataclass(frozen=True)
class Buffer:
    """An in-memory buffer (io.StringIO...): reading it is not a data access."""


@dataclass(frozen=True)
class Migrated:
    """Data reached through a migrated notebook's setup-cell helpers (``stork_read(...)``,
    ``stork_glob(...)``...): already moved, so not an access to move again."""


#: The setup-cell helpers whose results are :class:`Migrated` (see ``rewrite/``).
SETUP_HELPERS = frozenset({"stork_read", "stork_open", "stork_glob", "stork_from_table",
                           "stork_excel_writer", "stork_chunks", "stork_local",
                           "stork_read_table"})
#: The parameter ``stork_write(url, lambda stork_file: ...)`` hands to the writer.
SETUP_FILE_PARAMETER = "stork_file"

Value = Known | Multi | Unknown | Ref | Func | Handle | Buffer | Migrated


def combine(fn: Callable[..., Any], *values: Value, what: object = "expression") -> Value:
    """Apply ``fn`` to known values; spread over ``Multi``; stop at the first unknown.
    ``what`` names the expression in messages: a text, or an object whose ``str`` is
    one, made only when a message needs it."""
    if any(isinstance(v, Migrated) for v in values):
        return Migrated()
    for v in values:
        if isinstance(v, Unknown):
            return v
        if not isinstance(v, Known | Multi):
            return Unknown(f"{what} is only known at run time")
    multis = [v for v in values if isinstance(v, Multi)]
    if not multis:
        try:
            result = fn(*(v.value for v in values))
        except Exception as e:  # a literal operation that fails fails at run time too
            return Unknown(f"{what} cannot be evaluated ({type(e).__name__})")
        if isinstance(result, str | bytes | tuple | list) and len(result) > MAX_LENGTH:
            return Unknown(f"{what} is longer than {MAX_LENGTH} items")
        return Known(result)
    first = multis[0]
    if all(m.key == first.key and len(m.options) == len(first.options) for m in multis):
        # one loop variable (or values derived from it): take its iterations in step
        stepped = []
        for i in range(len(first.options)):
            r = combine(fn, *(v.options[i] if isinstance(v, Multi) else v for v in values),
                        what=what)
            if not isinstance(r, Known):
                return r
            stepped.append(r)
        return Multi(tuple(stepped), first.origin, first.key, first.origin_at)
    choices = [v.options if isinstance(v, Multi) else (v,) for v in values]
    total = 1
    for c in choices:
        total *= len(c)
    if total > MAX_OPTIONS:
        return Unknown(f"{what} has more than {MAX_OPTIONS} possible values")
    results = []
    for combo in itertools.product(*choices):
        r = combine(fn, *combo, what=what)
        if not isinstance(r, Known):
            return r
        results.append(r)
    return Multi(tuple(results), first.origin, origin_at=first.origin_at)


def iterate(v: Value) -> Value:
    """The value of a loop variable iterating over ``v``."""
    if isinstance(v, Migrated):
        return v
    if isinstance(v, Known):
        seq = v.value
        if isinstance(seq, dict):
            seq = tuple(seq)
        if isinstance(seq, tuple | list):
            origin = v.origin or f"loop over {_short(seq)}"
            return Multi(tuple(Known(x) for x in seq), origin, origin_at=v.origin_at)
        return Unknown("loop over a value that is not a literal list")
    if isinstance(v, Unknown):
        return v
    return Unknown("loop over a value that is only known at run time")


def as_path_strings(v: Value) -> list[str] | None:
    """The path strings of a known value (one, or several for ``Multi``)."""
    opts = v.options if isinstance(v, Multi) else (v,) if isinstance(v, Known) else None
    if opts is None:
        return None
    out = []
    for o in opts:
        x = o.value
        if isinstance(x, bytes):
            x = x.decode("utf-8", "replace")
        if isinstance(x, PurePosixPath):
            x = str(x)
        if not isinstance(x, str):
            return None
        out.append(x)
    return out


def to_json(v: Value, code: str) -> Any:
    """A keyword argument's value as JSON: literals as themselves, the rest as code."""
    if isinstance(v, Known):
        try:
            return _jsonable(v.value)
        except TypeError:
            pass
    return {"__expr__": code}


def _jsonable(x: Any) -> Any:
    if x is None or isinstance(x, bool | int | float | str):
        return x
    if isinstance(x, PurePosixPath):
        return str(x)
    if isinstance(x, tuple | list):
        return [_jsonable(i) for i in x]
    if isinstance(x, dict):
        return {str(_jsonable(k)): _jsonable(val) for k, val in x.items()}
    raise TypeError(type(x).__name__)


def _short(seq: Any) -> str:
    text = repr(list(seq))
    return text if len(text) <= 60 else text[:57] + "...]"
