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

from syncbot.config import Config, parse_config
from syncbot.errors import SyncbotError, UsageError
from syncbot.locales import t
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.pipeline import RunHooks, run_once
from syncbot.progress import Meters, Silent
from syncbot.report import RunReport
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import URLS, generate_audience
from syncbot.sandbox.xlsx import save_xlsx
from syncbot.sheets.client import Workbook
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.sheets.tabs import tab_names

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
    meters = meters or Silent()
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
        sheet = Spreadsheet(workbook, config.sheets, config.sources.tabs)
        sheet.init()
        names = tab_names(config.sheets)
        # the sandbox audience has a JOBTITLE merge field: switch on the template's example rule
        workbook.write([{"range": f"'{names['Weights']}'!A9", "values": [["JOBTITLE"]]},
                        {"range": f"'{names['Interests']}'!A2:A3",
                         "values": [["Pricing"], ["Webinars"]]}])
        first = run_once(config, audience, sheet, now, hooks=RunHooks(meters=meters))

        later = now + timedelta(hours=6)
        box.mailchimp.clock = lambda: later
        rng = random.Random(seed)
        newest = audience_data.campaign_ids[0]
        for email in rng.sample(audience_data.emails, max(1, members // 50)):
            box.mailchimp.add_event(newest, email, "open", later - timedelta(minutes=30))
            box.mailchimp.add_event(newest, email, "click", later - timedelta(minutes=20),
                                    rng.choice(URLS))
        second = run_once(config, audience, sheet, later,
                          hooks=RunHooks(meters=meters))
        audience.close()
    meters.stage(t("progress.writing_workbook", path=output))
    export_xlsx(box, SPREADSHEET_ID, output, meters)
    return DemoResult(first, second, output, members)


def export_xlsx(box: Sandbox, spreadsheet_id: str, output: Path, meters: Meters) -> None:
    """The emulated spreadsheet as the workbook a person opens (``sandbox.xlsx``)."""
    spreadsheet = box.sheets.spreadsheets[spreadsheet_id]
    rows = meters.start(t("progress.meter_workbook"), sum(len(s.rows) for s in spreadsheet.sheets))
    try:
        save_xlsx(spreadsheet, output, row_written=rows.advance)
    except OSError as exc:
        raise SyncbotError(t("demo.save_failed", path=output, reason=exc.strerror or exc)) from None
