"""The team's own columns and tabs as scoring inputs, end to end through the command line,
gspread and the sandbox (docs/reference.md, "Your own columns and tabs")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from syncbot.sandbox.sheets import Formula, col_letters, to_serial
from syncbot.sheets.client import Workbook
from tests.conftest import NOW, SHEET_ID
from tests.test_e2e import World, sync_twin, twin_worlds

FORM = "Form responses 1"
SOURCES = f'[sources]\ntabs = ["{FORM}"]\n'
RULES = [["Demo requested", "=", "yes", 30, "", "", ""],
         [f"days_since({FORM}!Timestamp)", "<=", 14, 25, "", "", ""],
         [f"{FORM}!count", "per", "", 5, 10, "", ""],
         ["clicks_30d", "per", "", 5, 20, "", ""],
         [f"{FORM}!Which product?", "contains", "boots", 10, "", "fit", ""]]


def naive(moment) -> float:
    return to_serial(moment.replace(tzinfo=None))


def sheet(world: World, title: str):
    return world.box.sheets.spreadsheets[SHEET_ID].sheet(title)


def add_form(world: World, rows: list[list], header=("Timestamp", "Email Address",
                                                    "Which product?")) -> None:
    """A Google Forms responses tab as Forms writes it: Timestamp first, dates as serials."""
    book = world.box.sheets.spreadsheets[SHEET_ID]
    tab = book.sheet(FORM) or world.box.sheets.add_tab(SHEET_ID, FORM)
    tab.rows = [list(header), *[list(r) for r in rows]]
    tab.row_count = max(tab.row_count, len(tab.rows) + 100)


def add_team_column(world: World, header: str = "Demo requested") -> int:
    leads = sheet(world, "Leads")
    leads.rows[0].append(header)
    leads.column_count = max(leads.column_count, len(leads.rows[0]))  # as inserting one does
    return len(leads.rows[0]) - 1


def tick(world: World, emails: list[str], column: int, value=True) -> None:
    leads = sheet(world, "Leads")
    wanted = {e.lower() for e in emails}
    for row in leads.rows[1:]:
        if row and str(row[0]).lower() in wanted:
            row.extend([None] * (column + 1 - len(row)))
            row[column] = value


def setup(world: World, capsys, form_rows: list[list]) -> int:
    """Rules that use the team's data, a form tab, a "Demo requested" column; one sync."""
    world.set_weights(RULES)
    add_form(world, form_rows)
    column = add_team_column(world)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, out + err
    return column


def form_rows(world: World, start: int, count: int, product: str = "Trail boots") -> list[list]:
    return [[naive(world.now - timedelta(days=i)), world.audience.emails[i], product]
            for i in range(start, start + count)]


