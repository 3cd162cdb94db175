"""How fast the REST API behind the JupyterLab panel answers, next to the same work done
in-process and by the CLI.

    .venv/bin/python benchmarks/bench_rest.py [--records 100000] [--cells 300] [--repeat 5]

Starts a real jupyter_server (this virtualenv, 127.0.0.1, a free port, a token) on a
temporary root holding a store filled as ``bench_widgets.py`` fills it and the 300-cell
notebook of ``bench_analyze.py``, then times over HTTP (median of ``--repeat``):
the panel's list pages (first, last, text search, status filter), one job's detail, and
``POST analyze`` of the notebook model — beside ``analyze_notebook`` in-process and the
``stork analyze --json --no-record`` command. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analyze import build  # noqa: E402
from bench_widgets import fill  # noqa: E402

from stork_jupyter.analysis import analyze_notebook  # noqa: E402
from stork_jupyter.store import MetadataStore  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: Path):
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.log = open(root.parent / "server.log", "w")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            [str(BIN / "jupyter"), "server", "--allow-root", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}"],
            cwd=root, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("jupyter server did not start within 60 s")

    def call(self, method: str, path: str, body: object = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        (root / ".stork").mkdir()
        with MetadataStore(f"sqlite:///{root / '.stork' / 'stork.db'}") as store:
            fill(store, args.records, root)
        notebook = build(root, args.cells)
        rel = notebook.relative_to(root).as_posix()
        model = json.loads(notebook.read_text())
        server = Server(root)
        try:
            total = server.call("GET", "/stork/api/records?limit=1")["total"]
            last = max(0, total - 25)
            rows = [
                ("records: first page (25)", lambda: server.call(
                    "GET", "/stork/api/records?limit=25")),
                ("records: last page", lambda: server.call(
                    "GET", f"/stork/api/records?limit=25&offset={last}")),
                ("records: status filter", lambda: server.call(
                    "GET", "/stork/api/records?limit=25&status=undone")),
                ("records: text search", lambda: server.call(
                    "GET", "/stork/api/records?limit=25&search=part-099")),
                ("datasets: first page", lambda: server.call(
                    "GET", "/stork/api/datasets?limit=25")),
                ("jobs: one job's detail", lambda: server.call(
                    "GET", "/stork/api/jobs/7")),
            ]
            print(f"store: {args.records} records and datasets, {args.records // 10} jobs; "
                  f"median of {args.repeat}")
            for label, action in rows:
                print(f"  {label:<28} {median_ms(action, args.repeat):8.1f} ms")

            rest = median_ms(lambda: server.call("POST", "/stork/api/analyze", {
                "path": rel, "content": model, "record": False}), args.repeat)
            inproc = median_ms(lambda: analyze_notebook(notebook), args.repeat)
            cli = median_ms(lambda: subprocess.run(
                [str(BIN / "stork"), "analyze", str(notebook), "--json", "--no-record"],
                check=True, capture_output=True), args.repeat)
            print(f"analyze a {args.cells}-cell notebook:")
            print(f"  in-process analyze_notebook  {inproc:8.1f} ms  (1.00x)")
            print(f"  POST /stork/api/analyze      {rest:8.1f} ms  ({rest / inproc:.2f}x)")
            print(f"  stork analyze --json (CLI)   {cli:8.1f} ms  ({cli / inproc:.2f}x)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
