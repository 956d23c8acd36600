"""A short perf-compare on the lab: two real profile switches, repeated Locust runs, the
report and the regression gate. Figures are not asserted (the machine is shared and
noisy); what is asserted is that the report exists, validates and adds up, that the
ratios shown are computed from the numbers shown, and that the gate can fail.

Wall time: about 3 minutes (two `make tune` runs: the restore is a no-op note when the last
profile measured is the inventory's; 2 x 2 x 8 s of load, and the
capacity stage of issue 16: two 6 s steps per profile). The runs are short on purpose: what is
asserted is the machinery, not the figures; `make perf-compare` defaults measure for longer.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from opsproof.perf.indexes import load_indexes

from .conftest import Run, psql, sh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def compare_dir(provisioned: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perf") / "compare"
    run = sh(
        "make",
        "perf-compare",
        "REPEATS=2",
        "RUN_TIME=6",
        "WARMUP=2",
        # No separate warm-up run after each switch: every measured run has its own warm-up
        # stage (WARMUP) and no figure is asserted here (was 5 s of load + Locust start/stop, x2).
        "WARMUP_RUN=0",
        "USERS=8",
        # Open model at a small rate; every endpoint floored to MIN_REQUESTS per profile.
        "RATE=4",
        "MIN_REQUESTS=5",
        # The capacity stage: two short steps per profile.
        "CAPACITY=1",
        "CAP_STEPS=3,6",
        "STEP_TIME=6",
        f"ARGS=--out-dir {out}",
        timeout=1500,
    )
    assert run.rc == 0, run.out[-4000:]
    return out


def load_doc(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_report_files_exist_and_validate(compare_dir: Path) -> None:
    for name in ("results.json", "report.md", "report.html", "tune-restore.log"):
        assert (compare_dir / name).is_file(), name
    for profile in ("baseline", "optimised"):
        for rep in (1, 2):
            run_dir = compare_dir / profile / f"run-{rep}"
            for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv"):
                assert (run_dir / name).is_file(), run_dir / name
    validate = sh(".venv/bin/opsproof", "results", "validate", str(compare_dir / "results.json"))
    assert validate.rc == 0, validate.out
    html = (compare_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3  # capacity curve, percentiles per subsystem, latency/time


def test_counts_add_up(compare_dir: Path) -> None:
    doc = load_doc(compare_dir / "results.json")
    loads = [r for r in doc["results"] if r["type"] == "load"]
    assert {r["profile"] for r in loads} == {"baseline", "optimised"}
    runs: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in loads:
        assert 0 <= r["failures"] <= r["requests"]
        runs[(r["profile"], r["repetition"])].append(r)
    assert len(runs) == 4
    for rows in runs.values():
        total = next(r for r in rows if r["scope"] == "total")
        endpoints = [r for r in rows if r["scope"] == "endpoint"]
        subsystems = [r for r in rows if r["scope"] == "subsystem"]
        assert total["requests"] > 0
        assert sum(r["requests"] for r in endpoints) == total["requests"]
        assert sum(r["failures"] for r in endpoints) == total["failures"]
        assert sum(r["requests"] for r in subsystems) == total["requests"]
        for sub in subsystems:
            mine = [r for r in endpoints if r["subsystem"] == sub["subsystem"]]
            assert sum(r["requests"] for r in mine) == sub["requests"]
        # Every persona ran: all six subsystems answered in every run.
        assert {r["subsystem"] for r in subsystems} == {
            "sharing",
            "intake",
            "investment",
            "publishing",
            "reporting",
            "oa",
        }


def test_ratios_shown_are_computed_from_the_numbers_shown(compare_dir: Path) -> None:
    doc = load_doc(compare_dir / "results.json")
    comps = [r for r in doc["results"] if r["type"] == "comparison"]
    assert comps
    for c in comps:
        # A rare endpoint may have been hit in one repetition only: mean over those shown.
        base, cand = c["baseline_values"], c["candidate_values"]
        assert 1 <= len(base) <= 2
        assert 1 <= len(cand) <= 2
        assert c["baseline"] == pytest.approx(sum(base) / len(base))
        assert c["candidate"] == pytest.approx(sum(cand) / len(cand))
        assert c["ratio"] == pytest.approx(c["candidate"] / c["baseline"])
    # The Markdown summary: baseline p95, optimised p95 and the ratio as displayed.
    md = (compare_dir / "report.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", md, re.MULTILINE)
    assert {r[0] for r in rows} >= {"oa", "publishing", "reporting", "all"}
    for _, base, cand, ratio in rows:
        shown = float(cand) / float(base)
        assert float(ratio) == pytest.approx(shown, rel=0.01, abs=0.001)
    assert "The numbers add up" in md


def test_the_switch_was_real_and_the_lab_is_back_in_its_profile(compare_dir: Path) -> None:
    doc = load_doc(compare_dir / "results.json")
    cond = doc["run"]["conditions"]
    live = cond["profiles"]
    assert live["baseline"]["live"]["db01"] != live["optimised"]["live"]["db01"]
    home = cond["inventory_profile"]
    restore_log = (compare_dir / "tune-restore.log").read_text(encoding="utf-8")
    # Switched back; or the last profile measured was the inventory's, so nothing to restore.
    assert f"restore-{home}" in cond["tune_s"] or (
        list(cond["tune_s"])[-1] == home and "nothing to restore" in restore_log
    ), (cond["tune_s"], restore_log)
    declared = {i.name for i in load_indexes()}
    present = set(
        psql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT LIKE '%_pkey'"
        )
    )
    # the baseline keeps primary keys only; the optimised profile every declared index
    assert present == (set() if home == "baseline" else declared)


def test_gate_passes_on_itself_and_fails_on_a_synthetic_regression(
    compare_dir: Path, tmp_path: Path
) -> None:
    result = compare_dir / "results.json"
    same = sh("make", "perf-gate", f"BASE={result}", f"NEW={result}", "ARGS=--min-requests 1")
    assert same.rc == 0, same.out
    assert "gate: ok" in same.out
    doc = load_doc(result)
    slowed = None
    for r in doc["results"]:
        if r["type"] == "load" and r["profile"] == "optimised" and r["scope"] == "endpoint":
            if slowed is None and r["p95_ms"]:
                slowed = r["endpoint"]
            if r["endpoint"] == slowed:
                r["p95_ms"] = r["p95_ms"] * 2
    assert slowed is not None
    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps(doc), encoding="utf-8")
    gate = sh("make", "perf-gate", f"BASE={result}", f"NEW={worse}", "ARGS=--min-requests 1")
    assert gate.rc != 0, gate.out
    assert "REGRESSED" in gate.out
    assert slowed in gate.out


# --- the capacity stage (issue 16): recomputed here from the raw request logs -------------


def _nearest_rank(times: list[float], p: float) -> float | None:
    ordered = sorted(times)
    if not ordered:
        return None
    return ordered[max(1, -(-len(ordered) * p // 100)) - 1]


def test_capacity_stage_recomputed_from_the_request_logs(compare_dir: Path) -> None:
    doc = load_doc(compare_dir / "results.json")
    steps = [r for r in doc["results"] if r["type"] == "capacity-step"]
    knees = {r["profile"]: r for r in doc["results"] if r["type"] == "capacity"}
    assert set(knees) == {"baseline", "optimised"}
    slo_p95, slo_err = knees["baseline"]["slo_p95_ms"], knees["baseline"]["slo_error_rate"]
    for profile, knee in knees.items():
        run_dir = compare_dir / profile / "capacity"
        stages = json.loads((run_dir / "stages.json").read_text(encoding="utf-8"))
        requests = []
        for path in run_dir.glob("requests-*.csv"):
            with path.open(newline="", encoding="utf-8") as handle:
                for start, _method, _name, ms, ok in csv.reader(handle):
                    requests.append((float(start), float(ms), ok == "1"))
        mine = sorted((r for r in steps if r["profile"] == profile), key=lambda r: r["step"])
        done = [s for s in stages["steps"] if "end" in s]
        assert 1 <= len(mine) == len(done) <= 2
        assert [s["rate"] for s in done] == [r["offered_rps"] for r in mine]
        expect_knee = None
        broke = None
        for row, step in zip(mine, done, strict=True):
            inside = [r for r in requests if step["measured_from"] <= r[0] < step["end"]]
            times = [ms for _, ms, _ in inside]
            failures = sum(1 for *_, ok in inside if not ok)
            assert row["requests"] == len(inside) > 0
            assert row["failures"] == failures
            assert row["p95_ms"] == pytest.approx(_nearest_rank(times, 95), abs=0.01)
            assert row["p50_ms"] == pytest.approx(_nearest_rank(times, 50), abs=0.01)
            measured = step["end"] - step["measured_from"]
            assert row["achieved_rps"] == pytest.approx(len(inside) / measured, rel=1e-3)
            ok = (
                row["p95_ms"] <= slo_p95
                and failures / len(inside) < slo_err
                and row["achieved_rps"] >= 0.9 * row["offered_rps"]
            )
            assert row["within_slo"] == ok
            if broke is None and not ok:
                broke = row["step"]
            if broke is None:
                expect_knee = row["offered_rps"]
        assert knee["knee_rps"] == expect_knee
        assert knee["broke_step"] == broke
    # The ratio shown is the knees' ratio; the curve shows every step.
    md = (compare_dir / "report.md").read_text(encoding="utf-8")
    base, cand = knees["baseline"]["knee_rps"], knees["optimised"]["knee_rps"]
    if base and cand is not None:
        assert f"optimised/baseline capacity: {cand / base:.2f}x" in md
    else:
        assert "optimised/baseline capacity: not defined" in md
    assert md.count("| baseline |") >= len([r for r in steps if r["profile"] == "baseline"])


def test_every_run_records_the_conditions_of_every_host(compare_dir: Path) -> None:
    doc = load_doc(compare_dir / "results.json")
    used = [r for r in doc["results"] if r["type"] == "resource"]
    runs = {f"{r['profile']}/run-{r['repetition']}" for r in doc["run"]["conditions"]["runs"]}
    runs = {r.replace("/run-0", "/capacity") for r in runs}
    assert {r["run"] for r in used} == runs
    hosts = {"web01", "app01", "db01"}
    for run in runs:
        mine = {(r["host"], r["metric"]): r for r in used if r["run"] == run}
        for host in hosts:
            assert mine[(host, "cpu_percent")]["value"] is not None, (run, host)
            assert (host, "throttled_s") in mine
            assert (host, "memory_mb") in mine
        for key in (("generator", "cpu_percent"), ("machine", "others_cpu_percent")):
            assert mine[key]["value"] is not None, (run, key)
        assert ("db01", "pg_active_max") in mine
        assert ("app01", "jvm_gc_pause_ms") in mine
        proxy = mine[("web01", "nginx_upstream_p95_ms")]
        assert proxy["value"] is not None, (run, proxy)  # the run's requests went through nginx
        assert proxy["detail"]["request_p95_ms"] >= proxy["detail"]["upstream_p50_ms"]
    md = (compare_dir / "report.md").read_text(encoding="utf-8")
    assert "## Conditions and bottleneck" in md
