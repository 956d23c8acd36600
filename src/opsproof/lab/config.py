"""The lab description (inventories/lab/lab.yml): parsed once, validated, frozen."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from opsproof.errors import ConfigError

_T = TypeVar("_T")

_HOSTNAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_IFNAME = re.compile(r"^[a-zA-Z0-9_-]{1,15}$")
_SUITES = ("bookworm",)


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: ipaddress.IPv4Address
    groups: tuple[str, ...]
    cpu_cores: float
    memory_mb: int
    data_volume_mb: int


@dataclass(frozen=True)
class LabSpec:
    source: Path
    bridge: str
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    suite: str
    apt_proxy_port: int
    data_mount: str
    hosts: tuple[HostSpec, ...]
    # Memory the control node keeps for itself (Ansible, the inspection, Locust, javac,
    # Chromium): the hosts' limits plus this must fit the machine (opsproof.lab.budget).
    controller_reserve_mb: int = 4096

    def host(self, name: str) -> HostSpec:
        for h in self.hosts:
            if h.name == name:
                return h
        known = ", ".join(h.name for h in self.hosts)
        raise ConfigError(f"{self.source}: no lab host named {name!r}", fix=f"use one of: {known}")

    @property
    def proxy_url(self) -> str:
        return f"http://{self.gateway}:{self.apt_proxy_port}"


def _require(mapping: dict[str, Any], key: str, where: str, source: Path) -> Any:
    if key not in mapping or mapping[key] is None:
        raise ConfigError(f"{source}: {where}.{key} is missing", fix=f"set {where}.{key}")
    return mapping[key]


def _parsed(
    parse: Callable[[str], _T],
    mapping: dict[str, Any],
    key: str,
    where: str,
    source: Path,
    fix: str,
) -> _T:
    """mapping[key] read by `parse` (an address or network), or one error naming the field."""
    try:
        return parse(str(_require(mapping, key, where, source)))
    except ValueError as exc:
        raise ConfigError(f"{source}: {where}.{key} is invalid: {exc}", fix=fix) from exc


def _number(
    mapping: dict[str, Any],
    key: str,
    default: float,
    where: str,
    source: Path,
    *,
    lo: float,
    hi: float,
) -> float:
    """mapping[key] (default when absent), a number between lo and hi."""
    value = mapping.get(key, default)
    field = f"{where}.{key}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{source}: {field} must be a number, got {value!r}",
            fix=f"set {field} to a number between {lo} and {hi}",
        )
    if not lo <= value <= hi:
        raise ConfigError(
            f"{source}: {field}={value} is out of range", fix=f"set {field} between {lo} and {hi}"
        )
    return float(value)


def parse_spec(data: Any, source: Path) -> LabSpec:
    """Validate a parsed lab.yml; every error names the file and the key."""
    if not isinstance(data, dict) or not isinstance(data.get("lab"), dict):
        raise ConfigError(
            f"{source}: top-level 'lab:' mapping is missing",
            fix="see inventories/lab/lab.yml in the repository for the format",
        )
    lab = data["lab"]
    bridge = str(_require(lab, "bridge", "lab", source))
    if not _IFNAME.match(bridge):
        raise ConfigError(
            f"{source}: lab.bridge={bridge!r} is not a valid interface name",
            fix="use 1-15 letters, digits, '-' or '_'",
        )
    subnet = _parsed(
        ipaddress.IPv4Network, lab, "subnet", "lab", source, "write a network such as 10.200.0.0/24"
    )
    if not subnet.is_private or subnet.prefixlen > 29:
        raise ConfigError(
            f"{source}: lab.subnet={subnet} must be a private network of /29 or larger",
            fix="use a private range such as 10.200.0.0/24",
        )
    gateway = _parsed(
        ipaddress.IPv4Address, lab, "gateway", "lab", source, "write an address inside lab.subnet"
    )
    usable = set(subnet.hosts())
    if gateway not in usable:
        raise ConfigError(
            f"{source}: lab.gateway={gateway} is not a host address of {subnet}",
            fix=f"pick an address inside {subnet}",
        )
    suite = str(lab.get("suite", "bookworm"))
    if suite not in _SUITES:
        raise ConfigError(
            f"{source}: lab.suite={suite!r} is not supported",
            fix=f"use one of: {', '.join(_SUITES)}",
        )
    port = int(_number(lab, "apt_proxy_port", 3142, "lab", source, lo=1024, hi=65535))
    data_mount = str(lab.get("data_mount", "/srv/data"))
    if not data_mount.startswith("/") or data_mount == "/":
        raise ConfigError(
            f"{source}: lab.data_mount={data_mount!r} must be an absolute path below /",
            fix="use e.g. /srv/data",
        )

    reserve = int(
        _number(lab, "controller_reserve_mb", 4096, "lab", source, lo=512, hi=1024 * 1024)
    )

    raw_hosts = data.get("hosts")
    if not isinstance(raw_hosts, dict) or not raw_hosts:
        raise ConfigError(
            f"{source}: 'hosts:' must map host names to their settings",
            fix="list at least one host under hosts:",
        )
    hosts: list[HostSpec] = []
    seen: dict[ipaddress.IPv4Address, str] = {gateway: "lab.gateway"}
    for name, raw in raw_hosts.items():
        where = f"hosts.{name}"
        if not isinstance(name, str) or not _HOSTNAME.match(name):
            raise ConfigError(
                f"{source}: host name {name!r} is not a valid hostname",
                fix="use lower-case letters, digits and '-', e.g. web01",
            )
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: {where} must be a mapping", fix="see the example lab.yml")
        address = _parsed(
            ipaddress.IPv4Address, raw, "address", where, source, f"use an address inside {subnet}"
        )
        if address not in usable:
            raise ConfigError(
                f"{source}: {where}.address={address} is outside {subnet}",
                fix=f"use a host address inside {subnet}",
            )
        if address in seen:
            raise ConfigError(
                f"{source}: {where}.address={address} is already used by {seen[address]}",
                fix="give every host its own address",
            )
        seen[address] = where
        groups = raw.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ConfigError(
                f"{source}: {where}.groups must be a list of group names", fix="e.g. groups: [web]"
            )
        hosts.append(
            HostSpec(
                name=name,
                address=address,
                groups=tuple(groups),
                cpu_cores=_number(raw, "cpu_cores", 1.0, where, source, lo=0.1, hi=64),
                memory_mb=int(
                    _number(raw, "memory_mb", 1024, where, source, lo=256, hi=1024 * 1024)
                ),
                data_volume_mb=int(
                    _number(raw, "data_volume_mb", 512, where, source, lo=64, hi=1024 * 1024)
                ),
            )
        )
    return LabSpec(
        source=source,
        bridge=bridge,
        subnet=subnet,
        gateway=gateway,
        suite=suite,
        apt_proxy_port=port,
        data_mount=data_mount,
        hosts=tuple(hosts),
        controller_reserve_mb=reserve,
    )


def load_spec(path: Path) -> LabSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: lab description not found", fix="run from the repository root or pass --spec"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", fix="correct the YAML syntax") from exc
    return parse_spec(data, path)
