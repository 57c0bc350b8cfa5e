"""A newcomer's first hour, through the command line: each test here failed before its fix."""

from __future__ import annotations

import re

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
