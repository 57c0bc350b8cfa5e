"""The contracts between the pipeline and the outside systems' packages.

A package depends on a port, never on another package: the Mailchimp pull
writes into any ``PulledStore`` (the SQLite store in ``state``, or an
in-memory one in a test), and the records that cross (``StoredMember``) are
defined here, by neither side.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from syncbot.core.handoff import HandoffLead, HandoffRecord
from syncbot.core.inputs import TeamColumn
from syncbot.core.model import Event

if TYPE_CHECKING:  # for the types only: the port does not depend on the Sheets package
    #                  (nor on rich, which the scoring workers need not import)
    from syncbot.core.dashboard import DashboardTables
    from syncbot.progress import Meter
    from syncbot.sheets.client import Tab
    from syncbot.sheets.leads import LeadsDiff
    from syncbot.sheets.spool import PendingRow
    from syncbot.sheets.stream import RowStream
    from syncbot.sheets.tabs import SheetData


Mode = Literal["full", "incremental"]  # how a run pulled: everything, or what changed


class StoredMember(NamedTuple):
    """A member as the store keeps it: its key, its whole record (JSON text) and the part of
    it a stats scan sees (comparable text). The Mailchimp package makes them; the store never
    reads a wire field itself."""

    key: str
    raw: str
    scan: str


class ScannedMember(NamedTuple):
    """One member as a stats scan sees it: its key, that part as comparable text, and those
    fields themselves (turned into JSON only when they changed: the scan lists everyone)."""

    key: str
    scan: str
    fields: Mapping[str, Any]


class StoredOrder(NamedTuple):
    """An order as the store keeps it: its id (``store/order``), its lead's key ("" when it
    names no customer address), and what counts of it as comparable text ("" for an order
    that does not count). The Mailchimp package makes them."""

    id: str
    key: str
    data: str

    @property
    def fingerprint(self) -> int:
        """A 64-bit digest of the whole order as stored, kept beside it: every run lists
        every order, and comparing digests in memory is several times cheaper than looking
        each order up (two orders stored differently share one by a 1-in-2⁶⁴ chance)."""
        digest = blake2b("\x1e".join(self).encode(), digest_size=8).digest()  # record separator
        return int.from_bytes(digest, "big", signed=True)  # SQLite's INTEGER is signed


class OrderPage(NamedTuple):
    """One page of the orders listing, and a digest of its body as Mailchimp sent it (None
    when unknown): a page whose body is byte for byte one the last listing read holds the
    same orders, so it need not be taken apart again. ``orders`` is None when the digest was
    one the listing said it knows: that page's orders were not even decoded."""

    orders: list[dict[str, Any]] | None
    digest: bytes | None = None


class ListedPage(NamedTuple):
    """What a listing learnt from one page: its digest, the fingerprints of its orders and
    the stores they came from."""

    digest: bytes
    fingerprints: tuple[int, ...]
    stores: tuple[str, ...]


class OrderStore(Protocol):
    """What an orders listing needs from the local state: the cached orders' fingerprints
    (to tell the listed orders that changed), those orders replaced page by page
    (``upsert_orders``), then the orders no longer listed found and forgotten; a changed
    or forgotten order marks its lead for evaluation."""

    def order_fingerprints(self) -> Iterator[int]: ...
    def listed_pages(self) -> dict[bytes, ListedPage]: ...
    def remember_pages(self, pages: Sequence[ListedPage]) -> None: ...
    def upsert_orders(self, orders: Sequence[StoredOrder]) -> None: ...
    def unlisted_orders(self, was_listed: Callable[[int], bool | None]) -> list[StoredOrder]: ...
    def order_count(self) -> int: ...
    def forget_orders(self, orders: Sequence[StoredOrder]) -> None: ...
    def orders_of(self, keys: Sequence[str]) -> dict[str, list[str]]: ...
    def save(self) -> None: ...


class OrderSource(Protocol):
    """The connected stores and their orders, in Mailchimp's shape (``MailchimpAudience``).
    Listed in a thread of its own while the audience is pulled, so both must be safe to call
    at once (shared connection slots and request counts under a lock)."""

    def stores(self) -> list[dict[str, Any]]: ...
    def order_pages(self, totals: list[int] | None = None,
                    known: Collection[bytes] = frozenset()) -> Iterator[OrderPage]: ...


