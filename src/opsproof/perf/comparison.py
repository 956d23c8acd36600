"""perf-compare's statistics, pure functions of the rows (no hosts, no files, no clock).

`comparisons`: per endpoint, subsystem and in total, the candidate/baseline ratio of a metric
over the repetitions with its bootstrap interval (opsproof.perf.stats); `check_consistency`:
the problems that would make a report lie (sums, means, ratios that do not add up). The runs
that produce the rows are orchestrated by opsproof.perf.compare.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from opsproof.perf import stats
from opsproof.results import Comparison, LoadResult, ResultsDocument


def comparisons(
    rows: Sequence[LoadResult],
    baseline: str,
    candidate: str,
    *,
    metric: str = "p95_ms",
    seed: int = 20181231,
    resamples: int = 2000,
    confidence: float = 0.95,
    min_requests: int = 1,
) -> list[Comparison]:
    """candidate/baseline of `metric` for every endpoint, subsystem and the total.

    A row group with fewer than `min_requests` requests (summed over the repetitions) under
    either profile is too few to judge: it gets no comparison (see `too_few`).
    """
    values: dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    few = set(too_few(rows, baseline, candidate, min_requests))
    for r in rows:
        value = getattr(r, metric)
        if value is not None and r.profile in (baseline, candidate):
            values[(r.scope, r.subsystem, r.endpoint)][r.profile].append((r.repetition, value))
    out = []
    for (scope, subsystem, endpoint), by_profile in sorted(values.items(), key=_scope_order):
        if (scope, subsystem, endpoint) in few:
            continue
        base = [v for _, v in sorted(by_profile.get(baseline, []))]
        cand = [v for _, v in sorted(by_profile.get(candidate, []))]
        if not base or not cand:
            continue
        interval = stats.bootstrap_ratio(
            base, cand, confidence=confidence, resamples=resamples, seed=seed
        )
        out.append(
            Comparison(
                scope=scope,  # type: ignore[arg-type]
                subsystem=subsystem,
                endpoint=endpoint,
                metric=metric,
                baseline_profile=baseline,
                candidate_profile=candidate,
                baseline_values=tuple(base),
                candidate_values=tuple(cand),
                baseline=stats.mean(base),
                candidate=stats.mean(cand),
                ratio=interval.ratio,
                ci_low=_round(interval.low, 6),
                ci_high=_round(interval.high, 6),
                confidence=confidence,
                resamples=resamples,
                seed=seed,
            )
        )
    return out


def requests_per_profile(rows: Sequence[LoadResult], key: tuple[str, str, str]) -> dict[str, int]:
    """Requests of one row group per profile, summed over the repetitions."""
    out: dict[str, int] = defaultdict(int)
    for r in rows:
        if (r.scope, r.subsystem, r.endpoint) == key:
            out[r.profile] += r.requests
    return dict(out)


def too_few(
    rows: Sequence[LoadResult], baseline: str, candidate: str, min_requests: int
) -> list[tuple[str, str, str]]:
    """Row groups (scope, subsystem, endpoint) with < min_requests under either profile."""
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        sums[(r.scope, r.subsystem, r.endpoint)][r.profile] += r.requests
    return sorted(
        key
        for key, by_profile in sums.items()
        if min(by_profile.get(baseline, 0), by_profile.get(candidate, 0)) < min_requests
    )


def _scope_order(item: tuple[tuple[str, str, str], Any]) -> tuple[int, str, str]:
    scope, subsystem, endpoint = item[0]
    return ({"total": 0, "subsystem": 1, "endpoint": 2}[scope], subsystem, endpoint)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def check_consistency(doc: ResultsDocument) -> list[str]:
    """Problems that would make the report lie; empty when the numbers add up.

    Per profile and repetition: endpoint rows sum to their subsystem row and subsystem rows
    to the total (requests and failures); failures <= requests; error_rate =
    failures/requests. Per comparison: its values are the rows' values in repetition order,
    baseline/candidate are their means and ratio = candidate / baseline.
    """
    problems: list[str] = []
    loads = [r for r in doc.results if isinstance(r, LoadResult)]
    runs: dict[tuple[str, int], list[LoadResult]] = defaultdict(list)
    for r in loads:
        runs[(r.profile, r.repetition)].append(r)
        where = f"{r.profile} #{r.repetition} {r.scope} {r.subsystem} {r.endpoint}"
        if r.failures > r.requests:
            problems.append(f"{where}: failures {r.failures} > requests {r.requests}")
        if r.requests and abs(r.error_rate - r.failures / r.requests) > 1e-6:
            problems.append(f"{where}: error_rate {r.error_rate} != failures/requests")
    for (profile, rep), rows in sorted(runs.items()):
        subsystems = {r.subsystem: r for r in rows if r.scope == "subsystem"}
        totals = [r for r in rows if r.scope == "total"]
        if len(totals) != 1:
            problems.append(f"{profile} #{rep}: {len(totals)} total rows (expected 1)")
            continue
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            if r.scope == "endpoint":
                sums[r.subsystem][0] += r.requests
                sums[r.subsystem][1] += r.failures
        for name in sorted(set(sums) | set(subsystems)):
            row = subsystems.get(name)
            got = (row.requests, row.failures) if row else (0, 0)
            if tuple(sums[name]) != got:
                problems.append(
                    f"{profile} #{rep} {name}: endpoints sum to {tuple(sums[name])} "
                    f"(requests, failures), the subsystem row says {got}"
                )
        total = totals[0]
        sub_sum = (
            sum(r.requests for r in subsystems.values()),
            sum(r.failures for r in subsystems.values()),
        )
        if sub_sum != (total.requests, total.failures):
            problems.append(
                f"{profile} #{rep}: subsystems sum to {sub_sum}, the total row says "
                f"{(total.requests, total.failures)}"
            )
    index = {(r.profile, r.repetition, r.scope, r.subsystem, r.endpoint): r for r in loads}
    for c in (r for r in doc.results if isinstance(r, Comparison)):
        where = f"comparison {c.scope} {c.subsystem} {c.endpoint} {c.metric}"
        for profile, shown in (
            (c.baseline_profile, c.baseline_values),
            (c.candidate_profile, c.candidate_values),
        ):
            reps = sorted(
                (rep, getattr(row, c.metric))
                for (p, rep, scope, sub, ep), row in index.items()
                if (p, scope, sub, ep) == (profile, c.scope, c.subsystem, c.endpoint)
                and getattr(row, c.metric) is not None
            )
            if [v for _, v in reps] != list(shown):
                problems.append(f"{where}: {profile} values {list(shown)} != rows {reps}")
        for label, shown_mean, vals in (
            ("baseline", c.baseline, c.baseline_values),
            ("candidate", c.candidate, c.candidate_values),
        ):
            want = stats.mean(vals)
            if want is not None and (shown_mean is None or abs(shown_mean - want) > 1e-3):
                problems.append(f"{where}: {label} {shown_mean} != mean {want}")
        if c.baseline and c.candidate is not None:
            want_ratio = c.candidate / c.baseline
            if c.ratio is None or abs(c.ratio - want_ratio) > 1e-6 * max(1.0, want_ratio):
                problems.append(f"{where}: ratio {c.ratio} != {c.candidate}/{c.baseline}")
        if c.ci_low is not None and c.ci_high is not None and c.ci_low > c.ci_high:
            problems.append(f"{where}: interval [{c.ci_low}, {c.ci_high}] is reversed")
    return problems
