"""The ``syncbot`` command line: parse, wire, print, map errors to exit codes.

Commands are thin: they load the config, call the library and print. The only
place that turns an exception into an exit code is ``main``; an expected
error (``SyncbotError``) prints its message and no traceback (``-vv`` adds it).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncbot import __version__
from syncbot.config import SHEET_LANGUAGES, Config, load_config, resolve_path, write_example
from syncbot.core.values import format_number
from syncbot.errors import EXIT_FAILURE, SyncbotError
from syncbot.locales import language as user_language
from syncbot.locales import language_name, t
from syncbot.progress import Bars, Lines, Meters, Silent

if TYPE_CHECKING:
    from syncbot.report import RunReport

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


def verbose_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-v", "--verbose", count=True,
                        help=t("help.opt_verbose"))(func)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` and ``-v`` on every command that reads a config, and on the group."""
    func = click.option("--config", "config_path", metavar="PATH", default=None,
                        help=t("help.opt_config"))(func)
    return verbose_option(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True, help=t("help.main"))
@click.version_option(__version__, "--version", prog_name="syncbot")
@common_options
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Score the leads in a Google Sheet with your team's rules and write the
    segments back to Mailchimp as tags.

    Exit codes: 0 success, 1 failure, 2 invalid config or rules (nothing
    written), 3 safety stop (nothing written to Mailchimp).
    """
    if ctx.invoked_subcommand is None:  # bare `syncbot`: show what it can do
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.obj = Context(config_path, verbose)
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(levelname)s %(name)s: %(message)s")


@cli.command(short_help=t("help.init"), help=t("help.init_long"))
@click.option("--write-config", metavar="PATH", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help=t("help.opt_write_config"))
@common_options
@click.pass_obj
def init(ctx: Context, write_config: Path | None, config_path: str | None, verbose: int) -> None:
    """Create the missing tabs (Dashboard, Leads, Weights, Segments, Interests, Runs,
    Hand-off) with their headers, formatting and default rules. Existing tabs are never
    changed; running it twice changes nothing. With --write-config PATH, write a starting
    configuration file instead."""
    from syncbot import wiring

    if write_config is not None:
        write_example(write_config)
        click.echo(t("cli.config_written", path=write_config))
        return
    config = ctx.with_overrides(config_path, verbose).config()
    made = wiring.spreadsheet(config, notify=_progress).init()
    if made.created:
        click.echo(t("cli.init_created", tabs=", ".join(made.created),
                     language=language_name(made.language), weights=made.tabs["Weights"],
                     segments=made.tabs["Segments"]))
    else:
        click.echo(t("cli.init_nothing"))


def _progress(message: str) -> None:
    """Stage lines go to stderr, so stdout keeps just the report."""
    click.echo(message, err=True)


@contextlib.contextmanager
def showing_progress(quiet: bool) -> Iterator[Meters]:
    """Progress bars on a terminal, stage lines in a log (cron, CI), nothing with --quiet;
    all of it on stderr, so stdout keeps just the report."""
    if quiet:
        yield Silent()
    elif sys.stderr.isatty():
        with Bars() as bars:
            yield bars
    else:
        yield Lines(_progress)


def quiet_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-q", "--quiet", is_flag=True,
                        help=t("help.opt_quiet"))(func)


MODE_TEXTS = {"full": "report.mode_full", "incremental": "report.mode_incremental"}


def summary_line(report: RunReport, *, grouped: bool = True) -> str:
    """"Full sync of 1,234 members: 5 new leads, 7 changed leads." in the user's language."""
    def number(value: int) -> str:
        return f"{value:,}" if grouped else str(value)
    return t("report.summary", mode=t(MODE_TEXTS[report.mode]), members=number(report.members),
             new=number(report.new_leads), changed=number(report.changed_leads))


