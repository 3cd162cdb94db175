"""How a person names a cell: by the number JupyterLab shows ("Cell 9/21" is cell_index 8).

Data keeps ``cell_index`` (0-based among all cells, markdown included); everything a
person reads (tables, messages, errors, widgets, the panel) says ``cell N`` with
``N = cell_index + 1``. JSON carries both: ``cell_index`` and ``cell_number``.
"""

from __future__ import annotations

from typing import Any


def cell_number(index: int | None) -> int | None:
    """The 1-based number JupyterLab shows for the cell at 0-based ``index``."""
    return None if index is None else index + 1


def cell_label(index: int | None, cell_id: str | None = None, *, word: bool = True) -> str:
    """``cell 9`` (or ``9`` without ``word``), with ``(id)`` when the cell has one."""
    number = "?" if index is None else str(index + 1)
    text = f"cell {number}" if word else number
    return text + (f" ({cell_id})" if cell_id else "")


def where(notebook: str | None, index: int | None, line: int | None = None) -> str:
    """``NB: cell 9, line 3``: the prefix of every message about a place in a notebook."""
    out = f"{notebook}: {cell_label(index)}" if notebook else cell_label(index)
    return out + (f", line {line}" if line is not None else "")


def with_cell_number(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a JSON dict with ``cell_index``) plus ``cell_number``, placed after it."""
    if "cell_index" not in data:
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value
        if key == "cell_index":
            out["cell_number"] = cell_number(value)
    return out


class CellNumbered:
    """Mixin for dataclasses with a ``cell_index`` field: the number people see."""

    cell_index: int | None

    @property
    def cell_number(self) -> int | None:
        return cell_number(self.cell_index)
