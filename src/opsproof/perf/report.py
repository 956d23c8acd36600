"""The perf-compare report (Markdown and HTML) from its results document alone.

Every figure shown is read from the results document (and the latency-over-time chart
from Locust's stats history files of the runs it names); nothing is re-measured. The
tables are built once and the report laid out once (`_render`), written by a Markdown and an
HTML writer, so both formats show the same numbers in the same sections.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from opsproof.perf import capacity, charts
from opsproof.perf.comparison import check_consistency, too_few
from opsproof.perf.resources import GENERATOR_WARN_PCT as WARN_PCT
from opsproof.perf.stats import mean
from opsproof.results import (
    CapacityResult,
    CapacityStep,
    Comparison,
    LoadResult,
    Measurement,
    ResourceResult,
    ResultsDocument,
)
from opsproof.results.model import JSONValue, format_timestamp

TARGET_RATIO = 0.1  # optimised p95 at least 10x lower than baseline
TARGET_APDEX = 0.94
# Each endpoint's optimised p95 at the reference load: at most 100 ms, except the aggregates
# (a response that summarises a whole table: the stats and the most-read ranking), 300 ms.
TARGET_ENDPOINT_P95_MS = 100.0
TARGET_AGGREGATE_P95_MS = 300.0


def is_aggregate(endpoint: str) -> bool:
    """The endpoints docs/load-mix.md names as aggregates."""
    return endpoint.endswith("/stats") or endpoint == "/api/publishing/most-read"


def endpoint_limit_ms(endpoint: str) -> float:
    return TARGET_AGGREGATE_P95_MS if is_aggregate(endpoint) else TARGET_ENDPOINT_P95_MS


METHOD = (
    "Percentiles are nearest-rank over every request of the measured (steady) stage of a "
    "run, taken from the per-request log each Locust process writes (failed requests "
    "included); the figure shown for a profile is the mean over its repetitions. Apdex(T) = "
    "(satisfied ≤ T + tolerating ≤ 4T / 2) / all, failures frustrated. The ratio is "
    "mean(optimised p95) / mean(baseline p95) over the repetitions; its interval is a "
    "percentile bootstrap: each profile's repetitions resampled with replacement, the "
    "ratio of the means recomputed {resamples} times with seed {seed}, the "
    "{lo:g} and {hi:g} % quantiles read. With few repetitions the interval is coarse: "
    "it shows the spread between runs, not the spread of single requests."
)


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return _fmt(value)


def _ratio(value: float | None) -> str:
    return _fmt(value, 3)


def _ci(c: Comparison | None) -> str:
    if c is None or c.ci_low is None or c.ci_high is None:
        return "–"
    return f"[{c.ci_low:.3f}, {c.ci_high:.3f}]"


def _speedup(c: Comparison | None) -> str:
    return "–" if c is None or not c.ratio else f"{1 / c.ratio:.1f}x"


@dataclass(frozen=True)
class ProfileFigures:
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None
    rps: float | None
    apdex: float | None

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def _aggregate(rows: Sequence[LoadResult]) -> ProfileFigures:
    def avg(name: str) -> float | None:
        vals = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        return mean(vals)

    return ProfileFigures(
        requests=sum(r.requests for r in rows),
        failures=sum(r.failures for r in rows),
        p50=avg("p50_ms"),
        p95=avg("p95_ms"),
        p99=avg("p99_ms"),
        rps=avg("rps"),
        apdex=avg("apdex"),
    )


# The rows with tables of their own; the others are shown as plans.
_TABLED = (LoadResult, Comparison, Measurement, CapacityStep, CapacityResult, ResourceResult)


class ReportData:
    """The document, indexed for the tables."""

    def __init__(self, doc: ResultsDocument) -> None:
        self.doc = doc
        self.loads = [r for r in doc.results if isinstance(r, LoadResult)]
        self.comparisons = [r for r in doc.results if isinstance(r, Comparison)]
        self.ceiling = [
            r for r in doc.results if isinstance(r, Measurement) and r.subsystem == "generator"
        ]
        self.capacity_steps = [r for r in doc.results if isinstance(r, CapacityStep)]
        self.capacity = {r.profile: r for r in doc.results if isinstance(r, CapacityResult)}
        self.resources = [r for r in doc.results if isinstance(r, ResourceResult)]
        self.plans = [r for r in doc.results if not isinstance(r, _TABLED)]
        first = self.comparisons[0] if self.comparisons else None
        # A capacity run has no load rows: the profiles of its steps.
        profiles = list(dict.fromkeys(r.profile for r in self.loads or self.capacity_steps))
        self.baseline = first.baseline_profile if first else (profiles[0] if profiles else "")
        self.candidate = first.candidate_profile if first else (profiles[-1] if profiles else "")
        grouped: dict[tuple[str, str, str, str, str], list[LoadResult]] = defaultdict(list)
        for r in self.loads:
            grouped[(r.profile, r.scope, r.subsystem, r.endpoint, r.method)].append(r)
        self.figures = {key: _aggregate(rows) for key, rows in grouped.items()}
        self.by_key: dict[tuple[str, str, str], Comparison] = {
            (c.scope, c.subsystem, c.endpoint): c for c in self.comparisons
        }
        wanted = doc.run.conditions.get("min_requests")
        self.min_requests = wanted if isinstance(wanted, int) else 1
        self.too_few = set(too_few(self.loads, self.baseline, self.candidate, self.min_requests))

    def judged(self, scope: str, subsystem: str, endpoint: str = "*") -> bool:
        return (scope, subsystem, endpoint) not in self.too_few

    def fig(
        self, profile: str, scope: str, subsystem: str, endpoint: str = "*", method: str = "*"
    ) -> ProfileFigures | None:
        return self.figures.get((profile, scope, subsystem, endpoint, method))

    def subsystems(self) -> list[str]:
        return sorted({r.subsystem for r in self.loads if r.scope == "subsystem"})

    def endpoints(self) -> list[tuple[str, str, str]]:
        return sorted(
            {(r.subsystem, r.endpoint, r.method) for r in self.loads if r.scope == "endpoint"}
        )

    def verdict(self, subsystem: str) -> tuple[bool, list[str]]:
        """Whether a subsystem meets the issue's targets, and why not."""
        c = self.by_key.get(("subsystem", subsystem, "*"))
        cand = self.fig(self.candidate, "subsystem", subsystem)
        reasons = []
        if not self.judged("subsystem", subsystem):
            reasons.append(f"too few to judge (< {self.min_requests} requests)")
        elif c is None or c.ratio is None:
            reasons.append("no ratio (a profile has no data)")
        elif c.ratio > TARGET_RATIO:
            reasons.append(f"p95 only {1 / c.ratio:.1f}x lower (target 10x)")
        if cand is not None and (cand.apdex is None or cand.apdex < TARGET_APDEX):
            shown = "–" if cand.apdex is None else f"{cand.apdex:.3f}"
            reasons.append(f"optimised Apdex {shown} < {TARGET_APDEX}")
        if cand is not None and cand.failures:
            reasons.append(f"{cand.failures} failed requests under {self.candidate}")
        for s, endpoint, method in self.endpoints():
            figs = self.fig(self.candidate, "endpoint", s, endpoint, method)
            limit = endpoint_limit_ms(endpoint)
            if s == subsystem and figs is not None and figs.p95 is not None and figs.p95 > limit:
                reasons.append(f"{method} {endpoint} p95 {figs.p95:.0f} ms > {limit:.0f} ms")
        return not reasons, reasons

    def baseline_note(self, subsystem: str) -> str:
        """The baseline's failed requests: not the optimisation's target, but the condition
        the baseline p95 was measured in (past its capacity, its requests time out)."""
        base = self.fig(self.baseline, "subsystem", subsystem)
        if base is None or not base.failures:
            return ""
        return f" ({self.baseline}: {base.failures} of {base.requests} requests failed)"


