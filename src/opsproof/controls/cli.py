"""`opsproof controls ...`: the hardening controls catalog."""

from __future__ import annotations

import argparse
import enum
import json
from pathlib import Path

from opsproof.cli import subcommands
from opsproof.controls.catalog import DEFAULT_CATALOG, load_catalog
from opsproof.controls.model import LAYERS, Control


class ListFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("controls", help="the hardening controls catalog")
    parser.add_argument(
        "--catalog", type=Path, default=DEFAULT_CATALOG, help="controls catalog (catalog.yml)"
    )
    commands = subcommands(parser)

    lst = commands.add_parser("list", help="list the controls, one per line or as JSON")
    lst.add_argument("--layer", choices=LAYERS, help="only the controls of this layer")
    lst.add_argument(
        "--format", type=ListFormat, choices=list(ListFormat), default=ListFormat.TABLE
    )
    lst.set_defaults(func=cmd_list)

    check = commands.add_parser(
        "check", help="validate the catalog and print the counts per layer and severity"
    )
    check.set_defaults(func=cmd_check)


def _row(control: Control) -> dict[str, object]:
    return {
        "id": control.id,
        "layer": control.layer,
        "severity": control.severity,
        "title_en": control.title.en,
        "title_zh": control.title.zh,
        "role": control.role,
        "variable": control.variable,
        "setting_variable": control.setting.variable if control.setting else None,
        "lab_applies": control.lab.applies,
        "lab_reason": control.lab.reason,
        "cis": list(control.references.cis),
        "mlps": list(control.references.mlps),
        "mlps_test": list(control.references.mlps_test),
    }


def cmd_list(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    controls = catalog.in_layer(args.layer) if args.layer else catalog.controls
    if args.format is ListFormat.JSON:
        print(json.dumps([_row(c) for c in controls], ensure_ascii=False, indent=2))
        return 0
    width = max((len(c.id) for c in controls), default=2)
    for c in controls:
        lab = "" if c.lab.applies else "  [not in lab]"
        print(f"{c.id:<{width}}  {c.severity:<8}  {c.variable:<40}  {c.title.en}{lab}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    print(
        f"ok {args.catalog}: {len(catalog.controls)} controls (catalog version {catalog.version})"
    )
    print("per layer:    " + ", ".join(f"{k} {v}" for k, v in catalog.count_by_layer().items()))
    print("per severity: " + ", ".join(f"{k} {v}" for k, v in catalog.count_by_severity().items()))
    print(f"not applicable in the lab: {len(catalog.not_in_lab())}")
    return 0
