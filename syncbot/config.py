"""Loading and validating ``syncbot.toml`` plus the two secrets from the environment.

Everything is checked up front and every problem is reported at once, so a
user fixes the file in one pass. The result is a tree of frozen dataclasses:
the rest of syncbot never reads TOML or ``os.environ`` itself.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from syncbot.errors import ConfigError, UsageError
from syncbot.locales import language, t

CONFIG_ENV = "SYNCBOT_CONFIG"
DEFAULT_CONFIG_PATH = "syncbot.toml"
API_KEY_ENV = "MAILCHIMP_API_KEY"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"

SHEET_LANGUAGES = ("en", "es")  # the languages a spreadsheet can be built in
TAB_KEYS = ("leads_tab", "weights_tab", "segments_tab", "interests_tab", "runs_tab",
            "dashboard_tab", "handoff_tab")
WEBHOOK_ENV = "SYNCBOT_HANDOFF_WEBHOOK"  # where hand-offs are announced (a secret URL)
MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
_API_KEY_RE = re.compile(r"^[0-9A-Za-z]+-(us\d{1,3})$")
_SPREADSHEET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_SPREADSHEET_URL_RE = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Secret:
    """A secret value that never shows itself in repr, str or logs."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class MailchimpConfig:
    list_id: str
    lookback_days: int = 90
    tag_statuses: tuple[str, ...] = ("subscribed",)
    max_connections: int = 5


@dataclass(frozen=True)
class SheetsConfig:
    """Which spreadsheet, in which language, and what its tabs are called. A tab name left
    out (None) is the sheet language's own ("Weights" in English, "Pesos" in Spanish); a
    language left out is recognised from the sheet (``init``: from its locale)."""

    spreadsheet_id: str
    language: str | None = None
    leads_tab: str | None = None
    weights_tab: str | None = None
    segments_tab: str | None = None
    interests_tab: str | None = None
    runs_tab: str | None = None
    dashboard_tab: str | None = None
    handoff_tab: str | None = None


@dataclass(frozen=True)
class SourcesConfig:
    """Other tabs of the spreadsheet whose columns rules may use, joined by e-mail."""

    tabs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoringConfig:
    half_life_days: float = 30.0
    timezone: str = "UTC"
    workers: int | None = None  # processes that score many due leads; None: one per core, at most 4


@dataclass(frozen=True)
class ScheduleConfig:
    cron: str | None = "0 */6 * * *"
    interval_minutes: int | None = None


@dataclass(frozen=True)
class SafetyConfig:
    max_removal_fraction: float = 0.25


@dataclass(frozen=True)
class HistoryConfig:
    keep_days: int = 400  # score history kept in the local state


@dataclass(frozen=True)
class OrdersConfig:
    """``[orders]``: list the connected stores' orders; those processed within
    ``lookback_days`` give the purchase fields."""

    lookback_days: int = 365


@dataclass(frozen=True)
class HandoffConfig:
    """``[handoff]``: gaining one of ``tags`` hands a lead to sales (a Hand-off row); the
    message announcing it goes to ``webhook``, a secret from the environment, if set."""

    tags: tuple[str, ...] = ()
    webhook: Secret | None = None


@dataclass(frozen=True)
class StateConfig:
    path: Path = Path(".syncbot/state.db")


@dataclass(frozen=True)
class Secrets:
    mailchimp_api_key: Secret
    google_credentials_path: Path

    @property
    def mailchimp_data_center(self) -> str:
        match = _API_KEY_RE.match(self.mailchimp_api_key.reveal())
        assert match, "validated at load time"
        return match.group(1)


@dataclass(frozen=True)
class Config:
    mailchimp: MailchimpConfig
    sheets: SheetsConfig
    scoring: ScoringConfig = ScoringConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    safety: SafetyConfig = SafetyConfig()
    state: StateConfig = StateConfig()
    sources: SourcesConfig = SourcesConfig()
    history: HistoryConfig = HistoryConfig()
    handoff: HandoffConfig | None = None  # None: no [handoff] table, no one is handed off
    orders: OrdersConfig | None = None  # None: no [orders] table, no order is listed
    source: Path | None = None
    secrets: Secrets | None = None

    @property
    def order_days(self) -> int | None:
        """How far back orders count (``[orders] lookback_days``); None without ``[orders]``."""
        return self.orders.lookback_days if self.orders else None