def summary_table(data: ReportData) -> Table:
    rows = []
    for sub in [*data.subsystems(), "*"]:
        scope = "total" if sub == "*" else "subsystem"
        c = data.by_key.get((scope, sub, "*"))
        base = data.fig(data.baseline, scope, sub)
        cand = data.fig(data.candidate, scope, sub)
        ok, reasons = data.verdict(sub) if sub != "*" else (True, [])
        rows.append(
            (
                "all" if sub == "*" else sub,
                _ms(c.baseline if c else None),
                _ms(c.candidate if c else None),
                _ratio(c.ratio if c else None),
                _ci(c),
                _speedup(c),
                "–" if cand is None or cand.apdex is None else f"{cand.apdex:.3f}",
                "–" if base is None else f"{base.failures}/{base.requests}",
                "–" if cand is None else f"{cand.failures}/{cand.requests}",
                ""
                if sub == "*"
                else ("met" if ok else "NOT met: " + "; ".join(reasons)) + data.baseline_note(sub),
            )
        )
    conf = data.comparisons[0].confidence if data.comparisons else 0.95
    return Table(
        "Per subsystem: p95 before and after",
        (
            "subsystem",
            f"{data.baseline} p95 ms",
            f"{data.candidate} p95 ms",
            "ratio",
            f"{conf:.0%} CI",
            "speed-up",
            f"{data.candidate} Apdex",
            f"{data.baseline} failed/requests",
            f"{data.candidate} failed/requests",
            "targets (10x, Apdex ≥ 0.94, no errors, each endpoint p95 ≤ 100 ms, "
            "aggregates ≤ 300 ms)",
        ),
        tuple(rows),
    )


