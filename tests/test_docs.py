"""The README documents every CLI command and magic subcommand, and each has help."""

from __future__ import annotations

from pathlib import Path

from stork_jupyter.cli import cli
from stork_jupyter.magic_args import PARSER

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_cli_command_has_help_and_is_in_the_readme():
    for name, command in cli.commands.items():
        assert (command.help or "").strip(), f"stork {name} has no help"
        assert f"stork {name}" in README, f"README does not mention stork {name}"


def test_every_magic_subcommand_is_in_the_readme():
    subcommands = next(a for a in PARSER._actions if a.dest == "command").choices
    for name in subcommands:
        assert f"%stork {name}" in README, f"README does not mention %stork {name}"


def test_the_quickstart_commands_are_the_ones_ci_runs():
    assert "make demo" in README and "make test" in README
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
