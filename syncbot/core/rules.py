"""The Weights, Segments and Interests tabs, read as rules.

Rows come as the sheet gives them (row 1 is the header; columns are found by
name, in any order; numbers may be numbers or text in either decimal
notation). Every problem in every tab is collected, each naming its cell, and
a rule set with any problem is never returned: ``parse_rules`` raises
``InvalidRules`` instead. Messages come from the ``say`` it is given, cell names
from its ``cell``: the core looks up neither.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncbot.core.fields import BOOLEAN, DATE, NUMBER, SCORE_FIELDS, TEXT, Interest, field_kinds
from syncbot.core.inputs import NO_TEAM, UNKNOWN, DaysSince, FieldNames, TeamColumn, TeamHeaders
from syncbot.core.texts import CellName, Problems, Say
from syncbot.core.values import as_text, is_blank, parse_date, parse_number, to_serial
from syncbot.core.vocabulary import ENGLISH, SYNCBOT_LABELS, Labels, Vocabulary, fold

OPERATORS = ("per", "=", "!=", ">", ">=", "<", "<=", "between", "contains", "not contains",
             "in", "not in", "is empty", "is not empty")
ALIASES = {"==": "=", "<>": "!=", "≠": "!=", "≥": ">=", "≤": "<=", "=>": ">=", "=<": "<="}
NUMBER_OPERATORS = {">", ">=", "<", "<=", "between"}
LIST_OPERATORS = {"contains", "not contains", "in", "not in"}
NO_VALUE_OPERATORS = {"per", "is empty", "is not empty"}
TRUE_WORDS = frozenset({"yes", "true", "sí", "si", "y", "x", "1", "verdadero", "✓", "✔"})
FALSE_WORDS = frozenset({"no", "false", "n", "0", "falso"})  # a checkbox's two values, as written
DIMENSIONS = ("engagement", "fit")

WEIGHTS_COLUMNS = ("Field", "Operator", "Value", "Points", "Max", "Dimension", "Note")
SEGMENTS_COLUMNS = ("Tag", "Field", "Operator", "Value", "Group", "Note")
INTERESTS_COLUMNS = ("Topic", "URL contains", "Product contains")  # the last one optional

Test = Callable[[Any], bool]


@dataclass(frozen=True)
class Condition:
    """``field operator value``, compiled to a test of the field's value."""

    field: str
    operator: str
    value_text: str  # the Value as the team wrote it, for explanations
    test: Test

    def holds(self, features: dict[str, Any]) -> bool:
        return self.test(features.get(self.field))


@dataclass(frozen=True)
class WeightRule:
    row: int
    field: str
    operator: str
    condition: Condition | None  # None for "per"
    points: float
    max: float | None
    dimension: str


@dataclass(frozen=True)
class SegmentRule:
    row: int
    tag: str
    condition: Condition | None  # None: always matches
    group: str | None  # case-folded group name, None when the row has no group


@dataclass(frozen=True)
class Ruleset:
    weights: tuple[WeightRule, ...]
    segments: tuple[SegmentRule, ...]
    interests: tuple[Interest, ...]
    inputs: tuple[TeamColumn, ...] = ()  # the team's columns the rules name, to read each run
    days_since: tuple[DaysSince, ...] = ()  # the days_since(X) fields the rules use

    @property
    def managed_tags(self) -> tuple[str, ...]:
        """The tags syncbot owns: the Tag values of the Segments tab, in tab order."""
        return tuple(dict.fromkeys(rule.tag for rule in self.segments))


# ---- reading a tab ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    number: int  # 1-based sheet row
    cells: dict[str, Any]  # column name -> value
    columns: dict[str, int]  # column name -> 0-based index
    name: CellName

    def get(self, column: str) -> Any:
        value = self.cells.get(column)
        return value.strip() if isinstance(value, str) else value

    def cell(self, tab: str, column: str) -> str:
        return self.name(tab, self.columns[column], self.number)


