"""Deterministic data for the corpus notebooks: one function per notebook.

``make(name, project)`` writes the files notebook ``name`` reads into the folder
``project`` (the folder the notebook sits in). Every value comes from a seeded
generator (``rng(name)``), so two runs write the same data; files are small (KBs).

Run ``python tests/corpus/make_data.py NAME DIR`` to lay out one project by hand.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

GENERATORS: dict[str, Callable[[Path], None]] = {}


def generator(func: Callable[[Path], None]) -> Callable[[Path], None]:
    GENERATORS[func.__name__] = func
    return func


def rng(name: str) -> np.random.Generator:
    """A generator seeded from the notebook's name (stable across runs and machines)."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def _path(project: Path, rel: str) -> Path:
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_text(project: Path, rel: str, text: str) -> None:
    _path(project, rel).write_text(text, encoding="utf-8")


def write_csv(project: Path, rel: str, frame: pd.DataFrame, **kw) -> None:
    kw.setdefault("index", False)
    frame.to_csv(_path(project, rel), lineterminator="\n", **kw)


def make(name: str, project: Path) -> None:
    """Write notebook ``name``'s data under ``project``."""
    project.mkdir(parents=True, exist_ok=True)
    GENERATORS[name](project)


# --------------------------------------------------------------------------- data sets


@generator
def titanic_eda(project: Path) -> None:
    r = rng("titanic_eda")
    n = 400
    sex = r.choice(["male", "female"], n, p=[0.64, 0.36])
    pclass = r.choice([1, 2, 3], n, p=[0.24, 0.21, 0.55])
    p_surv = 0.15 + 0.55 * (sex == "female") + 0.12 * (3 - pclass)
    survived = (r.random(n) < np.clip(p_surv, 0, 0.95)).astype(int)
    age = np.round(r.normal(30, 14, n).clip(0.5, 79), 1)
    age[r.random(n) < 0.2] = np.nan
    fare = np.round(r.gamma(2.0, 12.0, n) * (4 - pclass), 4)
    decks = np.array(list("ABCDEFG"))
    cabin = np.where(r.random(n) < 0.25,
                     np.char.add(r.choice(decks, n), r.integers(1, 130, n).astype(str)), "")
    embarked = r.choice(["S", "C", "Q"], n, p=[0.72, 0.19, 0.09]).astype(object)
    embarked[r.choice(n, 2, replace=False)] = ""
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, n + 1), "Survived": survived, "Pclass": pclass,
        "Name": [f"Passenger {i}, Mr. X" for i in range(1, n + 1)], "Sex": sex, "Age": age,
        "SibSp": r.integers(0, 4, n), "Parch": r.integers(0, 3, n), "Fare": fare,
        "Cabin": cabin, "Embarked": embarked,
    })
    write_csv(project, "data/titanic/train.csv", frame)


@generator
def house_prices_features(project: Path) -> None:
    r = rng("house_prices_features")
    n = 120
    area = r.integers(600, 3500, n)
    frame = pd.DataFrame({
        "LivingArea": area,
        "Bedrooms": r.integers(1, 6, n),
        "YearBuilt": r.integers(1950, 2020, n),
        "Neighborhood": r.choice(["NAmes", "CollgCr", "OldTown", "Edwards"], n),
        "SalePrice": (area * r.uniform(90, 160, n)).round(-2).astype(int),
    })
    write_csv(project, "data/houses.csv", frame, index=True)  # unnamed first column


def _orders(seed: str, n: int = 240) -> pd.DataFrame:
    r = rng(seed)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 120, n), unit="D")
    return pd.DataFrame({
        "order_id": np.arange(1000, 1000 + n),
        "order_date": dates.strftime("%Y-%m-%d"),
        "region": r.choice(["North", "South", "East", "West"], n),
        "product": r.choice(["widget", "gadget", "doohickey"], n),
        "quantity": r.integers(1, 12, n),
        "unit_price": r.choice([4.99, 9.5, 19.0, 24.75], n),
    }).sort_values(["order_date", "order_id"])


@generator
def excel_sales_report(project: Path) -> None:
    write_csv(project, "data/orders.csv", _orders("excel_sales_report"))


