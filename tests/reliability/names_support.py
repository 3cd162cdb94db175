"""Helpers of the name-ownership tests: several ``stork`` processes at once, and a
migrated notebook's cells evaluated (with the original data moved away) to see which
data it reads."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 180  # seconds for one stork process


def stork_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env.pop("STORK_TEST_KILL_AFTER_BYTES", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_many(commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None
             ) -> list[subprocess.CompletedProcess]:
    """Start every ``stork`` command at once, each in its own process; wait (bounded)."""
    procs = [subprocess.Popen([sys.executable, "-m", "stork_jupyter.cli", *args], cwd=cwd,
                              env=env or stork_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args in commands]
    done = []
    try:
        for args, p in zip(commands, procs, strict=True):
            out, err = p.communicate(timeout=RUN_TIMEOUT)
            done.append(subprocess.CompletedProcess(args, p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    return done


def evaluate(notebook: Path, names: list[str], cwd: Path | None = None) -> dict:
    """Run the notebook's code cells in one namespace (in ``cwd``, default its folder)
    and return the values of ``names``; engines the cells opened are disposed."""
    nb = nbformat.read(notebook, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    old = Path.cwd()
    os.chdir(cwd or notebook.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(notebook), "exec"), namespace)  # noqa: S102
        return {n: namespace[n] for n in names}
    finally:
        os.chdir(old)
        for value in namespace.values():
            dispose = getattr(value, "dispose", None)
            if callable(dispose) and type(value).__name__ == "Engine":
                with contextlib.suppress(Exception):
                    dispose()


@contextlib.contextmanager
def data_moved_away(*folders: Path):
    """The original local data is gone while the migrated notebooks run."""
    moved = []
    for f in folders:
        hidden = f.with_name(f.name + ".away")
        shutil.move(f, hidden)
        moved.append((f, hidden))
    try:
        yield
    finally:
        for f, hidden in moved:
            shutil.move(hidden, f)
