"""Loading the engine does not compile jsonschema's unused IRI grammar.

nbformat imports jsonschema, whose format checkers import ``rfc3987_syntax`` when it is
installed (Jupyter installs it): that import compiles a Lark grammar, about a second of
the first ``%stork migrate`` in a kernel. ``notebook._import_nbformat`` keeps it out; every
module must take nbformat from there, whichever the door imports first.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import stork_jupyter

PACKAGE = Path(stork_jupyter.__file__).parent


def _engine_modules_using_nbformat() -> list[str]:
    found = []
    for info in pkgutil.walk_packages([str(PACKAGE)], "stork_jupyter."):
        if info.ispkg:
            continue
        path = PACKAGE.joinpath(*info.name.split(".")[1:]).with_suffix(".py")
        if path.is_file() and "nbformat" in path.read_text(encoding="utf-8"):
            found.append(info.name)
    return found


MODULES = _engine_modules_using_nbformat()

PROBE = """
import json, sys
import importlib
importlib.import_module(sys.argv[1])
print(json.dumps({"nbformat": "nbformat" in sys.modules,
                  "grammar": sys.modules.get("rfc3987_syntax") is not None}))
"""


def _probe(module: str, before: str = "") -> dict:
    code = (before + "\n" + PROBE) if before else PROBE
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_the_modules_are_found():
    assert {"stork_jupyter.migrate", "stork_jupyter.notebook", "stork_jupyter.undo"} <= set(
        MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_importing_a_module_first_keeps_the_grammar_out(module):
    seen = _probe(module)
    if not seen["nbformat"]:
        pytest.skip(f"{module} does not load nbformat on import")
    assert seen == {"nbformat": True, "grammar": False}


def test_a_process_that_loaded_jsonschema_first_keeps_its_checkers():
    pytest.importorskip("rfc3987_syntax")
    seen = _probe("stork_jupyter.migrate", before="import jsonschema")
    assert seen == {"nbformat": True, "grammar": True}
