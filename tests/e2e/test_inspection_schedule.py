"""The monthly schedule (roles/inspection_schedule) proved on a lab host that runs systemd.

The machine the lab runs on has no systemd, so the role is applied with playbooks/control.yml
to ops01, the ops host where the schedule belongs (a temporary inventory puts it in the group
control), with everything under /run and the admin user as the runner: the units pass
`systemd-analyze verify`, the timer is listed with its next monthly elapse, a second run and
check mode change nothing, and a run without a checkout fails loudly. Everything is removed
afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import ADDRESS, REPO, Run, on, sh

pytestmark = pytest.mark.e2e
OPS = ADDRESS["ops01"]
BASE = "/run/opsproof-schedule"
UNIT = "opsproof-inspection"
VARS = {
    "inspection_schedule_user_enabled": False,
    "inspection_schedule_user": "opsadmin",
    "inspection_schedule_checkout_required": False,
    "inspection_schedule_checkout": f"{BASE}/checkout",
    "inspection_schedule_reports_dir": f"{BASE}/reports",
    "inspection_schedule_script": f"{BASE}/opsproof-inspection",
    "inspection_schedule_unit_dir": "/run/systemd/system",
}


@pytest.fixture
def control_inventory(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "group_vars/all").symlink_to(REPO / "inventories/lab/group_vars/all")
    hosts = {"all": {"children": {"control": {"hosts": {"ops01": {"ansible_host": OPS}}}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(VARS))
    try:
        yield inventory, extra
    finally:
        on(
            OPS,
            f"sudo -n systemctl disable --now {UNIT}.timer; "
            f"sudo -n systemctl reset-failed {UNIT}.service; "
            f"sudo -n rm -rf /run/systemd/system/{UNIT}.service /run/systemd/system/{UNIT}.timer "
            f"{BASE}; sudo -n systemctl daemon-reload",
        )


def _apply(inventory: Path, extra: Path, *args: str) -> Run:
    return sh(
        ".venv/bin/ansible-playbook",
        "-i",
        str(inventory),
        "playbooks/control.yml",
        "-e",
        f"@{extra}",
        *args,
    )


def test_schedule_role_on_a_systemd_host(
    provisioned: Run, control_inventory: tuple[Path, Path]
) -> None:
    inventory, extra = control_inventory
    first = _apply(inventory, extra)
    assert first.rc == 0, first.out[-3000:]
    assert first.recap()["ops01"]["changed"] >= 3
    again = _apply(inventory, extra)
    assert again.rc == 0, again.out[-3000:]
    assert again.recap()["ops01"]["changed"] == 0, again.out[-3000:]
    check = _apply(inventory, extra, "--check", "--diff")
    assert check.rc == 0, check.out[-3000:]
    assert check.recap()["ops01"]["changed"] == 0, check.out[-3000:]

    units = f"/run/systemd/system/{UNIT}.service /run/systemd/system/{UNIT}.timer"
    verify = on(OPS, f"sudo -n systemd-analyze verify {units} && echo VERIFIED")
    assert "VERIFIED" in verify.out, verify.out
    timer = on(
        OPS,
        f"systemctl list-timers --all --no-pager {UNIT}.timer; systemctl show {UNIT}.timer "
        "-p TimersCalendar -p Persistent -p RandomizedDelayUSec; "
        f"systemctl is-enabled {UNIT}.timer",
    )
    assert f"{UNIT}.timer" in timer.out
    assert f"{UNIT}.service" in timer.out
    assert "1 timers listed." in timer.out
    assert "OnCalendar=*-*-01 00:00:00" in timer.out  # "monthly"
    assert "Persistent=yes" in timer.out
    assert "RandomizedDelayUSec=2h" in timer.out
    assert timer.out.rstrip().endswith("enabled")

    # Without a checkout the run fails loudly (exit 3, the fix in the journal).
    run = on(
        OPS,
        f"sudo -n systemctl start {UNIT}.service; "
        f"sudo -n journalctl -u {UNIT}.service -n 20 --no-pager -o cat",
    )
    assert "run make venv there" in run.out, run.out
    assert "status=3" in run.out, run.out


def test_schedule_refuses_a_bad_calendar_before_any_change(
    provisioned: Run, control_inventory: tuple[Path, Path]
) -> None:
    inventory, extra = control_inventory
    bad = _apply(inventory, extra, "-e", "inspection_schedule_on_calendar=every-month")
    assert bad.rc != 0
    assert "inspection_schedule_on_calendar=every-month is not a valid systemd calendar" in bad.out
    gone = on(OPS, f"test -e /run/systemd/system/{UNIT}.timer && echo PRESENT || echo ABSENT")
    assert gone.out.strip().endswith("ABSENT")


def test_runner_inspects_and_applies_the_retention(provisioned: Run, tmp_path: Path) -> None:
    """The role's runner script, rendered and run here (no systemd needed to run it): one
    inspection into <reports>/<date>/, and a run older than the retention removed."""
    catalog = yaml.safe_load((REPO / "controls/catalog.yml").read_text(encoding="utf-8"))
    catalog["controls"] = [c for c in catalog["controls"] if c["id"] == "HLT-DISK-001"]
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(catalog, allow_unicode=True))
    reports = tmp_path / "reports"
    old = reports / "2020-01-01"
    old.mkdir(parents=True)
    variables = {
        "inspection_schedule_checkout": str(REPO),
        "inspection_schedule_venv": str(REPO / ".venv"),
        "inspection_schedule_reports_dir": str(reports),
        "inspection_schedule_inventory": "inventories/lab",
        "inspection_schedule_lang": "en",
        "inspection_schedule_extra_args": ["--catalog", str(tmp_path / "catalog.yml")],
        "inspection_schedule_retention_days": 400,
        "__inspection_schedule_unit": UNIT,
    }
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    script = tmp_path / "opsproof-inspection"
    template = REPO / "roles/inspection_schedule/templates/usr/local/libexec/opsproof-inspection.j2"
    rendered = sh(
        ".venv/bin/ansible",
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        "ansible.builtin.template",
        "-a",
        f"src={template} dest={script} mode=0755",
        "-e",
        f"@{tmp_path / 'vars.json'}",
    )
    assert rendered.rc == 0, rendered.out[-2000:]
    sh("touch", "-d", "2020-01-02", str(old))
    run = sh(str(script))
    assert run.rc == 0, run.out[-2000:]
    (day,) = [d for d in reports.iterdir()]
    assert day.name != "2020-01-01"  # removed: older than 400 days
    result = json.loads((day / "inspection.json").read_text())["results"]
    assert {r["control_id"] for r in result} == {"HLT-DISK-001"}
    assert (day / "record.en.md").is_file()
    assert (day / "junit.xml").is_file()
