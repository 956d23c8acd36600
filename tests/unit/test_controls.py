"""The hardening controls catalog: the real catalog, validation messages and the `controls` CLI."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsproof.cli import main
from opsproof.controls import (
    LAYER_PREFIX,
    LAYERS,
    MLPS_TEST_ITEMS,
    Catalog,
    catalog_errors,
    load_catalog,
    load_schema,
)
from opsproof.errors import ConfigError, ValidationError

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "controls" / "catalog.yml"

CIS_SECTION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
MLPS_CLAUSE = re.compile(r"^8\.1\.4\.([1-9]|1[01])( [a-g]\))?$")
MLPS_TEST = re.compile(r"^L3-CES1-(0[1-9]|[12][0-9]|3[0-5])$")
CONTROL_ID = re.compile(r"^(OS|SSH|FW|NGX|TC|PG|LOG|HLT)-[A-Z]+-[0-9]{3}$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- the real catalog ------------------------------------------------------------------


def test_catalog_has_at_least_120_controls(catalog: Catalog) -> None:
    assert len(catalog.controls) >= 120


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_has_controls(catalog: Catalog, layer: str) -> None:
    assert catalog.in_layer(layer)  # type: ignore[arg-type]
    assert layer in catalog.layers


def test_ids_are_unique_and_well_formed(catalog: Catalog) -> None:
    counts = Counter(c.id for c in catalog.controls)
    assert [cid for cid, n in counts.items() if n > 1] == []
    assert [c.id for c in catalog.controls if not CONTROL_ID.fullmatch(c.id)] == []
    assert [
        c.id for c in catalog.controls if not c.id.startswith(LAYER_PREFIX[c.layer] + "-")
    ] == []


def test_references_are_well_formed(catalog: Catalog) -> None:
    bad = []
    for c in catalog.controls:
        refs = c.references
        bad += [(c.id, "cis", x) for x in refs.cis if not CIS_SECTION.fullmatch(x)]
        bad += [(c.id, "mlps", x) for x in refs.mlps if not MLPS_CLAUSE.fullmatch(x)]
        bad += [(c.id, "mlps", x) for x in refs.mlps if not x.startswith("8.1.4.")]
        bad += [(c.id, "mlps_test", x) for x in refs.mlps_test if not MLPS_TEST.fullmatch(x)]
        if not (refs.cis or refs.mlps or refs.other):
            bad.append((c.id, "references", "none"))
    assert bad == []


def test_test_items_match_the_clauses(catalog: Catalog) -> None:
    """Each L3-CES1 item is derived from a lettered clause the control lists, and vice versa."""
    bad = []
    for c in catalog.controls:
        expected = sorted({MLPS_TEST_ITEMS[m] for m in c.references.mlps if m in MLPS_TEST_ITEMS})
        if sorted(c.references.mlps_test) != expected:
            bad.append((c.id, c.references.mlps_test, expected))
    assert bad == []


def test_controls_not_in_the_lab_say_why(catalog: Catalog) -> None:
    missing = [c.id for c in catalog.controls if not c.lab.applies and not c.lab.reason]
    assert missing == []
    assert catalog.not_in_lab(), "the lab containers cannot apply every control"


def test_variables_are_prefixed_with_their_role(catalog: Catalog) -> None:
    bad = [
        (c.id, v) for c in catalog.controls for v in c.variables() if not v.startswith(c.role + "_")
    ]
    assert bad == []


def test_every_control_is_documented(catalog: Catalog) -> None:
    for c in catalog.controls:
        for text in (c.title.zh, c.title.en, c.rationale, c.remedy, c.check.reads):
            assert text.strip(), c.id


def test_existing_role_switches_are_reused(catalog: Catalog) -> None:
    """Behaviour the existing roles already provide is catalogued with their own switches."""
    defaults: set[str] = set()
    for role in ("baseline", "postgresql", "tomcat", "nginx"):
        data = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text("utf-8"))
        defaults |= set(data)
    existing_roles = {"baseline", "postgresql", "tomcat", "nginx"}
    switches = {c.variable for c in catalog.controls if c.role in existing_roles}
    existing = switches & defaults
    assert {
        "postgresql_hba_enabled",
        "postgresql_backup_enabled",
        "tomcat_server_enabled",
        "nginx_config_enabled",
        "baseline_unattended_enabled",
    } <= existing


def test_catalog_counts_cover_every_layer_and_severity(catalog: Catalog) -> None:
    assert sum(catalog.count_by_layer().values()) == len(catalog.controls)
    assert sum(catalog.count_by_severity().values()) == len(catalog.controls)


def test_references_labels_name_the_standard(catalog: Catalog) -> None:
    labels = catalog.get("SSH-AUTH-010").references.labels(catalog.standards)
    assert "CIS Debian 12 5.1.16" in labels
    assert "GB/T 22239-2019 8.1.4.1 b)" in labels
    assert "GB/T 28448-2019 L3-CES1-02" in labels


def test_schema_is_shipped_in_the_package() -> None:
    assert load_schema()["$id"] == "urn:opsproof:schema:controls-catalog:1.0"


# --- bad catalogs ----------------------------------------------------------------------


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _load_error(tmp_path: Path, data: object) -> str:
    with pytest.raises(ValidationError) as exc:
        load_catalog(_write(tmp_path, data))
    return str(exc.value)


def test_duplicate_id_names_both_controls(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][1]["id"] = data["controls"][0]["id"]
    first = data["controls"][0]["id"]
    message = _load_error(tmp_path, data)
    assert f"controls[1] ({first}).id: duplicate id, already used by controls[0]" in message


def test_missing_title_zh_names_control_and_field(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    del data["controls"][2]["title"]["zh"]
    cid = data["controls"][2]["id"]
    message = _load_error(tmp_path, data)
    assert f"controls[2] ({cid}).title.zh: required field is missing" in message


def test_wrong_severity_names_control_and_field(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][3]["severity"] = "urgent"
    cid = data["controls"][3]["id"]
    message = _load_error(tmp_path, data)
    assert f"controls[3] ({cid}).severity: 'urgent' is not one of" in message


def test_not_applicable_without_reason_names_control_and_field(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["lab"] = {"applies": False}
    cid = data["controls"][0]["id"]
    message = _load_error(tmp_path, data)
    assert f"controls[0] ({cid}).lab.reason: required when lab.applies is false" in message


def test_prefix_must_match_layer(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["layer"] = "ssh"
    cid = data["controls"][0]["id"]
    assert catalog_errors(data) == [
        f"controls[0] ({cid}).id: prefix 'OS' does not match layer 'ssh' "
        "(its ids start with 'SSH-')"
    ]


def test_variable_must_carry_the_role_prefix(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["variable"] = "sysctl_enabled"
    cid = data["controls"][0]["id"]
    assert catalog_errors(data) == [
        f"controls[0] ({cid}).variable: 'sysctl_enabled' is not prefixed "
        "with its role 'os_hardening_'"
    ]


def test_test_item_must_match_a_listed_clause(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    ctl = data["controls"][0]
    ctl["references"]["mlps_test"] = ["L3-CES1-16", "L3-CES1-02"]
    errors = catalog_errors(data)
    assert errors == [
        f"controls[0] ({ctl['id']}).references.mlps_test[0]: 'L3-CES1-16' is not a GB/T 28448-2019 "
        "level-3 host test item (the numbering skips L3-CES1-16)",
        f"controls[0] ({ctl['id']}).references.mlps_test[1]: L3-CES1-02 tests clause '8.1.4.1 b)', "
        "which references.mlps does not list",
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("cis", ["5.1.x"], "references.cis[0]: '5.1.x' does not match"),
        ("mlps", ["8.1.3.1 a)"], "references.mlps[0]: '8.1.3.1 a)' does not match"),
        ("mlps_test", ["L3-CES1-36"], "references.mlps_test[0]: 'L3-CES1-36' does not match"),
    ],
)
def test_reference_formats(
    raw: dict[str, Any], field: str, value: list[str], expected: str
) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["references"][field] = value
    assert any(expected in e for e in catalog_errors(data))


def test_unknown_field_suggests_the_closest(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["remedie"] = data["controls"][0].pop("remedy")
    cid = data["controls"][0]["id"]
    errors = catalog_errors(data)
    assert f"controls[0] ({cid}).remedie: unknown field; did you mean 'remedy'?" in errors
    assert f"controls[0] ({cid}).remedy: required field is missing" in errors


def test_bad_id_format(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["id"] = "OS-SYSCTL-1"
    assert any(
        "controls[0] (OS-SYSCTL-1).id: 'OS-SYSCTL-1' does not match" in e
        for e in catalog_errors(data)
    )


def test_duplicate_yaml_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text("version: '1.0'\nversion: '1.1'\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="duplicate key 'version'"):
        load_catalog(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="controls catalog not found"):
        load_catalog(tmp_path / "nope.yml")


def test_many_errors_are_summarised(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    for ctl in data["controls"][:7]:
        ctl["severity"] = "urgent"
    assert "; and 2 more errors" in _load_error(tmp_path, data)


# --- command line ----------------------------------------------------------------------


def test_cli_check_prints_counts(capsys: pytest.CaptureFixture[str], catalog: Catalog) -> None:
    assert main(["controls", "--catalog", str(CATALOG), "check"]) == 0
    out = capsys.readouterr().out
    assert f"{len(catalog.controls)} controls" in out
    assert f"os {catalog.count_by_layer()['os']}" in out
    assert f"critical {catalog.count_by_severity()['critical']}" in out


def test_cli_list_json_filters_by_layer(
    capsys: pytest.CaptureFixture[str], catalog: Catalog
) -> None:
    assert (
        main(["controls", "--catalog", str(CATALOG), "list", "--layer", "ssh", "--format", "json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [c.id for c in catalog.in_layer("ssh")]
    assert {r["layer"] for r in rows} == {"ssh"}


def test_cli_list_table_marks_controls_not_in_lab(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["controls", "--catalog", str(CATALOG), "list", "--layer", "os"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^OS-AUDIT-001 .*\[not in lab\]$", out, re.MULTILINE)
    assert re.search(r"^OS-SYSCTL-001 .*IP forwarding disabled$", out, re.MULTILINE)


def test_cli_check_fails_on_a_bad_catalog(
    tmp_path: Path, raw: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(raw)
    data["controls"][0]["severity"] = "urgent"
    path = _write(tmp_path, data)
    with pytest.raises(SystemExit) as exc:
        main(["controls", "--catalog", str(path), "check"])
    assert exc.value.code == ValidationError.exit_code
    assert "severity: 'urgent' is not one of" in capsys.readouterr().err


def test_every_control_has_a_runnable_check() -> None:
    """The inspection checks every control: a command and a pass rule each, rules valid."""
    catalog = load_catalog(CATALOG)
    missing = [c.id for c in catalog.controls if not c.check.cmd or not c.check.pass_]
    assert missing == [], f"controls without a check command: {missing}"
    for c in catalog.controls:
        assert c.check.pass_ is not None
        if "regex" in c.check.pass_:
            re.compile(str(c.check.pass_["regex"]))


def test_no_check_command_breaks_a_line_on_an_escaped_backslash() -> None:
    """`\\\\` before a newline is a literal backslash argument, not a continuation: the next line
    then runs as a command of its own (NGX/TC/PG-RESTART-001 read an empty pipe that way)."""
    catalog = load_catalog(CATALOG)
    broken = [c.id for c in catalog.controls if re.search(r"(?<!\\)\\\\\n", c.check.cmd)]
    assert broken == []


# --- Chinese remedies (issue 13 §4) ------------------------------------------------------


def test_a_control_without_a_chinese_remedy_is_refused(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    del data["controls"][3]["remedy_zh"]
    cid = data["controls"][3]["id"]
    assert f"controls[3] ({cid}).remedy_zh: required field is missing" in catalog_errors(data)
    data["controls"][3]["remedy_zh"] = " "
    assert any(e.startswith(f"controls[3] ({cid}).remedy_zh") for e in catalog_errors(data))


def test_every_chinese_remedy_is_chinese_and_keeps_the_commands(catalog: Catalog) -> None:
    """Written in Chinese (not the English copied), with every `command` of the English one."""
    for c in catalog.controls:
        assert re.search(r"[\u4e00-\u9fff]", c.remedy_zh), c.id
        commands = set(re.findall(r"`([^`]+)`", c.remedy))
        assert commands <= set(re.findall(r"`([^`]+)`", c.remedy_zh)), c.id
