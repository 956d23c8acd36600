"""`make perf-compare`: the same load under the baseline and the optimised profile.

For each profile in turn: `make tune PROFILE=<profile>` → a warm-up run (not measured) →
N measured runs → EXPLAIN plans of the declared indexes' hot queries. Finally, whatever
happened, the lab is switched back to the inventory's own profile. Then per endpoint and
per subsystem the candidate/baseline ratio of p95 with a bootstrap interval over the
repetitions, a consistency check, and the report (opsproof.perf.report).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from opsproof import locks, placement
from opsproof.ansible_inventory import AnsibleInventory
from opsproof.endpoints import DEFAULT_INVENTORY
from opsproof.errors import ConfigError, OpsproofError, PreconditionError
from opsproof.perf import stats
from opsproof.perf.defaults import LOAD
from opsproof.perf.loadrun import REPO, LoadSettings, measure, run_locust
from opsproof.results import (
    Comparison,
    JSONValue,
    LoadResult,
    Result,
    ResultsDocument,
)

PROFILES = ("baseline", "optimised")
MAKE_ENV = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "LIMIT", "TAGS"}


@dataclass(frozen=True)
class CompareSettings:
    load: LoadSettings
    repeats: int = LOAD.repeats
    warmup_run_s: float = LOAD.warmup_run_s
    baseline: str = "baseline"
    candidate: str = "optimised"
    inventory: str = DEFAULT_INVENTORY
    seed: int = 20181231
    resamples: int = 2000
    confidence: float = 0.95
    plans: bool = True
    ceiling: bool = False

    def check(self) -> None:
        problems = []
        if not 1 <= self.repeats <= 20:
            problems.append(f"repeats={self.repeats} (use 1..20)")
        if not 0 <= self.warmup_run_s <= 600:
            problems.append(f"warm-up run={self.warmup_run_s} s (use 0..600)")
        for name in (self.baseline, self.candidate):
            if name not in PROFILES:
                problems.append(f"profile {name!r} (use {' or '.join(PROFILES)})")
        if self.baseline == self.candidate:
            problems.append("baseline and candidate are the same profile")
        if not 0 < self.confidence < 1 or self.resamples < 100:
            problems.append("confidence in (0, 1) and resamples >= 100")
        if problems:
            raise ConfigError(
                "bad perf-compare settings: " + "; ".join(problems),
                fix="set REPEATS, WARMUP_RUN, or the profiles",
            )
        self.load.check()


# --- the comparison itself (pure) ------------------------------------------------------


def comparisons(
    rows: Sequence[LoadResult],
    baseline: str,
    candidate: str,
    *,
    metric: str = "p95_ms",
    seed: int = 20181231,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> list[Comparison]:
    """candidate/baseline of `metric` for every endpoint, subsystem and the total."""
    values: dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in rows:
        value = getattr(r, metric)
        if value is not None and r.profile in (baseline, candidate):
            values[(r.scope, r.subsystem, r.endpoint)][r.profile].append((r.repetition, value))
    out = []
    for (scope, subsystem, endpoint), by_profile in sorted(values.items(), key=_scope_order):
        base = [v for _, v in sorted(by_profile.get(baseline, []))]
        cand = [v for _, v in sorted(by_profile.get(candidate, []))]
        if not base or not cand:
            continue
        interval = stats.bootstrap_ratio(
            base, cand, confidence=confidence, resamples=resamples, seed=seed
        )
        out.append(
            Comparison(
                scope=scope,  # type: ignore[arg-type]
                subsystem=subsystem,
                endpoint=endpoint,
                metric=metric,
                baseline_profile=baseline,
                candidate_profile=candidate,
                baseline_values=tuple(base),
                candidate_values=tuple(cand),
                baseline=stats.mean(base),
                candidate=stats.mean(cand),
                ratio=interval.ratio,
                ci_low=_round(interval.low, 6),
                ci_high=_round(interval.high, 6),
                confidence=confidence,
                resamples=resamples,
                seed=seed,
            )
        )
    return out


def _scope_order(item: tuple[tuple[str, str, str], Any]) -> tuple[int, str, str]:
    scope, subsystem, endpoint = item[0]
    return ({"total": 0, "subsystem": 1, "endpoint": 2}[scope], subsystem, endpoint)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def check_consistency(doc: ResultsDocument) -> list[str]:
    """Problems that would make the report lie; empty when the numbers add up.

    Per profile and repetition: endpoint rows sum to their subsystem row and subsystem rows
    to the total (requests and failures); failures <= requests; error_rate =
    failures/requests. Per comparison: its values are the rows' values in repetition order,
    baseline/candidate are their means and ratio = candidate / baseline.
    """
    problems: list[str] = []
    loads = [r for r in doc.results if isinstance(r, LoadResult)]
    runs: dict[tuple[str, int], list[LoadResult]] = defaultdict(list)
    for r in loads:
        runs[(r.profile, r.repetition)].append(r)
        where = f"{r.profile} #{r.repetition} {r.scope} {r.subsystem} {r.endpoint}"
        if r.failures > r.requests:
            problems.append(f"{where}: failures {r.failures} > requests {r.requests}")
        if r.requests and abs(r.error_rate - r.failures / r.requests) > 1e-6:
            problems.append(f"{where}: error_rate {r.error_rate} != failures/requests")
    for (profile, rep), rows in sorted(runs.items()):
        subsystems = {r.subsystem: r for r in rows if r.scope == "subsystem"}
        totals = [r for r in rows if r.scope == "total"]
        if len(totals) != 1:
            problems.append(f"{profile} #{rep}: {len(totals)} total rows (expected 1)")
            continue
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            if r.scope == "endpoint":
                sums[r.subsystem][0] += r.requests
                sums[r.subsystem][1] += r.failures
        for name in sorted(set(sums) | set(subsystems)):
            row = subsystems.get(name)
            got = (row.requests, row.failures) if row else (0, 0)
            if tuple(sums[name]) != got:
                problems.append(
                    f"{profile} #{rep} {name}: endpoints sum to {tuple(sums[name])} "
                    f"(requests, failures), the subsystem row says {got}"
                )
        total = totals[0]
        sub_sum = (
            sum(r.requests for r in subsystems.values()),
            sum(r.failures for r in subsystems.values()),
        )
        if sub_sum != (total.requests, total.failures):
            problems.append(
                f"{profile} #{rep}: subsystems sum to {sub_sum}, the total row says "
                f"{(total.requests, total.failures)}"
            )
    index = {(r.profile, r.repetition, r.scope, r.subsystem, r.endpoint): r for r in loads}
    for c in (r for r in doc.results if isinstance(r, Comparison)):
        where = f"comparison {c.scope} {c.subsystem} {c.endpoint} {c.metric}"
        for profile, shown in (
            (c.baseline_profile, c.baseline_values),
            (c.candidate_profile, c.candidate_values),
        ):
            reps = sorted(
                (rep, getattr(row, c.metric))
                for (p, rep, scope, sub, ep), row in index.items()
                if (p, scope, sub, ep) == (profile, c.scope, c.subsystem, c.endpoint)
                and getattr(row, c.metric) is not None
            )
            if [v for _, v in reps] != list(shown):
                problems.append(f"{where}: {profile} values {list(shown)} != rows {reps}")
        for label, shown_mean, vals in (
            ("baseline", c.baseline, c.baseline_values),
            ("candidate", c.candidate, c.candidate_values),
        ):
            want = stats.mean(vals)
            if want is not None and (shown_mean is None or abs(shown_mean - want) > 1e-3):
                problems.append(f"{where}: {label} {shown_mean} != mean {want}")
        if c.baseline and c.candidate is not None:
            want_ratio = c.candidate / c.baseline
            if c.ratio is None or abs(c.ratio - want_ratio) > 1e-6 * max(1.0, want_ratio):
                problems.append(f"{where}: ratio {c.ratio} != {c.candidate}/{c.baseline}")
        if c.ci_low is not None and c.ci_high is not None and c.ci_low > c.ci_high:
            problems.append(f"{where}: interval [{c.ci_low}, {c.ci_high}] is reversed")
    return problems


# --- the lab: profile switches, live settings, data scale ------------------------------


PROFILE_VAR = "opsproof_tuning_profile"


def inventory_profile(inventory: str) -> str:
    """The profile the inventory itself sets (opsproof_tuning_profile; default baseline)."""
    loaded = AnsibleInventory(inventory, fix="pass INVENTORY=<dir>")
    found = {
        str(loaded.render(name, [PROFILE_VAR], defaults={PROFILE_VAR: "baseline"})[PROFILE_VAR])
        for name in loaded.names()
    }
    if len(found) > 1:
        raise ConfigError(
            f"{inventory}: hosts disagree on opsproof_tuning_profile ({', '.join(sorted(found))})",
            fix="set opsproof_tuning_profile once, in group_vars/all",
        )
    profile = found.pop() if found else "baseline"
    if profile not in PROFILES:
        raise ConfigError(
            f"{inventory}: opsproof_tuning_profile={profile!r} is not a profile",
            fix=f"use {' or '.join(PROFILES)}",
        )
    return profile


def tune(profile: str, inventory: str, log: Path) -> float:
    """`make tune PROFILE=…`; returns its wall time. Raises with the log's tail on failure."""
    # A clean make: none of perf-compare's own knobs (ARGS, LIMIT, TAGS…) reach `make tune`.
    argv = ["make", "tune", f"PROFILE={profile}", f"INVENTORY={inventory}"]
    argv += ["ARGS=", "LIMIT=", "TAGS=", "CHANGE_LOCK="]
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV}
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as handle:
        handle.write(f"$ {shlex.join(argv)}\n")
        handle.flush()
        try:
            proc = subprocess.run(
                argv,
                cwd=REPO,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=1800,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PreconditionError(
                f"`make tune PROFILE={profile}` did not finish in 30 min", fix=f"see {log}"
            ) from None
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-800:]
        raise PreconditionError(
            f"`make tune PROFILE={profile}` failed ({proc.returncode}): {tail.strip()}",
            fix=f"see {log}",
        )
    return round(time.monotonic() - start, 1)


