"""The names a rule may use: syncbot's fields, merge tags, the team's columns and other tabs.

A rule's Field is resolved, case-insensitively and trimmed, in this order:

1. a field of syncbot (docs/reference.md, "Fields") or a merge tag of the audience;
2. ``days_since(X)`` for any date-valued X below or above: whole days from X to ``now``;
3. ``Tab!Column`` or ``Tab!count`` for a tab listed in ``[sources] tabs``: the value in that
   tab's bottom-most row for the lead's e-mail, or how many rows the e-mail has;
4. a column of the Leads tab that is not syncbot's (the team's own, such as "Demo requested").

What the spreadsheet offers (``TeamHeaders``) is given to the core; which team columns the
rules name (``TeamColumn``) is what the sheets package reads for each run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncbot.core.fields import DATE, NUMBER
from syncbot.core.orders import ORDER_FIELDS
from syncbot.core.texts import Problems
from syncbot.core.values import SHEETS_EPOCH, parse_number
from syncbot.core.vocabulary import COUNT, ENGLISH, SYNCBOT_LABELS, Labels, Vocabulary, fold

UNKNOWN = ""  # a kind decided by each value (merge tags, team columns)
_CALL = re.compile(r"^\s*([^()!]+?)\s*\(\s*(.*?)\s*\)\s*$")  # name(inner)


@dataclass(frozen=True)
class TeamColumn:
    """A column of the team's that a rule names: one of the Leads tab (``in_leads``), one of a
    source tab, or a source tab's row count (``header`` is ``COUNT``). Tab and header are
    spelled as the spreadsheet spells them."""

    tab: str
    header: str
    in_leads: bool = False

    @property
    def field(self) -> str:
        """The name rules and ``why`` use for it."""
        return self.header if self.in_leads else f"{self.tab}!{self.header}"

    @property
    def is_count(self) -> bool:
        return not self.in_leads and self.header == COUNT


@dataclass(frozen=True)
class DaysSince:
    """``days_since(X)``: the field ``name``, counted from the date-valued field ``of``."""

    name: str
    of: str


@dataclass(frozen=True)
class TeamHeaders:
    """What the spreadsheet offers the rules besides syncbot's fields: the Leads tab's team
    columns (its headers that are not syncbot's) and each ``[sources]`` tab's headers."""

    leads_tab: str = "Leads"
    leads: tuple[str, ...] = ()
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


NO_TEAM = TeamHeaders()


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


class FieldNames:
    """Resolves a rule's Field to the name its value goes by, recording a problem (naming the
    cell and the nearest name) when it resolves to nothing. Remembers the team columns and
    ``days_since`` fields the rules used."""

    def __init__(self, kinds: Mapping[str, str], merge_tags: Collection[str],
                 team: TeamHeaders, problems: Problems, vocabulary: Vocabulary = ENGLISH,
                 labels: Labels = SYNCBOT_LABELS) -> None:
        """``labels``: the sheet's own names for the fields, which typo hints offer first."""
        self.kinds: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        for tag in merge_tags:  # as written first (COUNTRY the merge tag, country the field)
            self.folded.setdefault(_fold(tag), tag)
            self.kinds.setdefault(tag, UNKNOWN)
        for name, kind in kinds.items():  # then syncbot's fields win over a merge tag's name
            self.folded[_fold(name)] = name
            self.kinds[name] = kind
        self.vocabulary = vocabulary
        self.aliases = {alias: name for alias, name in vocabulary.fields.items()
                        if name in self.kinds}  # a window past the lookback is not offered
        self.own = {fold(labels.field(name)): labels.field(name) for name in self.kinds}
        self.labels = labels
        self.team = team
        self.team_columns = _first_of_each(team.leads)
        self.sources = {_fold(tab): tab for tab in team.sources}
        self.problems = problems
        self.used: dict[str, TeamColumn] = {}  # field name -> column, in order of first use
        self.days_since: dict[str, DaysSince] = {}

    def kind(self, name: str) -> str:
        return self.kinds.get(name, UNKNOWN)

    def resolve(self, raw: str, cell: str) -> str | None:
        """The field's name, or None (with the problem recorded against ``cell``)."""
        call = _CALL.match(raw)
        if call and fold(call.group(1)) in ("days_since", *self.vocabulary.days_since):
            return self._days_since(call.group(2), cell)
        return self._plain(raw, cell)

    def _plain(self, raw: str, cell: str) -> str | None:
        known = raw.strip() if raw.strip() in self.kinds else self.folded.get(_fold(raw))
        if known is not None:
            return known
        header = None if "!" in raw else self.team_columns.get(_fold(raw))
        if header is not None:  # before the aliases: a team's "estado" column is theirs
            return self._use(TeamColumn(self.team.leads_tab, header, in_leads=True))
        known = self.aliases.get(fold(raw))  # clics_30d → clicks_30d
        if known is not None:
            return known
        if "!" in raw:
            return self._source(raw, cell)
        self._unknown(raw, cell)
        return None

    def _source(self, raw: str, cell: str) -> str | None:
        """``Tab!Column`` (split at the "!" that names a source tab: titles may hold one)."""
        parts = raw.split("!")
        for cut in range(1, len(parts)):
            tab = self.sources.get(_fold("!".join(parts[:cut])))
            if tab is None:
                continue
            column = "!".join(parts[cut:]).strip()
            if fold(column) in (COUNT, *self.vocabulary.count):
                return self._use(TeamColumn(tab, COUNT))
            headers = _first_of_each(self.team.sources[tab])
            header = headers.get(_fold(column))
            if header is not None:
                return self._use(TeamColumn(tab, header))
            self.problems.add("rules.unknown_source_column", cell=cell, column=column, tab=tab,
                              hint=self._hint(column, list(headers.values()) + [COUNT]))
            return None
        header = self.team_columns.get(_fold(raw))
        if header is not None:  # a Leads header with a "!" in it ("Urgent!")
            return self._use(TeamColumn(self.team.leads_tab, header, in_leads=True))
        tab = raw.split("!")[0].strip()
        listed = ", ".join(f'"{t}"' for t in self.team.sources)
        self.problems.add("rules.unknown_source_tab", cell=cell, tab=tab,
                          hint=self._hint(tab, list(self.team.sources)),
                          listed=listed or self.problems.say("rules.no_sources"))
        return None

    def _use(self, column: TeamColumn) -> str:
        name = column.field
        self.used.setdefault(name, column)
        self.kinds[name] = NUMBER if column.is_count else UNKNOWN
        return name

    def _days_since(self, inner: str, cell: str) -> str | None:
        of = self._plain(inner, cell)
        if of is None:
            return None
        if self.kind(of) not in (DATE, UNKNOWN):
            self.problems.add("rules.days_since_not_date", cell=cell, field=of)
            return None
        name = f"days_since({of})"
        self.days_since.setdefault(name, DaysSince(name, of))
        self.kinds[name] = NUMBER
        return name

    def _unknown(self, raw: str, cell: str) -> None:
        """Name the nearest field or team column (a team column's typo reads as one): the
        sheet's own names first (``clics_3d`` → ``clics_30d`` in a Spanish sheet,
        ``clicks_30d`` in an English one), any language's when none of them is near. A
        purchase field says what it needs: ``[orders]``, or a longer lookback there."""
        name = self.vocabulary.fields.get(fold(raw), raw.strip())
        if name in ORDER_FIELDS:
            configured = not ORDER_FIELDS.isdisjoint(self.kinds)  # some are offered: [orders]
            self.problems.add("rules.order_window" if configured else "rules.needs_orders",
                              cell=cell, field=raw)
            return
        close = (difflib.get_close_matches(fold(raw), [*self.own, *self.team_columns],
                                           n=1, cutoff=0.6)
                 or difflib.get_close_matches(fold(raw), [*self.folded, *self.aliases],
                                              n=1, cutoff=0.6))
        if close and close[0] in self.team_columns and close[0] not in self.own:
            self.problems.add("rules.unknown_column", cell=cell, column=raw,
                              tab=self.team.leads_tab,
                              hint=self.problems.say("rules.unknown_field_hint",
                                                     suggestion=self.team_columns[close[0]]))
            return
        names = self.folded | {alias: alias for alias in self.aliases} | self.own
        hint = (self.problems.say("rules.unknown_field_hint", suggestion=names[close[0]])
                if close else self.problems.say("rules.unknown_field_help",
                                                tab=self.team.leads_tab))
        self.problems.add("rules.unknown_field", cell=cell, field=raw, hint=hint)

    def _hint(self, name: str, choices: list[str]) -> str:
        folded = {_fold(c): c for c in choices}
        close = difflib.get_close_matches(_fold(name), list(folded), n=1, cutoff=0.5)
        return (self.problems.say("rules.unknown_field_hint", suggestion=folded[close[0]])
                if close else "")


