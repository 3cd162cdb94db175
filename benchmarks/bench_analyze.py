"""How long analysis takes on a 300-cell notebook.

Builds a realistic notebook in a temporary folder (imports, constants, pandas reads and
writes, ``open`` with json/pickle, numpy, loops, globs, functions, magics and shell
lines, a Python 2 cell, markdown between) with the data files it reads, then times:

- ``analyze_notebook`` in this process (median of 5 runs, after one warm-up);
- the whole ``stork analyze --json --no-record`` command in a subprocess (median of 5);
- ``stork analyze --json`` recording into a fresh store (sha256 of every input), once.

Run: ``.venv/bin/python benchmarks/bench_analyze.py [--cells N]``. Prints the figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from stork_jupyter.analysis import analyze_notebook

STORK = Path(sys.executable).with_name("stork")

HEADER = """\
import glob
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
from pandas import read_csv as rc

%matplotlib inline
DATA = "data"
BASE = Path(DATA)
OUT = "out"
"""

#: Code cells cycled through after the header; ``{i}`` is the block number.
TEMPLATES = [
    "df_{i} = pd.read_csv(os.path.join(DATA, 'table_{m}.csv'), usecols=['a', 'b'])\ndf_{i}.head()",
    "with open(f'{{DATA}}/config_{m}.json') as f:\n    cfg_{i} = json.load(f)\ncfg_{i}",
    "stats_{i} = df_{i}.describe()\nstats_{i}.to_csv(f'{{OUT}}/stats_{i}.csv', index=False)",
    "for name in ['table_{m}.csv', 'table_{n}.csv']:\n    part = pd.read_csv(BASE / name)\n    print(len(part))",
    "%time arr_{i} = np.load(BASE / 'arr_{m}.npy')\nprint(arr_{i}.shape)",
    "!ls {{DATA}} | head -n 2\nparts_{i} = [rc(p) for p in sorted(glob.glob('data/table_*.csv'))]",
    "def load_{i}(path=DATA + '/table_{m}.csv'):\n    return pd.read_csv(path)\n\n\nx_{i} = load_{i}()",
    "path = 'data/table_{n}.csv'\nraw_{i} = pd.read_csv(path, dtype={{'a': 'int64'}})\npath = 'data/table_{m}.csv'",
    "with open(os.path.join(OUT, 'model_{i}.pkl'), 'wb') as f:\n    pickle.dump(cfg_{i}, f)",
    "user_file = input('which file? ')\nextra_{i} = pd.read_csv(user_file)",
    "df_{i}.to_parquet(Path(OUT) / 'df_{i}.parquet')\nback_{i} = pd.read_parquet(f'{{OUT}}/df_{i}.parquet')",
    "total_{i} = sum(len(pd.read_csv(f'{{DATA}}/table_{{k}}.csv')) for k in range(3))\ntotal_{i}",
    "np.save(f'out/arr_{i}.npy', arr_{i})\nsummary_{i} = {{'rows': len(df_{i})}}",
    "remote_{i} = pd.read_csv('s3://bucket/shared/table_{m}.csv')",
    "obj?\nresult_{i} = df_{i}.merge(raw_{i}, on='a')\nresult_{i}.shape",
]
PY2 = 'print "legacy cell", {i}'


def build(folder: Path, n_cells: int) -> Path:
    data = folder / "data"
    data.mkdir(parents=True)
    (folder / "out").mkdir()
    import numpy as np

    for m in range(10):
        rows = "\n".join(f"{r},{r * m}" for r in range(200))
        (data / f"table_{m}.csv").write_text(f"a,b\n{rows}\n")
        (data / f"config_{m}.json").write_text('{"features": ["a", "b"]}')
        np.save(data / f"arr_{m}.npy", np.arange(100.0 * (m + 1)))

    cells = [new_markdown_cell("# Benchmark notebook"), new_code_cell(HEADER)]
    i = 0
    while len(cells) < n_cells:
        if len(cells) % 4 == 0:
            cells.append(new_markdown_cell(f"## Step {i}\n\nSome explanation of step {i}."))
            continue
        if i % 97 == 96:
            cells.append(new_code_cell(PY2.format(i=i)))
        else:
            block = i // len(TEMPLATES)
            template = TEMPLATES[i % len(TEMPLATES)]
            cells.append(new_code_cell(template.format(i=block, m=block % 10, n=(block + 1) % 10)))
        i += 1
    nb = new_notebook(cells=cells)
    path = folder / "bench.ipynb"
    nbformat.write(nb, path)
    return path


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300, help="cells in the notebook")
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        nb = build(Path(tmp), args.cells)
        analysis = analyze_notebook(nb)  # warm-up (imports, caches)
        code = sum(1 for c in nbformat.read(nb, 4).cells if c.cell_type == "code")
        print(f"notebook: {args.cells} cells ({code} code), {nb.stat().st_size / 1024:.0f} KB")
        print(f"found:    {len(analysis.accesses)} accesses "
              f"({sum(not a.resolved for a in analysis.accesses)} unresolved, "
              f"{sum(a.remote for a in analysis.accesses)} remote), "
              f"{len(analysis.problems)} cells reported")

        in_process = median_time(lambda: analyze_notebook(nb), args.runs)
        print(f"analyze_notebook:                     {in_process * 1000:7.1f} ms "
              f"(median of {args.runs})")

        def cli(*extra: str) -> None:
            proc = subprocess.run([str(STORK), "analyze", str(nb), "--json", *extra],
                                  capture_output=True, text=True, cwd=tmp, timeout=120)
            if proc.returncode != 0:
                raise SystemExit(f"stork analyze failed: {proc.stderr.strip()}")

        whole = median_time(lambda: cli("--no-record"), args.runs)
        print(f"stork analyze --json --no-record:     {whole * 1000:7.1f} ms "
              f"(median of {args.runs}, whole process)")
        store = Path(tmp) / "bench-store.db"
        recorded = median_time(lambda: cli("--store", str(store)), 1)
        print(f"stork analyze --json (first record):  {recorded * 1000:7.1f} ms "
              "(fresh store, sha256 of every input)")


if __name__ == "__main__":
    main()


LIBCST_PARSE = """
import json, sys
import libcst
nb = json.load(open(sys.argv[1], encoding="utf-8"))
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            libcst.parse_module(source)
        except Exception:
            pass
