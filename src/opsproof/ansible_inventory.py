"""The one loader of an Ansible inventory, with the two views its callers need.

- `hosts(pattern)`: each host with its groups and its variables as the inventory writes
  them (unrendered) — what `opsproof inventory check` validates;
- `render(host, names, …)`: variables resolved the way Ansible resolves them, lowest
  precedence first: the roles' defaults, the inventory (group_vars, host_vars, hosts.yml),
  the extra vars; rendered with Ansible's own templating (group variables hold templates
  such as `ansible_user: "{{ baseline_admin_user }}"`) — what the SSH targets, the
  inspection's intended values and the tuning profile read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.errors import ConfigError

MISSING_FIX = "pass an inventory directory such as inventories/lab"


@dataclass(frozen=True)
class Host:
    """A host as the inventory writes it: name, groups (without `all`), unrendered vars."""

    name: str
    groups: tuple[str, ...]
    vars: Mapping[str, Any]


class AnsibleInventory:
    """An inventory loaded once with Ansible's inventory and variable managers."""

    def __init__(self, source: str | Path, *, missing: str | None = None, fix: str = MISSING_FIX):
        self.source = Path(source)
        if not self.source.exists():
            raise ConfigError(missing or f"inventory {self.source} not found", fix=fix)
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        from ansible.vars.manager import VariableManager

        self._loader = DataLoader()
        self._manager = InventoryManager(loader=self._loader, sources=[str(self.source)])
        self._variables = VariableManager(loader=self._loader, inventory=self._manager)

    def names(self, pattern: str = "all") -> list[str]:
        """The hosts matching an Ansible host pattern, in inventory order."""
        return [host.name for host in self._manager.get_hosts(pattern)]

    def hosts(self, pattern: str = "all") -> list[Host]:
        """The hosts matching pattern, with their groups and unrendered variables."""
        return [
            Host(
                name=host.name,
                groups=tuple(sorted(g.name for g in host.get_groups() if g.name != "all")),
                vars=self._variables.get_vars(host=host, include_hostvars=False),
            )
            for host in self._manager.get_hosts(pattern)
        ]

    def render(
        self,
        name: str,
        names: Iterable[str],
        *,
        defaults: Mapping[str, Any] | None = None,
        extra_vars: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> dict[str, Any]:
        """{variable: rendered value} for those of `names` the host defines (or defaults).

        `facts` is what `ansible_facts` holds while rendering. A value that cannot be
        rendered raises, or becomes `on_error(first line of the reason)` when given."""
        from ansible.errors import AnsibleError
        from ansible.template import Templar

        host = self._manager.get_host(name)
        if host is None:
            raise ConfigError(f"{self.source}: no host {name}", fix="check the host pattern")
        inventory_vars = self._variables.get_vars(host=host, include_hostvars=False)
        merged = {
            **(defaults or {}),
            **inventory_vars,
            **(extra_vars or {}),
            # The variable manager holds the (empty) fact cache: the facts read here go over it.
            "ansible_facts": {**dict(inventory_vars.get("ansible_facts") or {}), **(facts or {})},
        }
        templar = Templar(loader=self._loader, variables=merged)
        values: dict[str, Any] = {}
        for var in sorted(set(names)):
            if var not in merged:
                continue
            try:
                values[var] = templar.template(merged[var])
            except (AnsibleError, TypeError, ValueError) as err:
                if on_error is None:
                    raise
                values[var] = on_error(str(err).splitlines()[0][:300])
        return values