def print_report(report: RunReport, *, dry_run: bool, quiet: bool = False) -> None:
    if dry_run:
        click.echo(t("report.dry_run"))
    click.echo(summary_line(report))
    if quiet:
        return
    click.echo(t("report.tags_heading"))
    for tag, (adds, removes) in report.per_tag.items():
        click.echo(t("report.tag_line", tag=tag, size=f"{report.tag_sizes.get(tag, 0):,}",
                     adds=f"{adds:,}", removes=f"{removes:,}"))
    for problem in report.safety or []:
        click.echo(t("report.safety_stop", problem=problem))
    if not report.safety:
        click.echo(t("report.safety_ok"))
    if dry_run:
        click.echo(t("report.sample_heading"))
        for lead in report.sample:
            click.echo(t("report.sample_line", email=lead.email,
                         before=lead.before or t("report.none"), after=lead.after or t("report.none"),
                         score=format_number(lead.score), why=lead.why))
    if dry_run and report.handoffs:
        _print_handoffs(report)
    if report.handoff_baseline:
        click.echo(t("report.handoff_baseline"))
    if report.team_inputs:
        click.echo(t("report.team_inputs", inputs=report.team_inputs))
    if report.quiet_campaigns:
        click.echo(t("report.quiet_campaigns", quiet=report.quiet_campaigns,
                     campaigns=report.campaigns))
    if report.orders is not None:
        click.echo(t("report.orders", count=report.orders))
    for warning in report.warnings:
        click.echo(t("report.warning", message=warning))
    click.echo(t("report.requests", mailchimp=report.mailchimp_calls, sheets=report.sheets_calls))


def _print_handoffs(report: RunReport) -> None:
    """Who a run would hand to sales (a real run says it in its message)."""
    click.echo(t("report.handoff_would", count=len(report.handoffs)))
    for lead in sorted(report.handoffs, key=lambda lead: -lead.score):
        click.echo(t("report.handoff_line", email=lead.email, score=format_number(lead.score),
                     why=lead.why))


def _sync(ctx: Context, *, dry_run: bool, full: bool, force: bool, quiet: bool = False) -> None:
    from syncbot import wiring

    config = ctx.config()
    with showing_progress(quiet) as meters:
        report = wiring.sync(config, dry_run=dry_run, full=full, force=force, meters=meters)
    print_report(report, dry_run=dry_run, quiet=quiet)


@cli.command(short_help=t("help.sync"), help=t("help.sync_long"))
@click.option("--dry-run", is_flag=True, help=t("help.opt_dry_run"))
@click.option("--full", is_flag=True, help=t("help.opt_full"))
@click.option("--force", is_flag=True, help=t("help.opt_force"))
@quiet_option
@common_options
@click.pass_obj
def sync(ctx: Context, dry_run: bool, full: bool, force: bool, quiet: bool,
         config_path: str | None, verbose: int) -> None:
    """One run: pull from Mailchimp, score, write the Leads tab and the tags, log to Runs.
    On a terminal, progress bars show each long step with time left."""
    _sync(ctx.with_overrides(config_path, verbose), dry_run=dry_run, full=full, force=force,
          quiet=quiet)


@cli.command(short_help=t("help.plan"), help=t("help.plan_long"))
@common_options
@click.pass_obj
def plan(ctx: Context, config_path: str | None, verbose: int) -> None:
    """What a sync would do (same as `sync --dry-run`): new and changed leads, tag adds and
    removes, the safety verdict, and a sample of leads whose tags change with their why."""
    _sync(ctx.with_overrides(config_path, verbose), dry_run=True, full=False, force=False)


@cli.command(short_help=t("help.why"), help=t("help.why_long"))
@click.argument("email")
@common_options
@click.pass_obj
def why(ctx: Context, email: str, config_path: str | None, verbose: int) -> None:
    """Read-only: one lead's breakdown from the last pull and the current tabs."""
    from syncbot import wiring
    from syncbot.explain import explain_lead

    ctx = ctx.with_overrides(config_path, verbose)
    explain_lead(ctx.config(), email, click.echo, wiring.now())


@cli.command(short_help=t("help.check"), help=t("help.check_long"))
@common_options
@click.pass_obj
def check(ctx: Context, config_path: str | None, verbose: int) -> None:
    """Read-only: the config, both APIs with the credentials, the audience, the spreadsheet's
    tabs and every rule. Lists every problem found."""
    from syncbot.checks import run_checks

    ctx = ctx.with_overrides(config_path, verbose)
    code = run_checks(ctx.config_path, echo=click.echo)
    if code:
        sys.exit(code)


