"""Resource faults: a data volume filled to N %, CPU saturation with stress-ng.

The disk fill refuses any path whose filesystem is `/` or is not a size-limited volume of its
own (a loop-mounted image, a block device, a tmpfs): filling the root of a container fills the
machine's own disk. The fill file is always removed; CPU load runs as a transient systemd unit
bounded twice (stress-ng --timeout and RuntimeMaxSec) and is stopped by the rollback.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

from opsproof.chaos import context
from opsproof.chaos.residue import Residue, clear_or_fail, file_residue, unit_residue
from opsproof.errors import ConfigError

FILL_NAME = ".opsproof-chaos-fill"
CPU_UNIT = "opsproof-chaos-cpu"
SIZE_LIMITED_FSTYPES = {"ext4", "ext3", "xfs", "btrfs", "tmpfs"}
# The volumes the experiments fill (chaos/disk-fill.json); the safety net looks in each.
FILL_DIRS = ("/srv/data",)


def fill_residue(volume: str) -> Residue:
    """The disk fill's file on `volume` (the mount point the fill found)."""
    fill = f"{volume.rstrip('/')}/{FILL_NAME}"
    return file_residue(
        "fill-file" + volume.rstrip("/").replace("/", "-"),
        f"the disk fill's file {fill}",
        shlex.quote(fill),
    )


# What each fault action can leave behind (opsproof.chaos.residue).
CPU_STRESS = unit_residue(
    "cpu-stress", f"stress-ng in the transient unit {CPU_UNIT} (running or failed)", CPU_UNIT
)
RESIDUES: dict[str, tuple[Residue, ...]] = {
    "fill_volume": tuple(fill_residue(d) for d in FILL_DIRS),
    "cpu_stress": (CPU_STRESS,),
}


def check_volume(path: str, target: str, source: str, fstype: str) -> None:
    """Refuse a volume that is not safe to fill (pure: unit-tested)."""
    if target == "/":
        raise ConfigError(
            f"chaos: {path} is on the root filesystem; filling it would fill the host's disk",
            fix="fill only a size-limited data volume mounted on its own (the lab: /srv/data)",
        )
    if fstype not in SIZE_LIMITED_FSTYPES or not (source.startswith("/dev/") or fstype == "tmpfs"):
        raise ConfigError(
            f"chaos: {path} is on {source} ({fstype}), not a size-limited volume",
            fix="fill only a volume backed by a block device, a loop image or a size-limited tmpfs",
        )


def fill_bytes(size: int, used: int, percent: float) -> int:
    """Bytes to allocate so that used/size reaches `percent` (0 when it already does)."""
    if not 1 <= percent <= 98:
        raise ConfigError(
            f"chaos: fill percent {percent} is out of range",
            fix="give a fill between 1 and 98 (percent) in the experiment's arguments",
        )
    return max(0, int(size * percent / 100) - used)


def fill_volume(
    host: str, path: str = "/srv/data", percent: float = 95, duration_s: float = 30
) -> dict[str, Any]:
    found = context.sudo(host, f"findmnt -n -o TARGET,SOURCE,FSTYPE --target {shlex.quote(path)}")
    target, source, fstype = found.stdout.split()[:3]
    check_volume(path, target, source, fstype)
    usage = context.sudo(host, f"df -B1 --output=size,used {shlex.quote(target)} | tail -1")
    size, used = (int(v) for v in usage.stdout.split())
    need = fill_bytes(size, used, percent)
    fill = f"{target.rstrip('/')}/{FILL_NAME}"
    held = max(1.0, min(float(duration_s), 180.0))
    injected = time.time()
    try:
        context.sudo(host, f"fallocate -l {need} {shlex.quote(fill)}")
        after = context.sudo(host, f"df --output=pcent {shlex.quote(target)} | tail -1")
        time.sleep(held)
    finally:
        context.sudo(host, f"rm -f {shlex.quote(fill)}")
    return {
        "injected_at": injected,
        "cleared_at": time.time(),
        "volume": target,
        "source": source,
        "filled_bytes": need,
        "use_during": after.stdout.strip(),
    }


def verify_volume(host: str, path: str = "/srv/data") -> dict[str, Any]:
    """Rollback: the fill file is gone (removed here if it was not)."""
    found = context.sudo(host, f"findmnt -n -o TARGET --target {shlex.quote(path)}")
    return clear_or_fail(host, (fill_residue(found.stdout.strip()),))


def cpu_stress(host: str, duration_s: float = 30, workers: int = 0) -> dict[str, Any]:
    """stress-ng on every CPU (workers=0) for duration_s, in a transient unit."""
    held = int(max(1, min(float(duration_s), 300)))
    context.require_command(
        host,
        "stress-ng",
        f"stress-ng is not installed on {host}",
        fix="add stress-ng to baseline_extra_packages for the host and run make provision",
    )
    context.sudo(host, f"systemctl stop {CPU_UNIT}; systemctl reset-failed {CPU_UNIT}", check=False)
    injected = time.time()
    try:
        context.sudo(
            host,
            f"systemd-run --quiet --unit={CPU_UNIT} -p RuntimeMaxSec={held + 15} "
            f"stress-ng --cpu {int(workers)} --timeout {held}s --quiet",
        )
        time.sleep(held)
    finally:
        context.sudo(host, f"systemctl stop {CPU_UNIT}", check=False)
    return {"injected_at": injected, "cleared_at": time.time(), "held_s": held, "workers": workers}


def verify_cpu_stopped(host: str) -> dict[str, Any]:
    """Rollback: the stress unit is not running (stopped here if it was)."""
    return clear_or_fail(host, (CPU_STRESS,))
