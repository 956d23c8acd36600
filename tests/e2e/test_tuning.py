"""Tuning profiles on the lab: `make tune` both ways, the live values, the declared indexes
and their plans, idempotence, no row lost, and preflight refusing impossible values.

The module leaves the lab in the inventory's profile (a fixture switches back in `finally`).
Figures (switch times, EXPLAIN times per profile) go to reports/tuning/<UTC>/ in the results
schema: plans-baseline.json, plans-optimised.json, tune.json.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from opsproof import placement
from opsproof.endpoints import platform_endpoint
from opsproof.perf.indexes import load_indexes
from opsproof.perf.profiles import tuned_values
from opsproof.results import (
    Measurement,
    PlanResult,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)
from opsproof.ssh_targets import resolve

from .conftest import REPO, Run, on, psql, row_counts, sh

pytestmark = pytest.mark.e2e

INVENTORY = "inventories/lab"
# Hosts, groups, the platform's address and CA: from the inventory and site.yml, never written here.
GROUPS = {
    group: [t.name for t in resolve(REPO / INVENTORY, group)] for group in placement.site().groups()
}
PLATFORM = platform_endpoint(REPO / INVENTORY)
WEB, CA = PLATFORM.address, PLATFORM.ca_cert
APP = resolve(REPO / INVENTORY, placement.group_of("tomcat"))[0].address
INVENTORY_PROFILE = yaml.safe_load(
    (REPO / INVENTORY / "group_vars/all/tuning.yml").read_text(encoding="utf-8")
)["opsproof_tuning_profile"]
DECLARED = load_indexes(REPO / "platform/sql/indexes")
OUT = REPO / "reports/tuning" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Record:
    counts_before: dict[str, int]
    # The profile the lab is known to run: set by a switch whose repeat changed nothing (so
    # a further switch to it would be a no-op); None until then.
    profile: str | None = None
    timings: dict[tuple[str, str], float] = field(default_factory=dict)  # (step, profile)
    plans: dict[str, list[PlanResult]] = field(default_factory=dict)


def tune(profile: str, *extra: str) -> tuple[Run, float]:
    args = f"ARGS={' '.join(shlex.quote(e) for e in extra)}" if extra else "ARGS="
    started = time.monotonic()
    run = sh("make", "tune", f"PROFILE={profile}", args, timeout=1800)
    return run, time.monotonic() - started


def changed(run: Run) -> dict[str, int]:
    return {host: counts["changed"] for host, counts in run.recap().items()}


def declared_present() -> set[str]:
    names = ",".join(f"'{i.name}'" for i in DECLARED)
    return set(psql(f"SELECT indexname FROM pg_indexes WHERE indexname IN ({names})"))


def explain(profile: str) -> list[PlanResult]:
    # The plans of a maintained database: the load and chaos tests before this module write rows,
    # and until autovacuum has caught up an index-only scan can lose to a sequential scan (seen
    # once in CI: sharing_notice_status_idx, 4 ms either way). The test vacuums the tables itself.
    tables = sorted({i.table for i in DECLARED})
    psql(f"VACUUM (ANALYZE) {', '.join(tables)}")
    out = OUT / f"plans-{profile}.json"
    run = sh(str(REPO / ".venv/bin/opsproof"), "explain", "--profile", profile, "--out", str(out))
    assert run.rc == 0, run.out[-3000:]
    plans = [r for r in load_results(out).results if isinstance(r, PlanResult)]
    assert [p.index for p in plans] == [i.name for i in DECLARED]
    return plans


def settings_match(settings: dict[str, object]) -> dict[str, str]:
    """Live value of every setting the profile names, where it differs from the profile's."""
    wrong = {}
    for name, value in settings.items():
        live = psql(f"SELECT current_setting('{name}')")[0]
        if isinstance(value, bool):
            ok = live == ("on" if value else "off")
        elif isinstance(value, str) and value.endswith("MB"):
            ok = psql(f"SELECT pg_size_bytes('{live}') = pg_size_bytes('{value}')")[0] == "t"
        elif isinstance(value, int | float):
            # pg_settings.setting: the number in the setting's base unit ("250" for 250ms).
            ok = float(psql(f"SELECT setting FROM pg_settings WHERE name = '{name}'")[0]) == value
        else:
            ok = live == str(value)
        if not ok:
            wrong[name] = f"live {live}, profile {value}"
    return wrong


@pytest.fixture(scope="module")
def record(provisioned: Run) -> Iterator[Record]:
    rec = Record(counts_before=row_counts())
    try:
        yield rec
    finally:
        if rec.profile != INVENTORY_PROFILE:  # else the lab is there already (a no-op run)
            back, _ = tune(INVENTORY_PROFILE)
            assert back.rc == 0, back.out[-3000:]
        if rec.timings:
            meta = run_meta_from_environment("explain", inventory=INVENTORY).finished()
            measurements = tuple(
                Measurement("platform", step, "duration_s", round(seconds, 1), "s", profile, 1, 1)
                for (step, profile), seconds in rec.timings.items()
            )
            write_results(ResultsDocument(run=meta, results=measurements), OUT / "tune.json")