def endpoint_table(data: ReportData) -> Table:
    rows = []
    for sub, endpoint, method in data.endpoints():
        c = data.by_key.get(("endpoint", sub, endpoint))
        for profile in (data.baseline, data.candidate):
            f = data.fig(profile, "endpoint", sub, endpoint, method)
            if f is None:
                continue
            last = profile == data.candidate
            rows.append(
                (
                    sub,
                    endpoint,
                    method,
                    profile,
                    str(f.requests),
                    f"{f.error_rate:.2%}",
                    _ms(f.p50),
                    _ms(f.p95),
                    _ms(f.p99),
                    "–" if f.rps is None else f"{f.rps:.2f}",
                    "–" if f.apdex is None else f"{f.apdex:.3f}",
                    _ratio(c.ratio)
                    if last and c
                    else (
                        f"too few to judge (< {data.min_requests})"
                        if last and not data.judged("endpoint", sub, endpoint)
                        else ""
                    ),
                    _ci(c) if last and c else "",
                )
            )
    return Table(
        "Per endpoint (means over the repetitions; requests summed)",
        (
            "subsystem",
            "endpoint",
            "method",
            "profile",
            "requests",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "req/s",
            "Apdex",
            "p95 ratio",
            "CI",
        ),
        tuple(rows),
    )


def ceiling_table(data: ReportData) -> Table | None:
    if not data.ceiling:
        return None
    failed = {(m.endpoint, m.profile): m.value for m in data.ceiling if m.metric == "failed"}
    rows = tuple(
        (
            m.endpoint,
            m.profile,
            f"{m.value:.0f}",
            str(m.samples),
            f"{failed[(m.endpoint, m.profile)]:.0f}" if (m.endpoint, m.profile) in failed else "–",
        )
        for m in data.ceiling
        if m.metric == "rps"
    )
    return Table(
        "Load generator ceiling (one core each, same URL, same connections)",
        ("URL", "tool", "req/s", "requests", "failed"),
        rows,
    )


def _detail(row: ResourceResult | None) -> dict[str, JSONValue]:
    """A resource row's detail mapping ({} without the row or a mapping)."""
    return row.detail if row is not None and isinstance(row.detail, dict) else {}