@generator
def access_log_parsing(project: Path) -> None:
    r = rng("access_log_parsing")
    paths = ["/", "/login", "/api/items", "/api/items/42", "/static/app.js", "/search"]
    lines = []
    t0 = pd.Timestamp("2024-03-10 08:00:00")
    for i in range(300):
        ts = (t0 + pd.Timedelta(seconds=int(i * 37))).strftime("%d/%b/%Y:%H:%M:%S +0000")
        path = paths[int(r.integers(0, len(paths)))]
        status = int(r.choice([200, 200, 200, 304, 404, 500]))
        ms = int(r.gamma(2, 40) * (3 if path.startswith("/api") else 1))
        ip = f"10.0.{int(r.integers(0, 4))}.{int(r.integers(1, 255))}"
        lines.append(f'{ip} - - [{ts}] "GET {path} HTTP/1.1" {status} {int(r.integers(200, 9000))} {ms}')
        if i % 97 == 50:
            lines.append("-- log rotated --")
    write_text(project, "data/access.log", "\n".join(lines) + "\n")


@generator
def image_folder_stats(project: Path) -> None:
    from PIL import Image

    r = rng("image_folder_stats")
    for label, base, count in (("cat", 90, 6), ("dog", 140, 5), ("bird", 200, 4)):
        for i in range(count):
            arr = (base + r.normal(0, 20, (24, 32))).clip(0, 255).astype(np.uint8)
            path = _path(project, f"data/images/{label}/{label}_{i:03d}.png")
            Image.fromarray(arr, mode="L").save(path)


@generator
def numpy_arrays(project: Path) -> None:
    r = rng("numpy_arrays")
    labels = r.integers(0, 3, 90)
    raw = r.normal(0, 1, (90, 4)) * [1, 5, 10, 0.5] + labels[:, None] * [1, 2, 3, 4]
    header = "s1,s2,s3,s4\n"
    body = "\n".join(",".join(f"{v:.5f}" for v in row) for row in raw)
    write_text(project, "data/sensors.csv", header + body + "\n")
    write_text(project, "data/labels.txt", "\n".join(str(v) for v in labels) + "\n")


@generator
def pickled_model(project: Path) -> None:
    r = rng("pickled_model")
    n = 200
    tv, radio, news = r.uniform(0, 300, n), r.uniform(0, 50, n), r.uniform(0, 100, n)
    sales = 3 + 0.045 * tv + 0.19 * radio + 0.001 * news + r.normal(0, 1.2, n)
    write_csv(project, "data/advertising.csv", pd.DataFrame({
        "tv": tv.round(1), "radio": radio.round(1), "newspaper": news.round(1),
        "sales": sales.round(2)}))


@generator
def helper_functions(project: Path) -> None:
    r = rng("helper_functions")
    for name, start, days in (("train", "2024-01-01", 56), ("test", "2024-02-26", 14)):
        dates = pd.date_range(start, periods=days, freq="D")
        rows = [{"date": d.strftime("%Y-%m-%d"), "store": s,
                 "sales": int(r.poisson(100 + 30 * s))} for d in dates for s in range(1, 5)]
        frame = pd.DataFrame(rows)
        if name == "test":
            frame = frame.drop(columns=["sales"])
        write_csv(project, f"data/{name}.csv", frame)


@generator
def stdout_and_buffers(project: Path) -> None:
    r = rng("stdout_and_buffers")
    n = 60
    write_csv(project, "data/scores.csv", pd.DataFrame({
        "player": [f"p{i:02d}" for i in range(n)],
        "team": r.choice(["red", "blue", "green"], n),
        "score": r.integers(40, 101, n)}))


@generator
def scratch_files(project: Path) -> None:
    r = rng("scratch_files")
    rows = [f"{i};{r.choice(['food', 'travel', 'office'])};{r.integers(1, 500)},{r.integers(0, 100):02d}"
            for i in range(1, 41)]
    text = "EXPORT 2024-04-01 generated by ledger v2\nid;category;amount\n" + "\n".join(rows)
    write_text(project, "data/export.txt", text + "\n-- 40 rows --\n")


@generator
def pathlib_io(project: Path) -> None:
    r = rng("pathlib_io")
    words = ["sensor", "drop", "batch", "reading", "calibrated", "field", "unit", "export"]
    body = " ".join(words[int(i)] for i in r.integers(0, len(words), 120))
    write_text(project, "data/README.md", "# Field data drop 7\n\n" + body + "\n")
    write_text(project, "data/settings.json",
               json.dumps({"threshold": 0.35, "units": "mV", "channels": [1, 2, 5]}, indent=2))
    write_text(project, "data/extra.json", json.dumps({"note": "spare"}))
    _path(project, "data/payload.bin").write_bytes(bytes(r.integers(0, 256, 300, dtype=np.uint8)))


