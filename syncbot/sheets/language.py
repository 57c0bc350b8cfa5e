"""The languages a spreadsheet can be built in, and recognising which one a sheet is in.

Each language is a folder of ``templates/<lang>/``: the tabs' ``.csv`` templates (the
Leads and Runs headers list syncbot's columns in the same order in every language, so the
English header names each column) and ``sheet.toml`` (tab names, the operators and
dimensions the dropdowns and ``why`` show, the Runs values). Rules accept every
language's words in any sheet (``locales.rule_vocabulary``); what depends on the sheet's
language is only what syncbot *writes* there: new tabs, new Leads columns, ``why``, Runs.
It also finds syncbot's tabs under either language's names (``find_tabs``) and picks the
language ``init`` builds in (``init_language``).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from syncbot.config import SHEET_LANGUAGES, SheetsConfig
from syncbot.core.values import as_text
from syncbot.core.vocabulary import COUNT, DAYS_SINCE, Labels, fold
from syncbot.locales import Catalogue
from syncbot.sheets.client import Grid, Tab

SYNCBOT = "en"  # the language of syncbot's own names (fields, operators, columns)
KINDS = ("Leads", "Weights", "Segments", "Interests", "Runs", "Handoff")  # syncbot's tabs
TABS = (("leads_tab", "Leads"), ("weights_tab", "Weights"), ("segments_tab", "Segments"),
        ("interests_tab", "Interests"), ("runs_tab", "Runs"))  # config key, kind: a sync needs
HANDOFF = ("handoff_tab", "Handoff")  # made by init, and by a sync that hands leads off
HEADED = ("Leads", "Runs", "Handoff")  # the tabs whose columns are syncbot's, titled per
#                                        language


def template_text(language: str, name: str) -> str:
    """One file of ``templates/<language>/``."""
    return resources.files("syncbot.sheets").joinpath("templates", language, name) \
        .read_text("utf-8")


def csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


@dataclass(frozen=True)
class SheetLanguage:
    """What a spreadsheet in one language calls things."""

    code: str
    tab_names: Mapping[str, str]  # tab kind → its name
    titles: Mapping[str, str]  # syncbot's Leads and Runs columns → their headers
    operators: Mapping[str, str]  # syncbot's operator → the word shown
    dimensions: Mapping[str, str]
    run_values: Mapping[str, str]  # a Runs mode or status → the word shown
    names: Mapping[str, str]  # what ``days_since(X)`` and ``Tab!count`` are called
    weekdays: Mapping[str, str]  # ``best_send_weekday``'s values: Mon → lun
    statuses: Mapping[str, str]  # ``status``'s values: subscribed → suscrito
    headers: Mapping[str, str]  # the rules tabs' columns: Field → Campo
    dashboard: Mapping[str, str]  # the Dashboard's titles and headers
    handoff_statuses: Mapping[str, str]  # the Hand-off Status dropdown: back to marketing → …

    def title(self, column: str) -> str:
        """A column of syncbot's as this language heads it (merge tags keep their names)."""
        return self.titles.get(column, column)

    def run_value(self, value: Any) -> Any:
        return self.run_values.get(value, value) if isinstance(value, str) else value

    @property
    def texts(self) -> Catalogue:
        """The catalogue of ``why``'s connecting words ("con tope", "+3 más")."""
        return Catalogue(self.code)

    @cached_property
    def labels(self) -> Labels:
        """The words ``why`` shows for fields and operators (built once per language)."""
        return Labels(self.code, dict(self.titles), dict(self.operators),
                      days_since=self.names.get("days_since", DAYS_SINCE),
                      count=self.names.get("count", COUNT), weekdays=dict(self.weekdays),
                      statuses=dict(self.statuses), headers=dict(self.headers),
                      handoff_statuses=dict(self.handoff_statuses))


@cache
def sheet_language(code: str) -> SheetLanguage:
    """The language ``code`` (one of ``config.SHEET_LANGUAGES``), read once."""
    raw = tomllib.loads(template_text(code, "sheet.toml"))
    titles: dict[str, str] = {}
    headers: dict[str, str] = {}
    for kind in KINDS:
        ours = csv_rows(template_text(SYNCBOT, f"{kind}.csv"))[0]
        theirs = csv_rows(template_text(code, f"{kind}.csv"))[0]
        (titles if kind in HEADED else headers).update(zip(ours, theirs, strict=True))
    return SheetLanguage(code, raw["tabs"], titles, raw.get("operators", {}),
                         raw.get("dimensions", {}), raw.get("run_values", {}),
                         raw.get("names", {}), raw.get("weekdays", {}),
                         raw.get("statuses", {}), headers, raw["dashboard"],
                         raw.get("handoff_statuses", {}))


