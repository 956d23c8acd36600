"""One headless Locust run of loadtests/ against the platform, and what it measured.

The run directory gets Locust's own CSV (stats, stats history, failures), HTML and JSON,
its log, the per-request log and stage markers (opsproof.perf.requestlog), and
`results.json` in the results schema: `load` rows per endpoint, per subsystem and for the
run, computed from every request of the steady stage (opsproof.perf.stats).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from opsproof.errors import ConfigError, PreconditionError
from opsproof.perf import mix
from opsproof.perf.defaults import LOAD
from opsproof.perf.mix import PersonaRate
from opsproof.perf.requestlog import read_requests, read_stages
from opsproof.perf.stats import summarise
from opsproof.results import JSONValue, LoadResult

REPO = Path(__file__).resolve().parents[3]
LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
# Locust's exit codes: 0 no failure, 1 some requests failed; anything else: it did not run.
LOCUST_FAILURES_RC = 1


@dataclass(frozen=True)
class LoadSettings:
    """The load shape and target of one run (the knobs of `make loadtest`).

    The target comes from the inventory (opsproof.endpoints), the defaults from
    opsproof.perf.defaults."""

    url: str
    ca_cert: str  # "" = the system's CAs
    users: int = LOAD.users
    spawn_rate: float = float(LOAD.users)
    warmup_s: float = LOAD.warmup_s
    steady_s: float = LOAD.steady_s
    user_rate: float = LOAD.user_rate
    mix: str = LOAD.mix
    tags: tuple[str, ...] = ()
    workers: int = LOAD.workers  # 0: one process; N: a master and N worker processes here
    apdex_t_s: float = LOAD.apdex_t_s
    # The open model (rate > 0): arrival rates per persona instead of `users` closed-loop users.
    rate: float = LOAD.rate  # task runs/s of the whole mix
    task_floor: float = 0.0  # every task at least this many runs/s
    pacing_s: float = LOAD.pacing_s
    # Capacity: one step per rate (replaces the steady stage), each step_s long.
    steps: tuple[float, ...] = ()
    step_s: float = LOAD.capacity_step_s
    slo_p95_ms: float = LOAD.slo_p95_ms
    slo_error_rate: float = LOAD.slo_error_rate
    extra_args: tuple[str, ...] = field(default=())

    def check(self) -> None:
        """Refuse values that cannot make a bounded, meaningful run."""
        problems = []
        if not 1 <= self.users <= 2000:
            problems.append(f"users={self.users} (use 1..2000)")
        if self.spawn_rate <= 0:
            problems.append(f"spawn rate={self.spawn_rate} (use > 0)")
        if not 0 <= self.warmup_s <= 3600:
            problems.append(f"warm-up={self.warmup_s} s (use 0..3600)")
        if not 1 <= self.steady_s <= 3600:
            problems.append(f"run time={self.steady_s} s (use 1..3600)")
        if self.user_rate < 0:
            problems.append(f"user rate={self.user_rate} (use >= 0; 0 = no pause)")
        if not 0 <= self.workers <= 64:
            problems.append(f"workers={self.workers} (use 0..64)")
        if self.apdex_t_s <= 0:
            problems.append(f"Apdex T={self.apdex_t_s} s (use > 0)")
        if self.rate < 0 or self.task_floor < 0 or not 0.2 <= self.pacing_s <= 60:
            problems.append(
                f"rate={self.rate}, task floor={self.task_floor}, pacing={self.pacing_s} s "
                "(rates >= 0, pacing 0.2..60 s)"
            )
        if self.steps and (
            any(r <= 0 for r in self.steps) or len(self.steps) > 30 or not 5 <= self.step_s <= 600
        ):
            problems.append(
                f"steps={list(self.steps)} of {self.step_s} s (1..30 rates > 0, 5..600 s)"
            )
        if self.steps and self.workers:
            problems.append("capacity steps run in one process (the shape paces its users)")
        if self.open_rate() * self.pacing_s > 5000:
            problems.append(f"{self.open_rate()} runs/s x {self.pacing_s} s pacing: too many users")
        if problems:
            raise ConfigError(
                "bad load settings: " + "; ".join(problems),
                fix="set USERS, SPAWN_RATE, WARMUP, RUN_TIME, USER_RATE, WORKERS, APDEX_T",
            )
        if self.ca_cert and not Path(self.ca_cert).is_file():
            raise PreconditionError(
                f"CA certificate {self.ca_cert} not found",
                fix="run `make provision` (it makes the lab CA), or pass --ca-cert",
            )
        # Raises a ConfigError naming a bad mix, tag or user count.
        self.personas()

    def open_rate(self) -> float:
        """The rate the users are planned for: the top step's, else `rate` (0: closed model)."""
        return max(self.steps, default=0.0) or self.rate

    def plans(self) -> dict[str, PersonaRate]:
        """Open model: each persona's rate, users and task weights (at the top step)."""
        shares = mix.shares(self.mix, self.tags or None)
        return mix.plan_rates(
            self.open_rate(), shares, floor=self.task_floor, pacing_s=self.pacing_s
        )

    def personas(self) -> dict[str, int]:
        if self.open_rate() > 0:
            return {name: plan.users for name, plan in self.plans().items()}
        return mix.allocate(self.users, mix.shares(self.mix, self.tags or None))

    def total_users(self) -> int:
        return sum(self.personas().values()) if self.open_rate() > 0 else self.users

    def conditions(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
        }
        data["users_per_persona"] = dict(self.personas())
        if self.open_rate() > 0:
            data["model"] = (
                "open: per-persona arrival rates; each persona's users start a task every "
                "users/rate s (loadtests/pacing.py), so answers slower than that interval "
                "(pacing_s at the top rate) are the only way the server can lower the rate"
            )
            data["rate_per_persona"] = {
                name: {
                    "rate": round(p.rate, 4),
                    "users": p.users,
                    "task_rates": {t: round(r, 4) for t, r in p.task_rates().items()},
                }
                for name, p in self.plans().items()
            }
        else:
            data["model"] = "closed: users at user_rate task runs/s each (constant_throughput)"
        data["locustfile"] = str(LOCUSTFILE.relative_to(REPO))
        return data

    @property
    def timeout_s(self) -> float:
        """Wall time after which the run is killed: the stages plus a bounded margin."""
        stages = self.step_s * len(self.steps) if self.steps else self.steady_s
        return self.warmup_s + stages + max(60.0, self.total_users() / self.spawn_rate + 30)


