"""The big files a notebook names in string literals, hashed from the moment ``stork
migrate`` starts.

The command's imports take a few tenths of a second of Python; hashing a big file holds
no interpreter lock. So before importing the engine the command reads the notebook,
takes the string literals of its code cells that name existing files of some size
(``"data/sales.csv"``, relative to the notebook's folder as its kernel resolves them),
and begins their sha256 (``checksum.begin_early``). The plan is made as always: it asks
for the digests of the files the analysis found, and finds those begun here done or
under way; a literal that is no data access costs a hash the plan stops when it is made.

Only the standard library is imported here: this runs before everything else.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .checksum import begin_early

#: a smaller file hashes in milliseconds: not worth a guess
MIN_BYTES = 16 * 1024 * 1024
#: a notebook bigger than this (outputs, mostly) is not read twice
MAX_NOTEBOOK_BYTES = 8 * 1024 * 1024
MAX_FILES = 16
#: a one-line string literal (with an optional r/b/u prefix; f-strings are left out)
_LITERAL = re.compile(r"""(?<![\w'"])[rRbBuU]?(['"])([^'"\\\n\r{}]{1,1024})\1""")
_COMMANDS = ("stork", "cli.py")


def from_command_line(argv: list[str]) -> None:
    """For ``stork migrate NOTEBOOK...``: begin hashing the files its notebooks name."""
    if len(argv) < 3 or argv[1] != "migrate" or os.path.basename(argv[0]) not in _COMMANDS:
        return
    args = argv[2:]
    files: list[Path] = []
    for i, arg in enumerate(args):
        if arg.endswith(".ipynb") and (i == 0 or args[i - 1] not in ("-o", "--output")):
            files += named_files(Path(arg))
    if files:
        begin_early(list(dict.fromkeys(files))[:MAX_FILES])


def named_files(notebook: Path) -> list[Path]:
    """The existing files of at least :data:`MIN_BYTES` that the code cells of
    ``notebook`` name in string literals, in the order they are named."""
    try:
        if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
            return []
        cells = json.loads(notebook.read_bytes()).get("cells", [])
        folder = notebook.resolve().parent
    except (OSError, ValueError, AttributeError):
        return []
    found: list[Path] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(line) for line in source)
        for match in _LITERAL.finditer(str(source)):
            try:
                path = (folder / os.path.expanduser(match.group(2))).resolve()
                if path.is_file() and path.stat().st_size >= MIN_BYTES:
                    found.append(path)
            except (OSError, ValueError, RuntimeError):
                continue
    return list(dict.fromkeys(found))


__all__ = ["MIN_BYTES", "from_command_line", "named_files"]
