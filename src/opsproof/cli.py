"""Command line: `opsproof <group> <command>`; each group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TypeAlias

from opsproof import endpoints
from opsproof.errors import OpsproofError, fatal

# What `add_subparsers` returns: `opsproof`'s groups, or one group's commands.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command_group(groups: Commands, name: str, *, help: str) -> Commands:
    """`opsproof <name> <command>`: the group's parser, which must be given a command."""
    return subcommands(groups.add_parser(name, help=help))


def subcommands(group: argparse.ArgumentParser) -> Commands:
    """The commands of a group whose parser has options of its own (`opsproof lab --spec`);
    the command chosen lands in `args.command`."""
    return group.add_subparsers(dest="command", required=True)


def add_inventory_option(
    parser: argparse.ArgumentParser, *, short: bool = True, help: str | None = None
) -> None:
    """`-i/--inventory DIR` (`--inventory` alone with short=False), default the lab's."""
    flags = ("-i", "--inventory") if short else ("--inventory",)
    parser.add_argument(*flags, default=endpoints.DEFAULT_INVENTORY, help=help)


# `opsproof <group>` -> the module that registers it (its `register(groups)`), in help order.
# Only the group asked for is imported: each `make provision` runs four commands, and
# importing every group (Locust's, jsonschema's and requests' trees) cost ~0.3 s each.
GROUPS: dict[str, str] = {
    "lab": "opsproof.lab.cli",
    "inventory": "opsproof.inventory_check",
    "results": "opsproof.results.cli",
    "probe": "opsproof.endpoint_latency",
    "drift": "opsproof.drift",
    "lock-path": "opsproof.locks",
    "roles": "opsproof.role_variables",
    "runlog": "opsproof.runlog",
    "bench": "opsproof.bench",
    "evidence": "opsproof.evidence.cli",
    "controls": "opsproof.controls.cli",
    "chaos": "opsproof.chaos.runner",
    "perf": "opsproof.perf.cli",
    "explain": "opsproof.perf.explain_cli",
    "tune": "opsproof.perf.tuning",
    "dashboard": "opsproof.dashboard.cli",
    "availability": "opsproof.monitoring.availability",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every group's parser, or (only=<group>) just that group's: the rest are not imported."""
    parser = argparse.ArgumentParser(prog="opsproof", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)
    for name, module in GROUPS.items():
        if only in (None, name):
            importlib.import_module(module).register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if not w.startswith("-")), None)
    parser = build_parser(first if first in GROUPS else None)
    args = parser.parse_args(words)
    try:
        rc: int = args.func(args)
    except OpsproofError as err:
        fatal(err)
    return rc


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
