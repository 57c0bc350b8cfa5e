"""Config loading: every problem reported at once, naming the key and the fix; no secret shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from syncbot.config import Secret, load_config, parse_config, resolve_path
from syncbot.errors import EXIT_INVALID, ConfigError
from syncbot.sandbox.google_auth import GoogleAuthEmulator

KEY = "0123456789abcdef0123456789abcdef-us21"
MINIMAL = '[mailchimp]\nlist_id = "a1b2c3d4e5"\n[sheets]\nspreadsheet_id = "1AbCdEfGhIjKlMnOp"\n'


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(GoogleAuthEmulator().service_account()))  # a real, readable key
    return path


@pytest.fixture
def env(key_file: Path) -> dict[str, str]:
    return {"MAILCHIMP_API_KEY": KEY, "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncbot.toml"
    path.write_text(text, "utf-8")
    return path


def problems_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None,
                require_secrets: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as failed:
        load_config(write(tmp_path, text), environ=environ or {}, require_secrets=require_secrets)
    assert failed.value.exit_code == EXIT_INVALID
    return failed.value.problems


def test_minimal_config_gets_the_documented_defaults(tmp_path, env):
    config = load_config(write(tmp_path, MINIMAL), environ=env)
    assert config.mailchimp.lookback_days == 90
    assert config.mailchimp.tag_statuses == ("subscribed",)
    assert config.mailchimp.max_connections == 5
    assert config.sheets.leads_tab is None and config.sheets.runs_tab is None  # the sheet's
    assert config.sheets.language is None  # recognised from the sheet
    assert (config.scoring.half_life_days, config.scoring.timezone) == (30.0, "UTC")
    assert config.schedule.cron == "0 */6 * * *" and config.schedule.interval_minutes is None
    assert config.safety.max_removal_fraction == 0.25
    assert config.state.path == tmp_path / ".syncbot/state.db"  # next to the config file
    assert config.secrets.mailchimp_data_center == "us21"


@pytest.mark.parametrize("name", ["config.example.toml", "config.example.es.toml"])
def test_the_example_config_is_valid_and_documents_every_key(env, name):
    from syncbot.config import SCHEMA

    example = Path(__file__).resolve().parents[1] / "syncbot" / name
    text = example.read_text("utf-8")
    load_config(example, environ=env)
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert key in text, f"{name} does not mention [{section}] {key}"


def test_the_spanish_example_sets_what_the_english_one_sets(env):
    """The two examples differ in their comments only."""
    folder = Path(__file__).resolve().parents[1] / "syncbot"

    def settings(name: str) -> list[str]:
        lines = (folder / name).read_text("utf-8").splitlines()
        return [re.sub(r"\s*#.*", "", line).strip() for line in lines
                if line.strip() and not line.lstrip().startswith("#")]
    assert settings("config.example.es.toml") == settings("config.example.toml")


def test_write_config_writes_the_example_in_the_users_language(tmp_path, monkeypatch):
    from syncbot.config import write_example

    monkeypatch.setenv("SYNCBOT_LANG", "es")
    write_example(tmp_path / "es.toml")
    assert "Rellena los dos identificadores" in (tmp_path / "es.toml").read_text("utf-8")
    monkeypatch.setenv("SYNCBOT_LANG", "en")
    write_example(tmp_path / "en.toml")
    assert "Fill in the two required ids" in (tmp_path / "en.toml").read_text("utf-8")


def test_missing_file_says_how_to_create_one_and_what_else_is_missing(tmp_path):
    with pytest.raises(ConfigError) as failed:
        load_config(tmp_path / "nope.toml", environ={})
    assert "no such file" in str(failed.value)
    assert "syncbot init --write-config" in str(failed.value)
    assert "MAILCHIMP_API_KEY is not set" in str(failed.value)
    assert "GOOGLE_APPLICATION_CREDENTIALS is not set" in str(failed.value)


def test_bad_toml_names_the_line(tmp_path):
    [problem] = problems_of(tmp_path, MINIMAL + "lookback_days = \n")
    assert "not valid TOML" in problem and "line 5" in problem


def test_missing_required_keys_are_named_with_where_to_find_them(tmp_path):
    problems = problems_of(tmp_path, "[mailchimp]\n[sheets]\n")
    assert problems[0].startswith("[mailchimp] list_id is missing: the id of your Mailchimp audience")
    assert problems[1].startswith("[sheets] spreadsheet_id is missing")


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_of(tmp_path, """
[mailchimp]
list_id = 12
lookback_days = 400
tag_statuses = ["subscribed", "vip"]
max_conections = 3
[sheets]
spreadsheet_id = "1AbCdEfGhIjKlMnOp"
spreadsheet_url = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit"
weights_tab = "leads"
[scoring]
half_life_days = "30"
timezone = "Europe/Madird"
[schedule]
cron = "0 */6 * *"
interval_minutes = 60
[safety]
max_removal_fraction = 1.5
[sate]
path = "x"
""")
    expected = [
        '[mailchimp] list_id must be text in quotes (got 12).',
        "[mailchimp] lookback_days must be 7..365 (got 400).",
        '[mailchimp] tag_statuses has "vip", which is not one of: subscribed, unsubscribed, '
        "cleaned, pending, transactional, archived.",
        '[mailchimp] max_conections is not a key syncbot knows (did you mean "max_connections"?).',
        '[scoring] half_life_days must be a number (got "30").',
        '[scoring] timezone "Europe/Madird" is not a time zone name (did you mean "Europe/Madrid"?).',
        '[schedule] cron "0 */6 * *" is not a 5-field cron expression',
        "[safety] max_removal_fraction must be 0..1 (got 1.5).",
        '[sate] is not a section syncbot knows (did you mean "state"?).',
        "[sheets] give either spreadsheet_id or spreadsheet_url, not both.",
        '[sheets] leads_tab and weights_tab both name the tab "leads"',
        "[schedule] give either cron or interval_minutes, not both.",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_booleans_are_not_numbers(tmp_path):
    problems = problems_of(tmp_path, MINIMAL.replace('"a1b2c3d4e5"', '"a1b2c3d4e5"\nlookback_days = true'))
    assert problems == ["[mailchimp] lookback_days must be a whole number (got true)."]


def test_spreadsheet_url_gives_the_id(tmp_path, env):
    text = MINIMAL.replace('spreadsheet_id = "1AbCdEfGhIjKlMnOp"',
                           'spreadsheet_url = "https://docs.google.com/spreadsheets/d/1XyZ_-abcdefghij/edit#gid=0"')
    assert load_config(write(tmp_path, text), environ=env).sheets.spreadsheet_id == "1XyZ_-abcdefghij"
    bad = MINIMAL.replace('spreadsheet_id = "1AbCdEfGhIjKlMnOp"',
                          'spreadsheet_url = "https://example.com/sheet"')
    assert problems_of(tmp_path, bad)[0].startswith("[sheets] spreadsheet_url does not look like")


def test_interval_schedule(tmp_path, env):
    config = load_config(write(tmp_path, MINIMAL + "[schedule]\ninterval_minutes = 30\n"), environ=env)
    assert (config.schedule.cron, config.schedule.interval_minutes) == (None, 30)


def test_missing_secrets_say_what_to_export(tmp_path):
    problems = problems_of(tmp_path, MINIMAL, environ={}, require_secrets=True)
    assert problems[0].startswith("MAILCHIMP_API_KEY is not set: export MAILCHIMP_API_KEY=")
    assert problems[1].startswith("GOOGLE_APPLICATION_CREDENTIALS is not set: export ")


def test_bad_secrets_are_described_but_never_shown(tmp_path, key_file):
    secret = "deadbeefdeadbeefdeadbeefdeadbeef"  # no -usNN suffix
    broken_file = tmp_path / "broken.json"
    broken_file.write_text('{"type": "authorized_user"}')
    problems = problems_of(tmp_path, MINIMAL, require_secrets=True, environ={
        "MAILCHIMP_API_KEY": secret, "GOOGLE_APPLICATION_CREDENTIALS": str(broken_file)})
    assert "must end in a data-centre suffix such as -us21" in problems[0]
    assert 'not a service-account key file (its "type" is not "service_account")' in problems[1]
    assert all(secret not in p for p in problems)
    gone = problems_of(tmp_path, MINIMAL, require_secrets=True, environ={
        "MAILCHIMP_API_KEY": KEY, "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "gone.json")})
    missing = tmp_path / "gone.json"
    assert gone == [f"GOOGLE_APPLICATION_CREDENTIALS points to {missing}, which does not exist."]


def test_secret_never_prints(tmp_path, env):
    config = load_config(write(tmp_path, MINIMAL), environ=env)
    assert KEY not in repr(config) and KEY not in str(config.secrets)
    assert repr(Secret(KEY)) == "Secret('***')" and str(Secret(KEY)) == "Secret('***')"
    assert config.secrets.mailchimp_api_key.reveal() == KEY


def test_config_path_precedence():
    assert resolve_path("a.toml", {"SYNCBOT_CONFIG": "b.toml"}) == Path("a.toml")
    assert resolve_path(None, {"SYNCBOT_CONFIG": "b.toml"}) == Path("b.toml")
    assert resolve_path(None, {}) == Path("syncbot.toml")


def test_parse_config_without_a_file():
    config = parse_config({"mailchimp": {"list_id": "x"}, "sheets": {"spreadsheet_id": "1AbCdEfGhIjK"}})
    assert config.source is None and config.secrets is None


def test_source_tabs_are_listed_by_name(tmp_path, env):
    text = MINIMAL + '[sources]\ntabs = ["Form responses 1", " CRM export ", "Form responses 1"]\n'
    assert load_config(write(tmp_path, text), environ=env).sources.tabs == (
        "Form responses 1", "CRM export")
    assert load_config(write(tmp_path, MINIMAL), environ=env).sources.tabs == ()


@pytest.mark.parametrize(("tabs", "expected"), [
    ('"Form responses 1"', '[sources] tabs must be a list of tab names such as '
                           '["Form responses 1"] (got "Form responses 1").'),
    ('["Leads"]', '[sources] tabs: "Leads" is syncbot\'s own tab ([sheets] leads_tab); list only '
                  "tabs of your own, such as a form's responses."),
])
def test_bad_source_tabs_are_named(tmp_path, tabs, expected):
    assert problems_of(tmp_path, MINIMAL + f"[sources]\ntabs = {tabs}\n") == [expected]
