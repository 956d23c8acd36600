"""The drift gate: read an ansible-playbook log and fail when its recap shows changes.

`make compliance` runs the check-mode playbook (which changes nothing) and hands its log
here: any host with changed > 0 has drifted from the code, any failed or unreachable host
means the drift could not be measured. The log is read by `opsproof.playbook_log`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from opsproof import playbook_log
from opsproof.errors import ValidationError
from opsproof.playbook_log import HostRecap


def gate(log: Path, max_changed: int = 0) -> list[HostRecap]:
    read = playbook_log.read(log, what="the check-mode run")
    recaps = list(read.recaps)
    broken = [r.host for r in recaps if r.failed or r.unreachable]
    if broken:
        raise ValidationError(
            f"drift could not be measured on {', '.join(broken)} (failed or unreachable)",
            fix=f"read {log}",
        )
    drifted = [r for r in recaps if r.changed > max_changed]
    if drifted:
        tasks = "; ".join(f"{h}: {t}" for h, t in playbook_log.changed_tasks(read.text)[:10])
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
