"""`syncbot demo`: the whole pipeline against the built-in sandbox, then a workbook to open.

No credentials, no network: a generated audience and an empty emulated
spreadsheet are served to the same client code a real sync uses (the
official Mailchimp client and gspread, through ``run_once``). The team's
part is played too: after ``init`` it adds a Google Forms responses tab, a
"Demo requested" checkbox column and rules that score them
(``sheets/templates/<lang>/team_demo.toml``). Two syncs run: a full one, then —
after new opens and clicks, a few ticked boxes and new form answers — an
incremental one.
"""

from __future__ import annotations

import json
import random
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from syncbot.config import WEBHOOK_ENV, Config, parse_config
from syncbot.core.values import to_serial
from syncbot.errors import SyncbotError, UsageError
from syncbot.explain import explain_lead
from syncbot.locales import t
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.pipeline import RunHooks, run_once
from syncbot.progress import Meters, Silent
from syncbot.report import RunReport
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import (
    PRODUCTS,
    URLS,
    generate_audience,
    generate_orders,
)
from syncbot.sandbox.xlsx import save_xlsx
from syncbot.sheets.a1 import col_letters, quote_title
from syncbot.sheets.client import Workbook, next_sheet_id
from syncbot.sheets.language import sheet_language
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.sheets.tabs import DATE_FORMAT, format_rows, load_templates
from syncbot.webhook import Webhook

SPREADSHEET_ID = "1SyncbotDemoSpreadsheet"
FORM_ROWS = 1000  # a new Google Forms responses tab's rows
LIST_ID = "demo0list1"
CONNECTIONS = 2  # the sandbox answers at once, so more buy nothing; and every thread's heap
#                  keeps what it freed (a 100,000-member demo peaked 13 MB higher with 5)


@dataclass
class DemoResult:
    first: RunReport
    second: RunReport
    output: Path
    members: int
    tabs: list[str]  # syncbot's tabs, as init named them
    form_tab: str  # the team's form tab
    team_column: str  # the team's checkbox column in Leads
    why: list[str]  # `syncbot why` of the top lead, line by line
    chat: list[str]  # the messages the team's chat got (the hand-offs)
    buyers: list[Buyer]  # the best buyers, as their Leads rows show them


class Buyer(NamedTuple):
    """A lead's purchase fields as the Leads tab shows them."""

    email: str
    orders_90d: Any
    revenue_365d: Any
    days_since_last_order: Any
    products: Any


LOCALES = {"en": "en_US", "es": "es_ES"}  # the demo spreadsheet's locale, per language


def _config(folder: Path, box: Sandbox, language: str) -> Config:
    """A new spreadsheet in ``language``'s locale, and a config that does not say the
    language: ``init`` picks it from the locale, as for a real team."""
    account = box.google.service_account()
    key_file = folder / "service-account.json"
    key_file.write_text(json.dumps(account), "utf-8")
    box.sheets.create(SPREADSHEET_ID, title="syncbot demo", locale=LOCALES[language],
                      editors=(account["client_email"],))
    hot = load_templates(language)["Segments"].rows[1][0]  # the top tier goes to sales
    raw = {"mailchimp": {"list_id": LIST_ID, "max_connections": CONNECTIONS},
           "sheets": {"spreadsheet_id": SPREADSHEET_ID},
           "state": {"path": str(folder / "state.db")},
           "sources": {"tabs": [team_template(language)["form_tab"]]},
           "handoff": {"tags": [hot]}, "orders": {"lookback_days": 365}}
    return parse_config(raw, source=folder / "syncbot.toml", require_secrets=True, environ={
        "MAILCHIMP_API_KEY": box.mailchimp.api_key,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file), WEBHOOK_ENV: box.chat.url})


def check_output(output: Path) -> None:
    """Refuse, before any work, an output the workbook could not be saved to: a name that
    does not end in .xlsx (the file would not open as what its name says) or a place that
    cannot be written."""
    if output.suffix.lower() != ".xlsx":
        raise UsageError(t("demo.not_xlsx", path=output, suggestion=output.with_suffix(".xlsx")))
    existed = output.exists()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("ab"):
            pass
    except OSError as exc:
        raise UsageError(t("cli.cannot_write", option="--output", path=output,
                           reason=exc.strerror or exc)) from None
    if not existed:
        output.unlink()


