"""Shell lines of a cell (``!cat data/x.csv``): which files they read, list or remove.

A few commands are understood well enough to be rewritten as Python that gives the same
output from the destination (``cat``, ``head``, ``wc -l``, ``rm``, ``ls``). Any other shell
line that names a file of the project is reported, never migrated: it would still read
the local file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

#: Commands that work on files: with a run-time name in them they are reported unresolved.
_FILE_COMMANDS = frozenset({"cat", "head", "tail", "wc", "rm", "ls", "cp", "mv", "less",
                            "more", "unzip", "gunzip", "tar", "sort", "grep", "awk", "sed"})
#: Characters that make a line more than one simple command (or expand at run time).
_SPECIAL = re.compile(r"[|&;<>`$(){}*?\[\]]")


@dataclass
class ShellCommand:
    """One shell line: the command, the paths it works on, its options."""

    api: str  #: ``shell.cat``, ``shell.head``, ``shell.wc``, ``shell.rm``, ``shell.ls``, ``shell``
    mode: str  #: ``read`` or ``write``
    paths: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  #: why it cannot be rewritten (then ``api`` is ``shell``)


def parse_shell(command: str) -> ShellCommand:
    """What ``!command`` does with files (``command`` without the ``!``)."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    candidates = [w for w in words[1:] if not w.startswith("-")]
    if not words:
        return ShellCommand("shell", "read", [], reason="an empty shell line")
    if _SPECIAL.search(command) and words[0] in _FILE_COMMANDS and re.search(r"[$`{]", command):
        return ShellCommand("shell", "read", [], reason="the shell line expands names known "
                            "only at run time")
    if _SPECIAL.search(command):
        return ShellCommand("shell", "read", candidates,
                            reason="a shell line with pipes, redirections, patterns or "
                                   "variables cannot be rewritten")
    name, args = words[0], words[1:]
    operands = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if name == "cat" and not flags and len(operands) == 1:
        return ShellCommand("shell.cat", "read", operands)
    if name in ("head", "tail"):
        lines = _line_count(args)
        files = operands[1:] if args[:1] == ["-n"] else operands
        if lines is not None and len(files) == 1 and len(flags) <= 1:
            return ShellCommand(f"shell.{name}", "read", files, {"lines": lines})
    if name == "wc" and flags == ["-l"] and len(operands) == 1:
        return ShellCommand("shell.wc", "read", operands)
    if name == "rm" and set(flags) <= {"-f"} and len(operands) >= 1:
        return ShellCommand("shell.rm", "write", operands, {"missing_ok": bool(flags)})
    if name == "ls" and not flags and len(operands) <= 1:
        return ShellCommand("shell.ls", "read", operands or ["."])
    return ShellCommand("shell", "read", candidates,
                        reason=f"the shell command '{name}' with these options is not "
                               "rewritten")


def _line_count(args: list[str]) -> int | None:
    """``-n 5``, ``-n5``, ``-5`` or nothing (10), as head and tail take it."""
    if not args or not args[0].startswith("-"):
        return 10
    first = args[0]
    if first == "-n" and len(args) > 1 and args[1].isdigit():
        return int(args[1])
    if first.startswith("-n") and first[2:].isdigit():
        return int(first[2:])
    if first[1:].isdigit():
        return int(first[1:])
    return None
