"""Every user-facing sentence lives in ``syncbot/locales/<lang>.toml``.

Code asks for a message by key (``t("config.missing", ...)``) so that a
Spanish edition is one new file, not a hunt through the modules. The language
comes from ``SYNCBOT_LANG`` (default ``en``); a key missing from that language
falls back to English, and a key missing from English is a bug (KeyError).
"""

from __future__ import annotations

import os
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from syncbot.core.vocabulary import ENGLISH, Vocabulary

DEFAULT_LANG = "en"


@cache
def _catalogue(lang: str) -> dict[str, str]:
    try:
        raw = resources.files("syncbot.locales").joinpath(f"{lang}.toml").read_text("utf-8")
    except FileNotFoundError:
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            else:
                flat[name] = str(value)

    walk("", tomllib.loads(raw))
    return flat


LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # the system's, in POSIX precedence


def system_locale(environ: Mapping[str, str] | None = None) -> str:
    """The system locale's name (``LANG=es_ES.UTF-8`` → ``es_ES``; "" when none is set), read
    at the edge like the language."""
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name, "").strip()
        if value:  # the first one set decides, as for every POSIX program
            return value.split(".")[0].split("@")[0]
    return ""


DECIMAL_COMMA_LANGUAGES = frozenset({"es", "pt", "fr", "de", "it", "nl", "ca", "gl", "eu", "da",
                                     "sv", "nb", "no", "fi", "pl", "cs", "sk", "ro", "hu",
                                     "ru", "uk", "tr", "el", "id", "vi"})
DECIMAL_POINT_REGIONS = frozenset({  # where those languages write 2.5 (Unicode CLDR)
    "es_419", "es_MX", "es_US", "es_PE", "es_GT", "es_HN", "es_NI", "es_PA", "es_PR", "es_SV",
    "es_DO", "es_CU", "es_BZ"})


def decimal_mark(locale: str) -> str:
    """The decimal mark people write in a locale (a spreadsheet's or the system's): "," in
    ``es_ES``, ``es_AR`` or ``de_DE`` (where 2.345 reads as two thousand…), "." in ``en_US``,
    ``es_MX`` or an unknown locale."""
    code = locale.replace("-", "_")
    language = code.split("_")[0].lower()
    return "," if language in DECIMAL_COMMA_LANGUAGES and code not in DECIMAL_POINT_REGIONS \
        else "."


def language(environ: Mapping[str, str] | None = None) -> str:
    """The user's language (read here, at the edge, never in the core): ``SYNCBOT_LANG``,
    else the system locale (``LANG=es_ES.UTF-8`` → ``es``) when syncbot speaks it, else
    English."""
    env = os.environ if environ is None else environ
    chosen = env.get("SYNCBOT_LANG", "").strip()
    if chosen:
        return chosen
    locale = system_locale(env)
    if locale:
        code = locale.split("_")[0].lower()
        return code if _catalogue(code) else DEFAULT_LANG
    return DEFAULT_LANG


@dataclass(frozen=True)
class Catalogue:
    """The messages of one language (English where it has none): what the core is given to
    write for people (it is a ``core.texts.Say``)."""

    language: str = DEFAULT_LANG
    decimal: str = "."  # the reader's decimal mark: "," writes 15.833 leads and 2,5 s

    def template(self, message_id: str, /) -> str:
        """The message, placeholders left as they are."""
        return _catalogue(self.language).get(message_id) or _catalogue(DEFAULT_LANG)[message_id]

    def __call__(self, message_id: str, /, **values: object) -> str:
        """The message with its values; with ``count`` 1, the message's ``_one`` form when it
        has one ("1 row was skipped", not "1 rows were skipped")."""
        if values.get("count") == 1 and self._has(f"{message_id}_one"):
            message_id = f"{message_id}_one"
        if self.decimal == ",":
            return _COMMA_NUMBERS.format(self.template(message_id), **values)
        return self.template(message_id).format(**values)

    def _has(self, message_id: str) -> bool:
        return message_id in _catalogue(self.language) or message_id in _catalogue(DEFAULT_LANG)


class _CommaNumbers(string.Formatter):
    """``str.format`` for readers who write 15.833 and 2,5: a number's grouping and decimal
    marks swap places (texts are left alone)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        text = format(value, format_spec)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return text.translate(_SWAP)
        return text


_SWAP = str.maketrans(",.", ".,")
_COMMA_NUMBERS = _CommaNumbers()


def catalogue(environ: Mapping[str, str] | None = None) -> Catalogue:
    """The catalogue of the user's language now, with the numbers of the user's region when
    the system locale is in that language (``LANG=es_ES``: 15.833; ``es_MX``: 15,833)."""
    code = language(environ)
    locale = system_locale(environ)
    same = locale.split("_")[0].lower() == code
    return Catalogue(code, decimal_mark(locale) if same else ".")


def t(message_id: str, /, **values: object) -> str:
    """The message ``message_id`` in the user's language, with ``values`` filled in."""
    return catalogue()(message_id, **values)


LANGUAGE_NAMES = {"en": "languages.en", "es": "languages.es"}  # a language, in words


def language_name(code: str) -> str:
    """A language's name in the user's language ("Spanish", "español")."""
    return t(LANGUAGE_NAMES[code])


RULE_LANGUAGES = ("es",)  # the languages whose words rules accept, besides syncbot's own


@cache
def rule_vocabulary() -> Vocabulary:
    """Every word a rule may be written in, whatever the sheet's language: syncbot's own
    names plus each language's aliases (``rules_<lang>.toml``), given to the core."""
    vocabulary = ENGLISH
    for lang in RULE_LANGUAGES:
        raw = tomllib.loads(resources.files("syncbot.locales").joinpath(f"rules_{lang}.toml")
                            .read_text("utf-8"))
        vocabulary = vocabulary + Vocabulary.of(
            lang, fields=raw.get("fields", {}), operators=raw.get("operators", {}),
            dimensions=raw.get("dimensions", {}), weekdays=raw.get("weekdays", {}),
            days_since=raw.get("days_since", ()), columns=raw.get("columns", {}),
            count=raw.get("count", ()), statuses=raw.get("statuses", {}),
            handoff_statuses=raw.get("handoff_statuses", {}))
    return vocabulary
