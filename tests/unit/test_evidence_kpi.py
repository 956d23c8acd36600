"""The KPI scorecard rules on a multi-month history.

The history is one real inspection of the lab (2026-12-03, gzipped beside this file) copied
with its dates moved to earlier months: the run ids and times of the copies say so
(`shifted-<month>`), and one copy drops db01 to make a month without a full inspection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from opsproof.errors import ConfigError
from opsproof.evidence import kpi
from opsproof.evidence.collect import HostRecords, Selection, SourceRun
from opsproof.evidence.period import TZ, Period
from opsproof.results import CheckResult, ResultsDocument

DATA = Path(__file__).parent / "evidence_data"
RULES = Path(__file__).resolve().parents[2] / "evidence/kpi.yml"


def real_inspection() -> ResultsDocument:
    with gzip.open(DATA / "inspection-lab-20261203.json.gz", "rt", encoding="utf-8") as f:
        return ResultsDocument.from_dict(json.load(f))


def shifted(doc: ResultsDocument, month: int, drop: str | None = None) -> SourceRun:
    """The real run moved to 2026-<month>-03 (same time of day), named as shifted."""
    start = doc.run.started_at.replace(month=month)
    run = dataclasses.replace(
        doc.run,
        id=f"shifted-2026-{month:02d}",
        started_at=start,
        finished_at=start + (doc.run.finished_at - doc.run.started_at),
    )
    results = tuple(r for r in doc.results if not (isinstance(r, CheckResult) and r.host == drop))
    return SourceRun(ResultsDocument(run=run, results=results), Path("."), ())


def inputs(
    runs: list[SourceRun], records: tuple[HostRecords, ...] = (), **kw: object
) -> kpi.Inputs:
    base = kpi.Inputs(
        period=Period.parse("2026"),
        as_of=max(r.doc.run.finished_at for r in runs).astimezone(TZ),
        selection=Selection(tuple(runs), None, None, (), ()),
        hosts=("app01", "db01", "web01"),
        records=records,
        records_dest={r.host: f"hosts/{r.host}/records.json" for r in records},
        survey=None,
        survey_dest=None,
        incidents=None,
        incidents_dest=None,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def goals(inp: kpi.Inputs) -> dict[str, kpi.Goal]:
    return {g.id: g for g in kpi.score(kpi.load_rules(RULES), inp)}


def test_monthly_inspection_counts_only_months_with_every_host() -> None:
    doc = real_inspection()
    runs = [shifted(doc, 10), shifted(doc, 11, drop="db01"), shifted(doc, 12)]
    g = goals(inputs(runs))["monthly_inspection"]
    # 2026: January..December are due (the newest record is in December); 10 and 12 covered.
    assert g.detail["months_due"][0] == "2026-01"
    assert len(g.detail["months_due"]) == 12
    assert g.value == round(100 * 2 / 12, 1)
    assert g.measured == "16.7 % (2/12)"
    assert not g.met


def test_planned_om_counts_backups_and_drills_from_the_journal() -> None:
    doc = real_inspection()
    day = dt.datetime(2026, 12, 2, 2, 0, tzinfo=TZ)
    usec = int(day.timestamp() * 1e6)
    rec = HostRecords(
        "db01",
        ("db",),
        {
            "unit_runs": [
                {"unit": "platform-backup.service", "usec": usec, "result": "started"},
                {"unit": "platform-backup.service", "usec": usec + 9_000_000, "result": "done"},
                {"unit": "platform-restore-drill.service", "usec": usec, "result": "failed"},
            ]
        },
    )
    g = goals(inputs([shifted(doc, 12)], (rec,), period=Period.parse("2026-12")))["planned_om"]
    rows = {r["activity"]: (r["done"], r["due"]) for r in g.detail["rows"]}
    assert rows["backup"][0] == 1  # one day with a finished backup
    assert rows["restore_drill"] == (0, 1)  # a failed drill does not count
    assert rows["inspection"] == (1, 1)
    assert rows["drill"] == (0, 1)  # no chaos run
    done = sum(d for d, _ in rows.values())
    due = sum(d for _, d in rows.values())
    assert g.value == round(100 * done / due, 1)


def test_goals_without_evidence_are_not_met() -> None:
    g = goals(inputs([shifted(real_inspection(), 12)]))
    for goal_id in ("no_major_failure", "fault_handling", "satisfaction"):
        assert not g[goal_id].evidence
        assert not g[goal_id].met
        assert g[goal_id].measured == ""


def test_survey_and_incidents(tmp_path: Path) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text("date,respondent,rating\n" + "2026-12-01,x,5\n" * 17 + "2026-12-01,y,2\n" * 3)
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(
        "start,detected,recovered,description\n"
        "2026-12-02T10:00:00+08:00,2026-12-02T10:00:30+08:00,2026-12-02T10:45:00+08:00,db down\n"
    )
    g = goals(
        inputs(
            [shifted(real_inspection(), 12)],
            survey=tuple(kpi.read_survey(survey)),
            incidents=tuple(kpi.read_incidents(incidents)),
        )
    )
    assert g["satisfaction"].measured == "85.0 % (17/20)"
    assert g["satisfaction"].met
    assert g["no_major_failure"].value == 1.0  # 45 min > 30 min
    assert not g["no_major_failure"].met
    assert g["fault_handling"].detail["worst_recover_s"] == 2700.0
    assert not g["fault_handling"].met


def test_malformed_survey_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "survey.csv"
    bad.write_text("date,respondent,rating\n2026-12-01,x,9\n")
    with pytest.raises(ConfigError, match=r"survey.csv:2"):
        kpi.read_survey(bad)
    bad.write_text("when,who\n")
    with pytest.raises(ConfigError, match="header must name"):
        kpi.read_survey(bad)


def test_bad_rules_file_names_the_field(tmp_path: Path) -> None:
    rules = tmp_path / "kpi.yml"
    rules.write_text(RULES.read_text().replace("target_pct: 85", "target_pct: lots"))
    with pytest.raises(ConfigError, match=r"satisfaction\.target_pct"):
        kpi.load_rules(rules)
