"""Latency between two hosts.

Where the kernel has netem, `tc qdisc add dev <if> root netem delay <ms>` (scoped to the peer
by a prio qdisc and a u32 filter) is the standard fault. This lab's kernel has no netem
(`Specified qdisc kind is unknown`) and no nftables `queue` statement, but it has the
iptables NFQUEUE target: packets to the peer's port go to a netfilter queue, and a small
delayer on the host (remote/nfq_delay.py, stock python3, no packages) holds each one for
the delay before accepting it. `--queue-bypass` lets packets through if the delayer is gone.

The mechanism is detected on the host: netem when `tc` accepts it, else NFQUEUE.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from opsproof.chaos import context
from opsproof.chaos.residue import Residue, clear_or_fail, file_residue, unit_residue
from opsproof.chaos.residue import clear as clear_residues

QUEUE = 7
CHAIN = "OPSPROOF_CHAOS"
DELAYER = "/run/opsproof-chaos-nfq-delay.py"
DELAY_UNIT = "opsproof-chaos-delay"
# The delayer's command line as a pgrep pattern; `[.]` keeps it from matching the shell that
# runs the pattern itself.
DELAYER_PROCESS = "python3 " + DELAYER.replace(".py", "[.]py")

# What the latency fault can leave behind (opsproof.chaos.residue), removed in this order:
# the OUTPUT jump before its chain, the rules before the delayer.
RESIDUES: dict[str, tuple[Residue, ...]] = {
    "latency": (
        Residue(
            name="latency-output-jump",
            what=f"iptables -t mangle OUTPUT rule jumping to {CHAIN}",
            detect=f"iptables -t mangle -C OUTPUT -j {CHAIN}",
            remove=f"while iptables -t mangle -D OUTPUT -j {CHAIN}; do :; done",
        ),
        Residue(
            name="latency-nfqueue-chain",
            what=f"iptables -t mangle chain {CHAIN} with the NFQUEUE rule (queue {QUEUE})",
            detect=f"iptables -t mangle -S {CHAIN}",
            remove=f"iptables -t mangle -F {CHAIN}; iptables -t mangle -X {CHAIN}",
        ),
        Residue(
            name="latency-mangle-table",
            what="the empty nftables table ip mangle that iptables-nft created for the rule",
            detect=(
                "nft list table ip mangle && s=$(iptables -t mangle -S) && "
                "[ -z \"$(printf '%s\\n' \"$s\" | grep -v '^-P')\" ]"
            ),
            remove="nft delete table ip mangle",
        ),
        unit_residue(
            "latency-delayer",
            f"the NFQUEUE delayer: transient unit {DELAY_UNIT} (running or failed) or its process",
            DELAY_UNIT,
            process=DELAYER_PROCESS,
        ),
        file_residue("latency-delayer-script", f"the delayer's code {DELAYER}", DELAYER),
        Residue(
            name="latency-netem",
            what="a tc netem qdisc (under its prio root), where the kernel has netem",
            detect="tc qdisc show | grep -q ' netem '",
            remove=(
                'for d in $(tc qdisc show | awk \'$2 == "netem" { for (i = 3; i < NF; i++) '
                'if ($i == "dev") print $(i + 1) }\' | sort -u); do '
                'tc qdisc del dev "$d" root; done'
            ),
        ),
    )
}


@dataclass(frozen=True)
class Mechanism:
    """How the delay is made on a host: its name in the results and the commands (as root,
    in order) that install it. Whatever they leave, `clear` removes (RESIDUES)."""

    name: str
    install: tuple[str, ...]


def has_netem(host: str) -> bool:
    probe = context.sudo(
        host,
        "ip link add opsproof-nq type dummy 2>/dev/null; "
        "tc qdisc add dev opsproof-nq root netem delay 1ms 2>&1; rc=$?; "
        "ip link del opsproof-nq 2>/dev/null; exit $rc",
        check=False,
    )
    return probe.rc == 0


def netem(host: str, peer_ip: str, delay: float) -> Mechanism:
    """A prio root qdisc on the route's device, netem on one band, a u32 filter to the peer."""
    route = context.sudo(host, f"ip -o route get {peer_ip}").stdout.split()
    dev = route[route.index("dev") + 1]
    return Mechanism(
        f"tc netem delay {delay:.0f}ms",
        (
            f"tc qdisc add dev {dev} root handle 1: prio && "
            f"tc qdisc add dev {dev} parent 1:3 handle 30: netem delay {delay:.0f}ms && "
            f"tc filter add dev {dev} parent 1:0 protocol ip u32 match ip dst {peer_ip}/32 "
            "flowid 1:3",
        ),
    )


def nfqueue(host: str, peer_ip: str, port: int, delay: float, held: int) -> Mechanism:
    """The delayer in a transient unit (given half a second to bind its queue), then the
    rules that send packets to the peer's port to it."""
    context.require_command(
        host,
        "iptables",
        f"{host} has neither netem nor iptables for the NFQUEUE delayer",
        fix="enable chaos_tools for the host (it installs iptables), make provision",
    )
    code = resources.files("opsproof.chaos.remote").joinpath("nfq_delay.py").read_text()
    return Mechanism(
        f"iptables NFQUEUE + userspace delayer {delay:.0f} ms (no netem)",
        (
            f"printf %s {shlex.quote(code)} > {DELAYER}",
            f"systemd-run --quiet --unit={DELAY_UNIT} -p RuntimeMaxSec={held + 30} "
            f"python3 {DELAYER} {QUEUE} {delay:.0f} {held + 5} && sleep 0.5",
            f"iptables -t mangle -N {CHAIN} && "
            f"iptables -t mangle -A {CHAIN} -d {peer_ip} -p tcp --dport {port} "
            f"-j NFQUEUE --queue-num {QUEUE} --queue-bypass && "
            f"iptables -t mangle -I OUTPUT -j {CHAIN}",
        ),
    )


def clear(host: str) -> bool:
    """Remove the queue rules, the mangle table if only they used it, the delayer and a
    netem qdisc (RESIDUES); True when something was there."""
    return bool(clear_residues(host, RESIDUES["latency"]).fixed)


def latency(
    host: str, peer: str, port: int = 5432, delay_ms: float = 200, duration_s: float = 30
) -> dict[str, Any]:
    """Every packet from `host` to `peer`:`port` is held `delay_ms` for `duration_s`."""
    delay = max(1.0, min(float(delay_ms), 5000.0))
    held = int(max(1, min(float(duration_s), 180)))
    peer_ip = context.address(peer)
    if has_netem(host):
        mechanism = netem(host, peer_ip, delay)
    else:
        mechanism = nfqueue(host, peer_ip, port, delay, held)
    clear(host)
    injected = time.time()
    try:
        for command in mechanism.install:
            context.sudo(host, command)
        injected = time.time()
        time.sleep(held)
    finally:
        clear(host)
    return {
        "injected_at": injected,
        "cleared_at": time.time(),
        "held_s": held,
        "delay_ms": delay,
        "mechanism": mechanism.name,
    }


def verify_cleared(host: str) -> dict[str, Any]:
    """Rollback: no queue rule, no delayer, no netem left (removed here if they were)."""
    return clear_or_fail(host, RESIDUES["latency"])
