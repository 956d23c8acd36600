"""Frozen dataclasses mirroring results.schema.json.

Each class is (de)serialised by `opsproof.results.codec` from its fields and type hints
(each result class is `tagged` with its schema "type"):
`to_dict` writes every field, in declaration order (optional ones as their default), so
readers of opsproof-written files never meet a missing key; `from_dict` trusts its input
to have the schema's shape: read files with `opsproof.results.load_results`, which
validates first. Classes whose JSON key order differs from the order Python needs for
defaults are keyword-only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from opsproof.results.codec import JSONValue as JSONValue
from opsproof.results.codec import Record as Record
from opsproof.results.codec import format_timestamp as format_timestamp
from opsproof.results.codec import parse_timestamp as parse_timestamp
from opsproof.results.codec import tagged, to_json

SCHEMA_VERSION = "1.0"

RunKind = Literal[
    "inspection",
    "loadtest",
    "chaos",
    "provision",
    "perf-compare",
    "explain",
    "bench",
    "capacity",
    "availability",
]
Severity = Literal["critical", "high", "medium", "low", "info"]
Status = Literal["pass", "warn", "fail", "waived", "not-applicable", "error"]
Scope = Literal["endpoint", "subsystem", "total"]


def utc_now() -> dt.datetime:
    """Now, timezone-aware in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class RunMeta(Record):
    id: str
    kind: RunKind
    started_at: dt.datetime
    finished_at: dt.datetime
    operator: str
    inventory: str | None = None
    hosts: tuple[str, ...] = ()
    tool_versions: Mapping[str, str] = field(default_factory=dict)
    role_versions: Mapping[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool = False
    conditions: Mapping[str, JSONValue] = field(default_factory=dict)

    def finished(self, at: dt.datetime | None = None) -> RunMeta:
        """A copy with finished_at set (default: now)."""
        return dataclasses.replace(self, finished_at=at or utc_now())


@dataclass(frozen=True)
class Waiver(Record):
    reason: str
    approved_by: str
    expires: dt.date | None
    ticket: str | None = None


@tagged("check", kw_only=True)
class CheckResult(Record):
    host: str
    control_id: str
    title: str
    title_zh: str | None = None
    layer: str
    severity: Severity
    expected: JSONValue
    actual: JSONValue
    status: Status
    references: tuple[str, ...] = ()
    remedy: str | None = None
    remedy_zh: str | None = None  # the remedy in Chinese (the zh inspection record)
    waiver: Waiver | None = None
    timestamp: dt.datetime


@tagged("measurement")
class Measurement(Record):
    subsystem: str
    endpoint: str
    metric: str
    value: float
    unit: str
    profile: str
    repetition: int
    samples: int


@tagged("experiment")
class ExperimentResult(Record):
    name: str
    fault: str
    hypothesis_met_before: bool
    hypothesis_met_after: bool
    time_to_detect_s: float | None
    time_to_recover_s: float | None
    requests_during_fault: int
    error_rate: float
    writes_acknowledged: int
    writes_failed: int
    writes_lost: int
    rollback_ok: bool
    journal: str
    target: str | None = None
    mechanism: str | None = None
    finding: str | None = None
    alert: str | None = None  # the alert the experiment must raise (chaos/experiments.yml)
    alert_fired_s: float | None = None  # fault injected -> firing notification received
    alert_resolved_s: float | None = None  # platform recovered -> resolved notification received


@tagged("step", kw_only=True)
class StepResult(Record):
    play: str
    host: str
    ok: int
    changed: int
    failed: int
    unreachable: int
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    duration_s: float


@tagged("load")
class LoadResult(Record):
    """One endpoint's (or subsystem's, or the run's) figures from one load-test run."""

    scope: Scope
    subsystem: str
    endpoint: str
    method: str
    profile: str
    repetition: int
    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    rps: float
    error_rate: float
    apdex: float | None
    apdex_t_s: float
    duration_s: float


@tagged("comparison")
class Comparison(Record):
    """A metric under a candidate profile against a baseline profile, over repetitions."""

    scope: Scope
    subsystem: str
    endpoint: str
    metric: str
    baseline_profile: str
    candidate_profile: str
    baseline_values: tuple[float, ...]
    candidate_values: tuple[float, ...]
    baseline: float | None
    candidate: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    resamples: int
    seed: int


@tagged("plan")
class PlanResult(Record):
    """EXPLAIN (ANALYZE, BUFFERS) of the query a declared index serves, under one profile."""

    host: str
    subsystem: str
    endpoint: str
    index: str
    table: str
    profile: str
    query: str
    plan_text: str
    plan: JSONValue
    planning_ms: float
    execution_ms: float
    index_exists: bool
    index_used: bool
    indexes_used: tuple[str, ...]
    shared_hit_blocks: int
    shared_read_blocks: int
    timestamp: dt.datetime


@tagged("capacity-step", kw_only=True)
class CapacityStep(Record):
    """One step of a capacity run: the rate offered, what the system did, and the SLO verdict."""

    profile: str
    step: int
    offered_rps: float  # task runs per second the generator offered
    achieved_rps: float  # requests per second measured
    requests: int
    failures: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    duration_s: float
    within_slo: bool
    reason: str | None = None  # why the step broke the SLO
    slowest: str | None = None  # the endpoint with the highest p95 in this step


@tagged("capacity", kw_only=True)
class CapacityResult(Record):
    """One profile's capacity: the knee (highest rate within the SLO) and what broke."""

    profile: str
    knee_rps: float | None  # offered rate of the highest step within the SLO; None: none was
    knee_achieved_rps: float | None
    broke_step: int | None  # the first step out of the SLO; None: no step broke
    broke_rps: float | None
    reason: str
    slo_p95_ms: float
    slo_error_rate: float
    steps: int


@tagged("resource", kw_only=True)
class ResourceResult(Record):
    """A resource a run used, read from a host (or this machine) over the run's window."""

    run: str  # the run it belongs to, e.g. baseline/run-1 or baseline/capacity
    profile: str
    host: str  # a lab host, "generator" (Locust) or "machine" (everything else here)
    metric: str
    value: float | None
    unit: str
    detail: JSONValue = None


@tagged("availability", kw_only=True)
class AvailabilityResult(Record):
    """One subsystem's availability over a period from the blackbox probes, vs the SLO."""

    subsystem: str
    period: str  # YYYY-MM (or YYYY)
    window_start: dt.datetime
    window_end: dt.datetime
    slo: float
    availability: float | None  # None: no probes of this subsystem
    samples: int
    covered_s: float
    downtime_s: float | None
    budget_s: float
    budget_left_s: float | None
    budget_left: float | None
    within_slo: bool | None
    finding: str | None = None


Result: TypeAlias = (
    CheckResult
    | Measurement
    | ExperimentResult
    | StepResult
    | LoadResult
    | Comparison
    | PlanResult
    | CapacityStep
    | CapacityResult
    | ResourceResult
    | AvailabilityResult
)

RESULT_TYPES: Mapping[str, type[Result]] = {cls.TYPE: cls for cls in typing.get_args(Result)}


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """The dataclass named by data['type']."""
    return RESULT_TYPES[data["type"]].from_dict(data)


@dataclass(frozen=True)
class ResultsDocument(Record):
    run: RunMeta
    results: tuple[Result, ...] = ()
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, JSONValue]:
        data = to_json(self)
        return {"schema_version": data.pop("schema_version"), **data}
