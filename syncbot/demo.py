"""`syncbot demo`: the whole pipeline against the built-in sandbox, then a workbook to open.

No credentials, no network: a generated audience and an empty emulated
spreadsheet are served to the same client code a real sync uses (the
official Mailchimp client and gspread, through ``run_once``). Two syncs run:
a full one, then — after some new opens and clicks — an incremental one.
"""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncbot.config import Config, parse_config
from syncbot.errors import SyncbotError, UsageError
from syncbot.locales import t
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.pipeline import RunHooks, run_once
from syncbot.progress import Meters, Silent
from syncbot.report import RunReport
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import URLS, generate_audience
from syncbot.sandbox.sheets import from_serial
from syncbot.sheets.client import Workbook
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.sheets.tabs import load_templates, tab_names

SPREADSHEET_ID = "1SyncbotDemoSpreadsheet"
LIST_ID = "demo0list1"


@dataclass
class DemoResult:
    first: RunReport
    second: RunReport
    output: Path
    members: int


def _config(folder: Path, box: Sandbox) -> Config:
    account = box.google.service_account()
    key_file = folder / "service-account.json"
    key_file.write_text(json.dumps(account), "utf-8")
    box.sheets.create(SPREADSHEET_ID, title="syncbot demo", editors=(account["client_email"],))
    raw = {"mailchimp": {"list_id": LIST_ID}, "sheets": {"spreadsheet_id": SPREADSHEET_ID},
           "state": {"path": str(folder / "state.db")}}
    return parse_config(raw, source=folder / "syncbot.toml", require_secrets=True, environ={
        "MAILCHIMP_API_KEY": box.mailchimp.api_key,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})


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


def run_demo(output: Path, *, members: int = 3000, campaigns: int = 8, seed: int = 7,
             meters: Meters | None = None) -> DemoResult:
    now = datetime.now(UTC).replace(microsecond=0)
    box = Sandbox()
    box.mailchimp.clock = lambda: now - timedelta(days=1)
    audience_data = generate_audience(box.mailchimp, list_id=LIST_ID, members=members,
                                      campaigns=campaigns, now=now, seed=seed)
    with tempfile.TemporaryDirectory(prefix="syncbot-demo-") as tmp:
        config = _config(Path(tmp), box)
        assert config.secrets is not None
        adapter = box.session().get_adapter("https://")
        workbook = Workbook.from_key_file(SPREADSHEET_ID, config.secrets.google_credentials_path,
                                          adapter=adapter)
        audience = MailchimpAudience(config.secrets.mailchimp_api_key, LIST_ID,
                                     session=box.session())
        sheet = Spreadsheet(workbook, config.sheets)
        sheet.init()
        names = tab_names(config.sheets)
        # the sandbox audience has a JOBTITLE merge field: switch on the template's example rule
        workbook.write([{"range": f"'{names['Weights']}'!A9", "values": [["JOBTITLE"]]},
                        {"range": f"'{names['Interests']}'!A2:A3",
                         "values": [["Pricing"], ["Webinars"]]}])
        first = run_once(config, audience, sheet, now, hooks=RunHooks(meters=meters or Silent()))

        later = now + timedelta(hours=6)
        box.mailchimp.clock = lambda: later
        rng = random.Random(seed)
        newest = audience_data.campaign_ids[0]
        for email in rng.sample(audience_data.emails, max(1, members // 50)):
            box.mailchimp.add_event(newest, email, "open", later - timedelta(minutes=30))
            box.mailchimp.add_event(newest, email, "click", later - timedelta(minutes=20),
                                    rng.choice(URLS))
        second = run_once(config, audience, sheet, later,
                          hooks=RunHooks(meters=meters or Silent()))
        audience.close()
    export_xlsx(box, SPREADSHEET_ID, output)
    return DemoResult(first, second, output, members)


SHOWN_AS_DATES = tuple(name for template in load_templates().values()
                       for name in template.format.get("date_columns", []))


def _cell(value: Any, column: str) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return from_serial(float(value)) if column in SHOWN_AS_DATES and is_number else value


def export_xlsx(box: Sandbox, spreadsheet_id: str, output: Path) -> None:
    """Every tab of the emulated spreadsheet as a sheet of an .xlsx workbook."""
    from openpyxl import Workbook as XlsxWorkbook
    from openpyxl.styles import Font

    book = XlsxWorkbook()
    book.remove(book.active)
    spreadsheet = box.sheets.spreadsheets[spreadsheet_id]
    for tab in sorted(spreadsheet.sheets, key=lambda s: s.index):
        values = box.sheets.values(spreadsheet_id, tab.title)
        sheet = book.create_sheet(tab.title[:31])
        header = [str(h) for h in values[0]] if values else []
        for row in values:
            sheet.append([_cell(v, header[i] if i < len(header) else "")
                          for i, v in enumerate(row)])
        for cell in sheet[1] if values else []:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for i, name in enumerate(header, start=1):
            if name in SHOWN_AS_DATES:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                    cell.number_format = "yyyy-mm-dd hh:mm"
    if not book.sheetnames:
        book.create_sheet("empty")
    try:
        book.save(output)
    except OSError as exc:
        raise SyncbotError(t("demo.save_failed", path=output, reason=exc.strerror or exc)) from None