def _read_table(tab: str, rows: Sequence[Sequence[Any]], columns: Sequence[str],
                required: Sequence[str], problems: Problems,
                vocabulary: Vocabulary = ENGLISH, labels: Labels = SYNCBOT_LABELS
                ) -> list[_Row]:
    """The rows of a rules tab, each cell under its column's name; headers are found in any
    order, in English or in another language's words (``Campo``, ``Puntos``…). A problem
    names the headers as the sheet's language has them (``labels``)."""
    header = list(rows[0]) if rows else []
    found: dict[str, int] = {}
    wanted = {fold(c): c for c in columns}
    wanted |= {alias: name for alias, name in vocabulary.columns.items() if name in columns}
    for index, title in enumerate(header):
        name = wanted.get(fold(as_text(title)))
        if name is None:
            continue  # a team column: ignored
        if name in found:
            problems.add("rules.duplicate_header", cell=problems.cell(tab, index, 1),
                         column=labels.header(name), other=problems.cell(tab, found[name], 1))
            continue
        found[name] = index
    missing = [c for c in required if c not in found]
    for column in missing:
        problems.add("rules.missing_header", tab=tab, column=labels.header(column),
                     columns=", ".join(labels.header(c) for c in columns))
    if missing:
        return []
    out = []
    for offset, raw in enumerate(rows[1:]):
        cells = {name: raw[i] if i < len(raw) else None for name, i in found.items()}
        out.append(_Row(offset + 2, cells, found, problems.cell))
    return out


# ---- fields and operators ---------------------------------------------------------------------

def _operator(raw: Any, vocabulary: Vocabulary) -> str:
    """The canonical operator for what the team typed (``≥``, ``entre``, ``está vacío``…)."""
    text = fold(as_text(raw))
    return ALIASES.get(text) or vocabulary.operators.get(text, text)


def _canonical_values(value: Any, words: Mapping[str, str]) -> Any:
    """``lun, mar`` → ``Mon, Tue``, ``suscrito`` → ``subscribed``: values as syncbot's fields
    hold them (``best_send_weekday``, ``status``)."""
    if is_blank(value):
        return value
    return ", ".join(words.get(fold(part), part) for part in _alternatives(value))


def _number_of(value: Any) -> float | None:
    """A field value as a number for comparisons (dates as sheet serial numbers, as is a date
    typed as text in a team's column: ``2026-01-31``)."""
    if isinstance(value, datetime):
        return to_serial(value)
    if isinstance(value, str):
        return parse_date(value)
    return parse_number(value)


def _comparable(value: Any) -> float | None:
    """A field value as a number for ``> < between``; blanks and booleans are not numbers."""
    kind = type(value)
    if kind is int or kind is float:  # the hot path: counts and scores
        return value  # type: ignore[no-any-return]
    if value is None or kind is bool or is_blank(value):
        return None
    return _number_of(value)


def _alternatives(value: Any) -> list[str]:
    return [part.strip() for part in as_text(value).split(",") if part.strip()]


def _same_day(day: float) -> Test:
    return lambda v: not is_blank(v) and int(_number_of(v) or -1) == int(day)


def _equals_test(expected: Any, kind: str) -> Test:
    """Equal numerically when both sides are numbers, as a ticked or unticked box when the
    value is a checkbox (``yes``, ``true``, ``sí``…), as the same day when the field is a date
    (or may be one, and the Value is a date), else as case-insensitive text."""
    if kind == DATE or (kind == UNKNOWN and parse_number(expected) is None):
        day = parse_date(expected)
        if day is not None:
            return _same_day(day)
    number = parse_number(expected)
    text = as_text(expected).casefold()
    ticked = True if text in TRUE_WORDS else False if text in FALSE_WORDS else None

    def test(value: Any) -> bool:
        if is_blank(value):
            return False
        if isinstance(value, bool) and ticked is not None:
            return value is ticked
        if number is not None and not isinstance(value, bool):
            own = _number_of(value)
            if own is not None:
                return abs(own - number) < 1e-9
        return as_text(value).casefold() == text
    return test


def _compare(operator: str, bound: float) -> Test:
    number = _comparable
    if operator == ">":
        return lambda v: (n := number(v)) is not None and n > bound
    if operator == ">=":
        return lambda v: (n := number(v)) is not None and n >= bound
    if operator == "<":
        return lambda v: (n := number(v)) is not None and n < bound
    return lambda v: (n := number(v)) is not None and n <= bound


