"""OSCAL assessment results (and the assessment plan they import), built with trestle's models.

One OSCAL result per inspection run; per control and host a finding whose objective status is
satisfied (pass, not applicable, waived with a valid waiver) or not satisfied (fail, error;
warn is satisfied with the reason `warn`); per run one observation whose relevant evidence
links the run's files in the pack with their SHA-256. UUIDs are derived from the run ids
(uuid5), times from the runs: the same sources give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from trestle.oscal import OSCAL_VERSION, common
from trestle.oscal import assessment_plan as ap
from trestle.oscal import assessment_results as ar

from opsproof.evidence.collect import SourceRun
from opsproof.results import CheckResult

NS = uuid.UUID("6b0c1c53-4f1e-5a0e-9a57-6f70737072f0")  # opsproof's uuid5 namespace
PLAN_FILE = "oscal/assessment-plan.json"
RESULTS_FILE = "oscal/assessment-results.json"
SATISFIED = {"pass", "warn", "waived", "not-applicable"}


M = TypeVar("M", bound=BaseModel)


def make(model: type[M], **fields: Any) -> M:
    """A trestle model from Python field names (trestle's classes take hyphenated aliases too)."""
    return model(**fields)


def uid(*parts: str) -> str:
    return str(uuid.uuid5(NS, "/".join(parts)))


def _metadata(title: str, when: dt.datetime, version: str) -> common.Metadata:
    return make(
        common.Metadata,
        title=title,
        last_modified=when,
        version=version,
        oscal_version=OSCAL_VERSION,
    )


def plan(period: str, as_of: dt.datetime, controls: Sequence[str]) -> ap.AssessmentPlan:
    """The plan the results import: the monthly inspection of the catalogued controls."""
    return make(
        ap.AssessmentPlan,
        uuid=uid("plan", period),
        metadata=_metadata(f"opsproof monthly inspection plan {period}", as_of, period),
        import_ssp=make(
            common.ImportSsp,
            href="#opsproof-platform-ssp",
            remarks=(
                "The platform's security plan is controls/catalog.yml in the opsproof repository."
            ),
        ),
        reviewed_controls=_reviewed(controls),
    )


def _reviewed(controls: Sequence[str]) -> common.ReviewedControls:
    return make(
        common.ReviewedControls,
        control_selections=[
            make(
                common.ControlSelections,
                include_controls=[
                    make(common.SelectControlById, control_id=c.lower())
                    for c in sorted(set(controls))
                ],
            )
        ]
        if controls
        else [make(common.ControlSelectionsAll, include_all=make(common.IncludeAll))],
    )


def results(
    period: str,
    as_of: dt.datetime,
    inspections: Sequence[SourceRun],
    hashes: Mapping[str, str],
) -> ar.AssessmentResults:
    out = []
    for run in inspections:
        checks = [r for r in run.doc.results if isinstance(r, CheckResult)]
        obs_uuid = uid("observation", run.doc.run.id)
        evidence = [
            make(
                common.RelevantEvidence,
                href=path,
                description=f"sha256:{hashes[path]}",
                props=[make(common.Property, name="sha256", value=hashes[path], ns=_ns())],
            )
            for path in sorted(hashes)
            if path.startswith(run.dest + "/")
        ]
        observation = make(
            common.Observation,
            uuid=obs_uuid,
            title=f"Inspection run {run.doc.run.id}",
            description=(
                f"{len(checks)} checks on {', '.join(run.doc.run.hosts)} by "
                f"{run.doc.run.operator}, opsproof commit {run.doc.run.git_commit or 'unknown'}"
            ),
            methods=["TEST"],
            collected=run.doc.run.started_at,
            relevant_evidence=evidence or None,
        )
        findings = [
            make(
                common.Finding,
                uuid=uid("finding", run.doc.run.id, c.host, c.control_id),
                title=f"{c.control_id} on {c.host}",
                description=c.title,
                props=[
                    make(common.Property, name="host", value=c.host, ns=_ns()),
                    make(common.Property, name="opsproof-status", value=c.status, ns=_ns()),
                    make(common.Property, name="severity", value=c.severity, ns=_ns()),
                ],
                target=make(
                    common.FindingTarget,
                    type="objective-id",
                    target_id=c.control_id.lower(),
                    status=make(
                        common.ObjectiveStatus,
                        state="satisfied" if c.status in SATISFIED else "not-satisfied",
                        reason=c.status if c.status != "pass" else None,
                    ),
                ),
                related_observations=[make(common.RelatedObservation, observation_uuid=obs_uuid)],
            )
            for c in sorted(checks, key=lambda c: (c.host, c.control_id))
        ]
        out.append(
            make(
                ar.Result,
                uuid=uid("result", run.doc.run.id),
                title=f"Monthly inspection {run.doc.run.id}",
                description="opsproof monthly inspection (巡检) of every catalogued control",
                start=run.doc.run.started_at,
                end=run.doc.run.finished_at,
                reviewed_controls=_reviewed(sorted({c.control_id for c in checks})),
                observations=[observation],
                findings=findings or None,
            )
        )
    return make(
        ar.AssessmentResults,
        uuid=uid("results", period),
        metadata=_metadata(f"opsproof assessment results {period}", as_of, period),
        import_ap=make(ar.ImportAp, href=f"assessment-plan.json#{uid('plan', period)}"),
        results=out
        or [
            make(
                ar.Result,
                uuid=uid("result", period, "none"),
                title="No inspection in the period",
                description="no evidence: no inspection ran in the period",
                start=as_of,
                reviewed_controls=_reviewed([]),
            )
        ],
    )


def _ns() -> str:
    return "urn:opsproof"


def write(model: ar.AssessmentResults | ap.AssessmentPlan, path: Path) -> None:
    """`{"assessment-results": …}` (or plan, as trestle wraps it) with sorted keys: stable bytes."""
    data = json.loads(model.oscal_serialize_json(pretty=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
