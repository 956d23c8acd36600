"""`opsproof chaos run|restore|list`: run Chaos Toolkit experiments with the monitor and the
writer around them, the safety net after them, the lost-write audit, and the summary."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsproof.chaos import alerts, audit, context, report, restore, steady, timings
from opsproof.chaos.load import Monitor, Writer
from opsproof.cli import add_inventory_option, command_group
from opsproof.errors import ConfigError, OpsproofError
from opsproof.results import (
    ExperimentResult,
    ResultsDocument,
    run_meta_from_environment,
    write_results,
)

CHAOS_TIMEOUT_S = 900
SETTLE_TIMEOUT_S = 180
# Bound of each wait for the background traffic around an experiment (see traffic_seen).
TRAFFIC_WAIT_S = 10.0


@dataclass(frozen=True)
class Experiment:
    name: str
    path: Path
    fault: str
    target: str
    mechanism: str
    recover_within_s: float | None = None
    alert: alerts.ExpectedAlert | None = None


def load_experiment(path: Path) -> Experiment:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"{path}: not a readable JSON experiment: {err}", fix="fix the file"
        ) from None
    ext = next((e for e in data.get("extensions", []) if e.get("name") == "opsproof"), None)
    if ext is None or not all(k in ext for k in ("fault", "target", "mechanism")):
        raise ConfigError(
            f"{path}: no `extensions` entry named opsproof with fault, target and mechanism",
            fix='add {"name": "opsproof", "fault": ..., "target": ..., "mechanism": ...}',
        )
    within = ext.get("recover_within_s")
    return Experiment(
        path.stem,
        path,
        ext["fault"],
        ext["target"],
        ext["mechanism"],
        float(within) if isinstance(within, (int, float)) else None,
        alerts.ExpectedAlert.from_extension(ext),
    )


def discover(directory: Path, names: list[str]) -> list[Experiment]:
    found = {p.stem: p for p in sorted(directory.glob("*.json"))}
    if not found:
        raise ConfigError(f"{directory}: no experiments (*.json)", fix="pass --dir chaos")
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ConfigError(
            f"unknown experiment(s) {', '.join(unknown)}",
            fix=f"choose from: {', '.join(found)} (EXPERIMENT=<name>)",
        )
    return [load_experiment(found[n]) for n in (names or list(found))]


def _activities(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [e for e in entries or [] if isinstance(e, dict)]


def _output_with(journal: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    """The output of the first activity that ran and returned a mapping with every key."""
    for entry in _activities(journal.get("run")):
        out = entry.get("output")
        if isinstance(out, dict) and all(k in out for k in keys):
            return out
    return None


def fault_output(journal: dict[str, Any]) -> dict[str, Any] | None:
    return _output_with(journal, "injected_at")


def recovery_output(journal: dict[str, Any]) -> dict[str, Any] | None:
    return _output_with(journal, "recovered")


def service_output(journal: dict[str, Any]) -> dict[str, Any] | None:
    return _output_with(journal, "restarts", "active")


def rollbacks_verified(journal: dict[str, Any]) -> bool:
    entries = _activities(journal.get("rollbacks"))
    return bool(entries) and all(
        e.get("status") == "succeeded"
        and isinstance(e.get("output"), dict)
        and e["output"].get("verified") is True
        for e in entries
    )


def hypothesis(journal: dict[str, Any], when: str) -> bool:
    state = (journal.get("steady_states") or {}).get(when) or {}
    return bool(state.get("steady_state_met"))


def run_chaos(exp: Experiment, journal_path: Path, log_path: Path, env: dict[str, str]) -> None:
    chaos = Path(sys.executable).with_name("chaos")
    cmd = [str(chaos), "--log-file", str(log_path), "run", "--rollback-strategy", "always"]
    cmd += ["--journal-path", str(journal_path), str(exp.path)]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        proc.wait(timeout=CHAOS_TIMEOUT_S)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        # One SIGINT: Chaos Toolkit stops the method and plays the rollbacks.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def traffic_seen(monitor: Monitor, writer: Writer, since: float) -> bool:
    """A passing monitor round and an acknowledged write, both started at `since` or later:
    the platform served both kinds of traffic in that stretch."""
    return any(s.ok and s.at >= since for s in monitor.samples()) and any(
        w.ok and w.at >= since for w in writer.writes
    )


def await_traffic(monitor: Monitor, writer: Writer, since: float) -> bool:
    """Wait (bounded by TRAFFIC_WAIT_S) until traffic_seen; False when the bound ran out."""
    deadline = time.monotonic() + TRAFFIC_WAIT_S
    while not traffic_seen(monitor, writer, since):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def findings(*parts: str | None) -> str | None:
    """An experiment's findings in one text ("; " between them); None when there is none."""
    return "; ".join(p for p in parts if p) or None


