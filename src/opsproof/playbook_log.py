"""The one reader of an ansible-playbook log: its recap, its tasks and their times.

`opsproof drift` (the check-mode gate), `opsproof runlog` (a run's results file) and
`opsproof bench` (a proof cycle timed) all read the output of `ansible-playbook` as printed
with ansible.cfg's callbacks: the default callback's `PLAY [..]`, `TASK [..]` headers and
`ok:/changed:/skipping:/failed:/fatal:` result lines, the `PLAY RECAP`, and profile_tasks'
stamp at each task's start (the clock, the previous task's duration, the running total; the
last task's duration comes in one more stamp after the recap). A log without a recap is a
run that did not finish: `read` refuses it.

Those stamps time a task only when every host goes through the play in lock step (the linear
strategy). In a play with the free strategy (site.yml's side-by-side play) each host goes at
its own pace: the stamps of different hosts' tasks interleave, and a task's banner is printed
again before each of its results that follows another task's. There the times come from the
`opsproof_task_times` callback (plugins/callback/), which writes each task's start and end per
host beside the log (`times_path`, read by `read_task_times`); a repeated banner is the same
task, not a new one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opsproof.errors import ConfigError, ValidationError

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
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
# A looped task counts once per host, with its worst item.
RANK = {"skipping": 0, "ok": 1, "changed": 2, "failed": 3, "unreachable": 4}


@dataclass(frozen=True)
class HostRecap:
    host: str
    ok: int
    changed: int
    unreachable: int
    failed: int


def parse_recap(text: str) -> list[HostRecap]:
    """The PLAY RECAP's line of each host (none when the run did not finish)."""
    return [
        HostRecap(
            m["host"], int(m["ok"]), int(m["changed"]), int(m["unreachable"]), int(m["failed"])
        )
        for m in RECAP.finditer(text)
    ]


@dataclass(frozen=True)
class PlaybookLog:
    path: Path
    text: str
    recaps: tuple[HostRecap, ...]


def read(log: Path, *, what: str = "the playbook") -> PlaybookLog:
    """The log and its recap; a log that cannot be read or has no recap is refused."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ConfigError(
            f"{log}: cannot read the playbook log: {err}", fix="check the path"
        ) from None
    recaps = parse_recap(text)
    if not recaps:
        raise ValidationError(
            f"{log}: no PLAY RECAP found ({what} did not finish)",
            fix="read the log and run it again",
        )
    return PlaybookLog(log, text, tuple(recaps))


def results(text: str) -> Iterator[tuple[str, str]]:
    """(status, host) of every result line, one per loop item; `fatal` stays `fatal`."""
    for line in text.splitlines():
        if (m := RESULT.match(line)) and m["status"] != "ignoring":
            yield m["status"], m["host"]


def changed_tasks(text: str) -> list[tuple[str, str]]:
    """(host, task) for every task that reported a change."""
    out: list[tuple[str, str]] = []
    task = "?"
    for line in text.splitlines():
        if m := TASK.match(line):
            task = m["name"]
        elif (m := RESULT.match(line)) and m["status"] == "changed":
            out.append((m["host"], task))
    return out


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
class Task:
    """One task (or handler) as it ran: per host its worst status, and when it ran.

    `start_s`/`end_s` are profile_tasks' running totals: a task ends where the next one
    starts, the last one at the stamp printed after the recap."""

    play: str
    name: str
    start_s: float = -1.0
    end_s: float | None = None
    hosts: dict[str, str] = field(default_factory=dict)
    ignored: set[str] = field(default_factory=set)
    included: dict[str, int] = field(default_factory=dict)

    @property
    def role(self) -> str:
        """The role of a `role : task` header; `(play)` for the play's own tasks."""
        return self.name.split(" : ", 1)[0] if " : " in self.name else "(play)"

    @property
    def duration_s(self) -> float:
        start = max(self.start_s, 0.0)
        return max((self.end_s if self.end_s is not None else start) - start, 0.0)


@dataclass(frozen=True)
class Timeline:
    tasks: tuple[Task, ...]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    total_s: float | None


def timeline(text: str) -> Timeline:
    """Every task in order, with its statuses per host and its start and end."""
    tasks: list[Task] = []
    play = "?"
    first: dt.datetime | None = None
    last_total: float | None = None
    current: Task | None = None
    last_host: str | None = None
    pending: str | None = None  # a banner whose next line tells whether it starts a task
    by_name: dict[tuple[str, str], Task] = {}
    for line in text.splitlines():
        if pending is not None and line.strip():
            # A banner followed by its stamp starts a task; one followed by a result is a banner
            # printed again (free strategy): the task seen before under that name in the play.
            known = by_name.get((play, pending))
            if STAMP.search(line) or known is None:
                current = Task(play=play, name=pending)
                tasks.append(current)
                by_name[(play, pending)] = current
            else:
                current = known
            pending = None
        if line.strip() == "...ignoring" and current is not None and last_host is not None:
            current.hosts[last_host] = "ok"  # a failure the play ignores on purpose
            current.ignored.add(last_host)
            continue
        if m := PLAY.match(line):
            play = m["name"]
            current = None
        elif m := TASK.match(line):
            pending = m["name"]
        elif m := STAMP.search(line):
            last_total = _seconds(m["total"])
            if first is None:
                first = _stamp_time(m)
            if current is not None and current.start_s < 0:
                current.start_s = last_total
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
    for task, following in itertools.pairwise(tasks):
        task.end_s = following.start_s
    if tasks and last_total is not None:
        tasks[-1].end_s = last_total
    finished = None
    if first is not None and last_total is not None:
        finished = first + dt.timedelta(seconds=last_total)
    return Timeline(tuple(tasks), first, finished, last_total)


# --- per-host task times (the opsproof_task_times callback) ------------------------------


@dataclass(frozen=True)
class TaskTime:
    """One task on one host: when it started and ended (epoch seconds) and how it ended."""

    play: str
    strategy: str
    role: str
    task: str
    host: str
    start: float
    end: float
    status: str

    @property
    def seconds(self) -> float:
        return max(self.end - self.start, 0.0)


def times_path(log: Path) -> Path:
    """Where a run's per-host task times are kept: beside its log (x.log -> x.times.jsonl)."""
    return log.with_suffix(".times.jsonl")


def read_task_times(path: Path) -> tuple[TaskTime, ...] | None:
    """The callback's records; None when there are none (a run without the callback)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(
            f"{path}: cannot read the task times: {err}", fix="check the path"
        ) from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                TaskTime(
                    str(row["play"]), str(row["strategy"]), str(row["role"]), str(row["task"]),
                    str(row["host"]), float(row["start"]), float(row["end"]), str(row["status"]),
                )
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as err:
            raise ValidationError(
                f"{path}:{number}: not a task time record ({err})",
                fix="the opsproof_task_times callback writes these; run the playbook again",
            ) from None
    return tuple(out)


def host_seconds(times: tuple[TaskTime, ...], key: str) -> dict[tuple[str, str], float]:
    """Seconds of task work per (`key` value, host); key is `role` or `play`."""
    out: dict[tuple[str, str], float] = {}
    for t in times:
        k = (getattr(t, key), t.host)
        out[k] = out.get(k, 0.0) + t.seconds
    return out
