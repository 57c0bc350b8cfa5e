"""`syncbot check`: every problem with the setup, found without writing anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syncbot import wiring
from syncbot.config import load_config
from syncbot.errors import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, InvalidInputError
from syncbot.locales import catalogue, t
from syncbot.mailchimp.client import MailchimpError, MailchimpUnreachable
from syncbot.pipeline import sheet_rules
from syncbot.sheets.client import SheetsError


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
    code = EXIT_OK
    merge_tags: list[str] = []
    audience = wiring.audience(config, notify=echo)
    try:
        found = audience.audience()
        merge_tags = audience.merge_tags()
        echo(t("check.ok", what=t("check.mailchimp", name=found.get("name", ""),
                                  list_id=config.mailchimp.list_id,
                                  members=(found.get("stats") or {}).get("member_count", "?"))))
    except MailchimpUnreachable as exc:
        echo(t("check.problem", what=str(exc)))
        code = EXIT_FAILURE
    except MailchimpError as exc:
        echo(t("check.problem", what=str(exc)))
        code = EXIT_FAILURE
        try:
            names = [f"{a.get('id')} ({a.get('name')})" for a in audience.audiences()]
            if names:
                echo("  " + t("check.audiences", audiences=", ".join(names)))
        except MailchimpError:
            pass
    finally:
        audience.close()
    try:
        data = wiring.spreadsheet(config, notify=echo).read()
        echo(t("check.ok", what=t("check.sheets", id=config.sheets.spreadsheet_id)))
    except InvalidInputError as exc:
        for problem in exc.problems:
            echo(t("check.problem", what=problem))
        return EXIT_INVALID
    except SheetsError as exc:
        echo(t("check.problem", what=str(exc)))
        return EXIT_FAILURE
    try:
        rules = sheet_rules(data, config, merge_tags, catalogue())
        echo(t("check.ok", what=t("check.rules", weights=len(rules.weights),
                                  segments=len(rules.segments), interests=len(rules.interests))))
    except InvalidInputError as exc:
        for problem in exc.problems:
            echo(t("check.problem", what=problem))
        return EXIT_INVALID
    if code == EXIT_OK:
        echo(t("check.all_good"))
    return code
