"""The regression gate: compare two results files endpoint by endpoint.

An endpoint regresses when its p95 (mean over the repetitions) grew by more than the p95
threshold (a fraction: 0.2 = 20 %), or its error rate (failures / requests over all
repetitions) grew by more than the error threshold (an absolute fraction), or it was
measured in BASE (at least --min-requests times) and is missing from NEW. Endpoints with
fewer requests than --min-requests in either file are listed as skipped, not judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsproof.errors import ConfigError
from opsproof.results import LoadResult, ResultsDocument

Key = tuple[str, str, str]  # subsystem, endpoint, method


@dataclass(frozen=True)
class EndpointFigures:
    requests: int
    failures: int
    p95_ms: float | None  # mean over repetitions

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Verdict:
    key: Key
    status: str  # ok, regressed, missing, skipped
    reasons: tuple[str, ...]
    base: EndpointFigures | None
    new: EndpointFigures | None

    @property
    def label(self) -> str:
        subsystem, endpoint, method = self.key
        return f"{method} {endpoint} ({subsystem})"


def profiles_of(doc: ResultsDocument) -> list[str]:
    seen: dict[str, None] = {}
    for r in doc.results:
        if isinstance(r, LoadResult):
            seen.setdefault(r.profile, None)
    return list(seen)


def endpoint_figures(
    doc: ResultsDocument, profile: str | None, *, source: str
) -> tuple[str, dict[Key, EndpointFigures]]:
    """Per endpoint figures of one profile of a document (default: its last profile)."""
    profiles = profiles_of(doc)
    if not profiles:
        raise ConfigError(
            f"{source}: no load results in it",
            fix="pass the results.json of `make loadtest` or `make perf-compare`",
        )
    chosen = profile or profiles[-1]
    if chosen not in profiles:
        raise ConfigError(
            f"{source}: no load results for profile {chosen!r} (it has {', '.join(profiles)})",
            fix="pick one of those with --base-profile / --new-profile",
        )
    rows: dict[Key, list[LoadResult]] = defaultdict(list)
    for r in doc.results:
        if isinstance(r, LoadResult) and r.scope == "endpoint" and r.profile == chosen:
            rows[(r.subsystem, r.endpoint, r.method)].append(r)
    figures = {}
    for key, reps in rows.items():
        p95s = [r.p95_ms for r in reps if r.p95_ms is not None]
        figures[key] = EndpointFigures(
            requests=sum(r.requests for r in reps),
            failures=sum(r.failures for r in reps),
            p95_ms=sum(p95s) / len(p95s) if p95s else None,
        )
    return chosen, figures


def judge(
    base: dict[Key, EndpointFigures],
    new: dict[Key, EndpointFigures],
    *,
    p95_threshold: float = 0.2,
    error_threshold: float = 0.01,
    min_requests: int = 20,
) -> list[Verdict]:
    if p95_threshold < 0 or not 0 <= error_threshold <= 1 or min_requests < 0:
        raise ConfigError(
            "thresholds out of range",
            fix="--p95-threshold >= 0, --error-threshold in [0, 1], --min-requests >= 0",
        )
    verdicts = []
    for key in sorted(base):
        b, n = base[key], new.get(key)
        if n is None:
            if b.requests < min_requests:  # rare in BASE: its absence may be chance
                why = f"{b.requests} requests in BASE < {min_requests}, none in NEW"
                verdicts.append(Verdict(key, "skipped", (why,), b, None))
            else:
                verdicts.append(Verdict(key, "missing", ("not measured in NEW",), b, None))
            continue
        if b.requests < min_requests or n.requests < min_requests:
            why = f"{b.requests} / {n.requests} requests < {min_requests}"
            verdicts.append(Verdict(key, "skipped", (why,), b, n))
            continue
        reasons = []
        if b.p95_ms is not None and n.p95_ms is not None and b.p95_ms > 0:
            growth = n.p95_ms / b.p95_ms - 1
            if growth > p95_threshold:
                reasons.append(
                    f"p95 {b.p95_ms:.1f} -> {n.p95_ms:.1f} ms (+{growth:.0%} > {p95_threshold:.0%})"
                )
        if n.error_rate - b.error_rate > error_threshold:
            reasons.append(
                f"error rate {b.error_rate:.2%} -> {n.error_rate:.2%} "
                f"(+{n.error_rate - b.error_rate:.2%} > {error_threshold:.2%})"
            )
        verdicts.append(Verdict(key, "regressed" if reasons else "ok", tuple(reasons), b, n))
    return verdicts


def failed(verdicts: Iterable[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status in ("regressed", "missing")]


def render(verdicts: Sequence[Verdict], base_profile: str, new_profile: str) -> str:
    lines = [f"gate: BASE profile {base_profile}, NEW profile {new_profile}"]
    for v in verdicts:
        if v.status != "ok":
            lines.append(f"{v.status.upper():9} {v.label}: {'; '.join(v.reasons)}")
    bad = failed(verdicts)
    judged = sum(1 for v in verdicts if v.status != "skipped")
    if bad:
        lines.append(f"gate: FAIL — {len(bad)} of {judged} endpoints regressed or missing")
    else:
        lines.append(f"gate: ok — {judged} endpoints within thresholds")
    return "\n".join(lines)
