"""Monitoring on the ops host (issue 14): every Prometheus target up, the offline receiver records
a notification, the metrics ports reachable from ops01 only, bad input stopped by the preflight.

Prometheus (ops01:9090) and Alertmanager (ops01:9093) are asked from the lab machine, which is in
firewall_admin_networks (the bridge address); the exporters are not reachable from here.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import ADDRESS, Run, on, sh, tcp_states

pytestmark = pytest.mark.e2e
OPS = ADDRESS["ops01"]
PROMETHEUS = f"http://{OPS}:9090"
ALERTMANAGER = f"http://{OPS}:9093"
NOTIFICATIONS = "/srv/data/alerts/notifications.jsonl"
SUBSYSTEMS = {"sharing", "intake", "investment", "publishing", "reporting", "oa"}
JOBS = {
    "node": set(ADDRESS),
    "postgres": {"db01"},
    "nginx": {"web01"},
    "jvm": {"app01"},
    "blackbox_health": {"web01"},
    "blackbox_read": {"web01"},
    "prometheus": {"ops01"},
    "alertmanager": {"ops01"},
}
# No proxy for the lab: this machine may set one for the outside world.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> Any:
    with OPENER.open(url, timeout=10) as resp:
        return json.load(resp)


def _post(url: str, body: Any) -> int:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with OPENER.open(req, timeout=10) as resp:
        return int(resp.status)


def _targets() -> list[dict[str, Any]]:
    data = _get(f"{PROMETHEUS}/api/v1/targets?state=active")
    return list(data["data"]["activeTargets"])


def test_every_target_is_up(provisioned: Run) -> None:
    """Every scrape job of the inventory, each target's instance its inventory host name, all up
    within a minute of provisioning; the blackbox probes themselves succeed."""
    deadline = time.monotonic() + 90
    while True:
        targets = _targets()
        down = [(t["labels"], t["lastError"]) for t in targets if t["health"] != "up"]
        if not down or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert down == [], down
    found: dict[str, set[str]] = {}
    for t in targets:
        found.setdefault(t["labels"]["job"], set()).add(t["labels"]["instance"])
    assert found == JOBS, found
    for job in ("blackbox_health", "blackbox_read"):
        subsystems = {t["labels"].get("subsystem") for t in targets if t["labels"]["job"] == job}
        assert subsystems == SUBSYSTEMS, (job, subsystems)
    probes = _get(f"{PROMETHEUS}/api/v1/query?query=probe_success")["data"]["result"]
    assert len(probes) == 2 * len(SUBSYSTEMS), probes
    failed = [p["metric"] for p in probes if p["value"][1] != "1"]
    assert failed == [], failed
    jvm = _get(f"{PROMETHEUS}/api/v1/query?query=jvm_memory_heap_bytes")["data"]["result"]
    assert {r["metric"]["area"] for r in jvm} == {"used", "committed", "max"}, jvm


def _notifications(marker: str) -> list[dict[str, Any]]:
    run = on(OPS, f"sudo -n grep -F {marker} {NOTIFICATIONS} || true")
    assert run.rc == 0, run.out
    return [json.loads(line) for line in run.out.splitlines() if line.startswith("{")]


def _wait_for(marker: str, status: str, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [n for n in _notifications(marker) if n["status"] == status]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(2)


def test_receiver_records_a_test_alert_firing_then_resolved(provisioned: Run) -> None:
    """An alert posted to Alertmanager's API reaches the offline receiver's file as a firing
    line, and its end as a resolved line, with timestamps, alertname and labels."""
    marker = f"opsproof-test-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "OpsproofTestAlert", "severity": "info", "test_id": marker},
        "annotations": {"summary": "test alert from tests/e2e/test_monitoring.py"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
    }
    assert _post(f"{ALERTMANAGER}/api/v2/alerts", [alert]) == 200
    firing = _wait_for(marker, "firing", 60)
    assert firing, f"no firing notification for {marker} in {NOTIFICATIONS}"
    line = firing[0]
    assert line["alertname"] == "OpsproofTestAlert"
    assert line["labels"]["test_id"] == marker
    assert datetime.fromisoformat(line["received_at"]) >= now - timedelta(seconds=5)
    alert["endsAt"] = datetime.now(UTC).isoformat()
    assert _post(f"{ALERTMANAGER}/api/v2/alerts", [alert]) == 200
    resolved = _wait_for(marker, "resolved", 90)
    assert resolved, f"no resolved notification for {marker} in {NOTIFICATIONS}"
    assert resolved[0]["received_at"] >= line["received_at"]


def test_metrics_ports_answer_the_ops_host_only(provisioned: Run) -> None:
    """The exporters and Tomcat's metrics connector accept connections from ops01 and from
    nobody else (here: the lab machine and web01); /metrics is not served through nginx."""
    ports = [
        ("web01", 9100),
        ("web01", 9113),
        ("app01", 9100),
        ("app01", 9404),
        ("db01", 9100),
        ("db01", 9187),
    ]
    expected = {(OPS, ADDRESS[host], port): "open" for host, port in ports}
    expected |= {(None, ADDRESS[host], port): "timeout" for host, port in ports}
    expected[(ADDRESS["web01"], ADDRESS["app01"], 9404)] = "timeout"
    assert tcp_states(list(expected)) == expected
    url = f"http://{ADDRESS['app01']}:9404/metrics"
    fetch = f"import urllib.request as u; print(u.urlopen('{url}', timeout=5).read().decode())"
    metrics = on(OPS, f'python3 -c "{fetch}"')
    assert metrics.rc == 0, metrics.out
    assert "jvm_gc_collection_seconds_total" in metrics.out
    assert 'platform_jdbc_pool_connections{state="active"}' in metrics.out
    via_nginx = sh(
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--noproxy",
        "*",
        "--cacert",
        "/var/lib/opsproof/lab/ca/ca.crt",
        f"https://{ADDRESS['web01']}/metrics",
    )
    assert via_nginx.out.strip() == "404", via_nginx.out


def test_bad_monitoring_input_stops_the_preflight(provisioned: Run) -> None:
    """A retention below the minimum, a scrape target outside the inventory and a production
    receiver without an address: one run, each named with its fix, nothing changed."""
    extra = json.dumps(
        {
            "prometheus_retention_time": "7d",
            "prometheus_node_hosts": ["web01", "nosuchhost"],
            "prometheus_remote_receiver_required": True,
            "prometheus_webhook_urls": ["not-an-address"],
        }
    )
    run = sh(".venv/bin/ansible-playbook", "playbooks/site.yml", "--limit", "ops01", "-e", extra)
    assert run.rc != 0
    for needle in (
        "prometheus_retention_time=7d is shorter than 31 days",
        "prometheus_node_hosts names nosuchhost, which is not in the inventory",
        "prometheus_webhook_urls=['not-an-address']: every webhook receiver needs an address",
    ):
        assert needle in run.out, run.out[-3000:]
    assert run.recap()["ops01"]["changed"] == 0
