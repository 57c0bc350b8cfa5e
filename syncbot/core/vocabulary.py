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

    @classmethod
    def of(cls, language: str, *, fields: Mapping[str, str] = {},
           operators: Mapping[str, str] = {}, dimensions: Mapping[str, str] = {},
           weekdays: Mapping[str, str] = {}, days_since: Iterable[str] = (),
           columns: Mapping[str, str] = {}) -> Vocabulary:
        """A vocabulary from words as written (folded here)."""
        def folded(words: Mapping[str, str]) -> dict[str, str]:
            return {fold(alias): canonical for alias, canonical in words.items()}
        return cls(language, folded(fields), folded(operators), folded(dimensions),
                   folded(weekdays), tuple(fold(name) for name in days_since), folded(columns))

    def __add__(self, other: Vocabulary) -> Vocabulary:
        """Both vocabularies' words (a rule may use either)."""
        return Vocabulary("+".join(filter(None, (self.language, other.language))),
                          {**self.fields, **other.fields},
                          {**self.operators, **other.operators},
                          {**self.dimensions, **other.dimensions},
                          {**self.weekdays, **other.weekdays},
                          self.days_since + other.days_since,
                          {**self.columns, **other.columns})


ENGLISH = Vocabulary()
