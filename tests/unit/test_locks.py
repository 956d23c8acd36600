"""The change lock has one definition, opsproof.locks (issue 17, item 5): the Makefile asks
`opsproof lock-path` for it instead of naming the file again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsproof import locks
from opsproof.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_the_makefile_asks_for_the_lock_path() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert locks.CHANGE_LOCK_NAME not in makefile
    assert re.search(
        r'^CHANGE_LOCK = flock .*"\$\$\(\$\(BIN\)/opsproof lock-path\)"$', makefile, re.M
    )


def test_lock_path_prints_the_one_definition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock-path"]) == 0
    assert capsys.readouterr().out.strip() == str(locks.change_lock_path())
