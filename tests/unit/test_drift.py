"""The drift gate over a check-mode playbook log (pure parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsproof.drift import gate
from opsproof.errors import ValidationError
from opsproof.playbook_log import changed_tasks as drifted_tasks
from opsproof.playbook_log import parse_recap as parse

CLEAN = """
PLAY RECAP *********************************************************************
app01                      : ok=217  changed=0    unreachable=0    failed=0    skipped=43
web01                      : ok=218  changed=0    unreachable=0    failed=0    skipped=47
"""
DRIFT = """
TASK [ssh_hardening : Write the hardening drop-in] *****************************
changed: [web01]
TASK [firewall : Write the ruleset] ********************************************
ok: [web01]
PLAY RECAP *********************************************************************
web01                      : ok=218  changed=1    unreachable=0    failed=0    skipped=47
"""


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "drift.log"
    f.write_text(text)
    return f


def test_clean_log_passes(tmp_path: Path) -> None:
    assert [r.host for r in gate(write(tmp_path, CLEAN))] == ["app01", "web01"]
    assert parse(CLEAN)[1].ok == 218


def test_drift_names_host_and_task(tmp_path: Path) -> None:
    assert drifted_tasks(DRIFT) == [("web01", "ssh_hardening : Write the hardening drop-in")]
    with pytest.raises(ValidationError, match=r"web01 changed=1 \(web01: ssh_hardening : Write"):
        gate(write(tmp_path, DRIFT))
    assert gate(write(tmp_path, DRIFT), max_changed=1)


def test_unfinished_or_failed_runs_are_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no PLAY RECAP"):
        gate(write(tmp_path, "ERROR! the playbook could not be parsed"))
    failed = CLEAN.replace("failed=0    skipped=43", "failed=1    skipped=43")
    with pytest.raises(ValidationError, match="could not be measured on app01"):
        gate(write(tmp_path, failed))
