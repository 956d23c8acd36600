"""The lab bridge: created once, checked against the machine's routes."""

from __future__ import annotations

import ipaddress
import json

from opsproof.errors import PreconditionError
from opsproof.lab.config import LabSpec
from opsproof.lab.system import run


def routes() -> list[dict[str, object]]:
    out = run(["ip", "-j", "-4", "route", "show"]).stdout
    data: list[dict[str, object]] = json.loads(out or "[]")
    return data


def overlapping_routes(spec: LabSpec, table: list[dict[str, object]]) -> list[str]:
    """Routes on the machine that overlap the lab subnet, other than the lab bridge's own."""
    clashes: list[str] = []
    for route in table:
        dst = str(route.get("dst", ""))
        if dst in ("", "default") or route.get("dev") == spec.bridge:
            continue
        try:
            net = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
        except ValueError:
            continue
        if net.overlaps(spec.subnet):
            clashes.append(f"{dst} dev {route.get('dev')}")
    return clashes


def check_subnet_free(spec: LabSpec) -> None:
    clashes = overlapping_routes(spec, routes())
    if clashes:
        raise PreconditionError(
            f"{spec.source}: lab.subnet {spec.subnet} overlaps the route {clashes[0]} "
            "on this machine",
            fix="choose another private subnet for lab.subnet, lab.gateway and hosts.*.address",
        )


def bridge_exists(spec: LabSpec) -> bool:
    return run(["ip", "link", "show", "dev", spec.bridge], check=False).returncode == 0


def ensure_bridge(spec: LabSpec) -> bool:
    """Create the bridge with the gateway address; return True if anything changed."""
    changed = False
    if not bridge_exists(spec):
        check_subnet_free(spec)
        run(["ip", "link", "add", "name", spec.bridge, "type", "bridge"])
        changed = True
    cidr = f"{spec.gateway}/{spec.subnet.prefixlen}"
    addrs = json.loads(run(["ip", "-j", "-4", "addr", "show", "dev", spec.bridge]).stdout or "[]")
    have = {f"{a['local']}/{a['prefixlen']}" for link in addrs for a in link.get("addr_info", [])}
    if cidr not in have:
        run(["ip", "addr", "add", cidr, "dev", spec.bridge])
        changed = True
    link = json.loads(run(["ip", "-j", "link", "show", "dev", spec.bridge]).stdout)[0]
    if "UP" not in link.get("flags", []):
        run(["ip", "link", "set", spec.bridge, "up"])
        changed = True
    return changed


def delete_bridge(name: str) -> None:
    if run(["ip", "link", "show", "dev", name], check=False).returncode == 0:
        run(["ip", "link", "delete", name, "type", "bridge"])


def host_veth(host_name: str) -> str:
    """The host-side veth systemd-nspawn's --network-bridge creates for a short machine name
    (vb-<name>; systemd shortens a name past 15 characters with a hash, which this does not
    reproduce: such a stale veth is then not found, and nspawn names the problem itself)."""
    if len(f"vb-{host_name}") > 15:
        return ""
    return f"vb-{host_name}"


def remove_stale_veth(host_name: str) -> bool:
    """Delete the host's veth left from a container that is gone (the kernel removes it only
    after the old network namespace is torn down; nspawn then fails with "File exists")."""
    name = host_veth(host_name)
    if not name or run(["ip", "link", "show", "dev", name], check=False).returncode != 0:
        return False
    run(["ip", "link", "delete", name], check=False)
    return True