# --- the schema: one entry per key, with its check -------------------------------------------

_Check = Callable[[str, str, Any, list[str]], Any]
_MISSING = object()


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return t("config.did_you_mean", suggestion=close[0]) if close else ""


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _ranged(kind: type[int] | tuple[type[int], type[float]], expected: str, low: float, high: float,
            convert: Callable[[Any], Any]) -> _Check:
    """A number of ``kind`` within low..high (TOML booleans are not numbers)."""
    def check(section: str, key: str, value: Any, problems: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, kind):
            problems.append(t("config.wrong_type", section=section, key=key,
                              expected=expected, got=_show(value)))
            return _MISSING
        if not low <= value <= high:
            problems.append(t("config.out_of_range", section=section, key=key,
                              low=low, high=high, got=value))
            return _MISSING
        return convert(value)
    return check


def _integer(low: int, high: int) -> _Check:
    return _ranged(int, "a whole number", low, high, int)


def _number(low: float, high: float) -> _Check:
    return _ranged((int, float), "a number", low, high, float)


def _text(section: str, key: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, str):
        problems.append(t("config.wrong_type", section=section, key=key,
                          expected="text in quotes", got=_show(value)))
        return _MISSING
    if not value.strip():
        problems.append(t("config.empty_string", section=section, key=key))
        return _MISSING
    return value.strip()


