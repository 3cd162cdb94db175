"""``%stork`` / ``%%stork``: a thin door. Parsing lives in ``magic_args``; work in the engine."""

from __future__ import annotations

import os
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .errors import StorkError
from .inventory import analyze_and_record
from .magic_args import parse_magic_line
from .report import analysis_html, analysis_text


@magics_class
class StorkMagics(Magics):
    @line_cell_magic
    def stork(self, line: str, cell: str | None = None) -> None:
        """Stork: %stork analyze [NOTEBOOK] [--store URL]"""
        args = parse_magic_line(line)
        try:
            if args.command == "analyze":
                notebook = Path(args.notebook) if args.notebook else self.current_notebook()
                analysis = analyze_and_record(notebook, args.store)
                display({"text/html": analysis_html(analysis),
                         "text/plain": analysis_text(analysis)}, raw=True)
        except StorkError as e:  # a message for the user, not a traceback
            raise UsageError(str(e)) from None

    def current_notebook(self) -> Path:
        return current_notebook(self.shell.user_ns, os.environ, Path.cwd())


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