def team_template(language: str = "en") -> dict[str, Any]:
    """The demo team's tab, column and rules (sheet content, one file per language)."""
    root = resources.files("syncbot.sheets").joinpath("templates", language, "team_demo.toml")
    return tomllib.loads(root.read_text("utf-8"))


class DemoTeam:
    """The marketing team of the demo, editing the spreadsheet through the same client as
    syncbot (a person would use the browser): its own rules, a form's responses, a checkbox
    column it ticks as sales calls come in."""

    def __init__(self, workbook: Workbook, names: dict[str, str], emails: list[str],
                 seed: int, language: str) -> None:
        """``names``: syncbot's tabs by kind, as ``init`` named them."""
        self.workbook, self.names, self.emails = workbook, names, emails
        self.template = team_template(language)
        self.rng = random.Random(seed)
        self.form_rows = 1  # the header

    def set_up(self, now: datetime) -> None:
        """After ``init``: a form tab with a month of answers, a checkbox column, the rules."""
        names = self.names
        weights = self.workbook.read([quote_title(names["Weights"])])[0]
        tabs = self.workbook.tabs()
        leads = tabs[names["Leads"]]
        form_id = next_sheet_id(tabs)
        title, header = self.template["form_tab"], self.template["form_header"]
        self.workbook.change_structure([
            {"addSheet": {"properties": {"sheetId": form_id, "title": title, "gridProperties": {
                "rowCount": FORM_ROWS, "columnCount": len(header), "frozenRowCount": 1}}}},
            format_rows(form_id, 0, DATE_FORMAT, 1, FORM_ROWS),
            {"updateDimensionProperties": {"range": {"sheetId": form_id, "dimension": "COLUMNS",
                                                     "startIndex": 0, "endIndex": len(header)},
                                           "properties": {"pixelSize": 220},
                                           "fields": "pixelSize"}},
            {"appendDimension": {"sheetId": leads.sheet_id, "dimension": "COLUMNS",
                                 "length": 1}},
            {"setDataValidation": {"range": {"sheetId": leads.sheet_id, "startRowIndex": 1,
                                             "startColumnIndex": leads.columns,
                                             "endColumnIndex": leads.columns + 1},
                                   "rule": {"condition": {"type": "BOOLEAN"}}}}])
        self.team_column = leads.columns
        self.form_id, self.form_capacity = form_id, FORM_ROWS
        self.workbook.write([
            {"range": f"{quote_title(title)}!A1", "values": [header]},
            {"range": f"{quote_title(leads.title)}!{col_letters(leads.columns)}1",
             "values": [[self.template["team_column"]]]},
            {"range": f"{quote_title(names['Weights'])}!A{len(weights) + 1}",
             "values": self.template["weights"]}])
        self.answer(now, count=max(3, len(self.emails) // 25), days=30)

    def answer(self, now: datetime, *, count: int, days: float) -> None:
        """``count`` form answers over the last ``days`` days, oldest first, and one without
        a usable address."""
        times = sorted(now - timedelta(days=self.rng.uniform(0, days)) for _ in range(count))
        rows: list[list[Any]] = [[to_serial(at), self.rng.choice(self.emails),
                                  self.rng.choice(self.template["answers"])] for at in times]
        rows.insert(len(rows) // 2, [to_serial(times[len(times) // 2]),
                                     self.template["invalid_email"], ""])
        title = quote_title(self.template["form_tab"])
        needed = self.form_rows + len(rows)
        if needed > self.form_capacity:  # as Forms does: the tab grows with the answers
            more = needed - self.form_capacity
            self.workbook.change_structure([
                {"appendDimension": {"sheetId": self.form_id, "dimension": "ROWS",
                                     "length": more}},
                format_rows(self.form_id, 0, DATE_FORMAT, self.form_capacity, needed)])
            self.form_capacity = needed
        self.workbook.write([{"range": f"{title}!A{self.form_rows + 1}", "values": rows}])
        self.form_rows += len(rows)

    def tick(self, addresses: list[str]) -> None:
        """Sales ticks "Demo requested" for these leads (found by e-mail, as a person would:
        the rows are wherever the sheet has them)."""
        leads = self.workbook.tabs()[self.names["Leads"]]
        [emails] = self.workbook.read([f"{quote_title(leads.title)}!A2:A"])
        wanted = {e.lower() for e in addresses}
        letter = col_letters(self.team_column)
        self.workbook.write([{"range": f"{quote_title(leads.title)}!{letter}{row}",
                              "values": [[True]]}
                             for row, cells in enumerate(emails, start=2)
                             if cells and str(cells[0]).lower() in wanted])


def _switch_on_examples(workbook: Workbook, names: dict[str, str], template: dict[str, Any]
                        ) -> None:
    """The sandbox audience has a JOBTITLE merge field: the Weights template's example rule
    (commented out with "#") is switched on; Interests gets the demo's topics."""
    [weights] = workbook.read([f"{quote_title(names['Weights'])}!A:A"])
    row = next(number for number, cells in enumerate(weights, start=1)
               if cells and str(cells[0]).startswith("# JOBTITLE"))
    workbook.write([{"range": f"{quote_title(names['Weights'])}!A{row}",
                     "values": [[str(weights[row - 1][0]).removeprefix("# ")]]},
                    {"range": f"{quote_title(names['Interests'])}!A2",
                     "values": template["interests"]}])


def run_demo(output: Path, *, members: int = 3000, campaigns: int = 8, seed: int = 7,
             meters: Meters | None = None, language: str = "en") -> DemoResult:
    """``language``: the spreadsheet's (its locale, so ``init`` builds it in that language)."""
    meters = meters or Silent()
    now = datetime.now(UTC).replace(microsecond=0)
    box = Sandbox()
    box.mailchimp.clock = lambda: now - timedelta(days=1)
    audience_data = generate_audience(box.mailchimp, list_id=LIST_ID, members=members,
                                      campaigns=campaigns, now=now, seed=seed)
    made = generate_orders(box.mailchimp, audience_data, now=now, orders=members, seed=seed)
    shop = ShopDay(made.store_ids[0], made.buyers, made.order_ids[-1])  # not every order's id
    del made  # (6 MB at 100,000 orders, held for the whole demo otherwise)
    with tempfile.TemporaryDirectory(prefix="syncbot-demo-") as tmp:
        config = _config(Path(tmp), box, language)
        assert config.secrets is not None
        adapter = box.session().get_adapter("https://")
        workbook = Workbook.from_key_file(SPREADSHEET_ID, config.secrets.google_credentials_path,
                                          adapter=adapter)
        audience = MailchimpAudience(config.secrets.mailchimp_api_key, LIST_ID,
                                     max_connections=config.mailchimp.max_connections,
                                     session=box.session())
        sheet = Spreadsheet(workbook, config.sheets, config.sources.tabs)
        assert config.handoff is not None and config.handoff.webhook is not None
        chat = Webhook(config.handoff.webhook, session=box.session())
        names = sheet.init().tabs
        team = DemoTeam(workbook, names, audience_data.emails, seed, language)
        _switch_on_examples(workbook, names, team.template)
        team.set_up(now)
        first = run_once(config, audience, sheet, now, hooks=RunHooks(meters=meters),
                         announcer=chat)

        later = now + timedelta(hours=6)
        box.mailchimp.clock = lambda: later
        rng = random.Random(seed)
        newest = audience_data.campaign_ids[0]
        for email in rng.sample(audience_data.emails, max(1, members // 50)):
            box.mailchimp.add_event(newest, email, "open", later - timedelta(minutes=30))
            box.mailchimp.add_event(newest, email, "click", later - timedelta(minutes=20),
                                    rng.choice(URLS))
        heating = _heating_up(box, first, rng)  # they read and click on and on, and ask for a
        for email in heating:  # demo: the second run hands them to sales
            for minute in range(0, 60, 5):
                box.mailchimp.add_event(newest, email, "open", later - timedelta(minutes=minute))
                box.mailchimp.add_event(newest, email, "click", later - timedelta(minutes=minute),
                                        URLS[minute % len(URLS)])
        _shop_between_runs(box, shop, later, rng)
        team.tick(rng.sample(audience_data.emails, max(1, members // 100)) + heating)
        team.answer(later, count=max(2, members // 100), days=0.25)
        second = run_once(config, audience, sheet, later,
                          hooks=RunHooks(meters=meters), announcer=chat)
        audience.close()
        chat.close()
        why: list[str] = []  # what `syncbot why` says of the top lead
        if second.top or first.top:
            explain_lead(config, (second.top or first.top)[0].email, why.append, later, sheet)
    buyers = top_buyers(box, names["Leads"], language)
    meters.stage(t("progress.writing_workbook", path=output))
    export_xlsx(box, SPREADSHEET_ID, output, meters)
    return DemoResult(first, second, output, members, list(names.values()),
                      team.template["form_tab"], team.template["team_column"], why,
                      list(box.chat.messages), buyers)


class ShopDay(NamedTuple):
    """What the shop does between the runs works on: a store, its buyers, an order."""

    store_id: str
    buyers: list[str]
    last_order: tuple[str, str]  # (store id, order id)


def _shop_between_runs(box: Sandbox, shop: ShopDay, later: datetime, rng: random.Random
                       ) -> None:
    """Between the runs the shop sells to a few buyers again, and refunds an order."""
    for number, email in enumerate(rng.sample(shop.buyers, min(5, len(shop.buyers)))):
        box.mailchimp.shop.add_order(shop.store_id, f"demo-{number}", email,
                                     later - timedelta(hours=2, minutes=number), 59.9,
                                     products=[PRODUCTS[number % len(PRODUCTS)]])
    store, order = shop.last_order
    box.mailchimp.shop.update_order(store, order, financial_status="refunded")


def top_buyers(box: Sandbox, leads_tab: str, language: str, count: int = 3) -> list[Buyer]:
    """The leads with the most revenue in the last 365 days, as their Leads row shows them
    (headed in the sheet's ``language``)."""
    tab = box.sheets.spreadsheets[SPREADSHEET_ID].sheet(leads_tab)
    rows = tab.rows if tab is not None else []
    header = {name: index for index, name in enumerate(rows[0] if rows else []) if name}
    columns = [header.get(sheet_language(language).title(name)) for name in Buyer._fields]
    if None in columns:
        return []

    def cell(row: list[Any], index: int | None) -> Any:
        return row[index] if index is not None and index < len(row) else ""
    found = [Buyer(*(cell(row, index) for index in columns)) for row in rows[1:]]
    return sorted((b for b in found if isinstance(b.revenue_365d, int | float)),
                  key=lambda b: -b.revenue_365d)[:count]


def _heating_up(box: Sandbox, first: RunReport, rng: random.Random) -> list[str]:
    """Three subscribed leads that were not among the top ones."""
    top = {lead.email.lower() for lead in first.top}
    members = box.mailchimp.audiences[LIST_ID].members.values()
    return rng.sample(sorted(member.email_address for member in members
                             if member.status == "subscribed"
                             and member.email_address.lower() not in top), 3)


def export_xlsx(box: Sandbox, spreadsheet_id: str, output: Path, meters: Meters) -> None:
    """The emulated spreadsheet as the workbook a person opens (``sandbox.xlsx``)."""
    spreadsheet = box.sheets.spreadsheets[spreadsheet_id]
    rows = meters.start(t("progress.meter_workbook"), sum(len(s.rows) for s in spreadsheet.sheets))
    try:
        save_xlsx(spreadsheet, output, row_written=rows.advance)
    except OSError as exc:
        raise SyncbotError(t("demo.save_failed", path=output, reason=exc.strerror or exc)) from None
