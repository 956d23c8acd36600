"""Role variables: `meta/argument_specs.yml` is their one description (dev-sec's pattern).

`defaults/main.yml` must carry the same variables with the same values (Ansible reads the
values from there; the specs describe them), the controls catalog's `setting` of a control
must be the role default it documents, and each role README's variable table is generated
from the specs (`opsproof roles readme`, `--check` in the tests).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from opsproof.cli import Commands, command_group
from opsproof.errors import ValidationError

ROLES_DIR = Path("roles")
BEGIN = (
    "<!-- BEGIN variables: generated from meta/argument_specs.yml by `opsproof roles readme` -->"
)
END = "<!-- END variables -->"
_REFERENCE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Role:
    name: str
    defaults: Mapping[str, Any]
    specs: Mapping[str, Any]  # entry point -> its spec

    @property
    def options(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.specs.get("main", {}).get("options") or {})


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_role(path: Path) -> Role:
    specs = _yaml(path / "meta" / "argument_specs.yml") or {}
    return Role(
        name=path.name,
        defaults=_yaml(path / "defaults" / "main.yml") or {},
        specs=specs.get("argument_specs", {}),
    )


def load_roles(roles_dir: Path = ROLES_DIR) -> list[Role]:
    return [load_role(p) for p in sorted(roles_dir.iterdir()) if (p / "meta").is_dir()]


# --- consistency -----------------------------------------------------------------------


def spec_problems(role: Role) -> Iterator[str]:
    """Where defaults/main.yml and meta/argument_specs.yml disagree, one line each."""
    where = f"roles/{role.name}"
    for entry, spec in role.specs.items():
        options = spec.get("options") or {}
        for name in sorted(set(role.defaults) - set(options)):
            yield f"{where}: {name} is in defaults/main.yml but not in the specs' {entry} options"
        for name in sorted(set(options) - set(role.defaults)):
            yield f"{where}: {name} is in the specs' {entry} options but not in defaults/main.yml"
    for name, option in role.options.items():
        if name not in role.defaults:
            continue
        value = role.defaults[name]
        if "default" not in option:
            yield f"{where}: {name} has no default in the specs (defaults/main.yml: {_show(value)})"
        elif option["default"] != value:
            yield (
                f"{where}: {name} defaults to {_show(value)} in defaults/main.yml "
                f"but to {_show(option['default'])} in the specs"
            )
        for sub, sub_option in (option.get("options") or {}).items():
            known = isinstance(value, dict) and sub in value and "default" in sub_option
            if known and sub_option["default"] != value[sub]:
                yield (
                    f"{where}: {name}.{sub} is {_show(value[sub])} in defaults/main.yml "
                    f"but {_show(sub_option['default'])} in the specs"
                )


def role_default(role: Role, name: str) -> Any:
    """The role's default of name; a bare `{{ other }}` follows the role's default of other."""
    value = role.defaults[name]
    seen = {name}
    while isinstance(value, str) and (m := _REFERENCE.fullmatch(value.strip())):
        if m.group(1) not in role.defaults or m.group(1) in seen:
            break
        seen.add(m.group(1))
        value = role.defaults[m.group(1)]
    return value


def catalog_problems(catalog: Mapping[str, Any], roles: Mapping[str, Role]) -> Iterator[str]:
    """Controls whose `setting` is not the default of the role variable it names.

    A mapping setting names some keys of a mapping default: those keys must match."""
    for control in catalog.get("controls", []):
        setting = control.get("setting") or {}
        name = setting.get("variable")
        if not name:
            continue
        where = f"controls/catalog.yml {control['id']}"
        role = roles.get(control.get("role", ""))
        if role is None or name not in role.defaults:
            yield f"{where}: setting.variable {name} is no default of role {control.get('role')}"
            continue
        expected, actual = setting.get("value"), role_default(role, name)
        if isinstance(expected, dict) and isinstance(actual, dict):
            actual = {k: actual.get(k) for k in expected}
        if expected != actual:
            yield (
                f"{where}: setting.value {_show(expected)} but roles/{role.name} "
                f"defaults {name} to {_show(actual)}"
            )


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# --- README tables ---------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default_cell(option: Mapping[str, Any]) -> str:
    if "default" not in option:
        return "(required)" if option.get("required") else ""
    value = option["default"]
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, dict | list) and len(text) > 120:
        kind = "keys" if isinstance(value, dict) else "items"
        return f"{len(value)} {kind}, see `defaults/main.yml`"
    text = _cell(text).replace("`", "'")
    if len(text) > 120:
        text = text[:117] + "..."
    return f"`{text}`" if text else '`""`'


def _description(option: Mapping[str, Any]) -> str:
    text = option.get("description", "")
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    choices = option.get("choices")
    if choices:
        text += " One of: " + ", ".join(f"`{c}`" for c in choices) + "."
    return _cell(str(text))


def variables_table(role: Role) -> str:
    """The README section listing every variable of the role's main entry point."""
    lines = [
        BEGIN,
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, option in role.options.items():
        kind = str(option.get("type", "str"))
        if option.get("elements"):
            kind += f" of {option['elements']}"
        lines.append(f"| `{name}` | {kind} | {_default_cell(option)} | {_description(option)} |")
    lines += ["", END]
    return "\n".join(lines)


def render_readme(text: str, role: Role) -> str:
    """text with its generated variables section replaced (or appended under ## Variables)."""
    table = variables_table(role)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + table + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n## Variables\n\n" + table + "\n"


def stale_readmes(roles_dir: Path = ROLES_DIR, *, write: bool = False) -> list[Path]:
    """READMEs whose variables section is not what the specs give (written when write)."""
    stale = []
    for role in load_roles(roles_dir):
        path = roles_dir / role.name / "README.md"
        if not path.is_file() or not role.options:
            continue
        text = path.read_text(encoding="utf-8")
        wanted = render_readme(text, role)
        if wanted != text:
            stale.append(path)
            if write:
                path.write_text(wanted, encoding="utf-8")
    return stale


def cmd_readme(args: argparse.Namespace) -> int:
    stale = stale_readmes(Path(args.roles), write=not args.check)
    if args.check and stale:
        raise ValidationError(
            f"role README variable tables out of date: {', '.join(map(str, stale))}",
            fix="run `opsproof roles readme` and commit the READMEs",
        )
    for path in stale:
        print(f"wrote {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    roles = {role.name: role for role in load_roles(Path(args.roles))}
    problems = [p for role in roles.values() for p in spec_problems(role)]
    problems += catalog_problems(_yaml(Path(args.catalog)) or {}, roles)
    for line in problems:
        print(line)
    if problems:
        raise ValidationError(
            f"{len(problems)} disagreement(s) between role defaults, specs and the catalog",
            fix="make meta/argument_specs.yml, defaults/main.yml and the catalog's setting agree",
        )
    print(f"ok: {len(roles)} roles, specs, defaults and catalog settings agree")
    return 0


def register(groups: Commands) -> None:
    sub = command_group(groups, "roles", help="role variables: specs, defaults, README tables")
    readme = sub.add_parser("readme", help="write each role README's variable table from its specs")
    readme.add_argument("--check", action="store_true", help="only say which are out of date")
    readme.add_argument("--roles", default=str(ROLES_DIR))
    readme.set_defaults(func=cmd_readme)
    check = sub.add_parser("check", help="specs, defaults and the catalog's settings agree")
    check.add_argument("--roles", default=str(ROLES_DIR))
    check.add_argument("--catalog", default="controls/catalog.yml")
    check.set_defaults(func=cmd_check)
