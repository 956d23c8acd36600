"""The load-test defaults, in one place: `opsproof perf …`, the locustfile and the Makefile
(which passes only what the user set) all take them from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadDefaults:
    users: int = 24
    # spawn rate: users started per second; unset = all users in the first second (= users)
    warmup_s: float = 10.0  # warm-up stage of a run, not measured
    steady_s: float = 60.0  # measured stage
    user_rate: float = 1.0  # task runs per second of each user (0 = no pause)
    mix: str = "floored"  # persona shares (opsproof.perf.mix.MIXES)
    workers: int = 0  # Locust worker processes on this machine (0 = one process)
    apdex_t_s: float = 0.5
    # perf-compare
    repeats: int = 3  # measured runs per profile
    warmup_run_s: float = 20.0  # unmeasured run after each profile switch
    # the generator ceiling (make loadtest-ceiling)
    ceiling_duration_s: float = 10.0
    ceiling_connections: int = 16


LOAD = LoadDefaults()
