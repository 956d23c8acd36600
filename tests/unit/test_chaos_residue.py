"""The residue registry (issue 13 §5): every fault an experiment injects declares what it can
leave behind; the safety net, `opsproof chaos restore` and the rollbacks clear from it. The
clearing script itself runs here, locally, on residues made of temporary files."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsproof import ssh_targets
from opsproof.chaos import (
    faults_latency,
    faults_memory,
    faults_network,
    faults_resources,
    residue,
    restore,
)
from opsproof.chaos.residue import Residue
from opsproof.errors import OpsproofError

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((REPO / "chaos").glob("*.json"))


def fault_actions(path: Path) -> list[str]:
    """`module.func` of each action of the experiment's method that injects a fault."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        f"{a['provider']['module']}.{a['provider']['func']}"
        for a in data["method"]
        if a["type"] == "action" and ".faults_" in a["provider"]["module"]
    ]


def names(found: tuple[Residue, ...]) -> set[str]:
    return {r.name for r in found}


# --- the registry --------------------------------------------------------------------------


def test_there_are_experiments_to_cover() -> None:
    assert len(EXPERIMENTS) >= 10
    assert all(fault_actions(p) for p in EXPERIMENTS), "an experiment without a fault action"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_fault_of_every_experiment_has_a_registry_entry(path: Path) -> None:
    for action in fault_actions(path):
        assert action in restore.REGISTRY, f"{path.name}: {action} declares no RESIDUES entry"


def test_every_registry_entry_is_a_real_fault_action() -> None:
    for key, found in restore.REGISTRY.items():
        module, func = key.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), func, None)), key
        assert found, f"{key}: an empty entry clears nothing"


def test_every_residue_says_what_it_is_and_how_it_goes() -> None:
    every = [r for found in restore.REGISTRY.values() for r in found]
    for r in every:
        assert r.name, r
        assert " " not in r.name, r  # reported as <host>:<name>
        assert r.what, r
        assert r.detect.strip(), r
        assert r.remove.strip(), r
    by_name: dict[str, Residue] = {}
    for r in every:  # one name, one description
        assert by_name.setdefault(r.name, r) == r, r.name


def test_the_latency_fault_declares_all_it_installs() -> None:
    found = restore.REGISTRY["opsproof.chaos.faults_latency.latency"]
    assert names(found) == {
        "latency-output-jump",
        "latency-nfqueue-chain",
        "latency-mangle-table",
        "latency-delayer",
        "latency-delayer-script",
        "latency-netem",
    }
    text = {r.name: r.detect + "\n" + r.remove for r in found}
    chain = faults_latency.CHAIN
    assert f"-D OUTPUT -j {chain}" in text["latency-output-jump"]
    assert f"-X {chain}" in text["latency-nfqueue-chain"]
    assert faults_latency.DELAY_UNIT in text["latency-delayer"]
    assert "pkill" in text["latency-delayer"]
    assert faults_latency.DELAYER in text["latency-delayer-script"]
    assert "tc qdisc del" in text["latency-netem"]
    # The jump goes before its chain can be deleted.
    order = [r.name for r in residue.ordered(found)]
    assert order.index("latency-output-jump") < order.index("latency-nfqueue-chain")


def test_the_delayer_pattern_finds_the_delayer_but_not_the_clearing_shell() -> None:
    pattern = re.compile(faults_latency.DELAYER_PROCESS)
    assert pattern.search(f"python3 {faults_latency.DELAYER} 7 200 35")
    script = residue.script(faults_latency.RESIDUES["latency"])
    assert pattern.search(f"sh -c {script}") is None


def test_network_resources_and_memory_faults_declare_theirs() -> None:
    table = f"nft delete table inet {faults_network.TABLE}"
    for action in ("partition", "packet_loss"):
        (r,) = restore.REGISTRY[f"opsproof.chaos.faults_network.{action}"]
        assert r.remove == table
    (fill,) = restore.REGISTRY["opsproof.chaos.faults_resources.fill_volume"]
    assert f"/srv/data/{faults_resources.FILL_NAME}" in fill.remove
    (cpu,) = restore.REGISTRY["opsproof.chaos.faults_resources.cpu_stress"]
    assert faults_resources.CPU_UNIT in cpu.remove
    oom = restore.REGISTRY["opsproof.chaos.faults_memory.exhaust_heap"]
    assert {"oom-attacher", "oom-agent-jar", "tomcat10"} <= names(oom)
    assert faults_memory.ATTACHER in next(r.remove for r in oom if r.name == "oom-attacher")


def test_process_faults_and_the_reboot_leave_services_to_start() -> None:
    for key in (
        "opsproof.chaos.faults_process.kill_main_process",
        "opsproof.chaos.faults_process.stop_service",
        "opsproof.chaos.faults_host.reboot",
    ):
        expected = {"nginx", "tomcat10", "postgresql@15-main", "rsyslog"}
        expected |= {"prometheus", "prometheus-alertmanager", "opsproof-alert-receiver"}
        assert names(restore.REGISTRY[key]) == expected
        assert all(r.service for r in restore.REGISTRY[key])


def test_each_host_gets_the_residues_of_its_groups_services_last() -> None:
    web = [r.name for r in restore.residues_for(("web", "lab"))]
    assert "nginx" in web
    assert "tomcat10" not in web
    assert "oom-agent-jar" not in web
    assert "latency-nfqueue-chain" in web  # a latency fault may target any host
    app = [r.name for r in restore.residues_for(("app",))]
    assert {"tomcat10", "oom-agent-jar", "cpu-stress", "nft-table"} <= set(app)
    assert "postgresql@15-main" not in app
    assert app[-1] == "tomcat10"  # the rules and units go before the service is started
    assert len(app) == len(set(app))
    assert len(web) == len(set(web))


