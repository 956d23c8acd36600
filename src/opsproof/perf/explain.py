"""EXPLAIN (ANALYZE, BUFFERS) of the query each declared index serves, on the database host.

One SSH round trip: psql as postgres on the db host runs, inside one READ ONLY transaction
that is rolled back, the text form (which also warms the cache) and then the JSON form of
each query; the JSON form gives the timings, buffers and the indexes the plan reads.
`capture_plans` is what `opsproof explain` and the performance comparison call.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from opsproof import placement, ssh_targets
from opsproof.errors import ConfigError, OpsproofError, PreconditionError
from opsproof.perf.indexes import DEFAULT_INDEXES_DIR, DeclaredIndex, load_indexes
from opsproof.results import JSONValue, PlanResult, utc_now

PROFILES = ("baseline", "optimised")
DB_GROUP = placement.group_of("postgresql")
DATABASE = "platform"
MARK = "@@opsproof-explain@@"
# Plan nodes that read an index by name.
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def build_script(indexes: Sequence[DeclaredIndex], *, statement_timeout_s: int = 300) -> str:
    """The psql script: existing index names, then text and JSON EXPLAIN of every query."""
    lines = [
        "BEGIN READ ONLY;",
        f"SET LOCAL statement_timeout = '{statement_timeout_s}s';",
        f"\\echo {MARK} existing",
        "SELECT coalesce(json_agg(indexname ORDER BY indexname), '[]') FROM pg_indexes"
        " WHERE schemaname = 'public';",
    ]
    for i, index in enumerate(indexes):
        lines += [
            f"\\echo {MARK} text {i}",
            f"EXPLAIN (ANALYZE, BUFFERS) {index.query};",
            f"\\echo {MARK} json {i}",
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {index.query};",
        ]
    lines.append("ROLLBACK;")
    return "\n".join(lines) + "\n"


def remote_command(script: str, database: str = DATABASE) -> str:
    """Shell command on the db host: the script through psql as postgres (no ~/.psqlrc)."""
    encoded = base64.b64encode(script.encode("utf-8")).decode("ascii")
    psql = f"psql -X -A -t -q -v ON_ERROR_STOP=1 -d {shlex.quote(database)}"
    return f"cd /tmp && echo {encoded} | base64 -d | sudo -n -u postgres {psql}"


def split_output(output: str) -> dict[str, str]:
    """Sections of the psql output keyed by their marker ('existing', 'text 0', 'json 0', …)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARK):
            current = sections.setdefault(line[len(MARK) :].strip(), [])
        elif current is not None:
            current.append(line)
    return {key: "\n".join(value).strip() for key, value in sections.items()}


def walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """A plan node and every node below it (sub-plans and init-plans included)."""
    yield node
    for child in node.get("Plans", ()):
        yield from walk(child)


def plan_indexes(plan: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the indexes a plan reads, in plan order, each once."""
    names: list[str] = []
    for node in walk(plan):
        name = node.get("Index Name")
        if node.get("Node Type") in INDEX_NODES and isinstance(name, str) and name not in names:
            names.append(name)
    return tuple(names)


def plan_result(
    index: DeclaredIndex,
    *,
    host: str,
    profile: str,
    existing: Sequence[str],
    text: str,
    explain_json: str,
) -> PlanResult:
    """One PlanResult from the two EXPLAIN outputs of one query."""
    try:
        document = json.loads(explain_json)
        top = document[0]
        plan = top["Plan"]
    except (ValueError, LookupError, TypeError):
        raise OpsproofError(
            f"EXPLAIN of {index.name} ({index.source}) gave no JSON plan: {explain_json[:200]!r}",
            fix="run the query by hand on the db host with psql and correct it",
        ) from None
    used = plan_indexes(plan)
    return PlanResult(
        host=host,
        subsystem=index.subsystem,
        endpoint=index.endpoint,
        index=index.name,
        table=index.table,
        profile=profile,
        query=index.query,
        plan_text=text,
        plan=cast(JSONValue, top),
        planning_ms=float(top.get("Planning Time", 0.0)),
        execution_ms=float(top.get("Execution Time", 0.0)),
        index_exists=index.name in existing,
        index_used=index.name in used,
        indexes_used=used,
        shared_hit_blocks=int(plan.get("Shared Hit Blocks", 0)),
        shared_read_blocks=int(plan.get("Shared Read Blocks", 0)),
        timestamp=utc_now(),
    )


def parse_output(
    output: str, indexes: Sequence[DeclaredIndex], *, host: str, profile: str
) -> list[PlanResult]:
    sections = split_output(output)
    try:
        existing = json.loads(sections["existing"])
    except (KeyError, ValueError):
        raise OpsproofError(
            f"{host}: psql gave no list of indexes: {output[:300]!r}",
            fix="check that the platform database exists on the db host",
        ) from None
    results = []
    for i, index in enumerate(indexes):
        if f"json {i}" not in sections:
            raise OpsproofError(
                f"{host}: no EXPLAIN output for {index.name} ({index.source})",
                fix="run the query by hand on the db host with psql and correct it",
            )
        results.append(
            plan_result(
                index,
                host=host,
                profile=profile,
                existing=existing,
                text=sections.get(f"text {i}", ""),
                explain_json=sections[f"json {i}"],
            )
        )
    return results


def db_target(inventory: str | Path) -> ssh_targets.SshTarget:
    targets = ssh_targets.resolve(inventory, DB_GROUP)
    if len(targets) != 1:
        raise ConfigError(
            f"{inventory}: group {DB_GROUP} has {len(targets)} hosts; explain needs the one"
            " that holds the platform database",
            fix="limit the inventory's db group to one host",
        )
    return targets[0]


def capture_plans(
    inventory: str,
    profile: str,
    *,
    indexes_dir: Path = DEFAULT_INDEXES_DIR,
    timeout_s: float = 900,
) -> list[PlanResult]:
    """EXPLAIN (ANALYZE, BUFFERS) of every declared index's query, labelled with `profile`.

    `profile` names the profile the database is in (make tune PROFILE=… switches it); each
    result also says whether its index existed, so a wrong label shows.
    """
    if profile not in PROFILES:
        raise ConfigError(
            f"profile {profile!r} is not a tuning profile", fix=f"use one of {', '.join(PROFILES)}"
        )
    indexes = load_indexes(indexes_dir)
    target = db_target(inventory)
    done = ssh_targets.run(target, remote_command(build_script(indexes)), timeout=timeout_s)
    if done.rc != 0:
        raise PreconditionError(
            f"{target.name}: psql failed (exit {done.rc}): {done.stderr.strip()[-500:]}",
            fix="is PostgreSQL up and the admin user allowed `sudo -u postgres`? (make provision)",
        )
    return parse_output(done.stdout, indexes, host=target.name, profile=profile)
