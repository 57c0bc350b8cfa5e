"""`syncbot why EMAIL`: one lead's breakdown, from the local state and the current tabs.

Read-only and quick: the lead's record and events come from what the last sync pulled (no
Mailchimp request), the rules and the team's values from the spreadsheet as it is now, so a
marketer who just edited a rule sees what it does to this lead. Every field, every Weights
rule (held or not, with its points), every Segments rule, the tags and ``why``, the score
history and the lead's Hand-off rows, in the sheet's words; the sentences around them in
the user's language.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from syncbot import wiring
from syncbot.config import Config
from syncbot.core.handoff import HandoffRecord
from syncbot.core.history import HistoryPoint
from syncbot.core.lead import Evaluator, Explanation, RuleOutcome
from syncbot.core.rules import SegmentRule, WeightRule
from syncbot.core.values import from_serial
from syncbot.core.vocabulary import Labels
from syncbot.errors import UsageError
from syncbot.locales import catalogue, t
from syncbot.mailchimp.records import stored_orders, to_member
from syncbot.pipeline import lead_settings, sheet_rules
from syncbot.sheets.client import Tab
from syncbot.sheets.language import SheetLanguage
from syncbot.sheets.leads import leads_columns
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.sheets.tabs import load_templates
from syncbot.state.store import STATE_REASONS, StateStore

SUGGESTIONS = 3
HISTORY_SHOWN = 20
PERCENT = set(load_templates()["Leads"].format["percent_columns"])  # shown as 63 % in Leads


def explain_lead(config: Config, email: str, echo: Callable[[str], None],
                 now: datetime, sheet: Spreadsheet | None = None) -> None:
    """Print the breakdown of ``email``; UsageError (exit 2) when there is no usable state or
    no such lead, naming the nearest addresses. ``sheet``: the spreadsheet to read (the
    demo's; by default the configured one)."""
    key = email.strip().lower()
    state, reason = StateStore.read_only(config.state.path, list_id=config.mailchimp.list_id,
                                         lookback_days=config.mailchimp.lookback_days)
    if state is None:
        raise UsageError(t("explain.no_state", path=config.state.path,
                           reason=t(STATE_REASONS[reason or "missing"])))
    try:
        found = state.member(key)
        if found is None:
            nearest = difflib.get_close_matches(key, state.member_keys(), n=SUGGESTIONS,
                                                cutoff=0.6)
            raise UsageError(t("explain.unknown", email=email, hint=t(
                "explain.nearest", addresses=", ".join(nearest)) if nearest else ""))
        raw, events = found
        merge_tags = state.merge_tags()
        history = state.history([key]).get(key, [])
        orders = stored_orders(state, [key]).get(key, []) if config.orders else []
    finally:
        state.close()
    sheet = sheet or wiring.spreadsheet(config)
    data = sheet.read()
    rules = sheet_rules(data, config, merge_tags, catalogue())
    inputs = (sheet.open_leads(leads_columns(merge_tags, config.mailchimp.lookback_days,
                                             config.order_days), rules.inputs,
                               trust_ledger=False).inputs
              if rules.inputs  # its cells in the team's columns, and its Hand-off Status
              else sheet.handoff_inputs())  # no Leads read needed
    team = dict(inputs.of(key))
    evaluator = Evaluator(rules, lead_settings(config, data.time_zone), data.language.texts,
                          data.labels)
    member = to_member(raw)
    explanation = evaluator.explain(member, events, now, team, history, orders)
    tabs = data.rules_tabs[:2]
    for line in _lines(explanation, data.labels, tabs,
                       untagged=member.status not in config.mailchimp.tag_statuses,
                       statuses=config.mailchimp.tag_statuses):
        echo(line)
    for line in _history_lines(history, data.labels):
        echo(line)
    handoffs = [record for record in sheet.handoff_records() if record.key == key]
    for line in _handoff_lines(handoffs, data.tabs.get("Handoff"), data.language):
        echo(line)


def _shown(value: Any, labels: Labels, *, percent: bool = False) -> str:
    """A value as the sheet shows it (rates as percentages, dates to the minute, numbers with
    the sheet's decimal mark, as in its ``why``)."""
    if value is None or value == "":
        return "—"
    if percent and isinstance(value, int | float):
        return f"{labels.number(round(value * 100, 1))}%"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return t("explain.yes") if value else t("explain.no")
    if isinstance(value, int | float):
        return labels.number(value)
    return str(value)


def _rule(rule: WeightRule | SegmentRule, labels: Labels) -> str:
    """A rule as its row reads: ``clics_30d por`` · ``puntuacion >= 60``."""
    condition = rule.condition
    if condition is None:
        field = labels.field(rule.field) if isinstance(rule, WeightRule) else ""
        operator = labels.operator(rule.operator) if isinstance(rule, WeightRule) else ""
        return f"{field} {operator}".strip() or t("explain.always")
    return " ".join(part for part in (labels.field(condition.field),
                                      labels.operator(condition.operator),
                                      condition.value_text) if part)


def _weight_line(outcome: RuleOutcome, labels: Labels) -> str:
    rule = outcome.rule
    assert isinstance(rule, WeightRule)
    points = labels.number(outcome.points)
    detail = ""  # a "per" rule's count and cap are worth reading; a condition says it all
    if rule.condition is None and outcome.text:
        detail = t("explain.detail", text=outcome.text)
    return t("explain.weight_line", mark="✓" if outcome.holds else "✗", row=rule.row,
             rule=_rule(rule, labels),
             points=points if points.startswith("-") or points == "0" else f"+{points}",
             detail=detail)


def _segment_line(outcome: RuleOutcome, labels: Labels, tags: list[str], untagged: bool
                  ) -> str:
    rule = outcome.rule
    assert isinstance(rule, SegmentRule)
    note = ""
    if outcome.holds and rule.tag not in tags and not untagged:
        note = t("explain.not_applied")
    return t("explain.segment_line", mark="✓" if outcome.holds else "✗", row=rule.row,
             tag=rule.tag, rule=_rule(rule, labels), note=note)


def _history_lines(history: list[HistoryPoint], labels: Labels) -> list[str]:
    """The runs that changed the lead's score or tags, newest first (the last HISTORY_SHOWN)."""
    if not history:
        return [t("explain.no_history")]
    return [t("explain.history")] + [
        t("explain.history_line", at=point.at.strftime("%Y-%m-%d %H:%M"),
          score=labels.number(point.score), tags=", ".join(point.tags) or "—")
        for point in reversed(history[-HISTORY_SHOWN:])]


def _handoff_lines(records: list[HandoffRecord], tab: Tab | None, language: SheetLanguage
                   ) -> list[str]:
    """The lead's Hand-off rows, newest first, with what sales made of each."""
    if tab is None:
        return []
    if not records:
        return [t("explain.no_handoffs", tab=tab.title)]
    newest = sorted(records, key=lambda record: (record.at or 0, record.row), reverse=True)
    return [t("explain.handoffs", tab=tab.title)] + [
        t("explain.handoff_line", row=record.row,
          at=from_serial(record.at).strftime("%Y-%m-%d %H:%M") if record.at is not None else "—",
          status=language.handoff_statuses.get(record.status, record.status) or "—")
        for record in newest]


def _lines(explanation: Explanation, labels: Labels, tabs: tuple[str, str], *, untagged: bool,
           statuses: tuple[str, ...]) -> list[str]:
    """``untagged``: the lead's status is not one whose tags syncbot changes."""
    lead = explanation.lead
    values = lead.values
    lines = [t("explain.heading", email=values.get("email"), status=values.get("status"),
               score=labels.number(lead.score),
               engagement=labels.number(values.get("engagement_score") or 0),
               fit=labels.number(values.get("fit_score") or 0)), "", t("explain.fields")]
    hidden = {"email", "status", "tags", "why", "engagement_score", "fit_score", "score"}
    lines += [f"  {labels.field(name)}: {_shown(value, labels, percent=name in PERCENT)}"
              for name, value in values.items() if name not in hidden]
    lines += ["", t("explain.weights", tab=tabs[0])]
    lines += [_weight_line(outcome, labels) for outcome in explanation.weights]
    lines += ["", t("explain.segments", tab=tabs[1])]
    lines += [_segment_line(outcome, labels, lead.tags, untagged)
              for outcome in explanation.segments]
    lines += [""]
    if lead.tags:
        lines.append(t("explain.tags", tags=", ".join(lead.tags)))
    elif untagged and any(outcome.holds for outcome in explanation.segments):
        lines.append(t("explain.no_tags_status", statuses=", ".join(statuses)))
    else:
        lines.append(t("explain.no_tags"))
    lines.append(t("explain.why", why=lead.why))
    return lines