def _top_statement(row: ResourceResult | None) -> str:
    detail = _detail(row)
    stmts = detail.get("top")
    if isinstance(stmts, list) and stmts and isinstance(stmts[0], dict):
        first = stmts[0]
        return (
            f"{first.get('total_ms')} ms in {first.get('calls')} calls: "
            f"{str(first.get('query'))[:80]}"
        )
    return str(detail["note"]) if detail.get("note") else "–"


def _gc(row: ResourceResult | None) -> str:
    if row is None or not isinstance(row.detail, dict):
        return "–"
    if not row.detail.get("pauses"):
        return "no GC pause in the run"
    return (
        f"{_fmt(row.value)} ms in {row.detail.get('pauses')} pauses, heap after "
        f"{row.detail.get('heap_after_mb', '–')} of {row.detail.get('heap_mb', '–')} MB"
    )


def _proxy(row: ResourceResult | None) -> str:
    """nginx's request time against the upstream's (p95 ms), and what nginx itself added."""
    if row is None or not isinstance(row.detail, dict) or not row.detail.get("requests"):
        return "–"
    d = row.detail

    def ms(key: str) -> str:
        value = d.get(key)
        return _fmt(float(value) if isinstance(value, int | float) else None)

    return (
        f"{ms('request_p95_ms')} / {_fmt(row.value)} ms "
        f"(in nginx {ms('in_nginx_p95_ms')}; {d.get('requests')} requests)"
    )


def resources_table(data: ReportData) -> Table | None:
    """Per run: latency beside what each host, the generator and other work used."""
    if not data.resources:
        return None
    by_run: dict[str, dict[tuple[str, str], ResourceResult]] = defaultdict(dict)
    for r in data.resources:
        by_run[r.run][(r.host, r.metric)] = r
    hosts = sorted({r.host for r in data.resources if r.host not in ("generator", "machine")})
    totals = {(r.profile, r.repetition): r for r in data.loads if r.scope == "total"}
    rows = []
    for run, m in by_run.items():
        v = {key: r.value for key, r in m.items()}
        profile = next(iter(m.values())).profile
        rep = run.rsplit("run-", 1)[-1] if "/run-" in run else ""
        total = totals.get((profile, int(rep))) if rep.isdigit() else None
        gen = v.get(("generator", "cpu_percent"))
        disturbed = _detail(m.get(("machine", "others_cpu_percent"))).get("disturbed")
        # PostgreSQL and the JVM are measured on one host each (whichever the inventory names)
        one = {r.metric: r for r in m.values()}
        pg = one.get("pg_active_max")
        waits = _detail(pg).get("waits")
        rows.append(
            (
                run,
                "–" if total is None else _ms(total.p95_ms),
                "–" if total is None else f"{total.rps:.1f}",
                _fmt(gen)
                + (f" WARNING > {WARN_PCT:g} %" if gen is not None and gen > WARN_PCT else ""),
                _fmt(v.get(("machine", "others_cpu_percent")))
                + (" DISTURBED" if disturbed else ""),
                *(
                    f"{_fmt(v.get((h, 'cpu_percent')))} % / "
                    f"{_fmt(v.get((h, 'throttled_s')), 2)} s / "
                    f"{_fmt(v.get((h, 'memory_mb')), 0)} MB"
                    for h in hosts
                ),
                _fmt(pg.value if pg else None, 0) + (f" {json.dumps(waits)}" if waits else ""),
                _top_statement(one.get("pg_top_statement_ms")),
                _gc(one.get("jvm_gc_pause_ms")),
                _proxy(one.get("nginx_upstream_p95_ms")),
                _fmt(v.get(("machine", "load1")), 2),
            )
        )
    return Table(
        "Conditions and bottleneck per run (CPU % of one core unless said; throttled: time "
        "the host's CPU quota held it back; other work: the machine's CPU used by neither the "
        "lab hosts nor the generator, % of all CPUs)",
        (
            "run",
            "p95 ms",
            "req/s",
            "generator CPU %",
            "other work %",
            *(f"{h} CPU / throttled / memory" for h in hosts),
            "PG active (max) and waits",
            "PG top statement (total time)",
            "JVM GC",
            "nginx request / upstream p95",
            "machine load1",
        ),
        tuple(rows),
    )


