"""Inventory validation (no network): both shipped inventories pass, broken ones are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opsproof import inventory_check
from opsproof.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["lab", "production.example"])
def test_shipped_inventories_validate(name: str) -> None:
    hosts = inventory_check.load(REPO / "inventories" / name)
    groups = {g for h in hosts for g in h.groups}
    assert {"web", "app", "db"} <= groups
    assert all(h.port == 22 for h in hosts)


def test_missing_group_is_named(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "web": {"hosts": {"w1": {"ansible_host": "127.0.0.2"}}},
                        "app": {"hosts": {"a1": {"ansible_host": "127.0.0.3"}}},
                    }
                }
            }
        )
    )
    with pytest.raises(ConfigError, match="group 'db' has no hosts"):
        inventory_check.load(tmp_path)


def test_bad_port_and_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inventory not found"):
        inventory_check.load(tmp_path / "absent")
    data = {
        "all": {
            "children": {
                g: {"hosts": {f"{g}1": {"ansible_port": "ssh"}}}
                for g in ("web", "app", "db", "ops")
            }
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="ansible_port='ssh' is not a number"):
        inventory_check.load(tmp_path)
