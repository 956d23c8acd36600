"""No role step on the control node waits for another host. Under Mitogen the control node's
steps run one at a time: a wait held there (site.yml's services play runs every host side by
side) also holds back the other hosts' control-node steps, the awaited one among them (a
fresh CI run once failed so, waiting for the lab CA; site.yml now makes it in a play before)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WAITS = {"ansible.builtin.wait_for", "ansible.builtin.pause", "wait_for", "pause"}
BLOCK_KEYS = ("block", "rescue", "always")


def _steps(tasks: Any, on_control_node: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Each task of a task list (blocks walked) and whether it runs on the control node."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        here = on_control_node or task.get("delegate_to") in {"localhost", "127.0.0.1"}
        if any(k in task for k in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                yield from _steps(task.get(key), here)
        else:
            yield task, here


def waits_on_control_node(tasks: Any) -> list[str]:
    return [
        str(task.get("name", "unnamed"))
        for task, here in _steps(tasks)
        if here and WAITS & set(task)
    ]


def test_finds_a_wait_in_a_block_delegated_to_the_control_node() -> None:
    tasks = [
        {"name": "ca", "delegate_to": "localhost", "block": [{"name": "w", "wait_for": {}}]},
        {"name": "on the host", "ansible.builtin.wait_for": {"port": 22}},
        {"name": "p", "ansible.builtin.pause": {"seconds": 1}, "delegate_to": "localhost"},
    ]
    assert waits_on_control_node(tasks) == ["w", "p"]


def test_no_role_step_on_the_control_node_waits() -> None:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")) + sorted(
        (ROOT / "playbooks").glob("*.yml")
    ):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.parent.name == "playbooks":
            lists = [
                play.get(k) for play in data or [] for k in ("pre_tasks", "tasks", "post_tasks")
            ]
        else:
            lists = [data]
        if waits := [w for tasks in lists for w in waits_on_control_node(tasks)]:
            found[str(path.relative_to(ROOT))] = waits
    assert found == {}