def _first_of_each(headers: Collection[str]) -> dict[str, str]:
    """Folded header → the header as spelt in its first (leftmost) column: when two columns
    carry one name, a rule means the first, which is the one the sheets package reads."""
    first: dict[str, str] = {}
    for header in headers:
        if header.strip():
            first.setdefault(_fold(header), header)
    return first


# ---- values --------------------------------------------------------------------------------

DAY = timedelta(days=1)


def zone(name: str) -> tzinfo:
    """A time zone by its IANA name; UTC for a name this machine does not know."""
    if name in ("UTC", "Etc/UTC", ""):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def as_moment(value: Any, where: tzinfo = UTC) -> datetime | None:
    """A date-valued cell or field as an aware moment: a datetime, a sheet serial number (the
    way dates read unformatted: a wall-clock time in the spreadsheet's zone ``where``) or ISO
    text (in ``where`` unless it says its offset); None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=where)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=where)
    serial = parse_number(value)
    if serial is None:
        return None
    try:
        return (SHEETS_EPOCH.replace(tzinfo=None) + timedelta(days=serial)).replace(tzinfo=where)
    except OverflowError:
        return None


def days_since(value: Any, now: datetime, where: tzinfo = UTC
               ) -> tuple[int | None, datetime | None]:
    """Whole days from a date-valued ``value`` to ``now`` (None when it is not a date), and
    the moment that count next changes; sheet dates are read in the spreadsheet's zone."""
    moment = as_moment(value, where)
    if moment is None:
        return None, None
    days = (now - moment) // DAY
    return days, moment + (days + 1) * DAY