# What each tuned role's hosts run now (read on the hosts of the role's group).
LIVE_QUERIES = {
    "postgresql": (
        "cd /tmp && sudo -n -u postgres psql -XAt -d platform -c \"SELECT name || '=' || "
        "current_setting(name) FROM pg_settings WHERE name IN ('shared_buffers', "
        "'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'random_page_cost', "
        "'max_connections', 'shared_preload_libraries', 'log_min_duration_statement') "
        "ORDER BY name\"; sudo -n -u postgres psql -XAt -d platform -c \"SELECT 'indexes=' "
        "|| count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE "
        "'%_pkey'\"; echo seed_scale=$(python3 -c 'import json; print(json.load(open("
        '"/var/lib/platform/seed.json"))["scale"])\' 2>/dev/null)'
    ),
    "tomcat": (
        "ps -o args= -C java | tr ' ' '\\n' | grep -E '^-X(ms|mx)|^-XX:(MaxGCPauseMillis|"
        "\\+Use.*GC)' | sort -u; sudo -n grep -hoE '(maxThreads|maxTotal)=\"[0-9]+\"' "
        "/etc/tomcat10/server.xml /etc/tomcat10/Catalina/localhost/ROOT.xml 2>/dev/null | "
        "tr -d '\"' | sort -u"
    ),
    "nginx": (
        "sudo -n nginx -T 2>/dev/null | grep -E '^\\s*(gzip|keepalive|expires)\\s' | "
        "sed 's/^ *//; s/;$//' | sort -u"
    ),
}