def test_the_team_data_scores_and_why_names_it(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    assert world.run(capsys, "init")[0] == 0
    ana, bea = world.audience.emails[0], world.audience.emails[1]
    column = setup(world, capsys, [[naive(NOW - timedelta(days=2)), ana.upper() + " ", "Boots"],
                                   [naive(NOW - timedelta(days=40)), bea, "Hats"],
                                   [naive(NOW - timedelta(days=1)), bea, "Trail boots"]])
    tick(world, [ana], column)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    why = {e: world.leads()[e.lower()]["why"] for e in (ana, bea)}
    assert "Demo requested = yes +30" in why[ana]
    assert f"days_since({FORM}!Timestamp) <= 14 +25" in why[ana]
    assert f"{FORM}!count 1×5 +5" in why[ana]
    assert f"{FORM}!Which product? contains boots +10" in why[ana]
    assert "Demo requested" not in why[bea]
    assert f"{FORM}!count 2×5 +10" in why[bea]  # both rows count
    assert f"{FORM}!Which product? contains boots +10" in why[bea]  # the bottom-most row's answer
    assert "1 changed leads" in out  # only Ana's box changed since the first sync
    uses = (f'Your own data the rules use: Leads: "Demo requested"; {FORM}: "Timestamp", row '
            'count, "Which product?".')
    assert uses in out
    tick(world, [bea], column)
    code, out, err = world.run(capsys, "plan")
    assert code == 0 and uses in out and "0 new leads, 1 changed leads" in out


def test_team_cells_and_source_tabs_are_only_ever_read(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    column = setup(world, capsys, form_rows(world, 0, 30))
    tick(world, world.audience.emails[:40], column)
    form_before = [list(r) for r in sheet(world, FORM).rows]
    team_before = {e: row.get("Demo requested") for e, row in world.leads().items()}
    world.now += timedelta(days=3)
    assert world.run(capsys, "sync")[0] == 0
    assert sheet(world, FORM).rows == form_before
    assert {e: row.get("Demo requested") for e, row in world.leads().items()} == team_before


def test_the_team_data_costs_no_request_of_its_own(tmp_path, monkeypatch, capsys):
    """The team's columns and the form tab are read in the request that reads the Leads
    e-mails: a run that names them costs no more Sheets requests than one that does not."""
    calls = {}
    for name, rules in (("without", RULES[3:4]), ("with", RULES)):
        (tmp_path / name).mkdir()
        world = World(tmp_path / name, monkeypatch)
        world.config.write_text(world.config.read_text() + SOURCES)
        world.run(capsys, "init")
        world.set_weights(rules)
        add_form(world, form_rows(world, 0, 30))
        add_team_column(world)
        world.run(capsys, "sync")
        world.now += timedelta(hours=6)
        assert world.run(capsys, "sync")[0] == 0
        calls[name] = world.runs()[-1][10]
    assert calls["with"] == calls["without"]


def spy_on_reads(monkeypatch) -> list[list[str]]:
    """The ranges of every values read a run makes, one list a request."""
    reads: list[list[str]] = []
    read = Workbook.read

    def spy(self, ranges):
        reads.append(list(ranges))
        return read(self, ranges)

    monkeypatch.setattr(Workbook, "read", spy)
    return reads


def test_a_run_asks_for_the_team_data_the_last_run_read_with_the_rules_tabs(
        tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    column = setup(world, capsys, form_rows(world, 0, 30))
    demo = f"'Leads'!{col_letters(column)}2:{col_letters(column)}"
    form = [f"'{FORM}'!{c}2:{c}" for c in "ABC"]  # its e-mails, Timestamp, Which product?
    reads = spy_on_reads(monkeypatch)
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    first, *later = reads
    assert "'Weights'" in first and {demo, "'Leads'!A2:A", *form} <= set(first)
    assert not any(demo in r or "'Leads'!A2:A" in r or form[0] in r for r in later)
    world.set_weights([*RULES, ["Demo requested", "=", "yes", 5, "", "fit", ""],
                       [f"{FORM}!Phone", "is not empty", "", 5, "", "", ""]])
    sheet(world, FORM).rows[0].append("Phone")
    reads.clear()
    assert world.run(capsys, "sync")[0] == 0
    assert [r for r in reads if any(f"'{FORM}'" in x for x in r) and "'Weights'" not in r] \
        == [[f"'{FORM}'!D2:D"]]  # only the column the rules did not name before
    reads.clear()
    assert world.run(capsys, "sync", "--full")[0] == 0
    assert demo not in reads[0]  # --full goes by nothing the state remembers


@pytest.mark.parametrize("edit", ["tick", "sort", "form rows", "delete rows", "days pass"])
def test_an_incremental_sync_equals_a_full_one_after_the_team_edits(tmp_path, monkeypatch,
                                                                    capsys, edit):
    worlds = twin_worlds(tmp_path, monkeypatch, capsys, SOURCES)
    columns = {name: setup(w, capsys, form_rows(w, 0, 40)) for name, w in worlds.items()}
    for name, w in worlds.items():
        tick(w, w.audience.emails[10:30], columns[name])
        sync_twin(name, w, capsys)
        w.now += timedelta(hours=6)
        emails = w.audience.emails
        if edit == "tick":
            tick(w, emails[10:15], columns[name], False)  # unticked
            tick(w, emails[50:60], columns[name])
        elif edit == "sort":
            leads = sheet(w, "Leads")
            leads.rows[1:] = sorted(leads.rows[1:], key=lambda r: str(r[0])[::-1])
        elif edit == "form rows":
            form = sheet(w, FORM)
            form.rows += [[naive(w.now), emails[300].upper(), "Trail boots"],
                          [naive(w.now), emails[5], "Hats"],  # a second answer: the last wins
                          [naive(w.now), "not an address", "Boots"]]
        elif edit == "delete rows":
            del sheet(w, FORM).rows[3]
            del sheet(w, "Leads").rows[12]
        else:
            w.now += timedelta(days=9)  # days_since ticks; the two-week window closes on some
        out, _ = sync_twin(name, w, capsys)
        if edit == "form rows":
            assert "1 row of Form responses 1 has no valid e-mail address" in out
    incremental, full = worlds["incremental"], worlds["full"]
    assert incremental.leads() == full.leads()
    assert incremental.tags() == full.tags()
    emails = incremental.audience.emails
    why = {i: incremental.leads()[emails[i].lower()]["why"] for i in (0, 2, 5, 10, 20, 50, 300)}
    demo, recent = "Demo requested = yes +30", f"days_since({FORM}!Timestamp) <= 14 +25"
    expected = {  # the edit reached the leads it touched
        "tick": [(50, demo, True), (10, demo, False), (20, demo, True)],
        "sort": [(20, demo, True), (50, demo, False), (0, recent, True)],
        "form rows": [(300, f"{FORM}!count 1×5 +5", True), (5, f"{FORM}!count 2×5 +10", True),
                      (5, "contains boots", False)],
        "delete rows": [(2, f"{FORM}!count", False), (0, f"{FORM}!count 1×5 +5", True)],
        "days pass": [(0, recent, True), (10, recent, False)],
    }[edit]
    for index, text, present in expected:
        assert (text in why[index]) is present, (index, why[index])


def test_formula_errors_read_as_blank_and_are_counted(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    ana = world.audience.emails[0]
    column = setup(world, capsys, [[naive(NOW), ana, Formula("=NA()")],
                                   [Formula("=#REF!+1"), world.audience.emails[1], "Boots"]])
    tick(world, [ana], column, Formula("=VLOOKUP(A2, CRM!A:B, 2, FALSE)"))
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert "2 cells of Form responses 1 hold a formula error (#N/A, #REF!…)" in out
    assert "1 cell of Leads holds a formula error" in out
    assert "hold a formula error" in world.runs()[-1][11]
    assert "Demo requested" not in world.leads()[ana.lower()]["why"]


@pytest.mark.parametrize(("field", "expected"), [
    ("Demo requestd", 'Weights!A2: no column "Demo requestd" in Leads '
                      '(did you mean "Demo requested"?)'),
    (f"{FORM}!Timestam", f'Weights!A2: no column "Timestam" in {FORM} '
                         '(did you mean "Timestamp"?)'),
])
def test_an_unknown_team_column_stops_the_run_naming_the_cell(tmp_path, monkeypatch, capsys,
                                                             field, expected):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    add_form(world, [])
    add_team_column(world)
    world.set_weights([[field, "is not empty", "", 5]])
    code, out, err = world.run(capsys, "sync")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not world.leads()


def test_a_source_tab_without_an_email_column_or_missing_is_named(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES.replace(
        f'"{FORM}"', f'"{FORM}", "CRM export"'))
    world.run(capsys, "init")
    add_form(world, [[1, "x"]], header=("Timestamp", "Name"))
    code, _, err = world.run(capsys, "sync")
    assert code == 2 and "Traceback" not in err
    assert f'{FORM}!1: no column holds the e-mail address' in err  # both problems at once
    assert '[sources] tabs lists "CRM export", but the spreadsheet has no tab' in err
    assert not world.leads()
    world.box.sheets.add_tab(SHEET_ID, "CRM Export", [["E-mail", "Stage"]])  # any case
    add_form(world, [], header=("Timestamp", "Correo"))
    code, out, err = world.run(capsys, "check")
    assert code == 0, out + err


def test_a_spanish_forms_tab_works_as_google_writes_it(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    ana = world.audience.emails[0]
    add_form(world, [[naive(NOW - timedelta(days=3)), ana, "Sí"]],
             header=("Marca temporal", "Dirección de correo electrónico", "¿Quiere una demo?"))
    world.set_weights([[f"days_since({FORM}!Marca temporal)", "<", 7, 20],
                       [f"{FORM}!¿Quiere una demo?", "=", "sí", 15]])
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert world.leads()[ana.lower()]["score"] == 35


def test_check_lists_the_team_data_the_rules_use(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    add_form(world, [])
    add_team_column(world)
    world.set_weights(RULES)
    code, out, err = world.run(capsys, "check")
    assert code == 0, out + err
    assert (f'✓ your own data the rules use: Leads: "Demo requested"; {FORM}: "Timestamp", '
            'row count, "Which product?"') in out
    assert "no rule uses it" not in out
    world.set_weights(RULES[:1])  # only the Leads column: the form tab is listed for nothing
    code, out, err = world.run(capsys, "check")
    assert code == 0, out + err
    assert f'Note: [sources] tabs lists "{FORM}", but no rule uses it yet' in out



def test_form_timestamps_are_read_in_the_spreadsheet_s_time_zone(tmp_path, monkeypatch, capsys):
    """Google writes a form's Timestamp as wall-clock time in the spreadsheet's zone: an
    answer 13 days and 21 hours ago in Mexico City (UTC-6) is 13 whole days old, although
    the same cell read as UTC would look 14 days and 3 hours old."""
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    world.box.sheets.spreadsheets[SHEET_ID].time_zone = "America/Mexico_City"
    ana = world.audience.emails[0]
    local = NOW - timedelta(days=13, hours=21) - timedelta(hours=6)  # UTC-6 wall clock
    add_form(world, [[naive(local), ana, "Boots"]])
    world.set_weights([[f"days_since({FORM}!Timestamp)", ">=", 14, 7],
                       [f"days_since({FORM}!Timestamp)", ">=", 13, 3]])
    code, _, err = world.run(capsys, "sync")
    assert code == 0, err
    why = world.leads()[ana.lower()]["why"]
    assert f"days_since({FORM}!Timestamp) >= 13 +3" in why
    assert f"days_since({FORM}!Timestamp) >= 14 +7" not in why


def test_a_team_header_two_columns_carry_is_named_in_the_run_s_message(tmp_path, monkeypatch,
                                                                       capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + SOURCES)
    world.run(capsys, "init")
    first = setup(world, capsys, form_rows(world, 0, 5))
    add_team_column(world)  # a second "Demo requested", to its right
    tick(world, world.audience.emails[:3], first)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert 'Leads has more than one column named "Demo requested"; the rules read the first ' \
           f"one, Leads!{col_letters(first)}1." in out
    assert "Demo requested = yes +30" in world.leads()[world.audience.emails[0].lower()]["why"]