def conditions_lines(data: ReportData) -> list[str]:
    """The resource table as text lines (make loadtest prints them)."""
    table = resources_table(data)
    if table is None:
        return []
    return [" | ".join(table.header), *(" | ".join(row) for row in table.rows)]


def capacity_tables(data: ReportData) -> tuple[Table, Table, str] | None:
    """The knee per profile, the curve (every step), and the capacity ratio line."""
    if not data.capacity:
        return None
    knees = []
    for profile, c in data.capacity.items():
        knees.append(
            (
                profile,
                "none" if c.knee_rps is None else f"{c.knee_rps:g} runs/s",
                _fmt(c.knee_achieved_rps),
                "–" if c.broke_step is None else str(c.broke_step),
                "–" if c.broke_rps is None else f"{c.broke_rps:g}",
                c.reason,
            )
        )
    first = next(iter(data.capacity.values()))
    knee = Table(
        f"Capacity: the knee (highest offered rate within the SLO: p95 ≤ {first.slo_p95_ms:g} ms, "
        f"errors < {first.slo_error_rate:.1%})",
        ("profile", "knee (offered)", "requests/s at the knee", "broke at step", "its rate", "why"),
        tuple(knees),
    )
    curve = Table(
        "Capacity curve: every step (measured after the step settled)",
        (
            "step",
            "profile",
            "offered runs/s",
            "achieved req/s",
            "requests",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "within SLO",
            "slowest endpoint",
        ),
        tuple(
            (
                str(r.step),
                r.profile,
                f"{r.offered_rps:g}",
                f"{r.achieved_rps:.1f}",
                str(r.requests),
                f"{r.error_rate:.2%}",
                _ms(r.p50_ms),
                _ms(r.p95_ms),
                _ms(r.p99_ms),
                "yes" if r.within_slo else f"NO: {r.reason}",
                r.slowest or "–",
            )
            for r in sorted(data.capacity_steps, key=lambda r: (r.profile, r.step))
        ),
    )
    base, cand = data.capacity.get(data.baseline), data.capacity.get(data.candidate)
    ratio = capacity.ratio(base, cand)
    if ratio is None:
        line = (
            f"{data.candidate}/{data.baseline} capacity: not defined (a profile has no knee: "
            "its first step already broke the SLO; lower CAP_START)"
        )
    else:
        line = f"{data.candidate}/{data.baseline} capacity: {ratio:.2f}x"
        if base is not None and cand is not None and cand.broke_step is None:
            line += f" (at least: {data.candidate} did not break up to its last step)"
    return knee, curve, line


def capacity_chart(data: ReportData) -> str:
    series = {
        r.profile: sorted(
            (s.offered_rps, s.p95_ms)
            for s in data.capacity_steps
            if s.profile == r.profile and s.p95_ms is not None
        )
        for r in data.capacity.values()
    }
    return charts.lines(
        {f"{k} p95": v for k, v in series.items()},
        title="Capacity: p95 against offered rate (each step)",
        x_label="offered rate, task runs/s",
    )


def conditions_table(doc: ResultsDocument) -> Table:
    run = doc.run
    cond = run.conditions

    def show(value: JSONValue) -> str:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    rows = [
        ("run", run.id),
        (
            "started / finished",
            f"{format_timestamp(run.started_at)} / {format_timestamp(run.finished_at)}",
        ),
        ("operator", run.operator),
        ("inventory / hosts", f"{run.inventory} / {', '.join(run.hosts)}"),
        ("git commit", f"{run.git_commit}{' (dirty tree)' if run.git_dirty else ''}"),
        ("tools", ", ".join(f"{k} {v}" for k, v in sorted(run.tool_versions.items()))),
    ]
    rows += [(key, show(value)) for key, value in sorted(cond.items())]
    return Table("Conditions", ("what", "value"), tuple(rows))


