"""``make bench``: every benchmark in one run, printed as one table.

Each row is a piece of work, stork's figure, the reference tool's figure from the same
run, and the ratio (the reference's time over stork's: above 1 stork is faster; for
analysis, stork's extra time as a multiple of libcst's parse). Speed rows are medians of
``--runs`` alternating runs (stork, reference, stork, reference...) of whole commands in
their own processes. Nothing here is a test: it asserts nothing.

    python -m benchmarks [--runs 3] [--quick] [--only analysis,s3,folder,pg]
                         [--big-mb 1024,5120] [--json F]
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # pragma: no cover - run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECTIONS = ("analysis", "pg", "s3", "folder")


def _call(fn, **kwargs):
    """``fn`` with the keyword arguments it takes (the benchmarks evolve separately)."""
    params = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def collect(sections: set[str], runs: int, quick: bool, big: list[int] | None = None
            ) -> list[dict]:
    big = None if quick else (big or [1024])
    rows: list[dict] = []
    if "analysis" in sections:
        from benchmarks import bench_analyze

        rows += bench_analyze.rows(cells=300, runs=runs)
        _progress(rows)
    if "pg" in sections:
        from benchmarks import bench_pg_load

        if hasattr(bench_pg_load, "rows"):
            from benchmarks.bench_pg_load import DEFAULT_PG

            rows += _call(bench_pg_load.rows, mb=20 if quick else 200, runs=runs, pg=DEFAULT_PG,
                          to_sql_limit=60 if quick else 240,
                          rss_mb=big, work=None)
        else:  # an older bench_pg_load without rows(): its own table is printed above
            bench_pg_load.main(["--mb", "20" if quick else "200"])
        _progress(rows)
    if sections & {"s3", "folder"}:
        from benchmarks import bench_transfer

        rows += bench_transfer.rows(mb=50 if quick else 500, runs=runs,
                                    big_mb=big,
                                    only=sections & {"s3", "folder"})
        _progress(rows)
    return rows


def _progress(rows: list[dict]) -> None:
    print(f"  ... {len(rows)} rows so far", file=sys.stderr, flush=True)


def table(rows: list[dict]) -> str:
    lines = ["| work | stork | reference (same run) | ratio | goal |",
             "|---|---:|---:|---:|---|"]
    for r in rows:
        ratio = r.get("ratio")
        shown = "-" if ratio is None else f"{ratio:.2f}{r.get('ratio_is', 'x')}"
        lines.append(f"| {r['work']} | {r['stork']} | {r['reference']} | {shown} | "
                     f"{r.get('goal', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="alternating runs per row (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="small files, no 1 GB rows (a check that everything runs)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections out of {','.join(SECTIONS)}")
    ap.add_argument("--big-mb", default="1024",
                    help="sizes (MiB, comma-separated) of the one-run peak-RSS rows "
                         "(default 1024; e.g. 1024,5120)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    big = [int(x) for x in args.big_mb.split(",") if x.strip()]
    rows = collect(sections, args.runs, args.quick, big)
    print(f"\nmedians of {args.runs} alternating runs; whole commands, each in its own "
          f"process; {time.monotonic() - started:.0f} s in all\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
