"""JupyterLab and Chromium for the browser tests.

:func:`start_lab` runs JupyterLab from this virtualenv on 127.0.0.1 at a free port with a
token, in a temporary root (its own config, data, runtime and workspace folders, the
"Jupyter news" announcements disabled); every wait is bounded and the server is stopped
in a ``finally``. Playwright drives Debian's chromium (``playwright install`` cannot
download browsers here).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT = 60  # seconds
UI_TIMEOUT_MS = 60_000  # one wait in the page: the kernel starts and imports pandas


@dataclass
class Lab:
    base: str
    token: str
    root: Path
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n"
                f"{log.read_text()[-3000:]}")


@contextmanager
def start_lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab serving ``tmp_path/root``; stopped (and its kernels with it) afterwards."""
    root = tmp_path / "root"
    root.mkdir()
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config),
           "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    built = REPO / "stork_jupyter" / "labextension"
    extensions: list[str] = []
    if (built / "package.json").is_file():
        # this checkout's build of the panel, whichever checkout the virtualenv's editable
        # install links: the extra path comes before the installed ones in the page config
        (tmp_path / "labextensions").mkdir()
        (tmp_path / "labextensions" / "stork-jupyter").symlink_to(built)
        extensions.append(f"--LabApp.extra_labextensions_path={tmp_path / 'labextensions'}")
    env.pop("STORK_STORE", None)
    env.pop("JPY_SESSION_NAME", None)
    port = _free_port()
    token = secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
             *extensions],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(proc, f"{base}/api/status?token={token}", log)
        yield Lab(base, token, root, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def run_first_cell(page) -> None:
    """Run the notebook's first cell; again if the request got lost while the kernel
    was still connecting (its prompt stays ``[ ]``), at most three times."""
    from playwright.sync_api import expect

    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    prompt = cell.locator(".jp-InputPrompt")
    for attempt in range(3):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=5_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


@contextmanager
def open_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A page of a headless Debian chromium, every wait and expectation bounded by
    :data:`UI_TIMEOUT_MS`; the browser is closed afterwards."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS, timeout=UI_TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()
            expect.set_options(timeout=None)
