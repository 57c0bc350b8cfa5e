"""What a run did, for the summary a person reads and for its row in the Runs tab."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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

    def runs_row(self) -> list[Any]:
        return [to_cell(self.started_at), to_cell(self.finished_at or self.started_at),
                self.mode, self.status, self.members, self.new_leads, self.changed_leads,
                self.tags_added, self.tags_removed, self.mailchimp_calls, self.sheets_calls,
                self.message[:RUNS_MESSAGE_LIMIT]]
