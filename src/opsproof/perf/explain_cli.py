"""`opsproof explain`: EXPLAIN (ANALYZE, BUFFERS) of every declared index's query → results JSON.

Exit codes: 0 written (and, with --profile optimised, every declared index exists and its
query uses it); 1 written, but under optimised some index is missing or unused; 2 a bad
index file or option; 3 the db host or psql failed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from opsproof.cli import add_inventory_option
from opsproof.errors import ConfigError
from opsproof.perf.explain import PROFILES, capture_plans
from opsproof.perf.indexes import DEFAULT_INDEXES_DIR, load_indexes
from opsproof.results import ResultsDocument, run_meta_from_environment, write_results


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "explain",
        help="EXPLAIN (ANALYZE, BUFFERS) of the query each declared index serves (db host)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--profile", choices=PROFILES, help="tuning profile the database is in (make tune)"
    )
    parser.add_argument("--out", type=Path, help="results JSON to write")
    add_inventory_option(parser, help="Ansible inventory")
    parser.add_argument(
        "--indexes-dir",
        type=Path,
        default=DEFAULT_INDEXES_DIR,
        help="declared indexes, one <subsystem>.yml each",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the index files (no host is contacted); --profile/--out not needed",
    )
    parser.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.check:
        indexes = load_indexes(args.indexes_dir)
        subsystems = sorted({i.subsystem for i in indexes})
        print(f"ok {len(indexes)} declared indexes in {args.indexes_dir} ({', '.join(subsystems)})")
        return 0
    if args.profile is None or args.out is None:
        raise ConfigError(
            "opsproof explain needs --profile and --out",
            fix="e.g. opsproof explain --profile optimised --out reports/perf/plans.json",
        )
    meta = run_meta_from_environment(
        "explain", inventory=args.inventory, conditions={"profile": args.profile}
    )
    plans = capture_plans(args.inventory, args.profile, indexes_dir=args.indexes_dir)
    hosts = tuple(sorted({p.host for p in plans}))
    document = ResultsDocument(run=replace(meta.finished(), hosts=hosts), results=tuple(plans))
    write_results(document, args.out)
    width = max(len(p.index) for p in plans)
    for plan in plans:
        used = "uses" if plan.index_used else ("unused" if plan.index_exists else "absent")
        blocks = plan.shared_hit_blocks + plan.shared_read_blocks
        print(
            f"{plan.subsystem:<11} {plan.index:<{width}} {used:<6} "
            f"{plan.execution_ms:9.2f} ms {blocks:>8} buffers",
            file=sys.stderr,
        )
    print(f"wrote {args.out} ({len(plans)} plans, profile {args.profile})", file=sys.stderr)
    if args.profile == "optimised":
        bad = [p.index for p in plans if not p.index_used]
        if bad:
            print(
                f"opsproof explain: {len(bad)} declared index(es) not used by their query: "
                f"{', '.join(bad)}",
                file=sys.stderr,
            )
            return 1
    return 0
