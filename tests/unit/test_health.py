"""Operational health checks: thresholds, parsing, overrides, warn in verdicts and the record."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from opsproof.controls.catalog import load_catalog
from opsproof.controls.model import Check, Control
from opsproof.errors import ConfigError
from opsproof.inspection import check_vars, collect, evaluate, health, record
from opsproof.inspection.collect import Observation
from opsproof.results import ResultsDocument, run_meta_from_environment
from opsproof.ssh_targets import SshTarget

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls/catalog.yml")
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 27)
DISK = health.Threshold(fail=90, worse="higher", unit="%", warn=80)
TLS = health.Threshold(fail=30, worse="lower", unit="days", warn=60)


def obs(out: str, rc: int | None = 0) -> Observation:
    return Observation(rc, out, "", 0.01)


def ctl(cid: str) -> Control:
    return CATALOG.get(cid)


# --- thresholds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [(0, "pass"), (79.9, "pass"), (80, "warn"), (89.99, "warn"), (90, "fail"), (100, "fail")],
)
def test_higher_is_worse_boundaries(value: float, level: str) -> None:
    assert DISK.classify(value) == level


@pytest.mark.parametrize(
    ("value", "level"),
    [(400, "pass"), (60, "pass"), (59, "warn"), (30, "warn"), (29, "fail"), (-3, "fail")],
)
def test_lower_is_worse_boundaries(value: float, level: str) -> None:
    assert TLS.classify(value) == level


def test_without_warn_there_is_no_warn() -> None:
    age = health.Threshold(fail=26, worse="higher", unit="h")
    assert [age.classify(v) for v in (0, 25.9, 26)] == ["pass", "pass", "fail"]


def test_override_replaces_either_bound() -> None:
    rule = {"warn": 80, "fail": 90, "worse": "higher", "unit": "%"}
    t = health.Threshold.from_rule(rule, {"fail": 50}, variable="opsproof_health_disk_pct")
    assert (t.warn, t.fail) == (80, 50)
    assert t.classify(55) == "fail"
    assert health.Threshold.from_rule(rule, None) == DISK


@pytest.mark.parametrize("bad", [50, {"fail": "high"}, {"max": 3}, {"warn": True}])
def test_bad_override_names_the_variable(bad: object) -> None:
    rule = {"warn": 80, "fail": 90, "worse": "higher", "unit": "%"}
    with pytest.raises(ConfigError, match="opsproof_health_disk_pct"):
        health.Threshold.from_rule(rule, bad, variable="opsproof_health_disk_pct")


def test_describe_reads_like_the_rule() -> None:
    assert health.describe(DISK.to_dict()) == "warn >= 80 %, fail >= 90 %"
    assert health.describe(TLS.to_dict()) == "warn < 60 days, fail < 30 days"
    assert health.describe({"warn": None, "fail": 26, "worse": "higher", "unit": "h"}) == (
        "fail >= 26 h"
    )


# --- parsing -----------------------------------------------------------------------------


def test_parse_items_with_spaces_and_percent_signs() -> None:
    out = "/ 35\n/srv/data 91%\n\nSELECT * FROM t WHERE a = 1 (12 calls) 812.5\n"
    assert health.parse(out) == [
        health.Reading("/", 35),
        health.Reading("/srv/data", 91),
        health.Reading("SELECT * FROM t WHERE a = 1 (12 calls)", 812.5),
    ]


@pytest.mark.parametrize("out", ["justoneword", "/ full", "/ nan"])
def test_parse_refuses_lines_without_a_number(out: str) -> None:
    with pytest.raises(ValueError, match="not"):
        health.parse(out)


def test_assess_takes_the_worst_item_and_marks_it() -> None:
    level, shown = health.assess(DISK, health.parse("/ 35\n/srv/data 85\n"))
    assert level == "warn"
    assert shown == "/=35 %; /srv/data=85 % [warn]"
    assert health.assess(DISK, health.parse("/ 95\n/srv/data 85"))[0] == "fail"
    with pytest.raises(ValueError, match="no measurement"):
        health.assess(DISK, [])


def test_not_applicable_line() -> None:
    assert health.not_applicable("N/A: pg_stat_statements is not installed\n") == (
        "pg_stat_statements is not installed"
    )
    assert health.not_applicable("/ 35") is None


def test_render_placeholders() -> None:
    tpl = "Xms={{ tomcat_heap_initial_mb }}m Xmx={{tomcat_heap_max_mb}}m"
    assert health.render(tpl, {"tomcat_heap_initial_mb": 64, "tomcat_heap_max_mb": 256}) == (
        "Xms=64m Xmx=256m"
    )
    with pytest.raises(KeyError, match="tomcat_heap_max_mb"):
        health.render(tpl, {"tomcat_heap_initial_mb": 64})


# --- verdicts on catalogued health controls ------------------------------------------------


def test_disk_verdicts_and_the_inventory_override() -> None:
    disk = ctl("HLT-DISK-001")
    assert evaluate.verdict(disk, obs("/ 35\n/srv/data 12")) == ("pass", "/=35 %; /srv/data=12 %")
    assert evaluate.verdict(disk, obs("/ 35\n/srv/data 82"))[0] == "warn"
    assert evaluate.verdict(disk, obs("/ 35\n/srv/data 90"))[0] == "fail"
    lowered = {"opsproof_health_disk_pct": {"warn": 5, "fail": 10}}
    assert evaluate.verdict(disk, obs("/ 35"), lowered)[0] == "fail"
    assert evaluate.expected_for(disk, lowered) == {
        "warn": 5,
        "fail": 10,
        "worse": "higher",
        "unit": "%",
    }
    bad = {"opsproof_health_disk_pct": "ninety"}
    status, actual = evaluate.verdict(disk, obs("/ 35"), bad)
    assert status == "error"
    assert "opsproof_health_disk_pct" in str(actual)


def test_unreadable_measurement_is_an_error_not_a_pass() -> None:
    status, actual = evaluate.verdict(ctl("HLT-DISK-001"), obs("df: cannot read table"))
    assert status == "error"
    assert "cannot read the measurement" in str(actual)
    assert evaluate.verdict(ctl("HLT-DISK-001"), obs(""))[0] == "error"


def test_health_na_line_is_not_applicable_but_not_for_hardening_controls() -> None:
    pg = ctl("HLT-PG-003")
    status, actual = evaluate.verdict(pg, obs("N/A: pg_stat_statements is not installed"))
    assert status == "not-applicable"
    assert "pg_stat_statements" in str(actual)
    hardening = replace(ctl("SSH-AUTH-001"), check=Check("x", "no", "true", {"equals": "no"}))
    assert evaluate.verdict(hardening, obs("N/A: trust me"))[0] == "fail"


def test_heap_flags_against_the_intended_values() -> None:
    jvm = ctl("HLT-JVM-001")
    intended = {"tomcat_heap_initial_mb": 64, "tomcat_heap_max_mb": 256}
    assert evaluate.verdict(jvm, obs("Xms=64m Xmx=256m"), intended)[0] == "pass"
    optimised = {"tomcat_heap_initial_mb": 1536, "tomcat_heap_max_mb": 1536}
    assert evaluate.verdict(jvm, obs("Xms=64m Xmx=256m"), optimised)[0] == "fail"
    assert evaluate.expected_for(jvm, optimised) == "Xms=1536m Xmx=1536m"
    unknown = {"tomcat_heap_initial_mb": 64, "tomcat_heap_max_mb": evaluate.Unresolved("facts")}
    status, actual = evaluate.verdict(jvm, obs("Xms=64m Xmx=256m"), unknown)
    assert status == "error"
    assert "tomcat_heap_max_mb" in str(actual)
    assert evaluate.verdict(jvm, obs("Xms=64m Xmx=256m"), {})[0] == "error"


# --- waivers on health checks (fixed date) ---------------------------------------------------


def _waiver(cid: str, expires: dt.date) -> evaluate.WaiverEntry:
    return evaluate.WaiverEntry(cid, ("db01",), "volume grows in Q1", "王工 (信息中心)", expires)


def test_waived_warn_and_fail_keep_the_justification() -> None:
    disk = ctl("HLT-DISK-001")
    kw = {"in_lab": True, "today": TODAY, "now": NOW}
    for out in ("/srv/data 85", "/srv/data 95"):
        r = evaluate.result(disk, "db01", obs(out), waivers=[_waiver(disk.id, TODAY)], **kw)
        assert r.status == "waived"
        assert r.waiver is not None
        assert (r.waiver.reason, r.waiver.approved_by, r.waiver.expires) == (
            "volume grows in Q1",
            "王工 (信息中心)",
            TODAY,
        )
        assert r.to_dict()["waiver"] == {
            "reason": "volume grows in Q1",
            "approved_by": "王工 (信息中心)",
            "expires": "2026-11-27",
            "ticket": None,
        }


def test_an_expired_waiver_fails_even_a_warn() -> None:
    disk = ctl("HLT-DISK-001")
    yesterday = TODAY - dt.timedelta(days=1)
    kw = {"in_lab": True, "today": TODAY, "now": NOW}
    r = evaluate.result(
        disk, "db01", obs("/srv/data 85"), waivers=[_waiver(disk.id, yesterday)], **kw
    )
    assert r.status == "fail"
    assert "waiver expired 2026-11-26" in str(r.actual)
    ok = evaluate.result(
        disk, "db01", obs("/srv/data 5"), waivers=[_waiver(disk.id, yesterday)], **kw
    )
    assert ok.status == "pass"


def test_not_applicable_is_never_waived() -> None:
    pg = ctl("HLT-PG-003")
    r = evaluate.result(
        pg,
        "db01",
        obs("N/A: off"),
        in_lab=True,
        waivers=[_waiver(pg.id, TODAY)],
        today=TODAY,
        now=NOW,
    )
    assert r.status == "not-applicable"
    assert r.waiver is None


def test_warn_does_not_block_but_fail_does() -> None:
    disk = ctl("HLT-DISK-001")
    kw = {"in_lab": True, "waivers": [], "today": TODAY, "now": NOW}
    warn = evaluate.result(disk, "db01", obs("/ 85"), **kw)
    fail = evaluate.result(disk, "db01", obs("/ 95"), **kw)
    assert evaluate.failing_at_or_above([warn]) == []
    assert evaluate.failing_at_or_above([warn, fail]) == [fail]


def test_waivers_for_unknown_controls_are_refused() -> None:
    w = [_waiver("HLT-NOPE-001", TODAY)]
    with pytest.raises(ConfigError, match="unknown control HLT-NOPE-001"):
        evaluate.check_waivers(w, {c.id for c in CATALOG.controls}, "waivers.yml")


# --- groups, catalog and record ---------------------------------------------------------------


def test_health_controls_apply_per_group() -> None:
    web = SshTarget("web01", "10.0.0.1", "u", 22, None, (), ("lab", "web"))
    db = SshTarget("db01", "10.0.0.3", "u", 22, None, (), ("db", "lab"))
    assert collect.applies_to(ctl("HLT-DISK-001"), web)
    assert collect.applies_to(ctl("HLT-TLS-001"), web)
    assert not collect.applies_to(ctl("HLT-TLS-001"), db)
    assert collect.applies_to(ctl("HLT-BAK-001"), db)
    assert not collect.applies_to(ctl("HLT-JVM-001"), db)


def test_every_health_threshold_names_its_override_variable() -> None:
    found = [c for c in CATALOG.in_layer("health") if "threshold" in (c.check.pass_ or {})]
    assert len(found) >= 15
    for c in found:
        assert c.variable.startswith("opsproof_health_"), c.id
        assert c.check.expect == {
            k: v for k, v in dict(c.check.pass_ or {})["threshold"].items() if k != "worse"
        }, c.id


def test_extra_vars_parsing(tmp_path: Path) -> None:
    assert check_vars.parse_extra_vars('{"opsproof_health_disk_pct": {"fail": 1}}') == {
        "opsproof_health_disk_pct": {"fail": 1}
    }
    f = tmp_path / "x.yml"
    f.write_text("opsproof_health_disk_pct: {fail: 2}\n")
    assert check_vars.parse_extra_vars(f"@{f}") == {"opsproof_health_disk_pct": {"fail": 2}}
    with pytest.raises(ConfigError, match="mapping"):
        check_vars.parse_extra_vars("[1, 2]")


def test_role_defaults_render_the_heap_for_the_lab() -> None:
    defaults = check_vars.role_defaults(REPO / "roles", ["tomcat"])
    values = check_vars.resolve(
        REPO / "inventories/lab",
        ["app01"],
        ["tomcat_heap_max_mb", "opsproof_health_disk_pct"],
        defaults=defaults,
        extra_vars={"opsproof_health_disk_pct": {"fail": 3}},
    )["app01"]
    assert int(values["tomcat_heap_max_mb"]) >= 64
    assert values["opsproof_health_disk_pct"] == {"fail": 3}


def test_record_shows_warn_threshold_and_waiver() -> None:
    disk = ctl("HLT-DISK-001")
    kw = {"in_lab": True, "today": TODAY, "now": NOW}
    rows = (
        evaluate.result(disk, "web01", obs("/ 85"), waivers=[], **kw),
        evaluate.result(disk, "db01", obs("/ 95"), waivers=[_waiver(disk.id, TODAY)], **kw),
    )
    meta = run_meta_from_environment("inspection", hosts=("db01", "web01"), started_at=NOW)
    doc = ResultsDocument(run=meta.finished(NOW), results=rows)
    en = record.render(doc, "en")
    assert "## Warnings (to watch)" in en.markdown
    assert "/=85 % [warn] | warn >= 80 %, fail >= 90 %" in en.markdown
    assert "volume grows in Q1 | 王工 (信息中心) | 2026-11-27" in en.markdown
    assert "Expires 2026-11-27" in en.markdown
    assert '<tr class="warn">' in en.html
    assert '<tr class="waived">' in en.html
    zh = record.render(doc, "zh")
    assert "预警" in zh.markdown
    assert "豁免项" in zh.markdown


def test_facts_read_in_the_round_trip() -> None:
    assert collect.facts(obs("3072\n2\n")) == {"memtotal_mb": 3072, "processor_vcpus": 2}
    assert collect.facts(obs("", rc=1)) == {}
    assert collect.facts(None) == {}
    cmd = collect.remote_command({"A": "true", collect.FACTS_KEY: collect.FACTS_CMD})
    assert cmd.startswith("sudo -n python3 -c ")


def test_intended_heap_from_facts_where_the_inventory_has_no_memory_size() -> None:
    """The optimised heap is computed from ansible_facts.memtotal_mb on real servers."""
    defaults = check_vars.role_defaults(REPO / "roles", ["tomcat"])
    inventory = REPO / "inventories/production.example"
    host = "app01.example.gov.cn"
    optimised = {"opsproof_tuning_profile": "optimised"}
    names = ["tomcat_heap_max_mb"]
    with_facts = check_vars.resolve(
        inventory,
        [host],
        names,
        defaults=defaults,
        extra_vars=optimised,
        facts={host: {"memtotal_mb": 4096, "processor_vcpus": 2}},
    )[host]["tomcat_heap_max_mb"]
    assert not isinstance(with_facts, evaluate.Unresolved)
    assert int(with_facts) == (4096 - 512) * 60 // 100 // 64 * 64
    without = check_vars.resolve(inventory, [host], names, defaults=defaults, extra_vars=optimised)
    assert isinstance(without[host]["tomcat_heap_max_mb"], evaluate.Unresolved)
