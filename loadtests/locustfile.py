"""The platform's load test: six personas (one per subsystem), warm-up then steady stage.

    locust -f loadtests/locustfile.py            # the platform of inventories/lab
    make loadtest USERS=24 RUN_TIME=60           # headless, reports in reports/perf/<run>/
    make loadtest-ui                             # the dashboard on 127.0.0.1

Options added here (also as LOCUST_* environment variables): --inventory, --ca-cert,
--warmup, --steady, --mix, --user-rate, --request-log; their defaults are
opsproof.perf.defaults, the target the inventory's (loadtests/target.py). See
loadtests/README.md.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from locust import constant_throughput, events
from locust.env import Environment
from locust.runners import MasterRunner

from loadtests import pacing, target
from loadtests.personas import PERSONAS, ca_context_factory
from loadtests.shape import WarmupThenSteady, steps
from opsproof.perf import mix
from opsproof.perf.defaults import LOAD
from opsproof.perf.requestlog import format_line

# Locust collects the user classes and the shape from this module's namespace.
__all__ = [cls.__name__ for cls in PERSONAS] + ["WarmupThenSteady"]
globals().update({cls.__name__: cls for cls in PERSONAS})


# The numeric options: flag, environment variable, default, help.
_FLOAT_OPTIONS: tuple[tuple[str, str, float, str], ...] = (
    ("--warmup", "LOCUST_WARMUP", LOAD.warmup_s, "warm-up, s"),
    ("--steady", "LOCUST_STEADY", LOAD.steady_s, "measured, s"),
    (
        "--user-rate",
        "LOCUST_USER_RATE",
        LOAD.user_rate,
        "task runs per second of each user (0 = no pause)",
    ),
    (
        "--rate",
        "LOCUST_RATE",
        0.0,
        "open model: task runs per second offered in all (0 = -u users at --user-rate)",
    ),
    (
        "--task-floor",
        "LOCUST_TASK_FLOOR",
        0.0,
        "open model: every task at least this many runs/s (enough samples per endpoint)",
    ),
    (
        "--pacing",
        "LOCUST_PACING",
        LOAD.pacing_s,
        "open model: users per persona = its rate x this (s)",
    ),
    ("--step-time", "LOCUST_STEP_TIME", 60.0, "s per step"),
    ("--slo-p95", "LOCUST_SLO_P95", 500.0, "ms"),
    ("--slo-errors", "LOCUST_SLO_ERRORS", 0.01, "fraction"),
)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    target.add_options(parser)
    for flag, env, default, text in _FLOAT_OPTIONS:
        parser.add_argument(flag, env_var=env, type=float, default=default, help=text)
    parser.add_argument(
        "--mix",
        env_var="LOCUST_MIX",
        choices=sorted(mix.MIXES),
        default=LOAD.mix,
        help="persona shares: floored (each >= 3 %%) or natural (docs/load-mix.md)",
    )
    parser.add_argument(
        "--steps",
        env_var="LOCUST_STEPS",
        default="",
        help="capacity: comma-separated rates (task runs/s), one step each ('' = no steps)",
    )
    parser.add_argument(
        "--request-log",
        env_var="LOCUST_REQUEST_LOG",
        default="",
        help="directory for the per-request log and stage markers ('' = none)",
    )


def _allocate(environment: Environment) -> None:
    """Users per persona from the mix (each at least one), set as fixed counts."""
    options = environment.parsed_options
    if options is None:
        return
    tags = set(options.tags) if options.tags else None
    shares = mix.shares(options.mix, tags)
    open_rate = max(steps(options), default=0.0) or float(options.rate)
    if open_rate > 0:
        # Open model: per-persona arrival rates (the top step's for a capacity run).
        plans = mix.plan_rates(
            open_rate, shares, floor=float(options.task_floor), pacing_s=float(options.pacing)
        )
        kept = [cls for cls in PERSONAS if cls.subsystem in plans]
        for cls in kept:
            pacing.apply(cls, plans[cls.subsystem])
            cls.ssl_context_factory = staticmethod(ca_context_factory(options.ca_cert))
        if steps(options):  # the first step's rates; the shape sets each next step's
            first = mix.plan_rates(
                steps(options)[0],
                shares,
                floor=float(options.task_floor),
                pacing_s=float(options.pacing),
            )
            for cls in kept:
                pacing.set_rate(cls.subsystem, first[cls.subsystem].rate)
        environment.user_classes[:] = kept
        options.num_users = sum(p.users for p in plans.values())
        return
    counts = mix.allocate(int(options.num_users or len(shares)), shares)
    kept = [cls for cls in PERSONAS if cls.subsystem in counts]
    for cls in kept:
        cls.fixed_count = counts[cls.subsystem]
        if options.user_rate > 0:
            cls.wait_time = constant_throughput(options.user_rate)  # type: ignore[method-assign]
        cls.ssl_context_factory = staticmethod(ca_context_factory(options.ca_cert))
    environment.user_classes[:] = kept


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    target.fill_defaults(environment)
    _allocate(environment)
    options = environment.parsed_options
    if options is None or not options.request_log or isinstance(environment.runner, MasterRunner):
        return
    log_dir = Path(options.request_log)
    log_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"pid": None, "writer": None, "handle": None}

    def writer() -> Any:
        # Forked workers (--processes) each open their own file, named by their pid.
        if state["pid"] != os.getpid():
            state["pid"] = os.getpid()
            state["handle"] = (log_dir / f"requests-{os.getpid()}.csv").open(
                "a", newline="", encoding="utf-8"
            )
            state["writer"] = csv.writer(state["handle"])
        return state["writer"]

    @environment.events.request.add_listener
    def _log(
        request_type: str,
        name: str,
        response_time: float,
        exception: BaseException | None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        if start_time is None:
            return
        writer().writerow(
            format_line(start_time, request_type, name, response_time, exception is None)
        )

    @environment.events.test_stop.add_listener
    def _flush(**_: Any) -> None:
        if state["handle"] is not None:
            state["handle"].flush()

    @environment.events.quitting.add_listener
    def _close(**_: Any) -> None:
        if state["handle"] is not None:
            state["handle"].close()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    # The dashboard may have changed the user count since init.
    _allocate(environment)
