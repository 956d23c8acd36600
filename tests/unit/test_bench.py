"""opsproof bench: figures read from a playbook log, and the slowdown gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from opsproof import bench
from opsproof.errors import ValidationError
from opsproof.results import Measurement, ResultsDocument, RunMeta

# The shape profile_tasks prints: each task's start stamp carries the previous task's time;
# the last task's time comes after the recap.
LOG = """\
PLAY [Baseline of every host] **************************************************

TASK [baseline : Write the apt sources] ****************************************
Thursday 03 December 2026  21:12:27 +0000 (0:00:00.500)       0:00:10.000 *****
ok: [web01]
ok: [db01]

TASK [baseline : Install the base packages] ************************************
Thursday 03 December 2026  21:12:28 +0000 (0:00:01.250)       0:00:11.250 *****
changed: [web01]
skipping: [db01]

TASK [os_hardening : Write the legal notice] ***********************************
Thursday 03 December 2026  21:12:30 +0000 (0:00:02.000)       0:00:13.250 *****
ok: [web01]
ok: [db01]

PLAY RECAP *********************************************************************
db01                       : ok=2    changed=0    unreachable=0    failed=0    skipped=1
web01                      : ok=2    changed=1    unreachable=0    failed=0    skipped=0

Thursday 03 December 2026  21:12:31 +0000 (0:00:00.750)       0:00:14.000 *****
"""


def test_each_duration_goes_to_the_task_it_measured() -> None:
    # apt sources 1.25 s + packages 2.0 s = baseline 3.25; the legal notice 0.75 s.
    assert bench.role_seconds(LOG) == {"baseline": 3.25, "os_hardening": 0.75}


def test_steps_per_host_count_ran_and_skipped() -> None:
    assert bench.steps_per_host(LOG) == {
        "web01": {"ran": 3, "skipped": 0},
        "db01": {"ran": 2, "skipped": 1},
    }


def test_measurements_of_a_stage(tmp_path: Path) -> None:
    log = tmp_path / "noop-provision.log"
    log.write_text(LOG)
    got = {
        (m.endpoint, m.metric): m.value
        for m in bench.measurements(bench.StageRun("noop-provision", 20.5, 0, log))
    }
    assert got[("all", "wall_s")] == 20.5
    assert got[("all", "changed")] == 1
    assert got[("db01", "task_steps")] == 2
    assert got[("db01", "skipped_steps")] == 1
    assert got[("baseline", "role_s")] == 3.25
    assert ("all", "cpu_pressure_pct") not in got  # not known: not made up
    pressed = bench.measurements(bench.StageRun("noop-provision", 20.5, 0, log, 37.5))
    assert [m.value for m in pressed if m.metric == "cpu_pressure_pct"] == [37.5]
    assert "| noop-provision | 20.5 | 38 | 1 |" in bench.summary(
        ResultsDocument(run=_doc().run, results=tuple(pressed))
    )


PSI = """some avg10=5.73 avg60=29.63 avg300=65.42 total=28649066678
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
"""


def test_cpu_pressure_is_the_share_of_the_stage_spent_waiting_for_a_cpu() -> None:
    assert bench.psi_some_total_us(PSI) == 28649066678
    assert bench.psi_some_total_us("full avg10=0.00 total=5\n") is None
    # 12 s of waiting in a 40 s stage: 30 %
    assert bench.pressure_pct(1_000_000, 13_000_000, 40.0) == 30.0
    assert bench.pressure_pct(None, 13_000_000, 40.0) is None
    assert bench.pressure_pct(5, 1, 40.0) is None  # the counter went back: not a figure
    assert bench.pressure_pct(0, 90_000_000, 40.0) == 100.0  # several waiting tasks: capped


def test_a_stage_without_recap_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "check.log"
    log.write_text("TASK [x : y] ***\n")
    with pytest.raises(ValidationError, match="no PLAY RECAP"):
        bench.measurements(bench.StageRun("check", 1.0, 0, log))


def _doc(**walls: float) -> ResultsDocument:
    at = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    meta = RunMeta(id="b", kind="bench", started_at=at, finished_at=at, operator="t")
    return ResultsDocument(
        run=meta,
        results=tuple(
            Measurement(
                subsystem=stage.replace("_", "-"),
                endpoint="all",
                metric="wall_s",
                value=value,
                unit="s",
                profile="n/a",
                repetition=1,
                samples=1,
            )
            for stage, value in walls.items()
        ),
    )


def test_gate_names_only_the_stages_slower_than_the_threshold() -> None:
    base = _doc(noop_provision=20.0, check=20.0, inspect=10.0)
    new = _doc(noop_provision=25.1, check=24.9, inspect=5.0)
    slower = bench.gate(base, new, 0.25)
    assert [(r.stage, r.base_s, r.new_s) for r in slower] == [("noop-provision", 20.0, 25.1)]
    assert bench.gate(base, base, 0.25) == []
    assert bench._pressures(slower[0]) == ""
    assert bench._pressures(bench.Regression("check", 20.0, 30.0, None, 61.0)) == (
        "; CPU pressure ? then, 61 % now"
    )


def test_gate_needs_a_common_stage() -> None:
    with pytest.raises(ValidationError, match="share no stage"):
        bench.gate(_doc(check=1.0), _doc(inspect=1.0), 0.25)


def test_bench_documents_validate_against_the_schema(tmp_path: Path) -> None:
    from opsproof.results import load_results, write_results

    path = write_results(_doc(noop_provision=12.0), tmp_path / "bench.json")
    assert bench.walls(load_results(path)) == {"noop-provision": 12.0}
