"""The hand-off step of a run: who goes to sales, their Hand-off rows, the chat message.

It runs after the tags are written and before the run records its history (the order
``core.handoff`` relies on to hand no one off twice and lose no one). Writing the rows
may fail the run like any other sheet write (the next run hands the same leads off); the
chat message never does: a failure is a warning in the run's message. The message also
names the leads whose rows a run that died had written and not announced (the state
remembers up to when rows were announced).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from syncbot.config import Config
from syncbot.core.handoff import HandoffDecision, HandoffLead, announcement, decide, gained
from syncbot.core.values import to_serial
from syncbot.errors import SyncbotError
from syncbot.locales import Catalogue
from syncbot.ports import SheetPort
from syncbot.state.store import StateStore

SHEET_LINK = "https://docs.google.com/spreadsheets/d/{id}/edit#gid={tab}"  # opens on the tab


class Announcer(Protocol):
    """Where hand-offs are announced (``webhook.Webhook``, or a fake)."""

    def announce(self, text: str) -> None: ...


@dataclass(frozen=True)
class HandoffOutcome:
    """What the step did, for the run's report and message."""

    handed_off: list[HandoffLead]
    announced: int = 0  # leads named in a message that was sent
    failure: str = ""  # why the message could not be sent


def decide_handoffs(config: Config, state: StateStore, sheet: SheetPort, hot: Sequence[str],
                    tags: Mapping[str, Collection[str]], lead: Callable[[str], HandoffLead]
                    ) -> HandoffDecision:
    """Who this run hands off (nobody without ``[handoff]``, or on the baseline run), among
    the ``hot`` leads (those holding a hand-off tag now); ``lead`` builds a lead's Hand-off
    row, only for those who gained the tag."""
    if config.handoff is None:
        return HandoffDecision([], [], baseline=False)
    since = state.history_recorded_at()
    previous = state.last_tags(hot)
    gainers = [lead(key) for key in hot
               if gained(tags[key], previous.get(key), config.handoff.tags)]
    return decide(gainers, tags, previous, config.handoff.tags,
                  to_serial(since) if since is not None else None, sheet.handoff_records())


def hand_off(decision: HandoffDecision, *, config: Config, state: StateStore, sheet: SheetPort,
             now: datetime, announcer: Announcer | None, texts: Catalogue) -> HandoffOutcome:
    """Write this run's Hand-off rows, then announce them (and any a run that died wrote)."""
    if config.handoff is None:
        return HandoffOutcome([])
    late = _left_unannounced(decision, state, sheet)  # from the rows as the run read them
    tab = sheet.append_handoffs(decision.new, now)
    unannounced = decision.new + late
    if announcer is None or not unannounced:
        return HandoffOutcome(decision.new)
    link = SHEET_LINK.format(id=config.sheets.spreadsheet_id, tab=tab.sheet_id)
    try:
        announcer.announce(announcement(unannounced, tab.title, link, texts))
    except SyncbotError as exc:
        failure = str(exc)
    else:
        failure = ""
    state.remember_announced(now)  # sent or reported: never sent again
    return HandoffOutcome(decision.new, 0 if failure else len(unannounced), failure)


def _left_unannounced(decision: HandoffDecision, state: StateStore, sheet: SheetPort
                      ) -> list[HandoffLead]:
    """The leads a run that died handed off after the last announcement."""
    if not decision.already:
        return []
    through = state.announced_through() or state.history_recorded_at()
    after = to_serial(through) if through is not None else float("-inf")
    late = {record.key for record in sheet.handoff_records()
            if record.at is not None and record.at > after}
    return [lead for lead in decision.already if lead.key in late]
