"""The results schema, its dataclasses, validation messages and the `results` CLI."""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsproof.errors import ConfigError, OpsproofError, ValidationError, fatal
from opsproof.results import (
    CheckResult,
    Measurement,
    ResultsDocument,
    RunMeta,
    StepResult,
    Waiver,
    load_results,
    load_schema,
    run_meta_from_environment,
    schema_errors,
    validate_document,
    write_results,
)
from opsproof.results import cli as results_cli

from .samples import EXPERIMENT

T0 = dt.datetime(2025, 3, 1, 8, 0, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 3, 1, 8, 5, 30, tzinfo=dt.UTC)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def run_meta(kind: Any = "inspection") -> RunMeta:
    return RunMeta(
        id="inspection-20250301T080000Z-abcd1234",
        kind=kind,
        started_at=T0,
        finished_at=T1,
        operator="alice",
        inventory="inventories/lab",
        hosts=("web1", "db1"),
        tool_versions={"ansible-core": "2.19.4", "python": "3.11.2"},
        role_versions={"nginx": "1.2.0"},
        git_commit=COMMIT,
        git_dirty=True,
        conditions={"profile": "steady", "machine": {"cpus": 8}},
    )


CHECK = CheckResult(
    host="web1",
    control_id="OS-SSH-001",
    title="SSH root login disabled",
    title_zh="禁止 SSH root 登录",
    layer="os",
    severity="high",
    expected="no",
    actual="no",
    status="pass",
    timestamp=T0,
    references=("GB/T 22239-2019 8.1.4.1",),
    remedy="set PermitRootLogin no",
)
WAIVED = CheckResult(
    host="db1",
    control_id="DB-PG-004",
    title="PostgreSQL ssl on",
    layer="database",
    severity="medium",
    expected=True,
    actual=False,
    status="waived",
    timestamp=T0,
    waiver=Waiver(
        reason="lab only", approved_by="bob", expires=dt.date(2025, 6, 30), ticket="OPS-7"
    ),
)
MEASUREMENT = Measurement(
    subsystem="portal",
    endpoint="GET /news",
    metric="p95_ms",
    value=182.5,
    unit="ms",
    profile="steady",
    repetition=1,
    samples=12000,
)
STEP = StepResult(
    play="site.yml: web", host="web1", ok=40, changed=3, failed=0, unreachable=0, duration_s=61.2
)
ALL_RESULTS = (CHECK, WAIVED, MEASUREMENT, EXPERIMENT, STEP)


def document(*results: Any) -> ResultsDocument:
    return ResultsDocument(run=run_meta(), results=tuple(results))


def valid_dict() -> dict[str, Any]:
    return copy.deepcopy(document(*ALL_RESULTS).to_dict())


def error_message(data: Any) -> str:
    with pytest.raises(ValidationError) as info:
        validate_document(data, source="bad.json")
    return str(info.value)


# --- schema and dataclasses ------------------------------------------------------------


def test_schema_is_valid_draft_2020_12_with_version_const() -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    assert schema["properties"]["schema_version"]["const"] == "1.0"


@pytest.mark.parametrize("result", ALL_RESULTS, ids=lambda r: f"{r.TYPE}-{id(r) % 1000}")
def test_each_result_type_round_trips_and_validates(result: Any) -> None:
    doc = document(result)
    data = doc.to_dict()
    validate_document(data)
    # Through real JSON text, as a file would carry it.
    again = ResultsDocument.from_dict(json.loads(json.dumps(data)))
    assert again == doc
    assert again.to_dict() == data


def test_full_document_round_trips_through_file(tmp_path: Path) -> None:
    doc = document(*ALL_RESULTS)
    path = write_results(doc, tmp_path / "sub" / "run.json")
    assert load_results(path) == doc
    text = path.read_text(encoding="utf-8")
    assert "禁止 SSH root 登录" in text  # written as UTF-8, not \\u escapes
    assert json.loads(text)["run"]["started_at"] == "2025-03-01T08:00:00Z"
    assert not [p for p in path.parent.iterdir() if p.name != "run.json"]  # no temp left
    assert path.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_optional_fields_may_be_absent_and_get_defaults() -> None:
    data = valid_dict()
    check = data["results"][0]
    for key in ("title_zh", "references", "remedy", "waiver"):
        del check[key]
    step = data["results"][4]
    for key in ("skipped", "rescued", "ignored"):
        del step[key]
    validate_document(data)
    doc = ResultsDocument.from_dict(data)
    assert doc.results[0] == CheckResult(
        **{**CHECK.__dict__, "title_zh": None, "references": (), "remedy": None}
    )
    assert doc.results[4] == STEP


