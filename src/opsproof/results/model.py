"""Frozen dataclasses mirroring results.schema.json, and the run metadata helper.

`from_dict` trusts its input to have the schema's shape: read files with
`opsproof.results.load_results`, which validates first. `to_dict` always writes
every field (optional ones as their default), so readers of opsproof-written
files never meet a missing key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import importlib.metadata
import os
import platform
import socket
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeAlias, cast

SCHEMA_VERSION = "1.0"

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
RunKind = Literal["inspection", "loadtest", "chaos", "provision", "perf-compare", "explain"]
Severity = Literal["critical", "high", "medium", "low", "info"]
Status = Literal["pass", "warn", "fail", "waived", "not-applicable", "error"]

# Tool name in the results file -> distribution name in importlib.metadata.
TOOL_DISTRIBUTIONS: Mapping[str, str] = {
    "ansible-core": "ansible-core",
    "ansible": "ansible",
    "testinfra": "pytest-testinfra",
    "pytest": "pytest",
    "locust": "locust",
    "jsonschema": "jsonschema",
    "opsproof": "opsproof",
}


def utc_now() -> dt.datetime:
    """Now, timezone-aware in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def format_timestamp(value: dt.datetime) -> str:
    """RFC 3339; UTC is written with Z. A naive datetime has no offset and fails validation."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_timestamp(text: str) -> dt.datetime:
    """Parse a schema-valid RFC 3339 date-time; accepts t/z, reads leap second :60 as :59."""
    text = text.upper()
    if text[17:19] == "60":
        text = text[:17] + "59" + text[19:]
    return dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class RunMeta:
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

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "kind": self.kind,
            "started_at": format_timestamp(self.started_at),
            "finished_at": format_timestamp(self.finished_at),
            "operator": self.operator,
            "inventory": self.inventory,
            "hosts": list(self.hosts),
            "tool_versions": dict(self.tool_versions),
            "role_versions": dict(self.role_versions),
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "conditions": dict(self.conditions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunMeta:
        return cls(
            id=data["id"],
            kind=data["kind"],
            started_at=parse_timestamp(data["started_at"]),
            finished_at=parse_timestamp(data["finished_at"]),
            operator=data["operator"],
            inventory=data["inventory"],
            hosts=tuple(data["hosts"]),
            tool_versions=dict(data["tool_versions"]),
            role_versions=dict(data["role_versions"]),
            git_commit=data["git_commit"],
            git_dirty=data["git_dirty"],
            conditions=dict(data["conditions"]),
        )


@dataclass(frozen=True)
class Waiver:
    reason: str
    approved_by: str
    expires: dt.date | None
    ticket: str | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires.isoformat() if self.expires else None,
            "ticket": self.ticket,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        expires = data["expires"]
        return cls(
            reason=data["reason"],
            approved_by=data["approved_by"],
            expires=dt.date.fromisoformat(expires) if expires is not None else None,
            ticket=data.get("ticket"),
        )


@dataclass(frozen=True)
class CheckResult:
    TYPE: ClassVar[str] = "check"

    host: str
    control_id: str
    title: str
    layer: str
    severity: Severity
    expected: JSONValue
    actual: JSONValue
    status: Status
    timestamp: dt.datetime
    title_zh: str | None = None
    references: tuple[str, ...] = ()
    remedy: str | None = None
    waiver: Waiver | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.TYPE,
            "host": self.host,
            "control_id": self.control_id,
            "title": self.title,
            "title_zh": self.title_zh,
            "layer": self.layer,
            "severity": self.severity,
            "expected": self.expected,
            "actual": self.actual,
            "status": self.status,
            "references": list(self.references),
            "remedy": self.remedy,
            "waiver": self.waiver.to_dict() if self.waiver else None,
            "timestamp": format_timestamp(self.timestamp),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        waiver = data.get("waiver")
        return cls(
            host=data["host"],
            control_id=data["control_id"],
            title=data["title"],
            layer=data["layer"],
            severity=data["severity"],
            expected=data["expected"],
            actual=data["actual"],
            status=data["status"],
            timestamp=parse_timestamp(data["timestamp"]),
            title_zh=data.get("title_zh"),
            references=tuple(data.get("references", ())),
            remedy=data.get("remedy"),
            waiver=Waiver.from_dict(waiver) if waiver is not None else None,
        )


@dataclass(frozen=True)
class Measurement:
    TYPE: ClassVar[str] = "measurement"

    subsystem: str
    endpoint: str
    metric: str
    value: float
    unit: str
    profile: str
    repetition: int
    samples: int

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.TYPE,
            "subsystem": self.subsystem,
            "endpoint": self.endpoint,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "profile": self.profile,
            "repetition": self.repetition,
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            subsystem=data["subsystem"],
            endpoint=data["endpoint"],
            metric=data["metric"],
            value=data["value"],
            unit=data["unit"],
            profile=data["profile"],
            repetition=data["repetition"],
            samples=data["samples"],
        )


@dataclass(frozen=True)
class ExperimentResult:
    TYPE: ClassVar[str] = "experiment"

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

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.TYPE,
            "name": self.name,
            "fault": self.fault,
            "hypothesis_met_before": self.hypothesis_met_before,
            "hypothesis_met_after": self.hypothesis_met_after,
            "time_to_detect_s": self.time_to_detect_s,
            "time_to_recover_s": self.time_to_recover_s,
            "requests_during_fault": self.requests_during_fault,
            "error_rate": self.error_rate,
            "writes_acknowledged": self.writes_acknowledged,
            "writes_failed": self.writes_failed,
            "writes_lost": self.writes_lost,
            "rollback_ok": self.rollback_ok,
            "journal": self.journal,
            "target": self.target,
            "mechanism": self.mechanism,
            "finding": self.finding,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentResult:
        return cls(
            name=data["name"],
            fault=data["fault"],
            hypothesis_met_before=data["hypothesis_met_before"],
            hypothesis_met_after=data["hypothesis_met_after"],
            time_to_detect_s=data["time_to_detect_s"],
            time_to_recover_s=data["time_to_recover_s"],
            requests_during_fault=data["requests_during_fault"],
            error_rate=data["error_rate"],
            writes_acknowledged=data["writes_acknowledged"],
            writes_failed=data["writes_failed"],
            writes_lost=data["writes_lost"],
            rollback_ok=data["rollback_ok"],
            journal=data["journal"],
            target=data.get("target"),
            mechanism=data.get("mechanism"),
            finding=data.get("finding"),
        )


@dataclass(frozen=True)
class StepResult:
    TYPE: ClassVar[str] = "step"

    play: str
    host: str
    ok: int
    changed: int
    failed: int
    unreachable: int
    duration_s: float
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.TYPE,
            "play": self.play,
            "host": self.host,
            "ok": self.ok,
            "changed": self.changed,
            "failed": self.failed,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
            "rescued": self.rescued,
            "ignored": self.ignored,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        return cls(
            play=data["play"],
            host=data["host"],
            ok=data["ok"],
            changed=data["changed"],
            failed=data["failed"],
            unreachable=data["unreachable"],
            duration_s=data["duration_s"],
            skipped=data.get("skipped", 0),
            rescued=data.get("rescued", 0),
            ignored=data.get("ignored", 0),
        )


Scope = Literal["endpoint", "subsystem", "total"]


@dataclass(frozen=True)
class LoadResult:
    """One endpoint's (or subsystem's, or the run's) figures from one load-test run."""

    TYPE: ClassVar[str] = "load"

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

    def to_dict(self) -> dict[str, JSONValue]:
        return {"type": self.TYPE, **_fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadResult:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class Comparison:
    """A metric under a candidate profile against a baseline profile, over repetitions."""

    TYPE: ClassVar[str] = "comparison"

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

    def to_dict(self) -> dict[str, JSONValue]:
        data = _fields(self)
        data["baseline_values"] = list(self.baseline_values)
        data["candidate_values"] = list(self.candidate_values)
        return {"type": self.TYPE, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        values = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        values["baseline_values"] = tuple(values["baseline_values"])
        values["candidate_values"] = tuple(values["candidate_values"])
        return cls(**values)


def _fields(obj: LoadResult | Comparison) -> dict[str, JSONValue]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@dataclass(frozen=True)
class PlanResult:
    """EXPLAIN (ANALYZE, BUFFERS) of the query a declared index serves, under one profile."""

    TYPE: ClassVar[str] = "plan"

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

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.TYPE,
            "host": self.host,
            "subsystem": self.subsystem,
            "endpoint": self.endpoint,
            "index": self.index,
            "table": self.table,
            "profile": self.profile,
            "query": self.query,
            "plan_text": self.plan_text,
            "plan": self.plan,
            "planning_ms": self.planning_ms,
            "execution_ms": self.execution_ms,
            "index_exists": self.index_exists,
            "index_used": self.index_used,
            "indexes_used": list(self.indexes_used),
            "shared_hit_blocks": self.shared_hit_blocks,
            "shared_read_blocks": self.shared_read_blocks,
            "timestamp": format_timestamp(self.timestamp),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanResult:
        return cls(
            host=data["host"],
            subsystem=data["subsystem"],
            endpoint=data["endpoint"],
            index=data["index"],
            table=data["table"],
            profile=data["profile"],
            query=data["query"],
            plan_text=data["plan_text"],
            plan=data["plan"],
            planning_ms=data["planning_ms"],
            execution_ms=data["execution_ms"],
            index_exists=data["index_exists"],
            index_used=data["index_used"],
            indexes_used=tuple(data["indexes_used"]),
            shared_hit_blocks=data["shared_hit_blocks"],
            shared_read_blocks=data["shared_read_blocks"],
            timestamp=parse_timestamp(data["timestamp"]),
        )


Result: TypeAlias = (
    CheckResult | Measurement | ExperimentResult | StepResult | LoadResult | Comparison | PlanResult
)

RESULT_TYPES: Mapping[str, type[Result]] = {
    cls.TYPE: cls
    for cls in (
        CheckResult,
        Measurement,
        ExperimentResult,
        StepResult,
        LoadResult,
        Comparison,
        PlanResult,
    )
}


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """The dataclass named by data['type']."""
    return RESULT_TYPES[data["type"]].from_dict(data)


@dataclass(frozen=True)
class ResultsDocument:
    run: RunMeta
    results: tuple[Result, ...] = ()
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "schema_version": self.schema_version,
            "run": self.run.to_dict(),
            "results": [result.to_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultsDocument:
        return cls(
            schema_version=data["schema_version"],
            run=RunMeta.from_dict(data["run"]),
            results=tuple(result_from_dict(item) for item in data["results"]),
        )


# --- run metadata from the environment -------------------------------------------------


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout


def git_state(cwd: Path | None = None) -> tuple[str | None, bool]:
    """(HEAD commit, tracked files modified) of the git tree at cwd; (None, False) outside one."""
    where = cwd or Path.cwd()
    head = _git(["rev-parse", "HEAD"], where)
    if head is None:
        return None, False
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return head.strip(), bool(status and status.strip())


def current_operator() -> str:
    """Who ran it: OPSPROOF_OPERATOR, else the user behind sudo, else the login name."""
    for var in ("OPSPROOF_OPERATOR", "SUDO_USER", "USER"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def tool_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of the installed tools we know (and `extra` distributions), plus python."""
    names = dict(TOOL_DISTRIBUTIONS)
    names.update({name: name for name in extra})
    versions = {"python": platform.python_version()}
    for tool, dist in names.items():
        try:
            versions[tool] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return dict(sorted(versions.items()))


def machine_conditions() -> dict[str, JSONValue]:
    """Facts about the machine the tool ran on; goes to run.conditions['machine']."""
    return {
        "hostname": socket.gethostname(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def run_meta_from_environment(
    kind: RunKind,
    *,
    inventory: str | None = None,
    hosts: Iterable[str] = (),
    role_versions: Mapping[str, str] | None = None,
    conditions: Mapping[str, JSONValue] | None = None,
    extra_tools: Iterable[str] = (),
    repo: Path | None = None,
    started_at: dt.datetime | None = None,
    run_id: str | None = None,
    operator: str | None = None,
) -> RunMeta:
    """RunMeta for a run starting now; call `.finished()` on it when the run ends.

    conditions gets a 'machine' entry (hostname, cpus, platform) unless given one.
    """
    started = started_at or utc_now()
    commit, dirty = git_state(repo)
    merged: dict[str, JSONValue] = {"machine": cast(JSONValue, machine_conditions())}
    merged.update(conditions or {})
    return RunMeta(
        id=run_id or f"{kind}-{started.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        kind=kind,
        started_at=started,
        finished_at=started,
        operator=operator or current_operator(),
        inventory=inventory,
        hosts=tuple(hosts),
        tool_versions=tool_versions(extra_tools),
        role_versions=dict(role_versions or {}),
        git_commit=commit,
        git_dirty=dirty,
        conditions=merged,
    )
