"""`syncbot check`: every problem with the setup, found without writing anything."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from syncbot import wiring
from syncbot.config import Config, load_config
from syncbot.errors import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, InvalidInputError
from syncbot.locales import catalogue, language_name, t
from syncbot.mailchimp.client import (
    MailchimpAudience,
    MailchimpError,
    MailchimpUnreachable,
    ShopUnavailable,
)
from syncbot.pipeline import sheet_rules
from syncbot.report import team_inputs
from syncbot.sheets.client import SheetsError, Tab
from syncbot.state.store import STATE_REASONS, StateStore


def run_checks(config_path: Path, echo: Callable[[str], None]) -> int:
    """Print a line per check; return the exit code (2 setup problems, 1 unreachable, 0 ready)."""
    try:
        config = load_config(config_path)
    except InvalidInputError as exc:
        echo(t("check.problem", what=t("check.config", path=config_path)))
        for problem in exc.problems:
            echo(f"  - {problem}")
        return EXIT_INVALID
    echo(t("check.ok", what=t("check.config", path=config_path)))
    merge_tags = _check_mailchimp(config, echo)
    try:
        data = wiring.spreadsheet(config, notify=echo).read()
        echo(t("check.ok", what=t("check.sheets", id=config.sheets.spreadsheet_id,
                                  language=language_name(data.language.code))))
        rules = sheet_rules(data, config, merge_tags or [], catalogue())
        echo(t("check.ok", what=t("check.rules", weights=len(rules.weights),
                                  segments=len(rules.segments), interests=len(rules.interests))))
        if rules.inputs:
            echo(t("check.ok", what=t("check.team",
                                      inputs=team_inputs(rules.inputs, catalogue()))))
        if config.handoff is not None:
            echo(t("check.ok", what=_handoff_line(config, data.tabs.get("Handoff"),
                                                  len(data.handoff_rows))))
        used = {column.tab.casefold() for column in rules.inputs}
        for tab in data.sources:
            if tab.casefold() not in used:
                echo("  " + t("check.source_unused", tab=tab))
    except InvalidInputError as exc:
        for problem in exc.problems:
            echo(t("check.problem", what=problem))
        return EXIT_INVALID
    except SheetsError as exc:
        echo(t("check.problem", what=str(exc)))
        return EXIT_FAILURE
    if merge_tags is None:
        return EXIT_FAILURE
    _check_state(config, echo)
    echo(t("check.all_good"))
    return EXIT_OK


def _handoff_line(config: Config, tab: Tab | None, rows: int) -> str:
    """Where hand-offs go, and whether the chat hears of them (the address never shown)."""
    assert config.handoff is not None
    where = (t("check.handoff_tab", tab=tab.title, rows=max(0, rows - 1)) if tab is not None
             else t("check.handoff_no_tab"))
    chat = t("check.handoff_chat" if config.handoff.webhook else "check.handoff_no_chat")
    return t("check.handoff", tags=", ".join(config.handoff.tags), where=where, chat=chat)


def _check_state(config: Config, echo: Callable[[str], None]) -> None:
    """What the local state holds, or what its absence costs (never a problem: read only)."""
    path = config.state.path
    state, reason = StateStore.read_only(path, list_id=config.mailchimp.list_id,
                                         lookback_days=config.mailchimp.lookback_days)
    if state is None:
        echo(t("check.state_none", path=path, reason=t(STATE_REASONS[reason or "missing"])))
        return
    try:
        cursor = state.cursor()
        echo(t("check.ok", what=t("check.state", path=path, runs=state.runs_recorded(),
                                  when=cursor.strftime("%Y-%m-%d %H:%M") if cursor else "—")))
    finally:
        state.close()


def _check_stores(audience: MailchimpAudience, echo: Callable[[str], None]) -> None:
    """Which stores ``[orders]`` reads; a refusal or no store is a note (a sync goes on)."""
    try:
        stores = audience.stores()
    except ShopUnavailable as exc:
        echo("  " + t("check.orders_refused", reason=str(exc)))
        return
    if not stores:
        echo("  " + t("check.orders_none"))
        return
    echo(t("check.ok", what=t("check.orders", count=len(stores), stores=", ".join(
        t("shop.store_currency", store=store.get("name") or store.get("id"),
          currency=store.get("currency_code") or "?") for store in stores))))


def _check_mailchimp(config: Config, echo: Callable[[str], None]) -> list[str] | None:
    """The audience's merge tags, or None (said why) when Mailchimp cannot be used."""
    audience = wiring.audience(config, notify=echo)
    try:
        found = audience.info()
        merge_tags = audience.merge_tags()
        echo(t("check.ok", what=t("check.mailchimp", name=found.get("name", ""),
                                  list_id=config.mailchimp.list_id,
                                  members=(found.get("stats") or {}).get("member_count", "?"))))
        if config.orders is not None:
            _check_stores(audience, echo)
        return merge_tags
    except MailchimpUnreachable as exc:
        echo(t("check.problem", what=str(exc)))
    except MailchimpError as exc:
        echo(t("check.problem", what=str(exc)))
        with contextlib.suppress(MailchimpError):
            names = [f"{a.get('id')} ({a.get('name')})" for a in audience.audiences()]
            if names:
                echo("  " + t("check.audiences", audiences=", ".join(names)))
    finally:
        audience.close()
    return None
