"""Shared pieces of the benchmarks: timing a whole command in its own process (with its
peak RSS), alternating runs, medians, a moto S3 server in a separate process, data files.

Every figure is a whole process a person would run (interpreter start and imports
included), timed from outside; peak RSS is the child's ``ru_maxrss`` as a wrapper that
only waits for it sees it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Run in a wrapper so the figure is the child's alone (ru_maxrss of RUSAGE_CHILDREN).
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": elapsed, "rc": p.returncode, "stderr": p.stderr[-3000:],
                  "peak_rss_mb": u.ru_maxrss / 1024, "cpu": u.ru_utime + u.ru_stime}))
"""


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    cpu: float = 0.0  #: user + system seconds of the command


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 900) -> Run:
    """Run ``cmd`` in its own process; its wall time and peak RSS. A failure stops the
    benchmark with the command's stderr: a figure of a failed run means nothing."""
    out = subprocess.run([PYTHON, "-c", WRAPPER, *cmd], capture_output=True, text=True,
                         env=env, cwd=cwd, timeout=timeout, check=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{result['stderr']}")
    return Run(result["seconds"], result["peak_rss_mb"], result["cpu"])


def stork_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This checkout first on the path, for the stork command and anything it starts."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def stork_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "stork_jupyter.cli", *args]


@dataclass
class Pair:
    """Alternating runs of Stork and the reference on the same work."""

    stork: list[Run] = field(default_factory=list)
    reference: list[Run] = field(default_factory=list)

    @property
    def stork_s(self) -> float:
        return statistics.median(r.seconds for r in self.stork)

    @property
    def reference_s(self) -> float:
        return statistics.median(r.seconds for r in self.reference)

    @property
    def stork_rss(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.stork)

    @property
    def reference_rss(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.reference)


def alternate(stork: Callable[[int], Run], reference: Callable[[int], Run], runs: int,
              label: str = "") -> Pair:
    """Stork, reference, Stork, reference... ``runs`` times each (the run number is
    passed, for fresh destinations); progress on stderr."""
    pair = Pair()
    for i in range(runs):
        pair.stork.append(stork(i))
        pair.reference.append(reference(i))
        if label:
            print(f"  {label} run {i + 1}/{runs}: stork {pair.stork[-1].seconds:.2f} s "
                  f"(cpu {pair.stork[-1].cpu:.1f} s), reference "
                  f"{pair.reference[-1].seconds:.2f} s (cpu {pair.reference[-1].cpu:.1f} s)", file=sys.stderr, flush=True)
    return pair


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_env(endpoint: str) -> dict[str, str]:
    """The standard AWS variables pointed at a local server, nothing from ~/.aws."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k == "AWS_EC2_METADATA_DISABLED"}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost")
    return env


@contextlib.contextmanager
def moto_server(start_timeout: float = 30) -> Iterator[str]:
    """A moto S3 server in its own process on 127.0.0.1 (so it does not share the
    client's interpreter); yields its endpoint URL and stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def make_file(path: Path, mb: int) -> Path:
    """``mb`` MiB of incompressible, deterministic bytes (made once, then reused)."""
    size = mb * 1024 * 1024
    if path.is_file() and path.stat().st_size == size:
        return path
    import numpy as np

    rng = np.random.default_rng(20261202)
    block = 16 * 1024 * 1024
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(block, left)
            f.write(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
            left -= n
    return path


def file_notebook(folder: Path, data_name: str) -> Path:
    """A one-cell notebook that reads ``data/<data_name>`` (what a migration moves)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(
        f"with open('data/{data_name}', 'rb') as f:\n    head = f.read(16)\nlen(head)")])
    path = folder / "bench_file.ipynb"
    nbformat.write(nb, path)
    return path
