"""One sync, used by every command: read → pull → score → plan → check → write → log.

``run_once`` reads the rules (and stops with exit 2, before pulling, on any
invalid row), pulls the audience, computes features, scores and tags (only
for leads whose inputs changed or whose values are due to change; the rest
come from the cache's Leads ledger), plans the tag changes, applies the
safety stop, then writes the Leads tab (and records it in the ledger), then
the tags, then the Runs row, and only then advances the cache cursor. Every
write is a reconciliation (the difference between what is there and what
should be), so a run that dies half way is repaired by the next one, and a
second run in a row changes nothing. A dry run reads everything and writes
nothing anywhere: not the sheet, not Mailchimp, not the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncbot.config import Config
from syncbot.core.lead import Evaluator, Settings
from syncbot.core.model import Event, Member
from syncbot.core.rules import InvalidRules, Ruleset, parse_rules
from syncbot.core.scoring import WHY_TEXTS
from syncbot.core.tagplan import TagPlan, plan_tags, safety_problems
from syncbot.core.texts import Say
from syncbot.core.values import as_text
from syncbot.errors import RulesError, SafetyStop, SyncbotError
from syncbot.locales import Catalogue, catalogue, t
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.mailchimp.pull import audience as audience_chunks
from syncbot.mailchimp.pull import pull
from syncbot.sheets.a1 import cell as cell_name
from syncbot.sheets.client import Workbook
from syncbot.sheets.leads import (
    Highest,
    Known,
    LeadsDiff,
    SampleLead,
    duplicates_message,
    leads_columns,
    to_cell,
)
from syncbot.sheets.tabs import (
    SheetData,
    append_run,
    prepare_leads,
    read_spreadsheet,
    runs_header,
    settle_leads,
    write_leads,
)
from syncbot.state.store import AudienceCache, full_pull_warning

Progress = Callable[[str], None]
SAMPLE_SIZE = 5
_MERGE_TAG = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass
class RunReport:
    started_at: datetime
    finished_at: datetime | None = None
    mode: str = "incremental"
    status: str = "ok"  # ok | failed | invalid-rules | safety-stop | dry-run
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
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def runs_row(self) -> list[Any]:
        return [to_cell(self.started_at), to_cell(self.finished_at or self.started_at),
                self.mode, self.status, self.members, self.new_leads, self.changed_leads,
                self.tags_added, self.tags_removed, self.mailchimp_calls, self.sheets_calls,
                self.message[:5000]]


def sheet_rules(data: SheetData, config: Config, merge_tags: list[str], say: Say) -> Ruleset:
    """The rules in the spreadsheet's tabs, or RulesError (used by `sync` and by `check`)."""
    tabs = (config.sheets.weights_tab, config.sheets.segments_tab, config.sheets.interests_tab)
    try:
        return parse_rules(weights=data.weights, segments=data.segments, interests=data.interests,
                           lookback_days=config.mailchimp.lookback_days, merge_tags=merge_tags,
                           tabs=tabs, say=say, cell=cell_name)
    except InvalidRules as exc:
        raise RulesError(exc.problems, heading=say("rules.heading")) from None


def lead_settings(config: Config) -> Settings:
    return Settings(lookback_days=config.mailchimp.lookback_days,
                    half_life_days=config.scoring.half_life_days,
                    timezone=config.scoring.timezone,
                    tag_statuses=frozenset(config.mailchimp.tag_statuses))


def _provisional_merge_tags(data: SheetData) -> list[str]:
    """Before the pull, any UPPER_CASE field may be a merge tag; the real check follows the pull."""
    cells = (as_text(c) for rows in (data.weights, data.segments) for row in rows[1:] for c in row)
    return sorted({c for c in cells if _MERGE_TAG.match(c)})


def _open_cache(config: Config, dry_run: bool, scratch: Path | None
                ) -> tuple[AudienceCache, str | None]:
    path = config.state.path
    if dry_run and scratch is not None:  # a dry run works on a copy: the real cache stays as it is
        copy = scratch / "state.db"
        if path.exists():
            shutil.copyfile(path, copy)
        path = copy
    return AudienceCache.open(path, list_id=config.mailchimp.list_id,
                              lookback_days=config.mailchimp.lookback_days)


@dataclass(frozen=True)
class _Run:
    """What every step of one run shares: the systems it talks to, its options and its report."""

    config: Config
    audience: MailchimpAudience
    workbook: Workbook
    now: datetime
    report: RunReport
    texts: Catalogue
    progress: Progress
    dry_run: bool
    force: bool
    full: bool


