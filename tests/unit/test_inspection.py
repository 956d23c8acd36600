"""The inspection's pure logic: verdicts, waivers, applicability, exit policy, the record."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from opsproof.controls.catalog import load_catalog
from opsproof.controls.model import Check, Control
from opsproof.errors import ConfigError
from opsproof.inspection import collect, evaluate, record
from opsproof.inspection.collect import Observation
from opsproof.results import ResultsDocument, run_meta_from_environment
from opsproof.ssh_targets import SshTarget

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls/catalog.yml")
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 27)


def control(cid: str = "SSH-AUTH-001", **check: object) -> Control:
    base = next(c for c in CATALOG.controls if c.id == cid)
    if check:
        return replace(base, check=Check(base.check.reads, base.check.expect, **check))  # type: ignore[arg-type]
    return base


def obs(out: str, rc: int | None = 0, err: str = "") -> Observation:
    return Observation(rc, out, err, 0.01)


@pytest.mark.parametrize(
    ("rule", "out", "status"),
    [
        ({"equals": "no"}, "no\n", "pass"),
        ({"equals": "no"}, "yes", "fail"),
        ({"regex": "6[04]0 root (root|shadow)"}, "640 root shadow", "pass"),
        ({"regex": "6[04]0 root (root|shadow)"}, "644 root shadow", "fail"),
        ({"empty": True}, "", "pass"),
        ({"empty": True}, "/tmp/world-writable\n", "fail"),
    ],
)
def test_verdict_rules(rule: dict[str, object], out: str, status: str) -> None:
    c = control(cmd="true", pass_=rule)
    assert evaluate.verdict(c, obs(out))[0] == status


def test_a_failed_command_is_an_error_not_a_pass() -> None:
    c = control(cmd="nope", pass_={"empty": True})
    assert evaluate.verdict(c, obs("", rc=127, err="nope: not found")) == (
        "error",
        "check failed (rc=127): nope: not found",
    )
    assert evaluate.verdict(c, obs("", rc=None, err="timed out"))[0] == "error"
    assert evaluate.verdict(control(cmd=None, pass_=None), obs("x"))[0] == "error"


def _waiver(expires: dt.date, hosts: tuple[str, ...] = ()) -> evaluate.WaiverEntry:
    return evaluate.WaiverEntry("SSH-AUTH-001", hosts, "legacy client", "王工", expires)


def test_waivers_valid_expired_and_per_host() -> None:
    c = control(cmd="x", pass_={"equals": "no"})
    kw = {"in_lab": False, "today": TODAY, "now": NOW}
    waived = evaluate.result(c, "web01", obs("yes"), waivers=[_waiver(TODAY)], **kw)
    assert waived.status == "waived"
    assert waived.waiver is not None
    assert waived.waiver.approved_by == "王工"
    expired = evaluate.result(
        c, "web01", obs("yes"), waivers=[_waiver(TODAY - dt.timedelta(days=1))], **kw
    )
    assert expired.status == "fail"
    assert "waiver expired 2026-11-26" in str(expired.actual)
    other = evaluate.result(c, "db01", obs("yes"), waivers=[_waiver(TODAY, ("web01",))], **kw)
    assert other.status == "fail"
    passing = evaluate.result(c, "web01", obs("no"), waivers=[_waiver(TODAY)], **kw)
    assert passing.status == "pass"
    assert passing.waiver is None


def test_not_applicable_in_the_lab_only() -> None:
    c = next(c for c in CATALOG.controls if not c.lab.applies)
    lab = evaluate.result(c, "web01", None, in_lab=True, waivers=[], today=TODAY, now=NOW)
    assert lab.status == "not-applicable"
    real = evaluate.result(c, "web01", None, in_lab=False, waivers=[], today=TODAY, now=NOW)
    assert real.status == "error"


def test_waivers_file_errors_name_the_entry(tmp_path: Path) -> None:
    f = tmp_path / "waivers.yml"
    f.write_text("waivers:\n  - control: OS-AIDE-001\n    justification: x\n    approver: y\n")
    with pytest.raises(ConfigError, match=r"waivers\[0\] \(OS-AIDE-001\) lacks expires"):
        evaluate.load_waivers(f)
    f.write_text(
        "waivers:\n  - {control: OS-AIDE-001, justification: x, approver: y, expires: 2026-13-01}\n"
    )
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        evaluate.load_waivers(f)
    assert evaluate.load_waivers(tmp_path / "absent.yml") == []
    assert evaluate.load_waivers(REPO / "waivers.yml") == []


def test_layers_apply_to_their_groups() -> None:
    web = SshTarget("web01", "10.0.0.1", "u", 22, None, (), ("lab", "web"))
    db = SshTarget("db01", "10.0.0.3", "u", 22, None, (), ("db", "lab"))
    nginx = next(c for c in CATALOG.controls if c.layer == "nginx")
    ssh = next(c for c in CATALOG.controls if c.layer == "ssh")
    assert collect.applies_to(nginx, web)
    assert not collect.applies_to(nginx, db)
    assert collect.applies_to(ssh, db)


def test_remote_command_carries_every_check() -> None:
    cmd = collect.remote_command({"A": "echo 'a'", "B": "true"})
    assert cmd.startswith("sudo -n python3 -c ")
    assert cmd.endswith(f" {collect.COMMAND_TIMEOUT_S}")


def test_exit_policy_and_record() -> None:
    c_low = next(c for c in CATALOG.controls if c.severity == "low")
    c_high = next(c for c in CATALOG.controls if c.severity == "high")
    kw = {"in_lab": False, "waivers": [], "today": TODAY, "now": NOW}
    low = evaluate.result(
        replace(c_low, check=Check("r", "x", "c", {"equals": "x"})), "web01", obs("y"), **kw
    )
    high_ok = evaluate.result(
        replace(c_high, check=Check("r", "x", "c", {"equals": "x"})), "web01", obs("x"), **kw
    )
    assert evaluate.failing_at_or_above([low, high_ok]) == []
    high_bad = replace(high_ok, status="fail", actual="y")
    assert evaluate.failing_at_or_above([low, high_bad]) == [high_bad]
    meta = run_meta_from_environment("inspection", hosts=["web01"], started_at=NOW)
    doc = ResultsDocument(run=meta, results=(low, high_bad))
    zh = record.render(doc, "zh")
    assert zh.markdown.startswith("# 巡检记录表")
    failures = zh.markdown.split("## 不符合项")[1].split("## 各主机明细")[0]
    assert failures.index(high_bad.control_id) < failures.index(low.control_id)  # worst first
    assert '<html lang="zh-CN">' in zh.html
    assert 'class="fail"' in zh.html
    en = record.render(doc, "en")
    assert en.markdown.startswith("# Inspection record")
    with_dict = replace(high_bad, expected={"policy": "drop"})
    assert '{"policy": "drop"}' in record.render(replace(doc, results=(with_dict,)), "en").markdown


def test_the_zh_record_shows_the_chinese_remedy_and_the_en_record_the_english() -> None:
    bak = control("PG-BAK-003")
    kw = {"in_lab": True, "waivers": [], "today": TODAY, "now": NOW}
    missing = obs("no restore drill on record (/var/lib/platform/restore-drill.json missing)")
    failed = evaluate.result(bak, "db01", missing, **kw)
    assert failed.status == "fail"
    assert failed.remedy_zh == bak.remedy_zh
    meta = run_meta_from_environment("inspection", hosts=["db01"], started_at=NOW)
    doc = ResultsDocument(run=meta.finished(NOW), results=(failed,))
    zh = record.render(doc, "zh").markdown.split("## 不符合项")[1].split("## 预警项")[0]
    assert f"| {bak.remedy_zh} |" in zh
    assert bak.remedy not in zh
    assert "no restore drill on record (/var/lib/platform/restore-drill.json missing)" in zh
    en = record.render(doc, "en").markdown.split("## Failures")[1].split("## Warnings")[0]
    assert f"| {bak.remedy} |" in en
    assert bak.remedy_zh not in en
    # A results file written before remedy_zh existed: the zh record falls back to English.
    old = replace(doc, results=(replace(failed, remedy_zh=None),))
    assert f"| {bak.remedy} |" in record.render(old, "zh").markdown
