"""`opsproof perf …`: load test, before/after comparison, regression gate, generator ceiling."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from opsproof import endpoints
from opsproof.cli import add_inventory_option, command_group
from opsproof.errors import ConfigError, OpsproofError
from opsproof.perf import (
    capacity,
    ceiling,
    compare,
    comparison,
    gate,
    mix,
    report,
    resources,
    tuning,
)
from opsproof.perf.defaults import LOAD
from opsproof.perf.loadrun import REPO, LoadSettings, dashboard, measure, print_summary
from opsproof.results import (
    JSONValue,
    Result,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    utc_now,
    write_results,
)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = command_group(groups, "perf", help="load tests, before/after comparison, gate")

    load = commands.add_parser("loadtest", help="one headless Locust run -> reports/perf/<run>/")
    _load_options(load)
    load.add_argument("--profile", help="label of the tuning profile the lab runs now")
    load.add_argument("--out-dir", type=Path, help="default reports/perf/<run id>")
    load.set_defaults(func=cmd_loadtest)

    ui = commands.add_parser("ui", help="Locust's dashboard on 127.0.0.1 against the platform")
    _load_options(ui)
    ui.add_argument("--port", type=int, help="the dashboard's port (Locust's default: 8089)")
    ui.add_argument("locust_args", nargs="*", help="after --: more Locust options")
    ui.set_defaults(func=cmd_ui)

    comp = commands.add_parser("compare", help="baseline vs optimised, repeated, with report")
    _load_options(comp)
    comp.add_argument(
        "--repeats", type=int, default=LOAD.repeats, help="measured runs per profile (%(default)s)"
    )
    comp.add_argument(
        "--warmup-run",
        type=float,
        default=LOAD.warmup_run_s,
        help="unmeasured run after each switch, s (%(default)s)",
    )
    comp.add_argument("--seed", type=int, default=20181231, help="bootstrap RNG seed")
    comp.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    comp.add_argument("--no-plans", action="store_true", help="skip the EXPLAIN plans")
    comp.add_argument("--ceiling", action="store_true", help="also measure the generator")
    comp.add_argument(
        "--min-requests",
        type=int,
        default=LOAD.min_requests,
        help="requests per endpoint and profile to judge it; the open model's task floor is "
        "set to reach it (%(default)s)",
    )
    comp.add_argument(
        "--retry-disturbed",
        type=int,
        default=0,
        help="run a measured run again (at most N times) when other work on the machine "
        f"passed {resources.DISTURBED_PCT:g} %% of its CPU (%(default)s)",
    )
    cap = comp.add_argument_group("capacity (a stage after each profile's runs)")
    cap.add_argument("--capacity", action="store_true", help="add the capacity stage")
    cap.add_argument("--cap-start", type=float, default=LOAD.capacity_start, help="runs/s")
    cap.add_argument("--cap-factor", type=float, default=LOAD.capacity_factor, help="x per step")
    cap.add_argument("--cap-max", type=float, default=LOAD.capacity_max, help="runs/s")
    cap.add_argument("--cap-steps", default="", help="explicit rates, comma-separated")
    cap.add_argument(
        "--cap-mix",
        default=LOAD.capacity_mix,
        help="persona mix of the capacity steps (%(default)s: the 2018 traffic)",
    )
    cap.add_argument(
        "--step-time", type=float, default=LOAD.capacity_step_s, help="s per step (%(default)s)"
    )
    cap.add_argument(
        "--cap-pacing", type=float, default=LOAD.capacity_pacing_s, help="s (%(default)s)"
    )
    cap.add_argument("--slo-p95", type=float, default=LOAD.slo_p95_ms, help="ms (%(default)s)")
    cap.add_argument(
        "--slo-errors", type=float, default=LOAD.slo_error_rate, help="fraction (%(default)s)"
    )
    comp.add_argument("--out-dir", type=Path, help="default reports/perf/compare-<UTC>")
    comp.set_defaults(func=cmd_compare)

    rep = commands.add_parser("report", help="render report.md/html again from results.json")
    rep.add_argument("results", type=Path, help="a perf-compare results.json")
    rep.set_defaults(func=cmd_report)

    g = commands.add_parser("gate", help="exit 1 when NEW regressed against BASE")
    g.add_argument("base", type=Path, metavar="BASE.json")
    g.add_argument("new", type=Path, metavar="NEW.json")
    g.add_argument("--p95-threshold", type=float, default=0.2, help="allowed p95 growth (0.2)")
    g.add_argument(
        "--error-threshold", type=float, default=0.01, help="allowed error-rate growth (0.01)"
    )
    g.add_argument("--min-requests", type=int, default=20, help="judge endpoints with more")
    g.add_argument("--base-profile", help="profile of BASE to use (default: its last)")
    g.add_argument("--new-profile", help="profile of NEW to use (default: its last)")
    g.set_defaults(func=cmd_gate)

    ceil = commands.add_parser("ceiling", help="Locust (one core) vs wrk on the same URL")
    ceil.add_argument(
        "--duration",
        type=float,
        default=LOAD.ceiling_duration_s,
        help="seconds per tool (<= 15; %(default)s)",
    )
    ceil.add_argument(
        "--connections",
        type=int,
        default=LOAD.ceiling_connections,
        help="users / connections (%(default)s)",
    )
    ceil.add_argument(
        "--workers",
        type=int,
        default=0,
        help="also Locust distributed: a master here and 1, then N, worker processes",
    )
    ceil.add_argument(
        "--cpu-per-process",
        type=float,
        metavar="CORES",
        help="cap the Locust process, or each worker, at CORES of CPU (a cgroup each; the master "
        "only aggregates and is not capped), so the generator, not the machine, is the limit; "
        "wrk is not capped",
    )
    add_inventory_option(ceil, short=False, help="where the platform is")
    ceil.add_argument("--ca-cert", help="CA to verify the platform with (default: the inventory's)")
    ceil.add_argument("--out-dir", type=Path, help="default reports/perf/ceiling-<UTC>")
    ceil.set_defaults(func=cmd_ceiling)


def _load_options(parser: argparse.ArgumentParser) -> None:
    add_inventory_option(parser, short=False, help="where the platform is")
    parser.add_argument("--url", help="the platform's base URL (default: the inventory's)")
    parser.add_argument("--ca-cert", help="CA to verify the platform with ('' = system CAs)")
    add = parser.add_argument
    add("--users", type=int, default=LOAD.users, help="simulated users (%(default)s)")
    add("--spawn-rate", type=float, help="users started per second (= users)")
    add("--warmup", type=float, default=LOAD.warmup_s, help="warm-up stage, s (%(default)s)")
    add("--run-time", type=float, default=LOAD.steady_s, help="measured stage, s (%(default)s)")
    add(
        "--user-rate", type=float, default=LOAD.user_rate, help="task runs/s per user (%(default)s)"
    )
    add("--mix", default=LOAD.mix, help="floored or natural (%(default)s)")
    add("--tags", default="", help="subsystems to run, comma-separated (all)")
    add("--workers", type=int, default=LOAD.workers, help="Locust worker processes (%(default)s)")
    add("--apdex-t", type=float, default=LOAD.apdex_t_s, help="Apdex T, s (%(default)s)")
    add(
        "--rate",
        type=float,
        help="open model: task runs/s of the mix (loadtest: 0 = USERS closed-loop users; "
        f"compare: {LOAD.compare_rate:g})",
    )
    add("--pacing", type=float, default=LOAD.pacing_s, help="open model: s (%(default)s)")


def _target(inventory: str, url: str | None, ca_cert: str | None) -> tuple[str, str]:
    """The platform's URL and CA: as given, else from the inventory (opsproof.endpoints)."""
    if url is not None and ca_cert is not None:
        return url, ca_cert
    endpoint = endpoints.platform_endpoint(inventory)
    return (endpoint.url if url is None else url), (
        endpoint.ca_cert if ca_cert is None else ca_cert
    )


