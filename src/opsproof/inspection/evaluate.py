"""A check's observation against the control's pass rule, with waivers, as a CheckResult."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from opsproof.controls.model import Control
from opsproof.errors import ConfigError, OpsproofError
from opsproof.inspection import health
from opsproof.inspection.collect import Observation
from opsproof.results.model import CheckResult, JSONValue, Status, Waiver

ACTUAL_MAX = 2000


@dataclass(frozen=True)
class Unresolved:
    """A host variable the inspection could not resolve, and why."""

    reason: str


HostVars = Mapping[str, Any]  # variable name -> value (or Unresolved) for one host


def expected_for(control: Control, host_vars: HostVars | None = None) -> JSONValue:
    """What the record shows as expected: the threshold in force, else the catalog's expect."""
    rule = control.check.pass_ or {}
    if "threshold" in rule:
        try:
            return cast(JSONValue, threshold_for(control, host_vars).to_dict())
        except OpsproofError:
            return cast(JSONValue, dict(rule["threshold"]))
    if control.check.variables and "equals" in rule:
        try:
            return health.render(str(rule["equals"]), _known(host_vars))
        except KeyError:
            pass
    return control.check.expect


def _known(host_vars: HostVars | None) -> dict[str, Any]:
    return {k: v for k, v in (host_vars or {}).items() if not isinstance(v, Unresolved)}


def threshold_for(control: Control, host_vars: HostVars | None = None) -> health.Threshold:
    """The control's threshold with the host's inventory override applied (ConfigError)."""
    rule = (control.check.pass_ or {})["threshold"]
    override = (host_vars or {}).get(control.variable)
    if isinstance(override, Unresolved):
        raise ConfigError(f"{control.variable}: {override.reason}", fix="fix the variable")
    return health.Threshold.from_rule(rule, override, variable=control.variable)


def stderr_summary(stderr: str) -> str:
    """What a failed command said, for the record: a Python traceback is reduced to its
    last line (the exception and its message), never shown whole as what was found."""
    text = stderr.strip()
    if "Traceback (most recent call last):" in text:
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")
        return f"the check's Python code raised {last}"[:ACTUAL_MAX]
    return text[:ACTUAL_MAX]


def verdict(
    control: Control, obs: Observation | None, host_vars: HostVars | None = None
) -> tuple[Status, JSONValue]:
    """pass / warn / fail / error / not-applicable and what was found (output, trimmed)."""
    if control.check.cmd is None or control.check.pass_ is None:
        return "error", "no check command in the catalog for this control"
    if obs is None:
        return "error", "the check did not run"
    out = obs.stdout.strip()
    if obs.rc is None:
        return "error", f"check timed out: {obs.stderr.strip()}"
    if obs.rc != 0 and not out:
        return "error", f"check failed (rc={obs.rc}): {stderr_summary(obs.stderr)}"
    rule = control.check.pass_
    if control.layer == "health":
        reason = health.not_applicable(out)
        if reason is not None:
            return "not-applicable", f"not measurable here: {reason}"
        found = health.finding(out)
        if found is not None:
            return found[0], found[1][:ACTUAL_MAX]
    if "threshold" in rule:
        try:
            level, shown = health.assess(threshold_for(control, host_vars), health.parse(out))
        except ValueError as err:
            return "error", f"cannot read the measurement: {err}; output: {out[:500]}"
        except OpsproofError as err:
            return "error", f"bad threshold override: {err.message}"
        return level, shown[:ACTUAL_MAX]
    for name in control.check.variables:
        value = (host_vars or {}).get(name)
        if value is None or isinstance(value, Unresolved):
            why = value.reason if isinstance(value, Unresolved) else "not defined for this host"
            return "error", f"the intended value ({name}) is unknown: {why}"
    if "equals" in rule:
        wanted = str(rule["equals"])
        if control.check.variables:
            wanted = health.render(wanted, _known(host_vars))
        ok = out == wanted.strip()
    elif "regex" in rule:
        ok = re.fullmatch(str(rule["regex"]), out) is not None
    else:  # empty: every printed line is an offending item
        ok = out == ""
    return ("pass" if ok else "fail"), out[:ACTUAL_MAX]


@dataclass(frozen=True)
class WaiverEntry:
    control: str
    hosts: tuple[str, ...]  # empty: every host
    justification: str
    approver: str
    expires: dt.date
    ticket: str | None = None

    def covers(self, control_id: str, host: str) -> bool:
        return self.control == control_id and (not self.hosts or host in self.hosts)