def run_once(config: Config, audience: MailchimpAudience, workbook: Workbook, now: datetime, *,
             dry_run: bool = False, force: bool = False, full: bool = False,
             progress: Progress = lambda message: None,
             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
             texts: Catalogue | None = None) -> RunReport:
    """One sync. Raises RulesError (exit 2), SafetyStop (exit 3) or another SyncbotError (exit 1)
    after logging the run in the Runs tab (not for dry runs). ``texts``: the language of the
    sheet's ``why`` and of the run's messages (default: the user's)."""
    texts = texts or catalogue()
    report = RunReport(started_at=now, mode="full" if full else "incremental")
    run = _Run(config, audience, workbook, now, report, texts, progress, dry_run, force, full)
    calls_before = (audience.requests, workbook.requests)
    data: SheetData | None = None

    def finish(status: str, message: str = "") -> RunReport:
        report.status, report.message = status, message
        report.finished_at = max(report.started_at, clock())
        report.mailchimp_calls = audience.requests - calls_before[0]
        report.sheets_calls = workbook.requests - calls_before[1]
        if not dry_run and data is not None:
            report.sheets_calls += 1  # the Runs write itself
            append_run(workbook, data, runs_header(), report.runs_row())
        return report

    progress(t("progress.reading_sheet"))
    data = read_spreadsheet(workbook, config.sheets)
    try:
        sheet_rules(data, config, _provisional_merge_tags(data), texts)
        with tempfile.TemporaryDirectory() as scratch:
            cache, reason = _open_cache(config, dry_run, Path(scratch))
            try:
                if reason and not full:
                    report.warnings.append(full_pull_warning(reason, config.state.path))
                progress(t("progress.pulling"))
                pulled = pull(audience, cache, now=now,
                              lookback_days=config.mailchimp.lookback_days, full=full)
                report.mode, report.members = pulled.mode, pulled.members
                merge_tags = cache.merge_tags()
                rules = sheet_rules(data, config, merge_tags, texts)
                _decide_and_write(run, data, cache, rules, merge_tags)
                if not dry_run:
                    cache.commit_run(now)
            finally:
                cache.close()
    except RulesError as exc:
        finish("invalid-rules", "; ".join(exc.problems))
        raise
    except SafetyStop as exc:
        finish("safety-stop", str(exc))
        raise
    except SyncbotError as exc:
        _log_failure(finish, str(exc))
        raise
    return finish("dry-run" if dry_run else "ok", report.message)


def _log_failure(finish: Callable[[str, str], RunReport], message: str) -> None:
    """Record a failed run in the Runs tab if the sheet still answers; never hide the real error."""
    with contextlib.suppress(SyncbotError):
        finish("failed", message)


CHUNK = 2000  # leads computed at a time: memory stays flat whatever the audience size


def _ledger_layout(config: Config, data: SheetData, columns: list[str]) -> list[Any]:
    """What the ledger must describe to be trusted: this spreadsheet's Leads tab, these columns."""
    return [config.sheets.spreadsheet_id, data.tabs["Leads"].sheet_id, columns]


def _decide_and_write(run: _Run, data: SheetData, cache: AudienceCache, rules: Ruleset,
                      merge_tags: list[str]) -> None:
    config, audience, workbook, report, now = (run.config, run.audience, run.workbook,
                                               run.report, run.now)
    dry_run, force, full, progress = run.dry_run, run.force, run.full, run.progress
    eligible_statuses = set(config.mailchimp.tag_statuses)
    columns = leads_columns(merge_tags, config.mailchimp.lookback_days)
    layout_key = _ledger_layout(config, data, columns)
    trusted = not full and cache.ledger_layout() == layout_key
    diff = prepare_leads(workbook, data, columns, trust_ledger=trusted)
    leads = _Leads(config, rules, diff, now, run.texts)
    fingerprint = rules_key(config, data, columns, run.texts)
    stale = cache.mark_stale(now, everyone=not trusted or cache.ledger_rules() != fingerprint)
    ids, _ = audience.resolve_tags(rules.managed_tags, create=False)
    with ThreadPoolExecutor(1) as background:  # Mailchimp answers while the leads are scored
        holders = background.submit(audience.tag_members, ids)
        unchanged = report.members - stale
        progress(t("progress.scoring_some", count=stale, unchanged=unchanged) if unchanged else
                 t("progress.scoring", count=stale))
        for chunk in audience_chunks(cache, CHUNK, stale_only=True):
            known = cache.ledger([member.key for member, _ in chunk]) if trusted else {}
            for member, events in chunk:
                leads.compute(member, events, known.get(member.key))
        for entry in cache.settled_leads():
            leads.reuse(*entry)
        settle_leads(workbook, data, diff)
        current = holders.result()
    plan = plan_tags(managed=rules.managed_tags, current=current, desired=leads.desired,
                     statuses=leads.statuses, tag_statuses=eligible_statuses)
    _summarise(report, plan, diff, leads.desired)
    report.top = leads.top()
    addresses = leads.addresses
    report.safety = safety_problems(plan, max_removal_fraction=config.safety.max_removal_fraction,
                                    pulled_members=report.members,
                                    leads_in_sheet=diff.leads_in_sheet, say=run.texts)
    if report.safety and not force and not dry_run:
        raise SafetyStop(" ".join(report.safety))
    if dry_run:
        return
    progress(t("progress.writing_leads", count=diff.new_leads + diff.changed_leads))
    write_leads(workbook, data, diff, now)
    cache.record_leads(diff.ledger_entries(now), layout_key, fingerprint, replace=not trusted)
    progress(t("progress.writing_tags", adds=plan.total_adds, removes=plan.total_removes))
    if not plan.is_empty:
        for tag in rules.managed_tags:
            if tag not in ids:  # a managed tag Mailchimp does not have yet
                ids[tag] = audience.create_tag(tag)
        written = audience.write_tags(
            ids, {tag: [addresses.get(k, k) for k in keys] for tag, keys in plan.adds.items()},
            {tag: [addresses.get(k, k) for k in keys] for tag, keys in plan.removes.items()})
        report.tags_added, report.tags_removed = written.added, written.removed
        report.rejected = written.errors
    messages = [duplicates_message(data.tabs["Leads"].title, diff.duplicates)]
    if report.rejected:
        messages.append(t("run.rejected", count=len(report.rejected),
                          examples=", ".join(a for a, _ in report.rejected[:3])))
    report.message = " ".join(m for m in messages + report.warnings if m)


