"""What a run did, for the summary a person reads and for its row in the Runs tab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from syncbot.core.handoff import HandoffLead
from syncbot.core.inputs import TeamColumn
from syncbot.core.texts import Say
from syncbot.ports import Mode
from syncbot.sheets.leads import SampleLead, to_cell

Status = Literal["ok", "failed", "invalid-rules", "safety-stop", "dry-run"]
RUNS_MESSAGE_LIMIT = 5000


@dataclass
class RunReport:
    started_at: datetime
    finished_at: datetime | None = None
    mode: Mode = "incremental"
    status: Status = "ok"
    members: int = 0
    orders: int | None = None  # orders listed ([orders] only)
    campaigns: int = 0  # in the lookback window
    quiet_campaigns: int = 0  # of them, left unread: no activity since they were last read
    new_leads: int = 0
    changed_leads: int = 0
    tags_added: int = 0
    tags_removed: int = 0
    mailchimp_calls: int = 0
    sheets_calls: int = 0
    message: str = ""
    per_tag: dict[str, tuple[int, int]] = field(default_factory=dict)  # tag → (adds, removes)
    tag_sizes: dict[str, int] = field(default_factory=dict)  # tag → leads that should have it
    safety: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sample: list[SampleLead] = field(default_factory=list)
    top: list[SampleLead] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (address, Mailchimp's reason)
    team_inputs: str = ""  # which team columns and source tabs the rules use (``team_inputs``)
    handoffs: list[HandoffLead] = field(default_factory=list)  # handed to sales (or would be)
    handoff_baseline: bool = False  # the first run: it hands off no one

    def runs_row(self) -> list[Any]:
        return [to_cell(self.started_at), to_cell(self.finished_at or self.started_at),
                self.mode, self.status, self.members, self.new_leads, self.changed_leads,
                self.tags_added, self.tags_removed, self.mailchimp_calls, self.sheets_calls,
                self.message[:RUNS_MESSAGE_LIMIT]]


def team_inputs(columns: Sequence[TeamColumn], say: Say) -> str:
    """The team columns the rules use, tab by tab: ``Leads: "Demo requested"; Form responses
    1: "Timestamp", row count`` ("" when they use none)."""
    by_tab: dict[str, list[str]] = {}
    for column in columns:
        name = say("report.team_count") if column.is_count else f'"{column.header}"'
        by_tab.setdefault(column.tab, []).append(name)
    return "; ".join(say("report.team_tab", tab=tab, columns=", ".join(names))
                     for tab, names in by_tab.items())