class PulledStore(Protocol):
    """What a pull needs from the local state: members, campaigns and events, and a cursor."""

    def cursor(self) -> datetime | None: ...
    def clear_members(self) -> None: ...
    def upsert_members(self, members: Iterable[StoredMember]) -> None: ...
    def refresh_members(self, partial: Sequence[ScannedMember]) -> list[str]: ...
    def keep_members(self, keys: set[str]) -> None: ...
    def member_count(self) -> int: ...
    def campaigns(self) -> dict[str, str]: ...
    def keep_campaigns(self, current: Mapping[str, str]) -> None: ...
    def read_times(self) -> dict[str, datetime]: ...
    def mark_read(self, campaign_ids: Iterable[str], at: datetime) -> None: ...
    def clear_events(self, campaign_id: str, since: datetime | None) -> None: ...
    def add_events(self, campaign_id: str, events: Iterable[tuple[str, Event]]) -> None: ...
    def drop_events_before(self, oldest: datetime) -> None: ...
    def save(self) -> None: ...

    def members_of(self, keys: Sequence[str]) -> list[tuple[dict[str, Any], list[Event]]]: ...


class Known(NamedTuple):
    """What the ledger knows of a lead's row: syncbot's cells as syncbot last wrote them
    (JSON) and the row's ``synced_at`` then (a date serial; None if it had none)."""

    cells: str
    synced_at: float | None


class LeadNote(NamedTuple):
    """What the ledger keeps with a lead besides its cells, so an unchanged lead is reused
    without recomputing it."""

    stable_until: float  # a POSIX timestamp: its values hold until then
    status: str
    email: str  # as Mailchimp spells it
    tags: str  # the managed tags it should have, as a JSON list
    score: float
    inputs: str = ""  # the team's values it was computed with (``TeamInputs.fingerprint``)
    topics: str = ""  # its ``topics`` value (the Dashboard counts leads per topic)


class LedgerEntry(NamedTuple):
    """One lead in the ledger: its key, what its row holds, and its note."""

    key: str
    cells: str
    synced_at: float | None
    stable_until: float
    status: str
    email: str
    tags: str
    score: float
    inputs: str | None = ""
    topics: str | None = ""

    @classmethod
    def of(cls, key: str, known: Known, note: LeadNote) -> LedgerEntry:
        return cls(key, known.cells, known.synced_at, note.stable_until, note.status, note.email,
                   note.tags, note.score, note.inputs, note.topics)

    @property
    def known(self) -> Known:
        return Known(self.cells, self.synced_at)

    @property
    def note(self) -> LeadNote:
        return LeadNote(self.stable_until, self.status, self.email, self.tags, self.score,
                        self.inputs or "", self.topics or "")


@dataclass(frozen=True)
class DashboardMemory:
    """The Dashboard tab syncbot made in a spreadsheet, kept in the state: found again by its
    sheet id when the team renames it. Its charts were made with it, once: syncbot never adds
    one again, so a chart the team deleted stays deleted."""

    spreadsheet_id: str
    sheet_id: int
    charts: tuple[int, ...] = ()


class Ambiguous(NamedTuple):
    """A header the rules name that more than one column of ``tab`` carries; ``cell`` is
    the header cell of the column read (the first)."""

    tab: str
    header: str
    cell: str


@dataclass
class TeamInputs:
    """The team's values the rules name, read for one run: per lead (by key), the value of
    each team column (by field name; blanks left out), and what could not be used."""

    fields: tuple[str, ...] = ()  # the team columns' field names, in the rules' order
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_rows: dict[str, int] = field(default_factory=dict)  # source tab → rows without a
    #                                                            valid e-mail
    error_cells: dict[str, int] = field(default_factory=dict)  # tab → formula errors read as blank
    ambiguous: list[Ambiguous] = field(default_factory=list)  # headers several columns carry

    def of(self, key: str) -> dict[str, Any]:
        return self.values.get(key, {})

    def fingerprint(self, key: str) -> str:
        """The lead's values as comparable text ("" when it has none): a lead whose text is
        not the one its ledger entry was computed with is computed again. (``repr`` of the
        values in the rules' order: it tells ``True`` from ``1`` and ``1`` from ``1.0``.)"""
        values = self.values.get(key)
        return repr([values.get(name) for name in self.fields]) if values else ""

    def add(self, name: str, values: Mapping[str, Any]) -> None:
        """One more input of every lead (key → value): the Hand-off Status, say. It counts in
        the fingerprints, so a lead whose value changed is evaluated again."""
        self.fields = (*self.fields, name)
        for key, value in values.items():
            self.values.setdefault(key, {})[name] = value

    def fingerprints(self) -> dict[str, str]:
        """Lead key → its fingerprint, for the leads that have any value."""
        return {key: self.fingerprint(key) for key, values in self.values.items() if values}