def _settings(args: argparse.Namespace, *, rate: float = LOAD.rate) -> LoadSettings:
    tags = tuple(t for t in args.tags.replace(",", " ").split() if t)
    url, ca_cert = _target(args.inventory, args.url, args.ca_cert)
    settings = LoadSettings(
        rate=rate if args.rate is None else args.rate,
        pacing_s=args.pacing,
        url=url,
        ca_cert=ca_cert,
        users=args.users,
        spawn_rate=args.spawn_rate or float(args.users),
        warmup_s=args.warmup,
        steady_s=args.run_time,
        user_rate=args.user_rate,
        mix=args.mix,
        tags=tags,
        workers=args.workers,
        apdex_t_s=args.apdex_t,
    )
    if settings.open_rate() > 0 and not args.spawn_rate:
        # Open model: all users within ~5 s (they start paced, with random phases).
        spawn = max(float(args.users), settings.total_users() / 5)
        settings = dataclasses.replace(settings, spawn_rate=round(spawn, 1))
    settings.check()
    return settings


def _hosts(inventory: str, url: str) -> list[str]:
    from opsproof.ssh_targets import resolve

    try:
        return [url, *(t.name for t in resolve(inventory))]
    except OpsproofError:
        return [url]


def cmd_loadtest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = args.profile or tuning.inventory_profile(args.inventory)
    meta = run_meta_from_environment(
        "loadtest",
        inventory=args.inventory,
        hosts=_hosts(args.inventory, settings.url),
        conditions={"load": settings.conditions(), "profile": profile},
        repo=REPO,
    )
    out_dir = args.out_dir or REPO / "reports" / "perf" / meta.id
    with resources.Watch(args.inventory, run="loadtest", profile=profile) as watch:
        rows = measure(settings, out_dir, profile=profile)
    doc = ResultsDocument(run=meta.finished(utc_now()), results=(*rows, *watch.results))
    write_results(doc, out_dir / "results.json")
    print_summary(rows)
    for line in report.conditions_lines(report.ReportData(doc)):
        print(line)
    print(f"wrote {out_dir}/ (results.json, locust.html, locust_*.csv)", file=sys.stderr)
    total = next(r for r in rows if r.scope == "total")
    if total.failures:
        print(
            f"loadtest: {total.failures} of {total.requests} requests failed; "
            f"see {out_dir}/locust_failures.csv",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    dashboard(_settings(args), port=args.port, extra=args.locust_args)
    return 0  # not reached: the dashboard replaced this process


def compare_settings(args: argparse.Namespace) -> compare.CompareSettings:
    """perf-compare's settings from its options: the open model's task floor (every endpoint
    at least --min-requests per profile) and the capacity stage's load."""
    load = _settings(args, rate=LOAD.compare_rate)
    if load.rate > 0 and args.repeats > 0:
        # Every task at least the rate that gives min_requests per endpoint over the repeats.
        floor = mix.task_floor(args.min_requests, args.repeats * load.steady_s)
        load = dataclasses.replace(load, task_floor=round(floor, 4))
    cap_load = None
    if args.capacity:
        rates = (
            tuple(float(v) for v in args.cap_steps.replace(",", " ").split())
            if args.cap_steps
            else capacity.step_rates(args.cap_start, args.cap_factor, args.cap_max)
        )
        cap_load = dataclasses.replace(
            load,
            mix=args.cap_mix,
            rate=0.0,
            task_floor=0.0,
            pacing_s=args.cap_pacing,
            steps=rates,
            step_s=args.step_time,
            slo_p95_ms=args.slo_p95,
            slo_error_rate=args.slo_errors,
            spawn_rate=float(args.spawn_rate or 0),
        )
        users = sum(cap_load.personas().values())
        # The warm-up spans the first step's interval: every user's random first arrival
        # (and its first list request) falls in it, not in the first measured step
        first = mix.plan_rates(
            rates[0], mix.shares(cap_load.mix, cap_load.tags or None), pacing_s=args.cap_pacing
        )
        # (the persona with the most users: a lone user of a rare persona adds one request).
        plans = cap_load.plans()
        busiest = max(plans, key=lambda name: plans[name].users)
        longest = plans[busiest].users / first[busiest].rate
        cap_load = dataclasses.replace(
            cap_load,
            spawn_rate=float(args.spawn_rate or max(10.0, round(users / 5, 1))),
            warmup_s=max(cap_load.warmup_s, round(longest + 2, 1)),
        )
    settings = compare.CompareSettings(
        load=load,
        min_requests=args.min_requests,
        capacity=cap_load,
        retry_disturbed=args.retry_disturbed,
        repeats=args.repeats,
        warmup_run_s=args.warmup_run,
        inventory=args.inventory,
        seed=args.seed,
        resamples=args.resamples,
        plans=not args.no_plans,
        ceiling=args.ceiling,
    )
    settings.check()
    return settings


def cmd_compare(args: argparse.Namespace) -> int:
    settings = compare_settings(args)
    cap_load = settings.capacity
    started = utc_now()
    out_dir = args.out_dir or REPO / "reports" / "perf" / f"compare-{started:%Y%m%dT%H%M%SZ}"
    out_dir.mkdir(parents=True, exist_ok=True)
    extra: list[Result] = []
    ceiling_note: JSONValue = "not measured (pass --ceiling / CEILING=1)"
    if settings.ceiling:
        figures = ceiling.measure_ceiling(
            out_dir / "ceiling",
            targets=ceiling.targets(settings.load.url),
            allowed=ceiling.allowed_hosts(settings.inventory),
            ca_cert=settings.load.ca_cert,
        )
        extra += ceiling.measurements(figures)
        ceiling_note = "measured before the runs; see the ceiling table"
    outcome = compare.run_profiles(settings, out_dir)
    conditions: dict[str, JSONValue] = {
        "load": settings.load.conditions(),
        "repeats": settings.repeats,
        "warmup_run_s": settings.warmup_run_s,
        "baseline_profile": settings.baseline,
        "candidate_profile": settings.candidate,
        "bootstrap": {"seed": settings.seed, "resamples": settings.resamples},
        "generator_ceiling": ceiling_note,
        "min_requests": settings.min_requests,
        **outcome.conditions,
    }
    if cap_load is not None:
        conditions["capacity"] = {
            **cap_load.conditions(),
            "settle_s": f"min(10, step_s / 10) = {min(10.0, cap_load.step_s / 10):g}",
            "stop": "after the first step whose p95 or error ratio (Locust's) broke the SLO",
        }
    meta = run_meta_from_environment(
        "capacity" if settings.repeats == 0 else "perf-compare",
        inventory=settings.inventory,
        hosts=_hosts(settings.inventory, settings.load.url),
        conditions=conditions,
        repo=REPO,
        started_at=started,
        run_id=f"perf-compare-{out_dir.name}",
    )
    comps = comparison.comparisons(
        outcome.rows,
        settings.baseline,
        settings.candidate,
        min_requests=settings.min_requests,
        seed=settings.seed,
        resamples=settings.resamples,
        confidence=settings.confidence,
    )
    doc = ResultsDocument(
        run=meta.finished(utc_now()),
        results=(
            *outcome.rows,
            *comps,
            *outcome.plans,
            *outcome.capacity,
            *outcome.resources,
            *extra,
        ),
    )
    write_results(doc, out_dir / "results.json")
    print(f"wrote {out_dir / 'results.json'}", file=sys.stderr)
    return _report(doc, out_dir)


def _report(doc: ResultsDocument, out_dir: Path) -> int:
    md, html = report.write_report(doc, out_dir)
    data = report.ReportData(doc)
    table = report.summary_table(data)
    print(" | ".join(table.header[:7]))
    for row in table.rows:
        print(" | ".join(row[:7]))
    print(f"wrote {md}, {html}", file=sys.stderr)
    problems = comparison.check_consistency(doc)
    if problems:
        raise OpsproofError(
            f"{out_dir / 'results.json'}: the numbers do not add up: {'; '.join(problems[:5])}",
            fix="this is a bug in opsproof.perf; keep the directory and report it",
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    path: Path = args.results
    if path.is_dir():
        path = path / "results.json"
    doc = load_results(path)
    if doc.run.kind not in ("perf-compare", "capacity"):
        raise ConfigError(
            f"{path}: a {doc.run.kind} run, not a perf-compare",
            fix="pass the results.json of `make perf-compare`",
        )
    return _report(doc, path.parent)


def cmd_gate(args: argparse.Namespace) -> int:
    base_doc, new_doc = load_results(args.base), load_results(args.new)
    base_profile, base = gate.endpoint_figures(base_doc, args.base_profile, source=str(args.base))
    new_profile, new = gate.endpoint_figures(new_doc, args.new_profile, source=str(args.new))
    verdicts = gate.judge(
        base,
        new,
        p95_threshold=args.p95_threshold,
        error_threshold=args.error_threshold,
        min_requests=args.min_requests,
    )
    print(gate.render(verdicts, base_profile, new_profile))
    return 1 if gate.failed(verdicts) else 0


def cmd_ceiling(args: argparse.Namespace) -> int:
    url, ca_cert = _target(args.inventory, None, args.ca_cert)
    targets = ceiling.targets(url)
    meta = run_meta_from_environment(
        "loadtest",
        hosts=[target for target, _ in targets],
        conditions={
            "mode": "generator-ceiling",
            "duration_s": args.duration,
            "connections": args.connections,
            "locust": "FastHttpUser, one process, no wait, TLS verified with the CA",
            "wrk": "-t1 (one thread), TLS not verified (wrk cannot)",
            "locust_cpu_per_process": args.cpu_per_process
            if args.cpu_per_process is not None
            else "not capped",
        },
        repo=REPO,
    )
    out_dir = (
        args.out_dir or REPO / "reports" / "perf" / f"ceiling-{meta.started_at:%Y%m%dT%H%M%SZ}"
    )
    figures = ceiling.measure_ceiling(
        out_dir,
        targets=targets,
        allowed=ceiling.allowed_hosts(args.inventory),
        duration_s=args.duration,
        connections=args.connections,
        ca_cert=ca_cert,
        workers=args.workers,
        cpu_per_process=args.cpu_per_process,
    )
    doc = ResultsDocument(
        run=meta.finished(utc_now()), results=tuple(ceiling.measurements(figures))
    )
    write_results(doc, out_dir / "results.json")
    lines = ["| URL | tool | req/s | requests | failed |", "|---|---|---|---|---|"]
    lines += [f"| {f.url} | {f.tool} | {f.rps:.0f} | {f.requests} | {f.errors} |" for f in figures]
    one = {f.url: f.rps for f in figures if f.tool == "locust"}
    one_worker = {f.url: f.rps for f in figures if f.tool == "locust-1workers"}
    for f in figures:
        if f.tool.endswith("workers") and f.tool != "locust-1workers" and one_worker.get(f.url):
            lines.append(f"\n{f.url}: {f.tool} / one worker = {f.rps / one_worker[f.url]:.2f}x")
        if f.tool.endswith("workers") and one.get(f.url):
            lines.append(f"\n{f.url}: {f.tool} / one process = {f.rps / one[f.url]:.2f}x")
    cap = (
        f"Locust's one process, and each worker, capped at {args.cpu_per_process} cores "
        "(a cgroup each; the master only aggregates and is not capped); wrk not capped.\n\n"
        if args.cpu_per_process is not None
        else ""
    )
    text = "# Load generator ceiling\n\n" + cap + "\n".join(lines) + "\n"
    (out_dir / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {out_dir}/results.json and report.md", file=sys.stderr)
    return 0
