"""`opsproof results ...`: work with results files."""

from __future__ import annotations

import argparse

from opsproof.cli import command_group
from opsproof.errors import OpsproofError
from opsproof.results.validate import load_results


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = command_group(groups, "results", help="results files in the opsproof results schema")

    validate = commands.add_parser(
        "validate", help="check results files against the results schema"
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="results JSON file")
    validate.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    """Print `ok FILE` for each valid file; raise the first failure, naming every bad file."""
    failures: list[tuple[str, OpsproofError]] = []
    for name in args.files:
        try:
            load_results(name)
        except OpsproofError as err:
            failures.append((name, err))
            continue
        print(f"ok {name}")
    if not failures:
        return 0
    _, first = failures[0]
    if len(failures) == 1:
        raise first
    others = ", ".join(name for name, _ in failures[1:])
    raise type(first)(f"{first.message} (also invalid: {others})", fix=first.fix)
