"""Open-model pacing: each persona's users share an arrival rate, whatever the answers take.

A persona offered R task runs per second with N users paces each user at N / R seconds:
the user starts a task, and its next one `interval` seconds after the previous start
(a random phase first, so users do not fire together). A slow answer does not lower the
rate as long as it is shorter than the interval (users = rate x pacing, PACING 5 s by
default, 2 s for capacity steps); a user whose answer took longer starts its next task at
once and keeps no debt, so the generator never bursts. The achieved rate is measured from
the request log and shown beside the offered one. The shape changes the rate per step
(`set_rate`) in this process; the user count stays fixed.
"""

from __future__ import annotations

import random
import time
from typing import Any

from opsproof.perf.mix import PersonaRate

# persona -> offered task runs per second now (changed by the capacity shape per step)
RATES: dict[str, float] = {}


def set_rate(subsystem: str, rate: float) -> None:
    RATES[subsystem] = rate


def interval_of(cls: Any) -> float:
    """Seconds between one user's arrivals: its persona's users / its rate now."""
    rate = RATES.get(cls.subsystem, 0.0)
    count = max(1, int(getattr(cls, "fixed_count", 0) or 1))
    return count / rate if rate > 0 else 1.0


def is_paced(user: Any) -> bool:
    """Whether this module paces the user (open model). Such a user's first wait_time, taken in
    on_start, is a random phase in one interval (see paced): users started together spread over
    one interval instead of arriving as a burst; its first task then runs at once."""
    return getattr(type(user), "wait_time", None) is paced


def paced(user: Any) -> float:
    """Locust wait_time: seconds until this user's next arrival slot."""
    interval = interval_of(type(user))
    now = time.monotonic()
    slot = getattr(user, "_next_slot", None)
    slot = now + random.uniform(0, interval) if slot is None else slot + interval
    if slot < now:  # the last answer overran the interval: start now, keep no debt
        slot = now
    user._next_slot = slot
    return slot - now


def apply(cls: Any, plan: PersonaRate) -> None:
    """Give a persona class its users, task weights and paced wait time."""
    # Locust imports gevent's monkey-patching: this module does not import it (unit tests).
    by_name = {t.__name__: t for t in dict.fromkeys(cls.tasks)}
    tasks: list[Any] = []
    for name, weight in plan.weights.items():
        tasks += [by_name[name]] * weight
    cls.tasks = tasks
    cls.fixed_count = plan.users
    cls.wait_time = paced
    set_rate(plan.subsystem, plan.rate)
