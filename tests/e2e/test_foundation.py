"""The foundation on real hosts: provision, idempotence, check mode, admin login, lab life cycle."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from .conftest import ADDRESS, REPO, SSH_FRESH, STATE, Reprovision, Run, forget, sh

pytestmark = pytest.mark.e2e
HOSTS = tuple(ADDRESS)


def test_first_provision_succeeds_on_every_host(provisioned: Run) -> None:
    recap = provisioned.recap()
    assert set(recap) == set(HOSTS), provisioned.out[-3000:]
    for host, counts in recap.items():
        assert counts["failed"] == 0, (host, counts)
        assert counts["unreachable"] == 0, (host, counts)


def test_second_provision_changes_nothing(reprovisioned: Reprovision) -> None:
    again = reprovisioned.run
    assert again.rc == 0, again.out[-3000:]
    recap = again.recap()
    assert set(recap) == set(HOSTS)
    assert {h: c["changed"] for h, c in recap.items()} == dict.fromkeys(HOSTS, 0), again.out[-6000:]


# Check mode reports no drift: `make test` runs `make drift` after the end-to-end suite (the
# compliance gate: a check-mode run of site.yml on every host, `opsproof drift` fails on any
# change, failed or unreachable host), so the suite does not pay for a second ~3 min run.


@pytest.mark.parametrize("host", HOSTS)
def test_admin_user_logs_in_with_the_key_and_has_sudo(provisioned: Run, host: str) -> None:
    probe = (
        "id -un; hostname; sudo -n true && echo SUDO-OK; readlink /etc/localtime; "
        "cat /etc/default/locale; locale -a; test -d /var/log/journal && echo JOURNAL-OK"
    )
    run = sh(*SSH_FRESH, f"opsadmin@{ADDRESS[host]}", probe)
    assert run.rc == 0, run.out
    lines = run.out.splitlines()
    assert lines[0] == "opsadmin"
    assert lines[1] == host
    assert "SUDO-OK" in lines
    assert lines[3].endswith("Asia/Shanghai")
    assert "LANG=zh_CN.UTF-8" in run.out
    assert "zh_CN.utf8" in run.out
    assert "JOURNAL-OK" in lines


def test_ansible_connects_as_the_admin_user(provisioned: Run) -> None:
    run = sh("ansible", "all", "-m", "ansible.builtin.command", "-a", "id -un")
    assert run.rc == 0, run.out
    assert run.out.count("opsadmin") == len(HOSTS)


def test_lab_status_reports_every_host(provisioned: Run) -> None:
    run = sh(".venv/bin/opsproof", "lab", "status", "--json")
    assert run.rc == 0, run.out
    rows = json.loads(run.out[run.out.index("[") :])
    assert {(r["name"], r["state"], r["ssh"]) for r in rows} == {
        (h, "running", True) for h in HOSTS
    }


def test_lab_memory_budget_fits_the_machine_with_every_host(provisioned: Run) -> None:
    """The hosts' memory limits plus the control node's reserve fit this machine, and each
    provisioned host's anonymous memory leaves a quarter of its limit free (figures:
    docs/engineer.md, "Memory budget")."""
    run = sh(".venv/bin/opsproof", "lab", "budget")
    assert run.rc == 0, run.out
    data = json.loads(run.out[run.out.index("{") :])
    assert data["fits"], data
    assert data["headroom_mb"] >= 0, data
    assert set(data["measured"]) == set(HOSTS), data
    for host, m in data["measured"].items():
        assert m is not None, f"{host}: no memory cgroup found for its supervisor"
        assert m["limit_mb"] == data["hosts_mb"][host], (host, m)
        assert m["rss_mb"] <= 0.75 * m["limit_mb"], (host, m)


def test_host_survives_a_reboot_from_inside(provisioned: Run) -> None:
    boot_before = sh(
        *SSH_FRESH,
        "opsadmin@10.213.0.13",
        "cat /proc/sys/kernel/random/boot_id; "
        "systemctl show -p ActiveEnterTimestampMonotonic --value init.scope",
    )
    run = sh("ansible", "db01", "-b", "-m", "ansible.builtin.reboot", "-a", "reboot_timeout=120")
    assert run.rc == 0, run.out
    forget("10.213.0.13")  # the reused connection died with the host's old boot
    after = sh(*SSH_FRESH, "opsadmin@10.213.0.13", "systemctl is-system-running --wait; uptime -s")
    assert after.rc in (0, 1), after.out  # 'degraded' is still up; the login is what counts
    assert boot_before.out != after.out


def test_lab_recovers_after_its_processes_were_killed(provisioned: Run) -> None:
    """CI starts after every process of the previous run was ended: make lab must recover."""
    pid = int((STATE / "hosts/web01/supervise.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    for entry in Path("/proc").iterdir():  # the container's processes die with the session too
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == str(STATE / "hosts/web01/root"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue
    time.sleep(1)
    forget("10.213.0.11")  # the reused connection died with the host's processes
    down = sh(".venv/bin/opsproof", "lab", "status")
    assert down.rc != 0, down.out
    assert "web01    stopped" in down.out, down.out
    up = sh("make", "lab")
    assert up.rc == 0, up.out[-2000:]
    run = sh(*SSH_FRESH, "opsadmin@10.213.0.11", "hostname")
    assert run.rc == 0, run.out
    assert run.out.strip() == "web01", run.out


def test_unreachable_host_gives_one_clear_error(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    hosts = {
        "all": {
            "children": {
                "web": {"hosts": {"web01": {"ansible_host": "10.213.0.11"}}},
                "app": {"hosts": {"app01": {"ansible_host": "10.213.0.12"}}},
                "db": {"hosts": {"db09": {"ansible_host": "10.213.0.99"}}},  # nothing answers there
                "ops": {"hosts": {"ops01": {"ansible_host": "10.213.0.14"}}},
            }
        }
    }
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    run = sh("make", "provision", f"INVENTORY={inv}")
    assert run.rc != 0
    errors = [line for line in run.out.splitlines() if line.startswith("opsproof: error:")]
    assert len(errors) == 1, run.out
    assert "db09 (10.213.0.99:22) is unreachable" in errors[0]
    assert "fix:" in errors[0]


def test_overlapping_subnet_is_refused_and_lab_untouched(tmp_path: Path) -> None:
    spec = yaml.safe_load((REPO / "inventories/lab/lab.yml").read_text())
    spec["lab"].update(bridge="opsbrtest", subnet="10.213.0.0/16", gateway="10.213.9.1")
    f = tmp_path / "lab.yml"
    f.write_text(yaml.safe_dump(spec))
    assert sh(".venv/bin/opsproof", "lab", "--spec", str(f), "inventory", "--write").rc == 0
    run = sh(
        ".venv/bin/opsproof",
        "lab",
        "--spec",
        str(f),
        "up",
        env={"OPSPROOF_LAB_STATE": str(tmp_path / "state")},
    )
    assert run.rc == 3, run.out
    assert "overlaps the route 10.213.0.0/24 dev opsbr0" in run.out
    assert sh("ip", "link", "show", "opsbrtest").rc != 0
    assert sh(".venv/bin/opsproof", "lab", "status").rc == 0


@pytest.mark.parametrize(
    ("extra", "needle", "in_preflight"),
    [
        (
            "baseline_apt_proxy=not-a-url",
            "baseline_apt_proxy=not-a-url is not an http(s)://host:port URL",
            True,
        ),
        ("baseline_logrotate_rotate=many", "baseline_logrotate_rotate", True),
        # The name is well formed; that no such zone exists only the host can tell (the
        # baseline role looks before it sets anything).
        ("baseline_timezone=Mars/Olympus_Mons", "baseline_timezone=Mars/Olympus_Mons", False),
        # A type error in the last play's role: its argument spec, checked by the preflight.
        ("os_hardening_packages_enabled=maybe", "os_hardening_packages_enabled", True),
    ],
)
def test_invalid_role_variable_fails_before_any_change(
    provisioned: Run, extra: str, needle: str, in_preflight: bool
) -> None:
    run = sh(".venv/bin/ansible-playbook", "playbooks/site.yml", "--limit", "web01", "-e", extra)
    assert run.rc != 0
    assert needle in run.out, run.out[-3000:]
    assert run.recap()["web01"]["changed"] == 0
    if in_preflight:
        # Stopped by the preflight play: no role's own play started (on a provisioned lab
        # changed=0 alone would not show that nothing ran).
        assert "PLAY [Baseline of every host]" not in run.out, run.out[-3000:]
