"""Every command and option has help, and the README documents every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from syncbot.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
SPEC_COMMANDS = {"init", "sync", "plan", "serve", "check", "demo", "why"}


def test_every_spec_command_exists():
    assert set(cli.commands) == SPEC_COMMANDS


@pytest.mark.parametrize("name", sorted(SPEC_COMMANDS))
def test_every_command_and_option_has_help_and_is_in_the_readme(name):
    command = cli.commands[name]
    assert command.help and len(command.help) > 30
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"
    assert re.search(rf"`syncbot {name}( [A-Z]+)?`", README), name  # `syncbot why EMAIL`


ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text("utf-8").splitlines()
            if line.startswith("#")}


def test_every_link_in_the_docs_stays_inside_the_repository_and_lands():
    pages = [ROOT / "README.md", *ROOT.glob("README.*.md"), *(ROOT / "docs").glob("*.md")]
    for page in pages:
        for target in LINK.findall(page.read_text("utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            landing = (page.parent / file).resolve() if file else page
            assert landing.is_relative_to(ROOT) and landing.exists(), f"{page.name}: {target}"
            if anchor:
                assert anchor in anchors(landing), f"{page.name}: {target}"


def test_the_licence_the_package_claims_is_in_the_repository():
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text("utf-8")
    assert (ROOT / "LICENSE").read_text("utf-8").startswith("MIT License")


def test_the_readme_walks_a_first_real_run_and_says_how_to_upgrade_and_uninstall():
    walk = README.split("## First real run", 1)[1].split("\n## ", 1)[0]
    steps = [walk.index(f"syncbot {name}") for name in ("init", "check", "plan", "sync", "serve")]
    assert steps == sorted(steps)
    assert "--write-config" in walk and "Share the sheet" in walk
    assert "## Upgrading and uninstalling" in README and "state" in README.split(
        "## Upgrading and uninstalling", 1)[1].split("\n## ", 1)[0]
