"""Which role runs on which inventory group: read from playbooks/site.yml, the one declaration.

The inspection (which hosts a layer's controls apply to), the tuning profiles, explain, the
chaos faults and restore, the platform's endpoint and the inventory check all ask here instead
of naming groups themselves. site.yml is read defensively, as Ansible would place the roles:

- a play's `hosts:` pattern (`db`, `db:app:web`, `web,app`, `all`; `!x` and `&x` parts are
  ignored), its `roles:` (names or `{role: …}`) and `tasks:` that import or include a role;
- a `when:` on the role (or on the play) that tests `'<group>' in group_names` narrows the
  groups to those named (so `hosts: all` + `when: "'db' in group_names"` places a role on db);
- `import_playbook:` entries are followed, relative to the importing playbook.

The preflight list (`preflight_roles`, what the preflight checks before anything changes)
says the same again; `preflight_mismatches` names where it and the plays disagree (a unit
test keeps them consistent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from opsproof.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "playbooks" / "site.yml"
ALL = "all"
_IN_GROUP_NAMES = re.compile(r"""['"]([A-Za-z0-9_.-]+)['"]\s+in\s+group_names""")
_ROLE_MODULES = {
    f"{prefix}{name}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for name in ("import_role", "include_role")
}
_PLAYBOOK_IMPORTS = {"import_playbook", "ansible.builtin.import_playbook"}


@dataclass(frozen=True)
class Placement:
    """role -> the groups it runs on (`all` for every host), in playbook order; the same
    from the preflight list."""

    source: Path
    roles: Mapping[str, tuple[str, ...]]
    preflight: Mapping[str, tuple[str, ...]]

    def groups_of(self, role: str) -> tuple[str, ...]:
        try:
            return self.roles[role]
        except KeyError:
            raise ConfigError(
                f"{self.source}: no play runs the role {role!r}",
                fix="add the role to a play of playbooks/site.yml",
            ) from None

    def group_of(self, role: str) -> str:
        """The one group a role runs on; an error when it runs on every host or on several."""
        groups = self.groups_of(role)
        if len(groups) != 1 or groups[0] == ALL:
            raise ConfigError(
                f"{self.source}: the role {role!r} runs on {', '.join(groups)}, not on one group",
                fix=f"place {role} on one inventory group in playbooks/site.yml",
            )
        return groups[0]

    def group_roles(self) -> dict[str, tuple[str, ...]]:
        """group -> the roles placed on it alone (roles on every host left out)."""
        out: dict[str, list[str]] = {}
        for role, groups in self.roles.items():
            for group in groups:
                if group != ALL:
                    out.setdefault(group, []).append(role)
        return {group: tuple(roles) for group, roles in out.items()}

    def groups(self) -> tuple[str, ...]:
        """The inventory groups some role is placed on (not `all`), in playbook order."""
        return tuple(self.group_roles())


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _pattern_groups(hosts: Any) -> list[str]:
    parts: list[str] = []
    for item in _as_list(hosts):
        parts += [p.strip() for p in re.split(r"[:,]", str(item)) if p.strip()]
    groups = [p for p in parts if not p.startswith(("!", "&"))]
    return [ALL] if ALL in groups or "*" in groups else groups


def _gated(groups: list[str], when: Any) -> list[str]:
    """Narrow `groups` to those a `'<g>' in group_names` condition names."""
    named = [g for cond in _as_list(when) for g in _IN_GROUP_NAMES.findall(str(cond))]
    if not named:
        return groups
    if groups == [ALL]:
        return list(dict.fromkeys(named))
    return [g for g in groups if g in named]


def _role_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping):
        name = entry.get("role", entry.get("name"))
        return str(name) if name else None
    return None


@dataclass(frozen=True)
class _Use:
    role: str
    groups: tuple[str, ...]
    params: Mapping[str, Any]


def _task_roles(tasks: Any) -> Iterator[tuple[str, Any, Mapping[str, Any]]]:
    for task in _as_list(tasks):
        if not isinstance(task, Mapping):
            continue
        if "block" in task:
            for role, when, params in _task_roles(task["block"]):
                yield role, [*_as_list(task.get("when")), *_as_list(when)], params
            continue
        for module in _ROLE_MODULES & task.keys():
            args = task[module]
            name = _role_name(args if isinstance(args, Mapping) else {"name": args})
            if name:
                yield name, task.get("when"), {**(task.get("vars") or {})}


def _plays(path: Path, seen: frozenset[Path] = frozenset()) -> Iterator[Mapping[str, Any]]:
    if path in seen:
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the playbook: {exc}", fix="check the file") from exc
    for play in _as_list(data):
        if not isinstance(play, Mapping):
            continue
        imported = next((play[k] for k in _PLAYBOOK_IMPORTS if k in play), None)
        if imported is not None:
            yield from _plays((path.parent / str(imported)).resolve(), seen | {path})
        else:
            yield play


def _uses(path: Path) -> Iterator[_Use]:
    for play in _plays(path):
        hosts = _pattern_groups(play.get("hosts"))
        play_when = _as_list(play.get("when"))
        entries: list[tuple[str, Any, Mapping[str, Any]]] = []
        for entry in _as_list(play.get("roles")):
            name = _role_name(entry)
            if name:
                given = dict(entry) if isinstance(entry, Mapping) else {}
                given.update(given.pop("vars", None) or {})
                entries.append((name, given.get("when"), given))
        for key in ("pre_tasks", "tasks", "post_tasks"):
            entries += list(_task_roles(play.get(key)))
        for name, when, params in entries:
            groups = _gated(_gated(hosts, play_when), when)
            yield _Use(name.rsplit(".", 1)[-1], tuple(groups), params)


def _merge(out: dict[str, list[str]], role: str, groups: Iterable[str]) -> None:
    placed = out.setdefault(role, [])
    for group in groups:
        if group not in placed:
            placed.append(group)
    if ALL in placed:
        placed[:] = [ALL]


def read(site: Path = SITE) -> Placement:
    """The placement that `site` declares (plays and preflight list)."""
    roles: dict[str, list[str]] = {}
    preflight: dict[str, list[str]] = {}
    for use in _uses(site):
        _merge(roles, use.role, use.groups)
        for item in _as_list(use.params.get("preflight_roles")):
            if isinstance(item, Mapping) and item.get("role"):
                _merge(preflight, str(item["role"]), _pattern_groups(item.get("group", ALL)))
    return Placement(
        source=site,
        roles={role: tuple(groups) for role, groups in roles.items()},
        preflight={role: tuple(groups) for role, groups in preflight.items()},
    )


def preflight_mismatches(placement: Placement, *, unchecked: Iterable[str] = ()) -> list[str]:
    """Where the preflight list and the plays disagree (roles in `unchecked` are not listed)."""
    skip = set(unchecked)
    problems = []
    for role, groups in placement.roles.items():
        if role in skip:
            continue
        listed = placement.preflight.get(role)
        if listed is None:
            problems.append(f"{role} runs on {', '.join(groups)} but the preflight list lacks it")
        elif set(listed) != set(groups):
            problems.append(
                f"{role}: the plays run it on {', '.join(groups)}, "
                f"the preflight list says {', '.join(listed)}"
            )
    for role, listed in placement.preflight.items():
        if role not in placement.roles:
            problems.append(f"{role} is in the preflight list ({', '.join(listed)}) but no play")
    return problems


@cache
def site() -> Placement:
    """playbooks/site.yml's placement, read once per process."""
    return read(SITE)


def group_of(role: str) -> str:
    return site().group_of(role)


def groups_of(role: str) -> tuple[str, ...]:
    return site().groups_of(role)
