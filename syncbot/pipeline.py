"""One sync, used by every command: read → pull → score → plan → check → write → log.

``run_once`` reads the rules (and stops with exit 2, before pulling, on any
invalid row; with ``[orders]`` the stores' orders are listed from the start,
since nothing in the spreadsheet decides them, and an invalid row stops that
listing at the page it is on), pulls the audience, evaluates the leads (only those whose
inputs changed or whose values are due to change; the rest come from the
state's Leads ledger), plans the tag changes, applies the safety stop, then
writes the Leads tab (and records it in the ledger) and, at the same time, the
tags, then the Runs row, and only then advances the state's cursor. Every write is a
reconciliation (the difference between what is there and what should be), so
a run that dies half way is repaired by the next one, and a second run in a
row changes nothing. A dry run reads everything and writes nothing anywhere:
not the sheet, not Mailchimp, not the state.

It talks to one object per outside system, through the ports: the audience
(``ports.AudienceSource``: the Mailchimp client, or an in-memory fake), the
spreadsheet (``ports.SheetPort``) and the local state (``state.store``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import hashlib
import heapq
import itertools
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from syncbot.config import Config
from syncbot.core.dashboard import DashboardCounts, TagCounts, dashboard_tables, handoff_weeks
from syncbot.core.handoff import HandoffDecision, HandoffLead, lead_from_row
from syncbot.core.lead import Evaluator, Settings
from syncbot.core.rules import InvalidRules, Ruleset, parse_rules
from syncbot.core.scoring import WHY_TEXTS
from syncbot.core.tagplan import TagPlan, plan_tags, pull_problems, safety_problems
from syncbot.core.texts import Say
from syncbot.core.values import as_text
from syncbot.errors import RulesError, SafetyStop, SyncbotError
from syncbot.evaluation import (
    CHUNK,
    Ahead,
    Chunk,
    Evaluated,
    ScoringJob,
    Workers,
    after_the_pull,
    evaluate_chunks,
    processes,
)
from syncbot.handoff import Announcer, HandoffOutcome, decide_handoffs, hand_off
from syncbot.locales import Catalogue, catalogue, rule_vocabulary
from syncbot.mailchimp.orders import OrdersListing
from syncbot.mailchimp.pull import pull
from syncbot.ports import (
    AudienceSource,
    ColumnRead,
    LeadNote,
    LedgerEntry,
    SheetPort,
    TeamInputs,
)
from syncbot.progress import Meters, Silent
from syncbot.report import RunReport, Status, team_inputs
from syncbot.sheets.a1 import cell as cell_name
from syncbot.sheets.leads import Highest, LeadsDiff, SampleLead, duplicates_message, leads_columns
from syncbot.sheets.spool import PendingRow
from syncbot.sheets.stream import RowStream
from syncbot.sheets.tabs import SheetData
from syncbot.state.store import StateStore, full_pull_warning
from syncbot.tagstream import Streamed, TagStream

SAMPLE_SIZE = 5
_MERGE_TAG = re.compile(r"^[A-Z][A-Z0-9_]*$")


def sheet_rules(data: SheetData, config: Config, merge_tags: list[str], say: Say) -> Ruleset:
    """The rules in the spreadsheet's tabs, or RulesError (used by `sync` and by `check`)."""
    return checked_rules(rules_recipe(data, config, merge_tags, say), data, config, say)


def checked_rules(recipe: Callable[[], Ruleset], data: SheetData, config: Config, say: Say
                  ) -> Ruleset:
    """The rules ``recipe`` makes, or RulesError: a row that does not parse, or a
    ``[handoff]`` tag no Segments row gives."""
    try:
        rules = recipe()
    except InvalidRules as exc:
        raise RulesError(exc.problems, heading=say("rules.heading")) from None
    unknown = [tag for tag in (config.handoff.tags if config.handoff else ())
               if tag not in rules.managed_tags]
    if unknown:
        raise RulesError([say("handoff.unknown_tag", tag=tag, tab=data.rules_tabs[1],
                              tags=", ".join(rules.managed_tags) or "-") for tag in unknown],
                         heading=say("rules.heading"))
    return rules


def rules_recipe(data: SheetData, config: Config, merge_tags: list[str], say: Say
                 ) -> Callable[[], Ruleset]:
    """How the rules of the spreadsheet's tabs are made: ``parse_rules`` with all it is given.
    A worker process makes them again from this (``syncbot.evaluation``): compiled rules hold
    functions made for them, which cannot be sent to another process."""
    team = data.team_headers(leads_columns(merge_tags, config.mailchimp.lookback_days,
                                           config.order_days))
    return functools.partial(parse_rules, weights=data.weights, segments=data.segments,
                             interests=data.interests,
                             lookback_days=config.mailchimp.lookback_days, merge_tags=merge_tags,
                             order_days=config.order_days, team=team,
                             vocabulary=rule_vocabulary(), labels=data.language.labels,
                             tabs=data.rules_tabs, say=say, cell=cell_name)


