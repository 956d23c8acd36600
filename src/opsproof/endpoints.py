"""Where clients reach the platform: its URL and the CA that signed its certificate.

Both come from the inventory, nowhere else: the URL is `https://<ansible_host>` of the first
host of the web group (in the lab, hosts.yml is generated from inventories/lab/lab.yml), the
CA is the file the nginx role makes in `lab_ca` mode (`__nginx_lab_ca_cert` in
roles/nginx/vars, below the inventory's `nginx_lab_ca_dir`); with a real certificate
(`nginx_tls_mode: files`) clients verify with the system's CAs (`ca_cert` is "").
Load tests, the probe, the generator ceiling and the chaos experiments all read it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.ansible_inventory import AnsibleInventory
from opsproof.errors import ConfigError

DEFAULT_INVENTORY = "inventories/lab"
INVENTORY_FIX = f"pass --inventory <dir> (default {DEFAULT_INVENTORY})"
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
WEB_ROLE = "nginx"
LAB_GROUP = "lab"  # the inventory group of lab hosts (chaos and the ceiling act only there)
_CA_VARS = ("ansible_host", "nginx_tls_mode", "__nginx_lab_ca_cert")


@dataclass(frozen=True)
class PlatformEndpoint:
    host: str  # the inventory name of the web host
    address: str
    ca_cert: str  # "" = the system's CAs

    @property
    def url(self) -> str:
        return f"https://{self.address}"


def role_files(role: str, roles_dir: Path = ROLES_DIR) -> dict[str, Any]:
    """A role's defaults/main.yml and vars/main.yml, loaded as Ansible loads them."""
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    out: dict[str, Any] = {}
    for part in ("defaults", "vars"):
        path = roles_dir / role / part / "main.yml"
        if path.is_file():
            out.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
    return out


def _web_group(roles_dir: Path) -> str:
    from opsproof import placement

    return placement.group_of(WEB_ROLE)


def platform_endpoint(
    inventory: str | Path = DEFAULT_INVENTORY, *, roles_dir: Path = ROLES_DIR
) -> PlatformEndpoint:
    """The platform as the inventory describes it (first host of the web group)."""
    loaded = AnsibleInventory(inventory, fix=INVENTORY_FIX)
    group = _web_group(roles_dir)
    names = loaded.names(group) or [""]
    if not names[0]:
        why = f"no host in group {group!r} (the {WEB_ROLE} role's group)"
        raise ConfigError(f"{loaded.source}: {why}", fix="add the web server to that group")
    values = loaded.render(names[0], _CA_VARS, defaults=role_files(WEB_ROLE, roles_dir))
    lab_ca = values.get("nginx_tls_mode") == "lab_ca"
    return PlatformEndpoint(
        host=names[0],
        address=str(values.get("ansible_host") or names[0]),
        ca_cert=str(values["__nginx_lab_ca_cert"]) if lab_ca else "",
    )


def lab_addresses(inventory: str | Path = DEFAULT_INVENTORY) -> frozenset[str]:
    """The addresses of the inventory's lab hosts (empty for a production inventory)."""
    loaded = AnsibleInventory(inventory)
    return frozenset(
        str(loaded.render(name, ["ansible_host"]).get("ansible_host") or name)
        for name in loaded.names(LAB_GROUP)
    )