def late_recovery(exp: Experiment, time_to_recover_s: float | None) -> str | None:
    """The finding when the experiment names a recovery bound (recover_within_s) that the
    platform missed; None when it has none or met it (no recovery at all is reported apart)."""
    if exp.recover_within_s is None or time_to_recover_s is None:
        return None
    if time_to_recover_s <= exp.recover_within_s:
        return None
    return (
        f"recovered in {time_to_recover_s:.1f} s, over the experiment's bound of "
        f"{exp.recover_within_s:g} s"
    )


def alert_check(
    exp: Experiment, host: str, fault: dict[str, Any] | None, time_to_recover_s: float | None
) -> alerts.Pending | alerts.AlertTiming | None:
    """The experiment's alert to read from the receiver on the ops host (fault -> firing,
    recovery -> resolved), or why it is not read. None when it names none or the fault was not
    injected; a timing marked unchecked when nothing monitors it (no ops host, no receiver
    there, or the rule not loaded in its Prometheus)."""
    if exp.alert is None or fault is None:
        return None
    why = alerts.unmonitored(exp.alert)
    if why is not None:
        print(
            f"chaos: {exp.name}: alert {exp.alert.describe()} not checked: {why}", file=sys.stderr
        )
        return alerts.AlertTiming(f"{exp.alert.describe()} (not checked: {why})", None, None, False)
    injected = float(fault["injected_at"])
    recovered = (
        None if time_to_recover_s is None else float(fault["cleared_at"]) + time_to_recover_s
    )
    return alerts.Pending(exp.name, exp.alert, host, injected, recovered)


def with_alert(result: ExperimentResult, alert: alerts.AlertTiming) -> ExperimentResult:
    """The result with its alert's times, and the alert's finding (if any) added to its own."""
    return dataclasses.replace(
        result,
        finding=findings(result.finding, alert.finding()),
        alert=alert.alert,
        alert_fired_s=alert.fired_after_s,
        alert_resolved_s=alert.resolved_after_s,
    )


