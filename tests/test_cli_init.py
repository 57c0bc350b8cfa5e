"""`syncbot init` through the command line, against the sandbox."""

from __future__ import annotations

import json

import pytest

from syncbot import wiring
from syncbot.cli import main
from syncbot.sandbox import Sandbox
from tests.conftest import SHEET_ID


@pytest.fixture
def setup(tmp_path, monkeypatch):
    box = Sandbox(sleep=lambda s: None)
    account = box.google.service_account()
    box.sheets.create(SHEET_ID, editors=(account["client_email"],))
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(account))
    config = tmp_path / "syncbot.toml"
    config.write_text(f'[mailchimp]\nlist_id = "a1b2c3d4e5"\n[sheets]\nspreadsheet_id = "{SHEET_ID}"\n')
    monkeypatch.setenv("MAILCHIMP_API_KEY", box.mailchimp.api_key)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    adapter = box.session().get_adapter("https://")
    monkeypatch.setattr(wiring, "transport", lambda: adapter)
    return box, config


def run(capsys, *argv):
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_init_creates_the_tabs_then_changes_nothing(setup, capsys):
    box, config = setup
    code, out, _ = run(capsys, "init", "--config", str(config))
    assert code == 0 and out.startswith(
        "Created the tabs in English: Dashboard, Leads, Weights, Segments, Interests, Runs, "
        "Hand-off.")
    writes = box.sheets_host.count("POST")
    code, out, _ = run(capsys, "--config", str(config), "init")
    assert (code, out.strip()) == (0, "All tabs exist already; nothing was changed.")
    assert box.sheets_host.count("POST") == writes


def test_init_explains_a_sheet_that_is_not_shared(setup, capsys):
    box, config = setup
    box.sheets.spreadsheets[SHEET_ID].editors.clear()
    code, _, err = run(capsys, "init", "--config", str(config))
    assert code == 1 and "not shared with the service account syncbot@" in err
    assert "Traceback" not in err and box.mailchimp.api_key not in err
