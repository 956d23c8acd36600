"""Resolving inventory hosts to SSH targets (Ansible's own inventory logic; no SSH here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsproof.errors import ConfigError
from opsproof.ssh_targets import in_group, resolve

REPO = Path(__file__).resolve().parents[2]


def test_lab_inventory_templates_are_rendered() -> None:
    targets = {t.name: t for t in resolve(REPO / "inventories/lab")}
    assert set(targets) == {"web01", "app01", "db01", "ops01"}
    web = targets["web01"]
    assert web.address == "10.213.0.11"
    assert web.user == "opsadmin"  # "{{ baseline_admin_user }}" rendered
    assert web.key_file == "/var/lib/opsproof/lab/ssh/id_ed25519"
    assert "StrictHostKeyChecking=yes" in web.ssh_args
    assert "web" in web.groups
    argv = web.argv("true")
    assert argv[-2:] == ["opsadmin@10.213.0.11", "true"]
    assert "BatchMode=yes" in argv
    assert [t.name for t in in_group(list(targets.values()), "db")] == ["db01"]


def test_pattern_and_missing_inventory() -> None:
    assert [t.name for t in resolve(REPO / "inventories/lab", "app")] == ["app01"]
    with pytest.raises(ConfigError, match="no host matches"):
        resolve(REPO / "inventories/lab", "nosuchgroup")
    with pytest.raises(ConfigError, match="not found"):
        resolve(REPO / "inventories/nope")