def test_an_impossible_heap_stops_preflight_and_changes_nothing(record: Record) -> None:
    before = declared_present()
    run, _ = tune("optimised", "-e", "tomcat_heap_max_mb=99999")
    assert run.rc != 0
    assert "tomcat_heap_max_mb=99999 does not fit on app01" in run.out
    assert set(changed(run).values()) == {0}, run.out[-2000:]
    assert declared_present() == before


def test_pools_beyond_max_connections_stop_preflight(record: Record) -> None:
    run, _ = tune("optimised", "-e", "tomcat_datasource_max_total=200")
    assert run.rc != 0
    assert "Database connection budget: tomcat_datasource_max_total=200 on app01" in run.out
    assert "exceed postgresql_max_connections=100 on db01" in run.out
    assert set(changed(run).values()) == {0}, run.out[-2000:]


def test_switch_to_optimised_and_again(record: Record) -> None:
    run, seconds = tune("optimised")
    assert run.rc == 0, run.out[-4000:]
    record.timings["make tune PROFILE=optimised", "optimised"] = seconds
    again, seconds = tune("optimised")
    assert again.rc == 0, again.out[-4000:]
    assert set(changed(again).values()) == {0}, again.out[-3000:]
    record.timings["make tune PROFILE=optimised (no-op)", "optimised"] = seconds
    record.profile = "optimised"


def test_optimised_live_values_are_the_computed_ones(record: Record) -> None:
    expected = tuned_values(REPO / INVENTORY, GROUPS, "optimised", roles_dir=REPO / "roles")
    assert settings_match(expected["db01"]["postgresql_settings"]) == {}
    assert psql("SELECT count(*) > 0 FROM pg_stat_statements") == ["t"]
    valid = psql("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid")
    assert {i.name for i in DECLARED} <= set(valid)
    assert psql("SELECT count(*) FROM pg_index WHERE NOT indisvalid") == ["0"]

    app = expected["app01"]
    java = on(APP, "ps -o args= -C java").out
    heap = f"-Xms{app['tomcat_heap_initial_mb']}m -Xmx{app['tomcat_heap_max_mb']}m"
    assert heap in java
    for flag in ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=", "-Xlog:gc"):
        assert flag in java
    conf = on(APP, "sudo cat /etc/tomcat10/server.xml /etc/tomcat10/Catalina/localhost/ROOT.xml")
    assert f'maxThreads="{app["tomcat_max_threads"]}"' in conf.out
    assert f'maxTotal="{app["tomcat_datasource_max_total"]}"' in conf.out

    reply = requests.get(
        f"https://{WEB}/api/sharing/items?size=50",
        headers={"Accept-Encoding": "gzip"},
        verify=CA,
        timeout=30,
    )
    assert reply.status_code == 200
    assert reply.headers.get("Content-Encoding") == "gzip"
    assert len(reply.json()["items"]) == 50  # decompressed, intact
    nginx = on(WEB, "sudo nginx -T 2>/dev/null | grep -E 'expires|keepalive [0-9]'").out
    assert "expires 7d;" in nginx
    assert "keepalive 64;" in nginx


def test_every_declared_index_serves_its_query(record: Record) -> None:
    plans = explain("optimised")
    record.plans["optimised"] = plans
    unused = [p.index for p in plans if not p.index_used]
    assert unused == [], "\n\n".join(p.plan_text for p in plans if not p.index_used)


# Windows of GET /api/publishing/most-read: whole years and months, partial months at either
# end, inside one month, open at either end, none.
MOST_READ_WINDOWS = (
    ("2018-01-01", "2018-12-31"),
    ("2018-01-15", "2018-03-10"),
    ("2018-02-03", "2018-02-20"),
    (None, "2016-06-15"),
    ("2020-07-31", None),
    (None, None),
)


def most_read_rankings_agree() -> list[str]:
    """Each window's top 20 from publishing_most_read (the profile's) and from
    publishing_most_read_scan (on the fly), compared in one statement (one snapshot)."""

    def lit(d: str | None) -> str:
        return "NULL::date" if d is None else f"DATE '{d}'"

    windows = ", ".join(f"({lit(f)}, {lit(t)})" for f, t in MOST_READ_WINDOWS)
    ranking = "(SELECT array_agg(row(article_id, reads)::text) FROM {}(w.f, w.t, 20))"
    return psql(
        "SELECT coalesce(w.f::text, '-') || '..' || coalesce(w.t::text, '-') || ' ' || ("
        + ranking.format("publishing_most_read")
        + " IS NOT DISTINCT FROM "
        + ranking.format("publishing_most_read_scan")
        + f") FROM (VALUES {windows}) AS w(f, t)"
    )


