"""Pure logic of the chaos experiments: timings, the write audit, host refusal, volume checks,
the summary and the experiment files (the faults themselves run in tests/e2e/test_chaos.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from opsproof.chaos import audit, context, report, runner, steady, timings
from opsproof.chaos.faults_network import loss_verdict, rules
from opsproof.chaos.faults_resources import check_volume, fill_bytes
from opsproof.errors import ConfigError, PreconditionError
from opsproof.results import ExperimentResult, ResultsDocument, load_results, write_results
from opsproof.results.model import RunMeta
from opsproof.ssh_targets import SshTarget

REPO = Path(__file__).resolve().parents[2]
S = timings.Sample


def series(start: float, oks: str, step: float = 1.0) -> list[timings.Sample]:
    return [S(start + i * step, c == "+") for i, c in enumerate(oks)]


def test_instant_fault_detect_and_recover() -> None:
    # injected at 100; samples at 100..109: fails from 102 to 105, passes from 106
    t = timings.compute(series(100, "++----++++"), injected_at=100.5, cleared_at=100.5)
    assert t.time_to_detect_s == pytest.approx(1.5)
    assert t.time_to_recover_s == pytest.approx(5.5)
    assert t.window_end == 106


def test_held_fault_recovery_counts_from_its_end() -> None:
    # a 5 s partition from 100 to 105; the platform passes again at 106
    t = timings.compute(series(100, "+-----++++"), injected_at=100, cleared_at=105)
    assert t.time_to_detect_s == 1
    assert t.time_to_recover_s == 1


def test_flapping_recovers_at_the_last_unbroken_run() -> None:
    t = timings.compute(series(0, "+--+-+++"), injected_at=0, cleared_at=0)
    assert t.time_to_recover_s == 5


def test_never_detected_and_never_recovered() -> None:
    quiet = timings.compute(series(0, "+++++"), injected_at=1, cleared_at=3)
    assert (quiet.time_to_detect_s, quiet.time_to_recover_s) == (None, None)
    stuck = timings.compute(series(0, "++---"), injected_at=1, cleared_at=1)
    assert stuck.time_to_detect_s == 1
    assert stuck.time_to_recover_s is None


def test_samples_before_injection_do_not_count() -> None:
    t = timings.compute(series(0, "--+++-+"), injected_at=4, cleared_at=4)
    assert t.time_to_detect_s == 1


def test_requests_in_window() -> None:
    assert timings.in_window(series(0, "+-+-+"), 1, 3) == (3, 2)


def test_p95_nearest_rank() -> None:
    assert steady.p95([]) == 0
    assert steady.p95([float(v) for v in range(1, 101)]) == 95
    assert steady.p95([5.0]) == 5


def writes() -> list[audit.Write]:
    return [
        audit.Write("sharing", 1.0, True, 10),
        audit.Write("intake", 2.0, True, 11),
        audit.Write("intake", 3.0, False, None),
        audit.Write("investment", 4.0, True, 12),
    ]


def test_traffic_seen_needs_a_passing_round_and_an_acknowledged_write_since() -> None:
    monitor, writer = runner.Monitor(), runner.Writer("m")
    assert not runner.traffic_seen(monitor, writer, since=0)
    monitor.rounds.append(steady.Round(100.0, True, (5.0,), 0))
    writer.writes.append(audit.Write("intake", 100.2, False, None))  # refused: not enough
    assert not runner.traffic_seen(monitor, writer, since=0)
    writer.writes.append(audit.Write("intake", 100.4, True, 7))
    assert runner.traffic_seen(monitor, writer, since=100.0)
    # Both must have started at `since` or later; a failed round does not count.
    assert not runner.traffic_seen(monitor, writer, since=100.1)
    monitor.rounds.append(steady.Round(100.5, False, (5.0,), 1))
    assert not runner.traffic_seen(monitor, writer, since=100.1)
    monitor.rounds.append(steady.Round(101.0, True, (5.0,), 0))
    assert runner.traffic_seen(monitor, writer, since=100.1)
    assert not runner.traffic_seen(monitor, writer, since=100.5)  # the write is older


def test_audit_tally_counts_lost_writes() -> None:
    result = audit.tally(writes(), {"sharing": {10}, "investment": {12}}, marked=2)
    assert (result.acknowledged, result.failed, result.lost) == (3, 1, 1)
    assert result.lost_ids == (("intake", 11),)


def test_audit_nothing_lost() -> None:
    found = {"sharing": {10}, "intake": {11}, "investment": {12}}
    assert audit.tally(writes(), found, marked=3).lost == 0


def test_audit_query_names_every_acknowledged_id() -> None:
    sql = audit.sql_for(writes(), "chaos-x'y")
    assert "public.intake_report WHERE id = ANY('{11}'" in sql
    assert "public.sharing_notice WHERE id = ANY('{10}'" in sql
    assert "LIKE 'chaos-x''y%'" in sql  # the marker is quoted


def host(name: str, *groups: str) -> SshTarget:
    return SshTarget(name, "10.0.0.1", "ops", 22, None, (), tuple(groups))


def test_host_outside_the_inventory_is_refused() -> None:
    with pytest.raises(ConfigError, match="not in the inventory"):
        context.allowed([host("app01", "app", "lab")], "evil01", confirm=None)


def test_production_host_needs_confirmation() -> None:
    targets = [host("app1.prod", "app")]
    with pytest.raises(PreconditionError, match="--confirm-production"):
        context.allowed(targets, "app1.prod", confirm=None)
    assert context.allowed(targets, "app1.prod", confirm="production").name == "app1.prod"


def test_lab_host_needs_no_confirmation() -> None:
    assert context.allowed([host("app01", "app", "lab")], "app01", confirm=None).name == "app01"


def test_disk_fill_refuses_root_and_unlimited_volumes() -> None:
    with pytest.raises(ConfigError, match="root filesystem"):
        check_volume("/srv/data", "/", "overlay", "overlay")
    with pytest.raises(ConfigError, match="not a size-limited volume"):
        check_volume("/srv/data", "/srv", "overlay", "overlay")
    check_volume("/srv/data", "/srv/data", "/dev/loop2", "ext4")
    check_volume("/run/x", "/run/x", "tmpfs", "tmpfs")


def test_fill_bytes() -> None:
    assert fill_bytes(1000, 240, 90) == 660
    assert fill_bytes(1000, 950, 90) == 0
    with pytest.raises(ConfigError, match="between 1 and 98"):
        fill_bytes(1000, 0, 100)


def test_network_rules_live_in_their_own_table() -> None:
    script = rules("10.213.0.13", 5432, loss_verdict(20))
    assert "add table inet opsproof_chaos" in script
    assert "ip daddr 10.213.0.13 tcp dport 5432 numgen random mod 100 < 20 drop" in script
    assert "inet filter" not in script
    with pytest.raises(ConfigError):
        loss_verdict(0)


def result(**changes: object) -> ExperimentResult:
    base: dict[str, object] = {
        "name": "jvm-kill",
        "fault": "SIGKILL of the Tomcat JVM",
        "hypothesis_met_before": True,
        "hypothesis_met_after": True,
        "time_to_detect_s": 0.9,
        "time_to_recover_s": 15.8,
        "requests_during_fault": 168,
        "error_rate": 0.905,
        "writes_acknowledged": 65,
        "writes_failed": 33,
        "writes_lost": 0,
        "rollback_ok": True,
        "journal": "reports/chaos/x/jvm-kill.journal.json",
        "target": "app01",
        "mechanism": "systemctl kill",
    }
    base.update(changes)
    return ExperimentResult(**base)  # type: ignore[arg-type]


def test_summary_is_a_valid_results_document(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
    meta = RunMeta("chaos-1", "chaos", now, now, "tester")
    doc = ResultsDocument(meta, (result(), result(name="db-kill", time_to_recover_s=None)))
    write_results(doc, tmp_path / "summary.json")
    assert load_results(tmp_path / "summary.json") == doc
    report.write(doc, tmp_path)
    md = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| jvm-kill | SIGKILL of the Tomcat JVM | app01 | met / met | 0.9 | 15.8 | 168 |" in md
    assert "did not recover" in md
    assert "65 / 33 / 0" in md
    assert "<td>90.5 %</td>" in (tmp_path / "summary.html").read_text(encoding="utf-8")


def test_every_experiment_file_is_complete() -> None:
    found = runner.discover(REPO / "chaos", [])
    assert len(found) >= 10
    for exp in found:
        data = json.loads(exp.path.read_text(encoding="utf-8"))
        assert data["steady-state-hypothesis"]["probes"], exp.name
        assert data["rollbacks"], f"{exp.name} has no rollback"
        assert exp.target.startswith("group:"), exp.name


def test_unknown_experiment_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="choose from"):
        runner.discover(REPO / "chaos", ["no-such"])


def test_rollbacks_verified_needs_every_rollback_verified() -> None:
    ok = {"status": "succeeded", "output": {"verified": True}}
    assert runner.rollbacks_verified({"rollbacks": [ok, ok]})
    assert not runner.rollbacks_verified({"rollbacks": []})
    assert not runner.rollbacks_verified({"rollbacks": [ok, {"status": "failed", "output": None}]})


def test_a_recovery_bound_is_read_from_the_experiment_and_enforced() -> None:
    exp = runner.load_experiment(Path(runner.__file__).parents[3] / "chaos/nginx-master-kill.json")
    assert exp.recover_within_s == 10
    assert runner.late_recovery(exp, 4.2) is None
    late = runner.late_recovery(exp, 12.5)
    assert late is not None
    assert "12.5 s" in late
    assert "10 s" in late
    # No recovery at all is the runner's other finding, not this one.
    assert runner.late_recovery(exp, None) is None


def test_an_experiment_without_a_bound_has_none() -> None:
    exp = runner.load_experiment(Path(runner.__file__).parents[3] / "chaos/jvm-kill.json")
    assert exp.recover_within_s is None
    assert runner.late_recovery(exp, 500.0) is None
