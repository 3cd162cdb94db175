"""Write the small, deterministic data sets the example notebooks read.

``python notebooks/make_data.py`` writes into ``data/`` next to this script, whatever
the working directory. Every value comes from fixed seeds (no clock, no randomness
from the environment), so running it twice gives byte-identical files; files whose
content has not changed are left untouched.

Layout::

    data/sales.csv            daily orders (date, order_id, product_id, region, quantity, unit_price)
    data/returns.csv          returned orders
    data/products.csv         product catalogue
    data/regions.json         region code -> region name
    data/config.json          feature pipeline configuration
    data/embeddings.npy       float64 array (24, 8)
    data/features/train.csv   training features
    data/features/valid.csv   validation features
    data/features/part-00{0,1,2}.csv   the same kind of rows, split in three parts
    data/logs/app-0{1,2,3}.log         application logs, one event per line
    data/users.csv            user table (120 rows)
    data/events.jsonl         one JSON event per line
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

REGIONS = {"N": "North", "S": "South", "E": "East", "W": "West"}
CATEGORIES = ["hardware", "software", "services"]
FEATURES = ["x1", "x2", "x3", "x4"]
TRUE_COEF = [1.5, -2.0, 0.75, 3.0]
LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"]
COMPONENTS = ["api", "db", "auth", "worker"]
COUNTRIES = ["DE", "FR", "GB", "NL", "US"]
EVENTS = ["login", "view", "click", "purchase", "logout"]


def _write(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` unless it already holds exactly that; True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == content:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    return True


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _json(obj: object) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def products() -> list[list[object]]:
    rng = random.Random(101)
    rows = []
    for i in range(1, 21):
        category = CATEGORIES[(i - 1) % len(CATEGORIES)]
        cost = round(rng.uniform(5, 200), 2)
        rows.append(
            [
                i,
                f"{category[:3].upper()}-{i:03d}",
                category,
                f"{cost:.2f}",
                f"supplier-{rng.randint(1, 5)}",
            ]
        )
    return rows


def sales(product_rows: list[list[object]]) -> list[list[object]]:
    rng = random.Random(202)
    start = dt.date(2024, 1, 1)
    cost = {row[0]: float(row[3]) for row in product_rows}
    rows = []
    for order_id in range(1, 401):
        day = start + dt.timedelta(days=rng.randrange(0, 182))
        product_id = rng.randint(1, 20)
        region = rng.choice(sorted(REGIONS))
        quantity = rng.randint(1, 12)
        unit_price = round(cost[product_id] * rng.uniform(1.1, 1.8), 2)
        rows.append(
            [day.isoformat(), 1000 + order_id, product_id, region, quantity, f"{unit_price:.2f}"]
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def returns(sales_rows: list[list[object]]) -> list[list[object]]:
    rng = random.Random(303)
    reasons = ["damaged", "late", "wrong item", "not needed"]
    rows = []
    for row in rng.sample(sales_rows, 40):
        day = dt.date.fromisoformat(row[0]) + dt.timedelta(days=rng.randint(2, 20))
        rows.append([row[1], day.isoformat(), rng.randint(1, int(row[4])), rng.choice(reasons)])
    rows.sort(key=lambda r: r[0])
    return rows


def feature_rows(seed: int, n: int) -> list[list[object]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        xs = [round(rng.gauss(0, 1), 4) for _ in FEATURES]
        target = 0.5 + sum(c * x for c, x in zip(TRUE_COEF, xs, strict=True)) + rng.gauss(0, 0.1)
        rows.append([seed * 1000 + i, *[f"{x:.4f}" for x in xs], f"{target:.4f}"])
    return rows


def embeddings() -> bytes:
    import numpy as np

    rng = np.random.default_rng(404)
    arr = np.round(rng.normal(size=(24, 8)), 6).astype("float64")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def log_lines(seed: int, n: int, start: dt.datetime) -> bytes:
    rng = random.Random(seed)
    lines = []
    t = start
    for _ in range(n):
        t += dt.timedelta(seconds=rng.randint(1, 90))
        level = rng.choice(LEVELS)
        component = rng.choice(COMPONENTS)
        if level == "ERROR":
            message = f"request {rng.randint(100, 999)} failed: code {rng.choice([500, 502, 503])}"
        elif level == "WARN":
            message = f"slow response {rng.randint(800, 3000)} ms"
        else:
            message = f"handled request {rng.randint(100, 999)}"
        lines.append(f"{t.isoformat()} {level} {component} {message}\n")
    return "".join(lines).encode("utf-8")


def users() -> list[list[object]]:
    rng = random.Random(505)
    rows = []
    for user_id in range(1, 121):
        rows.append([user_id, f"user{user_id:03d}", rng.choice(COUNTRIES), rng.randint(18, 70)])
    return rows


def events() -> bytes:
    rng = random.Random(606)
    lines = []
    for i in range(200):
        record = {
            "event_id": i + 1,
            "user_id": rng.randint(1, 120),
            "event": rng.choice(EVENTS),
            "value": round(rng.uniform(0, 100), 2),
        }
        lines.append(json.dumps(record) + "\n")
    return "".join(lines).encode("utf-8")


def build() -> dict[str, bytes]:
    """Every file, by path relative to ``data/``."""
    files: dict[str, bytes] = {}
    product_rows = products()
    sales_rows = sales(product_rows)
    files["products.csv"] = _csv(
        ["product_id", "name", "category", "cost", "supplier"], product_rows
    )
    files["sales.csv"] = _csv(
        ["date", "order_id", "product_id", "region", "quantity", "unit_price"], sales_rows
    )
    files["returns.csv"] = _csv(["order_id", "date", "quantity", "reason"], returns(sales_rows))
    files["regions.json"] = _json(REGIONS)
    files["config.json"] = _json(
        {"features": FEATURES, "target": "label", "seed": 7, "model": "least_squares"}
    )
    files["embeddings.npy"] = embeddings()
    header = ["row_id", *FEATURES, "label"]
    files["features/train.csv"] = _csv(header, feature_rows(1, 120))
    files["features/valid.csv"] = _csv(header, feature_rows(2, 40))
    for part in range(3):
        files[f"features/part-{part:03d}.csv"] = _csv(header, feature_rows(10 + part, 30))
    for i in range(1, 4):
        files[f"logs/app-{i:02d}.log"] = log_lines(700 + i, 60, dt.datetime(2024, 3, i, 8, 0, 0))
    files["users.csv"] = _csv(["user_id", "name", "country", "age"], users())
    files["events.jsonl"] = events()
    return files


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]).resolve() if argv else DATA
    written = 0
    for rel, content in build().items():
        written += _write(target / rel, content)
    total = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"{target}: {written} file(s) written, {total} bytes in total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
