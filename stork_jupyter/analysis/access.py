"""The output of analysis: one ``DataAccess`` per file a cell touches."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..cells import CellNumbered, with_cell_number


@dataclass
class DataAccess(CellNumbered):
    """One place where a cell reads or writes data.

    ``path`` is relative to the notebook's folder (POSIX separators) when it lies
    inside it, absolute otherwise, the URL itself for remote data, and ``None``
    when it could not be resolved (``reason`` says why).
    """

    cell_index: int  #: 0-based among all cells, markdown included
    cell_id: str | None
    line: int  #: 1-based within the cell
    col: int  #: 0-based column of the call
    api: str  #: e.g. ``pandas.read_csv``, ``pandas.DataFrame.to_parquet``, ``open``
    mode: str  #: ``read`` or ``write``
    format: str | None  #: ``csv``, ``parquet``, ``json``, ``npy``, ``pickle``, ``text``, ...
    path: str | None
    resolved: bool
    reason: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)  #: literal keyword arguments
    remote: bool = False  #: already remote (s3://, http(s)://, postgresql://): not migrated
    exists: bool | None = None  #: whether the resolved local file exists now
    size: int | None = None  #: its size in bytes when it exists
    code: str = ""  #: source text of the call
    consumer: str | None = None  #: for ``open``: what read/wrote the handle (``json.load``...)
    open_mode: str | None = None  #: for ``open``-like calls: the mode string
    expanded_from: str | None = None  #: the glob pattern or loop this path came from
    #: [cell_index, line, col] of the glob call the path came from, when it did
    expanded_at: list[int] | None = None
    raw_path: str | None = None  #: the path exactly as the code builds it (before normalising)
    path_code: str | None = None  #: source text of the path argument
    #: a file-system operation (``os.remove``, ``Path.exists``...): what it does, as the
    #: migrated notebook's ``StorkPath`` method name (``unlink``, ``exists``, ``copy``...)
    op: str | None = None
    #: for calls that take two paths (``shutil.copy(src, dst)``): ``source`` or ``target``
    role: str | None = None
    #: the call works on a file that need not exist (``os.path.exists``, ``mkdir``)
    optional: bool = False

    def to_json(self) -> dict[str, Any]:
        # asdict's deep copy took a tenth of 'stork analyze --json'; only these two
        # fields hold containers, and their contents are JSON values never changed
        out = {name: getattr(self, name) for name in _ACCESS_FIELDS}
        out["kwargs"] = dict(self.kwargs)
        if self.expanded_at is not None:
            out["expanded_at"] = list(self.expanded_at)
        return with_cell_number(out)


_ACCESS_FIELDS = tuple(f.name for f in fields(DataAccess))


@dataclass
class CellProblem(CellNumbered):
    """A cell that could not be analysed (its line is 1-based within the cell)."""

    cell_index: int
    cell_id: str | None
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return with_cell_number(asdict(self))


@dataclass
class Analysis:
    """Everything found in one notebook."""

    notebook: str  #: path of the notebook as given
    accesses: list[DataAccess] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)

    @property
    def reads(self) -> list[DataAccess]:
        return [a for a in self.accesses if a.mode == "read"]

    @property
    def writes(self) -> list[DataAccess]:
        return [a for a in self.accesses if a.mode == "write"]

    @property
    def unresolved(self) -> list[DataAccess]:
        return [a for a in self.accesses if not a.resolved]

    def counts(self) -> dict[str, int]:
        """How many accesses, reads, writes, unresolved accesses and problems (what the
        store's ``analyze`` job and the REST answer carry)."""
        return {"accesses": len(self.accesses), "reads": len(self.reads),
                "writes": len(self.writes), "unresolved": len(self.unresolved),
                "problems": len(self.problems)}
