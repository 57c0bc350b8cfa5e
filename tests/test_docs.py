"""Every command and option has help, and the README documents every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from syncbot.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
SPEC_COMMANDS = {"init", "sync", "plan", "serve", "check", "demo"}


def test_every_spec_command_exists():
    assert set(cli.commands) == SPEC_COMMANDS


@pytest.mark.parametrize("name", sorted(SPEC_COMMANDS))
def test_every_command_and_option_has_help_and_is_in_the_readme(name):
    command = cli.commands[name]
    assert command.help and len(command.help) > 30
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"
    assert f"`syncbot {name}`" in README
