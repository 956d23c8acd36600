"""A host reboot: `systemctl reboot`, then wait (bounded) until SSH answers again. In the lab
the supervisor restarts the container when it exits with 133 (a reboot); a real server boots."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from opsproof import ssh_targets
from opsproof.chaos import context
from opsproof.chaos.faults_process import SERVICE_RESIDUES
from opsproof.chaos.residue import Residue
from opsproof.errors import OpsproofError, PreconditionError

# What a reboot can leave behind (opsproof.chaos.residue): a service that did not come back.
RESIDUES: dict[str, tuple[Residue, ...]] = {"reboot": SERVICE_RESIDUES}

# Which boot this is: the kernel's boot id (a real server) and PID 1's start time (a
# container shares the kernel, its init restarts).
BOOT_ID = "echo $(cat /proc/sys/kernel/random/boot_id)-$(cut -d' ' -f22 /proc/1/stat)"


def boot_id(host: str) -> str:
    return ssh_targets.run(context.resolve_host(host), BOOT_ID, timeout=15).stdout.strip()


def reboot(host: str, timeout_s: float = 300) -> dict[str, Any]:
    where = context.resolve_host(host)
    before = boot_id(host)
    injected = time.time()
    with contextlib.suppress(PreconditionError):  # the connection may drop as it goes down
        ssh_targets.run(where, "sudo -n systemd-run --on-active=1 systemctl reboot", timeout=30)
    back = wait_for_ssh(host, timeout_s, not_boot=before)
    return {"injected_at": injected, "cleared_at": injected, "ssh_back_after_s": back - injected}


def wait_for_ssh(host: str, timeout_s: float = 300, not_boot: str | None = None) -> float:
    """When the host answers over ssh again (from a boot other than `not_boot`)."""
    where = context.resolve_host(host)
    deadline = time.time() + max(10.0, min(float(timeout_s), 900.0))
    while time.time() < deadline:
        with contextlib.suppress(PreconditionError):
            done = ssh_targets.run(where, BOOT_ID, timeout=10)
            if done.rc == 0 and done.stdout.strip() != not_boot:
                return time.time()
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