def run_one(
    exp: Experiment, target: str, out: Path, run_id: str, env: dict[str, str]
) -> tuple[ExperimentResult, alerts.Pending | alerts.AlertTiming | None]:
    """Run one experiment; its result, and its alert (still to be read, or why it is not)."""
    marker = f"chaos-{run_id[-8:]}-{exp.name}"
    journal_path = out / f"{exp.name}.journal.json"
    journal_path.unlink(missing_ok=True)
    print(f"chaos: {exp.name}: {exp.fault} on {exp.target}", file=sys.stderr, flush=True)
    monitor, writer = Monitor(), Writer(marker)
    monitor.start()
    writer.start()
    fixed: list[str] = []
    try:
        # A baseline before the fault: the monitor saw the platform healthy and a write was
        # acknowledged (was a fixed 2 s; the hypothesis "before" then adds ~2.5 s of samples).
        await_traffic(monitor, writer, since=0.0)
        run_chaos(exp, journal_path, out / f"{exp.name}.log", env)
    finally:
        restored = restore.restore_all()  # the safety net, whatever happened above
        fixed = [*restored.fixed, *(f"{item} (could not be removed)" for item in restored.left)]
        if fixed:
            print(f"chaos: {exp.name}: the safety net had to fix {fixed}", file=sys.stderr)
        settled = steady.wait_for_steady_state(SETTLE_TIMEOUT_S)
        # Traffic after the settle (was a fixed 2 s): a passing round and an acknowledged
        # write that started once the steady state was back, so the audit covers writes
        # made after the recovery too.
        if settled["recovered"]:
            await_traffic(monitor, writer, since=float(settled["recovered_at"]))
        writer.stop()
        monitor.stop()
    journal: dict[str, Any] = (
        json.loads(journal_path.read_text(encoding="utf-8")) if journal_path.exists() else {}
    )
    result = audit.audit(writer.writes, marker)
    fault = fault_output(journal)
    recovery = recovery_output(journal)
    finding = None
    if fault is None:
        ttd = ttr = None
        requests = errors = 0
        finding = f"the fault was not injected (journal status {journal.get('status')})"
    else:
        t = timings.compute(monitor.samples(), fault["injected_at"], fault["cleared_at"])
        ttd, ttr = t.time_to_detect_s, t.time_to_recover_s
        samples = monitor.request_samples() + writer.samples()
        requests, errors = timings.in_window(samples, fault["injected_at"], t.window_end)
        if recovery is not None and not recovery["recovered"]:
            ttr = None
            finding = (
                f"did not recover by itself within {recovery['waited_s']:.0f} s; "
                "the rollback restored it"
            )
    late = late_recovery(exp, ttr if fault is not None else None)
    if late:
        finding = findings(late, finding)
    service = service_output(journal)
    if (
        fault
        and service
        and "restarts_before" in fault
        and service["restarts"] <= fault["restarts_before"]
    ):
        note = (
            f"systemd did not restart {service['unit']} (NRestarts "
            f"{fault['restarts_before']} -> {service['restarts']}, now {service['active']})"
        )
        finding = findings(note, finding)
    if fixed:
        finding = findings(finding, f"safety net fixed {', '.join(fixed)}")
    if result.lost:
        finding = findings(finding, f"lost ids {result.lost_ids[:10]}")
    if not settled["recovered"]:
        finding = findings(finding, "steady state not back after the run")
    alert = alert_check(exp, target, fault, ttr)
    done = ExperimentResult(
        name=exp.name,
        fault=exp.fault,
        hypothesis_met_before=hypothesis(journal, "before"),
        hypothesis_met_after=hypothesis(journal, "after"),
        time_to_detect_s=None if ttd is None else round(ttd, 2),
        time_to_recover_s=None if ttr is None else round(ttr, 2),
        requests_during_fault=requests,
        error_rate=round(errors / requests, 4) if requests else 0.0,
        writes_acknowledged=result.acknowledged,
        writes_failed=result.failed,
        writes_lost=result.lost,
        rollback_ok=rollbacks_verified(journal) and not fixed,
        journal=str(journal_path),
        target=target,
        mechanism=str(fault.get("mechanism") or exp.mechanism) if fault else exp.mechanism,
        finding=finding,
        alert=exp.alert.describe() if exp.alert else None,
    )
    if isinstance(alert, alerts.AlertTiming):
        return with_alert(done, alert), None
    return done, alert


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_run(args: argparse.Namespace) -> int:
    # SIGINT (also when started in the background with it ignored) and SIGTERM (a CI timeout)
    # interrupt the run: Chaos Toolkit gets one SIGINT and plays the rollbacks, then the
    # safety net runs (run_one's finally).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ["OPSPROOF_INVENTORY"] = args.inventory
    if args.confirm_production:
        os.environ["OPSPROOF_CHAOS_CONFIRM"] = context.CONFIRM_VALUE
    experiments = discover(Path(args.dir), [n for n in args.experiment or [] if n])
    day = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d")
    out = Path(args.out or f"reports/chaos/{day}")
    out.mkdir(parents=True, exist_ok=True)
    hosts = [t.name for t in context._targets(args.inventory)]
    for name in hosts:  # refusal rules before any fault: unknown or unconfirmed hosts stop here
        context.target(name)
    meta = run_meta_from_environment(
        "chaos",
        inventory=args.inventory,
        hosts=hosts,
        extra_tools=("chaostoolkit", "chaostoolkit-lib"),
        conditions={"experiments": [e.name for e in experiments], "writer_rate_per_s": 4.0},
    )
    env = {**os.environ, "OPSPROOF_INVENTORY": args.inventory}
    results: list[ExperimentResult] = []
    pending: list[alerts.Pending] = []

    def read_alerts(which: list[alerts.Pending]) -> None:
        """Wait for these experiments' alerts, put their times in the results, print the rows."""
        timed = alerts.await_alerts(which)
        for i, r in enumerate(results):
            if r.name in timed:
                results[i] = with_alert(r, timed[r.name])
                print(" | ".join(report.row(results[i])), file=sys.stderr, flush=True)
        pending[:] = [p for p in pending if p not in which]

    try:
        for exp in experiments:
            host = context.resolve_host(exp.target).name
            read_alerts([p for p in pending if p.blocks(exp.alert, host)])
            result, alert = run_one(exp, host, out, meta.id, env)
            results.append(result)
            if isinstance(alert, alerts.Pending):
                pending.append(alert)
                print(
                    f"chaos: {exp.name}: alert {alert.expected.describe()} read later",
                    file=sys.stderr,
                )
            else:
                print(" | ".join(report.row(result)), file=sys.stderr, flush=True)
        read_alerts(list(pending))
    except KeyboardInterrupt:
        print(
            "chaos: interrupted: Chaos Toolkit played the rollbacks and the safety net ran; "
            "the interrupted experiment is not in the summary",
            file=sys.stderr,
        )
        for i, r in enumerate(results):
            if any(p.experiment == r.name for p in pending):
                note = "alert not read: the run was interrupted"
                results[i] = dataclasses.replace(r, finding=findings(r.finding, note))
        return 130
    finally:
        doc = ResultsDocument(run=meta.finished(), results=tuple(results))
        if results:
            write_results(doc, out / "summary.json")
            write_results(doc, out / f"summary-{meta.id}.json")
            report.write(doc, out, [r.journal for r in results])
            print(f"chaos: summary in {out}/summary.{{json,md,html}}", file=sys.stderr)
    bad = [r for r in results if r.writes_lost or not r.rollback_ok]
    return 1 if bad else 0