def live_settings(inventory: str) -> dict[str, JSONValue]:
    """What the hosts run now (read live, per group): the profile values in the report."""
    from opsproof.hosts import resolve, run

    out: dict[str, JSONValue] = {}
    for target in resolve(inventory):
        for role, command in LIVE_QUERIES.items():
            if placement.group_of(role) not in target.groups:
                continue
            done = run(target, command, timeout=60)
            lines: list[JSONValue] = [x.strip() for x in done.stdout.splitlines() if x.strip()]
            out[target.name] = lines if done.rc == 0 else [f"error: {done.stderr.strip()}"]
    return out


def capture_plans(inventory: str, profile: str) -> tuple[list[Result], str]:
    """EXPLAIN plans from opsproof.perf.explain (the tuning work), or why there are none."""
    try:
        explain = importlib.import_module("opsproof.perf.explain")
    except ImportError:
        return [], "opsproof.perf.explain is not installed; no plans captured"
    plans = explain.capture_plans(inventory, profile)
    return list(plans), f"{len(plans)} plans"


# --- orchestration ---------------------------------------------------------------------


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so `finally` restores the profile."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def change_lock(timeout_s: float = 1800) -> Iterator[None]:
    """Hold the lab's change lock for the whole comparison.

    Other runs on this machine (make provision, make tune) wait while the profiles are
    compared, so no one switches the profile under a measurement. The comparison's own
    `make tune` runs with CHANGE_LOCK= (it already holds the lock).
    """
    path = locks.change_lock_path()
    with locks.held(
        path,
        timeout_s=timeout_s,
        poll_s=2,
        on_wait=lambda: _say(f"waiting for {path} (another provisioning or tuning run)"),
        timed_out=lambda: PreconditionError(
            f"another run held {path} for {timeout_s:.0f} s",
            fix="wait for the running make provision / make tune, then retry",
        ),
    ):
        yield


