"""Enough samples and capacity: the open model's rates, "too few to judge", the capacity
steps, knee and ratio, and their results types (pure logic, no lab)."""

from __future__ import annotations

import ast
import math
import random
from pathlib import Path
from typing import Any

import pytest

from opsproof.errors import ConfigError
from opsproof.perf import capacity, comparison, mix, report, stats
from opsproof.perf.requestlog import Request, Window
from opsproof.results import (
    CapacityResult,
    CapacityStep,
    Comparison,
    ResourceResult,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)

PERSONAS = Path(__file__).resolve().parents[2] / "loadtests" / "personas.py"

# --- the open model's rates ------------------------------------------------------------


def persona_weights() -> dict[str, dict[str, int]]:
    """@task(N) weights per persona, read from loadtests/personas.py's source (importing
    Locust here would monkey-patch this test process with gevent)."""
    tree = ast.parse(PERSONAS.read_text(encoding="utf-8"))
    out: dict[str, dict[str, int]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        subsystem = next(
            (
                s.value.value
                for s in cls.body
                if isinstance(s, ast.Assign)
                and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id == "subsystem"
                and isinstance(s.value, ast.Constant)
            ),
            None,
        )
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            for dec in fn.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Name)
                    and dec.func.id == "task"
                    and isinstance(dec.args[0], ast.Constant)
                ):
                    out.setdefault(str(subsystem), {})[fn.name] = int(dec.args[0].value)
    return out


def test_task_weights_are_the_personas_weights() -> None:
    found = persona_weights()
    assert set(found) == set(mix.SUBSYSTEMS)
    for name, weights in found.items():
        assert weights == dict(mix.TASK_WEIGHTS[name]), name


def test_without_a_floor_the_rates_are_the_mix() -> None:
    shares = mix.shares("floored")
    plans = mix.plan_rates(24, shares, floor=0, pacing_s=5)
    assert sum(p.rate for p in plans.values()) == pytest.approx(24)
    for name, plan in plans.items():
        assert plan.rate == pytest.approx(24 * shares[name])
        assert plan.users == math.ceil(plan.rate * 5)
        assert plan.interval_s == pytest.approx(plan.users / plan.rate)
        natural = mix.TASK_WEIGHTS[name]
        for task, rate in plan.task_rates().items():
            want = plan.rate * natural[task] / sum(natural.values())
            assert rate == pytest.approx(want, rel=0.02, abs=0.002)  # integer weights


def test_the_floor_gives_every_endpoint_enough_requests() -> None:
    measured_s = 3 * 60.0  # REPEATS=3, RUN_TIME=60
    floor = mix.task_floor(200, measured_s)
    assert floor == pytest.approx(1.1 * 200 / 180)
    plans = mix.plan_rates(24, mix.shares("floored"), floor=floor, pacing_s=5)
    for name, plan in plans.items():
        for task, rate in plan.task_rates().items():
            per_endpoint = rate / mix.FANOUT.get(f"{name}.{task}", 1)
            # Integer weights round: allow 1 %.
            assert per_endpoint * measured_s >= 200 * 0.99, (name, task, per_endpoint)
    # The rare personas are no longer one user: each has its own rate and users.
    assert plans["reporting"].users > 1
    assert plans["publishing"].rate > 24 * mix.shares("floored")["publishing"] * 0.99
    assert mix.task_floor(0, 100) == 0
    with pytest.raises(ConfigError, match="must be > 0"):
        mix.plan_rates(0, mix.shares("floored"))


