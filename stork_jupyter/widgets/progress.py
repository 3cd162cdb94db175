"""Transfer progress in a notebook: one bar per dataset and one for the whole job.

A ``ProgressReporter`` (see ``transfer.py``) made of standard ipywidgets; updates come
from the runner's worker threads, which ipywidgets sends to the front end as they come.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..report import human_size
from ..transfer import TransferProgress

_STYLE = {"completed": "success", "skipped": "info", "failed": "danger",
          "paused": "warning", "cancelled": "warning"}


def _bar(description: str) -> widgets.FloatProgress:
    return widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=description,
                                 style={"description_width": "initial"},
                                 layout=widgets.Layout(width="60%"))


class ProgressWidget(widgets.VBox):
    """``display()`` it, then hand it to ``migrate(..., progress=...)``."""

    def __init__(self, title: str = "transfer", **kwargs):
        self.overall = _bar(title)
        self.overall_label = widgets.Label()
        self.rows: dict[str, tuple[widgets.FloatProgress, widgets.Label]] = {}
        self.datasets = widgets.VBox()
        super().__init__([widgets.HBox([self.overall, self.overall_label]), self.datasets],
                         **kwargs)

    # ProgressReporter
    def start(self, job_id: int | None, datasets: list[tuple[str, int]]) -> None:
        if job_id is not None:
            self.overall.description = f"job {job_id}"
        total = sum(size for _, size in datasets)
        self.overall_label.value = f"0 of {human_size(total)}, {len(datasets)} dataset(s)"

    def update(self, progress: TransferProgress) -> None:
        if progress.dataset is None:
            bar, label = self.overall, self.overall_label
        else:
            if progress.dataset not in self.rows:
                row = (_bar(progress.dataset), widgets.Label())
                self.rows[progress.dataset] = row
                # assigned, not appended: traitlets notices a new tuple only
                self.datasets.children = (*self.datasets.children, widgets.HBox(list(row)))
            bar, label = self.rows[progress.dataset]
        bar.value = progress.fraction
        text = f"{human_size(progress.bytes_done)} of {human_size(progress.bytes_total)}"
        if progress.rows is not None:
            text += f", {progress.rows:,} rows"
        if progress.status == "running" and progress.rate:
            text += f", {human_size(int(progress.rate))}/s"
            if progress.eta is not None:
                text += f", {progress.eta:.0f} s left"
        elif progress.status != "running":
            text += f" ({progress.status})"
            bar.bar_style = _STYLE.get(progress.status, "")
        label.value = text

    def close(self, status: str) -> None:  # type: ignore[override]
        """The job ended: colour the overall bar (the widget itself stays shown)."""
        self.overall.bar_style = _STYLE.get(status, "")
        self.overall_label.value += f" — {status}"