@generator
def dict_of_paths(project: Path) -> None:
    r = rng("dict_of_paths")
    write_csv(project, "data/stores.csv", pd.DataFrame({
        "store_id": [1, 2, 3, 4], "city": ["Quito", "Quito", "Guayaquil", "Cuenca"]}))
    write_csv(project, "data/items.csv", pd.DataFrame({
        "item_id": np.arange(100, 112),
        "family": r.choice(["GROCERY", "BEVERAGES", "CLEANING"], 12),
        "price": r.choice([0.99, 1.49, 2.5, 3.75], 12)}))
    n = 300
    write_csv(project, "data/transactions.csv", pd.DataFrame({
        "store_id": r.integers(1, 5, n), "item_id": r.integers(100, 112, n),
        "units": r.integers(1, 20, n)}))


@generator
def glob_monthly_sales(project: Path) -> None:
    r = rng("glob_monthly_sales")
    for month in range(1, 7):
        days = r.integers(1, 28, 40)
        write_csv(project, f"data/monthly/sales_2024-{month:02d}.csv", pd.DataFrame({
            "date": [f"2024-{month:02d}-{d:02d}" for d in sorted(days)],
            "amount": (r.gamma(3, 20, 40) * (1 + month / 10)).round(2)}))


@generator
def chunked_reading(project: Path) -> None:
    r = rng("chunked_reading")
    n = 2400
    write_csv(project, "data/trips.csv", pd.DataFrame({
        "trip_id": np.arange(n), "pickup_zone": r.choice(["Midtown", "JFK", "SoHo", "Harlem"], n),
        "passengers": r.integers(1, 5, n), "distance_km": r.gamma(2, 2.5, n).round(2),
        "fare": r.gamma(2, 9, n).round(2)}))


@generator
def dtype_str_zipcodes(project: Path) -> None:
    r = rng("dtype_str_zipcodes")
    n = 50
    write_csv(project, "data/customers.csv", pd.DataFrame({
        "name": [f"Customer {i}" for i in range(n)],
        "zip": [f"{int(z):05d}" for z in r.integers(500, 99999, n)],
        "account": [f"{int(a):08d}" for a in r.integers(0, 3_000_000, n)],
        "balance": r.normal(1500, 700, n).round(2)}))


@generator
def weather_timeseries(project: Path) -> None:
    r = rng("weather_timeseries")
    times = pd.date_range("2024-05-01", periods=24 * 10, freq="h")
    hours = times.hour.to_numpy()
    write_csv(project, "data/weather_hourly.csv", pd.DataFrame({
        "timestamp": times.strftime("%Y-%m-%d %H:%M:%S"),
        "temp_c": (14 + 6 * np.sin((hours - 9) / 24 * 2 * np.pi) + r.normal(0, 1, len(times))).round(1),
        "rain_mm": np.where(r.random(len(times)) < 0.15, r.gamma(1, 1.5, len(times)), 0).round(1)}))


@generator
def json_config_experiment(project: Path) -> None:
    r = rng("json_config_experiment")
    write_text(project, "config.json", json.dumps({"seed": 7, "sample_frac": 0.5,
                                                   "variants": ["A", "B"]}, indent=2))
    n = 400
    variants = r.choice(["A", "B"], n)
    converted = (r.random(n) < np.where(variants == "A", 0.1, 0.14)).astype(int)
    lines = [json.dumps({"user": int(i), "variant": str(v), "converted": int(c)})
             for i, v, c in zip(range(n), variants, converted, strict=True)]
    write_text(project, "data/events.jsonl", "\n".join(lines) + "\n")


@generator
def html_tables(project: Path) -> None:
    regions = [("Northland", 1204500, 5300.5), ("Riverside", 845210, 1250.0),
               ("Highlands", 310400, 8800.25), ("Coast", 990040, 2100.75)]
    rows = "".join(f"<tr><td>{n}</td><td>{p}</td><td>{a}</td></tr>" for n, p, a in regions)
    growth = "".join(f"<tr><td>{y}</td><td>{v}</td></tr>"
                     for y, v in ((2019, 3.1e6), (2020, 3.2e6), (2021, 3.26e6), (2022, 3.35e6)))
    html = ("<html><head><title>Population</title></head><body><h1>Regions</h1>"
            "<table><thead><tr><th>Region</th><th>Population</th><th>Area (km2)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><h2>Total</h2>"
            f"<table><tr><th>Year</th><th>Total</th></tr>{growth}</table></body></html>\n")
    write_text(project, "data/population.html", html)


