"""Handing hot leads to sales: who is handed off this run, and the message that says so.

A lead is handed off when it gains a ``[handoff] tags`` tag it did not hold after the
previous run (its latest history point; a lead new to the history held none). The first
run ever (no run recorded history yet) is a baseline: it hands off no one, or every lead
already hot would be announced at once.

A run writes the Hand-off rows before it records its history, so a run that dies in
between leaves rows the next run must not write again: a lead that already has a row
dated after the last run that recorded history was handed off by the run that died
(or by hand), and is not handed off twice. A run that dies before writing them leaves
the history as it was, so the next run finds the same gains and hands them off.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from syncbot.core.texts import Say
from syncbot.core.values import format_number

ANNOUNCED = 10  # leads named in one announcement; the rest are counted
HANDOFF_STATUSES = ("new", "contacted", "qualified", "back to marketing", "won", "lost")
NEW = HANDOFF_STATUSES[0]  # the Status of a row syncbot appends


@dataclass(frozen=True)
class HandoffLead:
    """A lead handed to sales, as its Hand-off row and the announcement show it."""

    key: str
    email: str
    name: str  # FNAME and LNAME, when the audience has them
    company: str  # COMPANY, when the audience has it
    score: float
    tags: str  # as the Leads tab shows them
    why: str


@dataclass(frozen=True)
class HandoffRecord:
    """One row of the Hand-off tab as a run reads it."""

    key: str  # the lower-cased address
    at: float | None  # handed_off_at as a sheet serial number (None: not a date)
    status: str  # Status in syncbot's words (``back to marketing``), or as typed
    row: int  # the sheet row: the bottom-most of equal dates is the latest


def gained(tags: Collection[str], previous: Collection[str] | None,
           handoff_tags: Collection[str]) -> bool:
    """Whether ``tags`` hold a hand-off tag that ``previous`` (the tags after the previous
    run; None for a lead the history does not know) did not."""
    held = previous or ()
    return any(tag in handoff_tags and tag not in held for tag in tags)


def latest_records(records: Iterable[HandoffRecord]) -> dict[str, HandoffRecord]:
    """Each lead's latest Hand-off row: the latest date, the bottom-most row among equals
    (a row without a date counts by its place only)."""
    latest: dict[str, HandoffRecord] = {}
    for record in records:
        best = latest.get(record.key)
        if best is None or _order(record) >= _order(best):
            latest[record.key] = record
    return latest


def _order(record: HandoffRecord) -> tuple[float, int]:
    return (record.at if record.at is not None else float("-inf"), record.row)


def handed_off_since(records: Iterable[HandoffRecord], since: float) -> set[str]:
    """The leads with a Hand-off row dated after ``since`` (a sheet serial number)."""
    return {record.key for record in records if record.at is not None and record.at > since}


@dataclass(frozen=True)
class HandoffDecision:
    """Who this run hands off, and who a run that died already did."""

    new: list[HandoffLead]  # rows to write now
    already: list[HandoffLead]  # gained, but their rows are in the tab since the last run
    baseline: bool  # the first run: nobody is handed off


def decide(candidates: Sequence[HandoffLead], tags: Mapping[str, Collection[str]],
           previous: Mapping[str, Collection[str]], handoff_tags: Collection[str],
           since: float | None, records: Iterable[HandoffRecord]) -> HandoffDecision:
    """``candidates``: the leads holding a hand-off tag now (``tags``: their tags);
    ``previous``: the tags the history says they held after the previous run; ``since``:
    when the last run that recorded history ran (a serial number; None: none ever did)."""
    if since is None:
        return HandoffDecision([], [], baseline=True)
    gainers = [lead for lead in candidates
               if gained(tags[lead.key], previous.get(lead.key), handoff_tags)]
    done = handed_off_since(records, since)
    return HandoffDecision([lead for lead in gainers if lead.key not in done],
                           [lead for lead in gainers if lead.key in done], baseline=False)


def announcement(leads: Sequence[HandoffLead], tab: str, link: str, say: Say) -> str:
    """The chat message of one run's hand-offs: how many, the first ``ANNOUNCED`` by score
    with their score and why, and where the Hand-off tab (``tab``, at ``link``) is."""
    ranked = sorted(leads, key=lambda lead: (-lead.score, lead.email))
    lines = [say("handoff.announce_heading", count=len(leads))]
    for lead in ranked[:ANNOUNCED]:
        who = f"{lead.name} <{lead.email}>" if lead.name else lead.email
        company = say("handoff.announce_company", company=lead.company) if lead.company else ""
        lines.append(say("handoff.announce_lead", who=who, company=company,
                         score=format_number(lead.score), why=lead.why))
    if len(ranked) > ANNOUNCED:
        lines.append(say("handoff.announce_more", count=len(ranked) - ANNOUNCED))
    lines.append(say("handoff.announce_link", tab=tab, link=link))
    return "\n".join(lines)


def lead_from_row(key: str, row: Mapping[str, object]) -> HandoffLead:
    """A lead as its Hand-off row shows it, from its Leads values (merge fields by tag)."""
    def text(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value).strip()

    name = " ".join(part for part in (text("FNAME"), text("LNAME")) if part)
    score = row.get("score")
    return HandoffLead(key, text("email"), name, text("COMPANY"),
                       float(score) if isinstance(score, int | float) else 0.0,
                       text("tags"), text("why"))