def test_run_meta_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSPROOF_OPERATOR", "carol")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    meta = run_meta_from_environment(
        "loadtest", inventory="lab", hosts=["web1"], conditions={"users": 50}, repo=tmp_path
    )
    assert meta.operator == "carol"
    assert meta.git_commit == head
    assert meta.git_dirty is False
    assert meta.tool_versions["jsonschema"] == "4.26.0"
    assert "python" in meta.tool_versions
    assert meta.conditions["users"] == 50
    assert "cpus" in meta.conditions["machine"]  # type: ignore[operator]
    assert meta.id.startswith("loadtest-")

    (tmp_path / "f").write_text("changed")
    dirty = run_meta_from_environment("loadtest", repo=tmp_path)
    assert dirty.git_dirty is True

    outside = run_meta_from_environment("chaos", repo=Path("/"))
    assert outside.git_commit is None
    assert outside.git_dirty is False
    validate_document(ResultsDocument(run=outside.finished()).to_dict())


def test_operator_falls_back_to_sudo_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSPROOF_OPERATOR", raising=False)
    monkeypatch.setenv("SUDO_USER", "dave")
    monkeypatch.setenv("USER", "root")
    assert run_meta_from_environment("provision", repo=Path("/")).operator == "dave"


# --- messages name the offending field -------------------------------------------------


def test_wrong_enum_names_path_and_allowed_values() -> None:
    data = valid_dict()
    data["results"][0]["status"] = "passed"
    message = error_message(data)
    assert message.startswith("bad.json: results[0].status: 'passed' is not one of [")
    assert "'pass'" in message
    assert "docs/results-schema.md" in message


def test_missing_required_field_is_named() -> None:
    data = valid_dict()
    del data["results"][2]["value"]
    del data["run"]["operator"]
    message = error_message(data)
    assert "run.operator: required field is missing" in message
    assert "results[2].value: required field is missing" in message
    assert message.index("run.operator") < message.index("results[2]")  # document order


def test_extra_field_is_named_with_suggestion() -> None:
    data = valid_dict()
    data["results"][4]["chnaged"] = 1
    data["run"]["operater"] = "x"
    data["extra"] = True
    message = error_message(data)
    assert "results[4].chnaged: unknown field; did you mean 'changed'?" in message
    assert "run.operater: unknown field; did you mean 'operator'?" in message
    assert "extra: unknown field" in message


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-01",
        "2025-03-01T08:00:00",  # no offset
        "2025-03-01 08:00:00Z",  # space instead of T
        "2025-02-30T08:00:00Z",
        "2025-03-01T25:00:00Z",
        "yesterday",
    ],
)
def test_bad_date_time_is_rejected(value: str) -> None:
    data = valid_dict()
    data["run"]["started_at"] = value
    data["results"][0]["timestamp"] = value
    message = error_message(data)
    assert f"run.started_at: {value!r} is not a 'date-time'" in message
    assert f"results[0].timestamp: {value!r} is not a 'date-time'" in message


@pytest.mark.parametrize(
    "value", ["2025-03-01T08:00:00Z", "2025-03-01t08:00:00.123+08:00", "2016-12-31T23:59:60Z"]
)
def test_good_date_times_are_accepted(value: str) -> None:
    data = valid_dict()
    data["results"][0]["timestamp"] = value
    validate_document(data)
    ResultsDocument.from_dict(data)


def test_unknown_result_type_and_missing_type() -> None:
    data = valid_dict()
    data["results"][1]["type"] = "checks"
    del data["results"][2]["type"]
    message = error_message(data)
    assert "results[1].type: 'checks' is not one of ['check', 'measurement'" in message
    assert "results[2].type: required field is missing" in message


def test_waived_check_needs_a_waiver() -> None:
    data = valid_dict()
    data["results"][1]["waiver"] = None
    assert "results[1].waiver: None is not of type 'object'" in error_message(data)
    del data["results"][1]["waiver"]
    assert "results[1].waiver: required field is missing" in error_message(data)


def test_type_and_range_errors() -> None:
    data = valid_dict()
    data["results"][2]["value"] = "fast"
    data["results"][3]["error_rate"] = 1.5
    data["run"]["git_commit"] = "abc"
    message = error_message(data)
    assert "results[2].value: 'fast' is not of type 'number'" in message
    assert "results[3].error_rate: 1.5 is greater than the maximum of 1" in message
    assert "run.git_commit: 'abc' does not match" in message


def test_other_schema_version_is_reported_alone() -> None:
    data = valid_dict()
    data["schema_version"] = "2.0"
    data["results"][0]["status"] = "passed"
    assert schema_errors(data) == [
        "schema_version: '2.0' is not supported; this opsproof reads schema_version '1.0'"
    ]


