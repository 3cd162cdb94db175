"""Loading a big CSV into PostgreSQL: stork's ``load_table`` vs ``psql \\copy`` into a
prepared table vs ``pandas.read_csv(...).to_sql(...)``, in one run.

    python benchmarks/bench_pg_load.py [--mb 210] [--pg postgresql://postgres@127.0.0.1/postgres]

Makes a deterministic CSV (ints, floats with gaps, text with quotes/commas/newlines,
unicode, booleans, timestamps), creates a scratch database, and times each tool in its
own process; peak RSS is that process's ``ru_maxrss`` (psql's through a wrapper that
waits for it). The database server's memory is not counted (the same for all three).
to_sql is first timed on a ~20 MB slice; when that extrapolates to more than
``--to-sql-limit`` seconds (default 600) the full run is skipped and the figure is
the extrapolation, marked as such.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = os.environ.get("STORK_BENCH_PG") or os.environ.get("STORK_TEST_PG") or \
    "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS_PER_BLOCK = 200_000


def make_csv(path: Path, target_mb: float, seed: int = 20240601) -> int:
    """Write the CSV; returns the number of data rows. Same bytes for the same arguments."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    regions = np.array(["North", "South", "East", "West", "São Paulo", "Zürich", "東京",
                        "Lagos"], dtype=object)
    comments = np.array(["", "ok", "late, but fine", 'said "hi", twice', "two\nlines",
                         "emoji 😀", "plain text comment that is a little longer"],
                        dtype=object)
    target = int(target_mb * 1024 * 1024)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        first = True
        while f.tell() < target:
            n = ROWS_PER_BLOCK
            ids = np.arange(rows, rows + n, dtype=np.int64)
            amount = np.round(rng.normal(100, 250, n), 2)
            amount[rng.random(n) < 0.02] = np.nan
            ts = (np.datetime64("2020-01-01T00:00:00") +
                  rng.integers(0, 4 * 365 * 86400, n).astype("timedelta64[s]"))
            df = pd.DataFrame({
                "id": ids,
                "customer": [f"cust_{i:06d}" for i in rng.integers(0, 500_000, n)],
                "amount": amount,
                "quantity": rng.integers(-5, 1000, n),
                "region": regions[rng.integers(0, len(regions), n)],
                "comment": comments[rng.integers(0, len(comments), n)],
                "flag": rng.random(n) < 0.5,
                "ts": pd.Series(ts).dt.strftime("%Y-%m-%d %H:%M:%S"),
            })
            df.to_csv(f, index=False, header=first)
            first = False
            rows += n
    return rows


def head_slice(src: Path, dest: Path, mb: float) -> int:
    """The first rows of ``src`` (about ``mb``), cut at a row boundary pandas agrees with."""
    import pandas as pd

    with open(src, "rb") as f:
        total = sum(1 for _ in f)
    per_row = src.stat().st_size / max(total - 1, 1)
    nrows = int(mb * 1024 * 1024 / per_row)
    pd.read_csv(src, nrows=nrows).to_csv(dest, index=False)
    return nrows


WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "rc": p.returncode, "stdout": p.stdout[-2000:],
                  "stderr": p.stderr[-2000:],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

STORK_CHILD = """
import sys
from pathlib import Path
from stork_jupyter.destinations.postgres import PostgresBackend
b = PostgresBackend(sys.argv[1]); b.check()
r = b.load_table(Path(sys.argv[2]), "pandas.read_csv", {"parse_dates": ["ts"]}, "stork_load",
                 owner="bench")
print(r.rows)
"""