def test_pacing_keeps_the_rate_whatever_the_answer_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtests import pacing

    clock = [100.0]
    monkeypatch.setattr(pacing.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(pacing.random, "uniform", lambda a, b: 0.0)

    class Persona:
        subsystem = "oa"
        fixed_count = 4

    pacing.set_rate("oa", 2.0)  # 4 users share 2 runs/s: one run every 2 s each
    user: Any = Persona()
    assert pacing.paced(user) == 0.0  # the first slot: now (phase 0)
    clock[0] += 0.3  # the answer took 0.3 s
    assert pacing.paced(user) == pytest.approx(1.7)  # next start 2 s after the previous
    clock[0] += 1.7 + 5.0  # an answer of 5 s overran the interval
    assert pacing.paced(user) == 0.0  # start at once, no burst to catch up
    clock[0] += 0.1
    assert pacing.paced(user) == pytest.approx(1.9)
    pacing.set_rate("oa", 8.0)  # a capacity step: 4 users, 8 runs/s, every 0.5 s
    clock[0] += 1.9
    assert pacing.paced(user) == pytest.approx(0.5)

    # A new user starts at a random phase of its interval (no burst at spawn), then paces.
    class Paced(Persona):
        wait_time = staticmethod(pacing.paced)

    monkeypatch.setattr(pacing.random, "uniform", lambda a, b: (a + b) / 2)
    fresh: Any = Paced()
    assert pacing.is_paced(fresh)
    assert not pacing.is_paced(user)  # not paced by this module: on_start does not wait
    assert pacing.paced(fresh) == pytest.approx(0.25)  # its first slot (on_start): half of 0.5 s
    clock[0] += 0.25 + 0.1  # waited the phase; the first task took 0.1 s
    assert pacing.paced(fresh) == pytest.approx(0.4)  # next start one interval after


# --- too few to judge -------------------------------------------------------------------

STAGES = Window(0.0, 10.0, 70.0)


def run_rows(profile: str, scale: float, rare: int) -> list[Any]:
    rng = random.Random(7)
    reqs = [
        Request(10 + i * 0.1, "GET", "/api/oa/inbox", scale * rng.uniform(5, 50), True)
        for i in range(300)
    ]
    reqs += [Request(20 + i, "GET", "/api/oa/search", scale * 40, True) for i in range(rare)]
    return stats.summarise(reqs, STAGES, profile=profile, repetition=1, apdex_t_s=0.5)


def test_endpoints_with_too_few_requests_get_no_ratio(tmp_path: Path) -> None:
    rows = run_rows("baseline", 1.0, rare=30) + run_rows("optimised", 0.1, rare=3)
    few = comparison.too_few(rows, "baseline", "optimised", 200)
    assert few == [("endpoint", "oa", "/api/oa/search")]
    comps = comparison.comparisons(rows, "baseline", "optimised", resamples=200, min_requests=200)
    keys = {(c.scope, c.subsystem, c.endpoint) for c in comps}
    assert ("endpoint", "oa", "/api/oa/search") not in keys
    assert ("endpoint", "oa", "/api/oa/inbox") in keys
    assert ("subsystem", "oa", "*") in keys
    meta = run_meta_from_environment(
        "perf-compare", conditions={"min_requests": 200}, run_id="perf-compare-few"
    )
    doc = ResultsDocument(run=meta, results=(*rows, *comps))
    write_results(doc, tmp_path / "results.json")
    doc = load_results(tmp_path / "results.json")
    assert comparison.check_consistency(doc) == []
    table = report.endpoint_table(report.ReportData(doc))
    search = [r for r in table.rows if r[1] == "/api/oa/search" and r[3] == "optimised"]
    assert search[0][11] == "too few to judge (< 200)"
    inbox = [r for r in table.rows if r[1] == "/api/oa/inbox" and r[3] == "optimised"]
    assert inbox[0][11] not in ("", "too few to judge (< 200)")
    # Without the floor (an older document) every endpoint is judged.
    assert len(comparison.comparisons(rows, "baseline", "optimised", resamples=200)) == 4


# --- capacity ---------------------------------------------------------------------------


def windows(rates: list[float], step_s: float = 10.0) -> list[capacity.StepWindow]:
    return [
        capacity.StepWindow(
            i + 1, r, Window(100 + i * step_s, 101 + i * step_s, 100 + (i + 1) * step_s)
        )
        for i, r in enumerate(rates)
    ]


def step_requests(rates: list[float], p95s: list[float], fail: list[int]) -> list[Request]:
    """Per step: rate x 9 s requests in its measured window, 5 % of them at p95 x 1.5."""
    out = [Request(100.5, "GET", "/api/oa/inbox", 99999.0, False)]  # settling: ignored
    for i, (rate, p95, bad) in enumerate(zip(rates, p95s, fail, strict=True)):
        n = int(rate * 9)
        for k in range(n):
            slow = k < n // 20 - 1  # fewer than 5 %: the p95 is the fast value
            ms = p95 * 1.5 if slow else p95 * (k + 1) / n
            out.append(Request(101 + i * 10 + k * 9 / n, "GET", "/api/oa/inbox", ms, k >= bad))
    return out


def test_capacity_steps_knee_and_what_broke() -> None:
    rates = [10.0, 20.0, 40.0]
    reqs = step_requests(rates, [100, 300, 900], [0, 0, 0])
    rows = capacity.step_rows(
        reqs, windows(rates), profile="baseline", slo_p95_ms=500, slo_error_rate=0.01
    )
    assert [r.requests for r in rows] == [90, 180, 360]
    assert [r.within_slo for r in rows] == [True, True, False]
    assert rows[0].achieved_rps == pytest.approx(10.0)
    assert rows[2].reason is not None
    assert "p95" in rows[2].reason
    knee = capacity.verdict(rows, profile="baseline", slo_p95_ms=500, slo_error_rate=0.01)
    assert (knee.knee_rps, knee.broke_step, knee.broke_rps) == (20.0, 3, 40.0)
    assert "step 3 (40 runs/s)" in knee.reason
    # Errors break the SLO too; the knee is the step before.
    rows2 = capacity.step_rows(
        step_requests(rates, [50, 60, 70], [0, 5, 0]),
        windows(rates),
        profile="optimised",
        slo_p95_ms=500,
        slo_error_rate=0.01,
    )
    cand = capacity.verdict(rows2, profile="optimised", slo_p95_ms=500, slo_error_rate=0.01)
    assert cand.knee_rps == 10.0
    assert cand.broke_step == 2
    assert cand.reason.endswith("errors 2.78% >= 1.00%")
    assert capacity.ratio(knee, cand) == pytest.approx(0.5)
    # No step broke: the capacity is at least the last step.
    fine = capacity.verdict(rows[:2], profile="b", slo_p95_ms=500, slo_error_rate=0.01)
    assert fine.knee_rps == 20.0
    assert fine.broke_step is None
    assert "at least" in fine.reason
    # The first step broke: no knee, no ratio.
    none = capacity.verdict(rows[2:], profile="b", slo_p95_ms=500, slo_error_rate=0.01)
    assert none.knee_rps is None
    assert capacity.ratio(none, cand) is None


def test_under_delivered_step_is_not_within_the_slo() -> None:
    rates = [10.0]
    reqs = step_requests([5.0], [100], [0])  # half the offered rate arrived
    rows = capacity.step_rows(
        reqs, windows(rates), profile="p", slo_p95_ms=500, slo_error_rate=0.01
    )
    assert not rows[0].within_slo
    assert rows[0].reason is not None
    assert "pacing fell behind" in rows[0].reason


def test_step_rates_are_geometric_and_bounded() -> None:
    assert capacity.step_rates(10, 1.5, 50) == (10, 15, 22.5, 33.8)
    assert len(capacity.step_rates(1, 1.01, 1000)) == 30
    with pytest.raises(ConfigError):
        capacity.step_rates(10, 1.0, 50)


def test_read_steps_takes_the_completed_steps(tmp_path: Path) -> None:
    (tmp_path / "stages.json").write_text(
        '{"warmup_start": 1, "steady_start": 5, "end": 30, "steps": ['
        '{"rate": 4, "start": 5, "measured_from": 6, "end": 15},'
        '{"rate": 8, "start": 15, "measured_from": 16, "end": 25},'
        '{"rate": 16, "start": 25}]}',
        encoding="utf-8",
    )
    got = capacity.read_steps(tmp_path)
    assert [(w.step, w.rate, w.window.measured_s) for w in got] == [(1, 4, 9), (2, 8, 9)]


def test_new_result_types_round_trip_and_validate(tmp_path: Path) -> None:
    step = CapacityStep(
        profile="baseline",
        step=1,
        offered_rps=10,
        achieved_rps=11.2,
        requests=100,
        failures=0,
        error_rate=0,
        p50_ms=20,
        p95_ms=80,
        p99_ms=120,
        duration_s=54,
        within_slo=True,
    )
    knee = CapacityResult(
        profile="baseline",
        knee_rps=10,
        knee_achieved_rps=11.2,
        broke_step=None,
        broke_rps=None,
        reason="no step broke",
        slo_p95_ms=500,
        slo_error_rate=0.01,
        steps=1,
    )
    res = ResourceResult(
        run="baseline/run-1",
        profile="baseline",
        host="db01",
        metric="cpu_percent",
        value=42.0,
        unit="%",
        detail={"throttled_s": 0.5},
    )
    meta = run_meta_from_environment("capacity", run_id="capacity-unit")
    write_results(ResultsDocument(run=meta, results=(step, knee, res)), tmp_path / "r.json")
    back = load_results(tmp_path / "r.json")
    assert back.results == (step, knee, res)
    assert back.run.kind == "capacity"


def test_capacity_report_shows_knees_curve_and_ratio(tmp_path: Path) -> None:
    rates = [10.0, 20.0, 40.0]
    docs: list[Any] = []
    for profile, p95s in (("baseline", [100, 600, 900]), ("optimised", [50, 60, 700])):
        rows = capacity.step_rows(
            step_requests(rates, p95s, [0, 0, 0]),
            windows(rates),
            profile=profile,
            slo_p95_ms=500,
            slo_error_rate=0.01,
        )
        docs += [
            *rows,
            capacity.verdict(rows, profile=profile, slo_p95_ms=500, slo_error_rate=0.01),
        ]
    meta = run_meta_from_environment("capacity", run_id="capacity-report")
    doc = ResultsDocument(run=meta, results=tuple(docs))
    md = report.render_markdown(doc, tmp_path)
    assert "| baseline | 10 runs/s |" in md
    assert "| optimised | 20 runs/s |" in md
    assert "optimised/baseline capacity: 2.00x" in md
    html = report.render_html(doc, tmp_path)
    assert "p95 against offered rate" in html
    assert not [r for r in doc.results if isinstance(r, Comparison)]


def test_the_default_comparison_plans_enough_requests_for_every_endpoint() -> None:
    from opsproof.cli import build_parser
    from opsproof.perf import cli as perf_cli

    args = build_parser().parse_args(
        ["perf", "compare", "--url", "https://127.0.0.1", "--ca-cert", "", "--capacity"]
    )
    settings = perf_cli.compare_settings(args)
    load = settings.load
    assert load.rate == 24
    assert settings.min_requests == 200
    measured_s = settings.repeats * load.steady_s
    for name, plan in load.plans().items():
        for task, rate in plan.task_rates().items():
            per_endpoint = rate / mix.FANOUT.get(f"{name}.{task}", 1)
            assert per_endpoint * measured_s >= 200, (name, task)
    cap = settings.capacity
    assert cap is not None
    assert cap.steps == capacity.step_rates(10, 1.5, 200)
    assert cap.step_s >= 60
    assert (cap.slo_p95_ms, cap.slo_error_rate, cap.mix) == (500, 0.01, "natural")
    # The users are planned for the top step, each paced at users / rate.
    top = max(cap.steps)
    assert sum(p.rate for p in cap.plans().values()) == pytest.approx(top)
    # The closed model stays available: RATE=0 gives USERS users and no floor.
    closed = perf_cli.compare_settings(
        build_parser().parse_args(
            ["perf", "compare", "--url", "https://127.0.0.1", "--ca-cert", "", "--rate", "0"]
        )
    )
    assert closed.load.open_rate() == 0
    assert closed.load.total_users() == 24
