"""The values the core works on: a member as Mailchimp describes it, and its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

EventKind = Literal["open", "click"]  # bounces never reach the core
NUMBER, TEXT, DATE, BOOLEAN = "number", "text", "date", "boolean"  # the kinds of field


class Event(NamedTuple):
    """One open or click of a campaign e-mail; ``url`` only for clicks. (A named tuple: an
    audience has millions of them, and a tuple is the cheapest immutable record to build.)"""

    kind: EventKind
    at: datetime  # timezone-aware
    url: str | None = None


class Order(NamedTuple):
    """One purchase of a lead that counts (not refunded, not cancelled): when the store
    processed it, its total as the store reported it (in the store's currency), whether a
    campaign brought it, and the titles of what was bought, in the order's line order."""

    at: datetime  # timezone-aware
    total: float
    from_campaign: bool = False
    products: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Member:
    """An audience member with the profile data the fields need."""

    email: str
    status: str
    merge_fields: dict[str, Any] = field(default_factory=dict)
    member_rating: int | None = None
    avg_open_rate: float | None = None
    avg_click_rate: float | None = None
    orders_count: int = 0
    total_revenue: float = 0.0
    country: str = ""
    language: str = ""
    source: str = ""
    vip: bool = False
    subscribed_at: datetime | None = None

    @property
    def key(self) -> str:
        """The identity syncbot matches on everywhere: the lower-cased address."""
        return self.email.strip().lower()
