"""The monthly inspection on the lab: a clean run, and a deliberate drift that both the
check-mode run and the inspection catch by control ID, gone again after re-provisioning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ADDRESS, Run, on, sh

pytestmark = pytest.mark.e2e
DROPIN = "/etc/ssh/sshd_config.d/00-opsproof-hardening.conf"


def inspect(report: Path, *extra: str) -> Run:
    return sh(
        ".venv/bin/pytest",
        "checks",
        "-q",
        "-p",
        "no:cacheprovider",
        "--report-dir",
        str(report),
        "--junit-xml",
        str(report / "junit.xml"),
        *extra,
    )


def test_inspection_of_the_provisioned_lab_passes(provisioned: Run, tmp_path: Path) -> None:
    # A freshly built lab has no backup yet: run tonight's job and its drill now, as the
    # timers would, so the backup controls (PG-BAK-*) have something to inspect.
    nightly = on(
        ADDRESS["db01"],
        "sudo -n systemctl start platform-backup.service && "
        "sudo -n /usr/local/sbin/platform-restore-drill",
        timeout=1200,
    )
    assert nightly.rc == 0, nightly.out
    run = inspect(tmp_path)
    assert run.rc == 0, run.out[-4000:]
    doc = json.loads((tmp_path / "inspection.json").read_text())
    statuses = {r["status"] for r in doc["results"]}
    assert statuses <= {"pass", "not-applicable"}, statuses
    hosts = {r["host"] for r in doc["results"]}
    assert hosts == set(ADDRESS)
    assert len({r["control_id"] for r in doc["results"]}) >= 120
    validate = sh(".venv/bin/opsproof", "results", "validate", str(tmp_path / "inspection.json"))
    assert validate.rc == 0, validate.out
    record = (tmp_path / "record.zh.md").read_text()
    assert record.startswith("# 巡检记录表")
    assert "<testcase" in (tmp_path / "junit.xml").read_text()
    # The record rendered by headless Chromium (make deps installs Debian's chromium).
    assert (tmp_path / "record.zh.png").stat().st_size > 10_000


def test_drift_is_caught_by_check_mode_and_inspection_then_repaired(
    provisioned: Run, tmp_path: Path
) -> None:
    web = ADDRESS["web01"]
    drift = on(
        web,
        f"sudo -n sed -i 's/^MaxAuthTries 3$/MaxAuthTries 6/' {DROPIN} && "
        f"sudo -n grep -c '^MaxAuthTries 6$' {DROPIN} && sudo -n systemctl reload ssh",
    )
    assert drift.rc == 0, drift.out
    try:
        found = inspect(tmp_path / "drift", "--limit", "web01")
        assert found.rc == 1, found.out[-3000:]
        assert "SSH-AUTH-010" in found.out
        failed = [
            r["control_id"]
            for r in json.loads((tmp_path / "drift/inspection.json").read_text())["results"]
            if r["status"] == "fail"
        ]
        assert failed == ["SSH-AUTH-010"]
        check = sh(
            ".venv/bin/ansible-playbook",
            "playbooks/site.yml",
            "--check",
            "--diff",
            "--limit",
            "web01",
            "--tags",
            "ssh_hardening",
        )
        assert check.rc == 0, check.out[-3000:]
        assert check.recap()["web01"]["changed"] >= 1
        assert "-MaxAuthTries 6" in check.out
        assert "+MaxAuthTries 3" in check.out
    finally:
        repair = sh("make", "provision", "LIMIT=web01", "TAGS=ssh_hardening")
    assert repair.rc == 0, repair.out[-3000:]
    again = inspect(tmp_path / "repaired", "--limit", "web01")
    assert again.rc == 0, again.out[-3000:]