def _compile(operator: str, value: Any, kind: str, field: str, where: str,
             problems: Problems) -> Test | None:
    """The test for ``operator value`` on a field of ``kind``, or None (with a problem recorded)."""
    shown = as_text(value)
    if operator in NO_VALUE_OPERATORS:
        if not is_blank(value):
            problems.add("rules.no_value_expected", cell=where, operator=operator)
            return None
        if operator == "is empty":
            return is_blank
        return lambda v: not is_blank(v)
    if is_blank(value):
        advice = problems.say("rules.needs_value_equals") if operator in ("=", "!=") else ""
        problems.add("rules.needs_value", cell=where, operator=operator, advice=advice)
        return None
    if operator in NUMBER_OPERATORS and kind in (TEXT, BOOLEAN):
        problems.add("rules.number_op_on_text", cell=where, field=field, operator=operator)
        return None
    parse = parse_date if kind in (DATE, UNKNOWN) else parse_number  # a team column may hold dates
    if operator == "between":
        low_text, sep, high_text = shown.partition("..")
        low, high = parse(low_text), parse(high_text)
        if not sep or low is None or high is None:
            problems.add("rules.bad_between", cell=where, value=shown)
            return None
        if low > high:
            problems.add("rules.between_order", cell=where, value=shown)
            return None
        above, below = _compare(">=", low), _compare("<=", high)
        return lambda v: above(v) and below(v)
    if operator in NUMBER_OPERATORS:
        bound = parse(value)
        if bound is None:
            key = "rules.needs_date" if kind == DATE else "rules.needs_number"
            problems.add(key, cell=where, operator=operator, field=field, value=shown)
            return None
        return _compare(operator, bound)
    if operator in ("=", "!="):
        equal = _equals_test(value, kind)
        return equal if operator == "=" else (lambda v: is_blank(v) or not equal(v))
    options = _alternatives(value)
    if operator in ("contains", "not contains"):
        needles = [o.casefold() for o in options]

        def contains(v: Any) -> bool:
            text = (v if type(v) is str else as_text(v)).casefold()
            return bool(text) and any(n in text for n in needles)
        return contains if operator == "contains" else (lambda v: not contains(v))
    tests = [_equals_test(o, kind) for o in options]

    def member_of(v: Any) -> bool:
        return any(test(v) for test in tests)
    return member_of if operator == "in" else (lambda v: is_blank(v) or not member_of(v))


def _condition(row: _Row, tab: str, fields: FieldNames, problems: Problems, *,
               allow_per: bool) -> tuple[str, str, Condition | None] | None:
    """Field, operator and compiled condition of a row; None when the row has a problem."""
    raw_field, raw_op = as_text(row.get("Field")), row.get("Operator")
    field = fields.resolve(raw_field, row.cell(tab, "Field"))
    operator = _operator(raw_op, fields.vocabulary)
    operators = OPERATORS if allow_per else OPERATORS[1:]
    if not operator:
        problems.add("rules.missing_operator", cell=row.cell(tab, "Operator"),
                      operators=", ".join(operators))
        return None
    if operator == "per" and not allow_per:
        problems.add("rules.per_in_segments", cell=row.cell(tab, "Operator"))
        return None
    if operator not in operators:
        close = difflib.get_close_matches(
            operator, [*operators, *fields.vocabulary.operators], n=1, cutoff=0.5)
        hint = problems.say("rules.unknown_field_hint", suggestion=close[0]) if close else ""
        problems.add("rules.unknown_operator", cell=row.cell(tab, "Operator"),
                      operator=as_text(raw_op), hint=hint, operators=", ".join(operators))
        return None
    if field is None:  # reported above; the operator was still checked
        return None
    kind = fields.kind(field)
    value = row.get("Value") if "Value" in row.columns else None
    if field == "best_send_weekday":
        value = _canonical_values(value, fields.vocabulary.weekdays)
    if field == "status":
        value = _canonical_values(value, fields.vocabulary.statuses)
    if field == "handoff_status":
        value = _canonical_values(value, fields.vocabulary.handoff_statuses)
    where = row.cell(tab, "Value") if "Value" in row.columns else row.cell(tab, "Operator")
    if operator == "per":
        if kind not in (NUMBER, UNKNOWN):
            kinds = {TEXT: "rules.kind_text", DATE: "rules.kind_date", BOOLEAN: "rules.kind_boolean"}
            problems.add("rules.per_needs_number_field", cell=row.cell(tab, "Field"),
                          field=field, kind=problems.say(kinds[kind]))
            return None
        if not is_blank(value):
            problems.add("rules.no_value_expected", cell=where, operator=operator)
            return None
        return field, operator, None
    test = _compile(operator, value, kind, field, where, problems)
    if test is None:
        return None
    return field, operator, Condition(field, operator, as_text(value), test)


