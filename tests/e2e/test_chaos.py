"""Chaos experiments end to end on the lab: the JVM kill, the postmaster kill, the app-db
partition and the SIGKILL of nginx's master (back by systemd alone within 10 s), each with the
lost-write audit (0 lost) and its rollback verified on the hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsproof.results import ExperimentResult, load_results

from .conftest import ADDRESS, Run, on, sh

pytestmark = pytest.mark.e2e

# In this order each unit's ServiceRestarted resolves while the next fault runs on another host;
# the partition's SubsystemUnavailable (the whole platform) holds what follows it, so it is last.
EXPERIMENTS = ("jvm-kill", "db-kill", "nginx-master-kill", "db-partition")


@pytest.fixture(scope="module")
def chaos_run(provisioned: Run, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    out = tmp_path_factory.mktemp("chaos")
    run = sh(
        "make", "chaos", f"EXPERIMENT={' '.join(EXPERIMENTS)}", f"CHAOS_DIR={out}", timeout=1500
    )
    return run, out


def results(out: Path) -> dict[str, ExperimentResult]:
    doc = load_results(out / "summary.json")  # validates against the results schema
    return {r.name: r for r in doc.results if isinstance(r, ExperimentResult)}


def test_make_chaos_succeeds_and_writes_the_summary(chaos_run: tuple[Run, Path]) -> None:
    run, out = chaos_run
    assert run.rc == 0, run.out[-4000:]
    assert set(results(out)) == set(EXPERIMENTS)
    for name in EXPERIMENTS:
        assert (out / f"{name}.journal.json").is_file()
    table = (out / "summary.md").read_text(encoding="utf-8")
    assert all(f"| {name} |" in table for name in EXPERIMENTS)
    assert (out / "summary.html").is_file()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_fault_detected_recovered_and_no_write_lost(chaos_run: tuple[Run, Path], name: str) -> None:
    r = results(chaos_run[1])[name]
    assert r.hypothesis_met_before, r
    assert r.time_to_detect_s is not None, f"{name}: the fault never showed: {r}"
    assert r.time_to_recover_s is not None, f"{name} did not recover by itself: {r.finding}"
    assert r.hypothesis_met_after, r
    assert r.writes_acknowledged > 0
    assert r.writes_lost == 0, r.finding
    assert r.rollback_ok, r.finding
    assert r.finding is None, r.finding  # e.g. systemd did not restart the service


def test_rollbacks_left_the_hosts_clean(chaos_run: tuple[Run, Path]) -> None:
    app = on(ADDRESS["app01"], "sudo -n nft list table inet opsproof_chaos")
    assert app.rc != 0, f"the partition's table is still on app01: {app.out}"
    for address, unit in (
        (ADDRESS["app01"], "tomcat10"),
        (ADDRESS["db01"], "postgresql@15-main"),
        (ADDRESS["web01"], "nginx"),
    ):
        state = on(address, f"systemctl is-active {unit}")
        assert state.out.strip() == "active", (unit, state.out)


def test_a_production_inventory_needs_confirmation(tmp_path: Path) -> None:
    inventory = tmp_path / "production"
    (inventory / "group_vars/all").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    app:\n      hosts:\n        app1.example:\n"
        "          ansible_host: 192.0.2.10\n",
        encoding="utf-8",
    )
    (inventory / "group_vars/all/connection.yml").write_text("ansible_user: ops\n")
    run = sh(".venv/bin/opsproof", "chaos", "run", "-i", str(inventory), "-e", "jvm-kill")
    assert run.rc == 3, run.out
    assert "app1.example is a production host" in run.out
    assert "--confirm-production" in run.out
