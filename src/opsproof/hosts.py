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
from typing import Any

from opsproof.errors import ConfigError, PreconditionError


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
    source = Path(inventory)
    if not source.exists():
        raise ConfigError(
            f"inventory {source} not found",
            fix="pass an inventory directory such as inventories/lab",
        )
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(source)])
    variables = VariableManager(loader=loader, inventory=manager)
    hosts = manager.get_hosts(pattern)
    if not hosts:
        raise ConfigError(
            f"{source}: no host matches {pattern!r}", fix="check the host pattern and the inventory"
        )
    targets = []
    for host in hosts:
        hostvars = variables.get_vars(host=host, include_hostvars=False)
        templar = Templar(loader=loader, variables=hostvars)

        def value(name: str, default: Any = None, _t: Templar = templar, _v: Any = hostvars) -> Any:
            raw = _v.get(name, default)
            return _t.template(raw) if raw is not None else None

        user = value("ansible_user")
        if not user:
            raise ConfigError(
                f"{source}: {host.name} has no ansible_user",
                fix="set ansible_user in the inventory's group_vars",
            )
        args = shlex.split(str(value("ansible_ssh_common_args", "") or ""))
        args += shlex.split(str(value("ansible_ssh_extra_args", "") or ""))
        key = value("ansible_ssh_private_key_file")
        targets.append(
            SshTarget(
                name=host.name,
                address=str(value("ansible_host", host.name)),
                user=str(user),
                port=int(value("ansible_port", 22) or 22),
                key_file=str(key) if key else None,
                ssh_args=tuple(args),
                groups=tuple(sorted(g.name for g in host.get_groups() if g.name != "all")),
            )
        )
    return targets


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