# ---- the three tabs ---------------------------------------------------------------------------

def _points(row: _Row, tab: str, column: str, problems: Problems, *, required: bool
            ) -> tuple[bool, float | None]:
    raw = row.get(column) if column in row.columns else None
    if is_blank(raw):
        if required:
            problems.add("rules.points_missing", cell=row.cell(tab, column))
            return False, None
        return True, None
    number = parse_number(raw)
    if number is None:
        key = "rules.points_not_number" if column == "Points" else "rules.max_not_number"
        problems.add(key, cell=row.cell(tab, column), value=as_text(raw))
        return False, None
    return True, number


def parse_weights(rows: Sequence[Sequence[Any]], tab: str, fields: FieldNames,
                  problems: Problems) -> list[WeightRule]:
    rules = []
    for row in _read_table(tab, rows, WEIGHTS_COLUMNS, ("Field", "Operator", "Points"), problems,
                           fields.vocabulary, fields.labels):
        name = as_text(row.get("Field"))
        if not name or name.startswith("#"):
            continue
        if fields.vocabulary.fields.get(fold(name), name.casefold()) in SCORE_FIELDS:
            problems.add("rules.score_in_weights", cell=row.cell(tab, "Field"), field=name)
            continue
        parsed = _condition(row, tab, fields, problems, allow_per=True)
        points_ok, points = _points(row, tab, "Points", problems, required=True)
        max_ok, cap = _points(row, tab, "Max", problems, required=False)
        dimension = fold(as_text(row.get("Dimension") if "Dimension" in row.columns else ""))
        dimension = fields.vocabulary.dimensions.get(dimension, dimension)  # perfil → fit
        dimension_ok = True
        if dimension and dimension not in DIMENSIONS:
            close = difflib.get_close_matches(
                dimension, [*DIMENSIONS, *fields.vocabulary.dimensions], n=1, cutoff=0.5)
            problems.add("rules.unknown_dimension", cell=row.cell(tab, "Dimension"),
                          value=as_text(row.get("Dimension")),
                          hint=problems.say("rules.unknown_field_hint", suggestion=close[0]) if close else "")
            dimension_ok = False
        if parsed and cap is not None and parsed[1] != "per":
            problems.add("rules.max_without_per", cell=row.cell(tab, "Max"))
            continue
        if parsed is None or not (points_ok and max_ok and dimension_ok) or points is None:
            continue
        field, operator, condition = parsed
        rules.append(WeightRule(row.number, field, operator, condition, points,
                                abs(cap) if cap is not None else None, dimension or "engagement"))
    return rules


