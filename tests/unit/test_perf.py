"""Pure logic of the performance work: statistics, mix, consistency, report, gate."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from opsproof.errors import ConfigError
from opsproof.perf import comparison as compare
from opsproof.perf import gate, mix, report, stats
from opsproof.perf.requestlog import Request, Window
from opsproof.results import (
    Comparison,
    LoadResult,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)

# --- percentiles, Apdex, bootstrap -------------------------------------------------------


def test_nearest_rank_percentiles_on_known_data() -> None:
    data = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(data, 50) == 50
    assert stats.percentile(data, 95) == 95
    assert stats.percentile(data, 99) == 99
    assert stats.percentile(data, 100) == 100
    assert stats.percentile([7.0], 95) == 7
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2  # rank ceil(2) = 2
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 51) == 3
    assert stats.percentile([], 95) is None
    with pytest.raises(ValueError, match="outside"):
        stats.percentile(data, 0)


def test_apdex_counts_tolerating_as_half_and_failures_as_frustrated() -> None:
    # T = 0.5 s: 3 satisfied (<= 500 ms), 2 tolerating (<= 2000 ms), 1 frustrated, 2 failed.
    times = [100.0, 500.0, 499.0, 501.0, 2000.0, 2001.0]
    assert stats.apdex(times, 2, 0.5) == pytest.approx((3 + 2 / 2) / 8)
    assert stats.apdex([], 0, 0.5) is None
    assert stats.apdex([], 3, 0.5) == 0


def test_bootstrap_ratio_is_seeded_and_brackets_a_clear_effect() -> None:
    base = [400.0, 420.0, 380.0, 410.0]
    cand = [20.0, 22.0, 19.0, 21.0]
    first = stats.bootstrap_ratio(base, cand, seed=7, resamples=1000)
    again = stats.bootstrap_ratio(base, cand, seed=7, resamples=1000)
    assert first == again  # same seed, same interval
    assert first.ratio == pytest.approx(sum(cand) / sum(base))
    assert first.low is not None
    assert first.high is not None
    assert first.low <= first.ratio <= first.high
    assert first.low > 0.045
    assert first.high < 0.057
    other = stats.bootstrap_ratio(base, cand, seed=8, resamples=1000)
    assert other.ratio == first.ratio


def test_bootstrap_of_identical_runs_has_a_point_interval() -> None:
    interval = stats.bootstrap_ratio([100.0, 100.0], [50.0, 50.0], seed=1, resamples=200)
    assert (interval.ratio, interval.low, interval.high) == (0.5, 0.5, 0.5)
    assert stats.bootstrap_ratio([], [1.0]).ratio is None
    assert stats.bootstrap_ratio([0.0], [1.0]).ratio is None


def test_subsystem_of_a_request_name() -> None:
    assert stats.subsystem_of("/api/oa/steps/{id}/approve") == "oa"
    assert stats.subsystem_of("/api/sharing/items (create)") == "sharing"
    assert stats.subsystem_of("/health") == "platform"


# --- the mix -----------------------------------------------------------------------------


def test_floored_mix_gives_every_persona_a_user_and_sums() -> None:
    shares = mix.shares("floored")
    assert sum(shares.values()) == pytest.approx(1)
    counts = mix.allocate(24, shares)
    assert sum(counts.values()) == 24
    assert min(counts.values()) >= 1
    assert counts["publishing"] == max(counts.values())
    assert mix.allocate(6, shares) == dict.fromkeys(mix.SUBSYSTEMS, 1)
    with pytest.raises(ConfigError, match="at least 6 users"):
        mix.allocate(5, shares)


def test_tags_restrict_the_mix_and_unknown_tags_are_named() -> None:
    assert set(mix.shares("natural", ["oa", "reporting"])) == {"oa", "reporting"}
    with pytest.raises(ConfigError, match="unknown subsystem tag"):
        mix.shares("floored", ["oa", "nope"])
    with pytest.raises(ConfigError, match="unknown mix"):
        mix.shares("weird")


# --- summarising a run, consistency, the report -----------------------------------------

STAGES = Window(start=0.0, measured_from=10.0, end=70.0)
ENDPOINTS = (
    ("GET", "/api/oa/inbox"),
    ("GET", "/api/oa/items/{id}"),
    ("GET", "/api/publishing/items/{id}"),
    ("POST", "/api/publishing/items (create)"),
)


def synthetic_requests(scale: float, seed: int, failures: int = 0) -> list[Request]:
    rng = random.Random(seed)
    out = [Request(5.0, "GET", "/api/oa/inbox", 9999.0, True)]  # warm-up: ignored
    for i in range(400):
        method, name = ENDPOINTS[i % len(ENDPOINTS)]
        ms = scale * rng.uniform(5, 50) * (10 if "oa" in name else 1)
        out.append(Request(10.0 + i * 0.15, method, name, ms, i >= failures))
    return out


def rows_for(profile: str, scale: float, reps: int = 3, failures: int = 0) -> list[LoadResult]:
    rows: list[LoadResult] = []
    for rep in range(1, reps + 1):
        reqs = synthetic_requests(scale, seed=rep, failures=failures)
        rows += stats.summarise(reqs, STAGES, profile=profile, repetition=rep, apdex_t_s=0.5)
    return rows


def test_summarise_uses_only_the_steady_stage_and_adds_up() -> None:
    rows = stats.summarise(
        synthetic_requests(1, seed=1, failures=3), STAGES, profile="p", repetition=1, apdex_t_s=0.5
    )
    total = next(r for r in rows if r.scope == "total")
    assert total.requests == 400  # the warm-up request is not counted
    assert total.failures == 3
    assert total.rps == pytest.approx(400 / 60, abs=1e-3)
    assert sum(r.requests for r in rows if r.scope == "endpoint") == 400
    assert {r.subsystem for r in rows if r.scope == "subsystem"} == {"oa", "publishing"}


def make_doc(tmp_path: Path, candidate_scale: float = 0.05) -> ResultsDocument:
    rows = rows_for("baseline", 1.0) + rows_for("optimised", candidate_scale)
    comps = compare.comparisons(rows, "baseline", "optimised", seed=3, resamples=500)
    meta = run_meta_from_environment(
        "perf-compare", conditions={"repeats": 3}, run_id="perf-compare-unit"
    )
    doc = ResultsDocument(run=meta, results=(*rows, *comps))
    write_results(doc, tmp_path / "results.json")  # validates against the schema
    return load_results(tmp_path / "results.json")


def test_comparisons_are_consistent_and_survive_the_schema(tmp_path: Path) -> None:
    doc = make_doc(tmp_path)
    assert compare.check_consistency(doc) == []
    comps = [r for r in doc.results if isinstance(r, Comparison)]
    total = next(c for c in comps if c.scope == "total")
    assert total.ratio == pytest.approx(0.05, rel=1e-6)  # every time scaled by 0.05
    assert len(total.baseline_values) == 3


def test_consistency_check_catches_a_doctored_document(tmp_path: Path) -> None:
    doc = make_doc(tmp_path)
    results = list(doc.results)
    i = next(
        i for i, r in enumerate(results) if isinstance(r, LoadResult) and r.scope == "endpoint"
    )
    first = results[i]
    assert isinstance(first, LoadResult)
    results[i] = dataclasses.replace(first, requests=first.requests + 1)
    j = next(i for i, r in enumerate(results) if isinstance(r, Comparison))
    comp = results[j]
    assert isinstance(comp, Comparison)
    results[j] = dataclasses.replace(comp, ratio=(comp.ratio or 0) * 2)
    problems = compare.check_consistency(dataclasses.replace(doc, results=tuple(results)))
    assert any("endpoints sum to" in p for p in problems)
    assert any("ratio" in p for p in problems)


def test_report_shows_ratios_computed_from_the_numbers_shown(tmp_path: Path) -> None:
    doc = make_doc(tmp_path, candidate_scale=0.2)
    md = report.render_markdown(doc, tmp_path)
    html = report.render_html(doc, tmp_path)
    assert "<svg" in html
    assert "The numbers add up" in md
    table = report.summary_table(report.ReportData(doc))
    for row in table.rows:
        base, cand, ratio = float(row[1]), float(row[2]), float(row[3])
        assert ratio == pytest.approx(cand / base, rel=0.01)
        assert f"| {' | '.join(row)} |" in md
    oa = next(row for row in table.rows if row[0] == "oa")
    assert oa[-1].startswith("NOT met")  # 0.2 is only a 5x speed-up
    assert "5.0x lower" in oa[-1]


def _verdicts(baseline: list[LoadResult], optimised: list[LoadResult]) -> dict[str, str]:
    comps = compare.comparisons(baseline + optimised, "baseline", "optimised", seed=3)
    meta = run_meta_from_environment("perf-compare", conditions={}, run_id="verdicts")
    data = report.ReportData(ResultsDocument(run=meta, results=(*baseline, *optimised, *comps)))
    return {row[0]: row[-1] for row in report.summary_table(data).rows}


def test_baseline_failures_are_shown_but_do_not_fail_the_optimisation() -> None:
    verdicts = _verdicts(rows_for("baseline", 1.0, failures=30), rows_for("optimised", 0.05))
    assert verdicts["oa"].startswith("met (baseline: ")
    assert "requests failed)" in verdicts["publishing"]
    broken = _verdicts(rows_for("baseline", 1.0), rows_for("optimised", 0.05, failures=4))
    assert "failed requests under optimised" in broken["oa"]


def test_an_endpoint_over_its_p95_limit_fails_its_subsystem_though_the_ratio_is_met() -> None:
    # OA 40x faster (ratio 0.025) but its optimised p95 ~240 ms: over the 100 ms limit
    verdicts = _verdicts(rows_for("baseline", 20.0), rows_for("optimised", 0.5))
    assert verdicts["oa"].startswith("NOT met: GET /api/oa/inbox p95 ")
    assert "> 100 ms" in verdicts["oa"]
    assert "x lower" not in verdicts["oa"]
    assert verdicts["publishing"] == "met"


def test_only_the_stats_and_the_most_read_ranking_get_the_aggregate_limit() -> None:
    assert report.endpoint_limit_ms("/api/oa/stats") == 300.0
    assert report.endpoint_limit_ms("/api/publishing/most-read") == 300.0
    assert report.endpoint_limit_ms("/api/oa/search") == 100.0
    assert report.endpoint_limit_ms("/api/publishing/items/{id}") == 100.0


# --- the gate ----------------------------------------------------------------------------


def test_gate_passes_a_result_against_itself_and_fails_a_regression(tmp_path: Path) -> None:
    doc = make_doc(tmp_path)
    _, base = gate.endpoint_figures(doc, None, source="base")
    assert gate.failed(gate.judge(base, base)) == []
    slower = rows_for("optimised", 0.05 * 1.5)  # every p95 50 % higher
    worse = dataclasses.replace(doc, results=tuple(slower))
    _, new = gate.endpoint_figures(worse, None, source="new")
    bad = gate.failed(gate.judge(base, new, p95_threshold=0.2))
    assert {v.key[1] for v in bad} == {e for _, e in ENDPOINTS}
    assert all("p95" in v.reasons[0] for v in bad)
    assert gate.failed(gate.judge(base, new, p95_threshold=0.6)) == []


def test_gate_fails_on_errors_and_on_a_missing_endpoint(tmp_path: Path) -> None:
    doc = make_doc(tmp_path)
    _, base = gate.endpoint_figures(doc, "optimised", source="base")
    failing = dataclasses.replace(doc, results=tuple(rows_for("optimised", 0.05, failures=40)))
    _, new = gate.endpoint_figures(failing, None, source="new")
    bad = gate.failed(gate.judge(base, new))
    assert bad
    assert all("error rate" in " ".join(v.reasons) for v in bad)
    del new[("oa", "/api/oa/inbox", "GET")]
    assert any(v.status == "missing" for v in gate.judge(base, new))
    with pytest.raises(ConfigError, match="no load results for profile"):
        gate.endpoint_figures(doc, "tuned", source="x.json")
