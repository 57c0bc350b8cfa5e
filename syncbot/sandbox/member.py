"""One audience member as the Mailchimp emulator keeps it.

Only what varies from member to member is stored; the API's member object,
with its nested ``stats``, ``location`` and the ids derived from the
subscriber hash, is written out on request (``as_json``). As the API's nested
dicts an audience of 100,000 took 175 MB of the demo's memory; as these
records, about a third of that. Merge fields are a tuple of values beside one
shared tuple of their tags (a dict per member was another 15 MB).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

IP_OPT = "198.51.100.7"  # every member's opt-in address (a documentation address)


@dataclass(slots=True)
class StoredMember:
    key: str  # the subscriber hash: MD5 of the lower-cased address
    email_address: str
    status: str
    merge_tags: tuple[str, ...]  # one tuple for every member with the same tags
    merge_values: tuple[Any, ...]
    web_id: int
    member_rating: int
    avg_open_rate: float
    avg_click_rate: float
    number_of_orders: int
    total_revenue: float
    country_code: str
    language: str
    source: str
    vip: bool
    timestamp_opt: str
    last_changed: str  # moves on profile changes only, never on opens or clicks
    list_id: str

    @property
    def merge_fields(self) -> dict[str, Any]:
        """The member's merge fields by tag (a new dict: the emulator's ``update_member``
        changes them)."""
        return dict(zip(self.merge_tags, self.merge_values, strict=True))

    def change(self, name: str, value: Any) -> None:
        """Set one stored field by name; a name the record does not keep is a mistake in the
        caller (a test or a generator), said at once rather than stored where nothing reads."""
        if name in _FIXED or name not in _FIELD_NAMES:
            raise KeyError(f"a member has no changeable field {name!r}")
        setattr(self, name, value)

    def as_json(self) -> dict[str, Any]:
        """The API's member object (without ``tags``, which the audience keeps)."""
        names = self.merge_fields
        return {
            "id": self.key,
            "email_address": self.email_address,
            "unique_email_id": self.key[:10],
            "contact_id": self.key[10:26],
            "full_name": " ".join(str(names[k]) for k in ("FNAME", "LNAME") if names.get(k)),
            "web_id": self.web_id,
            "email_type": "html",
            "status": self.status,
            "merge_fields": names,
            "stats": {"avg_open_rate": self.avg_open_rate,
                      "avg_click_rate": self.avg_click_rate,
                      "ecommerce_data": {"total_revenue": self.total_revenue,
                                         "number_of_orders": self.number_of_orders,
                                         "currency_code": "EUR"}},
            "ip_signup": "", "timestamp_signup": "",
            "ip_opt": IP_OPT, "timestamp_opt": self.timestamp_opt,
            "member_rating": self.member_rating,
            "last_changed": self.last_changed,
            "language": self.language, "vip": self.vip, "email_client": "",
            "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0,
                         "country_code": self.country_code, "timezone": "", "region": ""},
            "source": self.source,
            "list_id": self.list_id,
        }


_FIELD_NAMES = frozenset(f.name for f in fields(StoredMember))
_FIXED = ("key", "list_id", "merge_tags", "merge_values")  # merge fields: update_member
