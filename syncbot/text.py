"""Every user-facing sentence lives in ``syncbot/locales/<lang>.toml``.

Code asks for a message by key (``t("config.missing", ...)``) so that a
Spanish edition is one new file, not a hunt through the modules. The language
comes from ``SYNCBOT_LANG`` (default ``en``); a key missing from that language
falls back to English, and a key missing from English is a bug (KeyError).
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from importlib import resources

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


def language() -> str:
    return os.environ.get("SYNCBOT_LANG", DEFAULT_LANG) or DEFAULT_LANG


def template(message_id: str, /) -> str:
    """The message ``message_id`` in the user's language, placeholders left as they are."""
    return _catalogue(language()).get(message_id) or _catalogue(DEFAULT_LANG)[message_id]


def t(message_id: str, /, **values: object) -> str:
    """The message ``message_id`` in the user's language, with ``values`` filled in."""
    return template(message_id).format(**values)
