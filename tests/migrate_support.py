"""Helpers shared by the migration tests: the ``stork`` CLI run in-process, small
notebooks and projects written to disk, and checks on what a run left behind."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import nbformat
from click.testing import CliRunner, Result
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from stork_jupyter.cli import cli
from stork_jupyter.rewrite.setup_cell import SETUP_KEY

#: Files of the small project most tests migrate (relative to its folder).
SMALL_FILES = {
    "data/a.csv": "x,y\n1,2\n3,4\n",
    "data/cfg.json": '{"scale": 10}\n',
}


def stork(*args: str | Path) -> Result:
    """Run ``stork ARGS`` in this process (environment and cwd as they are now).

    Fails the test when the command raised anything but a clean exit: a door must
    turn every error into a message, never a traceback."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"stork {' '.join(map(str, args))} raised "
                             f"{result.exception!r}\n{result.output}") from result.exception
    return result


def assert_one_line_error(result: Result, *expected: str) -> str:
    """A failed command: non-zero exit, exactly one line on stderr, no traceback, no
    output on stdout; each of ``expected`` appears in that line. Returns the line."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def write_nb(path: Path, *sources: str, markdown: str | None = "# A notebook") -> Path:
    """A notebook of code cells (after an optional markdown title), saved as nbformat
    does it, with cell ids and a python3 kernelspec."""
    cells = [new_markdown_cell(markdown)] if markdown is not None else []
    cells += [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def small_project(folder: Path, *sources: str, files: dict[str, str | bytes] | None = None
                  ) -> Path:
    """``folder/nb.ipynb`` with ``sources`` as code cells, and its data files
    (default: ``SMALL_FILES``). Returns the notebook's path."""
    write_files(folder, SMALL_FILES if files is None else files)
    return write_nb(folder / "nb.ipynb", *sources)


def read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def setup_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indexes of the cells stork marked as its setup cell."""
    return [i for i, c in enumerate(nb.cells)
            if c.get("metadata", {}).get(SETUP_KEY, {}).get("setup")]


def without_setup(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in setup_cells(nb)]
    return nb


def code_sources(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of the code cells other than the setup cell."""
    return [c.source for c in without_setup(nb).cells if c.cell_type == "code"]


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative POSIX path -> sha256); {} when absent."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def bucket_keys(s3, prefix: str = "") -> list[str]:
    """Every object key in the test bucket (under ``prefix``)."""
    client = s3.client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket,
                                                                  Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def all_text(paths: Iterable[Path]) -> str:
    return "\n".join(p.read_text() for p in paths)
