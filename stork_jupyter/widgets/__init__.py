"""ipywidgets doors onto the metadata store and the analysis.

Install with ``pip install 'stork_jupyter[widgets]'``.

Standard ipywidgets 8 controls only, no front-end code of their own, so they work
in JupyterLab, Notebook 7 and VS Code; each also carries a text/plain and text/html
rendering for places where widgets cannot render (nbconvert, a terminal IPython).
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installation
    from ..errors import MissingDependencyError

    raise MissingDependencyError("ipywidgets", "widgets") from None

from .analysis_table import AnalysisTable
from .browser import Browser, DatasetsPane, JobsPane, RecordsPane, diff_html
from .progress import ProgressWidget
from .table import Column, DataTable, ListSource, Page, Query, StoreSource

__all__ = [
    "AnalysisTable",
    "Browser",
    "Column",
    "DataTable",
    "DatasetsPane",
    "JobsPane",
    "ListSource",
    "Page",
    "ProgressWidget",
    "Query",
    "RecordsPane",
    "StoreSource",
    "diff_html",
]
