"""Turn a live namespace (a kernel's ``user_ns``) into analysis values, so one cell can be
analysed with what earlier cells bound: strings and paths become known values, modules
and catalog functions become references; anything else is a run-time value."""

from __future__ import annotations

import sys
import types
from functools import lru_cache
from pathlib import PurePath, PurePosixPath
from typing import Any

from . import catalog, paths
from .values import Known, Ref, Unknown, Value

_MAX_ITEMS = 1000


@lru_cache(maxsize=1)
def _known_callables() -> dict[int, str]:
    """id(object) -> catalog name, for the catalog's callables already imported."""
    found: dict[int, str] = {}
    for name in [*catalog.FUNCTIONS, *paths.PURE_FUNCTIONS, "glob.glob", "glob.iglob"]:
        module_name, _, attr = name.rpartition(".")
        obj: Any = sys.modules.get(module_name)
        if obj is None and module_name == "builtins":
            continue
        if obj is None:
            # PIL.Image.open: the module is PIL.Image, or an attribute chain below a module
            head, _, rest = module_name.partition(".")
            obj = sys.modules.get(head)
            for part in rest.split(".") if rest else []:
                obj = getattr(obj, part, None)
        target = getattr(obj, attr, None) if obj is not None else None
        if target is not None:
            found.setdefault(id(target), name)
    return found


def _literal(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, PurePath):
        return PurePosixPath(value.as_posix())
    if isinstance(value, list | tuple) and len(value) <= _MAX_ITEMS:
        return tuple(_literal(v) for v in value)
    raise TypeError(type(value).__name__)


def value_of(name: str, obj: Any) -> Value:
    if isinstance(obj, types.ModuleType):
        return Ref(obj.__name__)
    try:
        return Known(_literal(obj))
    except TypeError:
        pass
    known = _known_callables().get(id(obj))
    if known is not None:
        return Ref(known)
    return Unknown(f"'{name}' holds a {type(obj).__name__} known only at run time")


def values_from_namespace(namespace: dict[str, Any]) -> dict[str, Value]:
    _known_callables.cache_clear()  # modules imported since the last call count too
    return {name: value_of(name, obj) for name, obj in namespace.items()
            if not name.startswith("_") and name not in ("In", "Out", "exit", "quit")}