PANDAS_CHILD = """
import sys
import pandas as pd, sqlalchemy
engine = sqlalchemy.create_engine(sys.argv[1])
df = pd.read_csv(sys.argv[2], parse_dates=["ts"])
df.to_sql(sys.argv[3], engine, schema="bench", if_exists="replace", index=False,
          chunksize=10_000)
print(len(df))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True,
                         text=True, env=env, check=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{result['stderr']}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=210.0, help="CSV size (default 210 MB)")
    ap.add_argument("--pg", default=DEFAULT_PG, help="server (its maintenance database)")
    ap.add_argument("--to-sql-limit", type=float, default=600.0,
                    help="run to_sql on the whole file only if the slice predicts less")
    ap.add_argument("--keep", action="store_true", help="keep the CSV and the database")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if not shutil.which("psql"):
        raise SystemExit("psql is not on PATH")
    work = Path(tempfile.mkdtemp(prefix="stork-bench-"))
    csv_path = work / "bench.csv"
    t = time.perf_counter()
    rows = make_csv(csv_path, args.mb)
    size = csv_path.stat().st_size
    print(f"CSV: {size / 1e6:.1f} MB, {rows} rows, made in {time.perf_counter() - t:.1f} s",
          flush=True)

    dbname = f"stork_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    params = conninfo_to_dict(args.pg)
    params["dbname"] = dbname
    conninfo = make_conninfo(**params)
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    user = params.get("user", "postgres")
    pg_url = f"postgresql://{user}@{host}:{port}/{dbname}"
    sa_url = f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"
    figures: dict[str, dict] = {}
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        # 1. stork
        figures["stork load_table"] = measure(
            [sys.executable, "-c", STORK_CHILD, f"{pg_url}?schema=bench", str(csv_path)], env)
        print("stork:", _fmt(figures["stork load_table"]), flush=True)

        # 2. psql \copy into a prepared table with the same columns
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
            conn.execute(
                "CREATE TABLE bench.psql_copy (id bigint, customer text, amount double "
                "precision, quantity bigint, region text, comment text, flag boolean, "
                "ts timestamp)")
        copy_cmd = (f"\\copy bench.psql_copy FROM '{csv_path}' WITH (FORMAT csv, HEADER true)")
        figures["psql \\copy"] = measure(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                          conninfo, "-c", copy_cmd])
        print("psql:", _fmt(figures["psql \\copy"]), flush=True)

        # 3. pandas read_csv + to_sql: a slice first
        slice_path = work / "slice.csv"
        slice_rows = head_slice(csv_path, slice_path, 20)
        part = measure([sys.executable, "-c", PANDAS_CHILD, sa_url, str(slice_path),
                        "pandas_slice"], env)
        factor = size / slice_path.stat().st_size
        predicted = part["seconds"] * factor
        figures["pandas to_sql (20 MB slice)"] = dict(part, rows=slice_rows)
        print(f"pandas slice: {_fmt(part)}; whole file predicted {predicted:.0f} s",
              flush=True)
        if predicted <= args.to_sql_limit:
            figures["pandas read_csv+to_sql"] = measure(
                [sys.executable, "-c", PANDAS_CHILD, sa_url, str(csv_path), "pandas_full"], env)
        else:
            figures["pandas read_csv+to_sql"] = {
                "seconds": predicted, "peak_rss_mb": None, "extrapolated": True,
                "note": f"extrapolated x{factor:.1f} from the 20 MB slice"}
        print("pandas:", _fmt(figures["pandas read_csv+to_sql"]), flush=True)
    finally:
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(dbname)))
            shutil.rmtree(work, ignore_errors=True)

    base = figures["psql \\copy"]["seconds"]
    print(f"\n{size / 1e6:.0f} MB CSV, {rows} rows\n")
    print("| tool | seconds | vs psql \\copy | MB/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for name, f in figures.items():
        mb = size / 1e6 if "slice" not in name else size / 1e6 / factor
        rss = f"{f['peak_rss_mb']:.0f}" if f.get("peak_rss_mb") else "n/a"
        mark = " (extrapolated)" if f.get("extrapolated") else ""
        ratio = f"{f['seconds'] / base:.2f}x" if "slice" not in name else "-"
        print(f"| {name}{mark} | {f['seconds']:.1f} | {ratio} | {mb / f['seconds']:.1f} | "
              f"{rss} |")
    if args.json:
        args.json.write_text(json.dumps({"csv_bytes": size, "rows": rows, "figures": {
            k: {kk: vv for kk, vv in v.items() if kk not in ("stdout", "stderr")}
            for k, v in figures.items()}}, indent=2))
    return 0


def _fmt(f: dict) -> str:
    rss = f"{f['peak_rss_mb']:.0f} MB" if f.get("peak_rss_mb") else "n/a"
    return f"{f['seconds']:.1f} s, peak RSS {rss}"


if __name__ == "__main__":
    raise SystemExit(main())


#: Runs a notebook's code cells in order in one process, as a kernel would; prints the
#: seconds of the cell that reads the data (the one after stork's setup cell, when there
#: is one) and the process's peak RSS.
NOTEBOOK_CHILD = """
import json, resource, sys, time
nb = json.load(open(sys.argv[1], encoding="utf-8"))
scope, took = {}, None
for cell in nb["cells"]:
    if cell["cell_type"] != "code":
        continue
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    start = time.perf_counter()
    exec(compile(source, "<cell>", "exec"), scope)
    if "stork" not in cell.get("metadata", {}):
        took = time.perf_counter() - start
