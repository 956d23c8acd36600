"""A provisioning or drift run's results file, from the ansible-playbook log it printed.

`make provision` and `make drift` tee the playbook's output to
`reports/runs/<UTC>-<kind>/ansible.log` and call `opsproof runlog` on it, so every run leaves
a results document (run kind `provision`; a drift run says `conditions.mode: check`) with one
`step` per play and host: the tasks the host ran in that play counted as ok, changed, failed,
unreachable or skipped (a looped task counts once, with its worst item), and the time of
those tasks on that host. The times come from the opsproof_task_times callback's file beside
the log (exact per host, whatever the play's strategy), or else from profile_tasks' stamps in
the log (a task's wall time, right for plays in lock step); the totals per host are the PLAY
RECAP's (`conditions.recap`). The evidence pack copies these. Both are read by
`opsproof.playbook_log`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from opsproof import playbook_log
from opsproof.results import (
    JSONValue,
    ResultsDocument,
    StepResult,
    run_meta_from_environment,
    write_results,
)


@dataclass(frozen=True)
class ParsedLog(playbook_log.Timeline):
    """The log's timeline and its steps: per play and host."""

    steps: tuple[StepResult, ...] = ()


def parse_log(text: str, times: tuple[playbook_log.TaskTime, ...] | None = None) -> ParsedLog:
    """Per play and host: the tasks' worst status counted, and their summed durations (from
    `times` when given, else from the log's stamps)."""
    timeline = playbook_log.timeline(text)
    seconds = None if times is None else playbook_log.host_seconds(times, "play")
    counts: dict[tuple[str, str], dict[str, float]] = {}
    for task in timeline.tasks:
        for host in {*task.hosts, *task.included}:
            row = counts.setdefault(
                (task.play, host), dict.fromkeys((*playbook_log.RANK, "ignored", "duration"), 0.0)
            )
            if host in task.hosts:
                row[task.hosts[host]] += 1
            row["ok"] += task.included.get(host, 0)
            row["ignored"] += host in task.ignored
            row["duration"] += task.duration_s
    steps = tuple(
        StepResult(
            play=play_name,
            host=host,
            ok=int(row["ok"]),
            changed=int(row["changed"]),
            failed=int(row["failed"]),
            unreachable=int(row["unreachable"]),
            skipped=int(row["skipping"]),
            ignored=int(row["ignored"]),
            duration_s=round(
                row["duration"] if seconds is None else seconds.get((play_name, host), 0.0), 3
            ),
        )
        for (play_name, host), row in counts.items()
    )
    return ParsedLog(
        timeline.tasks, timeline.started_at, timeline.finished_at, timeline.total_s, steps
    )


def results_from_log(
    log: Path, *, kind: str, inventory: str | None, playbook: str | None
) -> ResultsDocument:
    read = playbook_log.read(log)
    recaps = read.recaps
    parsed = parse_log(read.text, playbook_log.read_task_times(playbook_log.times_path(log)))
    mtime = dt.datetime.fromtimestamp(log.stat().st_mtime, dt.UTC).replace(microsecond=0)
    finished = (parsed.finished_at or mtime).astimezone(dt.UTC).replace(microsecond=0)
    started = (parsed.started_at or finished).astimezone(dt.UTC).replace(microsecond=0)
    recap: dict[str, JSONValue] = {
        r.host: {"ok": r.ok, "changed": r.changed, "unreachable": r.unreachable, "failed": r.failed}
        for r in recaps
    }
    conditions: dict[str, JSONValue] = {
        "mode": "check" if kind == "drift" else "apply",
        "playbook": playbook,
        "log": log.name,
        "recap": recap,
        "duration_s": parsed.total_s,
    }
    meta = run_meta_from_environment(
        "provision",
        inventory=inventory,
        hosts=sorted(r.host for r in recaps),
        conditions=conditions,
        started_at=started,
        run_id=f"{kind}-{started:%Y%m%dT%H%M%SZ}",
        extra_tools=("ansible-core",),
    )
    return ResultsDocument(run=meta.finished(max(finished, started)), results=parsed.steps)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "runlog", help="turn an ansible-playbook log (provision or drift) into a results file"
    )
    parser.add_argument("--kind", choices=("provision", "drift"), required=True)
    parser.add_argument("--inventory", help="the inventory the playbook ran against")
    parser.add_argument("--playbook", help="the playbook that ran, e.g. playbooks/site.yml")
    parser.add_argument("log", type=Path, help="the playbook's output")
    parser.add_argument("out", type=Path, help="results file to write")
    parser.set_defaults(func=cmd_runlog)


def cmd_runlog(args: argparse.Namespace) -> int:
    doc = results_from_log(
        args.log, kind=args.kind, inventory=args.inventory, playbook=args.playbook
    )
    write_results(doc, args.out)
    print(f"wrote {args.out} ({len(doc.results)} steps)", file=sys.stderr)
    return 0
