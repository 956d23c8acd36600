"""`opsproof availability`: each subsystem's availability over a month from the blackbox
probes (probe_success) in Prometheus, against the SLO, with the error budget left -> a
results file (run kind `availability`, one `availability` row per subsystem).

A subsystem is up when its probes succeed: both its /health (job blackbox_health) and one
read through nginx (blackbox_read). Its availability is the lower of the two probes' success
ratios (avg_over_time of probe_success) over the part of the period Prometheus holds (its
retention covers a month); `covered_s` says how much that is. The error budget is the
downtime the SLO allows over the whole period, (1 - SLO) x period; `budget_left` is the share
of it not yet spent (negative: overspent).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.cli import add_inventory_option
from opsproof.errors import ConfigError, OpsproofError
from opsproof.evidence.period import TZ, Period
from opsproof.results import (
    AvailabilityResult,
    ResultsDocument,
    run_meta_from_environment,
    write_results,
)

JOBS = ("blackbox_health", "blackbox_read")
SUBSYSTEMS = ("sharing", "intake", "investment", "publishing", "reporting", "oa")
DEFAULT_SLO = 0.999


@dataclass(frozen=True)
class ProbeRatio:
    """One probe job's figures for one subsystem over the window."""

    subsystem: str
    job: str
    success_ratio: float
    samples: int


