"""The shape of the tree holds: a pure core, one package per outside system, an independent
sandbox. Checked on the source, so a shortcut taken later fails here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "syncbot"
TOP_LEVEL = {"__init__", "__main__", "cli", "serve", "checks", "explain", "demo", "wiring",
             "pipeline", "handoff",  # the run's hand-off step
             "tagstream",  # a first sync's tags added while it scores
             "evaluation",  # the run's leads evaluated, by worker processes when many
             "webhook",  # the team's chat: one POST, no package of its own
             "config", "errors", "retry", "ports", "report",
             "progress"}  # none of them belongs to one outside system
SYSTEMS = {"mailchimp", "sheets", "state"}
IMPURE_CALLS = {"now", "utcnow", "today", "time", "monotonic", "getenv", "open", "urlopen"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_core_imports_nothing_outside_the_core_and_reads_no_environment_or_clock():
    for path in (PACKAGE / "core").glob("*.py"):
        ours = {m for m in imports(path) if m.startswith("syncbot")}
        assert all(m.startswith("syncbot.core") for m in ours), (path.name, ours)
        assert not imports(path) & {"os", "time", "sqlite3", "requests", "socket"}, path.name
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                assert name not in IMPURE_CALLS, (path.name, node.lineno, name)
            assert not (isinstance(node, ast.Attribute) and node.attr == "environ"), path.name


def test_the_sandbox_depends_on_nothing_it_stands_in_front_of():
    for path in (PACKAGE / "sandbox").glob("*.py"):
        ours = {m for m in imports(path) if m.startswith("syncbot")}
        assert all(m.startswith("syncbot.sandbox") for m in ours), (path.name, ours)


def test_each_outside_system_has_its_own_package_and_no_stray_top_level_module():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= TOP_LEVEL, modules - TOP_LEVEL
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages >= SYSTEMS


def test_outside_systems_do_not_reach_into_each_other():
    for system in SYSTEMS:
        for path in (PACKAGE / system).glob("*.py"):
            others = {m for m in imports(path)
                      if any(m.startswith(f"syncbot.{o}") for o in SYSTEMS - {system})}
            assert not others, (system, path.name, others)


CLIENT_LIBRARIES = {"mailchimp_marketing", "gspread", "google", "requests", "urllib3", "rich",
                    "click"}


def test_the_scoring_workers_import_no_client_library():
    """A scoring worker is a fresh process that imports ``syncbot.evaluation``: with the
    client libraries behind it (through the Mailchimp and Sheets clients) each worker held
    about 28 MB more, beside the run at its peak."""
    code = ("import sys, syncbot.evaluation; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=PACKAGE.parent)
    assert CLIENT_LIBRARIES.isdisjoint(done.stdout.split()), done.stdout
