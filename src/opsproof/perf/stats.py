"""Statistics of a load run: percentiles, Apdex, per-endpoint figures, bootstrap intervals.

Methods (stated in every report):
- Percentiles are nearest-rank on every request of the measured stage: the p-th percentile
  is the smallest response time such that at least p % of the requests took no longer
  (rank ceil(p/100 * n)); it is always a time that was observed.
- Apdex with threshold T: (satisfied + tolerating / 2) / all, where satisfied took <= T,
  tolerating <= 4 T; failed requests count as frustrated whatever their time.
- The ratio of a metric between two profiles is the ratio of its means over the
  repetitions; its confidence interval is a percentile bootstrap: resample each profile's
  repetitions with replacement (same count), take the ratio of the means, repeat, and read
  the (1-c)/2 and (1+c)/2 quantiles. The RNG is seeded, so a report is reproducible.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsproof.perf.requestlog import Request, Window
from opsproof.results import LoadResult
from opsproof.results.model import Scope

_SUBSYSTEM = re.compile(r"/api/([a-z]+)")


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence; None when it is empty."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is outside (0, 100]")
    if not ordered:
        return None
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def apdex(times_ms: Iterable[float], failures: int, t_s: float) -> float | None:
    """Apdex of the successful requests' times plus `failures` frustrated ones."""
    t_ms = t_s * 1000
    satisfied = tolerating = total = 0
    for ms in times_ms:
        total += 1
        if ms <= t_ms:
            satisfied += 1
        elif ms <= 4 * t_ms:
            tolerating += 1
    total += failures
    if total == 0:
        return None
    return (satisfied + tolerating / 2) / total


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class RatioInterval:
    ratio: float | None
    low: float | None
    high: float | None


def bootstrap_ratio(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 20181231,
) -> RatioInterval:
    """mean(candidate) / mean(baseline) with a seeded percentile-bootstrap interval."""
    base_mean, cand_mean = mean(baseline), mean(candidate)
    if base_mean is None or cand_mean is None or base_mean <= 0:
        return RatioInterval(None, None, None)
    ratio = cand_mean / base_mean
    rng = random.Random(seed)
    draws: list[float] = []
    for _ in range(resamples):
        b = sum(rng.choice(baseline) for _ in baseline) / len(baseline)
        c = sum(rng.choice(candidate) for _ in candidate) / len(candidate)
        if b > 0:
            draws.append(c / b)
    if not draws:
        return RatioInterval(ratio, None, None)
    draws.sort()
    alpha = (1 - confidence) / 2
    return RatioInterval(ratio, _quantile(draws, alpha), _quantile(draws, 1 - alpha))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (q in [0, 1]) of an ascending non-empty sequence."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def subsystem_of(name: str) -> str:
    """The subsystem a request name belongs to: /api/<slug>/…, else 'platform'."""
    found = _SUBSYSTEM.search(name)
    return found.group(1) if found else "platform"


@dataclass(frozen=True)
class RunContext:
    profile: str
    repetition: int
    duration_s: float
    apdex_t_s: float


def _figures(
    requests: Sequence[Request],
    ctx: RunContext,
    *,
    scope: Scope,
    subsystem: str,
    endpoint: str,
    method: str,
) -> LoadResult:
    ok_times = sorted(r.ms for r in requests if r.ok)
    all_times = sorted(r.ms for r in requests)
    failures = sum(1 for r in requests if not r.ok)
    n = len(requests)

    def rounded(value: float | None, digits: int = 2) -> float | None:
        return None if value is None else round(value, digits)

    score = apdex(ok_times, failures, ctx.apdex_t_s)
    duration_s = ctx.duration_s
    return LoadResult(
        scope=scope,
        subsystem=subsystem,
        endpoint=endpoint,
        method=method,
        profile=ctx.profile,
        repetition=ctx.repetition,
        requests=n,
        failures=failures,
        # Latency percentiles over every request, failed ones included (a slow error is slow).
        p50_ms=rounded(percentile(all_times, 50)),
        p95_ms=rounded(percentile(all_times, 95)),
        p99_ms=rounded(percentile(all_times, 99)),
        mean_ms=rounded(mean(all_times)),
        max_ms=rounded(all_times[-1] if all_times else None),
        rps=round(n / duration_s, 3) if duration_s > 0 else 0.0,
        error_rate=round(failures / n, 6) if n else 0.0,
        apdex=rounded(score, 4),
        apdex_t_s=ctx.apdex_t_s,
        duration_s=round(duration_s, 3),
    )


def summarise(
    requests: Iterable[Request],
    stages: Window,
    *,
    profile: str,
    repetition: int,
    apdex_t_s: float,
) -> list[LoadResult]:
    """Rows per endpoint, per subsystem and for the run, from the steady stage's requests."""
    steady = [r for r in requests if stages.measures(r.start)]
    ctx = RunContext(profile, repetition, stages.measured_s, apdex_t_s)
    by_endpoint: dict[tuple[str, str], list[Request]] = defaultdict(list)
    by_subsystem: dict[str, list[Request]] = defaultdict(list)
    for r in steady:
        by_endpoint[(r.name, r.method)].append(r)
        by_subsystem[subsystem_of(r.name)].append(r)
    rows = [
        _figures(reqs, ctx, scope="endpoint", subsystem=subsystem_of(n), endpoint=n, method=m)
        for (n, m), reqs in sorted(by_endpoint.items())
    ]
    rows += [
        _figures(reqs, ctx, scope="subsystem", subsystem=sub, endpoint="*", method="*")
        for sub, reqs in sorted(by_subsystem.items())
    ]
    rows.append(_figures(steady, ctx, scope="total", subsystem="*", endpoint="*", method="*"))
    return rows
