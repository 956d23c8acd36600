"""The drift gate: read an ansible-playbook log and fail when its recap shows changes.

`make compliance` runs the check-mode playbook (which changes nothing) and hands its log
here: any host with changed > 0 has drifted from the code, any failed or unreachable host
means the drift could not be measured.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from opsproof.errors import ConfigError, ValidationError

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
)
TASK = re.compile(r"^TASK \[(?P<task>.+?)\]", re.M)
CHANGED = re.compile(r"^changed: \[(?P<host>[^\]]+)\]", re.M)


@dataclass(frozen=True)
class HostRecap:
    host: str
    ok: int
    changed: int
    unreachable: int
    failed: int


def parse(text: str) -> list[HostRecap]:
    return [
        HostRecap(
            m["host"], int(m["ok"]), int(m["changed"]), int(m["unreachable"]), int(m["failed"])
        )
        for m in RECAP.finditer(text)
    ]


def drifted_tasks(text: str) -> list[tuple[str, str]]:
    """(host, task) for every task that reported a change."""
    out: list[tuple[str, str]] = []
    task = "?"
    for line in text.splitlines():
        if m := TASK.match(line):
            task = m["task"]
        elif m := CHANGED.match(line):
            out.append((m["host"], task))
    return out


def gate(log: Path, max_changed: int = 0) -> list[HostRecap]:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ConfigError(
            f"{log}: cannot read the playbook log: {err}", fix="run make check"
        ) from None
    recaps = parse(text)
    if not recaps:
        raise ValidationError(
            f"{log}: no PLAY RECAP found", fix="the check-mode run did not finish; read the log"
        )
    broken = [r.host for r in recaps if r.failed or r.unreachable]
    if broken:
        raise ValidationError(
            f"drift could not be measured on {', '.join(broken)} (failed or unreachable)",
            fix=f"read {log}",
        )
    drifted = [r for r in recaps if r.changed > max_changed]
    if drifted:
        tasks = "; ".join(f"{h}: {t}" for h, t in drifted_tasks(text)[:10])
        raise ValidationError(
            "drift from the code: "
            + ", ".join(f"{r.host} changed={r.changed}" for r in drifted)
            + (f" ({tasks})" if tasks else ""),
            fix="re-provision (make provision), or commit the change to the roles",
        )
    return recaps


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("drift", help="fail when a check-mode playbook log shows changes")
    parser.add_argument("log", type=Path, help="output of ansible-playbook --check")
    parser.add_argument("--max-changed", type=int, default=0, help="changes allowed per host")
    parser.set_defaults(func=cmd_drift)


def cmd_drift(args: argparse.Namespace) -> int:
    recaps = gate(args.log, args.max_changed)
    print(f"no drift on {len(recaps)} hosts: " + ", ".join(r.host for r in recaps))
    return 0
