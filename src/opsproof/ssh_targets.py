"""Inventory hosts as SSH targets: how to reach each one, resolved exactly as Ansible would.

The inspection, the chaos experiments and the probes act on the hosts of an Ansible
inventory over SSH. Group variables hold templates (`ansible_user: "{{ baseline_admin_user
}}"`) that `ansible-inventory --list` leaves unrendered, so the values are resolved with
Ansible's own inventory and variable manager.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof.ansible_inventory import AnsibleInventory, Host
from opsproof.errors import ConfigError, PreconditionError

CONNECTION_VARS = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
)


@dataclass(frozen=True)
class SshTarget:
    name: str
    address: str
    user: str
    port: int
    key_file: str | None
    ssh_args: tuple[str, ...]
    groups: tuple[str, ...]

    def argv(self, command: str, *, connect_timeout: int = 5) -> list[str]:
        """The ssh command line that runs `command` on this host (batch mode, no prompts)."""
        args = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
        args += ["-o", "LogLevel=ERROR", "-p", str(self.port)]
        if self.key_file:
            args += ["-i", self.key_file]
        args += list(self.ssh_args)
        return [*args, f"{self.user}@{self.address}", command]


def resolve(inventory: str | Path, pattern: str = "all") -> list[SshTarget]:
    """The hosts matching `pattern` in the inventory, with rendered connection settings."""
    loaded = AnsibleInventory(inventory)
    hosts = loaded.hosts(pattern)
    if not hosts:
        raise ConfigError(
            f"{loaded.source}: no host matches {pattern!r}",
            fix="check the host pattern and the inventory",
        )
    return [_target(loaded, host) for host in hosts]


def _target(loaded: AnsibleInventory, host: Host) -> SshTarget:
    value = loaded.render(host.name, CONNECTION_VARS)
    user = value.get("ansible_user")
    if not user:
        raise ConfigError(
            f"{loaded.source}: {host.name} has no ansible_user",
            fix="set ansible_user in the inventory's group_vars",
        )
    args = shlex.split(str(value.get("ansible_ssh_common_args") or ""))
    args += shlex.split(str(value.get("ansible_ssh_extra_args") or ""))
    key = value.get("ansible_ssh_private_key_file")
    return SshTarget(
        name=host.name,
        address=str(value.get("ansible_host") or host.name),
        user=str(user),
        port=int(value.get("ansible_port") or 22),
        key_file=str(key) if key else None,
        ssh_args=tuple(args),
        groups=host.groups,
    )


@dataclass(frozen=True)
class Completed:
    rc: int
    stdout: str
    stderr: str


def run(target: SshTarget, command: str, *, timeout: float = 120) -> Completed:
    """Run one shell command on the host; an unreachable host is a PreconditionError."""
    try:
        proc = subprocess.run(
            target.argv(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise PreconditionError(
            f"{target.name}: command did not finish within {timeout:.0f} s",
            fix=f"check the host ({target.address}) and its load",
        ) from None
    if proc.returncode == 255:
        raise PreconditionError(
            f"{target.name} ({target.address}) is unreachable over ssh: "
            f"{proc.stderr.strip() or 'no answer'}",
            fix="is the host up? `make lab-status` in the lab, or `make preflight`",
        )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def in_group(targets: Sequence[SshTarget], group: str) -> list[SshTarget]:
    return [t for t in targets if group in t.groups]
