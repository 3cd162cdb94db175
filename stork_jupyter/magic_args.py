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

    def print_help(self, file=None):  # -h: the help is shown once, by exit()'s UsageError
        pass


def _notebook_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook", nargs="?", help="default: the notebook of this kernel")
    p.add_argument("--store", default=None, help="metadata store URL or file")


def _build() -> _Parser:
    parser = _Parser(prog="%stork", add_help=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _notebook_arg(sub.add_parser("analyze", help="find every data access in the notebook"))
    migrate = sub.add_parser("migrate", help="move the data and rewrite the cells")
    _notebook_arg(migrate)
    migrate.add_argument("--to", required=True, help="a folder, s3://bucket/prefix or a name")
    migrate.add_argument("-o", "--output", default=None,
                         help="where the rewritten copy goes (a folder migrated as a "
                              "project: where its copies go); default: rewritten in place")
    migrate.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    migrate.add_argument("--partial", action="store_true", help="migrate what can be")
    migrate.add_argument("--allow-outside-root", action="store_true")
    migrate.add_argument("--layout", choices=["mirror", "flat"], default=None)
    undo = sub.add_parser("undo", help="restore the cells a migration rewrote")
    _notebook_arg(undo)
    undo.add_argument("--restore-data", action="store_true",
                      help="also bring the migrated files back first")
    undo.add_argument("--force", action="store_true", help="overwrite differing local files")
    for name, text in (("resume", "continue a paused or interrupted job"),
                       ("cancel", "cancel a job and remove what it left at the destination")):
        job = sub.add_parser(name, help=text)
        job.add_argument("job", type=int)
        job.add_argument("--store", default=None)
    imp = sub.add_parser("import", help="bring migrated data back to local files")
    _notebook_arg(imp)
    imp.add_argument("--dataset", type=int, default=None, help="one dataset id (with --to)")
    imp.add_argument("--to", default=None, help="local path for --dataset")
    imp.add_argument("--force", action="store_true", help="overwrite differing local files")
    _notebook_arg(sub.add_parser("sync", help="re-send the datasets whose source changed"))
    _notebook_arg(sub.add_parser("verify", help="run the migrated notebook without its files"))
    jobs = sub.add_parser("jobs", help="recent jobs")
    jobs.add_argument("--limit", type=int, default=10)
    jobs.add_argument("--store", default=None)
    browse = sub.add_parser("browse", help="datasets, jobs and records of the store, as widgets")
    browse.add_argument("--store", default=None, help="metadata store URL or file")
    browse.add_argument("--page-size", type=int, default=20)
    return parser


PARSER = _build()


def parse_magic_line(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"%stork: {e}") from None
    return PARSER.parse_args(words)
