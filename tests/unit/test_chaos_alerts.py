"""The alert each chaos experiment must raise (opsproof.chaos.alerts): named in every
experiment, defined in the rule files, and timed from the receiver's notifications."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from opsproof.chaos import alerts, report, runner

from .samples import EXPERIMENT

REPO = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC).timestamp()


def _rule_alerts() -> set[str]:
    names = set()
    for path in (REPO / "roles/prometheus/files/rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names |= {r["alert"] for r in group["rules"] if "alert" in r}
    return names


def _line(status: str, alertname: str, at: float, starts: float, **labels: str) -> str:
    def iso(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")

    return json.dumps(
        {
            "received_at": iso(at),
            "status": status,
            "alertname": alertname,
            "labels": {"alertname": alertname, **labels},
            "starts_at": iso(starts),
            "ends_at": "0001-01-01T00:00:00Z",
        }
    )


@pytest.mark.parametrize("path", sorted((REPO / "chaos").glob("*.json")), ids=lambda p: p.stem)
def test_every_experiment_names_an_existing_alert_or_says_why_none(path: Path) -> None:
    exp = runner.load_experiment(path)
    ext = next(e for e in json.loads(path.read_text())["extensions"] if e["name"] == "opsproof")
    if exp.alert is None:
        assert ext.get("alert") == "none"
        assert ext.get("alert_none_reason", "").strip()
    else:
        assert exp.alert.name in _rule_alerts()


def test_the_process_kills_expect_systemd_s_restart_of_their_unit() -> None:
    for name, unit in (("jvm-kill", "tomcat10"), ("nginx-master-kill", "nginx")):
        exp = runner.load_experiment(REPO / "chaos" / f"{name}.json")
        assert exp.alert == alerts.ExpectedAlert("ServiceRestarted", {"name": f"{unit}.service"})


def test_firing_after_the_fault_and_resolved_after_the_recovery_are_timed() -> None:
    text = "\n".join(
        [
            _line("firing", "ServiceRestarted", T0 - 300, T0 - 310, name="nginx.service"),  # older
            _line("firing", "ServiceRestarted", T0 + 9, T0 + 5, name="tomcat10.service"),  # other
            _line("firing", "ServiceRestarted", T0 + 12.5, T0 + 5, name="nginx.service"),
            "not json",
            _line("resolved", "ServiceRestarted", T0 + 48, T0 + 5, name="nginx.service"),
        ]
    )
    expected = alerts.ExpectedAlert("ServiceRestarted", {"name": "nginx.service"})
    got = alerts.timing(alerts.parse(text), expected, T0, recovered_at=T0 + 3)
    assert got.fired_after_s == 12.5
    assert got.resolved_after_s == 45.0
    assert got.finding() is None


def test_an_alert_that_did_not_fire_in_the_window_is_a_finding() -> None:
    late = _line("firing", "SubsystemUnavailable", T0 + alerts.FIRE_WINDOW_S + 5, T0 + 1)
    expected = alerts.ExpectedAlert("SubsystemUnavailable")
    got = alerts.timing(alerts.parse(late), expected, T0, recovered_at=T0 + 10)
    assert got.fired_after_s is None
    assert got.finding() == "expected alert SubsystemUnavailable did not fire within 60 s"


def test_fired_but_never_resolved_is_a_finding() -> None:
    fired = _line("firing", "DiskAlmostFull", T0 + 8, T0 + 2, mountpoint="/srv/data")
    expected = alerts.ExpectedAlert("DiskAlmostFull", {"mountpoint": "/srv/data"})
    got = alerts.timing(alerts.parse(fired), expected, T0, recovered_at=T0 + 30)
    assert got.fired_after_s == 8.0
    assert got.finding() is not None
    assert "not resolved" in got.finding()


def test_the_summary_shows_the_alert_times() -> None:
    r = dataclasses.replace(
        EXPERIMENT,
        name="nginx-master-kill",
        alert="ServiceRestarted{name=nginx.service}",
        alert_fired_s=12.5,
        alert_resolved_s=45.0,
    )
    assert report.alert_cell(r) == "ServiceRestarted{name=nginx.service}: 12.5 / 45.0"


def test_an_unmonitored_alert_is_no_finding_and_says_why() -> None:
    unchecked = alerts.AlertTiming(
        "HostDown (not checked: no host in group ops)", None, None, False
    )
    assert unchecked.finding() is None
    checked = alerts.AlertTiming("HostDown", None, None)
    assert checked.finding() is not None


TOMCAT = alerts.ExpectedAlert("ServiceRestarted", {"name": "tomcat10.service"})
POSTGRES = alerts.ExpectedAlert("ServiceRestarted", {"name": "postgresql@15-main.service"})
PLATFORM = alerts.ExpectedAlert("SubsystemUnavailable")


def test_a_pending_alert_holds_the_next_fault_only_where_the_fault_could_touch_it() -> None:
    jvm = alerts.Pending("jvm-kill", TOMCAT, "app01", T0, T0 + 6)
    assert not jvm.blocks(POSTGRES, "db01")  # another unit's restart on another host
    assert not jvm.blocks(None, "web01")
    assert jvm.blocks(PLATFORM, "app01")  # the same host: it could restart tomcat again
    assert jvm.blocks(TOMCAT, "db01")  # the same alert: its firing would be taken for this one
    partition = alerts.Pending("db-partition", PLATFORM, "app01", T0, T0 + 20)
    assert partition.blocks(POSTGRES, "db01")  # the whole platform: any fault could keep it firing
    assert partition.blocks(None, "web01")


def test_pending_alerts_are_read_together_until_each_is_resolved_or_its_window_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [T0 + 20.0]
    reads = [0]
    # jvm-kill at T0 (recovered T0 + 6), db-kill at T0 + 20 (recovered T0 + 23). The receiver's
    # file grows as the rounds go by; db-kill's alert never resolves.
    lines = [
        (T0 + 15, _line("firing", "ServiceRestarted", T0 + 15, T0 + 10, name="tomcat10.service")),
        (
            T0 + 36,
            _line(
                "firing", "ServiceRestarted", T0 + 36, T0 + 30, name="postgresql@15-main.service"
            ),
        ),
        (T0 + 40, _line("resolved", "ServiceRestarted", T0 + 40, T0 + 10, name="tomcat10.service")),
    ]

    def read() -> list[alerts.Notification]:
        reads[0] += 1
        return alerts.parse("\n".join(text for at, text in lines if at <= clock[0]))

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(alerts, "read", read)
    monkeypatch.setattr(alerts.time, "time", lambda: clock[0])
    monkeypatch.setattr(alerts.time, "sleep", sleep)
    pending = [
        alerts.Pending("jvm-kill", TOMCAT, "app01", T0, T0 + 6),
        alerts.Pending("db-kill", POSTGRES, "db01", T0 + 20, T0 + 23),
    ]
    got = alerts.await_alerts(pending)
    assert got["jvm-kill"].fired_after_s == 15.0
    assert got["jvm-kill"].resolved_after_s == 34.0
    assert got["jvm-kill"].finding() is None
    assert got["db-kill"].fired_after_s == 16.0
    assert got["db-kill"].resolved_after_s is None
    assert "not resolved" in str(got["db-kill"].finding())
    # It waited until db-kill's resolve window closed (recovery + 90 s), one read per round.
    assert (
        T0 + 23 + alerts.RESOLVE_WINDOW_S
        < clock[0]
        <= T0 + 23 + alerts.RESOLVE_WINDOW_S + 2 * alerts.POLL_S
    )
    assert reads[0] == round((clock[0] - (T0 + 20)) / alerts.POLL_S) + 1
    assert alerts.await_alerts([]) == {}
