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

from locust import LoadTestShape

from opsproof.perf.requestlog import STAGES_FILE


class WarmupThenSteady(LoadTestShape):
    use_common_options = True

    def __init__(self) -> None:
        super().__init__()
        self._stage = ""
        self._marks: dict[str, float] = {}

    def _mark(self, stage: str) -> None:
        self._stage = stage
        self._marks[stage] = time.time()
        options = self.runner.environment.parsed_options if self.runner else None
        log_dir = getattr(options, "request_log", "") if options else ""
        if log_dir and {"warmup_start", "steady_start", "end"} <= self._marks.keys():
            path = Path(log_dir) / STAGES_FILE
            path.write_text(json.dumps(self._marks, indent=2) + "\n", encoding="utf-8")

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        if options is None:
            return None
        users = int(options.num_users or 1)
        spawn_rate = float(options.spawn_rate or users)
        warmup, steady = float(options.warmup), float(options.steady)
        run_time = self.get_run_time()
        if run_time < warmup:
            if not self._stage:
                self._mark("warmup_start")
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