def window(period: Period, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The part of the period that has begun: [start, min(end, now)]."""
    end = min(period.end, now.astimezone(TZ))
    if end <= period.start:
        raise ConfigError(
            f"period {period.name} has not begun", fix="choose this month or an earlier one"
        )
    return period.start, end


def queries(range_s: int) -> dict[str, str]:
    """The two instant queries, evaluated at the window's end over its length."""
    selector = f'probe_success{{job=~"{"|".join(JOBS)}"}}'
    return {
        "ratio": f"avg_over_time({selector}[{range_s}s])",
        "samples": f"count_over_time({selector}[{range_s}s])",
    }


def probe_ratios(
    ratio: Sequence[Mapping[str, Any]], samples: Sequence[Mapping[str, Any]]
) -> list[ProbeRatio]:
    """Join the two query answers on (subsystem, job); a target probed from two Prometheus
    instances would appear twice: the instance label is not part of the key (one ops host)."""
    counts = {_key(s): int(float(s["value"][1])) for s in samples}
    out = [ProbeRatio(*_key(r), float(r["value"][1]), counts.get(_key(r), 0)) for r in ratio]
    return sorted(out, key=lambda p: (p.subsystem, p.job))


def _key(item: Mapping[str, Any]) -> tuple[str, str]:
    return item["metric"].get("subsystem", ""), item["metric"].get("job", "")


def rows(
    probes: Sequence[ProbeRatio],
    *,
    slo: float,
    period: Period,
    start: dt.datetime,
    end: dt.datetime,
    interval_s: float,
    subsystems: Sequence[str] = SUBSYSTEMS,
) -> list[AvailabilityResult]:
    """One row per subsystem (a subsystem without probes: availability None, a finding)."""
    if not 0 < slo < 1:
        raise ConfigError(f"SLO {slo} is not a ratio between 0 and 1", fix="e.g. SLO=0.999")
    period_s = (period.end - period.start).total_seconds()
    window_s = (end - start).total_seconds()
    budget_s = (1 - slo) * period_s
    out = []
    for name in subsystems:
        mine = [p for p in probes if p.subsystem == name]
        # The row of a subsystem without probes; with probes, their figures replace its own.
        row = AvailabilityResult(
            subsystem=name,
            period=period.name,
            window_start=start,
            window_end=end,
            slo=slo,
            availability=None,
            samples=0,
            covered_s=0.0,
            downtime_s=None,
            budget_s=round(budget_s, 1),
            budget_left_s=None,
            budget_left=None,
            within_slo=None,
            finding=f"no probe_success series of {name} in Prometheus",
        )
        if mine:
            missing = [job for job in JOBS if job not in {p.job for p in mine}]
            availability = min(p.success_ratio for p in mine)
            samples = min(p.samples for p in mine)
            covered = min(window_s, samples * interval_s)
            downtime = (1 - availability) * covered
            left_s = budget_s - downtime
            row = dataclasses.replace(
                row,
                availability=round(availability, 6),
                samples=samples,
                covered_s=round(covered, 1),
                downtime_s=round(downtime, 1),
                budget_left_s=round(left_s, 1),
                budget_left=round(left_s / budget_s, 4),
                within_slo=availability >= slo,
                finding=f"no {', '.join(missing)} probe" if missing else None,
            )
        out.append(row)
    return out


def scrape_interval_s(targets: Mapping[str, Any]) -> float:
    """The blackbox jobs' scrape interval, from /api/v1/targets."""
    seen = {
        t.get("scrapeInterval")
        for t in targets.get("activeTargets", [])
        if t.get("labels", {}).get("job") in JOBS
    }
    seen.discard(None)
    if not seen:
        raise OpsproofError(
            "Prometheus has no active blackbox_health/blackbox_read target",
            fix="check the prometheus role's scrape configuration (`make provision`)",
        )
    return max(_seconds(str(s)) for s in seen)


def _seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for suffix in ("ms", "s", "m", "h", "d"):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * units[suffix]
    raise OpsproofError(f"Prometheus scrape interval {text!r} not understood", fix="report it")


def measure(inventory: str, period: Period, slo: float, now: dt.datetime) -> ResultsDocument:
    from opsproof.monitoring import prometheus

    prom = prometheus.locate(inventory)
    start, end = window(period, now)
    range_s = max(1, int((end - start).total_seconds()))
    meta = run_meta_from_environment(
        "availability",
        inventory=inventory,
        hosts=[prom.target.name],
        conditions={
            "period": period.name,
            "slo": slo,
            "prometheus": prom.base_url,
            "jobs": list(JOBS),
        },
    )
    q = queries(range_s)
    at = f"{end.timestamp():.3f}"
    ratio, samples, targets = prom.ask(
        [
            ("/api/v1/query", {"query": q["ratio"], "time": at}),
            ("/api/v1/query", {"query": q["samples"], "time": at}),
            ("/api/v1/targets", {"state": "active"}),
        ]
    )
    interval = scrape_interval_s(targets)
    probes = probe_ratios(ratio["result"], samples["result"])
    results = rows(probes, slo=slo, period=period, start=start, end=end, interval_s=interval)
    meta = meta.finished()
    conditions = {**meta.conditions, "scrape_interval_s": interval, "range_s": range_s}
    return ResultsDocument(
        run=dataclasses.replace(meta, conditions=conditions), results=tuple(results)
    )


def summary(doc: ResultsDocument) -> str:
    lines = [
        f"availability {doc.run.conditions.get('period')} (SLO {doc.run.conditions.get('slo')}):"
    ]
    for r in doc.results:
        if not isinstance(r, AvailabilityResult):
            continue
        if r.availability is None:
            lines.append(f"  {r.subsystem:<11} no data ({r.finding})")
            continue
        left = "n/a" if r.budget_left is None else f"{100 * r.budget_left:.1f} %"
        lines.append(
            f"  {r.subsystem:<11} {100 * r.availability:8.4f} %  "
            f"{'within' if r.within_slo else 'BELOW'} SLO, budget left {left} "
            f"({r.samples} probes over {r.covered_s / 3600:.1f} h)"
        )
    return "\n".join(lines)


def cmd_availability(args: argparse.Namespace) -> int:
    period = Period.parse(args.period) if args.period else Period.current()
    doc = measure(args.inventory, period, args.slo, dt.datetime.now(TZ))
    write_results(doc, args.out)
    print(summary(doc))
    print(f"wrote {args.out}", file=sys.stderr)
    below = [r for r in doc.results if isinstance(r, AvailabilityResult) and r.within_slo is False]
    return 1 if below and args.gate else 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = groups.add_parser(
        "availability",
        help="each subsystem's availability from Prometheus's probes vs the SLO -> results JSON",
    )
    add_inventory_option(p)
    p.add_argument("--period", default="", help="YYYY-MM (default: this month, Asia/Shanghai)")
    p.add_argument("--slo", type=float, default=DEFAULT_SLO, help="default 0.999")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--gate", action="store_true", help="exit 1 when a subsystem is below the SLO")
    p.set_defaults(func=cmd_availability)
