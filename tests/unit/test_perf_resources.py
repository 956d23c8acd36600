"""The conditions and bottleneck of a run: CPU shares, throttling, GC, PostgreSQL (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsproof.lab.host import HostPaths
from opsproof.lab.state import LabPaths
from opsproof.perf import report, resources
from opsproof.perf.resources import HostSample, Snapshot
from opsproof.results import (
    ResourceResult,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)


def snap(wall: float, busy: float, gen: float, db_ns: int, thr_ns: int) -> Snapshot:
    return Snapshot(
        wall=wall,
        busy_s=busy,
        cpus=2,
        load1=3.5,
        generator_cpu_s=gen,
        hosts=(
            HostSample("db01", db_ns, thr_ns, thr_ns // 10**7, 100 + thr_ns // 10**6, 2**30),
            HostSample("web01", db_ns // 4, 0, 0, 100, None),
        ),
    )


def by_key(rows: list[resources.ResourceResult]) -> dict[tuple[str, str], float | None]:
    return {(r.host, r.metric): r.value for r in rows}


def test_usage_splits_the_machine_between_hosts_generator_and_others() -> None:
    before = snap(1000, 500, 10, 0, 0)
    # 10 s: db01 used 8 s of CPU (80 % of its core), web01 2 s, the generator 3 s,
    # the machine 18 s busy of 20: the other 5 s is other work, 25 % of the machine.
    after = snap(1010, 518, 13, 8 * 10**9, 2 * 10**9)
    rows = resources.usage(before, after, run="b/run-1", profile="b", disturbed_pct=20)
    got = by_key(rows)
    assert got[("db01", "cpu_percent")] == pytest.approx(80)
    assert got[("web01", "cpu_percent")] == pytest.approx(20)
    assert got[("db01", "throttled_s")] == pytest.approx(2)
    assert got[("db01", "memory_mb")] == pytest.approx(1024)
    assert got[("web01", "memory_mb")] is None
    assert got[("generator", "cpu_percent")] == pytest.approx(30)
    assert got[("machine", "cpu_percent")] == pytest.approx(90)
    assert got[("machine", "others_cpu_percent")] == pytest.approx(25)
    others = next(r for r in rows if r.metric == "others_cpu_percent")
    assert others.detail == {"disturbed": True, "threshold_percent": 20}
    quiet = resources.usage(before, after, run="b/run-1", profile="b", disturbed_pct=30)
    assert next(r for r in quiet if r.metric == "others_cpu_percent").detail == {
        "disturbed": False,
        "threshold_percent": 30,
    }


T = "[2026-12-04T09:32:5"
GC_LOG = [
    T + '3.595+0800][4.505s][info][safepoint   ] Safepoint "G1PauseRemark", Total: 7508358 ns',
    T + "0.000+0800][1.0s][info][gc          ] GC(9) Pause Young (Normal) "
    "(G1 Evacuation Pause) 40M->10M(64M) 9.000ms",
    T + "3.641+0800][4.551s][info][gc,start    ] GC(11) Pause Cleanup",
    T + "3.642+0800][4.551s][info][gc          ] GC(11) Pause Cleanup 11M->11M(64M) 0.058ms",
    T + "4.000+0800][5.0s][info][gc          ] GC(12) Pause Young (Normal) "
    "(G1 Evacuation Pause) 50M->12M(64M) 4.500ms",
]


def test_gc_pauses_in_the_window_and_the_heap_after_the_last() -> None:
    start = 1796347973.0  # 2026-12-04T01:32:53Z = 09:32:53+08:00
    gc = resources.parse_gc(GC_LOG, start, start + 10)
    assert gc.pauses == 2  # the 09:32:50 pause is before the window
    assert gc.pause_ms == pytest.approx(4.558)
    assert gc.heap_after_mb == 12
    assert gc.heap_mb == 64
    assert resources.parse_gc([], 0, 1).pauses == 0


def test_activity_summary() -> None:
    samples = [
        [("active", "Lock", 2), ("active", "", 1), ("idle", "Client", 5)],
        [("active", "IO", 1)],
    ]
    got = resources.activity_summary(samples)
    assert got == {
        "samples": 2,
        "active_max": 3,
        "active_mean": 2.0,
        "waits": {"Lock": 2, "IO": 1},
    }


def test_report_shows_conditions_beside_latency_and_warns(tmp_path: Path) -> None:
    before = snap(1000, 500, 10, 0, 0)
    after = snap(1010, 518, 18, 8 * 10**9, 2 * 10**9)  # generator 80 % of a core
    rows = resources.usage(before, after, run="baseline/run-1", profile="baseline")
    meta = run_meta_from_environment("loadtest", run_id="loadtest-res")
    write_results(ResultsDocument(run=meta, results=tuple(rows)), tmp_path / "r.json")
    doc = load_results(tmp_path / "r.json")
    table = report.resources_table(report.ReportData(doc))
    assert table is not None
    row = dict(zip(table.header, table.rows[0], strict=True))
    assert row["generator CPU %"] == "80.0 WARNING > 70 %"
    assert row["db01 CPU / throttled / memory"] == "80.0 % / 2.00 s / 1024 MB"
    assert row["other work %"].startswith("0.0")  # 18 busy = 10 hosts + 8 generator
    assert "DISTURBED" not in row["other work %"]


def test_proxy_times_split_nginx_from_the_upstream() -> None:
    lines = [
        "0.120 0.100",
        "0.050 0.045",
        "0.300 0.010, 0.250",  # retried: both attempts are the upstream's time
        "0.002 -",  # no answer from the upstream
        "garbage",
        "0.010 ",
    ]
    t = resources.proxy_times(lines)
    assert t.requests == 4
    assert (t.request_p50_ms, t.request_p95_ms) == (50.0, 300.0)
    assert (t.upstream_p50_ms, t.upstream_p95_ms) == (45.0, 260.0)
    assert t.in_nginx_p95_ms == 40.0  # 300 - 260
    assert "upstream_p95_ms" not in t.detail()
    assert t.detail()["requests"] == 4
    assert resources.proxy_times([]).request_p95_ms is None


def test_the_proxy_filter_keeps_the_window_s_proxied_requests() -> None:
    import subprocess
    import sys

    log = "\n".join(
        json.dumps(r)
        for r in (
            {"msec": 99.9, "request_time": 0.5, "upstream_response_time": "0.4"},
            {"msec": 100.0, "request_time": 0.2, "upstream_response_time": "0.1"},
            {"msec": 150.0, "request_time": 0.001, "upstream_response_time": ""},  # static
            {"msec": 200.0, "request_time": 0.9, "upstream_response_time": "0.8"},
        )
    )
    out = subprocess.run(
        [sys.executable, "-c", resources.PROXY_FILTER, "100", "200"],
        input=log + "\nnot json\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == ["0.2 0.1"]
    assert resources.nginx_access_log() == "/var/log/nginx/platform-access.log"


def test_host_cgroups_reads_each_lab_hosts_supervisor_config(tmp_path: Path) -> None:
    cfg = HostPaths(LabPaths(tmp_path).host_dir("db9")).config
    cfg.parent.mkdir(parents=True)
    cpu = "/sys/fs/cgroup/cpu/opsproof-lab/db9"
    cfg.write_text(json.dumps({"cgroups": [{"path": cpu}]}), encoding="utf-8")
    (tmp_path / "hosts" / "half-made").mkdir()  # no supervise.json yet: left out
    assert resources.host_cgroups(tmp_path) == {"db9": {"cpu": Path(cpu)}}


def _gc_row(
    value: float, pauses: int, heap_after: float | None, heap: float | None
) -> ResourceResult:
    detail = {"pauses": pauses, "heap_after_mb": heap_after, "heap_mb": heap}
    return ResourceResult(
        run="r",
        profile="optimised",
        host="app01",
        metric="jvm_gc_ms",
        value=value,
        unit="ms",
        detail=detail,
    )


def test_a_run_without_gc_pauses_says_so() -> None:
    assert report._gc(_gc_row(0.0, 0, None, None)) == "no GC pause in the run"
    busy = _gc_row(22.3, 2, 13.0, 1536.0)
    assert report._gc(busy) == "22.3 ms in 2 pauses, heap after 13.0 of 1536.0 MB"
