"""Per-host task times: the opsproof_task_times callback (run for real, with a free-strategy
play whose tasks never leave this machine), its reader, and the readers of a free-strategy log
(where a task's banner is printed again before each of its results that follows another
task's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsproof import bench, playbook_log, runlog
from opsproof.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

# Two hosts side by side (free strategy): db01 runs role `slow`, web01 role `quick`; the
# banners come lazily and again, profile_tasks' stamps interleave.
FREE_LOG = """\
PLAY [Side by side] ************************************************************
Friday 04 December 2026  23:32:08 +0000 (0:00:00.026)       0:00:00.026 *******
Friday 04 December 2026  23:32:08 +0000 (0:00:00.008)       0:00:00.035 *******

TASK [quick : first] ***********************************************************
ok: [web01]
Friday 04 December 2026  23:32:09 +0000 (0:00:01.464)       0:00:01.575 *******

TASK [slow : load] *************************************************************
changed: [db01]

TASK [quick : second] **********************************************************
ok: [web01]

TASK [slow : load] *************************************************************
skipping: [web01]

TASK [quick : first] ***********************************************************
skipping: [db01]

PLAY RECAP *********************************************************************
db01                       : ok=1    changed=1    unreachable=0    failed=0    skipped=1
web01                      : ok=2    changed=0    unreachable=0    failed=0    skipped=1

Friday 04 December 2026  23:32:11 +0000 (0:00:00.465)       0:00:03.438 *******
"""


def record(host: str, role: str, task: str, start: float, end: float, status: str) -> str:
    return json.dumps(
        {"play": "Side by side", "strategy": "mitogen_free", "role": role, "task": task,
         "host": host, "start": start, "end": end, "status": status}
    )  # fmt: skip


TIMES = "\n".join([
    record("web01", "quick", "quick : first", 100.0, 100.5, "ok"),
    record("db01", "slow", "slow : load", 100.0, 130.0, "changed"),
    record("web01", "quick", "quick : second", 100.5, 101.5, "ok"),
    record("web01", "slow", "slow : load", 101.5, 101.6, "skipped"),
    record("db01", "quick", "quick : first", 130.0, 130.1, "skipped"),
]) + "\n"  # fmt: skip


def test_a_banner_printed_again_is_the_same_task() -> None:
    tasks = playbook_log.timeline(FREE_LOG).tasks
    assert [t.name for t in tasks] == ["quick : first", "slow : load", "quick : second"]
    assert tasks[0].hosts == {"web01": "ok", "db01": "skipping"}
    assert tasks[1].hosts == {"db01": "changed", "web01": "skipping"}


def test_a_name_used_twice_in_lock_step_is_two_tasks() -> None:
    log = (
        "PLAY [p] ***\n\nTASK [r : same] ***\n"
        "Friday 04 December 2026  23:32:08 +0000 (0:00:00.026)       0:00:00.026 ***\nok: [a]\n\n"
        "TASK [r : same] ***\n"
        "Friday 04 December 2026  23:32:09 +0000 (0:00:01.000)       0:00:01.026 ***\nok: [a]\n"
    )
    assert len(playbook_log.timeline(log).tasks) == 2


def test_times_give_each_role_its_slowest_host(tmp_path: Path) -> None:
    path = tmp_path / "x.times.jsonl"
    path.write_text(TIMES)
    times = playbook_log.read_task_times(path)
    assert times is not None
    assert len(times) == 5
    # slow: 30 s on db01 (0.1 s of skip on web01); quick: 1.5 s on web01.
    assert bench.role_seconds(FREE_LOG, times) == {"slow": 30.0, "quick": 1.5}


def test_runlog_takes_each_hosts_durations_from_the_times(tmp_path: Path) -> None:
    log = tmp_path / "ansible.log"
    log.write_text(FREE_LOG)
    playbook_log.times_path(log).write_text(TIMES)
    doc = runlog.results_from_log(log, kind="provision", inventory=None, playbook=None)
    steps = {s.host: s for s in doc.results}  # type: ignore[union-attr]
    assert (steps["db01"].changed, steps["db01"].skipped) == (1, 1)
    assert steps["db01"].duration_s == pytest.approx(30.1)
    assert steps["web01"].duration_s == pytest.approx(1.6)


def test_no_times_file_is_none_and_a_bad_line_names_its_place(tmp_path: Path) -> None:
    assert playbook_log.read_task_times(tmp_path / "none.times.jsonl") is None
    bad = tmp_path / "bad.times.jsonl"
    bad.write_text(TIMES + '{"play": "p"}\n')
    with pytest.raises(ValidationError, match=r"bad\.times\.jsonl:6"):
        playbook_log.read_task_times(bad)


PLAY = """\
- name: Side by side
  hosts: all
  strategy: free
  gather_facts: false
  tasks:
    - name: Only on a
      ansible.builtin.set_fact:
        x: 1
      when: inventory_hostname == 'a'
    - name: Everywhere
      ansible.builtin.debug:
        msg: hello
"""


def test_the_callback_writes_every_host_and_task(tmp_path: Path) -> None:
    # debug and set_fact run in the controller: nothing reaches any host.
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "hosts.ini").write_text("a ansible_connection=local\nb ansible_connection=local\n")
    out = [tmp_path / "one.jsonl", tmp_path / "two.jsonl"]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "plugins/callback"),
        "ANSIBLE_STRATEGY": "free",
        "OPSPROOF_TASK_TIMES": ":".join(map(str, out)),
    }
    run = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts.ini"), str(tmp_path / "play.yml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert out[0].read_text() == out[1].read_text()
    times = playbook_log.read_task_times(out[0])
    assert times is not None
    got = {(t.host, t.task, t.status, t.strategy) for t in times}
    assert got == {
        ("a", "Only on a", "ok", "free"),
        ("b", "Only on a", "skipped", "free"),
        ("a", "Everywhere", "ok", "free"),
        ("b", "Everywhere", "ok", "free"),
    }
    assert all(t.end >= t.start > 0 for t in times)
