"""The alert a chaos experiment must raise, read from the alert receiver's file on the ops host.

Each experiment names its alert in chaos/experiments.yml (`alert: {name, labels}`, or
`alert: none` with `alert_none_reason`). After the experiment the runner reads the receiver's
JSON lines (Alertmanager -> webhook -> /srv/data/alerts/notifications.jsonl on the first host of
the ops group, over SSH) and looks for the alert firing after the fault's injection and resolved
after the platform's recovery; the times go into the experiment's result, and an alert that did
not fire within FIRE_WINDOW_S is a finding (the experiment fails).

The next experiment does not wait for an alert to resolve unless the alert could be touched by
it (Pending.blocks): a restarted unit's alert resolves ~30 s after the restart, and waiting for
each in turn was most of a run's time. Every pending alert is read before the summary is written.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsproof.chaos import context
from opsproof.errors import ConfigError
from opsproof.monitoring import prometheus
from opsproof.monitoring.prometheus import OPS_GROUP

RECEIVER_FILE = "/srv/data/alerts/notifications.jsonl"
RECEIVER_UNIT = "opsproof-alert-receiver.service"
# The lab scrapes and evaluates every 5 s; Alertmanager groups for seconds. An alert is due
# within this long of the fault, and its resolution within RESOLVE_WINDOW_S of the recovery.
FIRE_WINDOW_S = 60.0
RESOLVE_WINDOW_S = 90.0
POLL_S = 2.0
# Prometheus dates an alert from the evaluation that first saw it (up to one interval late).
STARTS_SLACK_S = 10.0
TAIL_LINES = 400


@dataclass(frozen=True)
class ExpectedAlert:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_extension(cls, ext: Mapping[str, Any]) -> ExpectedAlert | None:
        """The extension's `alert` ({name, labels}); None when it is "none" or absent."""
        spec = ext.get("alert")
        if spec is None or spec == "none":
            return None
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise ConfigError(
                f"experiment alert {spec!r} is not {{name, labels}} or 'none'",
                fix="name the alert in chaos/experiments.yml and regenerate chaos/*.json",
            )
        labels = spec.get("labels") or {}
        return cls(spec["name"], {str(k): str(v) for k, v in labels.items()})

    def describe(self) -> str:
        if not self.labels:
            return self.name
        return f"{self.name}{{{', '.join(f'{k}={v}' for k, v in sorted(self.labels.items()))}}}"


@dataclass(frozen=True)
class Notification:
    status: str  # firing | resolved
    alertname: str
    labels: Mapping[str, str]
    received_at: float
    starts_at: float | None


@dataclass(frozen=True)
class AlertTiming:
    alert: str
    fired_after_s: float | None  # fault injected -> firing notification received
    resolved_after_s: float | None  # platform recovered -> resolved notification received
    checked: bool = True  # False: nothing monitors it (see unmonitored); no finding then

    def finding(self) -> str | None:
        if not self.checked:
            return None
        if self.fired_after_s is None:
            return f"expected alert {self.alert} did not fire within {FIRE_WINDOW_S:.0f} s"
        if self.resolved_after_s is None:
            return (
                f"alert {self.alert} was not resolved within {RESOLVE_WINDOW_S:.0f} s "
                "of the recovery"
            )
        return None


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse(text: str) -> list[Notification]:
    """The receiver's JSON lines (a torn or foreign line is skipped)."""
    out = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        received = _time(data.get("received_at")) if isinstance(data, dict) else None
        if received is None or data.get("status") not in ("firing", "resolved"):
            continue
        labels = data.get("labels") or {}
        out.append(
            Notification(
                status=data["status"],
                alertname=str(data.get("alertname") or labels.get("alertname") or ""),
                labels={str(k): str(v) for k, v in labels.items()},
                received_at=received,
                starts_at=_time(data.get("starts_at")),
            )
        )
    return out


def _matches(n: Notification, expected: ExpectedAlert) -> bool:
    return n.alertname == expected.name and all(
        n.labels.get(k) == v for k, v in expected.labels.items()
    )


