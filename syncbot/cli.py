"""The ``syncbot`` command line: parse, wire, print, map errors to exit codes.

Commands are thin: they load the config, call the library and print. The only
place that turns an exception into an exit code is ``main``; an expected
error (``SyncbotError``) prints its message and no traceback, ``-v`` adds it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from syncbot import __version__
from syncbot.config import Config, load_config, resolve_path
from syncbot.errors import EXIT_FAILURE, SyncbotError
from syncbot.text import t

log = logging.getLogger("syncbot")


class Context:
    """What every command gets: where the config is and how chatty to be."""

    def __init__(self, config_path: str | None, verbose: int) -> None:
        self.config_path = resolve_path(config_path)
        self.verbose = verbose

    def with_overrides(self, config_path: str | None, verbose: int) -> Context:
        """Options given after the command name win over those given before it."""
        if config_path:
            self.config_path = resolve_path(config_path)
        self.verbose = max(self.verbose, verbose)
        return self

    def config(self, *, require_secrets: bool = True) -> Config:
        return load_config(self.config_path, require_secrets=require_secrets)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` and ``-v`` on every command as well as on the group."""
    func = click.option("--config", "config_path", metavar="PATH", default=None,
                        help="Config file (default: $SYNCBOT_CONFIG, else ./syncbot.toml).")(func)
    func = click.option("-v", "--verbose", count=True,
                        help="More detail; repeat for debug output.")(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="syncbot")
@common_options
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Score the leads in a Google Sheet with your team's rules and write the
    segments back to Mailchimp as tags.

    Exit codes: 0 success, 1 failure, 2 invalid config or rules (nothing
    written), 3 safety stop (nothing written to Mailchimp).
    """
    ctx.obj = Context(config_path, verbose)
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@common_options
@click.pass_obj
def init(ctx: Context, config_path: str | None, verbose: int) -> None:
    """Create the missing tabs (Leads, Weights, Segments, Interests, Runs) with their headers,
    formatting and default rules. Existing tabs are never changed; running it twice changes
    nothing."""
    from syncbot import wiring
    from syncbot.spreadsheet import init_spreadsheet

    config = ctx.with_overrides(config_path, verbose).config()
    created = init_spreadsheet(wiring.workbook(config), config.sheets)
    if created:
        click.echo(t("cli.init_created", tabs=", ".join(created)))
    else:
        click.echo(t("cli.init_nothing"))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn expected errors into exit codes."""
    verbose = any(a in ("-v", "-vv", "--verbose") for a in (argv or sys.argv[1:]))
    try:
        cli.main(args=argv, prog_name="syncbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SyncbotError as exc:
        click.echo(f"{t('cli.error_prefix')}: {exc}", err=True)
        if verbose:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    sys.exit(0)
