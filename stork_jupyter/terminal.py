"""Transfer progress on a terminal: tqdm bars on stderr, for the CLI and the magics."""

from __future__ import annotations

import sys
from typing import Any

from .progress import NullReporter, TransferProgress


class TerminalReporter(NullReporter):
    """tqdm bars on stderr (one per running dataset and one overall), never stdout, so
    ``--json`` output stays clean. Quiet when stderr is not a terminal unless
    ``force``."""

    def __init__(self, file=None, force: bool = False):
        self.file = file or sys.stderr
        self.disable = None if not force else False
        self.bars: dict[str | None, Any] = {}
        self.position = 1

    def start(self, job_id, datasets) -> None:
        from tqdm import tqdm

        total = sum(size for _, size in datasets)
        label = f"job {job_id}" if job_id is not None else "total"
        self.bars[None] = tqdm(total=total, desc=label, unit="B", unit_scale=True,
                               unit_divisor=1024, file=self.file, disable=self.disable,
                               position=0, leave=False, dynamic_ncols=True)

    def update(self, progress: TransferProgress) -> None:
        from tqdm import tqdm

        bar = self.bars.get(progress.dataset)
        if bar is None:
            if progress.status != "running":
                return
            bar = tqdm(total=progress.bytes_total, desc=progress.dataset, unit="B",
                       unit_scale=True, unit_divisor=1024, file=self.file,
                       disable=self.disable, position=self.position, leave=False,
                       dynamic_ncols=True)
            self.position += 1
            self.bars[progress.dataset] = bar
        if progress.dataset is None and bar.total != progress.bytes_total:
            bar.total = progress.bytes_total  # a resumed job: what earlier runs moved counts
        bar.update(max(progress.bytes_done - bar.n, 0))
        if progress.rows is not None:
            bar.set_postfix(rows=progress.rows, refresh=False)
        if progress.dataset is not None and progress.status != "running":
            bar.close()

    def close(self, status) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
