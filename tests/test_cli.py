"""The command line shell: help, version, and how expected errors become exit codes."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from syncbot import __version__
from syncbot.cli import cli, main
from syncbot.errors import EXIT_INVALID, SafetyStop


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture
def extra_command():
    """A throwaway command registered on the real group, to exercise main()'s error mapping."""
    added: list[str] = []

    def add(command: click.Command) -> None:
        cli.add_command(command)
        added.append(command.name)

    yield add
    for name in added:
        cli.commands.pop(name, None)


def test_version_and_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"syncbot, version {__version__}")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Exit codes: 0 success" in out and "--config PATH" in out


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "syncbot", "--version"], capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0 and __version__ in done.stdout


def test_config_errors_exit_2_with_every_problem_and_no_traceback(capsys, tmp_path, extra_command,
                                                                  monkeypatch):
    @click.command("needs-config")
    @click.pass_obj
    def needs_config(ctx):
        ctx.config()

    extra_command(needs_config)
    path = tmp_path / "syncbot.toml"
    path.write_text("[mailchimp]\nlookback_days = 1\n[sheets]\nspreadsheet_id = \"1AbCdEfGhIjKlMnOp\"\n")
    secret = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("MAILCHIMP_API_KEY", secret)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    code, out, err = run(capsys, "--config", str(path), "needs-config")
    assert code == EXIT_INVALID
    assert f"Error: The configuration cannot be used ({path}):" in err
    assert "[mailchimp] list_id is missing" in err
    assert "[mailchimp] lookback_days must be 7..365 (got 1)." in err
    assert "MAILCHIMP_API_KEY does not look like a Mailchimp API key" in err
    assert "GOOGLE_APPLICATION_CREDENTIALS is not set" in err
    assert "Traceback" not in err and secret not in err + out


def test_other_expected_errors_keep_their_exit_code(capsys, extra_command):
    @click.command("stops")
    def stops():
        raise SafetyStop("would remove lead:hot from 80% of tagged members")

    extra_command(stops)
    code, _, err = run(capsys, "stops")
    assert code == 3 and err.strip() == "Error: would remove lead:hot from 80% of tagged members"


def test_usage_errors_are_click_style(capsys):
    code, _, err = run(capsys, "no-such-command")
    assert code == 2 and "No such command" in err