def test_the_most_read_rollup_ranks_as_the_scan_and_counts_each_read(record: Record) -> None:
    """Issue 16 §4: the optimised profile's rollup (platform/sql/rollups) answers the same
    ranking as counting the access rows, and a read is counted in its own transaction."""
    assert psql("SELECT to_regclass('public.publishing_access_monthly') IS NOT NULL") == ["t"]
    assert all(r.endswith(" true") for r in most_read_rankings_agree()), most_read_rankings_agree()
    article = psql("SELECT max(id) FROM publishing_article")[0]
    month = "date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')"
    counted = (
        f"SELECT (SELECT coalesce(sum(reads), 0) FROM publishing_access_monthly"
        f" WHERE article_id = {article} AND month = {month}::date)"
        f" || ' ' || (SELECT count(*) FROM publishing_access WHERE article_id = {article}"
        f" AND accessed_at >= {month}::timestamp AT TIME ZONE 'Asia/Shanghai')"
    )
    before = psql(counted)[0].split()
    reply = requests.get(f"https://{WEB}/api/publishing/items/{article}", verify=CA, timeout=30)
    assert reply.status_code == 200, reply.text
    after = psql(counted)[0].split()
    assert after[0] == after[1], after  # the rollup's count is the rows' count
    assert int(after[0]) >= int(before[0]) + 1


def test_switch_to_baseline_removes_what_optimised_added(record: Record) -> None:
    record.profile = None  # until the repeat below shows the switch complete
    run, seconds = tune("baseline")
    assert run.rc == 0, run.out[-4000:]
    record.timings["make tune PROFILE=baseline", "baseline"] = seconds
    assert declared_present() == set()
    assert psql("SELECT to_regclass('public.publishing_access_monthly')") == [""]
    assert all(r.endswith(" true") for r in most_read_rankings_agree())  # the scan, both sides
    assert psql("SELECT extname FROM pg_extension ORDER BY 1") == ["plpgsql"]
    # PostgreSQL's own defaults again.
    assert psql("SHOW shared_buffers") == ["128MB"]
    assert psql("SHOW jit") == ["on"]
    assert psql("SHOW shared_preload_libraries") == [""]
    assert "-Xms64m -Xmx256m" in on(APP, "ps -o args= -C java").out
    reply = requests.get(
        f"https://{WEB}/api/sharing/items?size=50",
        headers={"Accept-Encoding": "gzip"},
        verify=CA,
        timeout=30,
    )
    assert "Content-Encoding" not in reply.headers
    again, seconds = tune("baseline")
    assert again.rc == 0, again.out[-3000:]
    assert set(changed(again).values()) == {0}, again.out[-3000:]
    record.timings["make tune PROFILE=baseline (no-op)", "baseline"] = seconds
    record.profile = "baseline"


def test_baseline_plans_do_without_the_indexes(record: Record) -> None:
    plans = explain("baseline")
    record.plans["baseline"] = plans
    assert not any(p.index_exists or p.index_used for p in plans)
    if "optimised" in record.plans:
        ratios = {
            b.index: b.execution_ms / max(o.execution_ms, 0.001)
            for b, o in zip(plans, record.plans["optimised"], strict=True)
        }
        (OUT / "explain-ratios.json").write_text(json.dumps(ratios, indent=2) + "\n")


def test_no_row_was_lost(record: Record) -> None:
    after = row_counts()
    assert set(after) == set(record.counts_before)
    # Others may write meanwhile (a load test reading articles adds access rows): never fewer.
    lost = {t: (n, after[t]) for t, n in record.counts_before.items() if after[t] < n}
    assert lost == {}


def test_the_platform_answers_in_the_baseline_profile(record: Record) -> None:
    reply = requests.get(f"https://{WEB}/health", verify=CA, timeout=30)
    assert reply.status_code == 200
    assert reply.json()["db"] == "ok"


def test_switch_back_to_the_inventory_profile(record: Record) -> None:
    """Back in the inventory's profile (when a switch's repeat already showed the lab in that
    profile, switching again would be a no-op run: it is skipped). That the whole site then
    finds nothing to change is the compliance gate's check-mode run, `make drift`, which
    `make test` runs on this lab right after the suite (this module is the suite's last):
    the same check-mode run twice in a row cost ~30 s."""
    if record.profile != INVENTORY_PROFILE:
        back, _ = tune(INVENTORY_PROFILE)
        assert back.rc == 0, back.out[-3000:]
        record.profile = INVENTORY_PROFILE
    assert declared_present() == (
        set() if INVENTORY_PROFILE == "baseline" else {i.name for i in DECLARED}
    )


def test_results_are_valid(record: Record) -> None:
    for path in sorted(Path(OUT).glob("plans-*.json")):
        assert sh(str(REPO / ".venv/bin/opsproof"), "results", "validate", str(path)).rc == 0
