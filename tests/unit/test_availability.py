"""Availability per subsystem from Prometheus's probe answers (opsproof.monitoring.availability):
the join of the two queries, the SLO, the error budget, and a valid results file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from opsproof.errors import ConfigError, OpsproofError
from opsproof.evidence.period import TZ, Period
from opsproof.monitoring import availability as av
from opsproof.results import (
    AvailabilityResult,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)

PERIOD = Period.parse("2026-11")  # 30 days
START = PERIOD.start
END = START + dt.timedelta(days=10)


def _sample(subsystem: str, job: str, value: float) -> dict[str, Any]:
    return {
        "metric": {"subsystem": subsystem, "job": job, "instance": "web01"},
        "value": [0, str(value)],
    }


def test_the_queries_average_probe_success_over_the_window() -> None:
    q = av.queries(864000)
    assert (
        q["ratio"] == 'avg_over_time(probe_success{job=~"blackbox_health|blackbox_read"}[864000s])'
    )
    assert q["samples"].startswith("count_over_time(probe_success{")


def test_probe_ratios_join_the_two_answers_on_subsystem_and_job() -> None:
    ratio = [_sample("oa", "blackbox_read", 0.998), _sample("oa", "blackbox_health", 1.0)]
    samples = [_sample("oa", "blackbox_health", 1000), _sample("oa", "blackbox_read", 998)]
    got = av.probe_ratios(ratio, samples)
    assert [(p.job, p.success_ratio, p.samples) for p in got] == [
        ("blackbox_health", 1.0, 1000),
        ("blackbox_read", 0.998, 998),
    ]


def test_availability_is_the_worse_probe_and_the_budget_is_the_periods() -> None:
    probes = [
        av.ProbeRatio("oa", "blackbox_health", 1.0, 172800),
        av.ProbeRatio("oa", "blackbox_read", 0.9995, 172800),
    ]
    (row,) = av.rows(
        probes, slo=0.999, period=PERIOD, start=START, end=END, interval_s=5, subsystems=["oa"]
    )
    assert row.availability == pytest.approx(0.9995)
    assert row.covered_s == pytest.approx(864000)  # 172800 probes x 5 s = the 10 days
    assert row.downtime_s == pytest.approx(432.0)  # 0.05 % of 10 days
    assert row.budget_s == pytest.approx(2592.0)  # 0.1 % of 30 days
    assert row.budget_left_s == pytest.approx(2592.0 - 432.0)
    assert row.budget_left == pytest.approx(round((2592.0 - 432.0) / 2592.0, 4))
    assert row.within_slo is True
    assert row.finding is None


def test_below_the_slo_overspends_the_budget() -> None:
    probes = [
        av.ProbeRatio("intake", "blackbox_health", 0.99, 172800),
        av.ProbeRatio("intake", "blackbox_read", 0.99, 172800),
    ]
    (row,) = av.rows(
        probes, slo=0.999, period=PERIOD, start=START, end=END, interval_s=5, subsystems=["intake"]
    )
    assert row.within_slo is False
    assert row.budget_left is not None
    assert row.budget_left < 0


def test_a_subsystem_without_probes_is_a_finding_not_a_number() -> None:
    rows = av.rows([], slo=0.999, period=PERIOD, start=START, end=END, interval_s=5)
    assert [r.subsystem for r in rows] == list(av.SUBSYSTEMS)
    assert all(r.availability is None and r.finding for r in rows)


def test_a_missing_probe_job_is_named() -> None:
    probes = [av.ProbeRatio("oa", "blackbox_health", 1.0, 10)]
    (row,) = av.rows(
        probes, slo=0.999, period=PERIOD, start=START, end=END, interval_s=5, subsystems=["oa"]
    )
    assert row.finding == "no blackbox_read probe"


@pytest.mark.parametrize("slo", [0.0, 1.0, 99.9])
def test_an_slo_that_is_not_a_ratio_is_refused(slo: float) -> None:
    with pytest.raises(ConfigError, match="SLO"):
        av.rows([], slo=slo, period=PERIOD, start=START, end=END, interval_s=5)


def test_the_window_is_the_begun_part_of_the_period() -> None:
    now = dt.datetime(2026, 11, 11, 8, 0, tzinfo=TZ)
    assert av.window(PERIOD, now) == (PERIOD.start, now)
    assert av.window(PERIOD, dt.datetime(2027, 1, 5, tzinfo=TZ)) == (PERIOD.start, PERIOD.end)
    with pytest.raises(ConfigError, match="has not begun"):
        av.window(PERIOD, dt.datetime(2026, 10, 31, tzinfo=TZ))


def test_the_scrape_interval_comes_from_the_blackbox_targets() -> None:
    targets = {
        "activeTargets": [
            {"labels": {"job": "node"}, "scrapeInterval": "15s"},
            {"labels": {"job": "blackbox_read"}, "scrapeInterval": "5s"},
        ]
    }
    assert av.scrape_interval_s(targets) == 5
    with pytest.raises(OpsproofError, match="no active blackbox"):
        av.scrape_interval_s({"activeTargets": [{"labels": {"job": "node"}}]})


def test_the_rows_make_a_valid_results_file(tmp_path: Path) -> None:
    probes = [av.ProbeRatio(s, j, 1.0, 100) for s in av.SUBSYSTEMS for j in av.JOBS]
    rows = av.rows(probes, slo=0.999, period=PERIOD, start=START, end=END, interval_s=5)
    meta = run_meta_from_environment("availability", conditions={"period": PERIOD.name})
    out = tmp_path / "availability.json"
    write_results(ResultsDocument(run=meta.finished(), results=tuple(rows)), out)
    doc = load_results(out)
    assert doc.run.kind == "availability"
    assert [r.subsystem for r in doc.results if isinstance(r, AvailabilityResult)] == list(
        av.SUBSYSTEMS
    )
    assert "within SLO" in av.summary(doc)
