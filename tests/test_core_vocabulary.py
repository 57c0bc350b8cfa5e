"""Rules written with Spanish words (docs/reference.md, "Rules in Spanish"), in any sheet,
mixed freely with syncbot's own names: the core alone, plain values in and out."""

from __future__ import annotations

import pytest

from syncbot.core.rules import InvalidRules, parse_rules
from syncbot.core.vocabulary import fold
from syncbot.locales import rule_vocabulary
from tests.conftest import CELL, SAY

W = ["Field", "Operator", "Value", "Points", "Max", "Dimension", "Note"]
S = ["Tag", "Field", "Operator", "Value", "Group", "Note"]


def rules(weights=(), segments=(), lookback_days=90):
    return parse_rules(weights=[W, *weights], segments=[S, *segments],
                       interests=[["Topic", "URL contains"]], lookback_days=lookback_days,
                       merge_tags=("JOBTITLE",), vocabulary=rule_vocabulary(), say=SAY,
                       cell=CELL)


def problems(weights=(), segments=(), lookback_days=90) -> list[str]:
    with pytest.raises(InvalidRules) as caught:
        rules(weights, segments, lookback_days)
    return caught.value.problems


def test_words_fold_without_accents_capitals_or_extra_spaces():
    assert fold("  Está   VACÍO ") == "esta vacio" and fold("Días_desde") == "dias_desde"


@pytest.mark.parametrize(("written", "canonical"), [
    ("por", "per"), ("entre", "between"), ("contiene", "contains"),
    ("no contiene", "not contains"), ("en", "in"), ("No en", "not in"),
    ("está vacío", "is empty"), ("esta vacio", "is empty"), ("NO ESTÁ VACÍO", "is not empty"),
    ("no  esta  vacío", "is not empty"), (">=", ">="), ("between", "between"),
])
def test_spanish_operators_with_or_without_accents(written, canonical):
    value = {"per": "", "between": "1..5", "is empty": "", "is not empty": ""}.get(canonical, "1")
    field = "clicks_30d" if canonical in ("per", "between", ">=") else "JOBTITLE"
    [rule] = rules([[field, written, value, 1]]).weights
    assert rule.operator == canonical


@pytest.mark.parametrize(("written", "field"), [
    ("clics_30d", "clicks_30d"), ("Aperturas_7d", "opens_7d"),
    ("días_desde_última_actividad", "days_since_last_activity"),
    ("valoracion", "member_rating"), ("País", "country"), ("mejor_dia_envio", "best_send_weekday"),
    ("dias_desde(ultima_apertura)", "days_since(last_open_at)"),
    ("Días_desde( fecha_alta )", "days_since(subscribed_at)"),
    ("days_since(ultimo_clic)", "days_since(last_click_at)"),
])
def test_spanish_field_names_resolve_to_syncbot_s(written, field):
    [rule] = rules([[written, "is not empty", "", 1]]).weights
    assert rule.field == field


def test_a_rule_mixes_languages_and_dimensions_read_in_spanish():
    ruleset = rules([["clics_30d", "per", "", 5, 20, "compromiso"],
                     ["JOBTITLE", "contiene", "director", 15, "", "Perfil"],
                     ["pais", "in", "ES, MX", 5, "", "fit"]])
    assert [(r.field, r.operator, r.dimension) for r in ruleset.weights] == [
        ("clicks_30d", "per", "engagement"), ("JOBTITLE", "contains", "fit"),
        ("country", "in", "fit")]


@pytest.mark.parametrize(("operator", "value", "day", "expected"), [
    ("=", "lun", "Mon", True), ("=", "Lunes", "Mon", True), ("=", "mié", "Wed", True),
    ("=", "mie", "Wed", True), ("en", "sáb, dom", "Sun", True), ("en", "sab, dom", "Fri", False),
    ("=", "Mon", "Mon", True), ("!=", "vie", "Fri", False),
])
def test_weekdays_in_spanish(operator, value, day, expected):
    [rule] = rules([["mejor_dia_envio", operator, value, 1]]).weights
    assert rule.condition is not None and rule.condition.holds({"best_send_weekday": day}) \
        is expected


def test_the_scores_in_spanish_belong_to_segments_not_weights():
    [problem] = problems([["puntuacion", ">", 10, 1]])
    assert problem.startswith('Weights!A2: "puntuacion" is the result of the Weights tab')
    [rule] = rules(segments=[["lead:hot", "puntuación", ">=", 60, "tier"]]).segments
    assert rule.condition is not None and rule.condition.field == "score"


@pytest.mark.parametrize(("field", "lookback", "expected"), [
    ("aperturas_3d", 90, 'Weights!A2: unknown field "aperturas_3d" (did you mean '
                         '"aperturas_30d"?)'),  # nothing English is near
    ("clics_90d", 30, 'Weights!A2: unknown field "clics_90d" (did you mean "clicks_30d"?)'),
    ("clikcs_30d", 90, 'Weights!A2: unknown field "clikcs_30d" (did you mean "clicks_30d"?)'),
])
def test_a_typo_gets_the_sheet_s_own_name_first_then_a_spanish_one(field, lookback, expected):
    """The sheet is English (for now), so its names come first; a Spanish word is suggested
    when no English one is near."""
    assert problems([[field, "por", "", 1]], lookback_days=lookback) == [expected]


def test_an_unknown_spanish_operator_or_dimension_gets_a_suggestion():
    found = problems([["clics_30d", "contine", "x", 1], ["clics_30d", "por", "", 1, "", "perfli"]])
    assert 'unknown operator "contine" (did you mean "contiene"?)' in found[0] or \
        'unknown operator "contine" (did you mean "contains"?)' in found[0]
    assert 'unknown Dimension "perfli" (did you mean "perfil"?)' in found[1]


def test_rules_tabs_with_spanish_headers_are_read():
    ruleset = parse_rules(
        weights=[["Campo", "Operador", "Valor", "Puntos", "Máximo", "Dimensión", "Nota"],
                 ["clics_30d", "por", "", 5, 20, "compromiso", "cada clic"]],
        segments=[["Etiqueta", "Campo", "Operador", "Valor", "Grupo", "Nota"],
                  ["lead:caliente", "puntuacion", ">=", 60, "nivel", ""]],
        interests=[["Tema", "URL contiene"], ["Precios", "/precios"]], lookback_days=90,
        vocabulary=rule_vocabulary(), say=SAY, cell=CELL)
    [weight] = ruleset.weights
    assert (weight.field, weight.operator, weight.points, weight.max) == ("clicks_30d", "per", 5, 20)
    assert ruleset.managed_tags == ("lead:caliente",) and ruleset.segments[0].group == "nivel"
    assert [(i.topic, i.url_contains) for i in ruleset.interests] == [("Precios", "/precios")]
