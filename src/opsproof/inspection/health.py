"""Operational health checks: measured values against thresholds (pure functions).

A health control's check command prints one line per measured item, `<item> <number>`
(the item may contain spaces; the number is the last word), or a single line
`N/A: <reason>` when the quantity cannot be measured on this host, or `FAIL: <finding>` /
`WARN: <finding>` when what it measures is missing (no backup on record yet): a finding in
words, never a sentinel number standing in for "missing". The control's `pass.threshold`
rule says which way is worse and where warning and failure start:

- worse=higher (disk use, load, 5xx rate): fail when value >= fail, warn when value >= warn;
- worse=lower (days until a certificate expires, cache hit ratio): fail when value < fail,
  warn when value < warn.

The worst item decides the status. The catalog holds the default thresholds; the inventory
variable the control names (`variable`, e.g. `opsproof_health_disk_pct`) overrides them per
host or group with a mapping `{warn: N, fail: N}` (either key may be left out).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from opsproof.errors import ConfigError

Level = Literal["pass", "warn", "fail"]
Worse = Literal["higher", "lower"]
NA_PREFIX = "N/A:"
# A finding in words where there is nothing to measure (the record is missing).
FINDING_PREFIXES: Mapping[str, Level] = {"FAIL:": "fail", "WARN:": "warn"}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")
_RANK: Mapping[Level, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Threshold:
    fail: float
    worse: Worse
    unit: str
    warn: float | None = None

    @classmethod
    def from_rule(
        cls, rule: Mapping[str, Any], override: object = None, *, variable: str = "override"
    ) -> Threshold:
        """The catalog's rule, with the inventory's {warn, fail} override applied."""
        warn = rule.get("warn")
        fail = rule["fail"]
        if override is not None:
            if not isinstance(override, Mapping) or not set(override) <= {"warn", "fail"}:
                raise ConfigError(
                    f"{variable}: expected a mapping with warn and/or fail, got {override!r}",
                    fix=f"set {variable}: {{warn: N, fail: N}} in the inventory",
                )
            for key in ("warn", "fail"):
                value = override.get(key)
                if key in override and (
                    isinstance(value, bool) or not isinstance(value, (int, float))
                ):
                    raise ConfigError(
                        f"{variable}.{key}: {value!r} is not a number",
                        fix=f"set {variable}.{key} to a number",
                    )
            warn = override.get("warn", warn)
            fail = override.get("fail", fail)
        return cls(
            fail=float(fail),
            worse=rule["worse"],
            unit=str(rule["unit"]),
            warn=float(warn) if warn is not None else None,
        )

    def classify(self, value: float) -> Level:
        if self.worse == "higher":
            if value >= self.fail:
                return "fail"
            return "warn" if self.warn is not None and value >= self.warn else "pass"
        if value < self.fail:
            return "fail"
        return "warn" if self.warn is not None and value < self.warn else "pass"

    def to_dict(self) -> dict[str, Any]:
        warn = _num(self.warn) if self.warn is not None else None
        return {"warn": warn, "fail": _num(self.fail), "worse": self.worse, "unit": self.unit}


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def describe(expected: Mapping[str, Any]) -> str:
    """'warn >= 80 %, fail >= 90 %' for a threshold's to_dict()."""
    op = ">=" if expected.get("worse") == "higher" else "<"
    unit = str(expected.get("unit", ""))
    parts = [
        f"{key} {op} {_num(expected[key])} {unit}".rstrip()
        for key in ("warn", "fail")
        if expected.get(key) is not None
    ]
    return ", ".join(parts)


@dataclass(frozen=True)
class Reading:
    item: str
    value: float


def not_applicable(out: str) -> str | None:
    """The reason when the command said it cannot measure here (`N/A: <reason>`)."""
    text = out.strip()
    if text.startswith(NA_PREFIX):
        return text[len(NA_PREFIX) :].strip() or "not measurable on this host"
    return None


def finding(out: str) -> tuple[Level, str] | None:
    """(fail|warn, the words) when the command printed `FAIL: …` or `WARN: …` instead of a
    measurement; None for readings."""
    text = out.strip()
    for prefix, level in FINDING_PREFIXES.items():
        if text.startswith(prefix):
            return level, text[len(prefix) :].strip() or "nothing to measure on this host"
    return None


def parse(out: str) -> list[Reading]:
    """One reading per non-empty line '<item> <number>'; ValueError names a bad line."""
    readings = []
    for line in out.strip().splitlines():
        if not line.strip():
            continue
        parts = line.strip().rsplit(None, 1)
        if len(parts) != 2:
            raise ValueError(f"not '<item> <number>': {line.strip()!r}")
        try:
            value = float(parts[1].rstrip("%"))
        except ValueError:
            raise ValueError(f"not a number at the end of {line.strip()!r}") from None
        if math.isnan(value):
            raise ValueError(f"not a number at the end of {line.strip()!r}")
        readings.append(Reading(parts[0], value))
    return readings


def assess(threshold: Threshold, readings: list[Reading]) -> tuple[Level, str]:
    """The worst level over the readings, and what was measured ('item=value unit; …')."""
    if not readings:
        raise ValueError("no measurement printed")
    level: Level = "pass"
    shown = []
    for r in readings:
        here = threshold.classify(r.value)
        if _RANK[here] > _RANK[level]:
            level = here
        mark = "" if here == "pass" else f" [{here}]"
        shown.append(f"{r.item}={_num(round(r.value, 3))} {threshold.unit}".rstrip() + mark)
    return level, "; ".join(shown)


def render(template: str, values: Mapping[str, Any]) -> str:
    """Replace {{ name }} by the host's value; KeyError names a variable with no value."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(name)
        return str(values[name])

    return _PLACEHOLDER.sub(one, template)
