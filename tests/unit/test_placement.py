"""Role placement has one declaration, playbooks/site.yml (issue 17, item 1): its preflight
list agrees with its plays, tune.yml agrees with it, and the Python side reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsproof import placement
from opsproof.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "playbooks" / "site.yml"
RUN_EVERYWHERE = ("bootstrap", "preflight")  # not checked by the preflight (they are it)


def test_site_preflight_list_and_plays_agree() -> None:
    site = placement.read(SITE)
    assert site.preflight, "site.yml has no preflight list (preflight_roles)"
    assert placement.preflight_mismatches(site, unchecked=RUN_EVERYWHERE) == []


def test_tune_places_each_tuned_role_where_site_does() -> None:
    site, tune = placement.read(SITE), placement.read(REPO / "playbooks" / "tune.yml")
    assert placement.preflight_mismatches(tune, unchecked=RUN_EVERYWHERE) == []
    for role, groups in tune.roles.items():
        if role not in RUN_EVERYWHERE:
            assert set(groups) == set(site.groups_of(role)), role


def test_the_platform_roles_each_run_on_one_group() -> None:
    site = placement.read(SITE)
    groups = {role: site.group_of(role) for role in ("postgresql", "tomcat", "nginx")}
    assert len(set(groups.values())) == 3
    assert site.group_of("platform_app") == groups["tomcat"]
    with pytest.raises(ConfigError, match="not on one group"):
        site.group_of("os_hardening")
    with pytest.raises(ConfigError, match="no play runs"):
        site.group_of("nosuchrole")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_disagreeing_preflight_list_is_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "site.yml",
        """
- hosts: all
  roles:
    - role: preflight
      preflight_roles:
        - {role: postgresql, group: app}
        - {role: ghost, group: all}
- hosts: db
  roles: [postgresql, tomcat]
""",
    )
    problems = placement.preflight_mismatches(placement.read(path), unchecked=RUN_EVERYWHERE)
    assert problems == [
        "postgresql: the plays run it on db, the preflight list says app",
        "tomcat runs on db but the preflight list lacks it",
        "ghost is in the preflight list (all) but no play",
    ]


def test_roles_gated_on_group_names_and_imported_playbooks(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "web.yml",
        """
- name: Web
  hosts: web
  tasks:
    - ansible.builtin.include_role:
        name: nginx
""",
    )
    path = _write(
        tmp_path,
        "site.yml",
        """
- hosts: all
  roles:
    - role: baseline
    - role: postgresql
      when: "'db' in group_names"
    - role: tomcat
      when:
        - "'app' in group_names or 'batch' in group_names"
- hosts: db:app
  roles:
    - {role: firewall, when: "'app' in group_names"}
- ansible.builtin.import_playbook: web.yml
""",
    )
    read = placement.read(path)
    assert read.roles == {
        "baseline": ("all",),
        "postgresql": ("db",),
        "tomcat": ("app", "batch"),
        "firewall": ("app",),
        "nginx": ("web",),
    }
    assert read.group_roles() == {
        "db": ("postgresql",),
        "app": ("tomcat", "firewall"),
        "batch": ("tomcat",),
        "web": ("nginx",),
    }


def test_python_side_reads_the_placement() -> None:
    from opsproof.chaos import faults_memory, faults_process
    from opsproof.inspection.collect import layer_group
    from opsproof.inventory_check import required_groups
    from opsproof.monitoring import prometheus
    from opsproof.perf import explain

    site = placement.read(SITE)
    assert layer_group("postgresql") == site.group_of("postgresql")
    assert layer_group("nginx") == site.group_of("nginx")
    assert layer_group("os") is None
    assert layer_group("firewall") is None
    assert site.group_of("postgresql") == explain.DB_GROUP
    assert site.group_of("tomcat") == faults_memory.JVM_GROUP
    assert site.group_of("prometheus") == prometheus.OPS_GROUP
    assert set(faults_process.SERVICES) == set(site.groups())
    assert set(required_groups()) == set(site.groups())
