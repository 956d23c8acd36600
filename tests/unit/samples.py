"""Result records more than one unit test module builds on (a variant: dataclasses.replace)."""

from __future__ import annotations

from opsproof.results import ExperimentResult

EXPERIMENT = ExperimentResult(
    name="db-primary-kill",
    fault="kill -9 postgres primary",
    hypothesis_met_before=True,
    hypothesis_met_after=True,
    time_to_detect_s=4.2,
    time_to_recover_s=None,
    requests_during_fault=900,
    error_rate=0.03,
    writes_acknowledged=450,
    writes_failed=12,
    writes_lost=0,
    rollback_ok=True,
    journal="reports/chaos/db-primary-kill.journal.json",
)
