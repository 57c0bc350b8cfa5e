"""Handing leads to sales (docs/reference.md, "Handing leads to sales"): who is handed off,
the Hand-off rows, ``handoff_status`` and the way back, the chat message, and runs that
die at each step."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from syncbot.cli import main
from syncbot.core.handoff import (
    HandoffLead,
    HandoffRecord,
    announcement,
    decide,
    gained,
    latest_records,
)
from syncbot.core.values import to_serial
from syncbot.sandbox import Faults
from syncbot.state.store import StateStore
from tests.conftest import SAY, SHEET_ID

HOT = "lead:hot"
HANDOFF = '\n[handoff]\ntags = ["lead:hot"]\n[safety]\nmax_removal_fraction = 1\n'
HOUR = timedelta(hours=1)


def lead(key: str, score: float = 70, name: str = "", company: str = "") -> HandoffLead:
    return HandoffLead(key, key, name, company, score, HOT, f"clicks_30d 5×4 +{score:g}")


# ---- the core ---------------------------------------------------------------------------------

def test_a_lead_is_handed_off_when_it_gains_a_handoff_tag():
    assert gained([HOT], ["lead:warm"], {HOT})
    assert gained([HOT], None, {HOT})  # new to the history: it held nothing
    assert not gained([HOT], [HOT, "x"], {HOT})
    assert not gained(["lead:warm"], [], {HOT})


def test_the_first_run_is_a_baseline_and_a_row_after_the_last_run_means_done():
    a, b, c = lead("a@x.es"), lead("b@x.es"), lead("c@x.es")
    tags = {key: [HOT] for key in ("a@x.es", "b@x.es", "c@x.es")}
    previous = {"a@x.es": ["lead:warm"], "b@x.es": [HOT]}
    assert decide([a, b, c], tags, previous, {HOT}, None, []).baseline
    records = [HandoffRecord("c@x.es", 100.5, "new", 2), HandoffRecord("a@x.es", 99.0, "won", 3)]
    decision = decide([a, b, c], tags, previous, {HOT}, 100.0, records)
    assert (decision.new, decision.already, decision.baseline) == ([a], [c], False)


def test_the_latest_row_is_the_latest_date_then_the_bottom_most():
    rows = [HandoffRecord("a", 10.0, "won", 2), HandoffRecord("a", 12.0, "lost", 3),
            HandoffRecord("a", 12.0, "back to marketing", 5), HandoffRecord("a", None, "new", 9)]
    assert latest_records(rows)["a"].status == "back to marketing"


def test_the_message_names_the_best_ten_with_score_and_why_and_links_the_sheet():
    leads = [lead(f"l{i}@x.es", score=i) for i in range(12)]
    leads[11] = lead("ana@x.es", 11, name="Ana Ruiz", company="Acme")
    text = announcement(leads, "Hand-off", "https://sheet", SAY)
    lines = text.splitlines()
    assert lines[0] == "syncbot handed 12 leads to sales:"
    assert lines[1] == "• Ana Ruiz <ana@x.es> (Acme): score 11 — clicks_30d 5×4 +11"
    assert len(lines) == 1 + 10 + 2 and lines[-2] == "…and 2 more."
    assert lines[-1] == "The Hand-off tab: https://sheet" and "l0@x.es" not in text


def test_the_dashboard_counts_hand_offs_and_wins_per_week_monday_first():
    from datetime import UTC, datetime

    from syncbot.core.dashboard import handoff_weeks

    now = datetime(2026, 11, 26, 15, tzinfo=UTC)  # a Thursday
    rows = [HandoffRecord("a", to_serial(datetime(2026, 11, 23, 0, tzinfo=UTC)), "won", 2),
            HandoffRecord("b", to_serial(datetime(2026, 11, 22, 23, tzinfo=UTC)), "new", 3),
            HandoffRecord("c", to_serial(datetime(2026, 11, 16, 9, tzinfo=UTC)), "won", 4),
            HandoffRecord("d", None, "won", 5),
            HandoffRecord("e", to_serial(datetime(2025, 1, 1, tzinfo=UTC)), "won", 6)]
    weeks = handoff_weeks(rows, now, weeks=3)
    assert [(w.start.day, w.handed_off, w.won) for w in weeks] == [(9, 0, 0), (16, 2, 1),
                                                                   (23, 1, 1)]


# ---- through the command line, gspread and the sandbox ----------------------------------------

@pytest.fixture
def team(world, monkeypatch):
    """The world with ``[handoff]``, a chat webhook, and a score of 3 points per click."""
    world.config.write_text(world.config.read_text() + HANDOFF)
    world.set_weights([["clicks_30d", "per", "", 3, "", "engagement"]])
    world.env["SYNCBOT_HANDOFF_WEBHOOK"] = world.box.chat.url
    return world


def heat_up(world, count: int, start: int = 0) -> list[str]:
    """``count`` leads that are not hot click the pricing page 25 times after this run: hot
    next run."""
    leads = world.leads()
    cool = [email for email, row in leads.items()
            if HOT not in str(row["tags"]) and row["status"] == "subscribed"][start:start + count]
    for email in cool:
        for minute in range(25):
            world.box.mailchimp.add_event(world.audience.campaign_ids[0], email, "click",
                                          world.now + timedelta(minutes=minute + 1),
                                          "https://shop.example.com/pricing")
    return cool


def handoff_rows(world) -> list[list]:
    return world.box.sheets.values(SHEET_ID, "Hand-off")


def handed_off(world) -> list[str]:
    return [row[1].lower() for row in handoff_rows(world)[1:]]


def next_run(world, capsys, *argv: str) -> tuple[int, str, str]:
    world.now += 6 * HOUR
    world.box.mailchimp.clock = lambda: world.now
    return world.run(capsys, "sync", *argv)


def test_the_first_run_hands_off_no_one_then_new_hot_leads_get_a_row_each(team, capsys):
    code, out, _ = team.run(capsys, "sync")
    assert code == 0 and "first run with a history" in out
    assert handoff_rows(team) == [["handed_off_at", "email", "name", "company", "score",
                                   "tags", "why", "Owner", "Status", "Outcome"]]
    assert team.box.chat.messages == []
    hot = heat_up(team, 3)
    code, out, _ = next_run(team, capsys)
    assert code == 0 and "Handed 3 leads to sales" in out
    assert sorted(handed_off(team)) == sorted(hot)
    leads = team.leads()
    for row in handoff_rows(team)[1:]:
        at, email, _name, _company, score, tags, why, owner, status = row[:9]
        assert at == to_serial(team.now) and status == "new" and owner == ""
        assert (score, tags, why) == tuple(leads[email.lower()][c] for c in ("score", "tags", "why"))
        assert HOT in tags
    [message] = team.box.chat.messages
    assert message.startswith("syncbot handed 3 leads to sales:")
    assert all(email in message.lower() for email in hot)
    tab = team.box.sheets.spreadsheets[SHEET_ID].sheet("Hand-off").sheet_id
    assert message.endswith(f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid={tab}")
    assert next_run(team, capsys)[0] == 0  # still hot: nobody new
    assert sorted(handed_off(team)) == sorted(hot) and len(team.box.chat.messages) == 1


def test_a_lead_that_cools_and_heats_again_is_handed_off_again(team, capsys):
    team.run(capsys, "sync")
    [email] = heat_up(team, 1)
    next_run(team, capsys)
    team.now += timedelta(days=40)  # the clicks leave the 30-day window: it cools down
    assert next_run(team, capsys)[0] == 0
    assert HOT not in str(team.leads()[email]["tags"])
    for minute in range(25):
        team.box.mailchimp.add_event(team.audience.campaign_ids[0], email, "click",
                                     team.now + timedelta(minutes=minute), "https://x/pricing")
    next_run(team, capsys)
    assert handed_off(team).count(email) == 2


def sent_back(team, capsys, status: str) -> str:
    """A nurture rule before lead:hot; a lead turns hot, is handed off, and sales sets its
    row's Status to ``status``. Returns the lead's address."""
    segments = team.box.sheets.spreadsheets[SHEET_ID].sheet("Segments")
    segments.rows.insert(1, ["lead:nurture", "handoff_status", "=", "back to marketing", "tier",
                             "Sales sent it back"])
    team.run(capsys, "sync")
    [email] = heat_up(team, 1)
    next_run(team, capsys)
    team.box.sheets.spreadsheets[SHEET_ID].sheet("Hand-off").rows[1][8] = status
    return email


def test_sales_sends_a_lead_back_and_segments_route_it_to_nurture(team, capsys):
    email = sent_back(team, capsys, "Back to marketing")  # sales' dropdown, any case
    assert next_run(team, capsys)[0] == 0
    lead_row = team.leads()[email]
    assert lead_row["handoff_status"] == "back to marketing"
    assert "lead:nurture" in lead_row["tags"] and HOT not in lead_row["tags"]
    assert email in team.tags()["lead:nurture"] and email not in team.tags()[HOT]


def test_dry_run_and_plan_list_who_would_go_and_write_nothing(team, capsys):
    team.run(capsys, "sync")
    hot = heat_up(team, 2)
    team.now += 6 * HOUR
    writes = team.writes()
    for command in (("sync", "--dry-run"), ("plan",)):
        code, out, _ = team.run(capsys, *command)
        assert code == 0 and "Would be handed to sales (2):" in out
        assert all(email in out.lower() for email in hot)
    assert team.writes() == writes and handed_off(team) == [] and team.box.chat.messages == []


@pytest.mark.parametrize("step", ["append", "announce", "history", "commit"])
def test_a_run_that_dies_at_any_step_hands_off_and_announces_each_lead_once(team, capsys,
                                                                           monkeypatch, step):
    """Dying before the rows are written: the next run writes them; after: it does not
    write them again; before the message is sent: the next run sends it."""
    import syncbot.sheets.spreadsheet as spreadsheet_module
    import syncbot.webhook as webhook_module

    class Died(BaseException):
        pass

    def die(*args, **kwargs):
        raise Died(step)

    team.run(capsys, "sync")
    hot = heat_up(team, 3)
    target = {"append": (spreadsheet_module, "append_handoffs"),
              "announce": (webhook_module.Webhook, "announce"),
              "history": (StateStore, "record_history"),
              "commit": (StateStore, "commit_run")}[step]
    with monkeypatch.context() as patch:
        patch.setattr(*target, die)
        with pytest.raises(Died):
            team.activate()
            team.now += 6 * HOUR
            team.box.mailchimp.clock = lambda: team.now
            main(["sync", "--config", str(team.config)])
    capsys.readouterr()
    assert next_run(team, capsys)[0] == 0
    assert next_run(team, capsys)[0] == 0
    assert sorted(handed_off(team)) == sorted(hot)
    announced = [email for message in team.box.chat.messages for email in hot
                 if email in message.lower()]
    assert sorted(announced) == sorted(hot)


def test_a_chat_that_fails_is_reported_never_repeated_and_never_named(team, capsys, caplog):
    team.run(capsys, "sync")
    heat_up(team, 2)
    team.box.chat_host.faults = Faults(rate=1.0, kinds=("500",))
    with caplog.at_level(logging.DEBUG):
        code, out, err = next_run(team, capsys, "-vv")
    assert code == 0 and len(handed_off(team)) == 2
    assert "hand-off message could not be sent to the chat (HTTP 500, 4×)" in out
    message = team.runs()[-1][11]
    assert "could not be sent" in message and team.runs()[-1][3] == "ok"
    secret = team.box.chat.path
    assert secret not in out + err + caplog.text + message
    team.box.chat_host.faults = Faults()
    next_run(team, capsys)
    assert team.box.chat.messages == [] and len(handed_off(team)) == 2


def test_sync_makes_the_hand_off_tab_when_it_is_missing(team, capsys):
    book = team.box.sheets.spreadsheets[SHEET_ID]
    book.sheets = [tab for tab in book.sheets if tab.title != "Hand-off"]
    assert team.run(capsys, "sync")[0] == 0
    assert handoff_rows(team)[0][:2] == ["handed_off_at", "email"]


def test_a_handoff_tag_no_segment_gives_stops_the_run_naming_the_tags(team, capsys):
    team.config.write_text(team.config.read_text().replace('"lead:hot"', '"lead:caliente"'))
    code, _, err = team.run(capsys, "sync")
    assert code == 2 and '"lead:caliente"' in err and "lead:hot, lead:warm" in err


def test_the_webhook_must_be_https_and_handoff_needs_tags(world, capsys):
    world.config.write_text(world.config.read_text() + "\n[handoff]\n")
    code, out, _ = world.run(capsys, "check")
    assert code == 2 and "[handoff] tags is missing" in out
    world.config.write_text(world.config.read_text() + 'tags = ["lead:hot"]\n')
    world.env["SYNCBOT_HANDOFF_WEBHOOK"] = "http://chat.example/hooks/abc123"
    code, out, _ = world.run(capsys, "check")
    assert code == 2 and "must be an https:// address" in out and "abc123" not in out


def test_why_lists_the_lead_s_hand_offs_and_scores_with_its_status(team, capsys):
    email = sent_back(team, capsys, "back to marketing")
    code, out, _ = team.run(capsys, "why", email)
    assert code == 0 and "Hand-offs to sales (Hand-off, newest first):" in out
    assert f"  {(team.now).strftime('%Y-%m-%d %H:%M')}: row 2, Status back to marketing" in out
    assert "  handoff_status: back to marketing" in out and "Tags: lead:nurture" in out
    other = next(key for key in team.leads() if key != email)
    assert "Hand-offs to sales: none (Hand-off has no row for this lead)." in \
        team.run(capsys, "why", other)[1]


# ---- in a Spanish sheet -----------------------------------------------------------------------

def test_a_spanish_sheet_hands_off_into_traspasos_and_reads_its_estado(tmp_path, monkeypatch,
                                                                      capsys):
    from tests.test_e2e import World

    world = World(tmp_path, monkeypatch, locale="es_ES")
    world.run(capsys, "init")
    world.config.write_text(world.config.read_text()
                            + '\n[handoff]\ntags = ["lead:caliente"]\n')
    book = world.box.sheets.spreadsheets[SHEET_ID]
    book.sheet("Pesos").rows[1:] = [["clics_30d", "por", "", 3, "", "compromiso"]]
    book.sheet("Segmentos").rows.insert(1, ["lead:nutrir", "estado_traspaso", "=",
                                            "devuelto a marketing", "nivel", ""])
    assert book.sheet("Traspasos").rows[0] == [
        "traspasado", "email", "nombre", "empresa", "puntuacion", "etiquetas", "motivo",
        "Responsable", "Estado", "Resultado"]
    world.run(capsys, "sync")
    leads = world.box.sheets.values(SHEET_ID, "Leads")
    cool = [row[0] for row in leads[1:] if row[1] == "suscrito"
            and "lead:caliente" not in str(row[leads[0].index("etiquetas")])][:1]
    for minute in range(25):
        world.box.mailchimp.add_event(world.audience.campaign_ids[0], cool[0], "click",
                                      world.now + timedelta(minutes=minute + 1), "https://x/p")
    world.now += 6 * HOUR
    world.box.mailchimp.clock = lambda: world.now
    assert world.run(capsys, "sync")[0] == 0
    [row] = world.box.sheets.values(SHEET_ID, "Traspasos")[1:]
    assert row[1] == cool[0] and row[8] == "nuevo"
    book.sheet("Traspasos").rows[1][8] = "Devuelto a marketing"
    world.now += 6 * HOUR
    assert world.run(capsys, "sync")[0] == 0
    leads = world.box.sheets.values(SHEET_ID, "Leads")
    lead = dict(zip(leads[0], next(r for r in leads[1:] if r[0] == cool[0]), strict=False))
    assert lead["estado_traspaso"] == "devuelto a marketing" and lead["etiquetas"] == "lead:nutrir"


def test_rows_go_under_the_last_one_by_header_and_a_full_grid_grows_with_its_formats(
        team, capsys):
    """Sales moved Status to the front, wrote a note under the header and the grid is full:
    the new rows go below, each value under its header, and the grown rows keep the date
    format and the Status dropdown."""
    tab = team.box.sheets.spreadsheets[SHEET_ID].sheet("Hand-off")
    header = tab.rows[0]
    tab.rows = [[header[8], *header[:8], header[9]], ["", "", "", "", "", "", "", "", "", "Q1"]]
    tab.row_count = 2
    team.run(capsys, "sync")
    hot = heat_up(team, 2)
    next_run(team, capsys)
    rows = handoff_rows(team)
    assert rows[1][-1] == "Q1" and [row[0] for row in rows[2:]] == ["new", "new"]
    assert sorted(row[2].lower() for row in rows[2:]) == sorted(hot)
    assert tab.row_count >= 4
    assert tab.number_format(3, 1) == {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
    assert any(rule["range"]["startRowIndex"] <= 3 < rule["range"]["endRowIndex"]
               and rule["range"]["startColumnIndex"] == 0 for rule in tab.validations)


def test_check_says_where_hand_offs_go_and_whether_the_chat_hears_of_them(team, capsys):
    code, out, _ = team.run(capsys, "check")
    assert code == 0 and "✓ hand-off to sales: a lead that gains lead:hot goes to the " \
        "Hand-off tab (0 rows so far); the team's chat hears of it" in out
    assert team.box.chat.path not in out
    del team.env["SYNCBOT_HANDOFF_WEBHOOK"]
    team.monkeypatch.delenv("SYNCBOT_HANDOFF_WEBHOOK")
    assert "no chat message (SYNCBOT_HANDOFF_WEBHOOK is not set)" in team.run(capsys, "check")[1]


def test_urllib3_s_debug_line_for_the_webhook_hides_its_path(caplog):
    from syncbot.config import Secret
    from syncbot.webhook import Webhook

    hook = Webhook(Secret("https://hooks.example.com/services/T0/B0/s3cr3t?x=1"))
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s', "https", "hooks.example.com", 443, "POST",
            "/services/T0/B0/s3cr3t?x=1", "HTTP/1.1", 200, 2)
    hook.close()
    assert "s3cr3t" not in caplog.text and '"POST /*** HTTP/1.1" 200' in caplog.text
