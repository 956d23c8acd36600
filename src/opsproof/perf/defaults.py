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
    # the open model (perf-compare's default, `--rate`): arrival rates per persona
    rate: float = 0.0  # make loadtest: 0 = closed model (USERS at USER_RATE)
    compare_rate: float = 24.0  # perf-compare: task runs/s of the mix (the reference load)
    pacing_s: float = 5.0  # users per persona = its rate x this
    min_requests: int = 200  # per endpoint and profile; fewer: "too few to judge"
    # capacity (make capacity, perf-compare --capacity): geometric rate steps until the SLO breaks
    capacity_start: float = 10.0  # task runs/s of the first step
    capacity_factor: float = 1.5  # each step's rate = the previous one's x this
    capacity_max: float = 200.0  # no step above this rate
    capacity_step_s: float = 60.0
    capacity_pacing_s: float = 2.0
    capacity_mix: str = "natural"  # the traffic a capacity plan is for (not floored)
    slo_p95_ms: float = 500.0
    slo_error_rate: float = 0.01
    # perf-compare
    repeats: int = 3  # measured runs per profile
    warmup_run_s: float = 20.0  # unmeasured run after each profile switch
    # the generator ceiling (make loadtest-ceiling)
    ceiling_duration_s: float = 10.0
    ceiling_connections: int = 16


LOAD = LoadDefaults()
