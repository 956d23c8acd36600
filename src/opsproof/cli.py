"""Command line: `opsproof <group> <command>`; each group lives in its own module."""

from __future__ import annotations

import argparse
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsproof", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)
    # Each concern registers its own sub-commands; keep imports local to the group.
    from opsproof import (
        bench,
        drift,
        endpoint_latency,
        inventory_check,
        locks,
        role_variables,
        runlog,
    )
    from opsproof.chaos import runner as chaos_runner
    from opsproof.controls import cli as controls_cli
    from opsproof.dashboard import cli as dashboard_cli
    from opsproof.evidence import cli as evidence_cli
    from opsproof.lab import cli as lab_cli
    from opsproof.monitoring import availability
    from opsproof.perf import cli as perf_cli
    from opsproof.perf import explain_cli, tuning
    from opsproof.results import cli as results_cli

    lab_cli.register(groups)
    inventory_check.register(groups)
    results_cli.register(groups)
    endpoint_latency.register(groups)
    drift.register(groups)
    locks.register(groups)
    role_variables.register(groups)
    runlog.register(groups)
    bench.register(groups)
    evidence_cli.register(groups)
    controls_cli.register(groups)
    chaos_runner.register(groups)
    perf_cli.register(groups)
    explain_cli.register(groups)
    tuning.register(groups)
    dashboard_cli.register(groups)
    availability.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
    except OpsproofError as err:
        fatal(err)
    return rc


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
