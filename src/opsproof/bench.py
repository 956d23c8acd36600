"""`opsproof bench`: what one proof cycle costs on the lab, measured, in the results schema.

`bench run` times the commands an engineer and CI run, in this order, and reads their logs:

- `fresh-provision` (with `--fresh` only: the lab destroyed first, so it is built from nothing):
  `make provision`, its wall time and the seconds each role's tasks took;
- `noop-provision`: `make provision` again — nothing to change (changed must be 0);
- `check`: `make check`, the check-mode run (no drift expected);
- `inspect`: `make inspect` into a scratch folder.

Each figure is a `measurement` (subsystem = stage, endpoint = `all`, a role or a host; metric
`wall_s`, `role_s`, `task_steps`, `skipped_steps`, `changed` or `cpu_pressure_pct`) in a
document of run kind `bench`. `cpu_pressure_pct` is the condition a stage ran in: the share of
its wall time in which some task on this machine was ready to run and waited for a CPU (Linux
PSI, /proc/pressure/cpu "some"). The lab's own work raises it; on the shared 2-core VM it was
also seen at 30-90 % with the VM idle. A stage measured under high pressure is slower for that
reason alone.
`bench gate BASE NEW` fails naming every stage whose wall time grew by more than the threshold
(25 % by default), with both pressures: compare two files measured on the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof import endpoints, playbook_log
from opsproof.cli import add_inventory_option, command_group
from opsproof.errors import ConfigError, OpsproofError, ValidationError
from opsproof.results import (
    Measurement,
    ResultsDocument,
    load_results,
    run_meta_from_environment,
    write_results,
)

STAGES = ("fresh-provision", "noop-provision", "check", "inspect")


PSI_CPU = Path("/proc/pressure/cpu")


@dataclass(frozen=True)
class StageRun:
    stage: str
    wall_s: float
    rc: int
    log: Path
    cpu_pressure_pct: float | None = None


def psi_some_total_us(text: str) -> int | None:
    """The `some` line's total= (microseconds of CPU waiting) from /proc/pressure/cpu's text."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "some":
            for field in fields[1:]:
                key, _, value = field.partition("=")
                if key == "total" and value.isdigit():
                    return int(value)
    return None


def _psi_now() -> int | None:
    try:
        return psi_some_total_us(PSI_CPU.read_text(encoding="ascii"))
    except OSError:  # no PSI in this kernel: the condition is not known
        return None


def pressure_pct(before_us: int | None, after_us: int | None, wall_s: float) -> float | None:
    """Share of wall_s in which some task waited for a CPU, in percent (None if unknown)."""
    if before_us is None or after_us is None or wall_s <= 0 or after_us < before_us:
        return None
    return round(min(100.0, (after_us - before_us) / (wall_s * 1e6) * 100), 1)


def role_seconds(
    text: str, times: tuple[playbook_log.TaskTime, ...] | None = None
) -> dict[str, float]:
    """Seconds per role (tasks outside a role as `(play)`). From `times` (the callback's, per
    host): the seconds the role's tasks ran on its slowest host, which is the role's share of the
    run also where hosts run their roles side by side (free strategy). Without them, from the
    log's profile_tasks stamps (`opsproof.playbook_log.timeline`): right only in lock step."""
    out: dict[str, float] = defaultdict(float)
    if times is not None:
        for (role, _host), seconds in playbook_log.host_seconds(times, "role").items():
            out[role or "(play)"] = max(out[role or "(play)"], seconds)
        return {k: round(v, 3) for k, v in out.items()}
    for task in playbook_log.timeline(text).tasks:
        out[task.role] += task.duration_s
    return {k: round(v, 3) for k, v in out.items()}


