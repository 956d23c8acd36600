"""What a tuning profile sets on each host, rendered from the roles' own defaults.

The formulas live in one place, the roles (roles/postgresql, roles/tomcat, roles/nginx
defaults/main.yml: `<role>_profiles`); this renders them for an inventory's hosts with
Ansible's templating (inventory values such as opsproof_memory_mb and opsproof_cpus
included), so tests and reports compare the live state with exactly what the roles apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsproof import placement
from opsproof.errors import ConfigError
from opsproof.inspection.check_vars import resolve, role_defaults
from opsproof.inspection.evaluate import Unresolved

PROFILES = ("baseline", "optimised")
ROLES_DIR = Path("roles")
# Per role: the variables a profile decides (the role's group: playbooks/site.yml).
TUNED: Mapping[str, tuple[str, ...]] = {
    "postgresql": ("postgresql_profiles", "postgresql_settings"),
    "tomcat": (
        "tomcat_heap_max_mb",
        "tomcat_heap_initial_mb",
        "tomcat_max_threads",
        "tomcat_min_spare_threads",
        "tomcat_datasource_max_total",
        "tomcat_datasource_max_idle",
        "tomcat_datasource_min_idle",
    ),
    "nginx": ("nginx_upstream_keepalive", "nginx_gzip_enabled", "nginx_static_cache_enabled"),
}


def tuned_values(
    inventory: str | Path,
    hosts_by_group: Mapping[str, list[str]],
    profile: str,
    *,
    roles_dir: Path = ROLES_DIR,
) -> dict[str, dict[str, Any]]:
    """host -> {variable: value} under `profile`; for db hosts `postgresql_settings` is the
    merged postgresql.conf settings the role writes (the profile's, then the inventory's)."""
    if profile not in PROFILES:
        raise ConfigError(
            f"profile {profile!r} is not a tuning profile", fix=f"use one of {', '.join(PROFILES)}"
        )
    out: dict[str, dict[str, Any]] = {}
    for role, names in TUNED.items():
        hosts = hosts_by_group.get(placement.group_of(role), [])
        if not hosts:
            continue
        defaults = role_defaults(roles_dir, [role])
        resolved = resolve(
            inventory,
            hosts,
            names,
            defaults=defaults,
            extra_vars={"opsproof_tuning_profile": profile},
        )
        for host, values in resolved.items():
            bad = {k: v for k, v in values.items() if isinstance(v, Unresolved)}
            if bad:
                name, why = next(iter(bad.items()))
                raise ConfigError(
                    f"{host}: {name} cannot be rendered: {why}", fix="check the inventory"
                )
            if role == "postgresql":
                settings = dict(values["postgresql_profiles"][profile]["settings"])
                settings.update(values["postgresql_settings"])
                values = {"postgresql_settings": settings}
            out.setdefault(host, {}).update(values)
    return out
