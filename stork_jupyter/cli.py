"""The ``stork`` command: a thin door over the engine. Errors become one line on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import find_project_root
from .errors import StorkError
from .inventory import analyze_and_record
from .report import analysis_text, text_table
from .store import Dataset, Job, open_store

store_option = click.option(
    "--store", metavar="URL", default=None,
    help="Metadata store: a SQLite file or a SQLAlchemy URL (default: $STORK_STORE, "
         "else <project root>/.stork/stork.db).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
paging_options = [
    click.option("--limit", default=50, show_default=True, help="How many rows."),
    click.option("--offset", default=0, show_default=True, help="Rows to skip."),
]


def _paging(f: Callable) -> Callable:
    for option in reversed(paging_options):
        f = option(f)
    return f


def _clean_errors(f: Callable) -> Callable:
    """Engine errors are the user's to fix: one line, no traceback."""
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except StorkError as e:
            raise click.ClickException(str(e)) from None
    return wrapper


@click.group()
@click.version_option(__version__, prog_name="stork")
def cli() -> None:
    """Stork moves a notebook's data to PostgreSQL, S3 or another folder and rewrites
    its cells so it runs the same from there."""


@cli.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@json_option
@store_option
@click.option("--no-record", is_flag=True, help="Do not write the result to the metadata store.")
@_clean_errors
def analyze(notebook: Path, as_json: bool, store: str | None, no_record: bool) -> None:
    """Find every data access in NOTEBOOK.

    Example: stork analyze notebooks/sales_analysis.ipynb --json
    """
    analysis = analyze_and_record(notebook, store, record=not no_record)
    if as_json:
        click.echo(json.dumps([a.to_json() for a in analysis.accesses], indent=2))
        for p in analysis.problems:
            click.echo(f"{notebook}: cell {p.cell_index}, line {p.line}: {p.message}", err=True)
    else:
        click.echo(analysis_text(analysis))


def _listing(entity: type, columns: Sequence[str], row: Callable[[Any], Sequence[Any]]):
    """A list command over one store entity, with paging, a status filter and --json."""
    def command(as_json: bool, store: str | None, limit: int, offset: int,
                status: str | None = None, notebook: str | None = None) -> None:
        root = find_project_root(Path.cwd())
        filters: dict[str, Any] = {}
        if notebook:
            filters["notebook"] = notebook
        with open_store(root, store) as metadata:
            items = metadata.list(entity, limit=limit, offset=offset, status=status, **filters)
            total = metadata.count(entity, status=status, **filters)
        if as_json:
            click.echo(json.dumps([i.to_json() for i in items], indent=2, default=str))
            return
        click.echo(text_table(columns, [[_cell(v) for v in row(i)] for i in items]))
        click.echo(f"{len(items)} of {total} shown", err=True)
    return command


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


@cli.command()
@json_option
@store_option
@_paging
@_clean_errors
def datasets(as_json: bool, store: str | None, limit: int, offset: int) -> None:
    """List the datasets the metadata store knows, newest first."""
    _listing(Dataset, ("id", "path", "format", "size", "rows", "version", "sha256"),
             lambda d: (d.id, d.source_path, d.format, d.size, d.row_count, d.version,
                        (d.sha256 or "")[:12]))(as_json, store, limit, offset)


@cli.command()
@json_option
@store_option
@_paging
@click.option("--status", default=None, help="Only jobs with this status.")
@click.option("--notebook", default=None, help="Only jobs of this notebook (relative to the root).")
@_clean_errors
def jobs(as_json: bool, store: str | None, limit: int, offset: int, status: str | None,
         notebook: str | None) -> None:
    """List jobs (analyze, migrate, import, sync), newest first."""
    _listing(Job, ("id", "kind", "status", "progress", "notebook", "destination", "finished"),
             lambda j: (j.id, j.kind, j.status, f"{j.progress:.0%}", j.notebook, j.destination,
                        j.finished_at))(as_json, store, limit, offset, status, notebook)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=argv, prog_name="stork")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
