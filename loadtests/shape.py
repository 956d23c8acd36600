"""The load shape: a warm-up stage, then a steady stage that is measured.

Users and spawn rate come from Locust's own options (-u/-r, or the dashboard's form);
the stage durations from --warmup and --steady. At the start of the steady stage the
shape resets Locust's statistics (so its CSV/HTML show the steady stage) and records the
stage boundaries in stages.json beside the request log, which the statistics read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from locust import LoadTestShape

from loadtests import pacing
from opsproof.perf import mix
from opsproof.perf.requestlog import STAGES_FILE


def steps(options: Any) -> list[float]:
    """The capacity steps' rates (task runs/s) from --steps, [] when there are none."""
    text = str(getattr(options, "steps", "") or "")
    return [float(v) for v in text.replace(",", " ").split()]


class WarmupThenSteady(LoadTestShape):
    """Warm-up then steady; with --steps, warm-up then one step per rate (capacity).

    A capacity step sets each persona's arrival rate (opsproof.perf.mix.plan_rates of the
    step's total), lets it settle for a tenth of the step (at most 10 s), resets Locust's
    statistics and, at the step's end, stops the run when the step broke the SLO by
    Locust's own figures (p95 > --slo-p95 ms or error ratio >= --slo-errors). opsproof
    recomputes every figure from the request log; this check only ends the run early.
    """

    use_common_options = True

    def __init__(self) -> None:
        super().__init__()
        self._stage = ""
        self._marks: dict[str, Any] = {}
        self._step = -1
        self._settled = False
        self._steps: list[dict[str, Any]] = []

    def _write(self) -> None:
        options = self.runner.environment.parsed_options if self.runner else None
        log_dir = getattr(options, "request_log", "") if options else ""
        if log_dir and {"warmup_start", "steady_start", "end"} <= self._marks.keys():
            data = dict(self._marks)
            if self._steps:
                data["steps"] = self._steps
            path = Path(log_dir) / STAGES_FILE
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def _mark(self, stage: str) -> None:
        self._stage = stage
        self._marks[stage] = time.time()
        self._write()

    def _set_step_rate(self, options: Any, rate: float) -> None:
        tags = set(options.tags) if options.tags else None
        plans = mix.plan_rates(
            rate,
            mix.shares(options.mix, tags),
            floor=float(options.task_floor),
            pacing_s=float(options.pacing),
        )
        for name, plan in plans.items():
            pacing.set_rate(name, plan.rate)

    @staticmethod
    def _users(options: Any) -> tuple[int, float]:
        users = int(options.num_users or 1)
        return users, float(options.spawn_rate or users)

    def _warming(self, options: Any, run_time: float, rate: float | None = None) -> bool:
        """True during the warm-up; its first tick marks it (and sets the first step's rate)."""
        if run_time >= float(options.warmup):
            return False
        if not self._stage:
            if rate is not None:
                self._set_step_rate(options, rate)
            self._mark("warmup_start")
        return True

    def _step_tick(self, options: Any, rates: list[float]) -> tuple[int, float] | None:
        users, spawn_rate = self._users(options)
        warmup, step_s = float(options.warmup), float(options.step_time)
        run_time = self.get_run_time()
        if self._warming(options, run_time, rates[0]):
            return users, spawn_rate
        index = int((run_time - warmup) // step_s)
        if index != self._step:
            now = time.time()
            if self._steps:
                last = self._steps[-1]
                last["end"] = now
                stats = self.runner.stats.total
                p95 = stats.get_response_time_percentile(0.95) if stats.num_requests else None
                last["locust_p95_ms"] = p95
                last["locust_error_ratio"] = stats.fail_ratio
                last["locust_requests"] = stats.num_requests
                broke = (p95 is not None and p95 > float(options.slo_p95)) or (
                    stats.fail_ratio >= float(options.slo_errors)
                )
                last["broke"] = broke
                if broke or index >= len(rates):
                    self._marks["end"] = now
                    self._stage = "end"
                    self._write()
                    return None
            if not self._stage or self._stage == "warmup_start":
                self._mark("steady_start")
            self._step = index
            self._settled = False
            self._set_step_rate(options, rates[index])
            self._steps.append({"rate": rates[index], "start": now})
        settle = min(10.0, step_s / 10)
        if not self._settled and run_time - warmup - index * step_s >= settle:
            self.runner.stats.reset_all()
            self._steps[-1]["measured_from"] = time.time()
            self._settled = True
        return users, spawn_rate

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:
            return None
        if self._stage == "end":
            return None
        rates = steps(options)
        if rates:
            return self._step_tick(options, rates)
        users, spawn_rate = self._users(options)
        warmup, steady = float(options.warmup), float(options.steady)
        run_time = self.get_run_time()
        if self._warming(options, run_time):
            return users, spawn_rate
        if run_time < warmup + steady:
            if self._stage != "steady_start":
                if not self._stage:
                    self._mark("warmup_start")
                self.runner.stats.reset_all()
                self._mark("steady_start")
            return users, spawn_rate
        if self._stage != "end":
            self._mark("end")
        return None
