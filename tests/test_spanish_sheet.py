"""The Spanish spreadsheet (docs/reference.md, "A sheet in Spanish"): templates with a Spanish
text for every cell, `init` building in Spanish for a Spanish locale or `[sheets] language`,
syncs writing Spanish columns, `why` and Runs, and a sheet's language recognised from its
headers whatever the user's language is."""

from __future__ import annotations

import re
import tomllib

import pytest
from openpyxl import load_workbook

from syncbot.cli import main
from syncbot.core.fields import SCORE_FIELDS, field_kinds
from syncbot.core.vocabulary import fold
from syncbot.locales import decimal_mark, rule_vocabulary
from syncbot.sheets.language import (
    KINDS,
    csv_rows,
    recognise,
    sheet_language,
    template_text,
)
from syncbot.sheets.leads import plan_layout
from tests.conftest import SHEET_ID
from tests.test_e2e import World

# Cells that are the same word in both languages: addresses, brands, symbols, tags' prefix
SAME_IN_SPANISH = {"email", "vip", "Leads", "Webinars", "webinar", "incremental", "ok",
                   "CRM", "/pricing"}


def texts(rows: list[list[str]]) -> list[tuple[int, int, str]]:
    """Every cell that holds words (not a number, a symbol or nothing)."""
    return [(r, c, cell) for r, row in enumerate(rows) for c, cell in enumerate(row)
            if any(ch.isalpha() for ch in cell)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_template_cell_has_a_spanish_text(kind):
    english = csv_rows(template_text("en", f"{kind}.csv"))
    spanish = csv_rows(template_text("es", f"{kind}.csv"))
    assert [len(row) for row in spanish] == [len(row) for row in english]
    untranslated = [(r, c, cell) for r, c, cell in texts(english)
                    if spanish[r][c] == cell and cell.removeprefix("# ") not in SAME_IN_SPANISH
                    and not cell.startswith("# JOBTITLE")]  # a merge tag's name, as typed
    assert untranslated == []


@pytest.mark.parametrize("name", ["leads_notes.toml", "team_demo.toml"])
def test_every_note_and_demo_text_has_a_spanish_text(name):
    english = tomllib.loads(template_text("en", name))
    spanish = tomllib.loads(template_text("es", name))
    assert spanish.keys() == english.keys()
    for key, text in english.items():
        if isinstance(text, str):
            assert spanish[key] != text, key


def test_every_name_the_spanish_sheet_shows_is_spanish():
    """Tab names, Dashboard titles, Runs values: translated, or the same word on purpose."""
    english = tomllib.loads(template_text("en", "sheet.toml"))
    spanish = tomllib.loads(template_text("es", "sheet.toml"))
    for section in ("tabs", "dashboard"):
        assert spanish[section].keys() == english[section].keys()
        assert [key for key, text in english[section].items() if spanish[section][key] == text
                and text not in SAME_IN_SPANISH] == [], section
    assert set(spanish["run_values"]) == {"full", "incremental", "ok", "failed", "invalid-rules",
                                          "safety-stop", "dry-run"}


def test_spanish_names_are_words_every_rule_accepts():
    """What a Spanish sheet shows (Leads columns, dropdowns, `why`) reads back as the same
    field, operator or dimension when a rule uses it."""
    words = rule_vocabulary()
    spanish = sheet_language("es")
    for field in [*field_kinds(90, 365), *SCORE_FIELDS]:
        title = spanish.title(field)
        assert title == field or words.fields[fold(title)] == field, field
    assert {words.operators[fold(w)] for w in spanish.operators.values()} == set(spanish.operators)
    assert {words.dimensions[fold(w)]: d for d, w in spanish.dimensions.items()}.keys() == {
        "engagement", "fit"}
    assert {words.weekdays[fold(w)]: d for d, w in spanish.weekdays.items()} == {
        d: d for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
    assert {words.statuses[fold(w)]: s for s, w in spanish.statuses.items()} == {
        s: s for s in spanish.statuses}
    assert fold(spanish.names["days_since"]) in words.days_since
    assert fold(spanish.names["count"]) in words.count


def test_a_sheet_s_language_is_recognised_from_its_headers():
    assert recognise([["Campo", "Operador", "Valor", "Puntos"]]) == "es"
    assert recognise([["Field", "Operator", "Value", "Points"]]) == "en"
    assert recognise([["email", "estado", "aperturas_7d"], []]) == "es"
    assert recognise([["email", "vip"]]) is None  # shared words say nothing


# ---- through the command line, gspread and the sandbox ----------------------------------------

def values(world: World, title: str) -> list[list]:
    return world.box.sheets.values(SHEET_ID, title)


def book(world: World):
    return world.box.sheets.spreadsheets[SHEET_ID]


def add_rule(world: World, title: str, cells: list) -> None:
    """The team adds a rule at the bottom of a rules tab."""
    sheet = book(world).sheet(title)
    row = len(values(world, title))
    for column, value in enumerate(cells):
        sheet.set(row, column, value)


@pytest.fixture
def spanish(tmp_path, monkeypatch, capsys) -> World:
    """A new spreadsheet whose locale is es_ES, after `syncbot init`."""
    world = World(tmp_path, monkeypatch, locale="es_ES")
    code, out, _ = world.run(capsys, "init")
    assert code == 0, out
    return world


def test_init_builds_the_sheet_in_spanish_for_a_spanish_locale(spanish, capsys):
    assert sorted(book(spanish).sheets, key=lambda s: s.index)[0].title == "Panel"
    assert [s.title for s in book(spanish).sheets] == [
        "Leads", "Pesos", "Segmentos", "Intereses", "Ejecuciones", "Traspasos",
        "Panel"]  # "Hoja 1" is gone
    assert values(spanish, "Panel")[0][10] == "Leads por etiqueta, últimas 90 ejecuciones"
    assert values(spanish, "Pesos")[0] == [
        "Campo", "Operador", "Valor", "Puntos", "Máximo", "Dimensión", "Nota"]
    assert values(spanish, "Segmentos")[0] == ["Etiqueta", "Campo", "Operador", "Valor",
                                               "Grupo", "Nota"]
    assert [row[0] for row in values(spanish, "Segmentos")[1:]] == [
        "lead:caliente", "lead:templado", "lead:frio", "lead:dormido"]
    assert values(spanish, "Intereses")[0] == ["Tema", "URL contiene", "Producto contiene"]
    assert values(spanish, "Leads")[0][:4] == ["email", "estado", "aperturas_7d", "clics_7d"]
    pesos = book(spanish).sheet("Pesos")
    choices = {tuple(v["userEnteredValue"] for v in rule["rule"]["condition"]["values"])
               for rule in pesos.validations}
    assert ("compromiso", "perfil") in choices
    assert any("está vacío" in options and "por" in options for options in choices)
    leads = book(spanish).sheet("Leads")
    assert leads.notes[(0, 2)] == "Aperturas en los últimos 7 días."
    colours = [rule["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
               for rule in leads.conditional_formats if "booleanRule" in rule]
    assert sorted(colours) == ["lead:caliente", "lead:frio", "lead:templado"]


def test_the_config_language_wins_over_the_locale(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)  # en_US
    world.config.write_text(world.config.read_text() + 'language = "es"\n')
    code, out, _ = world.run(capsys, "init")
    assert code == 0 and "Created the tabs in Spanish" in out and "Edit Pesos and Segmentos" in out
    assert "Pesos" in [s.title for s in book(world).sheets]


def test_a_spanish_sheet_syncs_in_spanish_while_messages_follow_the_user(spanish, capsys,
                                                                        monkeypatch):
    monkeypatch.setenv("SYNCBOT_LANG", "en")
    add_rule(spanish, "Pesos", ["aperturas_ponderadas", "por", "", 1.5])
    code, out, _ = spanish.run(capsys, "sync")
    assert code == 0 and "Full sync" in out  # the user's language
    header, *rows = values(spanish, "Leads")
    assert {"aperturas_30d", "clics_30d", "dias_desde_ultima_actividad", "puntuacion",
            "etiquetas", "motivo", "sincronizado"} <= set(header)
    assert not {"opens_30d", "score", "why"} & set(header)
    leads = [dict(zip(header, row, strict=False)) for row in rows]
    whys = " ".join(lead["motivo"] for lead in leads)
    assert "clics_30d " in whys and "dias_desde_ultima_actividad > 90 -15" in whys
    assert "clicks_30d" not in whys and "days_since" not in whys
    decimals = re.findall(r"\d[.,]\d", whys)  # es_ES writes two and a half 2,5
    assert decimals and all("," in number for number in decimals)
    assert {lead["estado"] for lead in leads} <= {"suscrito", "dado de baja", "limpiado",
                                                  "pendiente", "transaccional"}
    days = {lead["mejor_dia_envio"] for lead in leads} - {""}
    assert days and days <= {"lun", "mar", "mié", "jue", "vie", "sáb", "dom"}
    warm = {lead["email"].lower() for lead in leads if "lead:templado" in lead["etiquetas"]}
    assert warm and spanish.tags()["lead:templado"] == warm  # the Spanish tags in Mailchimp
    runs = values(spanish, "Ejecuciones")
    assert runs[0][:4] == ["inicio", "fin", "modo", "estado"]
    assert runs[1][2:4] == ["completa", "ok"]

    writes = spanish.writes()  # nothing changed: nothing is written again
    code, out, _ = spanish.run(capsys, "sync")
    assert code == 0 and "0 new leads, 0 changed leads" in out
    assert spanish.writes()[0] == writes[0] + 1  # the Ejecuciones row with the Panel's tables
    assert values(spanish, "Ejecuciones")[2][2] == "incremental"


def test_an_english_sheet_stays_english_whatever_the_locale_or_the_user(tmp_path, monkeypatch,
                                                                        capsys):
    world = World(tmp_path, monkeypatch)
    world.run(capsys, "init")
    book(world).locale = "es_ES"  # the team changed the spreadsheet's locale later
    world.config.write_text(world.config.read_text() + 'language = "es"\n')
    monkeypatch.setenv("SYNCBOT_LANG", "es")
    add_rule(world, "Weights", ["opens_decayed", "per", "", 1.5])
    code, out, _ = world.run(capsys, "sync")
    assert code == 0 and "Sincronización completa" in out
    header = values(world, "Leads")[0]
    assert "clicks_30d" in header and "clics_30d" not in header
    whys = " ".join(lead["why"] for lead in world.leads().values())
    assert "clicks_30d" in whys
    decimals = re.findall(r"\d[.,]\d", whys)  # numbers as the locale writes them: 2,5
    assert decimals and all("," in number for number in decimals)
    assert values(world, "Runs")[1][2] == "full"


@pytest.mark.parametrize(("locale", "mark"), [
    ("es_ES", ","), ("es_AR", ","), ("es_CO", ","), ("es_CL", ","), ("pt_BR", ","),
    ("de_DE", ","), ("es_MX", "."), ("es_419", "."), ("es_US", "."), ("en_US", "."), ("en_GB", "."),
    ("ja_JP", "."), ("", ".")])
def test_why_uses_the_decimal_mark_of_the_spreadsheet_s_locale(locale, mark):
    assert decimal_mark(locale) == mark


def test_a_spanish_sheet_takes_english_words_and_hints_in_spanish(spanish, capsys):
    pesos = book(spanish).sheet("Pesos")
    pesos.rows = [pesos.rows[0], ["clicks_30d", "por", "", 5, 25, "compromiso", ""],
                  ["aperturas_30d", "per", "", 1, 10, "engagement", ""]]
    assert spanish.run(capsys, "check")[0] == 0
    pesos.rows.append(["clics_3d", ">", 0, 1, "", "", ""])
    code, out, err = spanish.run(capsys, "check")
    assert code == 2 and 'Pesos!A4' in out + err and '"clics_30d"' in out + err
    assert '"clicks_30d"' not in out + err


def test_an_english_sheet_hints_in_english(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.run(capsys, "init")
    weights = book(world).sheet("Weights")
    weights.rows = [weights.rows[0], ["clics_3d", ">", 0, 1, "", "", ""]]
    code, out, err = world.run(capsys, "check")
    assert code == 2 and '"clicks_30d"' in out + err


def test_the_demo_in_spanish_writes_a_spanish_workbook(tmp_path):
    output = tmp_path / "demo.xlsx"
    with pytest.raises(SystemExit) as done:
        main(["demo", "--language", "es", "--members", "200", "--output", str(output),
              "--quiet"])
    assert done.value.code == 0
    workbook = load_workbook(output)
    assert workbook.sheetnames[:6] == ["Panel", "Leads", "Pesos", "Segmentos", "Intereses",
                                       "Ejecuciones"]
    assert "Respuestas de formulario 1" in workbook.sheetnames
    header = [c.value for c in workbook["Leads"][1]]
    assert {"clics_30d", "puntuacion", "motivo", "Demo solicitada"} <= set(header)
    tags = [row[header.index("etiquetas")] for row in
            workbook["Leads"].iter_rows(min_row=2, values_only=True)]
    assert any("lead:caliente" in (t or "") for t in tags)
    runs = list(workbook["Ejecuciones"].iter_rows(values_only=True))
    assert [row[2] for row in runs[1:]] == ["completa", "incremental"]


def test_only_the_sheet_s_own_titles_are_syncbot_s_columns():
    """A team's "estado" column in an English sheet stays the team's; in a Spanish sheet
    it is syncbot's ``status``, and new columns get Spanish headers."""
    columns = ["email", "status", "synced_at"]
    english = plan_layout("Leads", ["email", "estado"], columns, width=2,
                          titles=sheet_language("en").titles)
    assert english.index["status"] == 2 and english.title("status") == "status"
    spanish_layout = plan_layout("Leads", ["email", "estado"], columns, width=2,
                                 titles=sheet_language("es").titles)
    assert spanish_layout.index["status"] == 1
    assert spanish_layout.new_columns == ("synced_at",)
    assert spanish_layout.title("synced_at") == "sincronizado"


@pytest.mark.parametrize(("field", "value"), [("estado", "suscrito"), ("status", "subscribed"),
                                              ("estado", "Dado de baja, suscrito")])
def test_a_status_in_spanish_or_english_means_mailchimp_s(field, value):
    """The Spanish sheet shows ``suscrito``; a rule may say it either way."""
    from syncbot.core.rules import parse_rules
    from tests.conftest import CELL, SAY

    operator = "in" if "," in value else "="
    rules = parse_rules(weights=[["Campo", "Operador", "Valor", "Puntos"],
                                 [field, operator, value, 5]],
                        segments=[["Etiqueta", "Campo", "Operador"]],
                        interests=[["Tema", "URL contiene"]], lookback_days=90,
                        say=SAY, cell=CELL, vocabulary=rule_vocabulary())
    [rule] = rules.weights
    assert rule.condition is not None and rule.condition.holds({"status": "subscribed"})
    assert not rule.condition.holds({"status": "cleaned"})


def test_a_missing_header_of_a_spanish_sheet_is_named_in_spanish():
    from syncbot.core.rules import InvalidRules, parse_rules
    from tests.conftest import CELL, SAY

    with pytest.raises(InvalidRules) as caught:
        parse_rules(weights=[["Campo", "Operador", "Valor"]], segments=[["Etiqueta", "Campo",
                                                                         "Operador"]],
                    interests=[["Tema", "URL contiene"]], lookback_days=90, say=SAY, cell=CELL,
                    vocabulary=rule_vocabulary(), labels=sheet_language("es").labels,
                    tabs=("Pesos", "Segmentos", "Intereses"))
    [problem] = caught.value.problems
    assert '"Puntos"' in problem and "Campo, Operador, Valor, Puntos, Máximo" in problem