@dataclass(frozen=True)
class CompareOutcome:
    rows: tuple[LoadResult, ...]
    plans: tuple[Result, ...]
    conditions: dict[str, JSONValue]


def run_profiles(settings: CompareSettings, out_dir: Path) -> CompareOutcome:
    """Switch, warm up and measure each profile; always switch back to the inventory's."""
    settings.check()
    home = inventory_profile(settings.inventory)
    rows: list[LoadResult] = []
    plans: list[Result] = []
    conditions: dict[str, JSONValue] = {
        "inventory_profile": home,
        "profiles": {},
        "runs": [],
        "tune_s": {},
    }
    profiles_info: dict[str, JSONValue] = {}
    runs: list[JSONValue] = []
    tune_s: dict[str, JSONValue] = {}
    with _terminate_as_interrupt(), change_lock():
        try:
            for profile in (settings.baseline, settings.candidate):
                _say(f"switching the lab to the {profile} profile (make tune)")
                log = out_dir / f"tune-{profile}.log"
                tune_s[profile] = tune(profile, settings.inventory, log)
                info: dict[str, JSONValue] = {"live": live_settings(settings.inventory)}
                if settings.warmup_run_s > 0:
                    _say(f"{profile}: warm-up run, {settings.warmup_run_s:.0f} s (not measured)")
                    warm = dataclasses.replace(
                        settings.load, warmup_s=0, steady_s=settings.warmup_run_s
                    )
                    run_locust(warm, out_dir / profile / "warmup")
                for rep in range(1, settings.repeats + 1):
                    _say(f"{profile}: run {rep}/{settings.repeats}")
                    run_dir = out_dir / profile / f"run-{rep}"
                    rows += measure(settings.load, run_dir, profile=profile, repetition=rep)
                    where = str(run_dir.relative_to(out_dir))
                    runs.append({"profile": profile, "repetition": rep, "dir": where})
                if settings.plans:
                    _say(f"{profile}: EXPLAIN (ANALYZE, BUFFERS) of the hot queries")
                    captured, note = capture_plans(settings.inventory, profile)
                    plans += captured
                    info["plans"] = note
                profiles_info[profile] = info
        except BaseException as err:
            _restore(home, settings.inventory, out_dir, tune_s, cause=err)
            raise
        _restore(home, settings.inventory, out_dir, tune_s, cause=None)
    conditions["profiles"] = profiles_info
    conditions["runs"] = runs
    conditions["tune_s"] = tune_s
    return CompareOutcome(tuple(rows), tuple(plans), conditions)


def _restore(
    home: str,
    inventory: str,
    out_dir: Path,
    tune_s: dict[str, JSONValue],
    *,
    cause: BaseException | None,
) -> None:
    """Switch back to the inventory's profile; on failure name both problems."""
    _say(f"restoring the inventory's profile: {home}")
    try:
        tune_s[f"restore-{home}"] = tune(home, inventory, out_dir / "tune-restore.log")
    except OpsproofError as err:
        if cause is None:
            raise
        raise OpsproofError(
            f"{cause}; and switching back to profile {home} failed too: {err}",
            fix=f"run `make tune PROFILE={home}` by hand",
        ) from cause


def _say(message: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] perf-compare: {message}", file=sys.stderr, flush=True)


def dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
