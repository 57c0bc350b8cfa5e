"""The contracts between the pipeline and the outside systems' packages.

A package depends on a port, never on another package: the Mailchimp pull
writes into any ``PulledStore`` (the SQLite store in ``state``, or an
in-memory one in a test), and the records that cross (``StoredMember``) are
defined here, by neither side.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from syncbot.core.model import Event


class StoredMember(NamedTuple):
    """A member as the store keeps it: its key, its whole record (JSON text) and the part of
    it a stats scan sees (comparable text). The Mailchimp package makes them; the store never
    reads a wire field itself."""

    key: str
    raw: str
    scan: str


class PulledStore(Protocol):
    """What a pull needs from the local state: members, campaigns and events, and a cursor."""

    def cursor(self) -> datetime | None: ...
    def clear_members(self) -> None: ...
    def upsert_members(self, members: Iterable[StoredMember]) -> None: ...
    def refresh_members(self, partial: Sequence[StoredMember]) -> list[str]: ...
    def keep_members(self, keys: set[str]) -> None: ...
    def member_count(self) -> int: ...
    def campaigns(self) -> dict[str, str]: ...
    def keep_campaigns(self, current: Mapping[str, str]) -> None: ...
    def clear_events(self, campaign_id: str, since: datetime | None) -> None: ...
    def add_events(self, campaign_id: str, events: Iterable[tuple[str, Event]]) -> None: ...
    def drop_events_before(self, oldest: datetime) -> None: ...
    def save(self) -> None: ...

    def audience(self, chunk: int, *, stale_only: bool = False
                 ) -> Iterator[list[tuple[dict[str, Any], list[Event]]]]: ...
