"""Shell lines (``!cat data/x.csv``) rewritten as one line of Python that prints what the
shell printed, from the data's new location.

IPython runs a shell line in a pseudo-terminal: its lines end with ``\\r\\n`` and ``ls``
lays names out in columns 80 characters wide. The helpers print exactly that, so the
migrated cell's output is the original's.
"""

from __future__ import annotations

import json
from typing import Any

#: setup-cell helpers (the same code for every destination kind)
SHELL_HELPERS = {
    "stork_shell": '''
def stork_shell(data):
    """Print bytes as a shell line in this notebook showed them (in a terminal: \\\\r\\\\n)."""
    print(data.decode("utf-8", "replace").replace("\\n", "\\r\\n"), end="")
''',
    "stork_head": '''
def stork_head(data, n, tail=False):
    """The first (or last) n lines of data, as head -n (tail -n) gives them."""
    lines = data.split(b"\\n")
    lines = [line + b"\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return b"".join((lines[-n:] if n else []) if tail else lines[:n])
''',
    "stork_columns": '''
def stork_columns(names, width=80):
    """Names in columns as ls shows them in a terminal width characters wide."""
    names = list(names)
    for cols in range(len(names), 0, -1):
        rows = -(-len(names) // cols)
        columns = [names[i:i + rows] for i in range(0, len(names), rows)]
        widths = [max(map(len, c)) + 2 for c in columns]
        if sum(widths) - 2 < width or rows == len(names):
            break
    lines = []
    for r in range(rows if names else 0):
        row = [(c[r], w) for c, w in zip(columns, widths) if r < len(c)]
        lines.append("".join(n.ljust(w) for n, w in row[:-1]) + row[-1][0] + "\\n")
    return "".join(lines).encode()
''',
}


def shell_code(api: str, where: str, kind: str, options: dict[str, Any],
               label: str | None) -> tuple[str, set[str]]:
    """The Python line for a shell access at ``where`` (path or URL); returns it and the
    setup-cell names it uses."""
    at = json.dumps(where, ensure_ascii=False)
    if kind == "file":
        path = f"pathlib.Path({at})"
        names = f"sorted(os.listdir({at}))"
        needs = {"pathlib"} | ({"os"} if api == "shell.ls" else set())
    else:
        path = f"StorkPath({at})"
        names = f"{path}.listdir()"
        needs = {"StorkPath"}
    data = f"{path}.read_bytes()"
    if api == "shell.cat":
        return f"stork_shell({data})", needs | {"stork_shell"}
    if api in ("shell.head", "shell.tail"):
        n = int(options.get("lines", 10))
        tail = ", tail=True" if api == "shell.tail" else ""
        return (f"stork_shell(stork_head({data}, {n}{tail}))",
                needs | {"stork_shell", "stork_head"})
    if api == "shell.wc":
        shown = json.dumps(label or where, ensure_ascii=False)
        return f'print({data}.count(b"\\n"), {shown}, end="\\r\\n")', needs
    if api == "shell.ls":
        return f"stork_shell(stork_columns({names}))", needs | {"stork_shell", "stork_columns"}
    if api == "shell.rm":
        return f"{path}.unlink(missing_ok=True)", needs
    raise ValueError(f"{api} is not rewritten")
