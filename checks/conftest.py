"""The monthly inspection (巡检) as pytest-testinfra checks: one test per (host, control).

Every control of controls/catalog.yml that applies to a host is one test. Before the first
test, one testinfra round trip per host (all hosts in parallel) runs every check command of
that host and brings the outputs back; each test then evaluates its control. At the end the
run is written to reports/inspection/<date>/: results JSON (the project's schema), the
inspection record (Markdown + HTML), and — with --junit-xml — JUnit for CI.

Exit status: 1 when a check of severity medium or above fails (or cannot run), else 0.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import testinfra

from opsproof.controls.catalog import load_catalog
from opsproof.controls.model import Control
from opsproof.errors import OpsproofError
from opsproof.inspection import check_vars, collect, evaluate, record
from opsproof.results import ResultsDocument, run_meta_from_environment, write_results
from opsproof.results.model import CheckResult
from opsproof.ssh_targets import SshTarget, resolve

REPO = Path(__file__).resolve().parents[1]
STATE = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("opsproof", "opsproof inspection")
    group.addoption("--inventory", default="inventories/lab", help="Ansible inventory")
    group.addoption("--limit", default="all", help="host pattern (Ansible syntax)")
    group.addoption("--catalog", default="controls/catalog.yml", help="controls catalog")
    group.addoption("--waivers", default="waivers.yml", help="waivers file (may be absent)")
    group.addoption("--report-dir", default=None, help="default reports/inspection/<date>")
    group.addoption("--lang", default="zh", choices=("zh", "en"), help="language of the record")
    group.addoption(
        "--extra-vars",
        default=None,
        help="variables over the inventory's (JSON/YAML or @FILE), e.g. a health threshold "
        """'{"opsproof_health_disk_pct": {"warn": 70, "fail": 85}}'""",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        _configure(config)
    except OpsproofError as err:
        # One line naming the cause and the fix; pytest exits 4 (usage error).
        raise pytest.UsageError(f"opsproof: error: {err}") from None


def _configure(config: pytest.Config) -> None:
    opt = config.getoption
    targets = resolve(REPO / opt("--inventory"), opt("--limit"))
    controls = load_catalog(REPO / opt("--catalog")).controls
    started = dt.datetime.now(dt.UTC)
    waivers = evaluate.load_waivers(REPO / opt("--waivers"))
    evaluate.check_waivers(waivers, {c.id for c in controls}, opt("--waivers"))
    config.stash[STATE] = {
        "targets": {t.name: t for t in targets},
        "controls": {c.id: c for c in controls},
        "waivers": waivers,
        "extra_vars": check_vars.parse_extra_vars(opt("--extra-vars")),
        "host_vars": {},
        "started": started,
        "results": [],
        "collect_seconds": None,
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "host_control" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[STATE]
    pairs = [
        (t.name, c.id)
        for t in state["targets"].values()
        for c in state["controls"].values()
        if collect.applies_to(c, t)
    ]
    metafunc.parametrize("host_control", pairs, ids=[f"{h}:{c}" for h, c in pairs])


def _testinfra_runner() -> collect.Runner:
    hosts: dict[str, Any] = {}

    def run(target: SshTarget, command: str) -> tuple[int, str, str]:
        if target.name not in hosts:
            hosts[target.name] = testinfra.get_host(
                f"ssh://{target.user}@{target.address}:{target.port}",
                ssh_identity_file=target.key_file,
                ssh_extra_args=" ".join([*target.ssh_args, "-o", "LogLevel=ERROR"]),
                timeout=10,
            )
        out = hosts[target.name].run(command)
        return out.rc, out.stdout, out.stderr

    return run


@pytest.fixture(scope="session")
def observations(pytestconfig: pytest.Config) -> dict[str, dict[str, collect.Observation]]:
    state = pytestconfig.stash[STATE]
    start = time.monotonic()
    observed = collect.collect(
        list(state["targets"].values()), list(state["controls"].values()), _testinfra_runner()
    )
    state["collect_seconds"] = round(time.monotonic() - start, 2)
    # Health thresholds' overrides and the intended values checks compare with, per host,
    # rendered as Ansible would (role defaults < inventory < --extra-vars), with the facts
    # read in the round trip.
    needed = [c for c in state["controls"].values() if c.layer == "health" or c.check.variables]
    state["host_vars"] = check_vars.resolve(
        REPO / pytestconfig.getoption("--inventory"),
        list(state["targets"]),
        [name for c in needed for name in (c.variable, *c.check.variables)],
        defaults=check_vars.role_defaults(REPO / "roles", {c.role for c in needed}),
        extra_vars=state["extra_vars"],
        facts={h: collect.facts(obs.get(collect.FACTS_KEY)) for h, obs in observed.items()},
    )
    return observed


@pytest.fixture
def inspect_control(
    pytestconfig: pytest.Config,
    observations: dict[str, dict[str, collect.Observation]],
    host_control: tuple[str, str],
) -> CheckResult:
    state = pytestconfig.stash[STATE]
    host, control_id = host_control
    target: SshTarget = state["targets"][host]
    control: Control = state["controls"][control_id]
    result = evaluate.result(
        control,
        host,
        observations[host].get(control_id),
        in_lab="lab" in target.groups,
        waivers=state["waivers"],
        today=dt.date.today(),
        now=dt.datetime.now(dt.UTC),
        host_vars=state["host_vars"].get(host),
    )
    state["results"].append(result)
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if not state or not state["results"]:
        return
    results: list[CheckResult] = state["results"]
    day = state["started"].astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    out_dir = Path(config.getoption("--report-dir") or REPO / "reports/inspection" / str(day))
    meta = run_meta_from_environment(
        "inspection",
        inventory=config.getoption("--inventory"),
        hosts=sorted(state["targets"]),
        started_at=state["started"],
        extra_tools=("testinfra",),
        repo=REPO,
        conditions={
            "catalog": config.getoption("--catalog"),
            "waivers": config.getoption("--waivers"),
            "extra_vars": config.getoption("--extra-vars"),
            "collect_seconds": state["collect_seconds"],
            "checks": len(results),
        },
    )
    doc = ResultsDocument(run=meta, results=tuple(results))
    write_results(doc, out_dir / "inspection.json")
    lang = config.getoption("--lang")
    rec = record.render(doc, lang)
    (out_dir / f"record.{lang}.md").write_text(rec.markdown, encoding="utf-8")
    html_file = out_dir / f"record.{lang}.html"
    html_file.write_text(rec.html, encoding="utf-8")
    # The record as a reader sees it: rendered by headless Chromium, saved beside it.
    record.screenshot(html_file, out_dir / f"record.{lang}.png")
    blocking = evaluate.failing_at_or_above(results, "medium")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED if blocking else pytest.ExitCode.OK
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        reporter.write_line(
            f"inspection: {len(results)} checks on {len(state['targets'])} hosts "
            f"({state['collect_seconds']} s to collect): {counts}; "
            f"{len(blocking)} failing at medium or above -> {out_dir}"
        )