class _Leads:
    """Features, score and tags of every lead, into the Leads diff and the maps the tag plan
    needs: leads are recomputed from the cache when something they depend on changed, and
    otherwise taken from the ledger as they are."""

    def __init__(self, config: Config, rules: Ruleset, diff: LeadsDiff, now: datetime,
                 say: Say) -> None:
        self.rules, self.diff, self.now = rules, diff, now
        self.evaluate = Evaluator(rules, lead_settings(config), say)
        self.desired: dict[str, list[str]] = {}
        self.statuses: dict[str, str] = {}
        self.addresses: dict[str, str] = {}  # key → address as Mailchimp spells it, if different
        self._shared: dict[str, list[str]] = {}  # one list per distinct tag combination
        self._top: Highest[SampleLead | str] = Highest(SAMPLE_SIZE)

    def compute(self, member: Member, events: list[Event], known: Known | None) -> None:
        lead = self.evaluate(member, events, self.now)
        tags_json = json.dumps(lead.tags)
        sample = (SampleLead(member.email, "", lead.values["tags"], lead.score, lead.why)
                  if lead.tags and self._top.wants(lead.score) else None)  # built only if kept
        self._remember(member.key, member.email, member.status, tags_json, lead.score, sample)
        self.diff.add(member.key, lead.values, known,
                      (lead.stable_until.timestamp(), member.status, member.email, tags_json,
                       lead.score))

    def reuse(self, key: str, cells: str, synced_at: float | None, until: float, status: str,
              email: str, tags_json: str, score: float) -> None:
        self._remember(key, email, status, tags_json, score, cells)
        self.diff.reuse(key, (cells, synced_at), (until, status, email, tags_json, score))

    def _remember(self, key: str, email: str, status: str, tags_json: str, score: float,
                  lead: SampleLead | str | None) -> None:
        tags = self._shared.get(tags_json)
        if tags is None:
            tags = self._shared[tags_json] = json.loads(tags_json)
        self.desired[key] = tags
        self.statuses[key] = status
        if email != key:
            self.addresses[key] = email
        if tags and lead is not None:
            self._top.offer(score, lead)

    def top(self) -> list[SampleLead]:
        """The highest-scoring leads that get tags (ledger cells decoded only for these)."""
        return [lead if isinstance(lead, SampleLead) else self._sample(lead)
                for lead in self._top.items()]

    def _sample(self, cells: str) -> SampleLead:
        row = dict(zip(self.diff.layout.value_columns, json.loads(cells), strict=False))
        return SampleLead(str(row["email"]), "", str(row["tags"]), row["score"], str(row["why"]))


def rules_key(config: Config, data: SheetData, columns: list[str], texts: Catalogue) -> str:
    """Everything a lead's values depend on besides its own inputs: a change means every lead
    is recomputed."""
    basis = [data.weights, data.segments, data.interests, columns,
             config.mailchimp.lookback_days, sorted(config.mailchimp.tag_statuses),
             config.scoring.half_life_days, config.scoring.timezone,
             [texts.template(text) for text in WHY_TEXTS]]
    return hashlib.sha256(json.dumps(basis, default=str).encode()).hexdigest()


def _summarise(report: RunReport, plan: TagPlan, diff: LeadsDiff,
               desired: dict[str, list[str]]) -> None:
    report.new_leads, report.changed_leads = diff.new_leads, diff.changed_leads
    report.per_tag = {tag: (len(plan.adds.get(tag, ())), len(plan.removes.get(tag, ())))
                      for tag in plan.adds}
    report.tags_added, report.tags_removed = plan.total_adds, plan.total_removes
    sizes = Counter(tag for tags in desired.values() for tag in tags)
    report.tag_sizes = {tag: sizes[tag] for tag in plan.adds}
    report.sample = diff.sample()