class DashboardWrite(NamedTuple):
    """A Dashboard made ready for this run: what the state should remember of it, and its
    tables as ValueRanges, to be written with the Runs row (one request for both)."""

    memory: DashboardMemory
    tables: list[dict[str, Any]]


class ColumnRead(NamedTuple):
    """One column of a tab read below its header: Leads' e-mails and stamps, a team column
    or a source tab's column the rules name. A run remembers what it read, so the next one
    can ask for the same columns with the rules tabs (one request instead of two)."""

    tab: str  # the tab's title
    column: int  # 0-based


class OpenedLeads(NamedTuple):
    """The Leads tab as a run opens it: which lead is on which row (the diff the run fills),
    the team's values the rules name, read together, and the columns read for both."""

    diff: LeadsDiff
    inputs: TeamInputs
    columns: tuple[ColumnRead, ...]


@dataclass
class WriteReport:
    """What a tag write did."""

    added: int = 0
    removed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (address, Mailchimp's reason)
    created_tags: list[str] = field(default_factory=list)


class AudienceSource(OrderSource, Protocol):
    """The audience as a run reads and tags it: Mailchimp's records (in Mailchimp's own shape,
    which ``mailchimp.pull`` stores), its tags, and the account's orders. ``MailchimpAudience`` is one;
    ``mailchimp.fake.FakeAudience`` is one in memory."""

    @property
    def requests(self) -> int: ...
    def member_pages(self, *, fields: Sequence[str] = ...,
                     since_last_changed: datetime | None = None
                     ) -> Iterator[list[dict[str, Any]]]: ...
    def members(self, *, fields: Sequence[str] = ...,
                since_last_changed: datetime | None = None) -> list[dict[str, Any]]: ...
    def members_by_hash(self, hashes: Sequence[str]) -> list[dict[str, Any]]: ...
    def campaigns(self, since_send_time: datetime) -> list[dict[str, Any]]: ...
    def activity_times(self, since_send_time: datetime) -> dict[str, datetime | None]: ...
    def activity_pages(self, since: Mapping[str, datetime | None]
                       ) -> Iterator[tuple[str, bool, list[dict[str, Any]]]]: ...
    def resolve_tags(self, names: Sequence[str], *, create: bool
                     ) -> tuple[dict[str, int], list[str]]: ...
    def tag_members(self, segment_ids: Mapping[str, int]) -> dict[str, set[str]]: ...
    def create_tag(self, name: str) -> int: ...
    def write_tags(self, segment_ids: Mapping[str, int], adds: Mapping[str, Iterable[str]],
                   removes: Mapping[str, Iterable[str]], batches: Meter = ...) -> WriteReport: ...


class SheetPort(Protocol):
    """The spreadsheet as a run reads and writes it (``sheets.spreadsheet.Spreadsheet``)."""

    @property
    def requests(self) -> int: ...
    def read(self, beside: Sequence[ColumnRead] = (), last: Sequence[str] = ()) -> SheetData: ...
    def open_leads(self, columns: Sequence[str], team: Sequence[TeamColumn], *,
                   trust_ledger: bool) -> OpenedLeads: ...
    def settle_leads(self, diff: LeadsDiff) -> None: ...
    def stream_leads(self, diff: LeadsDiff, synced_at: datetime, new_leads: int
                     ) -> RowStream[list[PendingRow]]: ...
    def write_leads(self, diff: LeadsDiff, synced_at: datetime, rows: Meter = ...,
                    meanwhile: Iterable[object] = ...) -> int: ...
    def prepare_dashboard(self, tables: DashboardTables, memory: DashboardMemory | None
                          ) -> DashboardWrite: ...
    def handoff_records(self) -> list[HandoffRecord]: ...
    def handoff_statuses(self) -> dict[str, str]: ...
    def append_handoffs(self, leads: Sequence[HandoffLead], handed_off_at: datetime) -> Tab: ...
    def append_run(self, values: Sequence[Any],
                   alongside: Sequence[Mapping[str, Any]] = ()) -> None: ...
