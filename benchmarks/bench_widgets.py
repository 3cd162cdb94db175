"""How fast the widget browser answers on a large store (issue 6: under a second per action).

    .venv/bin/python benchmarks/bench_widgets.py [--records 100000] [--repeat 5]

Fills a fresh SQLite store with ``--records`` records and as many datasets (and a
tenth as many jobs), then times, on the Python side (no browser), opening the
``Browser`` and each action a user takes: paging forward, back and to the end, the
status filter, a text filter, sorting by another column and selecting a row. Each
figure is the median of ``--repeat`` runs. Text filters and sorts run in the store
(SQL with LIMIT/OFFSET), so their figures are those of exact answers over every row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stork_jupyter.store import Dataset, Job, MetadataStore, Record
from stork_jupyter.widgets import Browser


def fill(store: MetadataStore, n: int, root: Path) -> None:
    project = store.ensure_project(root)
    jobs = max(1, n // 10)
    store.insert_many(Job(project_id=project.id, kind="migrate", status="completed"
                          if i % 7 else "failed", notebook=f"notebooks/nb{i % 500}.ipynb",
                          destination="s3://bucket/lake") for i in range(jobs))
    store.insert_many(Dataset(project_id=project.id, source_path=f"data/part-{i:06d}.csv",
                              format="csv", size=1000 + i, sha256=f"{i:064x}")
                      for i in range(n))
    store.insert_many(Record(
        job_id=i % jobs + 1, project_id=project.id, notebook=f"notebooks/nb{i % 500}.ipynb",
        cell_id=f"c{i % 40}", cell_index=i % 40, line=i % 7 + 1, api="pandas.read_csv",
        status="undone" if i % 10 == 0 else "applied",
        original_source=f"df = pd.read_csv('data/part-{i:06d}.csv')\nprint(df.shape)",
        new_source=f"df = pd.read_csv('s3://bucket/lake/data/part-{i:06d}.csv')\n"
                   "print(df.shape)")
        for i in range(n))


def median_time(action: Callable[[], object], repeat: int,
                before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    n, repeat = args.records, args.repeat

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with MetadataStore(url) as store:
            start = time.perf_counter()
            fill(store, n, Path(tmp))
            print(f"filled {n:,} records, {n:,} datasets, {max(1, n // 10):,} jobs "
                  f"in {time.perf_counter() - start:.1f} s")

        results: list[tuple[str, float]] = []

        def opened() -> None:
            Browser(store=url, project_root=tmp).close()

        results.append(("open the browser (3 tabs, first pages, counts)",
                        median_time(opened, repeat)))

        browser = Browser(store=url, project_root=tmp)
        try:
            table = browser.records.table
            results.append(("records: next page", median_time(table.next.click, repeat,
                                                              before=table.first.click)))
            results.append(("records: previous page", median_time(
                table.prev.click, repeat, before=table.next.click)))
            results.append(("records: last page", median_time(
                table.last.click, repeat, before=table.first.click)))
            results.append(("records: first page", median_time(
                table.first.click, repeat, before=table.last.click)))

            def status(value: str) -> Callable[[], None]:
                def set_status() -> None:
                    table.status.value = value
                return set_status

            results.append(("records: status filter 'undone'", median_time(
                status("undone"), repeat, before=status(""))))
            results.append(("records: clear the status filter", median_time(
                status(""), repeat, before=status("undone"))))

            def search(text: str) -> Callable[[], None]:
                def set_text() -> None:
                    table.filter.value = text
                return set_text

            results.append(("records: text filter 'nb7.ipynb' (common)", median_time(
                search("nb7.ipynb"), repeat, before=search(""))))
            results.append(("records: next page of that filter", median_time(
                table.next.click, repeat, before=lambda: (search("")(), search("nb7.ipynb")()))))
            results.append((f"records: text filter matching 1 of {n:,}", median_time(
                search("part-000000.csv"), repeat, before=search(""))))
            results.append((f"records: text filter matching none of {n:,}", median_time(
                search("no such text"), repeat, before=search(""))))
            search("")()
            by_id = lambda: table.sort_by("id", descending=True)  # noqa: E731
            results.append(("records: sort by notebook (every row)", median_time(
                lambda: table.sort_by("notebook", descending=False), repeat, before=by_id)))
            results.append(("records: next page of that sort", median_time(
                table.next.click, repeat, before=lambda: table.sort_by("notebook",
                                                                       descending=False))))
            results.append(("records: last page of that sort", median_time(
                table.last.click, repeat, before=lambda: table.sort_by("notebook",
                                                                       descending=False))))
            results.append(("records: sort by line (nullable, no index)", median_time(
                lambda: table.sort_by("line", descending=True), repeat, before=by_id)))
            results.append(("records: sort by api with the filter 'nb7.ipynb'", median_time(
                lambda: table.sort_by("api", descending=False), repeat,
                before=lambda: (by_id(), search("nb7.ipynb")()))))
            search("")()
            by_id()
            datasets = browser.datasets.table
            results.append(("datasets: sort by size (every row)", median_time(
                lambda: datasets.sort_by("size", descending=True), repeat,
                before=lambda: datasets.sort_by("id", descending=True))))
            datasets.sort_by("id", descending=True)
            results.append(("records: select a row (diff detail)", median_time(
                lambda: table.select(3), repeat, before=table.clear_selection)))
            results.append(("datasets: select a row (detail and preview)", median_time(
                lambda: datasets.select(2), repeat, before=datasets.clear_selection)))
            jobs = browser.jobs.table
            results.append(("jobs: select a row (detail and transfers)", median_time(
                lambda: jobs.select(1), repeat, before=jobs.clear_selection)))
            results.append(("refresh all tabs", median_time(
                browser.refresh_button.click, repeat)))
        finally:
            browser.close()

    width = max(len(label) for label, _ in results)
    print(f"\n{'action':<{width}}  median of {repeat}")
    for label, seconds in results:
        print(f"{label:<{width}}  {seconds * 1000:8.1f} ms")
    slowest = max(seconds for _, seconds in results)
    print(f"\nslowest action: {slowest * 1000:.0f} ms "
          f"({'under' if slowest < 1 else 'OVER'} one second)")
    return 0 if slowest < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
