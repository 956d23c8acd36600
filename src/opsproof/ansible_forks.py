"""Cheaper worker processes for Ansible's strategies (used by plugins/strategy/).

Ansible forks one worker process per host and task. A fresh fork shares the controller's heap
copy-on-write, but the worker's garbage collections walk the objects it inherited (a full
collection all of them), which touches (copies) their pages and takes the time of the walk.
Freezing the heap (`gc.freeze`) for the moment of the fork puts every object the worker
inherits out of its collector's reach; the controller unfreezes right after, so its own
garbage is collected as before. The measurement is in docs/engineer.md "Speed" (item 11).
"""

from __future__ import annotations

import gc
from typing import Any


class FrozenHeapForks:
    """Mixin for a StrategyModule: each worker is forked with the controller's heap frozen."""

    def _queue_task(self, host: Any, task: Any, task_vars: Any, play_context: Any) -> Any:
        gc.freeze()
        try:
            return super()._queue_task(host, task, task_vars, play_context)  # type: ignore[misc]
        finally:
            gc.unfreeze()
