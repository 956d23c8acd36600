"""Frozen dataclasses mirroring catalog.schema.json.

`from_dict` trusts its input to have the schema's shape: read the catalog with
`opsproof.controls.load_catalog`, which validates first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from opsproof.results.model import JSONValue

Layer = Literal["os", "ssh", "firewall", "nginx", "tomcat", "postgresql", "logging", "health"]
Severity = Literal["critical", "high", "medium", "low"]

LAYERS: tuple[Layer, ...] = (
    "os",
    "ssh",
    "firewall",
    "nginx",
    "tomcat",
    "postgresql",
    "logging",
    "health",
)
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
# The first part of a control id names its layer: OS-SYSCTL-001 is an os control.
LAYER_PREFIX: Mapping[Layer, str] = {
    "os": "OS",
    "ssh": "SSH",
    "firewall": "FW",
    "nginx": "NGX",
    "tomcat": "TC",
    "postgresql": "PG",
    "logging": "LOG",
    "health": "HLT",
}


@dataclass(frozen=True)
class Bilingual:
    zh: str
    en: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bilingual:
        return cls(zh=data["zh"], en=data["en"])


@dataclass(frozen=True)
class Standard:
    key: str
    short: str
    title: str
    edition: str
    profile: str | None = None


@dataclass(frozen=True)
class References:
    cis: tuple[str, ...] = ()
    mlps: tuple[str, ...] = ()
    mlps_test: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> References:
        return cls(
            cis=tuple(data["cis"]),
            mlps=tuple(data["mlps"]),
            mlps_test=tuple(data["mlps_test"]),
            other=tuple(data.get("other", ())),
        )

    def labels(self, standards: Mapping[str, Standard]) -> list[str]:
        """One string per reference, prefixed with the standard's short name (for results)."""
        out: list[str] = []
        for key, items in (("cis", self.cis), ("mlps", self.mlps), ("mlps_test", self.mlps_test)):
            short = standards[key].short if key in standards else key
            out.extend(f"{short} {item}" for item in items)
        out.extend(self.other)
        return out


@dataclass(frozen=True)
class Setting:
    """What the role configures: the value, and the role variable that holds it (if any)."""

    value: JSONValue
    variable: str | None = None


@dataclass(frozen=True)
class LabApplicability:
    applies: bool
    reason: str | None = None


@dataclass(frozen=True)
class Check:
    """What the inspection reads on the live host, and what it expects to find.

    `cmd` is the shell command (run as root on the host) that prints what `reads` describes;
    `pass_` says when its output passes: {"equals": text} (the output, stripped),
    {"regex": pattern} (re.fullmatch on the stripped output) or {"empty": true} (no output:
    each line printed is an offending item), or {"threshold": {warn, fail, worse, unit}}
    (operational health: each line is '<item> <number>', see opsproof.inspection.health).
    `variables` are resolved per host from the inventory and role defaults; `{{ name }}` in
    an equals rule is replaced by the host's value.
    """

    reads: str
    expect: JSONValue
    cmd: str | None = None
    pass_: Mapping[str, Any] | None = None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Control:
    id: str
    layer: Layer
    title: Bilingual
    rationale: str
    severity: Severity
    references: References
    role: str
    variable: str
    lab: LabApplicability
    check: Check
    remedy: str
    remedy_zh: str  # the remedy in Chinese: the zh inspection record shows it
    setting: Setting | None = None
    rationale_zh: str | None = None
    group: str | None = None  # the inventory group it applies to; None: the layer's

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Control:
        setting = data.get("setting")
        lab = data["lab"]
        return cls(
            id=data["id"],
            layer=data["layer"],
            title=Bilingual.from_dict(data["title"]),
            rationale=data["rationale"],
            rationale_zh=data.get("rationale_zh"),
            severity=data["severity"],
            references=References.from_dict(data["references"]),
            role=data["role"],
            variable=data["variable"],
            setting=(
                Setting(value=cast(JSONValue, setting["value"]), variable=setting.get("variable"))
                if setting is not None
                else None
            ),
            lab=LabApplicability(applies=lab["applies"], reason=lab.get("reason")),
            check=Check(
                reads=data["check"]["reads"],
                expect=cast(JSONValue, data["check"]["expect"]),
                cmd=data["check"].get("cmd"),
                pass_=data["check"].get("pass"),
                variables=tuple(data["check"].get("variables", ())),
            ),
            remedy=data["remedy"],
            remedy_zh=data["remedy_zh"],
            group=data.get("group"),
        )

    def variables(self) -> tuple[str, ...]:
        """The role variables the control names: its switch, then its setting's variable."""
        if self.setting is not None and self.setting.variable:
            return (self.variable, self.setting.variable)
        return (self.variable,)


@dataclass(frozen=True)
class Catalog:
    version: str
    standards: Mapping[str, Standard]
    layers: Mapping[Layer, Bilingual]
    controls: tuple[Control, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        return cls(
            version=data["version"],
            standards={
                key: Standard(
                    key=key,
                    short=value["short"],
                    title=value["title"],
                    edition=value["edition"],
                    profile=value.get("profile"),
                )
                for key, value in data["standards"].items()
            },
            layers={key: Bilingual.from_dict(value) for key, value in data["layers"].items()},
            controls=tuple(Control.from_dict(item) for item in data["controls"]),
        )

    def get(self, control_id: str) -> Control:
        """The control with this id; KeyError if there is none."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    def in_layer(self, layer: Layer) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if c.layer == layer)

    def count_by_layer(self) -> dict[Layer, int]:
        counts = Counter(c.layer for c in self.controls)
        return {layer: counts.get(layer, 0) for layer in LAYERS}

    def count_by_severity(self) -> dict[Severity, int]:
        counts = Counter(c.severity for c in self.controls)
        return {severity: counts.get(severity, 0) for severity in SEVERITIES}

    def not_in_lab(self) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if not c.lab.applies)

    def variables_by_role(self) -> dict[str, list[str]]:
        """Every role variable the catalog names, per role, in first-use order."""
        out: dict[str, list[str]] = {}
        for control in self.controls:
            names = out.setdefault(control.role, [])
            names.extend(v for v in control.variables() if v not in names)
        return out
