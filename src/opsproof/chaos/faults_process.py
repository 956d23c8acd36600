"""Process faults: SIGKILL of a service's main process (the Tomcat JVM, the PostgreSQL
postmaster), a service stopped for a bounded time; and the rollback that verifies the service
is active again."""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from typing import Any

from opsproof import placement
from opsproof.chaos import context
from opsproof.chaos.residue import Residue
from opsproof.errors import OpsproofError

# The platform's services per role that runs them (and so per inventory group, from
# playbooks/site.yml): a process fault, or a reboot, interrupted before its rollback can
# leave one stopped.
ROLE_SERVICES: Mapping[str, tuple[str, ...]] = {
    "nginx": ("nginx",),
    "tomcat": ("tomcat10",),
    "postgresql": ("postgresql@15-main",),
    "log_server": ("rsyslog",),  # the central log store (ops)
    # The ops host's monitoring: the safety net leaves it running too.
    "prometheus": ("prometheus", "prometheus-alertmanager", "opsproof-alert-receiver"),
}
_by_group: dict[str, tuple[str, ...]] = {}
for _role, _units in ROLE_SERVICES.items():
    _group = placement.group_of(_role)
    _by_group[_group] = _by_group.get(_group, ()) + _units
SERVICES: Mapping[str, tuple[str, ...]] = _by_group


def service_residue(group: str, unit: str) -> Residue:
    """`unit` not running on the group's hosts (up, or being (re)started, is fine)."""
    q = shlex.quote(unit)
    return Residue(
        name=unit,
        what=f"{unit} not running",
        detect=f'case "$(systemctl is-active {q})" in active|activating|reloading) false ;; '
        "*) true ;; esac",
        remove=f"systemctl reset-failed {q}; systemctl start {q}",
        groups=(group,),
        service=True,
    )


SERVICE_RESIDUES = tuple(service_residue(g, u) for g, units in SERVICES.items() for u in units)
# What each fault action can leave behind (opsproof.chaos.residue).
RESIDUES: dict[str, tuple[Residue, ...]] = {
    "kill_main_process": SERVICE_RESIDUES,
    "stop_service": SERVICE_RESIDUES,
}


def _bounded(value: float, low: float, high: float) -> float:
    return max(low, min(float(value), high))


def main_pid(host: str, unit: str) -> int:
    done = context.sudo(host, f"systemctl show -p MainPID --value {shlex.quote(unit)}")
    return int(done.stdout.strip() or 0)


def kill_main_process(host: str, unit: str, signal: str = "KILL") -> dict[str, Any]:
    """Send `signal` to the unit's main process only (the JVM, the postmaster), as a crash
    would; whether it comes back is up to the service manager's configuration."""
    pid = main_pid(host, unit)
    if pid <= 0:
        raise OpsproofError(
            f"chaos: {unit} on {host} has no main process to kill",
            fix=f"start it first: systemctl start {unit}",
        )
    restarts = restart_count(host, unit)
    injected = time.time()
    context.sudo(host, f"systemctl kill --kill-whom=main -s {shlex.quote(signal)} {unit}")
    return {
        "injected_at": injected,
        "cleared_at": injected,
        "killed_pid": pid,
        "unit": unit,
        "restarts_before": restarts,
    }


def restart_count(host: str, unit: str) -> int:
    done = context.sudo(host, f"systemctl show -p NRestarts --value {shlex.quote(unit)}")
    return int(done.stdout.strip() or 0)


def service_state(host: str, unit: str) -> dict[str, Any]:
    """Probe: the unit's state and how often systemd restarted it (NRestarts), to tell a
    restart by the service manager from a start by someone else."""
    state = context.sudo(host, f"systemctl is-active {shlex.quote(unit)}", check=False)
    return {"unit": unit, "active": state.stdout.strip(), "restarts": restart_count(host, unit)}


def stop_service(host: str, unit: str, duration_s: float = 10) -> dict[str, Any]:
    """Stop the unit, keep it stopped for duration_s (bounded to 120 s), start it again."""
    hold = _bounded(duration_s, 1, 120)
    injected = time.time()
    try:
        context.sudo(host, f"systemctl stop {shlex.quote(unit)}")
        time.sleep(hold)
    finally:
        context.sudo(host, f"systemctl start {shlex.quote(unit)}")
    return {"injected_at": injected, "cleared_at": time.time(), "held_s": hold, "unit": unit}


def ensure_active(host: str, unit: str, timeout_s: float = 120) -> dict[str, Any]:
    """Rollback: start the unit if it is not active, wait until it is; fail if it never is."""
    state = context.sudo(host, f"systemctl is-active {shlex.quote(unit)}", check=False)
    was_active = state.stdout.strip() == "active"
    if not was_active:
        context.sudo(host, f"systemctl reset-failed {shlex.quote(unit)}", check=False)
        context.sudo(host, f"systemctl start {shlex.quote(unit)}", timeout=timeout_s)
    deadline = time.time() + _bounded(timeout_s, 5, 600)
    while time.time() < deadline:
        now = context.sudo(host, f"systemctl is-active {shlex.quote(unit)}", check=False)
        if now.stdout.strip() == "active":
            return {"verified": True, "unit": unit, "was_active": was_active}
        time.sleep(1)
    raise OpsproofError(
        f"chaos: rollback failed: {unit} on {host} is not active after {timeout_s:.0f} s",
        fix=f"look at `journalctl -u {unit}` on {host} and start it by hand",
    )
