"""Helpers of the kill -9 matrix (``test_crash_matrix.py``): a migration subprocess
killed with SIGKILL at a step, a project folder saved and put back so that several
recoveries start from one crash, and one kernel that executes every notebook.

One kernel serves the module: starting a kernel costs more than running these small
notebooks, and the namespace is reset (``%reset -f``), the working folder and the
environment set before each notebook.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from resume_support import REPO, Run

from stork_jupyter.execute import _client_class, cell_outputs
from stork_jupyter.recovery import CRASH_ENV
from stork_jupyter.rewrite.setup_cell import SETUP_KEY
from stork_jupyter.store import Transfer, open_store
from stork_jupyter.transfer import TEST_RATE_ENV

CELL_TIMEOUT = 60  # seconds for one cell of the notebooks here
KILL_WAIT = 60  # seconds to wait for a transfer to start moving bytes
#: what the kernel takes from this process's environment before each notebook
KERNEL_ENV = ("AWS_", "NO_PROXY", "no_proxy", "STORK_PG_URL", "PG")


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "stork_jupyter.cli", *map(str, args)]


def stork_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **(extra or {})}


def stork(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 180) -> Run:
    proc = subprocess.run(cli(*args), cwd=cwd, env=env or stork_env(), capture_output=True,
                          text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def crash_at(step: str, project: Path, migrate_args: list[str], rate: int,
             env: dict[str, str] | None = None) -> Run:
    """``stork migrate ARGS`` in ``project``, killed with SIGKILL at ``step``.

    ``running``: the test kills it (``kill -9`` from outside) once the store shows a
    transfer that has moved some bytes and not all of them (transfers slowed to ``rate``
    bytes a second so that the moment is wide). Every other step: the process kills
    itself there (``recovery.crash_point``), as exactly timed as a kill can be."""
    if step != "running":
        run = stork("migrate", *migrate_args, cwd=project,
                    env=stork_env({CRASH_ENV: step, **(env or {})}))
        assert run.returncode == -signal.SIGKILL, run.stderr
        return run
    proc = subprocess.Popen(cli("migrate", *migrate_args), cwd=project,
                            env=stork_env({TEST_RATE_ENV: str(rate), **(env or {})}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_mid_transfer(project, proc)
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, err
    with open_store(project) as metadata:
        rows = metadata.list(Transfer, limit=None)
    assert rows and any(t.status != "completed" for t in rows), "killed too late"
    return Run(proc.returncode, out, err)


def _wait_mid_transfer(project: Path, proc: subprocess.Popen) -> None:
    db = project / ".stork" / "stork.db"
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the migration ended before it was killed: "
                                 f"{proc.communicate()[1]}")
        if db.exists():
            with open_store(project) as metadata:
                if any(t.status == "running" and 0 < t.bytes_done < (t.bytes_total or 0)
                       for t in metadata.list(Transfer, limit=None)):
                    return
        time.sleep(0.05)
    raise AssertionError("no transfer started moving bytes in time")


class Snapshot:
    """Folders saved once (after a crash) and put back at their very paths (the store
    records absolute paths) before each recovery."""

    def __init__(self, folders: list[Path], keep: Path):
        self.folders = folders
        self.keep = keep
        for i, f in enumerate(folders):
            if f.exists():
                shutil.copytree(f, keep / str(i), symlinks=True)

    def restore(self) -> None:
        for i, f in enumerate(self.folders):
            shutil.rmtree(f, ignore_errors=True)
            if (self.keep / str(i)).exists():
                shutil.copytree(self.keep / str(i), f, symlinks=True)


class SharedKernel:
    """One python3 kernel (an ipykernel on this interpreter) executing notebooks one
    after the other with nbclient, each in a fresh namespace and its own folder."""

    def __init__(self):
        self._cls = _client_class()
        self.km = None

    def run(self, path: Path, cwd: Path | None = None) -> list[list[dict]]:
        """The normalised outputs (``execute.cell_outputs``) of ``path``'s code cells
        other than stork's setup cell, executed in ``cwd`` (default: its folder)."""
        nb = nbformat.read(path, as_version=4)
        env = {k: v for k, v in os.environ.items() if k.startswith(KERNEL_ENV)}
        prelude = nbformat.v4.new_code_cell(
            # the folder first: the last one may have been removed, and %reset reads it
            f"import os as _os\n_os.chdir({str(cwd or path.parent)!r})\n"
            "%reset -f\nimport os as _os\n"
            f"[_os.environ.pop(_k) for _k in list(_os.environ) if _k.startswith({KERNEL_ENV!r})]\n"
            f"_os.environ.update({env!r})\n"
            "try:\n    import fsspec as _f\n    _f.config.conf.clear()\n"
            "    import s3fs as _s\n    _s.S3FileSystem.clear_instance_cache()\n"
            "except ImportError:\n    pass\n")
        kept = [c for c in nb.cells if c.cell_type == "code"
                and not c.get("metadata", {}).get(SETUP_KEY, {}).get("setup")]
        nb.cells.insert(0, prelude)
        client = self._cls(nb, km=self.km, timeout=CELL_TIMEOUT, kernel_name="python3",
                           startup_timeout=60, resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(cleanup_kc=False, cwd=str(path.parent))
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
        self.km = client.km
        outputs = cell_outputs(nb)
        return [outputs[i] for i, c in enumerate(nb.cells) if any(c is k for k in kept)]

    def close(self) -> None:
        if self.km is not None:
            from jupyter_core.utils import run_sync

            run_sync(self.km.shutdown_kernel)(now=True)
