"""`opsproof chaos restore` clears what every fault can leave behind (issue 13 §5): the residue
of each fault is put on the lab hosts by hand, as an interrupted fault would leave it — the
latency fault's iptables chain with its NFQUEUE rule, the OUTPUT jump and the running delayer
included — and the hosts are then read directly (not through the registry) to prove it is gone.

Harmless by construction: the delayer holds app01's packets to db01 for 1 ms, the loss rule
matches a port nothing uses, stress-ng runs one worker at 5 % load, the fill file is 1 MB,
nginx is stopped for a few seconds."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator

import pytest

from opsproof.chaos import faults_latency, faults_memory, faults_network, faults_resources

from .conftest import ADDRESS, Run, on, sh

pytestmark = pytest.mark.e2e

APP, DB, WEB = ADDRESS["app01"], ADDRESS["db01"], ADDRESS["web01"]
FILL = f"/srv/data/{faults_resources.FILL_NAME}"
JVM_JAR = 'pid=$(systemctl show -p MainPID --value tomcat10); j=/proc/"$pid"/root' + (
    faults_memory.JAR_IN_JVM
)


def root(address: str, script: str) -> Run:
    """A script as root on a lab host (the admin user's passwordless sudo)."""
    return on(address, f"sudo -n sh -c {shlex.quote(script)}", timeout=60)


def restore() -> Run:
    return sh(".venv/bin/opsproof", "chaos", "restore", "-i", "inventories/lab", timeout=300)


def inject_latency() -> None:
    """What faults_latency.latency installs on the NFQUEUE path (its own Mechanism's commands,
    delay 1 ms, held 90 s), left as it is mid-fault."""
    call = (
        "import json; from opsproof.chaos import faults_latency; "
        f"print(json.dumps(faults_latency.nfqueue('app01', {DB!r}, 5432, 1, 90).install))"
    )
    made = sh(".venv/bin/python", "-c", call, env={"OPSPROOF_INVENTORY": "inventories/lab"})
    assert made.rc == 0, made.out
    install = json.loads(made.out.strip().splitlines()[-1])
    run = root(APP, " && ".join(f"( {command} )" for command in install))
    assert run.rc == 0, run.out


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[None]:
    """The provisioned lab (`provisioned`, unless OPSPROOF_E2E_PROVISIONED=1 says it already
    is: this file on its own); restored afterwards whatever the tests did."""
    if os.environ.get("OPSPROOF_E2E_PROVISIONED") != "1":
        request.getfixturevalue("provisioned")
    first = restore()
    assert first.rc == 0, first.out  # a clean start
    yield
    restore()


def test_restore_clears_every_faults_residue(lab: None) -> None:
    inject_latency()
    loss = faults_network.rules(DB, 9, faults_network.loss_verdict(20))
    stress = (
        f"systemd-run --quiet --unit={faults_resources.CPU_UNIT} -p RuntimeMaxSec=120 "
        "stress-ng --cpu 1 --cpu-load 5 --timeout 110s --quiet"
    )
    app = root(
        APP,
        f"printf %s {shlex.quote(loss)} | nft -f - && {stress} && "
        f'echo attach > {faults_memory.ATTACHER} && {JVM_JAR} && echo agent > "$j"',
    )
    assert app.rc == 0, app.out
    assert root(DB, f"fallocate -l 1M {FILL}").rc == 0
    assert root(WEB, "systemctl stop nginx").rc == 0

    # Each residue is really there (read directly on the host).
    present = root(
        APP,
        f"iptables -t mangle -C OUTPUT -j {faults_latency.CHAIN} && "
        f"iptables -t mangle -S {faults_latency.CHAIN} | grep -q 'NFQUEUE --queue-num 7' && "
        f"systemctl is-active {faults_latency.DELAY_UNIT} && "
        f"nft list table inet {faults_network.TABLE} | grep -q numgen && "
        f"systemctl is-active {faults_resources.CPU_UNIT} && "
        f'[ -e {faults_memory.ATTACHER} ] && {JVM_JAR} && [ -e "$j" ]',
    )
    assert present.rc == 0, present.out

    run = restore()
    assert run.rc == 0, run.out
    reported = set(run.out.split("restored: ", 1)[1].split("\n", 1)[0].split(", "))
    assert {
        "app01:latency-output-jump",
        "app01:latency-nfqueue-chain",
        "app01:latency-mangle-table",
        "app01:latency-delayer",
        "app01:latency-delayer-script",
        "app01:nft-table",
        "app01:cpu-stress",
        "app01:oom-attacher",
        "app01:oom-agent-jar",
        "db01:fill-file-srv-data",
        "web01:nginx",
    } <= reported, run.out

    # Gone, read directly on the hosts.
    app_state = root(
        APP,
        f"echo rules=$(iptables -t mangle -S | grep -c {faults_latency.CHAIN}); "
        'echo tables=$(nft list tables | tr " \\n" _,); '
        f"echo units=$(systemctl is-active {faults_latency.DELAY_UNIT} "
        f"{faults_resources.CPU_UNIT} | sort -u | tr '\\n' ,); "
        f"echo files=$(ls {faults_latency.DELAYER} {faults_memory.ATTACHER} 2>/dev/null | wc -l); "
        f'{JVM_JAR}; echo jar=$([ -e "$j" ] && echo left || echo gone); '
        "echo tomcat=$(systemctl is-active tomcat10)",
    )
    found = dict(line.split("=", 1) for line in app_state.out.split() if "=" in line)
    assert found == {
        "rules": "0",  # no OUTPUT jump, no chain, no NFQUEUE rule
        "tables": "table_inet_filter,",  # no opsproof_chaos, and the empty ip mangle went too
        "units": "inactive,",  # delayer and stress-ng
        "files": "0",
        "jar": "gone",
        "tomcat": "active",  # the JVM was left alone
    }, app_state.out
    # No delayer or stress-ng process (the pattern is kept out of its own command line).
    procs = on(APP, "pgrep -fc 'nfq-dela[y]|stress-n[g]' || true")
    assert procs.out.strip() == "0", procs.out
    assert root(DB, f"[ ! -e {FILL} ]").rc == 0
    assert on(WEB, "systemctl is-active nginx").out.strip() == "active"

    again = restore()
    assert again.rc == 0, again.out
    assert "restored: nothing to restore" in again.out


def test_the_latency_rollback_clears_from_the_registry(lab: None) -> None:
    inject_latency()
    call = (
        "from opsproof.chaos import faults_latency; "
        "print(faults_latency.verify_cleared('group:app'))"
    )
    run = sh(".venv/bin/python", "-c", call, env={"OPSPROOF_INVENTORY": "inventories/lab"})
    assert run.rc == 0, run.out
    assert "'verified': True" in run.out
    assert "'latency-nfqueue-chain'" in run.out
    assert "'latency-delayer'" in run.out
    left = root(
        APP,
        f"iptables -t mangle -S {faults_latency.CHAIN} >/dev/null 2>&1 || "
        f"systemctl is-active --quiet {faults_latency.DELAY_UNIT} || echo clean",
    )
    assert left.out.strip() == "clean", left.out