def timing(
    notes: Sequence[Notification],
    expected: ExpectedAlert,
    injected_at: float,
    recovered_at: float | None,
) -> AlertTiming:
    """Fault -> firing and recovery -> resolved, from the notifications (received order)."""
    received = sorted(notes, key=lambda n: n.received_at)
    fired = next(
        (
            n
            for n in received
            if n.status == "firing"
            and _matches(n, expected)
            and n.received_at >= injected_at
            and (n.starts_at is None or n.starts_at >= injected_at - STARTS_SLACK_S)
            and n.received_at <= injected_at + FIRE_WINDOW_S
        ),
        None,
    )
    resolved = None
    if fired is not None:
        resolved = next(
            (
                n
                for n in received
                if n.status == "resolved"
                and _matches(n, expected)
                and n.received_at >= fired.received_at
            ),
            None,
        )
    after = recovered_at if recovered_at is not None else injected_at
    return AlertTiming(
        alert=expected.describe(),
        fired_after_s=None if fired is None else round(fired.received_at - injected_at, 1),
        resolved_after_s=None
        if resolved is None
        else round(max(0.0, resolved.received_at - after), 1),
    )


def unmonitored(expected: ExpectedAlert) -> str | None:
    """Why the alert cannot be checked (None: it can): no ops host in the inventory, no alert
    receiver installed there, or Prometheus there does not load the alert's rule."""
    try:
        host = context.group_first(OPS_GROUP)
    except ConfigError:
        return f"no host in group {OPS_GROUP}"
    done = context.sudo(
        host, f"systemctl cat {RECEIVER_UNIT} >/dev/null 2>&1 && echo yes", timeout=30, check=False
    )
    if done.stdout.strip() != "yes":
        return f"no {RECEIVER_UNIT} on {host}"
    (rules,) = prometheus.locate(context.inventory_path()).ask([("/api/v1/rules", {})])
    names = {r.get("name") for g in rules.get("groups", []) for r in g.get("rules", [])}
    if expected.name not in names:
        return f"Prometheus on {host} does not load the rule {expected.name}"
    return None


def read(host: str = f"group:{OPS_GROUP}") -> list[Notification]:
    """The receiver file's last lines on the ops host (empty when it has none yet)."""
    command = f"tail -n {TAIL_LINES} {shlex.quote(RECEIVER_FILE)} 2>/dev/null || true"
    return parse(context.sudo(host, command, timeout=30).stdout)


@dataclass(frozen=True)
class Pending:
    """An experiment's alert still to be read from the receiver: the fault's host and times."""

    experiment: str
    expected: ExpectedAlert
    host: str  # the host the fault was on
    injected_at: float
    recovered_at: float | None  # None: the platform did not recover by itself

    def blocks(self, expected: ExpectedAlert | None, host: str) -> bool:
        """Whether the next experiment (its alert, the host of its fault) must wait until this
        alert is read. It must when this alert watches the whole platform (no labels: any
        fault anywhere could keep it firing), when the next fault is on the same host (it could
        restart or stop what this alert watches), or when it expects this same alert (its
        firing would be taken for the other's). Otherwise the next experiment runs while this
        alert resolves: a unit's ServiceRestarted on app01 is not touched by a fault on db01."""
        return not self.expected.labels or host == self.host or expected == self.expected

    def settled(self, result: AlertTiming, now: float) -> bool:
        """Fired and resolved, or a window closed (not fired in FIRE_WINDOW_S of the fault; not
        resolved in RESOLVE_WINDOW_S of the recovery)."""
        if result.fired_after_s is None:
            return now > self.injected_at + FIRE_WINDOW_S
        resolve_by = (self.recovered_at or self.injected_at) + RESOLVE_WINDOW_S
        return result.resolved_after_s is not None or now > max(
            resolve_by, self.injected_at + FIRE_WINDOW_S
        )


def await_alerts(pending: Sequence[Pending]) -> dict[str, AlertTiming]:
    """Poll the receiver's file (one read per round for all of them) until every pending alert
    fired and resolved, or its windows closed. Keyed by experiment name."""
    while True:
        notes = read() if pending else []
        now = time.time()
        results = {
            p.experiment: timing(notes, p.expected, p.injected_at, p.recovered_at) for p in pending
        }
        if all(p.settled(results[p.experiment], now) for p in pending):
            return results
        time.sleep(POLL_S)