def load_waivers(path: Path) -> list[WaiverEntry]:
    """waivers.yml: a list of {control, hosts, justification, approver, expires[, ticket]}."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError) as err:  # ValueError: an impossible date
        raise ConfigError(
            f"{path}: not valid YAML: {err}", fix="fix the file's syntax; dates are YYYY-MM-DD"
        ) from None
    items = data.get("waivers", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a mapping with a list `waivers`", fix="see docs")
    out = []
    for n, item in enumerate(items):
        where = f"{path}: waivers[{n}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} is not a mapping", fix="see the example in the file")
        missing = [
            k for k in ("control", "justification", "approver", "expires") if not item.get(k)
        ]
        if missing:
            raise ConfigError(
                f"{where} ({item.get('control', '?')}) lacks {', '.join(missing)}",
                fix="give each waiver a control, justification, approver and expiry date",
            )
        expires = item["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise ConfigError(
                    f"{where}.expires: {expires!r} is not YYYY-MM-DD", fix="use a date"
                ) from None
        if not isinstance(expires, dt.date):
            raise ConfigError(f"{where}.expires must be a date (YYYY-MM-DD)", fix="use a date")
        hosts = item.get("hosts") or []
        out.append(
            WaiverEntry(
                control=str(item["control"]),
                hosts=tuple(str(h) for h in (hosts if isinstance(hosts, list) else [hosts])),
                justification=str(item["justification"]),
                approver=str(item["approver"]),
                expires=expires,
                ticket=str(item["ticket"]) if item.get("ticket") else None,
            )
        )
    return out


def check_waivers(waivers: Sequence[WaiverEntry], control_ids: set[str], source: str) -> None:
    """A waiver for a control the catalog does not have is a mistake, not a silent no-op."""
    unknown = sorted({w.control for w in waivers} - control_ids)
    if unknown:
        raise ConfigError(
            f"{source}: waiver for unknown control {', '.join(unknown)}",
            fix="use an id from controls/catalog.yml (`opsproof controls list`)",
        )


def references(control: Control) -> tuple[str, ...]:
    refs = control.references
    return (
        *(f"CIS Debian 12 {r}" for r in refs.cis),
        *(f"GB/T 22239-2019 {r}" for r in refs.mlps),
        *(f"GB/T 28448-2019 {r}" for r in refs.mlps_test),
        *refs.other,
    )


def result(
    control: Control,
    host: str,
    obs: Observation | None,
    *,
    in_lab: bool,
    waivers: Sequence[WaiverEntry],
    today: dt.date,
    now: dt.datetime,
    host_vars: HostVars | None = None,
) -> CheckResult:
    """The control's result on the host. A valid waiver turns anything but pass and
    not-applicable into waived; an expired one makes a warn or fail a fail, saying so."""
    waiver: Waiver | None = None
    if in_lab and not control.lab.applies:
        status: Status = "not-applicable"
        actual: JSONValue = f"not applicable in the lab: {control.lab.reason}"
    else:
        status, actual = verdict(control, obs, host_vars)
        entry = next((w for w in waivers if w.covers(control.id, host)), None)
        if entry is not None and status not in ("pass", "not-applicable"):
            if entry.expires >= today:
                status = "waived"
                waiver = Waiver(entry.justification, entry.approver, entry.expires, entry.ticket)
            else:
                if status == "warn":
                    status = "fail"
                actual = (
                    f"{actual} (waiver expired {entry.expires.isoformat()}, "
                    f"approved by {entry.approver})"
                )
    expected = expected_for(control, host_vars)
    return CheckResult(
        host=host,
        control_id=control.id,
        title=control.title.en,
        title_zh=control.title.zh,
        layer=control.layer,
        severity=control.severity,
        expected=expected,
        actual=actual,
        status=status,
        timestamp=now,
        references=references(control),
        remedy=control.remedy,
        remedy_zh=control.remedy_zh,
        waiver=waiver,
    )


def failing_at_or_above(results: Sequence[CheckResult], floor: str = "medium") -> list[CheckResult]:
    order = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    return [
        r for r in results if r.status in ("fail", "error") and order[r.severity] >= order[floor]
    ]


def by_host(results: Sequence[CheckResult]) -> Mapping[str, list[CheckResult]]:
    out: dict[str, list[CheckResult]] = {}
    for r in results:
        out.setdefault(r.host, []).append(r)
    return out