def languages() -> list[SheetLanguage]:
    return [sheet_language(code) for code in SHEET_LANGUAGES]


def from_locale(locale: str) -> str | None:
    """The language of a spreadsheet's locale (``es_ES``, ``es_419`` → ``es``), if syncbot
    builds sheets in it."""
    code = locale.split("_")[0].split("-")[0].lower()
    return code if code in SHEET_LANGUAGES else None


@cache
def _header_words() -> dict[str, frozenset[str]]:
    """Per language, the folded headers only that language uses (the rules tabs' and syncbot's
    Leads and Runs columns): a header shared by two languages (``email``) tells nothing."""
    words: dict[str, set[str]] = {}
    for language in languages():  # the headers it already read: no template read again
        words[language.code] = {fold(title) for title in (*language.titles.values(),
                                                           *language.headers.values())}
    return {code: frozenset(found - set().union(*(other for c, other in words.items()
                                                   if c != code)))
            for code, found in words.items()}


def recognise(headers: Iterable[Sequence[Any]]) -> str | None:
    """The language most of these header rows' cells are in (None when they say nothing)."""
    votes = dict.fromkeys(SHEET_LANGUAGES, 0)
    for header in headers:
        for cell in header:
            word = fold(as_text(cell))
            for code, words in _header_words().items():
                votes[code] += word in words
    best = max(votes.values())
    winners = [code for code, count in votes.items() if count == best]
    return winners[0] if best and len(winners) == 1 else None


# ---- which tab is which ----------------------------------------------------------------

def tab_names(config: SheetsConfig, language: str,
              kinds: Sequence[tuple[str, str]] = TABS) -> dict[str, str]:
    """Template kind → the tab's name: the config's, else the language's own."""
    names = sheet_language(language).tab_names
    return {kind: getattr(config, key) or names[kind] for key, kind in kinds}


def tab_language(found: Mapping[str, Tab], config: SheetsConfig) -> str | None:
    """The language whose tab names the spreadsheet uses ("Pesos": Spanish), counting the
    tabs the config does not name and names no two languages share ("Leads"); None when
    the names say nothing (a new spreadsheet)."""
    folded = {title.casefold() for title in found}
    votes = {language.code: 0 for language in languages()}
    for key, kind in TABS:
        names = {language.code: language.tab_names[kind].casefold() for language in languages()}
        if getattr(config, key) is None and len(set(names.values())) == len(names):
            for code, name in names.items():
                votes[code] += name in folded
    best = max(votes.values())
    winners = [code for code, count in votes.items() if count == best]
    if not best:
        return None
    return config.language if config.language in winners else winners[0]


def find_tabs(found: Mapping[str, Tab], config: SheetsConfig, language: str,
              kinds: Sequence[tuple[str, str]] = TABS) -> tuple[dict[str, Tab], dict[str, str]]:
    """Each of syncbot's tabs (by kind), found by the config's name, else by the language's
    name, else by another language's; and the names of those not found (by config key)."""
    folded = {title.casefold(): tab for title, tab in found.items()}
    tabs: dict[str, Tab] = {}
    missing: dict[str, str] = {}
    order = [sheet_language(language)] + [lang for lang in languages() if lang.code != language]
    for key, kind in kinds:
        given = getattr(config, key)
        names = [given] if given else [lang.tab_names[kind] for lang in order]
        tab = next((folded[name.casefold()] for name in names if name.casefold() in folded),
                   None)
        if tab is None:
            missing[key] = names[0]
        else:
            tabs[kind] = tab
    return tabs, missing


def init_language(workbook: Grid, config: SheetsConfig, found: Mapping[str, Tab]) -> str:
    """The language ``init`` builds in: the config's; else that of the tabs already there;
    else the spreadsheet's locale's (``es_ES`` → Spanish); else English."""
    return (config.language or tab_language(found, config) or from_locale(workbook.locale)
            or SYNCBOT)