def history_series(doc_dir: Path, doc: ResultsDocument) -> dict[str, list[tuple[float, float]]]:
    """Locust's Aggregated 95th percentile (its 10 s window) per run, from stats history."""
    out: dict[str, list[tuple[float, float]]] = {}
    runs = doc.run.conditions.get("runs")
    for run in runs if isinstance(runs, list) else []:
        if not isinstance(run, dict):
            continue
        path = doc_dir / str(run.get("dir")) / "locust_stats_history.csv"
        if not path.is_file():
            continue
        points: list[tuple[float, float]] = []
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
        if not rows:
            continue
        start = float(rows[0]["Timestamp"])
        for r in rows:
            value = r.get("95%", "N/A")
            if value not in ("N/A", "", None):
                points.append((float(r["Timestamp"]) - start, float(value)))
        rep = run.get("repetition")
        out[f"{run.get('profile')} {'capacity' if rep == 0 else f'#{rep}'}"] = points
    return out


def percentile_chart(data: ReportData) -> str:
    series = [f"{p} {q}" for p in (data.baseline, data.candidate) for q in ("p50", "p95", "p99")]
    values: dict[tuple[str, str], float | None] = {}
    for sub in data.subsystems():
        for p in (data.baseline, data.candidate):
            f = data.fig(p, "subsystem", sub)
            for q, v in (
                ("p50", f.p50 if f else None),
                ("p95", f.p95 if f else None),
                ("p99", f.p99 if f else None),
            ):
                values[(sub, f"{p} {q}")] = v
    return charts.grouped_bars(
        data.subsystems(), series, values, title="Latency percentiles per subsystem (log scale)"
    )


Blocks = list[tuple[str, list[tuple[str, str]]]]  # (heading, [(label, text)]) per plan


def _plan_blocks(data: ReportData, subsystem: str | None = None) -> Blocks:
    """(heading, [(label, text)]) per captured plan, optionally of one subsystem."""
    blocks = []
    for plan in data.plans:
        f = plan.to_dict()
        if subsystem is not None and f.get("subsystem") != subsystem:
            continue
        if "plan_text" in f:
            used = "uses its index" if f.get("index_used") else "does NOT use its index"
            heading = (
                f"{f.get('subsystem')} {f.get('endpoint')} — index {f.get('index')} on "
                f"{f.get('table')}, profile {f.get('profile')}: {f.get('execution_ms')} ms, {used}"
            )
            blocks.append(
                (heading, [("query", str(f.get("query"))), ("plan", str(f["plan_text"]))])
            )
            continue
        short = [
            f"{k}={v}"
            for k, v in f.items()
            if isinstance(v, str | int | float) and len(str(v)) <= 60
        ]
        long = [
            (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, indent=1))
            for k, v in f.items()
            if not (isinstance(v, str | int | float) and len(str(v)) <= 60)
            and v not in (None, [], {})
        ]
        blocks.append((", ".join(short), long))
    return blocks


def plans_table(data: ReportData) -> Table | None:
    """Per declared index: its hot query's execution time under each profile."""
    found: dict[tuple[str, str, str], dict[str, dict[str, JSONValue]]] = defaultdict(dict)
    for plan in data.plans:
        f = plan.to_dict()
        if "plan_text" not in f:
            continue
        key = (str(f.get("subsystem")), str(f.get("index")), str(f.get("endpoint")))
        found[key][str(f.get("profile"))] = f
    if not found:
        return None
    rows = []
    for (sub, index, endpoint), by_profile in sorted(found.items()):
        b, c = by_profile.get(data.baseline, {}), by_profile.get(data.candidate, {})
        rows.append(
            (
                sub,
                index,
                endpoint,
                str(b.get("execution_ms", "–")),
                str(c.get("execution_ms", "–")),
                "yes" if c.get("index_used") else "no",
            )
        )
    return Table(
        "Declared indexes: EXPLAIN (ANALYZE, BUFFERS) of the query each serves",
        (
            "subsystem",
            "index",
            "endpoint",
            f"{data.baseline} execution ms",
            f"{data.candidate} execution ms",
            f"index used under {data.candidate}",
        ),
        tuple(rows),
    )