print(json.dumps({"seconds": took,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def read_seconds(nb: Path) -> tuple[float, float]:
    """(seconds of the data-reading cell, peak RSS in MB) of ``nb`` run in its folder."""
    out = subprocess.run([sys.executable, "-c", NOTEBOOK_CHILD, str(nb)], cwd=nb.parent,
                         capture_output=True, text=True, timeout=900, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return found["seconds"], found["peak_rss_mb"]


def rows(mb: float = 200, runs: int = 3, pg: str = DEFAULT_PG, to_sql_limit: float = 240,
         rss_mb: float | list[float] | None = 1024) -> list[dict]:
    """The ``make bench`` rows: the whole ``stork migrate`` of a notebook reading the CSV
    against ``psql \\copy`` into a prepared table (medians of ``runs`` alternating runs),
    ``pandas.to_sql`` (one run, or extrapolated from a 20 MB slice), and peak RSS at
    ``mb`` and at each size of ``rss_mb`` (one run each)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from benchmarks._common import alternate, stork_cmd, stork_env
    from benchmarks._common import measure as run

    work = Path(tempfile.mkdtemp(prefix="stork-bench-pg-"))
    dbname = f"stork_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    params = conninfo_to_dict(pg)
    params["dbname"] = dbname
    conninfo = make_conninfo(**params)
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    user = params.get("user", "postgres")
    url = f"postgresql://{user}@{host}:{port}/{dbname}"
    cols = ("id bigint, customer text, amount double precision, quantity bigint, region "
            "text, comment text, flag boolean, ts timestamp")

    def project(size: float) -> tuple[Path, Path]:
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        folder = work / f"p{int(size)}"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        csv_path = folder / "data" / "bench.csv"
        make_csv(csv_path, size)
        nb = folder / "bench.ipynb"
        nbformat.write(new_notebook(cells=[new_code_cell(
            "import pandas as pd\ndf = pd.read_csv('data/bench.csv', parse_dates=['ts'])\n"
            "df.shape")]), nb)
        return nb, csv_path

    def settled() -> None:
        # a checkpoint between runs: the WAL of one run (about twice the file) must not
        # set off a checkpoint in the middle of the next one, whichever tool it is
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
        except psycopg.Error:  # not a superuser: the runs go as they come
            pass

    def stork(nb: Path, i: int):
        settled()
        return run(stork_cmd("migrate", str(nb), "--to", f"{url}?schema=s{i}", "-o",
                             str(nb.parent / f"out{i}.ipynb"), "--store",
                             str(nb.parent / f"store{i}.db"), "--no-progress"),
                   env=stork_env(), cwd=nb.parent)

    def psql(csv_path: Path, i: int):
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE psql_{i} ({cols})")
        settled()
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", conninfo, "-c",
                    f"\\copy psql_{i} FROM '{csv_path}' WITH (FORMAT csv, HEADER true)"])

    out: list[dict] = []
    try:
        nb, csv_path = project(mb)
        size = csv_path.stat().st_size / 1e6
        pair = alternate(lambda i: stork(nb, i), lambda i: psql(csv_path, i), runs,
                         f"PostgreSQL {mb:.0f} MB")
        out.append({"work": f"{size:.0f} MB CSV -> PostgreSQL (8 typed columns)",
                    "stork": f"{size / pair.stork_s:.1f} MB/s",
                    "reference": f"psql \\copy into a prepared table: "
                                 f"{size / pair.reference_s:.1f} MB/s",
                    "ratio": round(pair.reference_s / pair.stork_s, 2), "goal": ">= 1.0x"})
        slice_path = work / "slice.csv"
        head_slice(csv_path, slice_path, 20)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        sa_url = f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        part = run([sys.executable, "-c", PANDAS_CHILD, sa_url, str(slice_path), "sl"], env)
        factor = csv_path.stat().st_size / slice_path.stat().st_size
        to_sql = part.seconds * factor
        note = f"extrapolated x{factor:.1f} from a 20 MB slice"
        if to_sql <= to_sql_limit:
            to_sql, note = run([sys.executable, "-c", PANDAS_CHILD, sa_url, str(csv_path),
                                "full"], env).seconds, "one run"
        out.append({"work": f"{size:.0f} MB CSV -> PostgreSQL vs pandas",
                    "stork": f"{pair.stork_s:.1f} s",
                    "reference": f"read_csv + to_sql: {to_sql:.1f} s ({note})",
                    "ratio": round(to_sql / pair.stork_s, 2), "goal": ">= 1.0x"})
        # what a user waits for each time the migrated notebook runs: its read of the
        # table (the setup cell's engine, read_sql_query) against the original read_csv
        migrated, original = [], []
        for _ in range(runs):
            migrated.append(read_seconds(nb.parent / "out0.ipynb"))
            original.append(read_seconds(nb))
        m_s, m_rss = (statistics.median(x[k] for x in migrated) for k in (0, 1))
        o_s, o_rss = (statistics.median(x[k] for x in original) for k in (0, 1))
        out.append({"work": f"the migrated notebook's read of the {size:.0f} MB table",
                    "stork": f"{m_s:.1f} s (peak RSS {m_rss:.0f} MB)",
                    "reference": f"the original read_csv of the file: {o_s:.1f} s "
                                 f"(peak RSS {o_rss:.0f} MB)",
                    "ratio": round(o_s / m_s, 2), "goal": "(not set)"})
        rss = [pair.stork_rss]
        bigger = [rss_mb] if isinstance(rss_mb, int | float) else list(rss_mb or [])
        for i, big in enumerate(bigger):
            big_nb, big_csv = project(big)
            rss.append(stork(big_nb, 90 + i).peak_rss_mb)
            shutil.rmtree(big_csv.parent.parent, ignore_errors=True)  # room for the next
        out.append({"work": "peak RSS, CSV -> PostgreSQL at " + " / ".join(
                        f"{m:.0f} MB" for m in [mb, *bigger]),
                    "stork": " / ".join(f"{v:.0f} MB" for v in rss),
                    "reference": f"psql: {pair.reference_rss:.0f} MB", "ratio": None,
                    "goal": "<= 250 MB at any size"})
    finally:
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(dbname)))
        shutil.rmtree(work, ignore_errors=True)
    return out
