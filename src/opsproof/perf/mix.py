"""The traffic mix of docs/load-mix.md as data, and how many users each persona gets.

Persona shares are shares of requests. Every Locust user of every persona runs at the same
pace (task runs per second), so a persona's share of requests is its share of users. Short
runs use the "floored" mix (every persona at least 3 %, the difference taken from
publishing, as docs/load-mix.md recommends); "natural" is the mix of the 2018 figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

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
