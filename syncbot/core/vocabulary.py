"""The words rules may be written in: syncbot's own (English) and each language's aliases.

A ``Vocabulary`` maps what a team may type to syncbot's canonical names: field names
(``clics_30d`` → ``clicks_30d``), operators (``entre`` → ``between``), dimensions
(``perfil`` → ``fit``), weekdays (``lun`` → ``Mon``), the name of ``days_since``
(``dias_desde``) and the rules tabs' headers (``Puntos`` → ``Points``). Every key is
folded (lower case, accents and extra spaces dropped), so ``está vacío`` and
``esta vacio`` are one word. The words themselves are data, loaded by ``syncbot.locales``
and given to the core; English needs no aliases.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from syncbot.core.values import format_number


def fold(text: str) -> str:
    """``"  Está  VACÍO "`` → ``"esta vacio"``: how typed words are compared."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(plain.split()).casefold()


@dataclass(frozen=True)
class Vocabulary:
    """Aliases → canonical names, keys folded. ``language`` names where the aliases come from
    ("" for syncbot's own words only)."""

    language: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    operators: Mapping[str, str] = field(default_factory=dict)
    dimensions: Mapping[str, str] = field(default_factory=dict)
    weekdays: Mapping[str, str] = field(default_factory=dict)
    days_since: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)  # rules tabs' headers
    count: tuple[str, ...] = ()  # ``Tab!count``'s other names
    statuses: Mapping[str, str] = field(default_factory=dict)  # ``status`` values: suscrito
    handoff_statuses: Mapping[str, str] = field(default_factory=dict)  # devuelto a marketing

    @classmethod
    def of(cls, language: str, *, fields: Mapping[str, str] = {},
           operators: Mapping[str, str] = {}, dimensions: Mapping[str, str] = {},
           weekdays: Mapping[str, str] = {}, days_since: Iterable[str] = (),
           columns: Mapping[str, str] = {}, count: Iterable[str] = (),
           statuses: Mapping[str, str] = {}, handoff_statuses: Mapping[str, str] = {}
           ) -> Vocabulary:
        """A vocabulary from words as written (folded here)."""
        def folded(words: Mapping[str, str]) -> dict[str, str]:
            return {fold(alias): canonical for alias, canonical in words.items()}
        return cls(language, folded(fields), folded(operators), folded(dimensions),
                   folded(weekdays), tuple(fold(name) for name in days_since), folded(columns),
                   tuple(fold(name) for name in count), folded(statuses),
                   folded(handoff_statuses))

    def __add__(self, other: Vocabulary) -> Vocabulary:
        """Both vocabularies' words (a rule may use either)."""
        return Vocabulary("+".join(filter(None, (self.language, other.language))),
                          {**self.fields, **other.fields},
                          {**self.operators, **other.operators},
                          {**self.dimensions, **other.dimensions},
                          {**self.weekdays, **other.weekdays},
                          self.days_since + other.days_since,
                          {**self.columns, **other.columns}, self.count + other.count,
                          {**self.statuses, **other.statuses},
                          {**self.handoff_statuses, **other.handoff_statuses})


ENGLISH = Vocabulary()


DAYS_SINCE = "days_since"
COUNT = "count"  # ``Tab!count``: a source tab's rows for the lead


@dataclass(frozen=True)
class Labels:
    """How one sheet shows syncbot's names: its Leads column titles for the fields, its words
    for the operators — what ``why`` writes, so a Spanish sheet reads ``clics_30d 3×5 +15``
    and an English one ``clicks_30d 3×5 +15``. English needs none: names show as they are."""

    language: str = "en"
    fields: Mapping[str, str] = field(default_factory=dict)
    operators: Mapping[str, str] = field(default_factory=dict)
    days_since: str = DAYS_SINCE
    count: str = COUNT
    weekdays: Mapping[str, str] = field(default_factory=dict)  # Mon → lun
    statuses: Mapping[str, str] = field(default_factory=dict)  # subscribed → suscrito
    headers: Mapping[str, str] = field(default_factory=dict)  # rules tabs' Field → Campo
    handoff_statuses: Mapping[str, str] = field(default_factory=dict)  # won → ganado
    decimal: str = "."  # the spreadsheet's decimal mark (its locale's: "," in es_ES)

    def number(self, value: float) -> str:
        """A number as this sheet writes it (``2,5`` in a sheet whose locale says so)."""
        return format_number(value, self.decimal)

    def field(self, name: str) -> str:
        """A field as this sheet names it (team columns keep the team's own names)."""
        if name.startswith(f"{DAYS_SINCE}(") and name.endswith(")"):
            return f"{self.days_since}({self.field(name[len(DAYS_SINCE) + 1:-1])})"
        if name.endswith(f"!{COUNT}"):
            return name[:-len(COUNT)] + self.count
        return self.fields.get(name, name)

    def header(self, column: str) -> str:
        """A rules tab's column as this sheet heads it (``Points``: ``Puntos``)."""
        return self.headers.get(column, column)

    def operator(self, operator: str) -> str:
        return self.operators.get(operator, operator)

    def values(self, row: dict[str, object]) -> None:
        """Show a lead's ``best_send_weekday``, ``status`` and ``handoff_status`` in this
        sheet's words (``lun``, ``suscrito``, ``ganado``): done once rules are applied, which
        compare syncbot's own values."""
        for name, words in (("best_send_weekday", self.weekdays), ("status", self.statuses),
                            ("handoff_status", self.handoff_statuses)):
            value = row.get(name)
            if isinstance(value, str) and value in words:
                row[name] = words[value]


SYNCBOT_LABELS = Labels()
