"""The KPI scorecard: each contract goal as a rule over the pack's evidence.

Targets come from one YAML file the O&M team edits (`evidence/kpi.yml`). Each goal names the
pack files it was computed from. A goal without evidence in the period is `met: False` with
`evidence: False` ("无证据 / no evidence"): nothing is ever assumed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsproof import placement
from opsproof.errors import ConfigError
from opsproof.evidence.collect import Gap, HostRecords, Selection, SourceRun
from opsproof.evidence.period import TZ, Period, day_of, month_of
from opsproof.results import CheckResult, ExperimentResult, LoadResult

ACTIVITIES = ("inspection", "backup", "restore_drill", "patching", "drill")
PER = ("day", "month", "period")


@dataclass(frozen=True)
class PlanItem:
    activity: str
    per: str
    count: int


@dataclass(frozen=True)
class Rules:
    planned_pct: float
    plan: tuple[PlanItem, ...]
    inspection_pct: float
    max_errors: int
    major_outage_min: float
    max_major: int
    detect_s: float
    recover_s: float
    satisfaction_pct: float
    satisfied_from: int


def _num(data: Mapping[str, Any], section: str, key: str, path: Path) -> float:
    value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(
            f"{path}: {section}.{key} must be a number >= 0 (found {value!r})",
            fix=f"set {section}.{key} in {path}",
        )
    return float(value)


def load_rules(path: Path) -> Rules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the KPI rules: {err}", fix="fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a mapping of goals", fix="see evidence/kpi.yml")
    plan_data = (
        data.get("planned_om", {}).get("plan") if isinstance(data.get("planned_om"), dict) else None
    )
    if not isinstance(plan_data, list) or not plan_data:
        raise ConfigError(f"{path}: planned_om.plan must be a list", fix="see evidence/kpi.yml")
    plan = []
    for n, item in enumerate(plan_data):
        ok = (
            isinstance(item, dict)
            and item.get("activity") in ACTIVITIES
            and item.get("per") in PER
            and isinstance(item.get("count"), int)
            and item["count"] > 0
        )
        if not ok:
            raise ConfigError(
                f"{path}: planned_om.plan[{n}] must have activity ({', '.join(ACTIVITIES)}), "
                f"per ({', '.join(PER)}) and count > 0 (found {item!r})",
                fix=f"correct planned_om.plan[{n}] in {path}",
            )
        plan.append(PlanItem(item["activity"], item["per"], item["count"]))
    return Rules(
        planned_pct=_num(data, "planned_om", "target_pct", path),
        plan=tuple(plan),
        inspection_pct=_num(data, "monthly_inspection", "target_pct", path),
        max_errors=int(_num(data, "monthly_inspection", "max_errors", path)),
        major_outage_min=_num(data, "no_major_failure", "major_outage_min", path),
        max_major=int(_num(data, "no_major_failure", "max_major", path)),
        detect_s=_num(data, "fault_handling", "detect_s", path),
        recover_s=_num(data, "fault_handling", "recover_s", path),
        satisfaction_pct=_num(data, "satisfaction", "target_pct", path),
        satisfied_from=int(_num(data, "satisfaction", "satisfied_from", path)),
    )


# --- operator-supplied files: survey and incident log --------------------------------------


@dataclass(frozen=True)
class Incident:
    start: dt.datetime
    detected: dt.datetime
    recovered: dt.datetime
    description: str

    @property
    def outage_s(self) -> float:
        return (self.recovered - self.start).total_seconds()


def _rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err}", fix="check the path") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or any(c not in reader.fieldnames for c in columns):
        raise ConfigError(
            f"{path}: the header must name the columns {','.join(columns)} "
            f"(found {','.join(reader.fieldnames or [])})",
            fix="see docs/auditor.md for the file format",
        )
    return list(reader)


def read_survey(path: Path) -> list[int]:
    """Ratings 1-5 of the satisfaction survey (满意度调查), one answer a row."""
    ratings = []
    for n, row in enumerate(_rows(path, ("date", "respondent", "rating")), 2):
        try:
            rating = int(row["rating"])
            dt.date.fromisoformat(row["date"])
        except (TypeError, ValueError):
            rating = 0
        if not 1 <= rating <= 5:
            raise ConfigError(
                f"{path}:{n}: rating {row['rating']!r} / date {row['date']!r} invalid "
                "(rating 1-5, date YYYY-MM-DD)",
                fix=f"correct line {n} of {path}",
            )
        ratings.append(rating)
    return ratings


def read_incidents(path: Path) -> list[Incident]:
    out = []
    for n, row in enumerate(_rows(path, ("start", "detected", "recovered", "description")), 2):
        try:
            start, detected, recovered = (
                dt.datetime.fromisoformat(row[k]) for k in ("start", "detected", "recovered")
            )
            if start.tzinfo is None or not start <= detected <= recovered:
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(
                f"{path}:{n}: start <= detected <= recovered must be times with an offset",
                fix=f"correct line {n} of {path}",
            ) from None
        out.append(Incident(start, detected, recovered, row["description"]))
    return out


# --- the scorecard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    id: str
    target: str  # language-neutral, e.g. ">= 85 %"
    measured: str  # "" when there is no evidence
    value: float | None
    met: bool
    evidence: bool
    sources: tuple[str, ...]
    detail: Mapping[str, Any]


def _pct(done: float, due: float) -> float:
    return round(100.0 * done / due, 1) if due else 0.0


def _unevidenced(goal_id: str, target: str, detail: Mapping[str, Any] | None = None) -> Goal:
    """A goal the period holds no evidence for: nothing measured, not met."""
    return Goal(goal_id, target, "", None, False, False, (), detail or {})


def _pct_goal(
    goal_id: str,
    floor_pct: float,
    done: int,
    due: int,
    *,
    evidence: bool,
    sources: tuple[str, ...],
    detail: Mapping[str, Any],
) -> Goal:
    """done of due as a percentage, met at or above floor_pct; nothing measured without
    evidence."""
    value = _pct(done, due) if evidence else None
    return Goal(
        goal_id,
        f">= {floor_pct:g} %",
        f"{value:.1f} % ({done}/{due})" if value is not None else "",
        value,
        value is not None and value >= floor_pct,
        value is not None,
        sources,
        detail,
    )


def inspected_hosts(run: SourceRun, max_errors: int) -> set[str]:
    """Hosts the inspection covered: they have checks, at most max_errors could not run."""
    checks = [r for r in run.doc.results if isinstance(r, CheckResult)]
    hosts = {c.host for c in checks}
    errors = {h: sum(1 for c in checks if c.host == h and c.status == "error") for h in hosts}
    return {h for h in hosts if errors[h] <= max_errors}


def inspection_months(
    inspections: Sequence[SourceRun], hosts: Sequence[str], max_errors: int
) -> dict[str, list[str]]:
    """Month -> runs (ids) that inspected every host."""
    out: dict[str, list[str]] = {}
    for run in inspections:
        if set(hosts) <= inspected_hosts(run, max_errors):
            out.setdefault(month_of(run.doc.run.started_at), []).append(run.doc.run.id)
    return out


def unit_days(records: Sequence[HostRecords], unit: str) -> list[dt.date]:
    """Days a systemd unit finished successfully (JOB_RESULT done) on any host."""
    days = set()
    for rec in records:
        for run in rec.data.get("unit_runs", []):
            if run["unit"] == unit and run["result"] == "done":
                moment = dt.datetime.fromtimestamp(run["usec"] / 1e6, TZ)
                days.add(day_of(moment))
    return sorted(days)


def patched_months(inspections: Sequence[SourceRun]) -> list[str]:
    """Months whose last inspection found no pending security update (HLT-APT-001 pass)."""
    last: dict[str, SourceRun] = {}
    for run in inspections:
        last[month_of(run.doc.run.started_at)] = run
    good = []
    for month, run in sorted(last.items()):
        apt = [
            r
            for r in run.doc.results
            if isinstance(r, CheckResult) and r.control_id == "HLT-APT-001"
        ]
        if apt and all(r.status == "pass" for r in apt):
            good.append(month)
    return good


def experiments(run: SourceRun | None) -> list[ExperimentResult]:
    if run is None:
        return []
    return [r for r in run.doc.results if isinstance(r, ExperimentResult)]


def recovered_drill(run: SourceRun | None) -> bool:
    exps = experiments(run)
    return bool(exps) and all(e.time_to_recover_s is not None for e in exps)


@dataclass(frozen=True)
class Inputs:
    period: Period
    as_of: dt.datetime
    selection: Selection
    hosts: tuple[str, ...]
    records: tuple[HostRecords, ...]
    records_dest: Mapping[str, str]  # host -> pack path of its records
    survey: tuple[int, ...] | None
    survey_dest: str | None
    incidents: tuple[Incident, ...] | None
    incidents_dest: str | None


def score(rules: Rules, inp: Inputs) -> list[Goal]:
    sel = inp.selection
    months_due = inp.period.months(inp.as_of)
    days_due = inp.period.days(inp.as_of)
    insp_src = tuple(f"{r.dest}/inspection.json" for r in sel.inspections)
    covered = inspection_months(sel.inspections, inp.hosts, rules.max_errors)
    db_records = [r for r in inp.records if placement.group_of("postgresql") in r.groups]
    db_src = tuple(inp.records_dest[r.host] for r in db_records)
    chaos_src = (f"{sel.chaos.dest}/summary.json",) if sel.chaos else ()
    goals: list[Goal] = []

    # 1. planned O&M
    found: dict[str, list[str]] = {
        "inspection": sorted(covered),
        "backup": [d.isoformat() for d in unit_days(db_records, "platform-backup.service")],
        "restore_drill": sorted(
            {d.isoformat()[:7] for d in unit_days(db_records, "platform-restore-drill.service")}
        ),
        "patching": patched_months(sel.inspections),
        "drill": ["chaos"] if recovered_drill(sel.chaos) else [],
    }
    rows, due_total, done_total = [], 0, 0
    for item in rules.plan:
        units = {"day": len(days_due), "month": len(months_due), "period": 1}[item.per]
        due = item.count * units
        done = min(len(found[item.activity]), due)
        rows.append({"activity": item.activity, "per": item.per, "due": due, "done": done})
        due_total += due
        done_total += done
    plan_src = (*insp_src, *db_src, *chaos_src)
    goals.append(
        _pct_goal(
            "planned_om",
            rules.planned_pct,
            done_total,
            due_total,
            evidence=bool(sel.inspections or db_records or sel.chaos),
            sources=plan_src,
            detail={"rows": rows},
        )
    )

    # 2. monthly inspection of every host
    insp_done = sum(1 for m in months_due if m in covered)
    goals.append(
        _pct_goal(
            "monthly_inspection",
            rules.inspection_pct,
            insp_done,
            len(months_due),
            evidence=bool(sel.inspections),
            sources=insp_src,
            detail={
                "months_due": months_due,
                "covered": {m: covered.get(m, []) for m in months_due},
                "hosts": list(inp.hosts),
            },
        )
    )

    # 3. no major failure: only from an incident log
    if inp.incidents is None:
        goals.append(
            _unevidenced(
                "no_major_failure", f"<= {rules.max_major} > {rules.major_outage_min:g} min"
            )
        )
    else:
        major = [
            i
            for i in inp.incidents
            if inp.period.contains(i.start) and i.outage_s > rules.major_outage_min * 60
        ]
        goals.append(
            Goal(
                "no_major_failure",
                f"<= {rules.max_major} > {rules.major_outage_min:g} min",
                str(len(major)),
                float(len(major)),
                len(major) <= rules.max_major,
                True,
                (inp.incidents_dest,) if inp.incidents_dest else (),
                {"major": [i.description for i in major]},
            )
        )

    # 4. fault handling: every drill of the latest chaos run and every incident
    detect: list[float | None] = [e.time_to_detect_s for e in experiments(sel.chaos)]
    recover: list[float | None] = [e.time_to_recover_s for e in experiments(sel.chaos)]
    inc = [i for i in (inp.incidents or ()) if inp.period.contains(i.start)]
    detect += [(i.detected - i.start).total_seconds() for i in inc]
    recover += [(i.recovered - i.start).total_seconds() for i in inc]
    sources = (*chaos_src, *((inp.incidents_dest,) if inc and inp.incidents_dest else ()))
    if not detect:
        goals.append(
            _unevidenced("fault_handling", f"<= {rules.detect_s:g} s / <= {rules.recover_s:g} s")
        )
    else:
        never = sum(1 for v in recover if v is None)
        worst_d = max((v for v in detect if v is not None), default=None)
        worst_r = max((v for v in recover if v is not None), default=None)
        met = (
            never == 0
            and all(v is not None and v <= rules.detect_s for v in detect)
            and all(v is not None and v <= rules.recover_s for v in recover)
        )
        measured = f"{_s(worst_d)} / {_s(worst_r)}" + (f" ({never} not recovered)" if never else "")
        goals.append(
            Goal(
                "fault_handling",
                f"<= {rules.detect_s:g} s / <= {rules.recover_s:g} s",
                measured,
                worst_r,
                met,
                True,
                sources,
                {
                    "events": len(detect),
                    "worst_detect_s": worst_d,
                    "worst_recover_s": worst_r,
                    "not_recovered": never,
                },
            )
        )

    # 5. satisfaction: the survey only; Apdex is a technical proxy beside it, never the result
    apdex = latest_apdex(sel.perf)
    proxy = {"apdex": apdex, "source": f"{sel.perf.dest}/results.json" if sel.perf else None}
    survey = inp.survey or ()
    goals.append(
        _pct_goal(
            "satisfaction",
            rules.satisfaction_pct,
            sum(1 for r in survey if r >= rules.satisfied_from),
            len(survey),
            evidence=bool(survey),
            sources=(inp.survey_dest,) if survey and inp.survey_dest else (),
            detail={"proxy": proxy},
        )
    )
    return goals


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def latest_apdex(run: SourceRun | None) -> float | None:
    """Apdex of the total row of the candidate profile's last repetition of a perf comparison."""
    if run is None:
        return None
    candidate = run.doc.run.conditions.get("candidate_profile", "optimised")
    rows = [
        r
        for r in run.doc.results
        if isinstance(r, LoadResult) and r.scope == "total" and r.profile == candidate
    ]
    if not rows:
        return None
    return max(rows, key=lambda r: r.repetition).apdex


def goal_gaps(goals: Sequence[Goal]) -> list[Gap]:
    fixes = {
        "planned_om": "run the planned activities (make inspect, backups, make chaos)",
        "monthly_inspection": "run make inspect",
        "no_major_failure": "pass the incident log: make evidence INCIDENTS=<file.csv>",
        "fault_handling": "run make chaos",
        "satisfaction": "pass the survey: make evidence SURVEY=<file.csv>",
    }
    return [Gap(f"KPI {g.id}: no evidence", fixes[g.id]) for g in goals if not g.evidence]
