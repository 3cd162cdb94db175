"""How a door watches transfers: the ``TransferProgress`` a runner reports and the
``ProgressReporter`` protocol a door supplies (a terminal bar, a widget, nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass
class TransferProgress:
    """Where one dataset (``dataset`` set) or the whole job (``dataset`` None) is."""

    dataset: str | None
    bytes_done: int
    bytes_total: int
    rows: int | None = None
    rate: float = 0.0  #: bytes per second moved in this run
    eta: float | None = None  #: seconds left at that rate (None: unknown)
    #: "running", then "completed", "skipped", "failed", "paused" or "cancelled"
    status: str = "running"
    job_id: int | None = None

    @property
    def fraction(self) -> float:
        return min(self.bytes_done / self.bytes_total, 1.0) if self.bytes_total else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total, "rows": self.rows, "rate": self.rate,
                "eta": self.eta, "status": self.status, "job_id": self.job_id,
                "fraction": self.fraction}


@runtime_checkable
class ProgressReporter(Protocol):
    """What a door supplies to watch transfers. Calls never overlap (the runner holds a
    lock), but come from the runner's worker threads."""

    def start(self, job_id: int | None, datasets: list[tuple[str, int]]) -> None:
        """Once, before anything moves: every dataset's name and size in bytes."""

    def update(self, progress: TransferProgress) -> None:
        """A dataset's progress (``progress.dataset`` set; its first update says it
        started) or the whole job's (``dataset`` None)."""

    def close(self, status: str) -> None:
        """Once, at the end: the job's status (completed, failed, paused, cancelled)."""


class NullReporter:
    def start(self, job_id, datasets) -> None:
        pass

    def update(self, progress) -> None:
        pass

    def close(self, status) -> None:
        pass


def as_reporter(progress: ProgressReporter | None) -> ProgressReporter:
    return NullReporter() if progress is None else progress
