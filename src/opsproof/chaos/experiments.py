"""The chaos/*.json experiments, generated: what they share is written once, here; what
each does on its own (title, fault, its action and rollback) in chaos/experiments.yml.

Shared by every experiment: the configuration (thresholds from the environment), the
steady-state hypothesis, the "platform recovers by itself" probe after the fault, the
`opsproof` extension naming fault, target and mechanism. Shared by the process faults: the
"restarted by systemd" probe and the "service active" rollback. The hosts are the groups
playbooks/site.yml places the roles on (opsproof.placement), the units those the chaos
faults know (faults_process.ROLE_SERVICES).

The files stay plain Chaos Toolkit experiments that `chaos run` accepts as they are; they are
checked in, and a unit test fails when one differs from what this module generates:

    .venv/bin/python -m opsproof.chaos.experiments --write   # after editing this module
    .venv/bin/python -m opsproof.chaos.experiments --check   # exit 1 naming stale files
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from opsproof import placement
from opsproof.chaos.faults_process import ROLE_SERVICES

CHAOS_DIR = Path(__file__).resolve().parents[3] / "chaos"
SOURCE = CHAOS_DIR / "experiments.yml"
VERSION = "1.0.0"
PACKAGE = "opsproof.chaos"

CONFIGURATION: Mapping[str, Any] = {
    "p95_threshold_ms": {"type": "env", "key": "OPSPROOF_CHAOS_P95_MS", "default": "2000"},
    "recovery_timeout_s": {"type": "env", "key": "OPSPROOF_CHAOS_RECOVERY_S", "default": "120"},
}


def _provider(module: str, func: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "python", "module": f"{PACKAGE}.{module}", "func": func, "arguments": arguments}


def action(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": name, "provider": _provider(module, func, arguments)}


def probe(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "probe", "name": name, "provider": _provider(module, func, arguments)}


STEADY_STATE: Mapping[str, Any] = {
    "title": "every subsystem's /health answers 200 through nginx and the p95 of a short "
    "probe load is under the threshold",
    "probes": [
        {
            **probe(
                "platform-healthy",
                "steady",
                "steady_state",
                p95_threshold_ms="${p95_threshold_ms}",
                rounds=10,
            ),
            "tolerance": True,
        }
    ],
}
RECOVERS = probe(
    "platform-recovers-by-itself",
    "steady",
    "wait_for_steady_state",
    timeout_s="${recovery_timeout_s}",
    p95_threshold_ms="${p95_threshold_ms}",
)


def group(role: str) -> str:
    """The group (its name) that runs `role`, from playbooks/site.yml."""
    return placement.group_of(role)


def on(role: str) -> str:
    """An experiment's host argument: the first host of the role's group."""
    return f"group:{group(role)}"


def unit(role: str) -> str:
    return ROLE_SERVICES[role][0]


def restarted_by_systemd(role: str) -> dict[str, Any]:
    return probe(
        "restarted-by-systemd", "faults_process", "service_state", host=on(role), unit=unit(role)
    )


def service_active(role: str) -> dict[str, Any]:
    return action(
        f"{unit(role)}-active", "faults_process", "ensure_active", host=on(role), unit=unit(role)
    )


_TOKEN = re.compile(r"<(on|group|unit) ([a-z_]+)>")


def _fill(value: Any) -> Any:
    """Replace the tokens <on ROLE>, <group ROLE>, <unit ROLE> (chaos/experiments.yml)."""
    if isinstance(value, str):
        kinds = {"on": on, "group": group, "unit": unit}
        return _TOKEN.sub(lambda m: kinds[m.group(1)](m.group(2)), value)
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    return value


def _step(kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """An action or probe from `{name, func: module.function, arguments}`, or a shared one."""
    if "restarted_by_systemd" in spec:
        return restarted_by_systemd(spec["restarted_by_systemd"])
    if "service_active" in spec:
        return service_active(spec["service_active"])
    module, func = str(spec["func"]).split(".")
    build = action if kind == "action" else probe
    return build(spec["name"], module, func, **_fill(spec.get("arguments") or {}))


def _extension_extras(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The optional extension fields an experiment may name (chaos/experiments.yml)."""
    keys = ("recover_within_s", "alert", "alert_none_reason")
    return {key: _fill(spec[key]) for key in keys if key in spec}


def experiment(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One experiment: its fault action, then the shared recovery probe (and `after`)."""
    method = _step("action", spec["method"])
    return {
        "version": VERSION,
        "title": spec["title"],
        "description": spec["description"],
        "tags": ["opsproof", *_fill(spec["tags"])],
        "extensions": [
            {
                "name": "opsproof",
                "fault": spec["fault"],
                "target": method["provider"]["arguments"]["host"],
                "mechanism": _fill(spec["mechanism"]),
                **_extension_extras(spec),
            }
        ],
        "configuration": dict(CONFIGURATION),
        "steady-state-hypothesis": dict(STEADY_STATE),
        "method": [method, RECOVERS, *(_step("probe", s) for s in spec.get("after") or [])],
        "rollbacks": [_step("action", s) for s in spec["rollbacks"]],
    }


def experiments(source: Path = SOURCE) -> dict[str, dict[str, Any]]:
    """file stem -> the experiment document, from chaos/experiments.yml."""
    specs = yaml.safe_load(source.read_text(encoding="utf-8"))
    return {name: experiment(spec) for name, spec in specs.items()}


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def stale(directory: Path = CHAOS_DIR) -> list[str]:
    """The files in `directory` that differ from the generated ones (missing, edited, extra)."""
    wanted = {f"{name}.json": render(doc) for name, doc in experiments().items()}
    present = {p.name for p in directory.glob("*.json")}
    problems = [name for name in sorted(present - wanted.keys())]
    for name, text in sorted(wanted.items()):
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    return problems


def write(directory: Path = CHAOS_DIR) -> list[Path]:
    """Write every generated experiment whose file differs; the paths written."""
    written = []
    for name, doc in experiments().items():
        path = directory / f"{name}.json"
        text = render(doc)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opsproof.chaos.experiments")
    parser.add_argument("--dir", type=Path, default=CHAOS_DIR)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the experiments")
    mode.add_argument("--check", action="store_true", help="exit 1 naming stale files")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.dir):
            print(f"wrote {path}")
        return 0
    problems = stale(args.dir)
    for name in problems:
        print(f"{args.dir / name}: not what opsproof.chaos.experiments generates", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
