"""opsproof.perf.explain: the psql script, parsing its output, the plan results."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from opsproof.errors import ConfigError, OpsproofError
from opsproof.perf import explain
from opsproof.perf.indexes import DeclaredIndex
from opsproof.results import (
    PlanResult,
    ResultsDocument,
    run_meta_from_environment,
    validate_document,
)

INBOX = DeclaredIndex(
    subsystem="oa",
    name="oa_flow_step_inbox_idx",
    table="oa_flow_step",
    columns=("assignee_id",),
    endpoint="GET /api/oa/inbox?user=7",
    query="SELECT s.id FROM oa_flow_step s WHERE s.assignee_id = 7 AND s.status = 'pending'",
    source="oa.yml",
)
SEARCH = DeclaredIndex(
    subsystem="oa",
    name="oa_document_title_trgm_idx",
    table="oa_document",
    columns=("title gin_trgm_ops",),
    endpoint="GET /api/oa/search?q=CIIE",
    query="SELECT count(*) FROM oa_document d WHERE d.title ILIKE '%CIIE%'",
    using="gin",
    source="oa.yml",
)

# What PostgreSQL 15 prints for a BitmapOr under an aggregate, with an init plan.
SEARCH_PLAN: list[dict[str, Any]] = [
    {
        "Plan": {
            "Node Type": "Aggregate",
            "Shared Hit Blocks": 2610,
            "Shared Read Blocks": 3,
            "Plans": [
                {
                    "Node Type": "Seq Scan",
                    "Parent Relationship": "InitPlan",
                    "Relation Name": "oa_user",
                },
                {
                    "Node Type": "Bitmap Heap Scan",
                    "Relation Name": "oa_document",
                    "Plans": [
                        {
                            "Node Type": "BitmapOr",
                            "Plans": [
                                {
                                    "Node Type": "Bitmap Index Scan",
                                    "Index Name": "oa_document_title_trgm_idx",
                                },
                                {
                                    "Node Type": "Bitmap Index Scan",
                                    "Index Name": "oa_document_doc_no_trgm_idx",
                                },
                            ],
                        }
                    ],
                },
            ],
        },
        "Planning Time": 0.367,
        "Triggers": [],
        "Execution Time": 90.209,
    }
]
SEQ_PLAN: list[dict[str, Any]] = [
    {
        "Plan": {"Node Type": "Seq Scan", "Relation Name": "oa_flow_step", "Shared Hit Blocks": 9},
        "Planning Time": 0.1,
        "Execution Time": 424.3,
    }
]


def psql_output(existing: list[str], plans: list[list[dict[str, Any]]]) -> str:
    """The psql -A -t output of build_script, as the db host prints it."""
    lines = [f"{explain.MARK} existing", json.dumps(existing)]
    for i, plan in enumerate(plans):
        lines += [f"{explain.MARK} text {i}", "Seq Scan on x  (cost=0.00..1.00 rows=1 width=0)"]
        lines += [f"{explain.MARK} json {i}", json.dumps(plan, indent=2)]
    return "\n".join(lines) + "\n"


def test_the_script_is_read_only_and_explains_every_query_twice() -> None:
    script = explain.build_script([INBOX, SEARCH])
    assert script.startswith("BEGIN READ ONLY;")
    assert script.rstrip().endswith("ROLLBACK;")
    for query in (INBOX.query, SEARCH.query):
        assert f"EXPLAIN (ANALYZE, BUFFERS) {query};" in script
        assert f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query};" in script
    # The text form first: it warms the cache for the measured JSON run.
    assert script.index("text 0") < script.index("json 0") < script.index("text 1")


def test_the_remote_command_carries_the_script_intact() -> None:
    script = explain.build_script([SEARCH])
    command = explain.remote_command(script)
    encoded = command.split("echo ", 1)[1].split(" ", 1)[0]
    assert base64.b64decode(encoded).decode() == script
    assert "sudo -n -u postgres psql -X -A -t -q -v ON_ERROR_STOP=1 -d platform" in command


def test_plan_indexes_walks_bitmap_and_init_plans() -> None:
    assert explain.plan_indexes(SEARCH_PLAN[0]["Plan"]) == (
        "oa_document_title_trgm_idx",
        "oa_document_doc_no_trgm_idx",
    )
    assert explain.plan_indexes(SEQ_PLAN[0]["Plan"]) == ()


def test_parse_output_gives_one_plan_result_per_index() -> None:
    output = psql_output(["oa_document_title_trgm_idx"], [SEQ_PLAN, SEARCH_PLAN])
    inbox, search = explain.parse_output(output, [INBOX, SEARCH], host="db01", profile="optimised")
    assert (inbox.index, inbox.index_exists, inbox.index_used) == (INBOX.name, False, False)
    assert inbox.execution_ms == pytest.approx(424.3)
    assert (search.index_exists, search.index_used) == (True, True)
    assert search.shared_hit_blocks == 2610
    assert search.shared_read_blocks == 3
    assert search.planning_ms == pytest.approx(0.367)
    assert search.plan_text.startswith("Seq Scan on x")
    assert search.plan == SEARCH_PLAN[0]


def test_a_missing_plan_names_the_index() -> None:
    output = psql_output([], [SEQ_PLAN])
    with pytest.raises(OpsproofError, match="no EXPLAIN output for oa_document_title_trgm_idx"):
        explain.parse_output(output, [INBOX, SEARCH], host="db01", profile="baseline")
    with pytest.raises(OpsproofError, match="gave no JSON plan"):
        explain.parse_output(
            output.replace(json.dumps(SEQ_PLAN, indent=2), "ERROR"),
            [INBOX],
            host="db01",
            profile="baseline",
        )


def test_plan_results_are_valid_results_documents_and_read_back(tmp_path: Path) -> None:
    output = psql_output(["oa_document_title_trgm_idx"], [SEQ_PLAN, SEARCH_PLAN])
    plans = explain.parse_output(output, [INBOX, SEARCH], host="db01", profile="optimised")
    meta = run_meta_from_environment("explain", inventory="inventories/lab", repo=tmp_path)
    document = ResultsDocument(run=meta, results=tuple(plans))
    data = json.loads(json.dumps(document.to_dict()))
    validate_document(data)
    again = ResultsDocument.from_dict(data)
    assert again.results == tuple(plans)
    assert all(isinstance(r, PlanResult) for r in again.results)


def test_an_unknown_profile_is_refused_before_any_host_is_contacted() -> None:
    with pytest.raises(ConfigError, match="'fast' is not a tuning profile"):
        explain.capture_plans("inventories/lab", "fast")