@generator
def xml_catalog(project: Path) -> None:
    r = rng("xml_catalog")
    genres = ["Fantasy", "Computer", "Romance", "Horror"]
    books = []
    for i in range(24):
        books.append(
            f'  <book><id>bk{100 + i}</id><author>Author {i % 7}</author>'
            f"<title>Title {i}</title><genre>{genres[int(r.integers(0, 4))]}</genre>"
            f"<price>{float(r.choice([5.95, 12.5, 36.0, 44.95])):.2f}</price>"
            f"<publish_date>{2000 + int(r.integers(0, 3))}-{int(r.integers(1, 13)):02d}-01</publish_date></book>")
    write_text(project, "data/catalog.xml",
               '<?xml version="1.0"?>\n<catalog>\n' + "\n".join(books) + "\n</catalog>\n")


@generator
def hdf_store(project: Path) -> None:
    r = rng("hdf_store")
    n = 150
    write_csv(project, "data/ticks.csv", pd.DataFrame({
        "time": pd.date_range("2024-06-03 09:30", periods=n, freq="min").strftime("%Y-%m-%d %H:%M:%S"),
        "symbol": r.choice(["ACME", "GLOBX", "INIT"], n),
        "price": (100 + r.normal(0, 1, n).cumsum()).round(3),
        "volume": r.integers(1, 500, n)}))


@generator
def shell_lines(project: Path) -> None:
    r = rng("shell_lines")
    write_text(project, "data/notes.txt",
               "Drop 2024-07: three sites, values in ppm.\nSite C was recalibrated on day 3.\n")
    n = 45
    write_csv(project, "data/measurements.csv", pd.DataFrame({
        "day": np.repeat(np.arange(1, 16), 3), "site": np.tile(["A", "B", "C"], 15),
        "value": r.normal(12, 3, n).round(3)}))


@generator
def nlp_reviews(project: Path) -> None:
    r = rng("nlp_reviews")
    write_text(project, "data/stopwords.txt", "the a an and or of to is it this was i in for\n")
    good = ["great", "excellent", "love", "works", "fast", "sturdy", "recommend"]
    bad = ["broken", "slow", "refund", "disappointed", "cheap", "noisy", "returned"]
    filler = ["the", "product", "it", "was", "and", "this", "i", "delivery", "box"]
    for label, vocab, count in (("pos", good, 7), ("neg", bad, 6)):
        for i in range(count):
            words = [str(w) for w in r.choice(vocab + filler, int(r.integers(12, 40)))]
            write_text(project, f"data/reviews/{label}/{i:04d}.txt", " ".join(words).capitalize() + ".\n")


@generator
def churn_training(project: Path) -> None:
    r = rng("churn_training")
    n = 300
    tenure = r.integers(1, 72, n)
    charges = r.uniform(20, 120, n).round(2)
    calls = r.poisson(1.5, n)
    logit = -1.0 - 0.05 * tenure + 0.02 * charges + 0.5 * calls
    write_csv(project, "data/churn.csv", pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)], "tenure": tenure,
        "monthly_charges": charges, "support_calls": calls,
        "Churn": (r.random(n) < 1 / (1 + np.exp(-logit))).astype(int)}))


@generator
def zip_enumerate(project: Path) -> None:
    r = rng("zip_enumerate")
    for name, speed in (("baseline", 0.10), ("dropout", 0.07), ("wide", 0.13)):
        epochs = np.arange(1, 21)
        loss = 2.0 * np.exp(-speed * epochs) + 0.3 + r.normal(0, 0.02, 20)
        val = loss + 0.05 + 0.002 * np.maximum(epochs - 12, 0) ** 2
        write_csv(project, f"data/runs/{name}.csv", pd.DataFrame({
            "epoch": epochs, "loss": loss.round(4), "val_loss": val.round(4)}))


@generator
def kaggle_submission(project: Path) -> None:
    r = rng("kaggle_submission")
    cats = ["a", "b", "c", "d"]
    train = pd.DataFrame({"id": np.arange(200), "category": r.choice(cats, 200),
                          "x": r.normal(0, 1, 200).round(4)})
    train["target"] = (train["category"].map({"a": 1, "b": 2, "c": 3, "d": 4})
                       + r.normal(0, 0.5, 200)).round(4)
    test = pd.DataFrame({"id": np.arange(200, 260), "category": r.choice(cats + ["e"], 60),
                         "x": r.normal(0, 1, 60).round(4)})
    write_csv(project, "input/train.csv", train)
    write_csv(project, "input/test.csv", test)
    write_csv(project, "input/sample_submission.csv", pd.DataFrame({"id": test["id"], "target": 0.0}))


