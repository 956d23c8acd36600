"""What a pack rests on: the runs already on disk for the period, and the hosts' own records.

Runs are found by content, not by folder name: every `inspection.json`, `summary.json`
(chaos) and `results.json` (perf-compare, provisioning and drift runs) under the source roots
that validates against the results schema and whose run started in the period. Every
inspection is kept; of the perf comparisons and chaos runs, the latest. Nothing is measured
here: a missing source becomes a `Gap` (one line: what is missing, and the fix).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.errors import OpsproofError
from opsproof.evidence.period import Period
from opsproof.results import ResultsDocument, load_results

# Files of a run's folder copied into the pack, by run kind (the rest, e.g. per-request CSVs
# of a load test, stay where they are; the results file names its folder).
COPIED: dict[str, tuple[str, ...]] = {
    "inspection": ("inspection.json", "junit.xml", "record.*", "drift.log"),
    "chaos": ("summary.json", "summary.md", "summary.html", "*.journal.json"),
    "perf-compare": ("results.json", "report.md", "report.html"),
    "provision": ("results.json", "ansible.log"),
}
RESULT_FILES = {"inspection": "inspection.json", "chaos": "summary.json"}


@dataclass(frozen=True)
class Gap:
    """Evidence the pack lacks: one line naming it and the fix; `code` is the exit status."""

    what: str
    fix: str
    code: int = 1

    def __str__(self) -> str:
        return f"{self.what} — fix: {self.fix}"


@dataclass(frozen=True)
class SourceRun:
    doc: ResultsDocument
    folder: Path
    files: tuple[Path, ...]

    @property
    def kind(self) -> str:
        mode = self.doc.run.conditions.get("mode") if self.doc.run.kind == "provision" else None
        return "drift" if mode == "check" else self.doc.run.kind

    @property
    def dest(self) -> str:
        """Folder in the pack: sources/<kind>/<run id>/."""
        return f"sources/{self.kind}/{self.doc.run.id}"


def _candidates(roots: Iterable[Path], exclude: Path | None) -> list[Path]:
    found: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for name in ("inspection.json", "summary.json", "results.json"):
            for path in root.rglob(name):
                resolved = path.resolve()
                if exclude is not None and resolved.is_relative_to(exclude.resolve()):
                    continue
                found.add(resolved)
    return sorted(found)


def _files(folder: Path, kind: str, results_name: str) -> tuple[Path, ...]:
    patterns = COPIED.get(kind, (results_name,))
    files = {p for pattern in patterns for p in folder.glob(pattern) if p.is_file()}
    files.add(folder / results_name)
    return tuple(sorted(files))


def find_runs(roots: Sequence[Path], period: Period, exclude: Path | None) -> list[SourceRun]:
    """Every schema-valid run under the roots that started in the period, oldest first."""
    runs: dict[str, SourceRun] = {}
    for path in _candidates(roots, exclude):
        try:
            doc = load_results(path)
        except OpsproofError:
            continue  # not a results file (e.g. a Chaos Toolkit file named summary.json)
        kind = doc.run.kind
        if kind not in COPIED or RESULT_FILES.get(kind, "results.json") != path.name:
            continue
        if not period.contains(doc.run.started_at):
            continue
        # The same run reached twice (a copy under another root) counts once.
        runs.setdefault(
            doc.run.id, SourceRun(doc, path.parent, _files(path.parent, kind, path.name))
        )
    return sorted(runs.values(), key=lambda r: (r.doc.run.started_at, r.doc.run.id))


@dataclass(frozen=True)
class Selection:
    inspections: tuple[SourceRun, ...]
    perf: SourceRun | None
    chaos: SourceRun | None
    provisions: tuple[SourceRun, ...]
    drifts: tuple[SourceRun, ...]

    @property
    def all(self) -> tuple[SourceRun, ...]:
        extra = tuple(r for r in (self.perf, self.chaos) if r is not None)
        return (*self.inspections, *extra, *self.provisions, *self.drifts)


def select(runs: Sequence[SourceRun]) -> Selection:
    def of(kind: str) -> list[SourceRun]:
        return [r for r in runs if r.kind == kind]

    perf, chaos = of("perf-compare"), of("chaos")
    return Selection(
        inspections=tuple(of("inspection")),
        perf=perf[-1] if perf else None,
        chaos=chaos[-1] if chaos else None,
        provisions=tuple(of("provision")),
        drifts=tuple(of("drift")),
    )


def gaps_of(selection: Selection, period: Period) -> list[Gap]:
    gaps = []
    if not selection.inspections:
        gaps.append(
            Gap(f"no inspection in {period.name}", "run make inspect (the monthly inspection)")
        )
    if selection.perf is None:
        gaps.append(Gap(f"no performance comparison in {period.name}", "run make perf-compare"))
    if selection.chaos is None:
        gaps.append(Gap(f"no chaos run in {period.name}", "run make chaos"))
    if not selection.provisions:
        gaps.append(Gap(f"no provisioning run in {period.name}", "run make provision"))
    return gaps


# --- the hosts' own records ---------------------------------------------------------------

# Runs with the host's stock python3 under sudo: OS and middleware versions, the restore
# drill's last result, the backups on disk with their row counts, and systemd's journal of the
# backup and drill units in the period (each start and its result). Read-only.
HOST_SCRIPT = r"""
import json, subprocess, sys
from pathlib import Path
since, until = sys.argv[1], sys.argv[2]
out = {"os": None, "packages": {}, "restore_drill": None, "backups": [], "unit_runs": []}
for line in Path("/etc/os-release").read_text().splitlines():
    if line.startswith("PRETTY_NAME="):
        out["os"] = line.split("=", 1)[1].strip('"')