def shortfalls(data: ReportData) -> list[tuple[str, list[str], list[str]]]:
    """(subsystem, reasons, slowest optimised endpoints) for each subsystem short of target."""
    out = []
    for sub in data.subsystems():
        ok, reasons = data.verdict(sub)
        if ok:
            continue
        slow = []
        for s, endpoint, method in data.endpoints():
            if s != sub:
                continue
            c = data.by_key.get(("endpoint", sub, endpoint))
            if c is not None and c.candidate is not None:
                slow.append(
                    (
                        c.candidate,
                        f"{method} {endpoint}: {_ms(c.baseline)} → {_ms(c.candidate)} ms "
                        f"(ratio {_ratio(c.ratio)})",
                    )
                )
        lines = [text for _, text in sorted(slow, reverse=True)[:5]]
        plan_ms: dict[str, list[float]] = defaultdict(list)
        for plan in data.plans:
            f = plan.to_dict()
            ms = f.get("execution_ms")
            if f.get("subsystem") == sub and isinstance(ms, int | float):
                plan_ms[str(f.get("profile"))].append(float(ms))
        if plan_ms.get(data.baseline):
            lines.append(
                f"its declared indexes' hot queries ran in at most "
                f"{max(plan_ms[data.baseline]):.1f} ms under {data.baseline} and "
                f"{max(plan_ms.get(data.candidate, [0.0])):.1f} ms under {data.candidate} "
                f"(EXPLAIN ANALYZE, one run each): where that is far below the p95, the rest is "
                f"the way through nginx, Tomcat and the network, which indexes do not touch"
            )
        out.append((sub, reasons, lines))
    return out


# --- rendering -------------------------------------------------------------------------


def _method(data: ReportData) -> str:
    c = data.comparisons[0] if data.comparisons else None
    conf = c.confidence if c else 0.95
    return METHOD.format(
        resamples=c.resamples if c else 0,
        seed=c.seed if c else 0,
        lo=(1 - conf) / 2 * 100,
        hi=(1 + conf) / 2 * 100,
    )


CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
    "margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;padding:6px;"
    "overflow-x:auto;font-size:12px}.bad{color:#9e3b2e}.note{color:#666}"
)


class _Markdown:
    """The report's pieces in Markdown (report.md: no charts; plans listed once, at the end)."""

    charts = False
    list_end: tuple[str, ...] = ("",)  # a blank line ends a list before what follows
    tail: tuple[str, ...] = ()

    def head(self, title: str, run_id: str) -> list[str]:
        return [f"# {title}", "", f"Run `{run_id}`. Charts: see report.html.", ""]

    def h2(self, text: str) -> list[str]:
        return [f"## {text}", ""]

    def para(self, text: str) -> str:
        return f"{text}\n"

    def table(self, table: Table) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        lines = [f"### {table.title}", "", "| " + " | ".join(table.header) + " |"]
        lines.append("|" + "|".join("---" for _ in table.header) + "|")
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
        return "\n".join(lines) + "\n"

    def shortfall(self, sub: str, reasons: list[str], slow: list[str], plans: Blocks) -> list[str]:
        return [
            f"- **{sub}**: {'; '.join(reasons)}.",
            *(f"  - {line}" for line in slow),
            f"  - plans of its hot queries: {len(plans)} (below, section Plans)",
        ]

    def problems(self, problems: list[str]) -> str:
        return "\n".join(f"- PROBLEM: {p}" for p in problems) + "\n"

    def plans(self, blocks: Blocks) -> list[str]:
        out = []
        for heading, long in blocks:
            out.append(f"- {heading}")
            for key, text in long:
                out += [f"  - {key}:", "", "```", text, "```", ""]
        return out


