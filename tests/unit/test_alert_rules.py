"""The alert rules (roles/prometheus/files/rules/*.yml): every alert says how bad it is, what
happened in English and Chinese and where its runbook section is, and has a promtool unit test
that makes it fire (tests/promtool/*.yml, run by `make unit`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "roles" / "prometheus" / "files" / "rules"
TESTS = REPO / "tests" / "promtool"
RUNBOOK = REPO / "docs" / "runbook.md"


def _alerts() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["alert"] not in out, f"{rule['alert']} defined twice"
                    out[rule["alert"]] = {**rule, "_file": path.name}
    return out


ALERTS = _alerts()


def _runbook_anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings (lower case, spaces to dashes)."""
    text = RUNBOOK.read_text(encoding="utf-8")
    return {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, re.M)
    }


def _tested() -> dict[str, set[str]]:
    """alertname -> the rule files of the promtool tests where it is expected to fire."""
    out: dict[str, set[str]] = {}
    for path in sorted(TESTS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "rule_files" not in doc:
            continue
        files = {Path(f).name for f in doc["rule_files"]}
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    out.setdefault(case["alertname"], set()).update(files)
    return out


def test_the_issue_s_alerts_exist() -> None:
    wanted = {
        "HostDown",
        "ServiceDown",
        "ServiceRestartLoop",
        "SubsystemUnavailable",
        "Http5xxRateHigh",
        "LatencyP95OverSLO",
        "DiskFillingUp",
        "InodesFillingUp",
        "MemoryLow",
        "BackupTooOld",
        "RestoreDrillFailed",
        "RestoreDrillTooOld",
        "CertificateExpiringSoon",
        "PostgresConnectionsNearMax",
        "JvmHeapAfterGcNearMax",
        "JvmGcTimeShareHigh",
        "ClockSkew",
    }
    assert wanted <= set(ALERTS), sorted(wanted - set(ALERTS))


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_each_alert_has_severity_bilingual_summary_and_runbook(name: str) -> None:
    rule = ALERTS[name]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    notes = rule["annotations"]
    assert notes["summary"].strip()
    assert notes["description"].strip()
    assert re.search(r"[\u4e00-\u9fff]", notes["summary_zh"]), "summary_zh has no Chinese"
    assert notes["runbook_url"] == f"docs/runbook.md#{name.lower()}"
    assert name.lower() in _runbook_anchors(), f"docs/runbook.md has no section ## {name}"


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_each_alert_has_a_promtool_test_that_makes_it_fire(name: str) -> None:
    tested = _tested()
    assert name in tested, f"no tests/promtool/*.yml case expects {name} to fire"
    assert ALERTS[name]["_file"] in tested[name]
