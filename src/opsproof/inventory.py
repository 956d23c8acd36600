"""`opsproof inventory check`: validate an inventory and reach its hosts before Ansible runs."""

from __future__ import annotations

import argparse
import fnmatch
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.errors import ConfigError, PreconditionError

REQUIRED_GROUPS = ("web", "app", "db")


@dataclass(frozen=True)
class InventoryHost:
    name: str
    address: str
    port: int
    groups: tuple[str, ...]


def _tool(name: str) -> str:
    """Prefer the tool installed beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def load(inventory: Path) -> list[InventoryHost]:
    if not inventory.exists():
        raise ConfigError(
            f"{inventory}: inventory not found",
            fix="pass INVENTORY=inventories/<env> (see inventories/production.example)",
        )
    proc = subprocess.run(
        [_tool("ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ConfigError(
            f"{inventory}: ansible-inventory cannot parse it: {last}",
            fix="correct the YAML of the inventory",
        )
    return parse(json.loads(proc.stdout), inventory)


def parse(data: dict[str, Any], inventory: Path) -> list[InventoryHost]:
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    membership: dict[str, set[str]] = {}

    def walk(group: str) -> set[str]:
        node = data.get(group, {})
        members = set(node.get("hosts", []))
        for child in node.get("children", []):
            members |= walk(child)
        membership[group] = members
        return members

    walk("all")
    for group in REQUIRED_GROUPS:
        if not membership.get(group):
            raise ConfigError(
                f"{inventory}: group '{group}' has no hosts",
                fix=f"put at least one host under children: {group}: hosts:",
            )
    hosts: list[InventoryHost] = []
    for name in sorted(membership["all"]):
        hv = hostvars.get(name, {})
        address = str(hv.get("ansible_host", name))
        port_raw = hv.get("ansible_port", 22)
        try:
            port = int(port_raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{inventory}: {name}: ansible_port={port_raw!r} is not a number",
                fix="set ansible_port to the SSH port, e.g. 22",
            ) from None
        groups = tuple(sorted(g for g, m in membership.items() if name in m and g != "all"))
        hosts.append(InventoryHost(name, address, port, groups))
    return hosts


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
        from opsproof.lab import inventory as lab_inventory
        from opsproof.lab.config import load_spec

        lab_inventory.check(load_spec(spec), inventory / "hosts.yml")
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


def register(groups: Any) -> None:
    inv = groups.add_parser("inventory", help="inventory validation")
    sub = inv.add_subparsers(dest="command", required=True)
    chk = sub.add_parser("check", help="validate the inventory and reach every host")
    chk.add_argument("-i", "--inventory", default="inventories/lab")
    chk.add_argument("--limit", default=None)
    chk.set_defaults(func=cmd_check)
