"""`make availability` on the lab: each subsystem's availability this month from the blackbox
probes in Prometheus on the ops host, against the SLO, in a results file that validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsproof.monitoring.availability import SUBSYSTEMS
from opsproof.results import AvailabilityResult, load_results

from .conftest import Run, sh

pytestmark = pytest.mark.e2e


def test_availability_per_subsystem_from_prometheus(provisioned: Run, tmp_path: Path) -> None:
    out = tmp_path / "availability.json"
    run = sh(".venv/bin/opsproof", "availability", "--slo", "0.999", "--out", str(out), timeout=300)
    assert run.rc == 0, run.out[-3000:]
    doc = load_results(out)  # validates against the results schema
    assert doc.run.kind == "availability"
    rows = {r.subsystem: r for r in doc.results if isinstance(r, AvailabilityResult)}
    assert set(rows) == set(SUBSYSTEMS)
    for name, r in rows.items():
        assert r.availability is not None, f"{name}: {r.finding}"
        assert 0 <= r.availability <= 1
        assert r.samples > 0
        assert r.slo == 0.999
        assert r.budget_left is not None
        assert r.within_slo == (r.availability >= 0.999)