def test_finished_before_started_is_rejected() -> None:
    data = valid_dict()
    data["run"]["finished_at"] = "2025-03-01T07:59:59Z"
    assert "run.finished_at: '2025-03-01T07:59:59Z' is earlier than run.started_at" in (
        error_message(data)
    )
    # Same instant in another offset is not earlier.
    data["run"]["finished_at"] = "2025-03-01T16:00:00+08:00"
    validate_document(data)


def test_many_errors_are_capped_in_one_line() -> None:
    data = valid_dict()
    data["results"] = [{"type": "step"}] * 3  # 7 missing fields each
    message = error_message(data)
    assert "\n" not in message
    assert message.count("required field is missing") == 5
    assert "and 16 more errors" in message


def test_non_object_document() -> None:
    assert "(document): [] is not of type 'object'" in error_message([])


def test_top_level_errors_in_document_order() -> None:
    assert schema_errors({"schema_version": "1.0"}) == [
        "run: required field is missing",
        "results: required field is missing",
    ]


def test_examples_in_docs_are_valid() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "results-schema.md"
    blocks = re.findall(r"```json\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 2
    example = json.loads(blocks[0])
    validate_document(example, source="docs example")
    entries = json.loads(blocks[1])
    assert {e["type"] for e in entries} == {"measurement", "experiment", "step"}
    validate_document({**example, "results": entries}, source="docs entries")
    ResultsDocument.from_dict({**example, "results": example["results"] + entries})


# --- files -----------------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match=r"nope\.json: results file not found"):
        load_results(missing)


def test_bad_json_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": "1.0",\n  "run": }', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"broken\.json: not valid JSON: .* line 2 column"):
        load_results(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ],
)
def test_json_that_python_would_accept_is_rejected(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "lax.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError, match=expected):
        load_results(path)


def test_invalid_file_names_file_and_field(tmp_path: Path) -> None:
    data = valid_dict()
    data["results"][4]["failed"] = -1
    path = tmp_path / "neg.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_results(path)
    assert str(info.value).startswith(f"{path}: results[4].failed: -1 is less than the minimum")


def test_write_refuses_invalid_document_and_keeps_old_file(tmp_path: Path) -> None:
    path = write_results(document(MEASUREMENT), tmp_path / "m.json")
    before = path.read_text(encoding="utf-8")
    bad = Measurement(**{**MEASUREMENT.__dict__, "value": float("nan")})
    with pytest.raises(ValidationError, match=r"m\.json: results\[0\]\.value: nan is not a JSON"):
        write_results(document(bad), path)
    naive = Measurement(**{**MEASUREMENT.__dict__, "repetition": 0})
    with pytest.raises(ValidationError, match=r"results\[0\]\.repetition: 0 is less than"):
        write_results(document(naive), path)
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_naive_timestamp_fails_validation(tmp_path: Path) -> None:
    check = CheckResult(**{**CHECK.__dict__, "timestamp": dt.datetime(2025, 3, 1, 8)})
    with pytest.raises(ValidationError, match=r"results\[0\]\.timestamp: .* is not a 'date-time'"):
        write_results(document(check), tmp_path / "c.json")


# --- CLI -------------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    """What opsproof.cli.main does, with only the results group registered."""
    parser = argparse.ArgumentParser(prog="opsproof")
    results_cli.register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
    except OpsproofError as err:
        fatal(err)
    return rc


def test_cli_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_results(document(CHECK), tmp_path / "a.json")
    b = write_results(document(STEP), tmp_path / "b.json")
    assert run_cli(["results", "validate", str(a), str(b)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok {a}", f"ok {b}"]


def test_cli_validate_invalid_exits_5_naming_all_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_results(document(CHECK), tmp_path / "good.json")
    data = valid_dict()
    data["results"][0]["severity"] = "urgent"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        run_cli(["results", "validate", str(bad), str(good), str(broken)])
    assert info.value.code == ValidationError.exit_code == 5
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"ok {good}"]
    assert err.count("\n") == 1
    assert err.startswith(f"opsproof: error: {bad}: results[0].severity: 'urgent' is not one of")
    assert f"(also invalid: {broken})" in err


def test_cli_validate_missing_file_exits_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(["results", "validate", str(tmp_path / "none.json")])
    assert info.value.code == ConfigError.exit_code == 2


def test_cli_needs_a_file() -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(["results", "validate"])
    assert info.value.code == 2


def test_full_cli_has_results_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("opsproof.lab.cli")
    from opsproof.cli import main

    path = write_results(document(EXPERIMENT), tmp_path / "x.json")
    assert main(["results", "validate", str(path)]) == 0
    assert capsys.readouterr().out == f"ok {path}\n"
