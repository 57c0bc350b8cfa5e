"""A newcomer's first hour, through the command line: each test here failed before its fix."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import requests

from syncbot import wiring
from syncbot.cli import main
from syncbot.config import load_config
from syncbot.retry import Unreachable, unreachable
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import generate_audience
from tests.conftest import NOW
from tests.test_e2e import World

PART = re.compile(r".* [+-]\d+(\.\d+)?$|^\+\d+ more$")


def test_every_why_says_something_and_every_part_ends_with_its_signed_points(tmp_path, monkeypatch,
                                                                             capsys):
    world = World(tmp_path, monkeypatch)
    assert world.run(capsys, "init")[0] == 0
    assert world.run(capsys, "sync")[0] == 0
    whys = [str(row["why"]) for row in world.leads().values()]
    assert all(whys)
    assert "no rule matched: 0" in whys
    for why in whys:
        if why != "no rule matched: 0":
            assert all(PART.match(part) for part in why.split("; ")), why


def broken_key(world: World) -> Path:
    account = dict(world.account)
    account["private_key"] = account["private_key"][:200] + "\n-----END PRIVATE KEY-----\n"
    path = world.tmp / "broken.json"
    path.write_text(json.dumps(account))
    world.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(path)
    return path


@pytest.mark.parametrize("command", ["sync", "check", "init"])
def test_a_service_account_file_with_a_broken_key_is_named_without_a_traceback(
        tmp_path, monkeypatch, capsys, command):
    world = World(tmp_path, monkeypatch)
    path = broken_key(world)
    code, out, err = world.run(capsys, command)
    assert code == 2
    assert f"{path}, which is not a service-account key file (its private_key cannot be read)" \
        in out + err
    assert "Traceback" not in out + err and "BEGIN PRIVATE KEY" not in out + err


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_demo_refuses_an_output_it_cannot_write_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = cli(capsys, "demo", "--members", "10", "--output", str(blocker / "x.xlsx"))
    assert code == 2 and "cannot write there" in err and "Traceback" not in err
    assert "Pulling" not in err and not out  # refused before the syncs
    code, _, err = cli(capsys, "demo", "--members", "10", "--output", str(tmp_path / "out.csv"))
    assert code == 2 and "must end in .xlsx" in err and str(tmp_path / "out.xlsx") in err
    assert list(tmp_path.iterdir()) == [blocker]


def test_tracebacks_only_with_two_vs(tmp_path, capsys):
    for flags, shown in (((), False), (("-v",), False), (("-vv",), True), (("-v", "-v"), True)):
        code, _, err = cli(capsys, *flags, "sync", "--config", str(tmp_path / "nope.toml"))
        assert code == 2 and ("Traceback" in err) == shown, flags


def test_an_unexpected_error_is_one_line_and_exit_1(capsys, monkeypatch):
    import syncbot.demo

    def broken(*args, **kwargs):
        raise RuntimeError("secret-looking internals")

    monkeypatch.setattr(syncbot.demo, "run_demo", broken)
    code, _, err = cli(capsys, "demo", "--output", "x.xlsx")
    assert code == 1 and "something went wrong inside syncbot (RuntimeError)" in err
    assert "Traceback" not in err and "internals" not in err


def test_check_without_a_config_file_lists_the_missing_secrets_too(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MAILCHIMP_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    code, out, err = cli(capsys, "check", "--config", str(tmp_path / "nope.toml"))
    text = out + err
    assert code == 2 and "no such file" in text and "config.example.toml" not in text
    assert "MAILCHIMP_API_KEY is not set" in text and "GOOGLE_APPLICATION_CREDENTIALS is not set" in text
    assert f"syncbot init --write-config {tmp_path / 'nope.toml'}" in text


def test_init_writes_a_starting_config_that_check_accepts_once_filled(tmp_path, capsys):
    path = tmp_path / "syncbot.toml"
    code, out, _ = cli(capsys, "init", "--write-config", str(path))
    assert code == 0 and f"Wrote {path}" in out
    load_config(path, require_secrets=False)  # valid as written: only the ids to fill in
    code, _, err = cli(capsys, "init", "--write-config", str(path))
    assert code == 2 and "exists already" in err


def test_bare_syncbot_prints_help_and_no_summary_is_cut(capsys):
    code, out, _ = cli(capsys)
    assert code == 0 and "Commands:" in out
    assert "..." not in out.split("Commands:")[1]
    code, _, err = cli(capsys, "demo", "--config", "x.toml")
    assert code == 2 and "No such option" in err


def test_the_demo_shows_no_internal_path_and_formats_every_count(tmp_path, capsys):
    code, out, err = cli(capsys, "demo", "--members", "1200", "--output", str(tmp_path / "d.xlsx"))
    assert code == 0
    assert "syncbot-demo-" not in out + err and "state.db" not in out + err
    assert "No local state yet" in out
    assert re.search(r"Scoring 1,\d{3} leads", err), err


def test_generated_addresses_transliterate_accents():
    box = Sandbox(sleep=lambda s: None)
    made = generate_audience(box.mailchimp, members=400, campaigns=1, now=NOW, seed=7)
    lowered = [e for e in made.emails if e.split("@")[0] == e.split("@")[0].lower()]
    assert all(e.isascii() for e in lowered)
    assert any("lopez" in e or "sofia" in e or "martinez" in e for e in lowered)
    assert not any(re.search(r"\.l(p|pe)z\d", e) for e in made.emails)


@pytest.mark.parametrize("reason", ["name", "refused"])
@pytest.mark.parametrize("command", ["sync", "check"])
def test_offline_says_the_service_cannot_be_reached_soon_and_which_step_waits(
        tmp_path, monkeypatch, capsys, reason, command):
    world = World(tmp_path, monkeypatch)
    assert world.run(capsys, "init")[0] == 0
    waited: list[float] = []
    world.monkeypatch.setattr(wiring, "sleep", waited.append)
    for host in (world.box.mailchimp_host, world.box.sheets_host, world.box.google_host):
        host.offline = reason
    with pytest.raises(SystemExit) as done:
        main([command, "--config", str(world.config)])
    out, err = capsys.readouterr()
    assert int(done.value.code) == 1
    text = out + err
    assert "Could not reach Google Sheets at" in text and "googleapis.com" in text
    assert "check this machine's network connection".lower() in text.lower()
    assert "quota" not in text and "after 7 attempts" not in text
    assert "cannot be reached at" in text and "Trying again in" in text  # said while waiting
    why = "the name does not resolve" if reason == "name" else "the connection was refused"
    assert why in text
    if command == "check":
        assert "Could not reach Mailchimp at us21.api.mailchimp.com" in text
    # each service gives up within about 15 s of waiting, not the 5-minute budget of a busy API
    assert 0 < sum(waited) <= 2 * 15


def test_a_real_refused_connection_is_told_apart_from_a_busy_api():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert unreachable(caught.value) == Unreachable("127.0.0.1", "refused")
    assert unreachable(requests.exceptions.ReadTimeout("slow")) is None
    assert unreachable(requests.exceptions.ConnectionError(
        ConnectionResetError(104, "Connection reset by peer"))) is None
