"""Find every data access in a notebook (static: nothing is executed)."""

from .access import Analysis, CellProblem, DataAccess
from .analyzer import analyze_cells, analyze_notebook

__all__ = ["Analysis", "CellProblem", "DataAccess", "analyze_cells", "analyze_notebook"]