def _statuses(section: str, key: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(t("config.wrong_type", section=section, key=key,
                          expected='a list of statuses such as ["subscribed"]', got=_show(value)))
        return _MISSING
    if not value:
        problems.append(t("config.empty_list", section=section, key=key))
        return _MISSING
    bad = [v for v in value if v.lower() not in MEMBER_STATUSES]
    for v in bad:
        problems.append(t("config.not_allowed", section=section, key=key, value=v,
                          allowed=", ".join(MEMBER_STATUSES)))
    return _MISSING if bad else tuple(dict.fromkeys(v.lower() for v in value))


def _tab_list(section: str, key: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(t("config.wrong_type", section=section, key=key,
                          expected='a list of tab names such as ["Form responses 1"]',
                          got=_show(value)))
        return _MISSING
    return tuple(dict.fromkeys(v.strip() for v in value))


def _tag_list(section: str, key: str, value: Any, problems: list[str]) -> Any:
    if not isinstance(value, list) or not value \
            or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(t("config.wrong_type", section=section, key=key,
                          expected='a list of tags such as ["lead:hot"]', got=_show(value)))
        return _MISSING
    return tuple(dict.fromkeys(v.strip() for v in value))


def _sheet_language(section: str, key: str, value: Any, problems: list[str]) -> Any:
    code = _text(section, key, value, problems)
    if code is _MISSING:
        return _MISSING
    if code.strip().lower() not in SHEET_LANGUAGES:
        problems.append(t("config.not_allowed", section=section, key=key, value=code,
                          allowed=", ".join(SHEET_LANGUAGES)))
        return _MISSING
    return code.strip().lower()


def _timezone(section: str, key: str, value: Any, problems: list[str]) -> Any:
    name = _text(section, key, value, problems)
    if name is _MISSING:
        return _MISSING
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = _suggest(name, sorted(zoneinfo.available_timezones()))
        problems.append(t("config.bad_timezone", value=name, hint=hint))
        return _MISSING
    return name


def _cron(section: str, key: str, value: Any, problems: list[str]) -> Any:
    expr = _text(section, key, value, problems)
    if expr is _MISSING:
        return _MISSING
    from apscheduler.triggers.cron import CronTrigger

    try:
        if len(expr.split()) != 5:
            raise ValueError(f"it has {len(expr.split())} fields")
        CronTrigger.from_crontab(expr, timezone="UTC")
    except ValueError as exc:
        problems.append(t("config.bad_cron", value=expr, reason=exc))
        return _MISSING
    return expr


SCHEMA: dict[str, dict[str, _Check]] = {
    "mailchimp": {
        "list_id": _text,
        "lookback_days": _integer(7, 365),
        "tag_statuses": _statuses,
        "max_connections": _integer(1, 10),
    },
    "sheets": {
        "spreadsheet_id": _text,
        "spreadsheet_url": _text,
        "language": _sheet_language,
        "leads_tab": _text,
        "weights_tab": _text,
        "segments_tab": _text,
        "interests_tab": _text,
        "runs_tab": _text,
        "dashboard_tab": _text,
        "handoff_tab": _text,
    },
    "scoring": {"half_life_days": _number(1, 3650), "timezone": _timezone,
                "workers": _integer(1, 64)},
    "schedule": {"cron": _cron, "interval_minutes": _integer(1, 7 * 24 * 60)},
    "safety": {"max_removal_fraction": _number(0, 1)},
    "state": {"path": _text},
    "sources": {"tabs": _tab_list},
    "history": {"keep_days": _integer(1, 3650)},
    "handoff": {"tags": _tag_list},
    "orders": {"lookback_days": _integer(1, 3650)},
}


def _check_sections(raw: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    """Run every key through its check; unknown names become problems with a suggestion."""
    checked: dict[str, dict[str, Any]] = {name: {} for name in SCHEMA}
    for section, body in raw.items():
        if section not in SCHEMA:
            problems.append(t("config.unknown_section", section=section,
                              hint=_suggest(section, list(SCHEMA)), known=", ".join(SCHEMA)))
            continue
        if not isinstance(body, dict):
            problems.append(t("config.not_a_table", section=section))
            continue
        keys = SCHEMA[section]
        for key, value in body.items():
            if key not in keys:
                problems.append(t("config.unknown_key", section=section, key=key,
                                  hint=_suggest(key, list(keys)), known=", ".join(keys)))
                continue
            result = keys[key](section, key, value, problems)
            if result is not _MISSING:
                checked[section][key] = result
    return checked


def _spreadsheet_id(sheets: dict[str, Any], raw_sheets: Mapping[str, Any],
                    problems: list[str]) -> str | None:
    given_id, given_url = "spreadsheet_id" in raw_sheets, "spreadsheet_url" in raw_sheets
    if given_id and given_url:
        problems.append(t("config.both_given", section="sheets",
                          first="spreadsheet_id", second="spreadsheet_url"))
        return None
    if "spreadsheet_url" in sheets:
        match = _SPREADSHEET_URL_RE.search(sheets["spreadsheet_url"])
        if not match:
            problems.append(t("config.bad_spreadsheet_url", value=sheets["spreadsheet_url"]))
            return None
        return match.group(1)
    if "spreadsheet_id" in sheets:
        if not _SPREADSHEET_ID_RE.match(sheets["spreadsheet_id"]):
            problems.append(t("config.bad_spreadsheet_id", value=sheets["spreadsheet_id"]))
            return None
        return str(sheets["spreadsheet_id"])
    if not (given_id or given_url):
        problems.append(t("config.missing", section="sheets", key="spreadsheet_id",
                          what=t("config.spreadsheet_what")))
    return None


def default_tab_names() -> dict[str, set[str]]:
    """Each tab key → the name that tab has by default in every sheet language (data of the
    sheets templates, ``templates/<lang>/sheet.toml``)."""
    names: dict[str, set[str]] = {key: set() for key in TAB_KEYS}
    for code in SHEET_LANGUAGES:
        raw = tomllib.loads(resources.files("syncbot.sheets").joinpath(
            "templates", code, "sheet.toml").read_text("utf-8"))
        for key in TAB_KEYS:
            names[key].add(raw["tabs"][key.removesuffix("_tab").capitalize()])
    return names


def _tab_names(sheets: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each tab key → the names it may go by: the config's, else every language's default."""
    defaults = default_tab_names()
    return {key: {sheets[key]} if key in sheets else defaults[key] for key in TAB_KEYS}


def _tabs(sheets: dict[str, Any], problems: list[str]) -> dict[str, str]:
    """The tab names the config gives (the others follow the sheet's language); two tabs
    may not share a name, given or default."""
    names = _tab_names(sheets)
    seen: dict[str, str] = {}
    for key in TAB_KEYS:
        for name in sorted(names[key]):
            folded = name.casefold()
            if seen.get(folded, key) != key:
                problems.append(t("config.duplicate_tab", first=seen[folded], second=key,
                                  value=name))
            seen.setdefault(folded, key)
    return {key: sheets[key] for key in TAB_KEYS if key in sheets}


def _sources(sources: dict[str, Any], sheets: Mapping[str, Any], problems: list[str]
             ) -> SourcesConfig:
    """Source tabs must be other tabs than syncbot's own."""
    listed = sources.get("tabs", ())
    ours = {name.casefold(): key for key, names in _tab_names(sheets).items() for name in names}
    for name in listed:
        if name.casefold() in ours:
            problems.append(t("config.source_is_ours", value=name, key=ours[name.casefold()]))
    return SourcesConfig(tabs=listed)


def _schedule(schedule: dict[str, Any], raw: Mapping[str, Any], problems: list[str]) -> ScheduleConfig:
    if "cron" in raw and "interval_minutes" in raw:
        problems.append(t("config.both_given", section="schedule",
                          first="cron", second="interval_minutes"))
    if "interval_minutes" in schedule:
        return ScheduleConfig(cron=None, interval_minutes=schedule["interval_minutes"])
    return ScheduleConfig(cron=schedule.get("cron", ScheduleConfig.cron))


def _handoff(handoff: dict[str, Any], raw: Mapping[str, Any], environ: Mapping[str, str],
             problems: list[str]) -> HandoffConfig | None:
    """``[handoff]`` needs its tags; the webhook is read from the environment (https only:
    the URL is a secret, and so is what it carries)."""
    if "handoff" not in raw:
        return None
    if "tags" not in _section(raw, "handoff"):
        problems.append(t("config.missing", section="handoff", key="tags",
                          what=t("config.handoff_tags_what")))
        return None
    url = environ.get(WEBHOOK_ENV, "").strip()
    if url and not url.lower().startswith("https://"):
        problems.append(t("config.webhook_not_https", name=WEBHOOK_ENV))
        return None
    return HandoffConfig(tags=handoff.get("tags", ()), webhook=Secret(url) if url else None)


def load_secrets(environ: Mapping[str, str], problems: list[str]) -> Secrets | None:
    """Read the Mailchimp key and the Google key-file path; never echo the key back."""
    key = environ.get(API_KEY_ENV, "").strip()
    creds = environ.get(CREDENTIALS_ENV, "").strip()
    ok = True
    if not key:
        problems.append(t("config.secret_missing", name=API_KEY_ENV, what=t("config.api_key_what")))
        ok = False
    elif not _API_KEY_RE.match(key):
        problems.append(t("config.api_key_format"))
        ok = False
    if not creds:
        problems.append(t("config.secret_missing", name=CREDENTIALS_ENV,
                          what=t("config.credentials_what")))
        ok = False
    else:
        path = Path(creds).expanduser()
        if not path.is_file():
            problems.append(t("config.credentials_missing_file", path=path))
            ok = False
        else:
            reason = _service_account_problem(path)
            if reason:
                problems.append(t("config.credentials_bad_file", path=path, reason=reason))
                ok = False
    if not ok:
        return None
    return Secrets(mailchimp_api_key=Secret(key), google_credentials_path=Path(creds).expanduser())


def _service_account_problem(path: Path) -> str | None:
    try:
        info = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not JSON: {type(exc).__name__}"
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return 'its "type" is not "service_account"'
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        return f"it has no {', '.join(missing)}"
    from google.oauth2.service_account import Credentials

    try:  # a key cut short or edited by hand fails here, not as a traceback mid-run
        Credentials.from_service_account_info(info)
    except (ValueError, TypeError):
        return "its private_key cannot be read"
    return None


def _section(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    body = raw.get(name)
    return body if isinstance(body, dict) else {}


def parse_config(raw: Mapping[str, Any], *, source: Path | None = None,
                 environ: Mapping[str, str] | None = None,
                 require_secrets: bool = False) -> Config:
    """Validate an already-parsed TOML document (and, if asked, the secrets) into a Config."""
    problems: list[str] = []
    checked = _check_sections(raw, problems)
    mc, sh = checked["mailchimp"], checked["sheets"]
    raw_mc, raw_sh, raw_sched = (_section(raw, name) for name in ("mailchimp", "sheets", "schedule"))

    if "list_id" not in raw_mc:
        problems.append(t("config.missing", section="mailchimp", key="list_id",
                          what=t("config.list_id_what")))
    spreadsheet_id = _spreadsheet_id(sh, raw_sh, problems)
    tabs = _tabs(sh, problems)
    sources = _sources(checked["sources"], sh, problems)
    schedule = _schedule(checked["schedule"], raw_sched, problems)
    env = os.environ if environ is None else environ
    secrets = load_secrets(env, problems) if require_secrets else None
    handoff = _handoff(checked["handoff"], raw, env, problems)

    if problems:
        raise ConfigError(problems, heading=t("cli.config_heading", path=source or "config"))

    state_path = Path(checked["state"].get("path", StateConfig.path)).expanduser()
    if not state_path.is_absolute() and source is not None:
        state_path = source.parent / state_path  # relative to the config file, not the cwd
    return Config(
        mailchimp=MailchimpConfig(
            list_id=mc["list_id"],
            lookback_days=mc.get("lookback_days", MailchimpConfig.lookback_days),
            tag_statuses=mc.get("tag_statuses", MailchimpConfig.tag_statuses),
            max_connections=mc.get("max_connections", MailchimpConfig.max_connections),
        ),
        sheets=SheetsConfig(spreadsheet_id=str(spreadsheet_id), language=sh.get("language"),
                            **tabs),
        scoring=ScoringConfig(
            half_life_days=checked["scoring"].get("half_life_days", ScoringConfig.half_life_days),
            timezone=checked["scoring"].get("timezone", ScoringConfig.timezone),
            workers=checked["scoring"].get("workers"),
        ),
        schedule=schedule,
        safety=SafetyConfig(**checked["safety"]),
        state=StateConfig(path=state_path),
        history=HistoryConfig(**checked["history"]),
        handoff=handoff,
        orders=OrdersConfig(**checked["orders"]) if "orders" in raw else None,
        sources=sources,
        source=source,
        secrets=secrets,
    )


def resolve_path(cli_path: str | os.PathLike[str] | None,
                 environ: Mapping[str, str] | None = None) -> Path:
    """``--config`` wins, then ``$SYNCBOT_CONFIG``, then ``./syncbot.toml``."""
    env = os.environ if environ is None else environ
    return Path(cli_path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH).expanduser()


EXAMPLE = "config.example.toml"  # package data: every key, commented


def example_name(lang: str) -> str:
    """The example configuration's file in ``lang`` (English when there is none)."""
    name = EXAMPLE.replace(".toml", f".{lang}.toml")
    return name if lang != "en" and resources.files("syncbot").joinpath(name).is_file() \
        else EXAMPLE


def write_example(path: Path) -> None:
    """Write the commented example configuration (in the user's language) to ``path``,
    never over an existing file."""
    text = resources.files("syncbot").joinpath(example_name(language())).read_text("utf-8")
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise UsageError(t("cli.config_exists", path=path)) from None
    except OSError as exc:
        raise UsageError(t("cli.cannot_write", option="--write-config", path=path,
                           reason=exc.strerror or exc)) from None


def load_config(path: Path, *, environ: Mapping[str, str] | None = None,
                require_secrets: bool = True) -> Config:
    """Read and validate the file at ``path``; raise ConfigError listing every problem."""
    heading = t("cli.config_heading", path=path)
    if not path.is_file():  # say what else is missing too: every problem at once
        problems = [t("config.file_missing", path=path)]
        if require_secrets:
            load_secrets(os.environ if environ is None else environ, problems)
        raise ConfigError(problems, heading=heading)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([t("config.file_unreadable", path=path, reason=exc)],
                          heading=heading) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([t("config.bad_toml", path=path, reason=exc)], heading=heading) from None
    return parse_config(raw, source=path, environ=environ, require_secrets=require_secrets)