@cli.command(short_help=t("help.serve"), help=t("help.serve_long"))
@common_options
@click.pass_obj
def serve(ctx: Context, config_path: str | None, verbose: int) -> None:
    """Run syncs on the [schedule]: never two at once, one catch-up run after downtime, a clean
    stop on Ctrl-C or SIGTERM (a sync in progress finishes first)."""
    from syncbot import wiring
    from syncbot.serve import build_scheduler, install_stop_signals
    from syncbot.state.store import StateStore

    ctx = ctx.with_overrides(config_path, verbose)
    config = ctx.config()
    logging.getLogger("syncbot").setLevel(logging.INFO)

    def job() -> None:
        try:
            report = wiring.sync(config)
            log.info("%s", summary_line(report, grouped=False))
        except SyncbotError as exc:
            log.error("%s", t("serve.job_failed", error=exc))

    last = None
    if config.state.path.exists():
        cache, reason = StateStore.open(config.state.path, list_id=config.mailchimp.list_id,
                                        lookback_days=config.mailchimp.lookback_days)
        last = cache.cursor() if reason is None else None
        cache.close()
    scheduler, first = build_scheduler(config.schedule, job, last_success=last, now=wiring.now())
    install_stop_signals(scheduler)
    click.echo(t("serve.starting", when=first.strftime("%Y-%m-%d %H:%M")), err=True)
    scheduler.start()


@cli.command(short_help=t("help.demo"), help=t("help.demo_long"))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("syncbot-demo.xlsx"), show_default=True,
              help=t("help.opt_output"))
@click.option("--members", type=click.IntRange(10, 100_000), default=3000, show_default=True,
              help=t("help.opt_members"))
@click.option("--language", type=click.Choice(SHEET_LANGUAGES), default=None,
              help=t("help.opt_language"))
@quiet_option
@verbose_option
@click.pass_obj
def demo(ctx: Context, output: Path, members: int, language: str | None, quiet: bool,
         verbose: int) -> None:
    """The whole pipeline against the built-in sandbox: no credentials, no network. Prints a
    summary and writes the resulting tabs to a workbook you can open."""
    from syncbot.demo import check_output, run_demo

    check_output(output)
    if language is None:  # the user's, when syncbot builds sheets in it
        language = user_language() if user_language() in SHEET_LANGUAGES else "en"
    with showing_progress(quiet) as meters:
        result = run_demo(output, members=members, meters=meters, language=language)
    click.echo(t("report.demo_first"))
    print_report(result.first, dry_run=False, quiet=quiet)
    if not quiet:
        click.echo(t("report.top_heading"))
        for lead in result.first.top:
            click.echo(t("report.top_line", email=lead.email, score=format_number(lead.score),
                         tags=lead.after, why=lead.why))
        click.echo("")
    click.echo(t("report.demo_second", column=result.team_column))
    print_report(result.second, dry_run=False, quiet=quiet)
    click.echo("")
    if result.chat and not quiet:
        click.echo(t("report.demo_chat"))
        for message in result.chat:
            click.echo("\n".join(f"  {line}" for line in message.splitlines()))
        click.echo("")
    if result.buyers and not quiet:
        click.echo(t("report.demo_buyers"))
        for buyer in result.buyers:
            click.echo(t("report.demo_buyer", email=buyer.email, orders=buyer.orders_90d,
                         revenue=format_number(buyer.revenue_365d),
                         days=buyer.days_since_last_order, products=buyer.products))
        click.echo("")
    if result.why and not quiet:
        click.echo(t("report.demo_why"))
        for line in result.why:
            click.echo(f"  {line}")
        click.echo("")
    click.echo(t("report.demo_saved", path=output, tabs=", ".join(result.tabs),
                 form=result.form_tab))


def verbosity(argv: list[str]) -> int:
    """How many ``-v`` the command line holds, wherever they stand (``-vv`` counts two)."""
    return sum(len(a) - 1 for a in argv if re.fullmatch(r"-v+", a)) + argv.count("--verbose")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and turn errors into exit codes. An expected
    error prints its message; any other prints one line asking for a report. Tracebacks only
    with ``-vv``."""
    args = list(sys.argv[1:] if argv is None else argv)
    tracebacks = verbosity(args) >= 2
    try:
        cli.main(args=args, prog_name="syncbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(t("cli.aborted"), err=True)
        sys.exit(EXIT_FAILURE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SyncbotError as exc:
        click.echo(f"{t('cli.error_prefix')}: {exc}", err=True)
        if tracebacks:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so in one line, never with a secret-bearing repr
        click.echo(t("cli.unexpected", kind=type(exc).__name__), err=True)
        if tracebacks:
            traceback.print_exc()
        sys.exit(EXIT_FAILURE)
    sys.exit(0)