def steps_per_host(text: str) -> dict[str, dict[str, int]]:
    """Per host: task steps that ran (ok, changed, failed) and that were skipped."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"ran": 0, "skipped": 0})
    for status, host in playbook_log.results(text):
        out[host]["skipped" if status == "skipping" else "ran"] += 1
    return dict(out)


def _measure(stage: str, endpoint: str, metric: str, value: float, unit: str) -> Measurement:
    return Measurement(
        subsystem=stage,
        endpoint=endpoint,
        metric=metric,
        value=value,
        unit=unit,
        profile="n/a",
        repetition=1,
        samples=1,
    )


def measurements(run: StageRun) -> list[Measurement]:
    out = [_measure(run.stage, "all", "wall_s", round(run.wall_s, 2), "s")]
    if run.cpu_pressure_pct is not None:
        out.append(_measure(run.stage, "all", "cpu_pressure_pct", run.cpu_pressure_pct, "%"))
    if run.stage == "inspect":
        return out
    read = playbook_log.read(run.log, what=f"{run.stage} (exit {run.rc})")
    text, recaps = read.text, read.recaps
    out.append(_measure(run.stage, "all", "changed", sum(r.changed for r in recaps), "tasks"))
    for host, steps in sorted(steps_per_host(text).items()):
        out.append(_measure(run.stage, host, "task_steps", steps["ran"], "steps"))
        out.append(_measure(run.stage, host, "skipped_steps", steps["skipped"], "steps"))
    times = playbook_log.read_task_times(playbook_log.times_path(run.log))
    for role, seconds in sorted(role_seconds(text, times).items()):
        out.append(_measure(run.stage, role, "role_s", seconds, "s"))
    return out


def _run(stage: str, argv: Sequence[str], logdir: Path) -> StageRun:
    log = logdir / f"{stage}.log"
    print(f"bench: {stage}: {' '.join(argv)}", file=sys.stderr)
    start, psi_before = time.monotonic(), _psi_now()
    # The per-host task times of the playbook the stage runs (plugins/callback), beside its log.
    env = {**os.environ, "OPSPROOF_TASK_TIMES": str(playbook_log.times_path(log))}
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(list(argv), stdout=fh, stderr=subprocess.STDOUT, check=False, env=env)
    wall = time.monotonic() - start
    pressure = pressure_pct(psi_before, _psi_now(), wall)
    shown = "" if pressure is None else f", CPU pressure {pressure:.0f} %"
    print(f"bench: {stage}: {wall:.1f} s, exit {proc.returncode}{shown}", file=sys.stderr)
    if proc.returncode != 0:
        raise OpsproofError(f"bench: {stage} failed (exit {proc.returncode}); its log: {log}")
    return StageRun(stage, wall, proc.returncode, log, pressure)


def run(out: Path, *, fresh: bool, inventory: str) -> ResultsDocument:
    logdir = out.parent / (out.stem + "-logs")
    logdir.mkdir(parents=True, exist_ok=True)
    meta = run_meta_from_environment(
        "bench",
        inventory=inventory,
        conditions={"fresh": fresh, "logs": str(logdir)},
        extra_tools=("ansible-core", "mitogen"),
    )
    if fresh and inventory.rstrip("/") != endpoints.DEFAULT_INVENTORY:
        raise ConfigError(
            f"bench --fresh destroys the lab; {inventory} is not the lab inventory",
            fix=f"use --fresh only with {endpoints.DEFAULT_INVENTORY}",
        )
    make = ["make", f"INVENTORY={inventory}"]
    runs: list[StageRun] = []
    if fresh:
        _run("lab-destroy", [*make, "lab-destroy"], logdir)
        runs.append(_run("fresh-provision", [*make, "provision"], logdir))
    runs.append(_run("noop-provision", [*make, "provision"], logdir))
    runs.append(_run("check", [*make, "check"], logdir))
    with tempfile.TemporaryDirectory(prefix="opsproof-bench-") as scratch:
        runs.append(_run("inspect", [*make, "inspect", f"INSPECT_DIR={scratch}"], logdir))
    results = [m for r in runs for m in measurements(r)]
    hosts = sorted({m.endpoint for m in results if m.metric == "task_steps"})
    doc = ResultsDocument(
        run=dataclasses.replace(meta.finished(), hosts=tuple(hosts)), results=tuple(results)
    )
    write_results(doc, out)
    return doc


@dataclass(frozen=True)
class Regression:
    stage: str
    base_s: float
    new_s: float
    base_pressure_pct: float | None = None
    new_pressure_pct: float | None = None

    @property
    def ratio(self) -> float:
        return self.new_s / self.base_s


def walls(doc: ResultsDocument, metric: str = "wall_s") -> dict[str, float]:
    return {
        r.subsystem: r.value
        for r in doc.results
        if isinstance(r, Measurement) and r.metric == metric and r.endpoint == "all"
    }


def gate(base: ResultsDocument, new: ResultsDocument, threshold: float) -> list[Regression]:
    """Stages in both files whose wall time grew by more than threshold (0.25 = 25 %)."""
    old, now = walls(base), walls(new)
    common = [s for s in STAGES if s in old and s in now]
    if not common:
        raise ValidationError(
            "bench gate: the two files share no stage",
            fix="compare two files written by `make bench` (with the same FRESH setting)",
        )
    old_p, now_p = walls(base, "cpu_pressure_pct"), walls(new, "cpu_pressure_pct")
    return [
        Regression(s, old[s], now[s], old_p.get(s), now_p.get(s))
        for s in common
        if old[s] > 0 and now[s] > old[s] * (1 + threshold)
    ]


def summary(doc: ResultsDocument) -> str:
    lines = [
        "| stage | wall s | CPU pressure % | changed | task steps per host |",
        "|---|---:|---:|---:|---|",
    ]
    by_stage: dict[str, dict[str, float]] = defaultdict(dict)
    steps: dict[str, list[str]] = defaultdict(list)
    for r in doc.results:
        if not isinstance(r, Measurement):
            continue
        if r.endpoint == "all":
            by_stage[r.subsystem][r.metric] = r.value
        elif r.metric == "task_steps":
            steps[r.subsystem].append(f"{r.endpoint} {int(r.value)}")
    for stage in STAGES:
        if stage in by_stage:
            row = by_stage[stage]
            changed, pressure = row.get("changed"), row.get("cpu_pressure_pct")
            shown = "" if pressure is None else f"{pressure:.0f}"
            lines.append(
                f"| {stage} | {row['wall_s']:.1f} | {shown} | "
                f"{'' if changed is None else int(changed)} | {', '.join(steps[stage])} |"
            )
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    doc = run(Path(args.out), fresh=args.fresh, inventory=args.inventory)
    print(summary(doc))
    print(f"bench: wrote {args.out}", file=sys.stderr)
    return 0


def _pressures(r: Regression) -> str:
    if r.base_pressure_pct is None and r.new_pressure_pct is None:
        return ""
    shown = ["?" if p is None else f"{p:.0f} %" for p in (r.base_pressure_pct, r.new_pressure_pct)]
    return f"; CPU pressure {shown[0]} then, {shown[1]} now"


def _cmd_gate(args: argparse.Namespace) -> int:
    regressions = gate(load_results(args.base), load_results(args.new), args.threshold)
    for r in regressions:
        print(
            f"bench gate: {r.stage} took {r.new_s:.1f} s against {r.base_s:.1f} s "
            f"({r.ratio:.2f} times, more than {1 + args.threshold:.2f} times)" + _pressures(r)
        )
    if not regressions:
        print("bench gate: no stage slower than the threshold")
    return 1 if regressions else 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = command_group(groups, "bench", help="time a proof cycle on the lab (results JSON)")
    r = sub.add_parser("run", help="no-change provision, check mode, inspection (+ --fresh)")
    r.add_argument("--out", required=True, help="results JSON to write")
    add_inventory_option(r, short=False)
    r.add_argument("--fresh", action="store_true", help="destroy the lab first (lab only)")
    r.set_defaults(func=_cmd_run)
    g = sub.add_parser("gate", help="exit 1 when NEW is slower than BASE past the threshold")
    g.add_argument("base")
    g.add_argument("new")
    g.add_argument("--threshold", type=float, default=0.25, help="0.25 = 25 %% slower")
    g.set_defaults(func=_cmd_gate)