def parse_segments(rows: Sequence[Sequence[Any]], tab: str, fields: FieldNames,
                   problems: Problems) -> list[SegmentRule]:
    rules: list[SegmentRule] = []
    seen: dict[str, tuple[int, str | None]] = {}  # folded tag -> (row, group)
    for row in _read_table(tab, rows, SEGMENTS_COLUMNS, ("Tag", "Field", "Operator"), problems,
                           fields.vocabulary, fields.labels):
        tag = as_text(row.get("Tag"))
        field_text, op_text = as_text(row.get("Field")), as_text(row.get("Operator"))
        group_text = as_text(row.get("Group")) if "Group" in row.columns else ""
        if tag.startswith("#") or not (tag or field_text or op_text):
            continue
        if not tag:
            problems.add("rules.tag_missing", cell=row.cell(tab, "Tag"))
            continue
        group = group_text.casefold() or None
        previous = seen.get(tag.casefold())
        if previous is not None:
            other_row, other_group = previous
            if other_group == group:
                problems.add("rules.duplicate_tag", cell=row.cell(tab, "Tag"), tag=tag,
                              row=other_row)
            else:
                def describe(g: str | None) -> str:
                    return problems.say("rules.group_name", group=g) if g else problems.say("rules.no_group")
                problems.add("rules.tag_in_two_groups", cell=row.cell(tab, "Tag"), tag=tag,
                              group=describe(group_text or None), other=describe(other_group),
                              row=other_row)
            continue
        seen[tag.casefold()] = (row.number, group)
        if not field_text and not op_text:
            rules.append(SegmentRule(row.number, tag, None, group))
            continue
        if not field_text:
            problems.add("rules.operator_without_field", cell=row.cell(tab, "Field"))
            continue
        parsed = _condition(row, tab, fields, problems, allow_per=False)
        if parsed is not None:
            rules.append(SegmentRule(row.number, tag, parsed[2], group))
    return rules


def parse_interests(rows: Sequence[Sequence[Any]], tab: str, problems: Problems,
                    vocabulary: Vocabulary = ENGLISH, labels: Labels = SYNCBOT_LABELS
                    ) -> list[Interest]:
    interests = []
    for row in _read_table(tab, rows, INTERESTS_COLUMNS, INTERESTS_COLUMNS[:2], problems,
                           vocabulary, labels):
        topic, link = as_text(row.get("Topic")), as_text(row.get("URL contains"))
        product = as_text(row.get("Product contains")) if "Product contains" in row.columns \
            else ""
        if topic.startswith("#") or not (topic or link or product):
            continue
        if not topic:
            problems.add("rules.interest_topic_missing", cell=row.cell(tab, "Topic"),
                         url=labels.header("URL contains"),
                         product=labels.header("Product contains"))
        elif not (link or product):
            problems.add("rules.interest_url_missing", cell=row.cell(tab, "URL contains"),
                         topic=topic, url=labels.header("URL contains"),
                         product=labels.header("Product contains"))
        else:
            interests.append(Interest(topic, link, product))
    return interests


class InvalidRules(ValueError):
    """The rule tabs have problems; ``problems`` lists every one, each naming its cell."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_rules(*, weights: Sequence[Sequence[Any]], segments: Sequence[Sequence[Any]],
                interests: Sequence[Sequence[Any]], lookback_days: int, say: Say, cell: CellName,
                order_days: int | None = None,
                merge_tags: Collection[str] = (), team: TeamHeaders = NO_TEAM,
                vocabulary: Vocabulary = ENGLISH, labels: Labels = SYNCBOT_LABELS,
                tabs: tuple[str, str, str] = ("Weights", "Segments", "Interests")) -> Ruleset:
    """All three tabs as one rule set, or InvalidRules listing every problem in every tab
    (in the language ``say`` speaks, with cells named by ``cell``). ``team`` is what the
    spreadsheet offers besides syncbot's fields (``core.inputs``); ``vocabulary`` the other
    words a rule may be written in (``core.vocabulary``); ``labels`` the sheet's own names,
    which typo hints offer first; ``order_days``: the ``[orders]`` lookback (None: no purchase
    fields)."""
    problems = Problems(say, cell)
    fields = FieldNames(field_kinds(lookback_days, order_days) | SCORE_FIELDS, merge_tags, team, problems,
                        vocabulary, labels)
    weight_rules = parse_weights(weights, tabs[0], fields, problems)  # rejects the scores itself
    segment_rules = parse_segments(segments, tabs[1], fields, problems)
    interest_rules = parse_interests(interests, tabs[2], problems, vocabulary, labels)
    if problems:
        raise InvalidRules(problems.found)
    return Ruleset(tuple(weight_rules), tuple(segment_rules), tuple(interest_rules),
                   tuple(fields.used.values()), tuple(fields.days_since.values()))
