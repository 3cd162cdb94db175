"""The plan's data: what moves where (``DatasetMove``), which calls change
(``AccessEdit``), what keeps the notebook local (``Blocker``), and the ``MigrationPlan``
that holds them, with its JSON form for a job's options. The planners (``plan``,
``plan_postgres``) build these; the rewrite and the transfer read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .cells import CellNumbered, with_cell_number
from .cells import where as cell_where


@dataclass
class DatasetMove:
    """One local file to transfer."""

    source: str  #: path relative to the notebook's folder (as the analysis reports it)
    key: str  #: where it goes, relative to the destination
    target: str  #: path or URL the migrated notebook uses
    format: str | None
    size: int
    sha256: str
    table: str | None = None  #: PostgreSQL: loaded as this table (else a file)
    api: str | None = None  #: the read call whose parsing the table reproduces
    options: dict[str, Any] | None = None  #: that call's parsing options
    schema: dict[str, Any] | None = None  #: the table's schema (TableSchema.to_json())
    #: why a pandas read's file went as its bytes, not as a table (PostgreSQL)
    note: str | None = None


@dataclass
class AccessEdit(CellNumbered):
    """One call to rewrite. ``action``:

    - ``literal``: the path argument becomes the string ``target``;
    - ``prefix``: the path argument ``E`` (a loop's paths) becomes ``f"{base}/{E}"``;
    - ``glob``: the glob call at this position enumerates ``target`` (a pattern) instead;
    - ``listdir``: the folder listing at this position lists ``target`` instead;
    - ``glob_relative``: the glob at this position, whose matches nothing reads, matches
      ``details["pattern"]`` under ``target`` and gives the notebook's own relative paths;
    - PostgreSQL (see ``plan_postgres``): ``table_read``, ``table_read_sheets`` (one
      table per sheet, read back as a dict), ``table_write``,
      ``table_artefact_read``, ``files``, ``files_prefix``, ``files_wrap``.
    """

    cell_index: int
    cell_id: str | None
    line: int
    col: int
    api: str
    mode: str
    action: str
    target: str | None = None
    base: str | None = None
    code: str = ""
    table: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Blocker(CellNumbered):
    """An access that keeps the notebook tied to local files."""

    cell_index: int
    cell_id: str | None
    line: int
    code: str
    reason: str

    def describe(self, notebook: str) -> str:
        return f"{cell_where(notebook, self.cell_index, self.line)}: {self.code}: {self.reason}"


@dataclass
class MigrationPlan:
    notebook: str
    destination: str  #: URL without secrets
    kind: str  #: "file" or "s3"
    layout: str
    base_key: str  #: the notebook's folder at the destination (mirror layout)
    moves: list[DatasetMove] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  #: keys the notebook will write
    edits: list[AccessEdit] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  #: accesses left alone, with why
    #: what the setup cell needs to know (PostgreSQL: engine URL without password, schema)
    settings: dict[str, Any] = field(default_factory=dict)
    #: the destination names this plan takes (``names.reserved_name``) and their owners
    #: (``{"owner", "sha256", "source"}``): reserved when the job starts
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("edits", "blockers"):
            data[key] = [with_cell_number(x) for x in data[key]]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MigrationPlan:
        """The plan :meth:`to_json` gave (kept in a job's options, so that a resumed job
        moves and rewrites exactly what the interrupted one planned)."""
        data = dict(data)
        data["moves"] = [DatasetMove(**m) for m in data.get("moves", [])]
        data["edits"] = [AccessEdit(**_stored(e)) for e in data.get("edits", [])]
        data["blockers"] = [Blocker(**_stored(b)) for b in data.get("blockers", [])]
        return cls(**data)

    @property
    def empty(self) -> bool:
        return not self.moves and not self.edits


def _stored(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON edit or blocker without ``cell_number`` (derived, not a field)."""
    return {k: v for k, v in item.items() if k != "cell_number"}


def plan_to_store(plan: MigrationPlan) -> dict[str, Any]:
    """The plan as JSON for a job's options; tuples are tagged so that
    :func:`plan_from_store` gives back exactly the same values (a rewrite renders a
    tuple argument differently from a list)."""
    return _tag(plan.to_json())


def plan_from_store(data: dict[str, Any]) -> MigrationPlan:
    return MigrationPlan.from_json(_untag(data))


def _tag(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"__tuple__": [_tag(v) for v in value]}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    return value


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_untag(v) for v in value["__tuple__"])
        return {k: _untag(v) for k, v in value.items()}
    return value