# --- the clearing script, run here on temporary files -----------------------------------------


def sh(script: str) -> str:
    return subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, timeout=20, check=True
    ).stdout


def file_residue(path: Path, *, removable: bool = True, name: str | None = None) -> Residue:
    return Residue(
        name=name or path.name,
        what=f"the file {path}",
        detect=f"[ -e '{path}' ]",
        remove=f"rm -f '{path}'" if removable else "echo cannot; false",
    )


def test_the_script_removes_what_is_there_and_reports_what_stays(tmp_path: Path) -> None:
    (tmp_path / "rule").touch()
    (tmp_path / "stuck").touch()
    residues = [
        file_residue(tmp_path / "rule"),
        file_residue(tmp_path / "absent"),
        file_residue(tmp_path / "stuck", removable=False),
    ]
    out = sh(residue.script(residues))
    assert residue.parse("app01", out) == residue.Cleared("app01", ("rule",), ("stuck",))
    assert not (tmp_path / "rule").exists()
    assert "cannot" not in out  # what a removal prints is not mistaken for the report
    # Idempotent: a second run finds only what could not be removed.
    assert residue.parse("app01", sh(residue.script(residues))).fixed == ()


def test_ordered_keeps_the_first_of_a_name_and_puts_services_last(tmp_path: Path) -> None:
    a = file_residue(tmp_path / "a")
    svc = Residue("svc", "a service", "false", "true", service=True)
    b = file_residue(tmp_path / "b")
    assert residue.ordered([svc, a, file_residue(tmp_path / "x", name="a"), b]) == (a, b, svc)


class LocalHost:
    """context.sudo and resolve_host for one fake host whose 'root shell' is this process's."""

    def __init__(self, groups: tuple[str, ...] = ("app",)) -> None:
        self.target = ssh_targets.SshTarget("app01", "127.0.0.1", "ops", 22, None, (), groups)
        self.scripts: list[str] = []

    def resolve_host(self, host: str) -> ssh_targets.SshTarget:
        return self.target

    def sudo(self, host: str, command: str, **kw: Any) -> ssh_targets.Completed:
        self.scripts.append(command)
        p = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
        return ssh_targets.Completed(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> LocalHost:
    fake = LocalHost()
    monkeypatch.setattr(residue.context, "resolve_host", fake.resolve_host)
    monkeypatch.setattr(residue.context, "sudo", fake.sudo)
    return fake


def test_clear_skips_residues_of_other_groups(local: LocalHost, tmp_path: Path) -> None:
    (tmp_path / "web-only").touch()
    web_only = Residue("web-only", "x", f"[ -e '{tmp_path}/web-only' ]", "true", groups=("web",))
    assert residue.clear("app01", [web_only]) == residue.Cleared("app01", (), ())
    assert local.scripts == []  # nothing to do: no round trip


def test_a_rollback_fails_naming_what_is_still_there(local: LocalHost, tmp_path: Path) -> None:
    (tmp_path / "chain").touch()
    (tmp_path / "unit").touch()
    gone = file_residue(tmp_path / "chain")
    stuck = file_residue(tmp_path / "unit", removable=False)
    assert residue.clear_or_fail("app01", [gone]) == {
        "verified": True,
        "removed_by_rollback": True,
        "removed": ["chain"],
    }
    with pytest.raises(OpsproofError, match=r"still on app01: unit \(the file .*/unit\)") as err:
        residue.clear_or_fail("app01", [gone, stuck])
    assert "opsproof chaos restore" in str(err.value.fix)
    assert residue.clear_or_fail("app01", [gone])["removed_by_rollback"] is False


def test_a_script_that_dies_leaves_everything_unknown(local: LocalHost, tmp_path: Path) -> None:
    broken = Residue("broken", "x", "exit 3", "true")
    assert residue.clear("app01", [broken]) == residue.Cleared("app01", (), ("broken",))


def test_restore_all_loops_over_the_registry_on_the_platform_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def target(name: str, *groups: str) -> ssh_targets.SshTarget:
        return ssh_targets.SshTarget(name, "192.0.2.1", "ops", 22, None, (), groups)

    targets = {t.name: t for t in (target("web01", "web"), target("db01", "db"), target("ctl"))}
    cleared: dict[str, set[str]] = {}

    def clear(host: str, found: tuple[Residue, ...], **kw: Any) -> residue.Cleared:
        cleared[host] = {r.name for r in found}
        return residue.Cleared(host, ("nft-table",), ("nginx",) if host == "web01" else ())

    monkeypatch.setattr(restore.ssh_targets, "resolve", lambda inventory: list(targets.values()))
    monkeypatch.setattr(restore.context, "sudo", lambda *a, **kw: ssh_targets.Completed(0, "", ""))
    monkeypatch.setattr(restore.context, "resolve_host", lambda name: targets[name])
    monkeypatch.setattr(restore.residue, "clear", clear)
    done = restore.restore_all()
    assert set(cleared) == {"web01", "db01"}  # not the control host: no platform group
    assert cleared["db01"] == {r.name for r in restore.residues_for(("db",))}
    assert "latency-delayer" in cleared["db01"]
    assert "postgresql@15-main" in cleared["db01"]
    assert done == restore.Restored(("web01:nft-table", "db01:nft-table"), ("web01:nginx",))