def lead_settings(config: Config, sheet_timezone: str = "UTC") -> Settings:
    return Settings(lookback_days=config.mailchimp.lookback_days,
                    half_life_days=config.scoring.half_life_days,
                    timezone=config.scoring.timezone,
                    tag_statuses=frozenset(config.mailchimp.tag_statuses),
                    sheet_timezone=sheet_timezone, order_days=config.order_days)


def _provisional_merge_tags(data: SheetData) -> list[str]:
    """Before the pull, any UPPER_CASE field may be a merge tag; the real check follows the pull."""
    cells = (as_text(c) for rows in (data.weights, data.segments) for row in rows[1:] for c in row)
    return sorted({c for c in cells if _MERGE_TAG.match(c)})


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for: ``--dry-run``, ``--force``, ``--full``."""

    dry_run: bool = False
    force: bool = False
    full: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunHooks:
    """How a run shows its progress (stage lines and meters), reads the clock (for
    ``finished_at``) and speaks (the language of ``why`` and of its messages; None: the
    user's)."""

    meters: Meters = field(default_factory=Silent)
    clock: Callable[[], datetime] = _utc_now
    texts: Catalogue | None = None


@dataclass
class _Run:
    """What every step of one run shares: the systems it talks to, its options and its report."""

    config: Config
    audience: AudienceSource
    sheet: SheetPort
    now: datetime
    options: RunOptions
    texts: Catalogue  # the user's language: messages, the plan, the Runs message
    meters: Meters
    clock: Callable[[], datetime]
    report: RunReport
    announcer: Announcer | None = None
    dashboard: Sequence[Mapping[str, Any]] = ()  # its tables, written with the Runs row

    def __post_init__(self) -> None:
        self._calls_before = (self.audience.requests, self.sheet.requests)

    def finish(self, status: Status, message: str = "") -> RunReport:
        """Close the report and log it in the Runs tab (not for a dry run)."""
        report = self.report
        report.status, report.message = status, message
        report.finished_at = max(report.started_at, self.clock())
        report.mailchimp_calls = self.audience.requests - self._calls_before[0]
        report.sheets_calls = self.sheet.requests - self._calls_before[1]
        if not self.options.dry_run:
            self._log_run()
        return report

    def _log_run(self) -> None:
        """The Runs row, in one request with the Dashboard's tables. Should that request be
        refused, the Runs row goes again on its own, saying the Dashboard was not updated:
        a run is logged whatever becomes of its Dashboard."""
        report = self.report
        report.sheets_calls += 1  # the Runs write itself
        tables, self.dashboard = self.dashboard, ()
        try:
            self.sheet.append_run(report.runs_row(), tables)
        except SyncbotError as exc:
            if not tables:
                raise
            failed = self.texts("run.dashboard_failed", reason=str(exc))
            report.warnings.append(failed)
            report.message = " ".join(m for m in (report.message, failed) if m)
            report.sheets_calls += 1
            self.sheet.append_run(report.runs_row())

    def log_failure(self, message: str) -> None:
        """Record a failed run if the sheet still answers; never hide the real error."""
        with contextlib.suppress(SyncbotError):
            self.finish("failed", message)


def run_once(config: Config, audience: AudienceSource, sheet: SheetPort, now: datetime,
             options: RunOptions = RunOptions(), hooks: RunHooks = RunHooks(), *,
             announcer: Announcer | None = None) -> RunReport:
    """One sync. Raises RulesError (exit 2), SafetyStop (exit 3) or another SyncbotError (exit 1)
    after logging the run in the Runs tab (not for dry runs). ``announcer``: where hand-offs
    are announced (the ``[handoff]`` webhook), if anywhere."""
    texts = hooks.texts or catalogue()
    report = RunReport(started_at=now, mode="full" if options.full else "incremental")
    run = _Run(config, audience, sheet, now, options, texts, hooks.meters, hooks.clock, report,
               announcer)
    try:
        with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as done:
            state, reason = _open_state(config, options.dry_run, Path(scratch))
            done.callback(state.close)  # the last: the listing goes first
            # the orders first: their listing is the longest wait on Mailchimp, and needs
            # nothing the spreadsheet says
            orders = done.enter_context(_orders_listing(run, state))
            run.meters.stage(texts("progress.reading_sheet"))
            data = _read_sheet(run, state)
            sheet_rules(data, config, _provisional_merge_tags(data), texts)
            _pull_and_apply(run, data, _Local(state, reason, orders))
    except RulesError as exc:
        run.finish("invalid-rules", "; ".join(exc.problems))
        raise
    except SafetyStop as exc:
        run.finish("safety-stop", str(exc))
        raise
    except SyncbotError as exc:
        run.log_failure(str(exc))
        raise
    return run.finish("dry-run" if options.dry_run else "ok", report.message)


def _read_sheet(run: _Run, state: StateStore) -> SheetData:
    """The spreadsheet, asking at once for what the last run read of it as the state
    remembers (nothing for ``--full``, which goes by nothing the state holds): the tabs'
    values beside the metadata, and the Leads and source columns with the tabs."""
    if run.options.full:
        return run.sheet.read()
    return run.sheet.read(beside=state.columns_read(), last=state.tabs_read())


def _open_state(config: Config, dry_run: bool, scratch: Path) -> tuple[StateStore, str | None]:
    path = config.state.path
    if dry_run:  # a dry run works on a copy: the real state stays as it is
        copy = scratch / "state.db"
        if path.exists():
            StateStore.copy(path, copy)
        path = copy
    return StateStore.open(path, list_id=config.mailchimp.list_id,
                           lookback_days=config.mailchimp.lookback_days)


@dataclass(frozen=True)
class _Local:
    """What a run opened before it read the spreadsheet: the state (and why it had to start
    empty, if it did) and the orders listing already under way (with ``[orders]``)."""

    state: StateStore
    reason: str | None
    orders: OrdersListing | None


def _pull_and_apply(run: _Run, data: SheetData, local: _Local) -> None:
    """Pull into the state (while the leads due already are scored ahead and the orders are
    listed), check the rules against the audience's merge tags, apply them, and move the
    cursor once everything was written. What it opens (the workers, the Leads diff) is
    closed when it returns, before the state and the listing are."""
    config, report, state = run.config, run.report, local.state
    with contextlib.ExitStack() as done:
        if local.reason and not run.options.full:
            report.warnings.append(full_pull_warning(local.reason, config.state.path))
        early = _score_ahead(run, data, state) if local.reason is None and not run.options.full \
            else None
        if early is not None:
            done.callback(early.close)
        _pull_everything(run, local)
        merge_tags = state.merge_tags()
        if early is not None and early.basis.merge_tags == merge_tags:
            basis, ahead = early.basis, early.ahead
        else:  # the pull brought other merge tags: the leads' columns and rules may differ
            if early is not None:
                early.close()
            basis, ahead = _basis(run, data, state, merge_tags), None
            done.callback(basis.close)
        _decide(run, data, state, basis, ahead)
        if not run.options.dry_run:
            state.commit_run(run.now)


def _pull_everything(run: _Run, local: _Local) -> None:
    """The audience into the state, and with ``[orders]`` the listed orders; the report says
    what came."""
    config, report, state = run.config, run.report, local.state
    run.meters.stage(run.texts("progress.pulling"))
    pulled = pull(run.audience, state, now=run.now, lookback_days=config.mailchimp.lookback_days,
                  full=run.options.full, pages=run.meters.start(run.texts("progress.meter_pages")))
    report.mode, report.members = pulled.mode, pulled.members
    report.campaigns, report.quiet_campaigns = pulled.campaigns, pulled.quiet
    if local.orders is not None:
        _finish_orders(run, state, local.orders)


def _orders_listing(run: _Run, state: StateStore
                    ) -> contextlib.AbstractContextManager[OrdersListing | None]:
    """With ``[orders]``: every store's orders being listed (in a thread of their own, which
    stops at the page it is on if the run ends before ``_finish_orders``)."""
    if not run.config.orders:
        return contextlib.nullcontext()
    run.meters.stage(run.texts("progress.listing_orders"))  # before the listing's meter
    return OrdersListing(run.audience, state,
                         pages=run.meters.start(run.texts("progress.meter_order_pages")),
                         full=run.options.full)


def _finish_orders(run: _Run, state: StateStore, listing: OrdersListing) -> None:
    """Bring the state's orders up to date with the listing; what the team should know goes
    into the run's message (the e-commerce API refused, or the stores sell in several
    currencies)."""
    run.meters.stage(run.texts("progress.updating_orders"))
    pulled = listing.finish(state)
    if pulled.unavailable:  # nothing was listed: the warning says so, not a count of 0
        run.report.warnings.append(pulled.unavailable)
    else:
        run.report.orders = pulled.orders
    mixed = pulled.mixed_currencies
    if mixed:
        run.report.warnings.append(run.texts("shop.mixed_currencies", stores=", ".join(
            run.texts("shop.store_currency", store=store, currency=currency)
            for store, currency in mixed.items())))


@dataclass(frozen=True)
class _LeadsTab:
    """Where the Leads tab stands for this run: its diff, the team's values the rules name,
    and whether the ledger describes the tab."""

    diff: LeadsDiff
    inputs: TeamInputs
    layout_key: list[object]
    fingerprint: str
    trusted: bool
    columns: tuple[ColumnRead, ...]  # what the run read of Leads and the source tabs


def _open_leads(run: _Run, data: SheetData, state: StateStore, rules: Ruleset,
                merge_tags: list[str]) -> _LeadsTab:
    config = run.config
    columns = leads_columns(merge_tags, config.mailchimp.lookback_days, config.order_days)
    layout_key: list[object] = [config.sheets.spreadsheet_id, data.tabs["Leads"].sheet_id,
                                columns]  # what the ledger must describe to be trusted
    trusted = not run.options.full and state.ledger_layout() == layout_key
    opened = run.sheet.open_leads(columns, rules.inputs, trust_ledger=trusted)
    return _LeadsTab(opened.diff, opened.inputs, layout_key, rules_key(config, data, columns),
                     trusted, opened.columns)


@dataclass(frozen=True)
class _Basis:
    """What a run decides by, given the audience's merge tags: the rules made with them (and
    how they are made: ``recipe``, for worker processes), the Leads tab with the team's
    values, and the leads' evaluation."""

    merge_tags: list[str]
    recipe: Callable[[], Ruleset]
    rules: Ruleset
    tab: _LeadsTab
    leads: _Leads

    def close(self) -> None:
        self.tab.diff.close()  # its spooled rows go

    def mark_due(self, run: _Run, state: StateStore) -> int:
        """Choose the leads to evaluate again (``StateStore.mark_stale``); how many."""
        tab = self.tab
        return state.mark_stale(run.now, everyone=not tab.trusted
                                or state.ledger_rules() != tab.fingerprint,
                                inputs=self.leads.fingerprints)


def _basis(run: _Run, data: SheetData, state: StateStore, merge_tags: list[str]) -> _Basis:
    """The basis for ``merge_tags``, or RulesError."""
    recipe = rules_recipe(data, run.config, merge_tags, run.texts)
    rules = checked_rules(recipe, data, run.config, run.texts)
    tab = _open_leads(run, data, state, rules, merge_tags)
    return _Basis(merge_tags, recipe, rules, tab, _Leads(run, rules, tab.diff, tab.inputs, data))


@dataclass(frozen=True)
class _Early:
    """What a run prepared before its pull: the basis made with the merge tags the state had,
    and the leads due then being scored ahead (``evaluation.Ahead``), when there are enough
    to share among worker processes. Both serve if the pull brings no other merge tags."""

    basis: _Basis
    ahead: Ahead | None

    def close(self) -> None:
        """Stop the workers and let go of the diff (again, harmlessly, if already done)."""
        if self.ahead is not None:
            self.ahead.stop()
            self.ahead.workers.close()
        self.basis.close()


def _score_ahead(run: _Run, data: SheetData, state: StateStore) -> _Early | None:
    """Prepare, before the pull, what the state as the last run left it allows: the basis,
    and the leads due by then scored ahead while Mailchimp answers (the pull mostly waits on
    it). None when the rules need merge tags the pull has yet to bring."""
    try:
        basis = _basis(run, data, state, state.merge_tags())
    except RulesError:
        return None  # they may hold with the pull's merge tags: checked after it
    due = basis.mark_due(run, state)
    count = processes(due, run.config.scoring.workers)
    workers = Workers.start(basis.leads.job(state, basis.recipe), count, state) \
        if count > 1 else None
    if workers is None:
        return _Early(basis, None)
    keys = list(_due_keys(state))
    return _Early(basis, Ahead(workers, keys, basis.leads.chunk))


def _due_keys(state: StateStore) -> Iterator[str]:
    """Every key ``mark_stale`` chose, in order (read a chunk at a time)."""
    return itertools.chain.from_iterable(state.stale_keys(CHUNK))


def _decide(run: _Run, data: SheetData, state: StateStore, basis: _Basis,
            ahead: Ahead | None) -> None:
    rules, tab, leads = basis.rules, basis.tab, basis.leads
    run.report.team_inputs = team_inputs(rules.inputs, run.texts)
    run.report.warnings.extend(_team_warnings(run.texts, tab.inputs))
    stale = basis.mark_due(run, state)
    ids, _ = run.audience.resolve_tags(rules.managed_tags, create=False)
    pour = _may_pour(run, tab.diff, ids)
    with contextlib.ExitStack() as done:  # what goes out while the leads are scored, if any
        stream = done.enter_context(_new_rows_stream(run, state, tab.diff) if pour
                                    else contextlib.nullcontext())
        leads.tag_stream = done.enter_context(_tag_stream(run, rules) if pour and not ids
                                              else contextlib.nullcontext())
        current = _score(run, state, basis, stale, ahead, ids)
        plan = plan_tags(managed=rules.managed_tags, current=current, desired=leads.desired,
                         statuses=leads.statuses,
                         tag_statuses=set(run.config.mailchimp.tag_statuses))
        _summarise(run.report, plan, tab.diff, leads)
        handoffs = decide_handoffs(run.config, state, run.sheet, list(leads.hot), leads.desired,
                                   leads.handoff_lead)
        run.report.handoffs, run.report.handoff_baseline = handoffs.new, handoffs.baseline
        _safety_check(run, plan, tab.diff)
        if run.options.dry_run:
            return
        _write(run, data, state, basis, _Changes(plan, ids, stream))
    _hand_off(run, state, handoffs)  # before the history: see syncbot.handoff
    state.record_history(run.now, leads.points, keep_days=run.config.history.keep_days)
    _update_dashboard(run, state, rules, leads.dashboard)
    _compose_message(run, data, tab.diff)


def _score(run: _Run, state: StateStore, basis: _Basis, stale: int, ahead: Ahead | None,
           ids: Mapping[str, int]) -> dict[str, set[str]]:
    """Evaluate the leads (``_evaluate``) while Mailchimp lists who holds each managed tag
    now, then compare the rows the ledger cannot vouch for with the sheet; who holds what."""
    with ThreadPoolExecutor(1) as background:
        holders = background.submit(run.audience.tag_members, ids)
        _evaluate(run, state, basis, stale, ahead)
        basis.tab.diff.end_pour()
        run.sheet.settle_leads(basis.tab.diff)
        return holders.result()


@dataclass(frozen=True)
class _Changes:
    """What a run writes once the safety stop has passed: the tag plan (with the managed
    tags' segment ids) and the new rows' stream, if they went out while the leads were
    scored."""

    plan: TagPlan
    ids: Mapping[str, int]
    stream: RowStream[list[PendingRow]] | None


def _write(run: _Run, data: SheetData, state: StateStore, basis: _Basis,
           changes: _Changes) -> None:
    """The Leads rows (those no stream wrote) and, beside them, the tags; the ledger is staged
    while the rows are on their way, and made durable once they are all in the sheet."""
    tab, leads = basis.tab, basis.leads
    rows = tab.diff.new_leads + tab.diff.changed_leads
    run.meters.stage(run.texts("progress.writing_leads", count=rows))
    with ThreadPoolExecutor(1) as beside:  # Mailchimp takes the tags, Sheets the rows
        tags = beside.submit(_write_tags, run, basis.rules, changes.plan, changes.ids,
                             leads.addresses, leads.tag_stream)
        meter = run.meters.start(run.texts("progress.meter_rows"), rows)
        if changes.stream is not None:
            changes.stream.finish()
            meter.advance(tab.diff.poured)
        state.remember_reads(tab.columns, data.ranges)  # kept with the ledger, by its commit
        ledger = state.stage_leads(tab.diff.ledger_entries(run.now), tab.layout_key,
                                   tab.fingerprint, replace=not tab.trusted)
        run.sheet.write_leads(tab.diff, run.now, rows=meter, meanwhile=ledger)
        collections.deque(ledger, maxlen=0)  # what the waits left of it
        state.save()  # the rows are in the sheet: now the ledger may say so
    tags.result()  # the tags' failure, if they failed (the rows' own comes first)


def _new_rows_stream(run: _Run, state: StateStore, diff: LeadsDiff
                     ) -> contextlib.AbstractContextManager[RowStream[list[PendingRow]] | None]:
    """The new leads' rows written as they are scored (``LeadsDiff.pour_new``), for a run
    that may (``_may_pour``); nothing when no lead is new."""
    new_leads = len(state.member_keys().difference(diff.rows_of))
    if not new_leads:
        return contextlib.nullcontext()
    return run.sheet.stream_leads(diff, run.now, new_leads)


def _tag_stream(run: _Run, rules: Ruleset) -> TagStream:
    """The tags added as the leads are scored (``syncbot.tagstream``), for a run that may
    write the Leads rows then too and whose managed tags Mailchimp has none of yet."""
    config = run.config.mailchimp
    return TagStream(run.audience, rules.managed_tags, config.tag_statuses,
                     connections=config.max_connections)


def _may_pour(run: _Run, diff: LeadsDiff, ids: Mapping[str, int]) -> bool:
    """Whether the Leads tab may be written before every lead is scored: only when the
    safety stop, which leaves it alone, cannot stop this run. So with ``--force``, or when
    the pull looks right (known already) and Mailchimp has no managed tag yet, so that no
    member can lose one: a team's first sync, the one that writes every row. Never for a
    dry run."""
    if run.options.dry_run:
        return False
    if run.options.force:
        return True
    return not ids and not pull_problems(pulled_members=run.report.members,
                                         leads_in_sheet=diff.leads_in_sheet, say=run.texts)


def _team_warnings(texts: Catalogue, inputs: TeamInputs) -> list[str]:
    """What the team should know about its data: cells with a formula error, rows skipped,
    headers that more than one column carries."""
    return ([texts("sheets.team_errors", count=n, tab=tab) for tab, n in inputs.error_cells.items()]
            + [texts("sheets.skipped_rows", count=n, tab=tab)
               for tab, n in inputs.skipped_rows.items()]
            + [texts("sheets.team_ambiguous", tab=tab, column=column, cell=where)
               for tab, column, where in inputs.ambiguous])


def _evaluate(run: _Run, state: StateStore, basis: _Basis, stale: int, ahead: Ahead | None
              ) -> None:
    """Evaluate the leads ``mark_stale`` chose, chunk by chunk (by as many processes as
    ``evaluation.processes`` says, or with those scored ahead); reuse the rest from the
    ledger."""
    unchanged = run.report.members - stale
    run.meters.stage(run.texts("progress.scoring_some", count=stale, unchanged=unchanged)
                     if unchanged else run.texts("progress.scoring", count=stale))
    scored = run.meters.start(run.texts("progress.meter_leads"), stale)
    leads = basis.leads
    results = (_with_ahead(state, leads, ahead) if ahead is not None
               else _evaluated(run, state, basis, stale))
    with _collector_paused(), contextlib.closing(results):  # a failure stops the workers at once
        for evaluated in results:
            for lead in evaluated:
                leads.take(lead)
            scored.advance(len(evaluated))
        for entry in state.settled_leads():
            leads.reuse(entry)


def _evaluated(run: _Run, state: StateStore, basis: _Basis, stale: int
               ) -> Generator[list[Evaluated], None, None]:
    """The due leads evaluated, chunk by chunk, here or by worker processes."""
    workers = processes(stale, run.config.scoring.workers)
    leads = basis.leads
    chunks = (leads.chunk(keys) for keys in state.stale_keys(CHUNK))
    return evaluate_chunks(leads.job(state, basis.recipe), chunks, state, workers,
                           leads.evaluate)


def _with_ahead(state: StateStore, leads: _Leads, ahead: Ahead
                ) -> Generator[list[Evaluated], None, None]:
    """The due leads, those scored ahead that still hold and the others evaluated now (by the
    same workers), merged in key order: the order a run that scored none ahead takes them
    in, so both give the same Leads tab."""
    handed = ahead.stop()
    rescoring = after_the_pull(handed, _due_keys(state), state.dirty_keys())
    fresh = ahead.workers.in_order(leads.chunk(rescoring.fresh[start:start + CHUNK])
                                   for start in range(0, len(rescoring.fresh), CHUNK))
    merged = heapq.merge(ahead.leads(rescoring.discard), itertools.chain.from_iterable(fresh),
                         key=attrgetter("key"))
    while batch := list(itertools.islice(merged, CHUNK)):
        yield batch


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the leads are scored (back on after, as it
    was). Scoring makes no reference cycles, but it keeps hundreds of thousands of objects
    alive (the diff, every lead's tags and score), and each full collection walked them all
    again: a tenth of the stage at 100,000 leads (docs/benchmarks.md). Reference counting
    still frees everything the loop drops, at once."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _safety_check(run: _Run, plan: TagPlan, diff: LeadsDiff) -> None:
    report = run.report
    report.safety = safety_problems(
        plan, max_removal_fraction=run.config.safety.max_removal_fraction,
        pulled_members=report.members, leads_in_sheet=diff.leads_in_sheet, say=run.texts)
    if report.safety and not run.options.force and not run.options.dry_run:
        raise SafetyStop(" ".join(report.safety))


def _write_tags(run: _Run, rules: Ruleset, plan: TagPlan, known: Mapping[str, int],
                addresses: dict[str, str], stream: TagStream | None = None) -> None:
    """Only the differences, creating the managed tags Mailchimp does not have yet (``known``:
    the segment ids of those it has); with ``stream``, those it has not written already."""
    run.meters.stage(run.texts("progress.writing_tags", adds=plan.total_adds,
                               removes=plan.total_removes))
    streamed = stream.finish() if stream is not None else Streamed()
    ids = {**known, **streamed.created}
    plan = plan.without(streamed.added)
    if plan.is_empty and not streamed.anything:
        return
    for tag in rules.managed_tags:
        if tag not in ids:
            ids[tag] = run.audience.create_tag(tag)
    written = run.audience.write_tags(
        ids, {tag: [addresses.get(k, k) for k in keys] for tag, keys in plan.adds.items()},
        {tag: [addresses.get(k, k) for k in keys] for tag, keys in plan.removes.items()},
        batches=run.meters.start(run.texts("progress.meter_batches")))
    report = run.report
    report.tags_added = streamed.report.added + written.added
    report.tags_removed = written.removed
    report.rejected = streamed.report.errors + written.errors


def _hand_off(run: _Run, state: StateStore, decision: HandoffDecision) -> None:
    if decision.new:
        run.meters.stage(run.texts("progress.handing_off", count=len(decision.new)))
    outcome = hand_off(decision, config=run.config, state=state, sheet=run.sheet, now=run.now,
                       announcer=run.announcer, texts=run.texts)
    run.report.warnings.extend(_handoff_messages(run.texts, outcome))


def _handoff_messages(texts: Catalogue, outcome: HandoffOutcome) -> list[str]:
    messages = []
    if outcome.handed_off:
        messages.append(texts("handoff.done", count=len(outcome.handed_off),
                              examples=", ".join(lead.email for lead in outcome.handed_off[:3])))
    if outcome.failure:
        messages.append(texts("handoff.announce_failed", reason=outcome.failure))
    return messages


def _update_dashboard(run: _Run, state: StateStore, rules: Ruleset, counts: DashboardCounts
                      ) -> None:
    """Remember this run's tag counts and make the Dashboard's tables from the state (they are
    written with the Runs row). A Dashboard that cannot be written is reported in the run's
    message; the sync itself stands."""
    sizes = run.report.tag_sizes
    state.record_tag_counts(TagCounts(run.now, {tag: sizes.get(tag, 0)
                                                for tag in rules.managed_tags}))
    topics = list(dict.fromkeys(interest.topic for interest in rules.interests))
    tables = dashboard_tables(state.tag_history(), rules.managed_tags, counts, topics,
                              handoff_weeks(run.sheet.handoff_records(), run.now))
    spreadsheet = run.config.sheets.spreadsheet_id
    try:
        prepared = run.sheet.prepare_dashboard(tables, state.dashboard(spreadsheet))
    except SyncbotError as exc:
        run.report.warnings.append(run.texts("run.dashboard_failed", reason=str(exc)))
        return
    state.remember_dashboard(prepared.memory)
    run.dashboard = prepared.tables  # written with the Runs row: see ``_Run._log_run``


def _compose_message(run: _Run, data: SheetData, diff: LeadsDiff) -> None:
    report = run.report
    messages = [duplicates_message(data.tabs["Leads"].title, diff.duplicates)]
    if report.rejected:
        messages.append(run.texts("run.rejected", count=len(report.rejected),
                                  examples=", ".join(a for a, _ in report.rejected[:3])))
    report.message = " ".join(m for m in messages + report.warnings if m)


class _Leads:
    """Every lead's evaluation, into the Leads diff and the maps the tag plan needs: leads are
    evaluated again when something they depend on changed, and otherwise taken from the
    ledger as they are."""

    def __init__(self, run: _Run, rules: Ruleset, diff: LeadsDiff, inputs: TeamInputs,
                 data: SheetData) -> None:
        self.diff, self.now, self.inputs = diff, run.now, inputs
        self.fingerprints = inputs.fingerprints()  # made once: the state compares them too
        self.evaluate = Evaluator(rules, lead_settings(run.config, data.time_zone),
                                  data.language.texts, data.labels)
        self.desired: dict[str, list[str]] = {}
        self.statuses: dict[str, str] = {}
        self.addresses: dict[str, str] = {}  # key → address as Mailchimp spells it, if different
        self._shared: dict[str, list[str]] = {}  # one list per distinct tag combination
        self._top: Highest[str] = Highest(SAMPLE_SIZE)  # their ledger cells
        self.dashboard = DashboardCounts()  # every lead's score and topics
        self.points: list[tuple[str, float, str]] = []  # every lead's score and tags (JSON)
        handoff = run.config.handoff
        self.handoff_tags = frozenset(handoff.tags if handoff else ())
        self.hot: dict[str, str] = {}  # leads holding a hand-off tag now: their ledger cells
        self.tag_stream: TagStream | None = None  # where each lead's tags go at once, if anywhere

    def job(self, state: StateStore, rules: Callable[[], Ruleset]) -> ScoringJob:
        """What evaluating any lead of this run needs, in another process too
        (``evaluation.ScoringJob``); ``rules``: how this run's rules are made."""
        evaluate, diff = self.evaluate, self.diff
        return ScoringJob(state.path, rules, evaluate.settings, evaluate.say,
                          evaluate.labels, self.now, diff.comparison, trusted=diff.trust_ledger,
                          orders=evaluate.settings.order_days is not None)

    def chunk(self, keys: Sequence[str]) -> Chunk:
        """The chunk of ``keys``, with the team's values of those that have any."""
        return Chunk.of(keys, self.inputs.values, self.fingerprints)

    def take(self, lead: Evaluated) -> None:
        """A lead evaluated again."""
        self._remember(lead.key, lead.note, lead.text)
        self.diff.add(lead.key, lead.cells, lead.text, lead.compared, lead.note)

    def reuse(self, entry: LedgerEntry) -> None:
        note = entry.note  # built once: this runs for every unchanged lead
        self._remember(entry.key, note, entry.cells)
        self.diff.reuse(entry.key, entry.known, note)

    def handoff_lead(self, key: str) -> HandoffLead:
        """A lead holding a hand-off tag now, as its Hand-off row shows it."""
        return lead_from_row(key, self._row(self.hot[key]))

    def _remember(self, key: str, note: LeadNote, cells: str) -> None:
        """What the plan, the hand-off, the history and the Dashboard need of every lead;
        ``cells``: its Leads cells as JSON, decoded only for the few leads sampled or handed
        off."""
        tags = self._shared.get(note.tags)
        if tags is None:
            tags = self._shared[note.tags] = json.loads(note.tags)
        self.desired[key] = tags
        self.statuses[key] = note.status
        self.points.append((key, note.score, note.tags))
        self.dashboard.add(note.score, note.topics)
        if note.email != key:
            self.addresses[key] = note.email
        if tags:
            if self.tag_stream is not None:
                self.tag_stream.offer(key, note.email, note.status, tags)
            self._top.offer(note.score, cells)
            if self.handoff_tags and self.handoff_tags.intersection(tags):
                self.hot[key] = cells

    def top(self) -> list[SampleLead]:
        """The highest-scoring leads that get tags (ledger cells decoded only for these)."""
        return [self._sample(cells) for cells in self._top.items()]

    def _row(self, cells: str) -> dict[str, Any]:
        """A lead's values as its ledger entry keeps them (the Leads cells), by column."""
        return dict(zip(self.diff.layout.value_columns, json.loads(cells), strict=False))

    def _sample(self, cells: str) -> SampleLead:
        row = self._row(cells)
        return SampleLead(str(row["email"]), "", str(row["tags"]), row["score"], str(row["why"]))


def rules_key(config: Config, data: SheetData, columns: list[str]) -> str:
    """Everything a lead's values depend on besides its own inputs: a change means every lead
    is evaluated again (the sheet's language too: ``why`` is written in it)."""
    language = data.language
    basis = [data.weights, data.segments, data.interests, columns, list(config.sources.tabs),
             data.time_zone,
             config.mailchimp.lookback_days, sorted(config.mailchimp.tag_statuses),
             config.scoring.half_life_days, config.scoring.timezone, config.order_days,
             language.code, [language.texts.template(text) for text in WHY_TEXTS],
             data.labels.decimal]
    return hashlib.sha256(json.dumps(basis, default=str).encode()).hexdigest()


def _summarise(report: RunReport, plan: TagPlan, diff: LeadsDiff, leads: _Leads) -> None:
    report.new_leads, report.changed_leads = diff.new_leads, diff.changed_leads
    report.per_tag = {tag: (len(plan.adds.get(tag, ())), len(plan.removes.get(tag, ())))
                      for tag in plan.adds}
    report.tags_added, report.tags_removed = plan.total_adds, plan.total_removes
    sizes = Counter(tag for tags in leads.desired.values() for tag in tags)
    report.tag_sizes = {tag: sizes[tag] for tag in plan.adds}
    report.sample = diff.sample()
    report.top = leads.top()
