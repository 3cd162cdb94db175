"""The ``stork`` command: a thin door over the engine. Errors become one line on stderr."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

from .prefetch import from_command_line

# ``stork migrate``: the big files its notebook names are hashed while the rest loads
from_command_line(sys.argv)

import click  # noqa: E402

# The engine loads a few hundred thousand objects that live as long as the command
# (libcst, SQLAlchemy, nbformat): the cyclic collector's passes over them, while they
# load and each time they age a generation, free nothing and cost about a tenth of a
# second of every command. They load without it and are then set aside (gc.freeze:
# never scanned again; reference counting still frees what is dropped).
_collecting = gc.isenabled()
gc.disable()
try:
    from . import __version__
    from .cells import cell_label
    from .errors import StorkError, command_line
    from .inventory import analyze_and_record
    from .report import (
        JOB_COLUMNS,
        analysis_text,
        human_size,
        job_detail_text,
        job_row,
        migration_text,
        problem_lines,
        text_table,
    )
    from .store import JOB_KINDS, JOB_STATES, Dataset, Job, Record, Transfer, open_store
finally:
    gc.freeze()
    if _collecting:
        gc.enable()

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


#: How the CLI words an error's next steps: ``stork cancel 3``.
CLI_STEPS = command_line("stork", {"watch": "stork jobs {target} --watch"})


def _clean_errors(f: Callable) -> Callable:
    """The one place engine outcomes become CLI behaviour: an engine error is the user's
    to fix (one line, no traceback); Ctrl+C during a transfer paused the job (the engine
    recorded it): say how to go on, exit 130."""
    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except StorkError as e:
            raise click.ClickException(e.worded(CLI_STEPS)) from None
        except KeyboardInterrupt as e:
            job = getattr(e, "stork_job_id", None)
            if job is None:
                raise
            click.echo(f"job {job} paused; continue it with: stork resume {job} (or remove "
                       f"what it sent with: stork cancel {job})", err=True)
            sys.exit(130)
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
        for line in problem_lines(analysis):
            click.echo(line, err=True)
    else:
        click.echo(analysis_text(analysis))


def _listing(entity: type, columns: Sequence[str], row: Callable[[Any], Sequence[Any]],
             to_json: Callable[[Any], Any] | None = None):
    """A list command over one store entity, with paging, a status filter and --json;
    ``id=`` lists that one (an unknown id is an error, as for every command)."""
    def command(as_json: bool, store: str | None, limit: int, offset: int,
                status: str | None = None, notebook: str | None = None,
                id: int | None = None) -> None:
        filters: dict[str, Any] = {}
        if notebook:
            filters["notebook"] = notebook
        if id is not None:
            filters["id"] = id
        with open_store(explicit=store) as metadata:
            if id is not None:
                metadata.get(entity, id)
            items, total = metadata.page(entity, limit=limit, offset=offset, status=status,
                                         **filters)
        if as_json:
            click.echo(json.dumps([(to_json or entity.to_json)(i) for i in items], indent=2,
                                  default=str))
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
             lambda d: (d.id, d.source_path, d.format, human_size(d.size),
                        None if d.row_count is None else f"{d.row_count:,}", d.version,
                        (d.sha256 or "")[:12]))(as_json, store, limit, offset)


@cli.command()
@click.argument("job", type=int, required=False)
@json_option
@store_option
@_paging
@click.option("--status", default=None, type=click.Choice(JOB_STATES),
              help="Only jobs with this status.")
@click.option("--kind", default=None, type=click.Choice(JOB_KINDS),
              help="Only jobs of this kind (analyze jobs are listed only when asked).")
@click.option("--all", "all_kinds", is_flag=True, help="Every kind of job, analyze included.")
@click.option("--notebook", default=None, help="Only jobs of this notebook (relative to the root).")
@click.option("--watch", is_flag=True,
              help="Refresh JOB (default: the newest unfinished job) until it ends; its "
                   "progress bar goes to stderr.")
@click.option("--interval", default=1.0, show_default=True,
              help="Seconds between refreshes with --watch (0.1 to 10).")
@click.option("--timeout", default=None, type=float, help="Stop watching after this many seconds.")
@_clean_errors
def jobs(job: int | None, as_json: bool, store: str | None, limit: int, offset: int,
         status: str | None, kind: str | None, all_kinds: bool, notebook: str | None,
         watch: bool, interval: float, timeout: float | None) -> None:
    """List jobs (migrate, import, sync, undo; analyze ones with --all), newest first,
    with the notebook each read and the one it wrote; or JOB with its transfers.

    A running job whose process is gone shows as "interrupted" (stork resume JOB).
    Example: stork jobs --watch 12
    """
    from .jobs import job_json, job_state, list_jobs

    if watch:
        _watch(job, store, interval, timeout, as_json)
        return
    if job is not None:
        with open_store(explicit=store) as metadata:
            found = metadata.get(Job, job)  # an unknown id is an error, as for every command
            transfers = metadata.list(Transfer, job_id=job, limit=None, order="oldest")
        if as_json:
            click.echo(json.dumps({**job_json(found), "transfers": [
                t.to_json() for t in transfers]}, indent=2, default=str))
        else:
            click.echo(job_detail_text(found, transfers, job_state(found)))
        return
    filters: dict[str, Any] = {"notebook": notebook} if notebook else {}
    with open_store(explicit=store) as metadata:
        page = list_jobs(metadata, limit=limit, offset=offset, state=status, kind=kind,
                         all_kinds=all_kinds, **filters)
    if as_json:
        click.echo(json.dumps([job_json(j) for j in page.items], indent=2, default=str))
        return
    rows = [[_cell(v) for v in job_row(j)] for j in page.items]
    for r, j in zip(rows, page.items, strict=True):
        r[JOB_COLUMNS.index("status")] = job_state(j)
    click.echo(text_table(JOB_COLUMNS, rows))
    hidden = (f" ({page.hidden} analyze job{'s' if page.hidden != 1 else ''} not listed: "
              "--all shows them)") if page.hidden else ""
    click.echo(f"{len(page.items)} of {page.total} shown{hidden}", err=True)


def _watch(job_id: int | None, store: str | None, interval: float, timeout: float | None,
           as_json: bool) -> None:
    from tqdm import tqdm

    from .jobs import job_json, job_state, watch_job

    bar = None
    last = None
    try:
        for job in watch_job(job_id, store=store, interval=interval, timeout=timeout):
            if bar is None:
                bar = tqdm(total=100, desc=f"job {job.id} ({job.kind})", unit="%",
                           file=sys.stderr, leave=False, bar_format="{l_bar}{bar}| {n:.0f}%")
            bar.update(job.progress * 100 - bar.n)
            bar.set_postfix_str(job_state(job), refresh=True)
            last = job
    finally:
        if bar is not None:
            bar.close()
    if last is None:
        return
    if as_json:
        click.echo(json.dumps(job_json(last), indent=2, default=str))
    else:
        row = [_cell(v) for v in job_row(last)]
        row[JOB_COLUMNS.index("status")] = job_state(last)
        click.echo(text_table(JOB_COLUMNS, [row]))


progress_option = click.option(
    "--progress/--no-progress", default=None,
    help="Progress bars on stderr (default: when stderr is a terminal).")


def _bars(progress: bool | None, as_json: bool = False):
    """tqdm bars on stderr, so --json output on stdout stays clean."""
    from .terminal import TerminalReporter

    if progress is False:
        return None
    return TerminalReporter(force=bool(progress))


@cli.command()
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="NOTEBOOK|FOLDER...")
@click.option("--to", "to", required=True, metavar="DEST",
              help="file:///dir or a folder, s3://bucket/prefix, or a name from stork.toml.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the migrated notebook here (NOTEBOOK is left unchanged); for a "
                   "folder or several notebooks, the folder their copies go under.")
@click.option("--in-place", is_flag=True, help="Rewrite NOTEBOOK itself (atomically).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the cell diff; change nothing.")
@click.option("--partial", is_flag=True,
              help="Migrate what can be, and list the accesses that still read local files.")
@click.option("--allow-outside-root", is_flag=True,
              help="Also move files outside the project root.")
@click.option("--layout", type=click.Choice(["mirror", "flat"]), default=None,
              help="Folder layout at the destination (default: mirror, or stork.toml's).")
@click.option("--parallel", type=click.IntRange(1, 64), default=None,
              help="Datasets moved at once (default: stork.toml [transfer] parallel, else 2).")
@progress_option
@json_option
@store_option
@_clean_errors
def migrate(notebooks: tuple[Path, ...], to: str, output: Path | None, in_place: bool,
            dry_run: bool, partial: bool, allow_outside_root: bool, layout: str | None,
            parallel: int | None, progress: bool | None, as_json: bool,
            store: str | None) -> None:
    """Move NOTEBOOK's data to DEST and rewrite its cells to read it from there.

    A FOLDER (every notebook under it) or several notebooks migrate as one project, in
    one job: each file is copied once however many notebooks read it, and the copies of
    the notebooks keep their paths under -o OUTDIR.

    Example: stork migrate notebooks/sales_analysis.ipynb --to s3://team-data/lake -o sales.s3.ipynb

    Example: stork migrate notebooks/ --to s3://team-data/lake -o migrated/
    """
    from .migrate import migrate as run_migration

    if output is not None and in_place:
        raise click.UsageError("give either -o OUT or --in-place, not both")
    if len(notebooks) > 1 or notebooks[0].is_dir():
        from .project import migrate_project

        project = migrate_project(list(notebooks), to, output_dir=output, in_place=in_place,
                                  dry_run=dry_run, partial=partial,
                                  allow_outside_root=allow_outside_root, layout=layout,
                                  store=store, progress=_bars(progress, as_json),
                                  parallel=parallel)
        click.echo(json.dumps(project.to_json(), indent=2) if as_json else project.text())
        return
    notebook = notebooks[0]
    result = run_migration(notebook, to, output=output, in_place=in_place, dry_run=dry_run,
                           partial=partial, allow_outside_root=allow_outside_root,
                           layout=layout, store=store, progress=_bars(progress, as_json),
                           parallel=parallel)
    if as_json:
        click.echo(json.dumps({"plan": result.plan.to_json(), "diff": result.diff,
                               "job_id": result.job_id,
                               "output": str(result.output) if result.output else None},
                              indent=2))
        return
    click.echo(migration_text(result, dry_run))


@cli.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@store_option
@click.option("--restore-data", is_flag=True,
              help="First bring the migrated data back to its local files (stork import).")
@click.option("--force", is_flag=True, help="With --restore-data: overwrite local files "
              "that differ from the migrated ones.")
@_clean_errors
def undo(notebook: Path, store: str | None, restore_data: bool, force: bool) -> None:
    """Restore the original source of every cell a migration rewrote in NOTEBOOK."""
    from .undo import undo as run_undo

    if restore_data:
        from .importing import undo_with_data

        imported, n = undo_with_data(notebook, store=store, force=force)
        click.echo(imported.text())
    else:
        n = run_undo(notebook, store)
    click.echo(f"{notebook}: restored {n} cell{'s' if n != 1 else ''}; setup cell removed")


@cli.command()
@json_option
@store_option
@_paging
@click.option("--notebook", default=None, help="Only records of this notebook.")
@click.option("--status", default=None, help="applied or undone.")
@_clean_errors
def records(as_json: bool, store: str | None, limit: int, offset: int, notebook: str | None,
            status: str | None) -> None:
    """List rewritten data accesses (one per call), newest first."""
    _listing(Record, ("id", "job", "notebook", "cell", "line", "api", "status"),
             lambda r: (r.id, r.job_id, r.notebook, cell_label(r.cell_index, r.cell_id, word=False),
                        r.line, r.api,
                        r.status))(as_json, store, limit, offset, status, notebook)


@cli.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--timeout", default=300, show_default=True, help="Seconds per cell.")
@click.option("--rerun", is_flag=True, help="Compare with the original notebook executed "
              "now with its data, not with the outputs stored in NOTEBOOK.")
@store_option
@_clean_errors
def verify(notebook: Path, timeout: int, rerun: bool, store: str | None) -> None:
    """Run the migrated NOTEBOOK where its migrated files are absent and compare every
    cell's stdout and results (stderr left out) with the original's: its stored outputs,
    or the original executed with its data when they are missing (or with --rerun).
    Every cell runs; each is reported equal, differs (a short diff) or errors."""
    from .verify import verify as run_verify

    report = run_verify(notebook, store=store, timeout=timeout, rerun=rerun)
    click.echo(report.text())
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Where to save the executed notebook (default: NOTEBOOK itself).")
@click.option("--timeout", default=300, show_default=True, help="Seconds per cell.")
@_clean_errors
def run(notebook: Path, output: Path | None, timeout: int) -> None:
    """Execute NOTEBOOK in a kernel (in its folder) and save it with its outputs."""
    from .execute import execute_notebook
    from .notebook import write_notebook

    executed = execute_notebook(notebook, timeout=timeout)
    write_notebook(executed, output or notebook)
    click.echo(f"{notebook}: executed, saved to {output or notebook}")


# --------------------------------------------------------------------------- transfers


@cli.command()
@click.argument("job", type=int)
@click.option("--parallel", type=click.IntRange(1, 64), default=None,
              help="Datasets moved at once (default: stork.toml [transfer] parallel, else 2).")
@click.option("--force", is_flag=True,
              help="Resume a job recorded as running on another host (its process is gone).")
@progress_option
@json_option
@store_option
@_clean_errors
def resume(job: int, parallel: int | None, force: bool, progress: bool | None, as_json: bool,
           store: str | None) -> None:
    """Continue a paused, failed or interrupted migrate/sync JOB where it stopped, then
    finish it (rewrite and write the notebook as the migrate asked).

    Example: stork resume 12
    """
    from .resume import resume_job
    from .sync import SyncResult

    result = resume_job(job, store=store, progress=_bars(progress, as_json),
                        parallel=parallel, force=force)
    if isinstance(result, SyncResult):
        click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.text())
        return
    if as_json:
        click.echo(json.dumps({"job_id": result.job_id, "output": str(result.output),
                               "diff": result.diff}, indent=2))
        return
    click.echo(migration_text(result))


@cli.command()
@click.argument("job", type=int)
@json_option
@store_option
@_clean_errors
def cancel(job: int, as_json: bool, store: str | None) -> None:
    """Cancel JOB and remove what it left at the destination (unfinished multipart
    uploads, staging tables, .part files, and copies it made that nothing else uses)."""
    from .jobs import cancel_job

    result = cancel_job(job, store=store)
    if as_json:
        click.echo(json.dumps(result.__dict__, indent=2))
        return
    click.echo(result.text())


@cli.command("import")
@click.argument("what")
@click.option("--to", "to", type=click.Path(path_type=Path), default=None,
              help="With a dataset id: the local file to write.")
@click.option("--force", is_flag=True, help="Overwrite local files that differ.")
@progress_option
@json_option
@store_option
@_clean_errors
def import_(what: str, to: Path | None, force: bool, progress: bool | None, as_json: bool,
            store: str | None) -> None:
    """Bring migrated data back to local files, verified: WHAT is a dataset id (with
    --to PATH) or a notebook (every dataset of its last migration, to its original
    path). A table comes back re-exported with pandas: equal in content to the original
    file, not byte for byte (unless pandas wrote the original).

    Examples: stork import 7 --to data/sales.csv; stork import analysis.ipynb
    """
    from .importing import import_dataset, import_notebook

    bars = _bars(progress, as_json)
    if what.isdigit():
        if to is None:
            raise click.UsageError("a dataset id needs --to PATH")
        result = import_dataset(int(what), to, store=store, force=force, progress=bars)
    else:
        if to is not None:
            raise click.UsageError("--to goes with a dataset id, not a notebook")
        result = import_notebook(Path(what), store=store, force=force, progress=bars)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.text())


@cli.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("--parallel", type=click.IntRange(1, 64), default=None,
              help="Datasets moved at once (default: stork.toml [transfer] parallel, else 2).")
@progress_option
@json_option
@store_option
@_clean_errors
def sync(notebook: Path, parallel: int | None, progress: bool | None, as_json: bool,
         store: str | None) -> None:
    """Send again the datasets of NOTEBOOK's last migration whose source changed (sha256);
    unchanged ones are skipped and listed.

    Example: stork sync analysis.ipynb
    """
    from .sync import sync as run_sync

    result = run_sync(notebook, store=store, progress=_bars(progress, as_json),
                      parallel=parallel)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.text())


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=argv, prog_name="stork")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
