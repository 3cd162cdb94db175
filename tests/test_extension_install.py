"""The installed package enables both halves of the Jupyter extension: the server
extension (REST API) and the JupyterLab panel, as Jupyter's own listings report them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import stork_jupyter

BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter(*args: str) -> str:
    if not (BIN / "jupyter").exists():
        pytest.skip("jupyter is not installed next to this Python")
    proc = subprocess.run([str(BIN / "jupyter"), *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return ANSI.sub("", proc.stdout + proc.stderr)


def test_server_extension_is_enabled():
    out = _jupyter("server", "extension", "list")
    assert re.search(r"stork_jupyter enabled", out), out
    assert re.search(r"stork_jupyter \S+ OK", out), out


def test_labextension_is_installed_and_enabled():
    out = _jupyter("labextension", "list")
    assert re.search(r"stork-jupyter v\S+ enabled OK", out), out


def test_labextension_assets_are_built_into_the_package():
    [path] = stork_jupyter._jupyter_labextension_paths()
    built = Path(stork_jupyter.__file__).parent / path["src"]
    meta = json.loads((built / "package.json").read_text())
    assert meta["name"] == path["dest"] == "stork-jupyter"
    assert (built / "static" / "style.js").is_file()
    # the federated entry point JupyterLab loads
    assert meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
