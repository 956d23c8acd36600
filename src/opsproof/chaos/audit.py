"""The lost-write audit: every acknowledged id must be in the database after recovery."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opsproof.chaos import context
from opsproof.errors import OpsproofError

# Subsystem slug -> the table its POST /api/<slug>/items inserts into (platform/README.md).
TABLES: Mapping[str, str] = {
    "sharing": "sharing_notice",
    "intake": "intake_report",
    "investment": "investment_project",
    "publishing": "publishing_article",
}


@dataclass(frozen=True)
class Write:
    subsystem: str
    at: float
    ok: bool  # the platform acknowledged it (201 with an id)
    id: int | None


@dataclass(frozen=True)
class AuditResult:
    acknowledged: int
    failed: int
    lost: int
    lost_ids: tuple[tuple[str, int], ...]
    marked_in_db: int  # rows carrying the run's marker (acknowledged + any committed but
    # unacknowledged: a client timeout after COMMIT)


def tally(writes: Iterable[Write], found: Mapping[str, set[int]], marked: int) -> AuditResult:
    """Acknowledged / failed / lost from the writer's log and the ids found in the database."""
    acked = [(w.subsystem, w.id) for w in writes if w.ok and w.id is not None]
    failed = sum(1 for w in writes if not (w.ok and w.id is not None))
    lost = tuple((s, i) for s, i in acked if i not in found.get(s, set()))
    return AuditResult(len(acked), failed, len(lost), lost, marked)


def sql_for(writes: Iterable[Write], marker: str) -> str:
    """One query returning `slug|id` for every acknowledged id present, then `marked|N`."""
    by_slug: dict[str, list[int]] = {}
    for w in writes:
        if w.ok and w.id is not None:
            by_slug.setdefault(w.subsystem, []).append(int(w.id))
    parts = [
        f"SELECT '{slug}', id FROM public.{TABLES[slug]} "
        f"WHERE id = ANY('{{{','.join(map(str, ids))}}}'::bigint[])"
        for slug, ids in sorted(by_slug.items())
    ]
    like = marker.replace("'", "''") + "%"
    marked = " + ".join(
        f"(SELECT count(*) FROM public.{t} WHERE title LIKE '{like}')" for t in TABLES.values()
    )
    parts.append(f"SELECT 'marked', {marked}")
    return " UNION ALL ".join(parts)


def audit(writes: list[Write], marker: str, db_host: str = "group:db") -> AuditResult:
    """Query the database (psql as postgres on the db host, over SSH) and tally."""
    query = sql_for(writes, marker)
    done = context.sudo(
        db_host,
        f"cd /tmp && runuser -u postgres -- psql -XAt -F '|' -v ON_ERROR_STOP=1 -d platform "
        f"-c {shlex.quote(query)}",
        timeout=120,
        check=False,
    )
    if done.rc != 0:
        raise OpsproofError(
            f"chaos: the lost-write audit could not query the database: {done.stderr.strip()}",
            fix="is PostgreSQL up on the db host? `make chaos-restore`, then audit again",
        )
    found: dict[str, set[int]] = {}
    marked = 0
    for line in done.stdout.splitlines():
        slug, _, value = line.partition("|")
        if slug == "marked":
            marked = int(value)
        elif value:
            found.setdefault(slug, set()).add(int(value))
    return tally(writes, found, marked)
