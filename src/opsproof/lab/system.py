"""Thin, typed wrappers around the machine: commands, root, required tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from opsproof.errors import LabError, PreconditionError

# tool -> Debian package that provides it
REQUIRED_TOOLS: dict[str, str] = {
    "systemd-nspawn": "systemd-container",
    "mmdebstrap": "mmdebstrap",
    "ip": "iproute2",
    "mkfs.ext4": "e2fsprogs",
    "ssh-keygen": "openssh-client",
    "ssh": "openssh-client",
    "apt-cacher-ng": "apt-cacher-ng",
    "mount": "mount",
}


def run(
    cmd: Sequence[str], *, check: bool = True, input_text: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError naming the command and its stderr."""
    try:
        proc = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            input=input_text,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise PreconditionError(
            f"{cmd[0]}: command not found",
            fix=f"apt-get install {REQUIRED_TOOLS.get(cmd[0], cmd[0])}",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(cmd)}: timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise LabError(f"{' '.join(cmd)} failed: {last}")
    return proc


def require_root() -> None:
    if os.geteuid() != 0:
        raise PreconditionError(
            "the lab needs root (it creates a bridge, mounts and containers)",
            fix="run as root, e.g. sudo make lab",
        )


def require_tools(tools: Sequence[str] = tuple(REQUIRED_TOOLS)) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pkgs = sorted({REQUIRED_TOOLS.get(t, t) for t in missing})
        raise PreconditionError(
            f"missing tools: {', '.join(missing)}",
            fix=f"apt-get install {' '.join(pkgs)} (make deps does this)",
        )


def pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (killed, not yet reaped) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def mountpoints() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return [line.split()[4] for line in fh]


def is_mountpoint(path: str) -> bool:
    return path in mountpoints()
