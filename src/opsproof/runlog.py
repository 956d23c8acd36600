"""A provisioning or drift run's results file, from the ansible-playbook log it printed.

`make provision` and `make drift` tee the playbook's output to
`reports/runs/<UTC>-<kind>/ansible.log` and call `opsproof runlog` on it, so every run leaves
a results document (run kind `provision`; a drift run says `conditions.mode: check`) with one
`step` per play and host: the tasks the host ran in that play counted as ok, changed, failed,
unreachable or skipped (a looped task counts once, with its worst item), and the wall time of
those tasks. The times come from the profile_tasks callback that ansible.cfg enables; the
totals per host are the PLAY RECAP's (`conditions.recap`). The evidence pack copies these.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from opsproof.drift import parse as parse_recap
from opsproof.errors import ConfigError, ValidationError
from opsproof.results import (
    JSONValue,
    ResultsDocument,
    StepResult,
    run_meta_from_environment,
    write_results,
)

PLAY = re.compile(r"^PLAY \[(?P<name>.*)\] \*+\s*$")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*)\] \*+\s*$")
# profile_tasks: "Thursday 03 December 2026  20:51:48 +0000 (0:00:00.627)       0:04:30.676 ****"
STAMP = re.compile(
    r"(?P<day>\d{1,2}) (?P<month>[A-Za-z]+) (?P<year>\d{4})\s+(?P<clock>\d\d:\d\d:\d\d) "
    r"(?P<tz>[+-]\d{4}) \((?P<prev>\d+:\d\d:\d\d(?:\.\d+)?)\)\s+"
    r"(?P<total>\d+:\d\d:\d\d(?:\.\d+)?) \*+"
)
RESULT = re.compile(
    r"^(?P<status>ok|changed|skipping|failed|fatal|ignoring): \[(?P<host>[^\]]+?)(?: -> [^\]]+)?\]"
    r"(?P<rest>.*)$"
)
INCLUDED = re.compile(r"^included: .+ for (?P<hosts>[^ ].*)$")
RANK = {"skipping": 0, "ok": 1, "changed": 2, "failed": 3, "unreachable": 4}


def _seconds(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _stamp_time(m: re.Match[str]) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(
            f"{m['day']} {m['month']} {m['year']} {m['clock']} {m['tz']}", "%d %B %Y %H:%M:%S %z"
        )
    except ValueError:  # a month name in another locale: the times stay unknown
        return None


@dataclass
class _Task:
    play: str
    start_total: float
    end_total: float | None = None
    hosts: dict[str, str] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)
    included: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedLog:
    steps: tuple[StepResult, ...]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    total_s: float | None


def parse_log(text: str) -> ParsedLog:
    """Per play and host: the tasks' worst status counted, and their summed durations."""
    tasks: list[_Task] = []
    play = "?"
    first: dt.datetime | None = None
    last_stamp: re.Match[str] | None = None
    current: _Task | None = None
    last_host: str | None = None
    for line in text.splitlines():
        if line.strip() == "...ignoring" and current is not None and last_host is not None:
            current.hosts[last_host] = "ok"  # a failure the play ignores on purpose
            current.ignored.add(last_host)
            continue
        if m := PLAY.match(line):
            play = m["name"]
            current = None
        elif m := TASK.match(line):
            current = _Task(play=play, start_total=-1.0)
            tasks.append(current)
        elif m := STAMP.search(line):
            total = _seconds(m["total"])
            if first is None:
                first = _stamp_time(m)
            last_stamp = m
            if current is not None and current.start_total < 0:
                current.start_total = total
        elif current is not None and (m := INCLUDED.match(line)):
            # Each included file (each item of a looped include) counts as ok in the recap.
            for host in m["hosts"].split(" => ")[0].split(", "):
                current.included[host] = current.included.get(host, 0) + 1
        elif current is not None and (m := RESULT.match(line)):
            status = m["status"]
            if status == "fatal":
                status = "unreachable" if "UNREACHABLE!" in m["rest"] else "failed"
            elif status == "ignoring":
                continue
            last_host = m["host"]
            previous = current.hosts.get(m["host"])
            if previous is None or RANK[status] > RANK[previous]:
                current.hosts[m["host"]] = status
    end_total = _seconds(last_stamp["total"]) if last_stamp else None
    # A task ends where the next one starts (profile_tasks stamps each start), the last one
    # at the final stamp printed after the recap.
    for task, following in itertools.pairwise(tasks):
        task.end_total = following.start_total
    counts: dict[tuple[str, str], dict[str, float]] = {}
    for task in tasks:
        start = max(task.start_total, 0.0)
        end = task.end_total if task.end_total is not None else (end_total or start)
        for host in {*task.hosts, *task.included}:
            row = counts.setdefault(
                (task.play, host), dict.fromkeys((*RANK, "ignored", "duration"), 0.0)
            )
            if host in task.hosts:
                row[task.hosts[host]] += 1
            row["ok"] += task.included.get(host, 0)
            row["ignored"] += host in task.ignored
            row["duration"] += max(end - start, 0.0)
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
            duration_s=round(row["duration"], 3),
        )
        for (play_name, host), row in counts.items()
    )
    finished = None
    if first is not None and end_total is not None:
        finished = first + dt.timedelta(seconds=end_total)
    return ParsedLog(steps, first, finished, end_total)


def results_from_log(
    log: Path, *, kind: str, inventory: str | None, playbook: str | None
) -> ResultsDocument:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ConfigError(
            f"{log}: cannot read the playbook log: {err}", fix="check the path"
        ) from None
    recaps = parse_recap(text)
    if not recaps:
        raise ValidationError(
            f"{log}: no PLAY RECAP found",
            fix="the playbook did not finish; read the log and run it again",
        )
    parsed = parse_log(text)
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
