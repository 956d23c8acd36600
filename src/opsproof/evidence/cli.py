"""`opsproof evidence build|verify`: the evidence pack for a period, and its verification.

build exits 0 when every source was found; 1 when evidence is missing (each gap one line,
the pack still built with those goals shown as "no evidence"); 2 a malformed survey or
incident file (pack built) or a bad KPI rules file / PERIOD (nothing built); 3 an unreadable
host or inventory (pack built without its records).
verify exits 0 when the pack is intact (and, with --allowed-signers, its signature good);
1 naming each edited, missing, extra or symlinked file, or a bad signature; 2 when DIR is
not a pack or the allowed-signers file is unreadable; 3 without ssh-keygen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from opsproof.cli import add_inventory_option, command_group
from opsproof.errors import ConfigError
from opsproof.evidence import sign, sums
from opsproof.evidence.period import Period
from opsproof.results import current_operator

REPO = Path(__file__).resolve().parents[3]


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = command_group(groups, "evidence", help="the evidence pack: build and verify")
    b = commands.add_parser("build", help="build reports/evidence/<period>/ from runs on disk")
    b.add_argument("--period", help="YYYY-MM or YYYY (default: the current month)")
    b.add_argument("--out-root", type=Path, default=REPO / "reports/evidence")
    b.add_argument(
        "--source",
        type=Path,
        action="append",
        help="folder to search for runs (repeatable; default reports/)",
    )
    b.add_argument("--rules", type=Path, default=REPO / "evidence/kpi.yml")
    add_inventory_option(b)
    b.add_argument("--lang", choices=("zh", "en"), default="zh")
    b.add_argument("--survey", type=Path, help="satisfaction survey CSV (date,respondent,rating)")
    b.add_argument("--incidents", type=Path, help="incident log CSV (start,detected,recovered,…)")
    b.add_argument("--sign-key", type=Path, help="SSH private key to sign SHA256SUMS with")
    b.add_argument("--force", action="store_true", help="replace an existing pack")
    b.add_argument("--no-hosts", action="store_true", help="do not read the hosts' records")
    b.set_defaults(func=cmd_build)
    v = commands.add_parser("verify", help="check a pack against its sums (and signature)")
    v.add_argument("dir", type=Path)
    v.add_argument("--allowed-signers", type=Path, help="trusted keys (ssh-keygen -Y verify)")
    v.set_defaults(func=cmd_verify)


def cmd_build(args: argparse.Namespace) -> int:
    # Lazy: trestle and WeasyPrint take ~0.3 s to import, and every opsproof command
    # builds this parser (make provision calls opsproof several times).
    from opsproof.evidence.build import BuildOptions, build

    period = Period.parse(args.period) if args.period else Period.current()
    started = time.monotonic()
    built = build(
        BuildOptions(
            period=period,
            out_root=args.out_root,
            sources=tuple(args.source or [REPO / "reports"]),
            rules=args.rules,
            inventory=args.inventory,
            lang=args.lang,
            survey=args.survey,
            incidents=args.incidents,
            sign_key=args.sign_key,
            force=args.force,
            read_hosts=not args.no_hosts,
            prepared_by=current_operator(),
        )
    )
    met = sum(1 for g in built.goals if g.met)
    print(
        f"wrote {built.directory}/ ({built.files} files, {met}/{len(built.goals)} goals met, "
        f"{time.monotonic() - started:.1f} s)",
        file=sys.stderr,
    )
    for gap in built.gaps:
        print(f"opsproof: error: {gap}", file=sys.stderr)
    return max((g.code for g in built.gaps), default=0)


def cmd_verify(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir() or not (root / "SHA256SUMS").exists():
        raise ConfigError(f"{root} is not an evidence pack (no SHA256SUMS)", fix="pass a pack dir")
    if args.allowed_signers is not None and not args.allowed_signers.is_file():
        raise ConfigError(f"{args.allowed_signers}: not found", fix="pass an allowed-signers file")
    findings = sums.verify(root)
    for f in findings:
        print(f"opsproof: error: {root}: {f}", file=sys.stderr)
    bad_sig = None
    if args.allowed_signers is not None:
        bad_sig = sign.verify(root, args.allowed_signers)
        if bad_sig:
            print(f"opsproof: error: {root}: signature: {bad_sig}", file=sys.stderr)
    elif (root / sign.SIG).exists():
        print(f"{root}: signature not checked (pass --allowed-signers)", file=sys.stderr)
    if findings or bad_sig:
        return 1
    print(f"ok {root}: {len(sums.summed_files(root))} files match SHA256SUMS and SM3SUMS")
    return 0