class _Html:
    """The report's pieces in HTML (report.html: with charts; each shortfall shows its plans)."""

    charts = True
    list_end: tuple[str, ...] = ()
    tail: tuple[str, ...] = ("</body></html>",)

    def head(self, title: str, run_id: str) -> list[str]:
        return [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1><p>Run <code>{escape(run_id)}</code></p>",
        ]

    def h2(self, text: str) -> list[str]:
        return [f"<h2>{escape(text)}</h2>"]

    def para(self, text: str) -> str:
        return f"<p>{escape(text)}</p>"

    def table(self, table: Table) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
        )
        return f"<h3>{escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"  # noqa: E501

    def shortfall(self, sub: str, reasons: list[str], slow: list[str], plans: Blocks) -> list[str]:
        return [
            f"<h3 class='bad'>{escape(sub)}: {escape('; '.join(reasons))}</h3><ul>",
            *(f"<li>{escape(line)}</li>" for line in slow),
            "</ul>",
            *self.plans(plans),
        ]

    def problems(self, problems: list[str]) -> str:
        return "<ul>" + "".join(f"<li class='bad'>{escape(p)}</li>" for p in problems) + "</ul>"

    def plans(self, blocks: Blocks) -> list[str]:
        out = []
        for heading, long in blocks:
            out.append(f"<p><b>{escape(heading)}</b></p>")
            out += [f"<pre>{escape(key)}:\n{escape(text)}</pre>" for key, text in long]
        return out


def _render(doc: ResultsDocument, doc_dir: Path, w: _Markdown | _Html) -> str:
    """The report laid out once, in the writer's format."""
    data = ReportData(doc)
    problems = check_consistency(doc)
    parts = w.head(f"Performance before and after: {data.baseline} → {data.candidate}", doc.run.id)
    parts.append(w.table(summary_table(data)) if data.loads else "")
    cap = capacity_tables(data)
    if cap:
        parts += [*w.h2("Capacity"), w.para(cap[2]), w.table(cap[0])]
        parts += [capacity_chart(data)] if w.charts else []
        parts.append(w.table(cap[1]))
    used = resources_table(data)
    if used:
        parts += [*w.h2("Conditions and bottleneck"), w.table(used)]
    if w.charts:
        parts += [*w.h2("Charts"), percentile_chart(data)]
        parts.append(
            charts.lines(
                history_series(doc_dir, doc),
                title="Latency over time: Locust's aggregated p95 (10 s window), each run",
            )
        )
    parts += w.h2("Where a target is not met")
    falls = shortfalls(data)
    if not falls:
        parts.append(w.para("Every subsystem meets the targets."))
    for sub, reasons, slow in falls:
        parts += w.shortfall(sub, reasons, slow, _plan_blocks(data, sub))
    parts += [*w.list_end, w.table(endpoint_table(data))]
    ceiling = ceiling_table(data)
    if ceiling:
        parts.append(w.table(ceiling))
    parts += [*w.h2("Method"), w.para(_method(data)), *w.h2("Consistency")]
    parts.append(
        w.problems(problems)
        if problems
        else w.para("The numbers add up (counts, error rates, ratios recomputed from the rows).")
    )
    ptable = plans_table(data)
    if ptable:
        parts.append(w.table(ptable))
    parts += w.h2("Plans")
    blocks = _plan_blocks(data)
    if not blocks:
        parts.append(w.para("No EXPLAIN plans in this document."))
    parts += [*w.plans(blocks), *w.list_end, w.table(conditions_table(doc)), *w.tail]
    return "\n".join(parts)


def render_markdown(doc: ResultsDocument, doc_dir: Path) -> str:
    return _render(doc, doc_dir, _Markdown())


def render_html(doc: ResultsDocument, doc_dir: Path) -> str:
    return _render(doc, doc_dir, _Html())


def write_report(doc: ResultsDocument, out_dir: Path) -> tuple[Path, Path]:
    md = out_dir / "report.md"
    html = out_dir / "report.html"
    md.write_text(render_markdown(doc, out_dir), encoding="utf-8")
    html.write_text(render_html(doc, out_dir), encoding="utf-8")
    return md, html
