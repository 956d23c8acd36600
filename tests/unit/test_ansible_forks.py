"""opsproof.ansible_forks: a worker is queued (forked) with the heap frozen, and the controller's
heap is unfrozen again afterwards, also when queueing fails."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from opsproof.ansible_forks import FrozenHeapForks

REPO = Path(__file__).resolve().parents[2]


class _Base:
    def __init__(self, fail: bool = False) -> None:
        self.frozen_during: list[int] = []
        self.fail = fail

    def _queue_task(self, host: Any, task: Any, task_vars: Any, play_context: Any) -> str:
        self.frozen_during.append(gc.get_freeze_count())
        if self.fail:
            raise RuntimeError("fork failed")
        return f"queued {task} on {host}"


class _Strategy(FrozenHeapForks, _Base):
    pass


def test_the_heap_is_frozen_while_the_worker_is_queued_and_unfrozen_after() -> None:
    gc.unfreeze()
    s = _Strategy()
    assert s._queue_task("web01", "t", {}, None) == "queued t on web01"
    assert s.frozen_during[0] > 0
    assert gc.get_freeze_count() == 0


def test_the_heap_is_unfrozen_when_queueing_fails() -> None:
    gc.unfreeze()
    s = _Strategy(fail=True)
    with pytest.raises(RuntimeError):
        s._queue_task("web01", "t", {}, None)
    assert s.frozen_during[0] > 0
    assert gc.get_freeze_count() == 0


def test_both_strategy_shims_use_it() -> None:
    for name in ("mitogen_linear", "mitogen_free"):
        path = REPO / "plugins" / "strategy" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_shim_{name}", path)
        assert spec is not None
        assert spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert issubclass(mod.StrategyModule, FrozenHeapForks), name
