"""The steady state: every subsystem's health endpoint answers 200 through nginx, and the p95
of a short, bounded probe load stays under a threshold.

`steady_state` is the hypothesis probe of every experiment (tolerance: true);
`wait_for_steady_state` is the method's last probe: it gives the platform a bounded window to
recover by itself after the fault and reports how long that took.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from opsproof.chaos import context

SUBSYSTEMS = ("sharing", "intake", "investment", "publishing", "reporting", "oa")
HEALTH_PATHS = ("/health", *(f"/api/{s}/health" for s in SUBSYSTEMS))


@dataclass(frozen=True)
class Round:
    """One round of health requests, all sent at once."""

    started: float  # epoch seconds
    ok: bool
    latencies_ms: tuple[float, ...]
    errors: int


def _one(session: requests.Session, url: str, timeout: float) -> tuple[bool, float]:
    start = time.monotonic()
    try:
        ok = session.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        ok = False
    return ok, (time.monotonic() - start) * 1000


def health_round(
    session: requests.Session, base: str, pool: ThreadPoolExecutor, timeout: float = 3.0
) -> Round:
    started = time.time()
    answers = list(pool.map(lambda p: _one(session, base + p, timeout), HEALTH_PATHS))
    errors = sum(1 for ok, _ in answers if not ok)
    return Round(started, errors == 0, tuple(ms for _, ms in answers), errors)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 n)
    return ordered[rank - 1]


def steady_state(p95_threshold_ms: float | str = 500, rounds: int | str = 5) -> bool:
    """All health endpoints answer 200 in every one of `rounds` rounds, and the p95 of
    their latencies is under the threshold. (Values from the experiment's configuration
    arrive as strings.)"""
    threshold, count = float(p95_threshold_ms), int(rounds)
    session = context.session()
    base = context.base_url()
    latencies: list[float] = []
    with ThreadPoolExecutor(len(HEALTH_PATHS)) as pool:
        for _ in range(max(1, min(count, 50))):
            r = health_round(session, base, pool)
            if not r.ok:
                return False
            latencies += r.latencies_ms
            time.sleep(0.2)
    return p95(latencies) < threshold


def wait_for_steady_state(
    timeout_s: float | str = 90, p95_threshold_ms: float | str = 500
) -> dict[str, Any]:
    """Poll until the steady state holds (bounded by timeout_s). Returns when it held and
    how long the wait took; `recovered: false` is a finding, not an error."""
    start = time.time()
    deadline = start + max(1.0, min(float(timeout_s), 900))
    while time.time() < deadline:
        if steady_state(p95_threshold_ms, rounds=2):
            return {"recovered": True, "recovered_at": time.time(), "waited_s": time.time() - start}
        time.sleep(0.5)
    return {"recovered": False, "recovered_at": None, "waited_s": time.time() - start}
