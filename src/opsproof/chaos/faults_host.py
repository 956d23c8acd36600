"""A host reboot: `systemctl reboot`, then wait (bounded) until SSH answers again. In the lab
the supervisor restarts the container when it exits with 133 (a reboot); a real server boots."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from opsproof import hosts
from opsproof.chaos import context
from opsproof.errors import OpsproofError, PreconditionError


def reboot(host: str, timeout_s: float = 300) -> dict[str, Any]:
    where = context.resolve_host(host)
    injected = time.time()
    with contextlib.suppress(PreconditionError):  # the connection may drop as it goes down
        hosts.run(where, "sudo -n systemd-run --on-active=1 systemctl reboot", timeout=30)
    time.sleep(3)
    back = wait_for_ssh(host, timeout_s)
    return {"injected_at": injected, "cleared_at": injected, "ssh_back_after_s": back - injected}


def wait_for_ssh(host: str, timeout_s: float = 300) -> float:
    where = context.resolve_host(host)
    deadline = time.time() + max(10.0, min(float(timeout_s), 900.0))
    while time.time() < deadline:
        try:
            if hosts.run(where, "true", timeout=10).rc == 0:
                return time.time()
        except PreconditionError:
            pass
        time.sleep(1)
    raise OpsproofError(
        f"chaos: {where.name} did not answer over ssh within {timeout_s:.0f} s after the reboot",
        fix="make lab-status (the lab) or the server's console",
    )


def verify_up(host: str, units: list[str]) -> dict[str, Any]:
    """Rollback: the host answers and its units are active (started if they are not)."""
    from opsproof.chaos.faults_process import ensure_active

    wait_for_ssh(host, 300)
    for unit in units:
        ensure_active(host, unit)
    return {"verified": True, "units": units}