"""


def rows(cells: int = 300, runs: int = 3) -> list[dict]:
    """The ``make bench`` rows: the whole ``stork analyze NB --json`` command (recording
    into the project's store, as a user runs it) on a ``cells``-cell notebook minus the
    same on a 1-cell notebook, against a process that parses the same cells with libcst
    alone (minus its 1-cell run); first analysis (fresh store and cache) and repeated
    (unchanged notebook, served from the cache). Medians of ``runs`` alternating runs."""
    import shutil

    from benchmarks._common import PYTHON, measure, stork_cmd, stork_env

    env = stork_env()
    with tempfile.TemporaryDirectory() as tmp:
        big, one = build(Path(tmp) / "big", cells), build(Path(tmp) / "one", 1)

        def stork(nb: Path, fresh: bool):
            if fresh:
                shutil.rmtree(nb.parent / ".stork", ignore_errors=True)
            return measure(stork_cmd("analyze", str(nb), "--json"), env=env, cwd=nb.parent)

        def parse(nb: Path):
            return measure([PYTHON, "-c", LIBCST_PARSE, str(nb)], env=env)

        def delta(a, b) -> tuple[float, float]:
            return a.seconds - b.seconds, a.cpu - b.cpu

        first, again, parsed = [], [], []
        for _ in range(runs):
            first.append(delta(stork(big, True), stork(one, True)))
            parsed.append(delta(parse(big), parse(one)))
            again.append(delta(stork(big, False), stork(one, False)))
    (f, fc), (a, ac), (p, pc) = (
        (statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs))
        for xs in (first, again, parsed))
    label = f"analyze a {cells}-cell notebook (stork analyze --json, recorded)"
    ref = f"libcst parse of the same cells: +{p:.2f} s (CPU +{pc:.2f} s)"
    return [
        {"work": f"{label}, first time", "stork": f"+{f:.2f} s over 1 cell (CPU +{fc:.2f} s)",
         "reference": ref, "ratio": round(f / p, 2), "ratio_is": "x the parse",
         "goal": "<= 2x the parse"},
        {"work": f"{label}, unchanged (cache)", "stork": f"+{a:.2f} s over 1 cell (CPU +{ac:.2f} s)",
         "reference": ref, "ratio": round(a / p, 2), "ratio_is": "x the parse",
         "goal": "<= 2x the parse"},
    ]
