"""The README's deploy recipes work as written: each is taken from the README and run or parsed."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
README_ES = (ROOT / "README.es.md").read_text("utf-8")
PLACE = "/srv/syncbot"


def block(language: str, readme: str = README) -> str:
    [found] = re.findall(rf"```{language}\n(.*?)```", readme, re.S)
    return found


def test_the_spanish_readme_gives_the_same_cron_line_and_unit():
    """The Spanish twin's recipes are the tested ones (the unit also sets the language)."""
    assert block("cron", README_ES) == block("cron")
    assert block("ini", README_ES).replace("Environment=SYNCBOT_LANG=es\n", "") == block("ini")


def install_stub(folder: Path) -> Path:
    """A stand-in ``.venv/bin/syncbot`` that reports its arguments and which secrets it sees."""
    stub = folder / ".venv" / "bin" / "syncbot"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/bin/sh\necho "args: $*"\n'
                    'echo "key: ${MAILCHIMP_API_KEY:-unset}"\n'
                    'echo "google: ${GOOGLE_APPLICATION_CREDENTIALS:-unset}"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    (folder / "syncbot.env").write_text("MAILCHIMP_API_KEY=0123-us21\n"
                                        f"GOOGLE_APPLICATION_CREDENTIALS={folder}/sa.json\n")
    return stub


def test_the_cron_line_gives_syncbot_its_secrets(tmp_path):
    line = block("cron").strip()
    fields = line.split(None, 5)
    assert len(fields) == 6 and fields[:5] == ["0", "*/6", "*", "*", "*"]
    install_stub(tmp_path)
    command = fields[5].replace(PLACE, str(tmp_path))
    done = subprocess.run(["env", "-i", "sh", "-c", command], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "sync.log").read_text()
    assert "args: sync --config syncbot.toml" in log
    assert "key: 0123-us21" in log and f"google: {tmp_path}/sa.json" in log


def test_the_systemd_unit_is_valid(tmp_path):
    unit = block("ini").replace(PLACE, str(tmp_path))
    for key in ("EnvironmentFile=", "ExecStart=", "KillSignal=SIGTERM", "WantedBy="):
        assert key in unit
    assert re.search(r"ExecStart=\S+/\.venv/bin/syncbot serve --config \S+/syncbot\.toml", unit)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    install_stub(tmp_path)
    path = tmp_path / "syncbot.service"
    path.write_text(unit)
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "SYSTEMD_LOG_LEVEL": "err"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_is_valid_yaml_that_runs_a_sync_with_both_secrets():
    workflow = yaml.safe_load(block("yaml"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"] == "0 */6 * * *"
    steps = workflow["jobs"]["sync"]["steps"]
    [sync] = [s for s in steps if "syncbot sync" in s.get("run", "")]
    assert set(sync["env"]) == {"MAILCHIMP_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"}
    assert any(s.get("uses", "").startswith("actions/cache") for s in steps)
    assert workflow["concurrency"]  # never two syncs at once