@generator
def csv_module(project: Path) -> None:
    r = rng("csv_module")
    n = 80
    write_csv(project, "data/ledger.csv", pd.DataFrame({
        "date": [f"2024-08-{int(d):02d}" for d in r.integers(1, 29, n)],
        "account": r.choice(["cash", "bank", "payables", "revenue"], n),
        "amount": r.normal(0, 250, n).round(2)}))


@generator
def excel_budget_file(project: Path) -> None:
    r = rng("excel_budget_file")
    path = _path(project, "data/budget_2024.xlsx")
    with pd.ExcelWriter(path) as writer:
        for dept in ("Sales", "IT", "HR"):
            items = ["salaries", "travel", "software", "training", "equipment"]
            plan = r.integers(5, 80, len(items)) * 1000.0
            frame = pd.DataFrame({"item": items, "plan": plan,
                                  "actual": (plan * r.uniform(0.8, 1.2, len(items))).round(2)})
            frame.to_excel(writer, sheet_name=dept, index=False)


@generator
def zip_archive(project: Path) -> None:
    import zipfile

    r = rng("zip_archive")
    n = 120
    flights = pd.DataFrame({"flight": [f"F{i:04d}" for i in range(n)],
                            "carrier": r.choice(["AA", "DL", "UA"], n),
                            "origin": r.choice(["JFK", "LAX", "ORD"], n),
                            "delay_min": r.gamma(1.5, 12, n).round(1)})
    with zipfile.ZipFile(_path(project, "data/flights.zip"), "w") as zf:
        zf.writestr("flights.csv", flights.to_csv(index=False, lineterminator="\n"))
    write_csv(project, "data/airports.csv", pd.DataFrame({
        "code": ["JFK", "LAX", "ORD"], "city": ["New York", "Los Angeles", "Chicago"]}))


@generator
def survey_missing_text(project: Path) -> None:
    r = rng("survey_missing_text")
    n = 60
    comments = np.array(["", "N/A", "-", "Great tool", "Too slow", "Needs docs", "Love it"],
                        dtype=object)
    roles = np.array(["analyst", "engineer", "manager", ""], dtype=object)
    write_csv(project, "data/survey.csv", pd.DataFrame({
        "respondent": np.arange(1, n + 1),
        "role": roles[r.integers(0, 4, n)],
        "satisfaction": r.integers(1, 6, n),
        "comment": comments[r.integers(0, len(comments), n)]}))


@generator
def stock_returns(project: Path) -> None:
    r = rng("stock_returns")
    dates = pd.bdate_range("2024-01-02", periods=90)
    prices = {s: (p0 * np.exp(r.normal(0.0004, 0.015, len(dates)).cumsum())).round(2)
              for s, p0 in (("AAPL", 185.0), ("MSFT", 370.0), ("XOM", 100.0))}
    frame = pd.DataFrame(prices)
    frame.insert(0, "Date", dates.strftime("%Y-%m-%d"))
    write_csv(project, "data/prices.csv", frame)


@generator
def iterdir_reports(project: Path) -> None:
    r = rng("iterdir_reports")
    for i in range(6):
        lab = ["north", "south"][i % 2]
        write_text(project, f"data/reports/report_{i:02d}.txt",
                   f"lab: {lab}\nsamples: {int(r.integers(10, 60))}\n"
                   f"pass_rate: {float(r.uniform(0.7, 1.0)):.3f}\ncomment: batch {i}\n")
    write_csv(project, "data/reports/thresholds.csv",
              pd.DataFrame({"lab": ["north", "south"], "min_pass": [0.8, 0.75]}))


@generator
def file_renames(project: Path) -> None:
    r = rng("file_renames")
    n = 30
    write_csv(project, "data/inventory.csv", pd.DataFrame({
        "sku": [f"SKU{i:03d}" for i in range(n)], "warehouse": r.choice(["east", "west"], n),
        "qty": r.integers(0, 200, n), "unit_cost": r.uniform(1, 40, n).round(2)}))


if __name__ == "__main__":
    make(sys.argv[1], Path(sys.argv[2]))
