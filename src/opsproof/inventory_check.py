"""`opsproof inventory check`: validate an inventory and reach its hosts before Ansible runs."""

from __future__ import annotations

import argparse
import fnmatch
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opsproof import placement
from opsproof.ansible_inventory import AnsibleInventory
from opsproof.cli import Commands, add_inventory_option, command_group
from opsproof.errors import ConfigError, PreconditionError


def required_groups() -> tuple[str, ...]:
    """The groups playbooks/site.yml places a role on: each needs a host (web, app, db)."""
    return placement.site().groups()


@dataclass(frozen=True)
class InventoryHost:
    name: str
    address: str
    port: int
    groups: tuple[str, ...]


def load(inventory: Path) -> list[InventoryHost]:
    loaded = AnsibleInventory(
        inventory,
        missing=f"{inventory}: inventory not found",
        fix="pass INVENTORY=inventories/<env> (see inventories/production.example)",
    )
    hosts = loaded.hosts()
    for group in required_groups():
        if not any(group in h.groups for h in hosts):
            raise ConfigError(
                f"{inventory}: group '{group}' has no hosts",
                fix=f"put at least one host under children: {group}: hosts:",
            )
    out: list[InventoryHost] = []
    for host in sorted(hosts, key=lambda h: h.name):
        address = str(host.vars.get("ansible_host", host.name))
        port_raw = host.vars.get("ansible_port", 22)
        try:
            port = int(port_raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{inventory}: {host.name}: ansible_port={port_raw!r} is not a number",
                fix="set ansible_port to the SSH port, e.g. 22",
            ) from None
        out.append(InventoryHost(host.name, address, port, host.groups))
    return out


def reachable(host: InventoryHost, timeout: float = 3.0) -> str | None:
    """None if sshd answers, else the reason."""
    try:
        with socket.create_connection((host.address, host.port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            banner = sock.recv(64)
    except OSError as exc:
        return str(exc.strerror or exc)
    return None if banner.startswith(b"SSH-") else "no SSH banner"


def check(inventory: Path, limit: str | None) -> list[InventoryHost]:
    hosts = load(inventory)
    if limit:
        patterns = [p for p in limit.replace(",", ":").split(":") if p]
        hosts = [
            h for h in hosts if any(fnmatch.fnmatch(h.name, p) or p in h.groups for p in patterns)
        ]
    spec = inventory / "lab.yml"
    if spec.exists():
        from opsproof.lab import hosts_yml
        from opsproof.lab.config import load_spec

        hosts_yml.check(load_spec(spec), inventory / "hosts.yml")
    with ThreadPoolExecutor(max_workers=16) as pool:
        reasons = list(pool.map(reachable, hosts))
    down = [(h, r) for h, r in zip(hosts, reasons, strict=True) if r]
    if down:
        h, reason = down[0]
        others = f" (and {len(down) - 1} more)" if len(down) > 1 else ""
        fix = (
            "start the lab: make lab"
            if spec.exists()
            else f"check ansible_host/ansible_port of {h.name} in {inventory} and the network"
        )
        raise PreconditionError(
            f"{inventory}: host {h.name} ({h.address}:{h.port}) is unreachable: {reason}{others}",
            fix=fix,
        )
    return hosts


def cmd_check(args: argparse.Namespace) -> int:
    hosts = check(Path(args.inventory), args.limit)
    for h in hosts:
        print(f"ok {h.name} {h.address}:{h.port} [{','.join(h.groups)}]")
    return 0


def register(groups: Commands) -> None:
    sub = command_group(groups, "inventory", help="inventory validation")
    chk = sub.add_parser("check", help="validate the inventory and reach every host")
    add_inventory_option(chk)
    chk.add_argument("--limit", default=None)
    chk.set_defaults(func=cmd_check)
