"""Parsing ``%stork`` lines with argparse, raising ``UsageError`` instead of exiting."""

from __future__ import annotations

import argparse
import shlex

from IPython.core.error import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would call sys.exit(2) in the kernel
        raise UsageError(f"%stork: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None):
        raise UsageError(message or self.format_help())


def _build() -> _Parser:
    parser = _Parser(prog="%stork", add_help=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    analyze = sub.add_parser("analyze", help="find every data access in the notebook")
    analyze.add_argument("notebook", nargs="?", help="default: the notebook of this kernel")
    analyze.add_argument("--store", default=None, help="metadata store URL or file")
    return parser


PARSER = _build()


def parse_magic_line(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"%stork: {e}") from None
    return PARSER.parse_args(words)
