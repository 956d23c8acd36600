"""Capacity: per-step figures from the request log, the knee, and the ratio between profiles.

Pure functions (no hosts, no clock). A capacity run (loadtests/shape.py with --steps) writes
in stages.json, per step, its offered rate, when it began, when its measured window began
(after it settled) and when it ended. `step_rows` computes each step's figures from every
request that started in its measured window (nearest-rank percentiles, opsproof.perf.stats);
`verdict` finds the knee: the highest offered rate whose step stayed within the SLO
(p95 <= slo_p95_ms and error rate < slo_error_rate) before the first step that did not.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof.errors import ConfigError, PreconditionError
from opsproof.perf.requestlog import STAGES_FILE, Request, Window
from opsproof.perf.stats import percentile
from opsproof.results import CapacityResult, CapacityStep

# Endpoints with fewer requests than this in a step are not named as its slowest.
SLOWEST_MIN_REQUESTS = 5
# A step whose achieved request rate is below this share of the offered task rate did not
# get the load it was meant to get (the generator or the users' pacing fell behind).
UNDER_DELIVERED = 0.9


@dataclass(frozen=True)
class StepWindow:
    step: int  # from 1
    rate: float  # offered task runs per second
    window: Window


def read_steps(run_dir: Path) -> list[StepWindow]:
    """The completed steps recorded in run_dir/stages.json."""
    path = run_dir / STAGES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = data["steps"]
        out = [
            StepWindow(
                i + 1,
                float(s["rate"]),
                Window(
                    float(s["start"]), float(s.get("measured_from", s["start"])), float(s["end"])
                ),
            )
            for i, s in enumerate(steps)
            if "end" in s
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PreconditionError(
            f"{path}: no capacity steps ({err})",
            fix="the capacity shape did not finish; look at locust.log in that directory",
        ) from None
    if not out:
        raise PreconditionError(
            f"{path}: no completed step", fix="look at locust.log in that directory"
        )
    return out


def step_rows(
    requests: Iterable[Request],
    windows: Sequence[StepWindow],
    *,
    profile: str,
    slo_p95_ms: float,
    slo_error_rate: float,
) -> list[CapacityStep]:
    """Each step's figures from the requests that started in its measured window."""
    by_step: dict[int, list[Request]] = defaultdict(list)
    for r in requests:
        for w in windows:
            if w.window.measures(r.start):
                by_step[w.step].append(r)
                break
    rows = []
    for w in windows:
        reqs = by_step.get(w.step, [])
        times = sorted(r.ms for r in reqs)
        failures = sum(1 for r in reqs if not r.ok)
        n = len(reqs)
        p95 = percentile(times, 95)
        error_rate = failures / n if n else 0.0
        measured_s = w.window.measured_s
        achieved = n / measured_s if measured_s > 0 else 0.0
        reasons = []
        if p95 is None:
            reasons.append("no request answered in the step")
        elif p95 > slo_p95_ms:
            reasons.append(f"p95 {p95:.0f} ms > {slo_p95_ms:g} ms")
        if error_rate >= slo_error_rate:
            reasons.append(f"errors {error_rate:.2%} >= {slo_error_rate:.2%}")
        if achieved < UNDER_DELIVERED * w.rate:
            reasons.append(
                f"only {achieved:.1f} of {w.rate:g} offered runs/s were sent: the users' "
                "pacing fell behind (answers slower than the pacing interval)"
            )
        rows.append(
            CapacityStep(
                profile=profile,
                step=w.step,
                offered_rps=w.rate,
                achieved_rps=round(achieved, 3),
                requests=n,
                failures=failures,
                error_rate=round(error_rate, 6),
                p50_ms=_r(percentile(times, 50)),
                p95_ms=_r(p95),
                p99_ms=_r(percentile(times, 99)),
                duration_s=round(measured_s, 3),
                within_slo=not reasons,
                reason="; ".join(reasons) or None,
                slowest=_slowest(reqs),
            )
        )
    return rows


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _slowest(reqs: Sequence[Request]) -> str | None:
    by_name: dict[str, list[float]] = defaultdict(list)
    for r in reqs:
        by_name[f"{r.method} {r.name}"].append(r.ms)
    judged = {
        name: percentile(sorted(times), 95)
        for name, times in by_name.items()
        if len(times) >= SLOWEST_MIN_REQUESTS
    }
    if not judged:
        return None
    name, p95 = max(judged.items(), key=lambda kv: (kv[1] or 0.0, kv[0]))
    return f"{name} (p95 {p95:.0f} ms)"


def verdict(
    rows: Sequence[CapacityStep], *, profile: str, slo_p95_ms: float, slo_error_rate: float
) -> CapacityResult:
    """The knee: the last step within the SLO before the first that broke it."""
    ordered = sorted(rows, key=lambda r: r.step)
    knee: CapacityStep | None = None
    broke: CapacityStep | None = None
    for row in ordered:
        if not row.within_slo:
            broke = row
            break
        knee = row
    if broke is not None:
        reason = f"step {broke.step} ({broke.offered_rps:g} runs/s): {broke.reason}"
    elif ordered:
        reason = (
            f"no step broke the SLO up to {ordered[-1].offered_rps:g} runs/s (the last step): "
            "the capacity is at least that"
        )
    else:
        reason = "no step was measured"
    return CapacityResult(
        profile=profile,
        knee_rps=knee.offered_rps if knee else None,
        knee_achieved_rps=knee.achieved_rps if knee else None,
        broke_step=broke.step if broke else None,
        broke_rps=broke.offered_rps if broke else None,
        reason=reason,
        slo_p95_ms=slo_p95_ms,
        slo_error_rate=slo_error_rate,
        steps=len(ordered),
    )


def ratio(baseline: CapacityResult | None, candidate: CapacityResult | None) -> float | None:
    """candidate knee / baseline knee (None when either has no knee)."""
    if baseline is None or candidate is None or not baseline.knee_rps:
        return None
    if candidate.knee_rps is None:
        return None
    return candidate.knee_rps / baseline.knee_rps


def step_rates(start: float, factor: float, maximum: float) -> tuple[float, ...]:
    """Geometric steps start, startxfactor, … up to maximum (at most 30), rounded to 0.1."""
    if start <= 0 or factor <= 1 or maximum < start:
        raise ConfigError(
            f"capacity steps from {start} by x{factor} up to {maximum}",
            fix="CAP_START > 0, CAP_FACTOR > 1, CAP_MAX >= CAP_START",
        )
    out: list[float] = []
    rate = start
    while rate <= maximum * (1 + 1e-9) and len(out) < 30:
        out.append(round(rate, 1))
        rate *= factor
    return tuple(out)