def cmd_restore(args: argparse.Namespace) -> int:
    os.environ["OPSPROOF_INVENTORY"] = args.inventory
    if args.confirm_production:
        os.environ["OPSPROOF_CHAOS_CONFIRM"] = context.CONFIRM_VALUE
    restored = restore.restore_all()
    print("restored: " + (", ".join(restored.fixed) if restored.fixed else "nothing to restore"))
    if restored.left:
        raise OpsproofError(
            f"chaos restore: still there after removal: {', '.join(restored.left)}",
            fix="read the residue's entry (RESIDUES in src/opsproof/chaos/faults_*.py) and "
            "remove it by hand on the host named",
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for exp in discover(Path(args.dir), []):
        print(f"{exp.name:16} {exp.target:8} {exp.fault} ({exp.mechanism})")
    return 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = command_group(groups, "chaos", help="chaos experiments (Chaos Toolkit) on the hosts")
    for name, func, text in (
        ("run", cmd_run, "run experiments, audit writes, write the summary"),
        ("restore", cmd_restore, "remove every fault opsproof can inject, start the services"),
        ("list", cmd_list, "list the experiments"),
    ):
        sub = commands.add_parser(name, help=text)
        add_inventory_option(sub)
        sub.add_argument("--dir", default="chaos", help="directory of experiment files")
        sub.add_argument(
            "--confirm-production",
            action="store_true",
            help="allow faults on hosts outside the inventory's lab group",
        )
        sub.set_defaults(func=func)
        if name == "run":
            sub.add_argument("-e", "--experiment", action="append", help="name (repeatable)")
            sub.add_argument("--out", help="report directory (default reports/chaos/<date>)")


__all__ = ["OpsproofError", "register"]
