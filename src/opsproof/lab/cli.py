"""`opsproof lab up|status|down|destroy|inventory`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from opsproof.cli import Commands, subcommands
from opsproof.lab import budget, host, hosts_yml, ops
from opsproof.lab.config import load_spec
from opsproof.lab.state import lab_paths

DEFAULT_SPEC = Path("inventories/lab/lab.yml")


def _log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def _hosts_file(spec_path: Path) -> Path:
    return spec_path.with_name("hosts.yml")


def cmd_up(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    t0 = time.monotonic()
    ops.up(spec, lab_paths(), _hosts_file(args.spec), _log)
    _log(f"up: {len(spec.hosts)} hosts ready in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    rows = ops.status(spec, lab_paths())
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        print(f"{'HOST':8} {'STATE':8} {'ADDRESS':15} {'SSH':4} PID")
        for r in rows:
            print(
                f"{r.name:8} {r.state:8} {r.address:15} {'yes' if r.ssh else 'no':4} {r.pid or '-'}"
            )
    return 0 if all(r.state == "running" and r.ssh for r in rows) else 1


def cmd_down(args: argparse.Namespace) -> int:
    ops.down(load_spec(args.spec), lab_paths(), _log)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    ops.destroy(load_spec(args.spec), lab_paths(), _log)
    return 0


def cmd_inventory(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    target = _hosts_file(args.spec)
    if args.write:
        hosts_yml.write(spec, target)
        _log(f"wrote {target}")
    else:
        hosts_yml.check(spec, target)
        _log(f"{target} agrees with {args.spec}")
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    """The memory budget (hosts' limits + the control node's reserve vs the machine) and each
    running host's measured usage, as JSON; exit 1 when it does not fit."""
    spec = load_spec(args.spec)
    paths = lab_paths()
    b = budget.budget(spec, budget.machine_mb())
    measured: dict[str, budget.Usage | None] = {}
    for h in spec.hosts:
        pid = host.supervisor_pid(paths, h.name)
        measured[h.name] = budget.usage_mb(pid) if pid else None
    print(budget.report(b, measured))
    return 0 if b.fits else 1


def register(groups: Commands) -> None:
    lab = groups.add_parser("lab", help="the local lab of Debian 12 hosts")
    lab.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="lab description (lab.yml)")
    sub = subcommands(lab)
    sub.add_parser("up", help="create and start the lab (idempotent)").set_defaults(func=cmd_up)
    st = sub.add_parser("status", help="each host's state, address and ssh")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    sub.add_parser("down", help="stop the hosts, keep their disks").set_defaults(func=cmd_down)
    sub.add_parser("destroy", help="remove everything the lab created").set_defaults(
        func=cmd_destroy
    )
    sub.add_parser(
        "budget", help="memory: hosts' limits + controller reserve vs the machine (JSON)"
    ).set_defaults(func=cmd_budget)
    inv = sub.add_parser("inventory", help="check (or --write) hosts.yml against lab.yml")
    inv.add_argument("--write", action="store_true")
    inv.set_defaults(func=cmd_inventory)
