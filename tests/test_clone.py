"""A clone of the repository, with nothing beside it, passes the README's two Quickstart commands.

The clone is made with ``git clone`` of this checkout, then given the working
tree's uncommitted files, so what is tested is what is here. The README's
commands are taken from its Quickstart block, not restated: the demo runs
with a small ``--members``, the test command with ``SYNCBOT_TESTS=quick`` (a
fast subset, see ``conftest.py``) so that it does not recurse into this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def quickstart_commands() -> list[str]:
    """The command lines of the README's Quickstart code block, in order."""
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's Quickstart has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def clone_with_working_tree(target: Path) -> None:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, copy = ROOT / name, target / name
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        elif copy.exists():  # deleted in the working tree, not yet committed
            copy.unlink()


@pytest.mark.clone
def test_a_clone_with_nothing_beside_it_passes_both_quickstart_commands(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    demo, tests = quickstart_commands()
    assert "syncbot demo" in demo and "pytest" in tests
    clone = tmp_path / "alone" / "syncbot"
    clone_with_working_tree(clone)
    assert os.listdir(clone.parent) == ["syncbot"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SYNCBOT_", "PYTEST", "VIRTUAL_ENV", "MAILCHIMP_", "GOOGLE_"))}
    for command, extra in ((demo + " --members 200", {}), (tests, {"SYNCBOT_TESTS": "quick"})):
        done = subprocess.run(["sh", "-c", command], cwd=clone, capture_output=True, text=True,
                              env={**env, **extra}, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert (clone / "syncbot-demo.xlsx").is_file()
    assert " passed" in done.stdout
