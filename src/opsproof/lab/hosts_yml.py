"""The Ansible inventory of the lab must agree with lab.yml; this checks (or renders) it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from opsproof.errors import ConfigError
from opsproof.lab.config import LabSpec


def render(spec: LabSpec) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for host in spec.hosts:
        for group in host.groups:
            groups.setdefault(group, {"hosts": {}})["hosts"][host.name] = {
                "ansible_host": str(host.address),
                # Containers show the machine's memory in their facts; roles that size
                # memory (JVM heap, PostgreSQL) read the host's real limit from here.
                "opsproof_memory_mb": host.memory_mb,
            }
    return {
        "all": {
            "children": {
                "lab": {
                    "vars": {
                        "baseline_apt_proxy": spec.proxy_url,
                        # The control node's address on the bridge: where SSH comes from.
                        "opsproof_lab_gateway": str(spec.gateway),
                    },
                    "children": groups,
                }
            }
        }
    }


def _host_addresses(
    node: Any, out: dict[str, tuple[str, set[str], Any]], group: str = "all"
) -> None:
    if not isinstance(node, dict):
        return
    for name, hostvars in (node.get("hosts") or {}).items():
        addr = str((hostvars or {}).get("ansible_host", ""))
        memory = (hostvars or {}).get("opsproof_memory_mb")
        prev = out.get(name)
        out[name] = (
            addr or (prev[0] if prev else ""),
            (prev[1] if prev else set()) | {group},
            memory if memory is not None else (prev[2] if prev else None),
        )
    for child, sub in (node.get("children") or {}).items():
        _host_addresses(sub, out, child)


def differences(spec: LabSpec, inventory: dict[str, Any]) -> list[str]:
    found: dict[str, tuple[str, set[str], Any]] = {}
    _host_addresses(inventory.get("all", {}), found)
    diffs: list[str] = []
    for host in spec.hosts:
        if host.name not in found:
            diffs.append(f"host {host.name} is missing")
            continue
        addr, groups, memory = found[host.name]
        if addr != str(host.address):
            diffs.append(
                f"{host.name}: ansible_host={addr or '(unset)'}, lab.yml says {host.address}"
            )
        if memory != host.memory_mb:
            diffs.append(
                f"{host.name}: opsproof_memory_mb={memory}, lab.yml says memory_mb={host.memory_mb}"
            )
        for group in host.groups:
            if group not in groups:
                diffs.append(f"{host.name}: not in group {group}")
    lab_vars = (((inventory.get("all") or {}).get("children") or {}).get("lab") or {}).get("vars")
    proxy = (lab_vars or {}).get("baseline_apt_proxy")
    if proxy != spec.proxy_url:
        diffs.append(f"lab.vars.baseline_apt_proxy={proxy!r}, lab.yml gives {spec.proxy_url}")
    gateway = (lab_vars or {}).get("opsproof_lab_gateway")
    if gateway != str(spec.gateway):
        diffs.append(f"lab.vars.opsproof_lab_gateway={gateway!r}, lab.yml gives {spec.gateway}")
    for name in sorted(set(found) - {h.name for h in spec.hosts}):
        diffs.append(f"host {name} is not in lab.yml")
    return diffs


def check(spec: LabSpec, hosts_file: Path) -> None:
    try:
        inventory = yaml.safe_load(hosts_file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{hosts_file}: inventory not found", fix="run `opsproof lab inventory --write`"
        ) from exc
    diffs = differences(spec, inventory)
    if diffs:
        raise ConfigError(
            f"{hosts_file} disagrees with {spec.source}: {'; '.join(diffs)}",
            fix="edit lab.yml, then run `.venv/bin/opsproof lab inventory --write`",
        )


def write(spec: LabSpec, hosts_file: Path) -> None:
    header = (
        f"# Generated from {spec.source.name} by `opsproof lab inventory --write`.\n"
        "# Edit lab.yml, not this file.\n---\n"
    )
    hosts_file.write_text(header + yaml.safe_dump(render(spec), sort_keys=False))
