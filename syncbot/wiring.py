"""Building the real API objects from the configuration (the CLI's and the scheduler's job).

``transport()`` is the one seam where another transport can be put under both
clients: ``None`` means the real network; the demo and the end-to-end tests
set it to the sandbox's adapter.
"""

from __future__ import annotations

from collections.abc import Callable

from requests.adapters import BaseAdapter

from syncbot.adapters.mailchimp import MailchimpAudience
from syncbot.adapters.sheets import Workbook
from syncbot.config import Config

transport: Callable[[], BaseAdapter | None] = lambda: None  # noqa: E731


def workbook(config: Config) -> Workbook:
    assert config.secrets is not None, "loaded with require_secrets"
    return Workbook.from_key_file(config.sheets.spreadsheet_id,
                                  config.secrets.google_credentials_path, adapter=transport())


def audience(config: Config) -> MailchimpAudience:
    assert config.secrets is not None, "loaded with require_secrets"
    adapter = transport()
    session = None
    if adapter is not None:
        import requests

        session = requests.Session()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return MailchimpAudience(config.secrets.mailchimp_api_key, config.mailchimp.list_id,
                             max_connections=config.mailchimp.max_connections, session=session)
