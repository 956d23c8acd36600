"""`make perf-compare`: the same load under the baseline and the optimised profile — the
orchestration (the statistics are opsproof.perf.comparison, pure).

Under the change lock, for each profile in turn: switch the hosts to it
(opsproof.perf.tuning.switch) → a warm-up run (not measured) → N measured runs → EXPLAIN
plans of the declared indexes' hot queries. Finally, whatever happened, the lab is switched
back to the inventory's own profile. The caller then computes the comparisons, checks them
and writes the report (opsproof.perf.cli, opsproof.perf.report).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from opsproof import placement
from opsproof.endpoints import DEFAULT_INVENTORY
from opsproof.errors import ConfigError, OpsproofError
from opsproof.perf import capacity, resources, tuning
from opsproof.perf.defaults import LOAD
from opsproof.perf.loadrun import LoadSettings, measure, run_locust
from opsproof.perf.requestlog import read_requests
from opsproof.results import (
    JSONValue,
    LoadResult,
    ResourceResult,
    Result,
)

PROFILES = tuning.PROFILES


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
    min_requests: int = LOAD.min_requests  # per endpoint and profile, to be judged
    # The capacity stage (after each profile's repeats): its load, or None for no stage.
    capacity: LoadSettings | None = None
    # Measured runs whose other machine work passed the threshold are run again (at most N).
    retry_disturbed: int = 0

    def check(self) -> None:
        problems = []
        if not (0 if self.capacity else 1) <= self.repeats <= 20:
            problems.append(f"repeats={self.repeats} (use 1..20; 0 only with the capacity stage)")
        if self.min_requests < 1:
            problems.append(f"min requests={self.min_requests} (use >= 1)")
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
        if self.capacity is not None:
            self.capacity.check()


# --- the lab: profile switches, live settings, data scale ------------------------------


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
    from opsproof.ssh_targets import resolve, run

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


@dataclass(frozen=True)
class CompareOutcome:
    rows: tuple[LoadResult, ...]
    plans: tuple[Result, ...]
    conditions: dict[str, JSONValue]
    capacity: tuple[Result, ...] = ()
    resources: tuple[Result, ...] = ()


def disturbed(rows: list[ResourceResult]) -> bool:
    """Whether other work on the machine passed the threshold during the run."""
    return any(
        r.metric == "others_cpu_percent"
        and isinstance(r.detail, dict)
        and r.detail.get("disturbed")
        for r in rows
    )


def measure_capacity(settings: CompareSettings, run_dir: Path, profile: str) -> list[Result]:
    """One capacity run (rate steps until the SLO breaks) and its steps and knee."""
    cap = settings.capacity
    assert cap is not None
    run_locust(cap, run_dir)
    rows = capacity.step_rows(
        read_requests(run_dir),
        capacity.read_steps(run_dir),
        profile=profile,
        slo_p95_ms=cap.slo_p95_ms,
        slo_error_rate=cap.slo_error_rate,
    )
    knee = capacity.verdict(
        rows, profile=profile, slo_p95_ms=cap.slo_p95_ms, slo_error_rate=cap.slo_error_rate
    )
    return [*rows, knee]


def run_profiles(settings: CompareSettings, out_dir: Path) -> CompareOutcome:
    """Switch, warm up and measure each profile; always switch back to the inventory's."""
    settings.check()
    home = tuning.inventory_profile(settings.inventory)
    rows: list[LoadResult] = []
    plans: list[Result] = []
    caps: list[Result] = []
    used: list[Result] = []
    conditions: dict[str, JSONValue] = {
        "inventory_profile": home,
        "profiles": {},
        "runs": [],
        "tune_s": {},
    }
    profiles_info: dict[str, JSONValue] = {}
    runs: list[JSONValue] = []
    tune_s: dict[str, JSONValue] = {}
    with _terminate_as_interrupt(), tuning.change_lock(who="perf-compare"):
        try:
            for profile in (settings.baseline, settings.candidate):
                _say(f"switching the lab to the {profile} profile")
                log = out_dir / f"tune-{profile}.log"
                tune_s[profile] = tuning.switch(profile, settings.inventory, log=log, locked=True)
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
                    for attempt in range(settings.retry_disturbed + 1):
                        label = f"{profile}/run-{rep}"
                        with resources.Watch(settings.inventory, run=label, profile=profile) as w:
                            got = measure(settings.load, run_dir, profile=profile, repetition=rep)
                        if not disturbed(w.results) or attempt == settings.retry_disturbed:
                            break
                        _say(f"{profile}: run {rep} disturbed by other work; running it again")
                    rows += got
                    used += w.results
                    where = str(run_dir.relative_to(out_dir))
                    runs.append({"profile": profile, "repetition": rep, "dir": where})
                if settings.plans:
                    _say(f"{profile}: EXPLAIN (ANALYZE, BUFFERS) of the hot queries")
                    captured, note = capture_plans(settings.inventory, profile)
                    plans += captured
                    info["plans"] = note
                if settings.capacity is not None:
                    steps = ", ".join(f"{r:g}" for r in settings.capacity.steps)
                    _say(f"{profile}: capacity, steps of {settings.capacity.step_s:g} s: {steps}")
                    run_dir = out_dir / profile / "capacity"
                    label = f"{profile}/capacity"
                    with resources.Watch(settings.inventory, run=label, profile=profile) as w:
                        caps += measure_capacity(settings, run_dir, profile)
                    used += w.results
                    where = str(run_dir.relative_to(out_dir))
                    runs.append({"profile": profile, "repetition": 0, "dir": where})
                profiles_info[profile] = info
        except BaseException as err:
            _restore(home, settings.inventory, out_dir, tune_s, cause=err)
            raise
        if settings.candidate == home:
            # The last switch, which succeeded, put the lab in the inventory's profile.
            note = f"nothing to restore: the last profile measured, {home}, is the inventory's\n"
            (out_dir / "tune-restore.log").write_text(note, encoding="utf-8")
            _say(note.strip())
        else:
            _restore(home, settings.inventory, out_dir, tune_s, cause=None)
    conditions["profiles"] = profiles_info
    conditions["runs"] = runs
    conditions["tune_s"] = tune_s
    return CompareOutcome(tuple(rows), tuple(plans), conditions, tuple(caps), tuple(used))


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
        tune_s[f"restore-{home}"] = tuning.switch(
            home, inventory, log=out_dir / "tune-restore.log", locked=True
        )
    except OpsproofError as err:
        if cause is None:
            raise
        raise OpsproofError(
            f"{cause}; and switching back to profile {home} failed too: {err}",
            fix=f"run `make tune PROFILE={home}` by hand",
        ) from cause


def _say(message: str) -> None:
    tuning.say("perf-compare", message)


def dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