pkgs = ["nginx", "tomcat10", "openjdk-17-jre-headless", "postgresql-15", "openssh-server",
        "nftables", "python3"]
q = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n",
                    *pkgs], capture_output=True, text=True)
for row in q.stdout.splitlines():
    name, version, status = row.split("\t")
    if status == "installed":
        out["packages"][name] = version
drill = Path("/var/lib/platform/restore-drill.json")
if drill.is_file():
    out["restore_drill"] = json.loads(drill.read_text())
backup_dir = Path("/srv/data/backup")
if backup_dir.is_dir():
    for dump in sorted(backup_dir.glob("platform-*.dump")):
        counts = dump.with_name(dump.name + ".counts.json")
        out["backups"].append({
            "name": dump.name, "bytes": dump.stat().st_size, "mtime": int(dump.stat().st_mtime),
            "counts": json.loads(counts.read_text()) if counts.is_file() else None})
units = ["platform-backup.service", "platform-restore-drill.service"]
j = subprocess.run(["journalctl", "--no-pager", "-o", "json", "--since", since, "--until", until,
                    *[a for u in units for a in ("-u", u)]], capture_output=True, text=True)
for line in j.stdout.splitlines():
    e = json.loads(line)
    unit = e.get("UNIT")
    if unit in units and e.get("JOB_TYPE") == "start":
        out["unit_runs"].append({"unit": unit, "usec": int(e["__REALTIME_TIMESTAMP"]),
                                 "result": e.get("JOB_RESULT") or "started"})
print(json.dumps(out, sort_keys=True))
"""


@dataclass(frozen=True)
class HostRecords:
    host: str
    groups: tuple[str, ...]
    data: dict[str, Any]


def read_hosts(inventory: str, period: Period) -> tuple[list[HostRecords], list[Gap]]:
    """The records of every inventory host; an unreachable host is a gap, not an error."""
    from opsproof import ssh_targets

    try:
        targets = ssh_targets.resolve(inventory)
    except OpsproofError as err:
        return [], [Gap(f"inventory {inventory}: {err.message}", err.fix or "check it", 3)]
    since = f"{period.start:%Y-%m-%d %H:%M:%S}"
    until = f"{period.end:%Y-%m-%d %H:%M:%S}"
    # journalctl reads these in the host's zone: the lab hosts run Asia/Shanghai (baseline).
    command = (
        f"sudo -n python3 -c {shlex.quote(HOST_SCRIPT)} {shlex.quote(since)} {shlex.quote(until)}"
    )
    records, gaps = [], []
    for target in targets:
        try:
            done = ssh_targets.run(target, command, timeout=60)
        except OpsproofError as err:
            gaps.append(Gap(f"host {target.name}: {err.message}", err.fix or "check the host", 3))
            continue
        try:
            data = json.loads(done.stdout) if done.rc == 0 else None
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            gaps.append(
                Gap(
                    f"host {target.name}: its records could not be read "
                    f"({done.stderr.strip()[-200:] or f'exit {done.rc}'})",
                    f"check that {target.user} may sudo on {target.name}",
                    3,
                )
            )
            continue
        records.append(HostRecords(target.name, target.groups, data))
    return records, gaps
