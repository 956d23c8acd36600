"""Role variables have one description: meta/argument_specs.yml; everything else must agree.

defaults/main.yml (where Ansible reads the values), the controls catalog's `setting` of each
control (the role default it documents) and each role README's variable table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from opsproof import role_variables as rv

REPO = Path(__file__).resolve().parents[2]
ROLES = rv.load_roles(REPO / "roles")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_and_specs_agree(role: rv.Role) -> None:
    assert list(rv.spec_problems(role)) == []


def test_catalog_settings_are_the_role_defaults() -> None:
    catalog = yaml.safe_load((REPO / "controls/catalog.yml").read_text(encoding="utf-8"))
    settings = [c for c in catalog["controls"] if (c.get("setting") or {}).get("variable")]
    assert len(settings) > 50  # the check reaches the catalog's settings
    assert list(rv.catalog_problems(catalog, {r.name: r for r in ROLES})) == []


def test_role_readmes_show_the_specs() -> None:
    assert rv.stale_readmes(REPO / "roles") == []


def _copy_role(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "roles" / name
    for part in ("defaults", "meta"):
        shutil.copytree(REPO / "roles" / name / part, target / part)
    shutil.copy(REPO / "roles" / name / "README.md", target / "README.md")
    return target


def test_a_default_changed_in_one_place_is_named(tmp_path: Path) -> None:
    role_dir = _copy_role(tmp_path, "os_hardening")
    defaults = role_dir / "defaults" / "main.yml"
    text = defaults.read_text(encoding="utf-8")
    defaults.write_text(
        text.replace("os_hardening_pass_max_days: 90", "os_hardening_pass_max_days: 60")
    )
    problems = list(rv.spec_problems(rv.load_role(role_dir)))
    assert problems == [
        "roles/os_hardening: os_hardening_pass_max_days defaults to 60 in defaults/main.yml "
        "but to 90 in the specs"
    ]
    catalog = yaml.safe_load((REPO / "controls/catalog.yml").read_text(encoding="utf-8"))
    found = list(rv.catalog_problems(catalog, {"os_hardening": rv.load_role(role_dir)}))
    assert any("OS-PASS-001" in p and "to 60" in p for p in found)


def test_a_variable_missing_from_the_specs_is_named(tmp_path: Path) -> None:
    role_dir = _copy_role(tmp_path, "firewall")
    defaults = role_dir / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text(encoding="utf-8") + "firewall_new_knob: 1\n")
    problems = list(rv.spec_problems(rv.load_role(role_dir)))
    assert any(
        "firewall_new_knob is in defaults/main.yml but not in the specs" in p for p in problems
    )


def test_a_spec_change_makes_the_readme_stale_until_regenerated(tmp_path: Path) -> None:
    role_dir = _copy_role(tmp_path, "firewall")
    specs = role_dir / "meta" / "argument_specs.yml"
    text = specs.read_text(encoding="utf-8")
    assert "default: [80, 443]," in text
    specs.write_text(text.replace("default: [80, 443],", "default: [80, 443, 8443],", 1))
    assert rv.stale_readmes(tmp_path / "roles") == [role_dir / "README.md"]
    rv.stale_readmes(tmp_path / "roles", write=True)
    assert rv.stale_readmes(tmp_path / "roles") == []
