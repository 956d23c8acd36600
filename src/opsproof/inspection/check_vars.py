"""The variables a check needs, per host, resolved the way Ansible would resolve them.

Two kinds: the health thresholds' overrides (`opsproof_health_*`, set in the inventory's
group or host vars, or with --extra-vars) and the intended values a check compares the
live state with (e.g. `tomcat_heap_max_mb`: the role's default unless the inventory sets
it). Precedence, lowest first: the role's `defaults/main.yml`, the inventory (group_vars,
host_vars, hosts.yml), the extra vars. Values are rendered with Ansible's own templating;
a value that cannot be rendered here (it needs facts, say) is `Unresolved` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from opsproof.ansible_inventory import AnsibleInventory
from opsproof.errors import ConfigError
from opsproof.inspection.evaluate import Unresolved


def parse_extra_vars(text: str | None) -> dict[str, Any]:
    """--extra-vars: a JSON or YAML mapping, or @FILE."""
    if not text:
        return {}
    source = "--extra-vars"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"{source}: {err.strerror}", fix="pass an existing file") from None
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{source}: not a mapping: {err}", fix="pass JSON or YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of variables", fix="pass JSON or YAML")
    return data


def role_defaults(roles_dir: Path, roles: Iterable[str]) -> dict[str, Any]:
    """The roles' defaults/main.yml, loaded as Ansible loads them (templates trusted)."""
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    out: dict[str, Any] = {}
    for role in sorted(set(roles)):
        path = roles_dir / role / "defaults" / "main.yml"
        if path.is_file():
            out.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
    return out


def resolve(
    inventory: str | Path,
    hosts: Iterable[str],
    names: Iterable[str],
    *,
    defaults: Mapping[str, Any] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    facts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """host -> {name: value or Unresolved} for the names each host defines (or defaults).

    `facts` (host -> facts read on the host) is what `ansible_facts` holds while rendering."""
    loaded = AnsibleInventory(inventory)
    return {
        name: loaded.render(
            name,
            names,
            defaults=defaults,
            extra_vars=extra_vars,
            facts=(facts or {}).get(name, {}),
            on_error=Unresolved,
        )
        for name in hosts
    }
