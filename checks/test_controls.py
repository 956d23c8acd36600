"""One test per (host, control): the control's check command's output against its rule."""

from __future__ import annotations

import json
import warnings

import pytest

from opsproof.results.model import CheckResult


def test_control(inspect_control: CheckResult) -> None:
    r = inspect_control
    if r.status == "not-applicable":
        pytest.skip(str(r.actual))
    if r.status == "waived" and r.waiver is not None:
        pytest.skip(f"waived until {r.waiver.expires}: {r.waiver.reason} ({r.waiver.approved_by})")
    if r.status == "warn":
        # Past the warning threshold: listed in the record, does not fail the inspection.
        warnings.warn(
            f"{r.control_id} on {r.host}: {r.actual} (threshold {r.expected})", stacklevel=1
        )
        return
    if r.status != "pass":
        pytest.fail(
            f"{r.control_id} [{r.severity}] {r.title} on {r.host}: {r.status}; "
            f"expected {json.dumps(r.expected, ensure_ascii=False)}, found {r.actual!r}. "
            f"Remedy: {r.remedy}",
            pytrace=False,
        )
