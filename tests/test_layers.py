"""The layering contract in pyproject.toml (checked by ``lint-imports`` in the test
command) names every module of the package."""

from __future__ import annotations

from pathlib import Path

import tomllib

import stork_jupyter

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(stork_jupyter.__file__).parent


def _contract() -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return contract


def test_every_module_is_engine_or_door():
    contract = _contract()
    named = {m.removeprefix("stork_jupyter.") for m in contract["source_modules"]}
    named |= {
        m.removeprefix("stork_jupyter.")
        for m in contract["forbidden_modules"]
        if m.startswith("stork_jupyter.")
    }
    top = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top - named == set(), "name each new module as engine or door in pyproject.toml"
    assert named - top == set(), "pyproject.toml names modules that no longer exist"



def test_no_import_circles():
    """No module of the package reaches itself through imports, those inside functions
    included (a lazy import hides a circle; it does not remove it). The package's own
    ``__init__`` is left out: its entry points import the doors they start."""
    import grimp

    graph = grimp.build_graph("stork_jupyter")
    modules = graph.modules - {"stork_jupyter"}
    imports = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    circles = []
    for start in sorted(modules):
        seen, todo = set(), list(imports[start])
        while todo:
            m = todo.pop()
            if m == start:
                circles.append(start)
                break
            if m not in seen:
                seen.add(m)
                todo.extend(imports[m])
    assert circles == [], f"modules on an import circle: {circles}"
