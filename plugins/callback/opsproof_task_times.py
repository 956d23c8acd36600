"""Per host, when each task started and ended: JSON lines for `opsproof runlog` and `bench`.

profile_tasks stamps the log when a task starts. That is each task's wall time when the hosts
go through a play in lock step (the linear strategy), and nothing usable when each host goes at
its own pace (the free strategy of site.yml's side-by-side play): the stamps of different hosts'
tasks interleave. This callback keeps, per host, the start (`v2_runner_on_start`) and the end
(the result) of every task and handler, and when the run ends writes them, one JSON object per
line, to each file named in OPSPROOF_TASK_TIMES (paths separated by ':'); without it, nothing.
Read by `opsproof.playbook_log.read_task_times`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
  name: opsproof_task_times
  type: aggregate
  short_description: each task's start and end per host, as JSON lines
  description:
    - Writes play, strategy, role, task, host, start, end (epoch seconds) and status of every
      task and handler to the files named in the environment variable OPSPROOF_TASK_TIMES when
      the run ends.
  requirements:
    - enable in callbacks_enabled (ansible.cfg)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "opsproof_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._paths = [p for p in os.environ.get("OPSPROOF_TASK_TIMES", "").split(":") if p]
        self._play = ""
        self._strategy = ""
        self._started: dict[tuple[str, str], float] = {}
        self._rows: list[dict[str, object]] = []

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._play = play.get_name().strip()
        self._strategy = str(play.strategy or "")

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _end(self, result: Any, status: str) -> None:
        host, task = result.host.get_name(), result.task
        start = self._started.pop((host, task._uuid), None)
        if start is None:
            return
        role = task._role.get_name(include_role_fqcn=False) if task._role else ""
        self._rows.append(
            {
                "play": self._play,
                "strategy": self._strategy,
                "role": role,
                "task": task.get_name().strip(),
                "host": host,
                "start": round(start, 3),
                "end": round(time.time(), 3),
                "status": status,
            }
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._end(result, "changed" if result.result.get("changed") else "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._end(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._end(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._end(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in self._rows)
        for path in self._paths:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