def locust_argv(settings: LoadSettings, run_dir: Path | None) -> list[str]:
    """Locust's command line: headless into run_dir, or the dashboard when run_dir is None."""
    locust = Path(sys.executable).with_name("locust")
    argv = [
        str(locust),
        "-f",
        str(LOCUSTFILE),
        "--host",
        settings.url,
        "--ca-cert",
        settings.ca_cert,
        "-u",
        str(settings.total_users()),
        "-r",
        str(settings.spawn_rate),
        "--warmup",
        str(settings.warmup_s),
        "--steady",
        str(settings.steady_s),
        "--user-rate",
        str(settings.user_rate),
        "--mix",
        settings.mix,
    ]
    if settings.open_rate() > 0:
        argv += ["--rate", str(settings.rate), "--task-floor", str(settings.task_floor)]
        argv += ["--pacing", str(settings.pacing_s)]
    if settings.steps:
        argv += ["--steps", ",".join(f"{r:g}" for r in settings.steps)]
        argv += ["--step-time", str(settings.step_s), "--slo-p95", str(settings.slo_p95_ms)]
        argv += ["--slo-errors", str(settings.slo_error_rate)]
    if run_dir is not None:
        argv += ["--headless", "--request-log", str(run_dir), "--csv", str(run_dir / "locust")]
        argv += ["--html", str(run_dir / "locust.html"), "--json-file", str(run_dir / "locust")]
        argv += ["--only-summary", "--stop-timeout", "10"]
    if settings.tags:
        argv += ["--tags", *settings.tags]
    if settings.workers:
        argv += ["--processes", str(settings.workers)]
    return argv + list(settings.extra_args)


@dataclass(frozen=True)
class LocustRun:
    run_dir: Path
    rc: int
    argv: tuple[str, ...]


def run_locust(settings: LoadSettings, run_dir: Path) -> LocustRun:
    """Run Locust once (bounded by settings.timeout_s); its log goes to run_dir/locust.log."""
    settings.check()
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*run_dir.glob("requests-*.csv"), run_dir / "stages.json"]:
        stale.unlink(missing_ok=True)
    argv = locust_argv(settings, run_dir)
    env = locust_env()
    with (run_dir / "locust.log").open("w", encoding="utf-8") as log:
        try:
            proc = subprocess.run(
                argv,
                cwd=REPO,  # reads pyproject's [tool.locust]
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=settings.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PreconditionError(
                f"Locust did not finish within {settings.timeout_s:.0f} s",
                fix=f"look at {run_dir / 'locust.log'}; is the platform answering?",
            ) from None
    if proc.returncode not in (0, LOCUST_FAILURES_RC):
        tail = (run_dir / "locust.log").read_text(encoding="utf-8", errors="replace")[-600:]
        raise PreconditionError(
            f"Locust exited {proc.returncode}: {tail.strip()}",
            fix=f"see {run_dir / 'locust.log'}",
        )
    return LocustRun(run_dir, proc.returncode, tuple(argv))


def locust_env() -> dict[str, str]:
    """Locust's environment: none of the caller's LOCUST_* settings, the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def dashboard(settings: LoadSettings, *, port: int | None, extra: Sequence[str] = ()) -> None:
    """Replace this process with Locust's dashboard on 127.0.0.1 (make loadtest-ui)."""
    settings.check()
    argv = [*locust_argv(settings, None), "--web-host", "127.0.0.1"]
    argv += ["--web-port", str(port)] if port else []
    os.chdir(REPO)  # reads pyproject's [tool.locust]
    os.execve(argv[0], [*argv, *extra], locust_env())


def measure(
    settings: LoadSettings, run_dir: Path, *, profile: str, repetition: int = 1
) -> list[LoadResult]:
    """Run Locust once and summarise its steady stage."""
    run_locust(settings, run_dir)
    return summarise(
        read_requests(run_dir),
        read_stages(run_dir),
        profile=profile,
        repetition=repetition,
        apdex_t_s=settings.apdex_t_s,
    )


def print_summary(rows: Sequence[LoadResult], out: object = sys.stdout) -> None:
    """A table of the endpoint and subsystem rows (what a tester reads first)."""
    width = max((len(r.endpoint) for r in rows), default=10)
    header = f"{'endpoint':<{width}} {'method':<6} {'reqs':>6} {'fail':>5} "
    header += f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'apdex':>6}"
    lines = [header]
    for r in rows:
        label = r.endpoint if r.scope == "endpoint" else f"[{r.scope}] {r.subsystem}"

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        apdex = "-" if r.apdex is None else f"{r.apdex:.3f}"
        lines.append(
            f"{label:<{width}} {r.method:<6} {r.requests:>6} {r.failures:>5} "
            f"{ms(r.p50_ms):>8} {ms(r.p95_ms):>8} {ms(r.p99_ms):>8} {r.rps:>7.2f} {apdex:>6}"
        )
    print("\n".join(lines), file=out)  # type: ignore[call-overload]


def read_json_file(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
