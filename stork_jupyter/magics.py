"""``%stork`` / ``%%stork``: a thin door. Parsing lives in ``magic_args``; work in the engine."""

from __future__ import annotations

import html
import os
from argparse import Namespace
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .errors import StorkError, command_line
from .magic_args import parse_magic_line


def _show(text: str, html_text: str | None = None) -> None:
    html_text = html_text or f"<pre>{html.escape(text)}</pre>"
    display({"text/plain": text, "text/html": html_text}, raw=True)


def _show_migration(text: str, html_text: str, note: str) -> None:
    """A migration's summary, plan and per-cell diff, then what to do next (``note``)."""
    if note:
        text += "\n" + note
        html_text += f"<pre>{html.escape(note)}</pre>"
    _show(text, html_text)


#: How the magics word an error's next steps: ``%stork cancel 3``.
MAGIC_STEPS = command_line("%stork", {"watch": "%stork jobs"})


@magics_class
class StorkMagics(Magics):
    @line_cell_magic
    def stork(self, line: str, cell: str | None = None) -> None:
        """Stork: find a notebook's data, move it, rewrite the cells.

        %stork analyze [NB]            the data accesses of this (or NB's) notebook
        %stork migrate --to DEST       copy the data, rewrite the saved notebook
        %%stork migrate --to DEST      migrate this cell's data, run it, replace its text
        %stork undo [NB] / verify [NB] / jobs
        %stork browse                  datasets, jobs and records of the store (widgets)
        """
        args = parse_magic_line(line)
        try:
            if cell is not None:
                if args.command != "migrate":
                    raise UsageError("%%stork only supports: %%stork migrate --to DEST")
                return self._migrate_cell(args, cell)
            return getattr(self, f"_{args.command}")(args)
        except StorkError as e:  # a message for the user, not a traceback
            raise UsageError(e.worded(MAGIC_STEPS)) from None

    def _notebook(self, args: Namespace) -> Path:
        if getattr(args, "notebook", None):
            return Path(args.notebook)
        return current_notebook(self.shell.user_ns, os.environ, Path.cwd())

    def _analyze(self, args: Namespace) -> None:
        from .inventory import analyze_and_record
        from .report import analysis_html, analysis_text

        analysis = analyze_and_record(self._notebook(args), args.store)
        if self._widgets_likely():  # its bundle carries the same text and HTML tables
            from .widgets import AnalysisTable

            display(AnalysisTable(analysis))
            return
        _show(analysis_text(analysis), analysis_html(analysis))

    def _migrate(self, args: Namespace) -> None:
        from .frontend_comm import LINK
        from .migrate import migrate
        from .report import migration_display

        if args.notebook and Path(args.notebook).is_dir():
            return self._migrate_project(args)
        notebook = self._notebook(args)
        # -o writes a rewritten copy, as the CLI does; else with the JupyterLab panel
        # listening the open document takes the edits (unsaved, Ctrl+Z undoes them),
        # otherwise the saved file is rewritten.
        output = Path(args.output) if args.output else None
        to_document = LINK.ready and not args.dry_run and output is None
        try:
            if to_document:
                return self._migrate_document(args, notebook, LINK)
            result = migrate(notebook, args.to, output=output, in_place=output is None,
                             dry_run=args.dry_run,
                             partial=args.partial, allow_outside_root=args.allow_outside_root,
                             layout=args.layout, store=args.store,
                             progress=self._progress("migrate"))
        except KeyboardInterrupt as e:  # the kernel's interrupt pauses the job
            job = getattr(e, "stork_job_id", None)
            if job is None:
                raise
            _show(f"job {job} paused; {notebook} is unchanged. Continue with: %stork resume {job}")
            return
        text, html_text = migration_display(result, args.dry_run)
        note = ""
        if output is not None and not args.dry_run and result.changes:
            note = f"{notebook} is unchanged; the rewritten copy is {output}."
        elif not args.dry_run and result.changes:
            note = (f"{notebook} was rewritten on disk: reload it (File > Reload Notebook "
                    "from Disk) before saving, or your open copy will overwrite it.")
            if LINK.opened_in == self.shell.execution_count:
                note += ("\n(In JupyterLab with the Stork panel, load the extension in a cell "
                         "of its own first: the panel links from the next cell and then "
                         "rewrites the open notebook instead of the file.)")
        _show_migration(text, html_text, note)

    def _migrate_project(self, args: Namespace) -> None:
        """``%stork migrate FOLDER``: every notebook under it, in one job."""
        from .project import migrate_project

        output = Path(args.output) if args.output else None
        result = migrate_project([Path(args.notebook)], args.to, output_dir=output,
                                 in_place=output is None, dry_run=args.dry_run,
                                 partial=args.partial, layout=args.layout, store=args.store,
                                 allow_outside_root=args.allow_outside_root,
                                 progress=self._progress("migrate"))
        text = result.text()
        if output is None and result.job_id is not None:
            text += ("\nThe notebooks were rewritten on disk: reload an open one (File > "
                     "Reload Notebook from Disk) before saving it.")
        _show(text)

    def _migrate_document(self, args: Namespace, notebook: Path, link) -> None:
        """Migrate the saved notebook, and send the cell edits to the panel, which applies
        them to the open document (checking each cell still holds what was migrated)."""
        from .document import DocumentMigration
        from .report import migration_display

        run = DocumentMigration(notebook, args.to, partial=args.partial, layout=args.layout,
                                store=args.store, allow_outside_root=args.allow_outside_root)
        done = run.run(progress=self._progress("migrate"))
        text, html_text = migration_display(done.result)
        note = ""
        if done.job_id is not None and done.edits:
            link.send_edits(done.job_id, done.edits, done.setup_cell, done.output)
            note = (f"Sent {len(done.edits)} cell edit(s) to the notebook open in "
                     "JupyterLab: the Stork panel rewrites those cells there, unsaved (save "
                     "to keep them; Esc then Ctrl+Z undoes them), or, if one of them changed "
                     "since the notebook was saved, applies nothing and says which. "
                     f"{notebook.name} on disk is unchanged; the rewritten copy is "
                     f"{done.output}.")
        _show_migration(text, html_text, note)

    def _migrate_cell(self, args: Namespace, cell: str) -> None:
        from .analysis.seed import values_from_namespace
        from .cell_migrate import migrate_cell

        try:
            notebook = self._notebook(args)
        except UsageError:
            notebook = None
        result = migrate_cell(
            cell, args.to, notebook=notebook, cwd=Path.cwd(),
            seed=values_from_namespace(self.shell.user_ns), cell_id=self._cell_id(),
            partial=args.partial, allow_outside_root=args.allow_outside_root,
            layout=args.layout, store=args.store)
        if args.dry_run:
            _show(result.source)
            return
        # IPython hands the body over with a newline the cell itself does not end with
        new_text = result.source[:-1] if result.source.endswith("\n") else result.source
        self.shell.set_next_input(new_text, replace=True)
        self.shell.run_cell(result.source, store_history=False)

    def _cell_id(self) -> str | None:
        """JupyterLab and Notebook 7 send the cell's id with the execute request."""
        kernel = getattr(self.shell, "kernel", None)
        try:
            return kernel.get_parent().get("metadata", {}).get("cellId")  # type: ignore[union-attr]
        except Exception:  # a terminal IPython has no kernel and no cell ids
            return None

    def _undo(self, args: Namespace) -> None:
        notebook = self._notebook(args)
        if args.restore_data:
            from .importing import undo_with_data

            imported, n = undo_with_data(notebook, store=args.store, force=args.force,
                                         progress=self._progress("import"))
            _show(imported.text())
        else:
            from .undo import undo

            n = undo(notebook, args.store)
        _show(f"{notebook}: restored {n} cell(s) and removed the setup cell; reload it from disk.")

    def _resume(self, args: Namespace) -> None:
        from .report import migration_text
        from .resume import resume_job

        result = resume_job(args.job, store=args.store,
                            progress=self._progress(f"job {args.job}"))
        _show(result.text() if hasattr(result, "text") else migration_text(result))

    def _cancel(self, args: Namespace) -> None:
        from .jobs import cancel_job

        result = cancel_job(args.job, store=args.store)
        _show(result.text())

    def _import(self, args: Namespace) -> None:
        from .importing import import_dataset, import_notebook

        progress = self._progress("import")
        if args.dataset is not None:
            if not args.to:
                raise UsageError("%stork import --dataset ID needs --to PATH")
            result = import_dataset(args.dataset, Path(args.to), store=args.store,
                                    force=args.force, progress=progress)
        else:
            result = import_notebook(self._notebook(args), store=args.store, force=args.force,
                                     progress=progress)
        _show(result.text())

    def _sync(self, args: Namespace) -> None:
        from .sync import sync

        result = sync(self._notebook(args), store=args.store, progress=self._progress("sync"))
        _show(result.text())

    def _progress(self, title: str):
        """A progress widget in a notebook (one bar per dataset and one overall); in a
        terminal IPython, the tqdm bars the CLI uses."""
        if self._widgets_likely():
            from .widgets import ProgressWidget

            widget = ProgressWidget(title)
            display(widget)
            return widget
        from .terminal import TerminalReporter

        return TerminalReporter()

    def _verify(self, args: Namespace) -> None:
        from .verify import verify

        report = verify(self._notebook(args), store=args.store)
        _show(report.text())

    def _jobs(self, args: Namespace) -> None:
        from .report import JOB_COLUMNS, html_table, job_row, text_table
        from .store import open_store

        metadata = open_store(explicit=args.store)
        if self._widgets_likely():  # the pane owns the store and closes it with itself
            try:
                from .widgets import JobsPane

                pane = JobsPane(metadata, page_size=args.limit, owns_store=True)
            except BaseException:
                metadata.close()
                raise
            display(pane)
            return
        from .jobs import list_jobs

        with metadata:
            rows = [job_row(j) for j in list_jobs(metadata, limit=args.limit).items]
        _show(text_table(JOB_COLUMNS, rows), html_table(JOB_COLUMNS, rows))

    def _browse(self, args: Namespace) -> None:
        from .widgets import Browser

        try:
            notebook = self._notebook(args)
        except UsageError:  # analysing and undoing the current notebook need it, browsing not
            notebook = None
        display(Browser(args.store, notebook=notebook, page_size=args.page_size))

    def _widgets_likely(self) -> bool:
        """A kernel (JupyterLab, Notebook, VS Code, nbclient) with ipywidgets installed;
        a terminal IPython gets the text tables."""
        if getattr(self.shell, "kernel", None) is None:
            return False
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True


def current_notebook(user_ns: dict, environ: os._Environ | dict, cwd: Path) -> Path:
    """The notebook this kernel belongs to, from what JupyterLab, Notebook or VS Code set."""
    candidates = [user_ns.get("__vsc_ipynb_file__"), user_ns.get("__session__"),
                  environ.get("JPY_SESSION_NAME")]
    for name in filter(None, candidates):
        path = Path(str(name))
        if path.is_absolute():
            if path.is_file():
                return path
            continue
        # a session path is relative to the server's root, an ancestor of the kernel's cwd
        for base in (cwd, *cwd.parents):
            if (base / path).is_file():
                return base / path
        if (cwd / path.name).is_file():
            return cwd / path.name
    raise UsageError("Cannot tell which notebook this kernel runs; name it: "
                     "%stork analyze path/to/notebook.ipynb")
