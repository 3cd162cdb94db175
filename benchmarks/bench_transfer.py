"""Moving one big file: the whole ``stork migrate`` command against what a user would
type instead, in one run, alternating (stork, reference, stork, reference...).

- S3 (a moto server in its own process on 127.0.0.1): ``stork migrate --to s3://...``
  against boto3's ``upload_file`` with the default ``TransferConfig`` (a Python process
  that imports boto3 and uploads);
- a folder: ``stork migrate --to DIR`` against ``cp``, ``sync`` and then ``sha256sum``
  of both files (the guarantee stork gives: the copy is on disk and verified).

Each run goes to a fresh destination (a new prefix or folder, a fresh store), so nothing
is skipped as already there. Peak RSS is each command's own ``ru_maxrss``.

    python benchmarks/bench_transfer.py [--mb 500] [--runs 3] [--only s3|folder]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository's benchmarks package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    PYTHON,
    Pair,
    alternate,
    aws_env,
    file_notebook,
    make_file,
    measure,
    moto_server,
    stork_cmd,
    stork_env,
)

BOTO3_UPLOAD = """
import sys
import boto3
boto3.client("s3").upload_file(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def _project(work: Path, mb: int) -> tuple[Path, Path]:
    """A project folder with ``data/big.bin`` and a notebook that reads it."""
    project = work / "project"
    (project / "data").mkdir(parents=True, exist_ok=True)
    data = make_file(project / "data" / "big.bin", mb)
    return file_notebook(project, data.name), data


def bench_s3(work: Path, mb: int, runs: int) -> Pair:
    import boto3

    nb, data = _project(work, mb)
    with moto_server() as endpoint:
        env = aws_env(endpoint)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket="bench")

        def clear(prefix: str) -> None:  # the server holds objects in memory
            for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket="bench", Prefix=prefix):
                for obj in page.get("Contents", []):
                    client.delete_object(Bucket="bench", Key=obj["Key"])

        def stork(i: int):
            store = work / f"s3-store-{i}.db"
            run = measure(stork_cmd("migrate", str(nb), "--to", f"s3://bench/stork{i}",
                                    "-o", str(work / f"s3-out-{i}.ipynb"), "--store",
                                    str(store), "--no-progress"),
                          env=stork_env(env), cwd=nb.parent)
            clear(f"stork{i}/")
            store.unlink(missing_ok=True)
            return run

        def reference(i: int):
            run = measure([PYTHON, "-c", BOTO3_UPLOAD, str(data), "bench", f"boto3-{i}"],
                          env=env)
            clear(f"boto3-{i}")
            return run

        return alternate(stork, reference, runs, f"S3 {mb} MB")


def bench_folder(work: Path, mb: int, runs: int) -> Pair:
    nb, data = _project(work, mb)

    def stork(i: int):
        dest, store = work / f"folder-{i}", work / f"folder-store-{i}.db"
        run = measure(stork_cmd("migrate", str(nb), "--to", str(dest), "-o",
                                str(work / f"folder-out-{i}.ipynb"), "--store", str(store),
                                "--no-progress"), env=stork_env(), cwd=nb.parent)
        shutil.rmtree(dest)
        store.unlink(missing_ok=True)
        return run

    def reference(i: int):
        dest = work / f"cp-{i}.bin"
        run = measure(["sh", "-c", 'cp "$1" "$2" && sync && sha256sum "$1" "$2" >/dev/null',
                       "sh", str(data), str(dest)])
        dest.unlink()
        return run

    return alternate(stork, reference, runs, f"folder {mb} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=500, help="file size in MiB (default 500)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool (default 3)")
    ap.add_argument("--only", choices=["s3", "folder"], default=None)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (kept)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="stork-bench-transfer-"))
    work.mkdir(parents=True, exist_ok=True)
    figures = {}
    try:
        for name, fn in (("s3", bench_s3), ("folder", bench_folder)):
            if args.only in (None, name):
                pair = fn(work, args.mb, args.runs)
                figures[name] = pair
                print(f"{name}: stork {pair.stork_s:.2f} s ({pair.stork_rss:.0f} MB RSS), "
                      f"reference {pair.reference_s:.2f} s ({pair.reference_rss:.0f} MB RSS), "
                      f"stork is {pair.reference_s / pair.stork_s:.2f}x the reference's speed")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({k: {
            "stork": [vars(r) for r in v.stork], "reference": [vars(r) for r in v.reference]}
            for k, v in figures.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def rows(mb: int = 500, runs: int = 3, big_mb: int | list[int] | None = 1024,
         work: Path | None = None, only: set[str] | None = None) -> list[dict]:
    """The ``make bench`` rows: S3 and folder speed at ``mb`` (medians of ``runs``
    alternating runs), and peak RSS at ``mb`` and at each size of ``big_mb`` (one run
    each: memory is flat)."""
    own = work is None
    work = work or Path(tempfile.mkdtemp(prefix="stork-bench-transfer-"))
    out: list[dict] = []
    only = only or {"s3", "folder"}
    try:
        s3 = bench_s3(work, mb, runs) if "s3" in only else None
        folder = bench_folder(work, mb, runs) if "folder" in only else None
        if s3:
            out.append({"work": f"{mb} MB file -> S3 (moto server on loopback)",
                        "stork": f"{mb * 1.048576 / s3.stork_s:.1f} MB/s",
                        "reference": f"boto3 upload_file (default TransferConfig): "
                                     f"{mb * 1.048576 / s3.reference_s:.1f} MB/s",
                        "ratio": round(s3.reference_s / s3.stork_s, 2), "goal": ">= 0.95x"})
        if folder:
            out.append({"work": f"{mb} MB file -> folder",
                        "stork": f"{folder.stork_s:.2f} s",
                        "reference": f"cp, sync, sha256sum of both: {folder.reference_s:.2f} s",
                        "ratio": round(folder.reference_s / folder.stork_s, 2),
                        "goal": ">= 1.0x"})
        pairs = {k: p for k, p in (("S3", s3), ("folder", folder)) if p}
        rss = {k: [p.stork_rss] for k, p in pairs.items()}
        bigger = [big_mb] if isinstance(big_mb, int) else list(big_mb or [])
        for size in bigger:
            shutil.rmtree(work / "project", ignore_errors=True)  # room for the big file
            big = {"S3": bench_s3, "folder": bench_folder}
            for k in pairs:
                rss[k].append(big[k](work, size, 1).stork_rss)
        sizes = " / ".join(f"{n} MB" for n in [mb, *bigger])
        for kind, pair in pairs.items():
            ref = "boto3" if kind == "S3" else "cp"
            out.append({"work": f"peak RSS, file -> {kind} at {sizes}",
                        "stork": " / ".join(f"{v:.0f} MB" for v in rss[kind]),
                        "reference": f"{ref}: {pair.reference_rss:.0f} MB", "ratio": None,
                        "goal": "flat in the file size"})
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return out
