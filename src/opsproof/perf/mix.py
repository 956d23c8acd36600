"""The traffic mix of docs/load-mix.md as data, and how many users each persona gets.

Persona shares are shares of requests. Every Locust user of every persona runs at the same
pace (task runs per second), so a persona's share of requests is its share of users. Short
runs use the "floored" mix (every persona at least 3 %, the difference taken from
publishing, as docs/load-mix.md recommends); "natural" is the mix of the 2018 figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opsproof.errors import ConfigError

SUBSYSTEMS = ("sharing", "intake", "investment", "publishing", "reporting", "oa")

MIXES: Mapping[str, Mapping[str, float]] = {
    "natural": {
        "publishing": 87.7,
        "oa": 5.2,
        "investment": 2.6,
        "sharing": 2.4,
        "intake": 1.5,
        "reporting": 0.6,
    },
    "floored": {
        "publishing": 82,
        "oa": 6,
        "investment": 3,
        "sharing": 3,
        "intake": 3,
        "reporting": 3,
    },
}


def shares(mix: str, only: Iterable[str] | None = None) -> dict[str, float]:
    """Persona shares (summing to 1) of the named mix, restricted to `only` if given."""
    if mix not in MIXES:
        raise ConfigError(f"unknown mix {mix!r}", fix=f"use one of {', '.join(sorted(MIXES))}")
    weights = dict(MIXES[mix])
    if only is not None:
        wanted = set(only)
        unknown = wanted - set(SUBSYSTEMS)
        if unknown:
            raise ConfigError(
                f"unknown subsystem tag(s) {', '.join(sorted(unknown))}",
                fix=f"tags are subsystem names: {', '.join(SUBSYSTEMS)}",
            )
        weights = {name: w for name, w in weights.items() if name in wanted}
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


def allocate(users: int, persona_shares: Mapping[str, float]) -> dict[str, int]:
    """Users per persona: at least one each, the rest by largest remainder of the shares.

    Deterministic (ties go to the persona named first in SUBSYSTEMS order).
    """
    names = [n for n in SUBSYSTEMS if n in persona_shares]
    if users < len(names):
        raise ConfigError(
            f"{users} users cannot cover {len(names)} personas",
            fix=f"use at least {len(names)} users (USERS=), or fewer subsystems (TAGS=)",
        )
    counts = {n: 1 for n in names}
    rest = users - len(names)
    # The ideal count of each persona, less the one user it already has.
    ideal = {n: max(0.0, users * persona_shares[n] - 1) for n in names}
    total_ideal = sum(ideal.values())
    if rest and total_ideal > 0:
        scaled = {n: rest * ideal[n] / total_ideal for n in names}
        floors = {n: math.floor(v) for n, v in scaled.items()}
        for n in names:
            counts[n] += floors[n]
        left = rest - sum(floors.values())
        order = sorted(names, key=lambda n: (-(scaled[n] - floors[n]), names.index(n)))
        for n in order[:left]:
            counts[n] += 1
    elif rest:
        for i in range(rest):
            counts[names[i % len(names)]] += 1
    return counts


# --- the open model: arrival rates per persona and per task -------------------------------

# Task weights inside each persona (loadtests/personas.py's @task weights, x10 of
# docs/load-mix.md; tests/unit/test_perf_rates.py checks the two agree).
TASK_WEIGHTS: Mapping[str, Mapping[str, int]] = {
    "publishing": {
        "read_article": 665,
        "list_category": 222,
        "most_read": 67,
        "search_articles": 44,
        "publish": 2,
    },
    "oa": {
        "inbox": 299,
        "open_document": 299,
        "approve": 272,
        "forward": 27,
        "new_document": 52,
        "find_documents": 52,
    },
    "sharing": {"read_notice": 615, "list_notices": 308, "search_notices": 64, "send_notice": 13},
    "intake": {"read_report": 485, "list_reports": 324, "register_report": 162, "stats": 29},
    "investment": {"filter_projects": 615, "read_project": 307, "record_project": 61, "stats": 17},
    "reporting": {"list_submissions": 571, "submit": 286, "period_summary": 143},
}
# Tasks whose requests spread over several endpoints (find_documents: the list or search).
FANOUT: Mapping[str, int] = {"oa.find_documents": 2}
# Task weights are rebuilt as integers out of this total (Locust picks from a list).
WEIGHT_TOTAL = 1000


@dataclass(frozen=True)
class PersonaRate:
    """One persona's arrivals: task runs per second, its users and its task weights."""

    subsystem: str
    rate: float  # task runs per second (offered)
    users: int  # users that share the rate (each paced at users / rate seconds)
    weights: Mapping[str, int]  # task -> integer weight (out of ~WEIGHT_TOTAL)

    @property
    def interval_s(self) -> float:
        return self.users / self.rate if self.rate > 0 else 0.0

    def task_rates(self) -> dict[str, float]:
        total = sum(self.weights.values())
        return {t: self.rate * w / total for t, w in self.weights.items()}


def task_floor(min_requests: int, measured_s: float, margin: float = 1.1) -> float:
    """The task rate (runs/s) that gives `min_requests` per endpoint over `measured_s`."""
    if min_requests <= 0 or measured_s <= 0:
        return 0.0
    return margin * min_requests / measured_s


def plan_rates(
    total_rate: float,
    persona_shares: Mapping[str, float],
    *,
    floor: float = 0.0,
    pacing_s: float = 5.0,
) -> dict[str, PersonaRate]:
    """Arrival rates per persona: the mix's share of `total_rate`, each task raised to `floor`.

    A task's natural rate is total_rate x persona share x task weight; a task below `floor`
    runs/s (times its fan-out) is raised to it, so every endpoint collects enough requests
    for a percentile, and the persona's rate is the sum of its tasks'. Each persona gets
    ceil(rate x pacing_s) users, each starting a task every users/rate seconds: a response
    slower than that interval delays its user's next arrival (the limit of the open model).
    """
    if total_rate <= 0 or pacing_s <= 0:
        raise ConfigError(
            f"rate {total_rate} and pacing {pacing_s} must be > 0",
            fix="set RATE (task runs per second) and PACING (s) above 0",
        )
    out: dict[str, PersonaRate] = {}
    for name in (n for n in SUBSYSTEMS if n in persona_shares):
        natural = TASK_WEIGHTS[name]
        weight_sum = sum(natural.values())
        rates = {
            t: max(
                total_rate * persona_shares[name] * w / weight_sum,
                floor * FANOUT.get(f"{name}.{t}", 1),
            )
            for t, w in natural.items()
        }
        rate = sum(rates.values())
        weights = {t: max(1, round(WEIGHT_TOTAL * r / rate)) for t, r in rates.items()}
        users = max(1, math.ceil(rate * pacing_s))
        out[name] = PersonaRate(name, rate, users, weights)
    return out
