"""Network faults between two hosts, with nftables rules in a table of their own
(`inet opsproof_chaos`, added and deleted whole; the firewall role's table is never touched).

- partition: every packet between the host and the peer's port dropped, both directions;
- loss: `numgen random mod 100 < N` drops N % of those packets (netem's loss, without netem);
- latency: see faults_latency.

All are held for a bounded time and removed in a `finally`; the rollback deletes the table
again and verifies it is gone.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

from opsproof.chaos import context
from opsproof.chaos.residue import Residue, clear_or_fail
from opsproof.chaos.residue import clear as clear_residues
from opsproof.errors import ConfigError

TABLE = "opsproof_chaos"
MAX_HOLD_S = 180.0

NFT_TABLE = Residue(
    name="nft-table",
    what=f"nftables table inet {TABLE}: the partition's drop rules or the loss rule",
    detect=f"nft list table inet {TABLE}",
    remove=f"nft delete table inet {TABLE}",
)
# What each fault action can leave behind (opsproof.chaos.residue).
RESIDUES: dict[str, tuple[Residue, ...]] = {
    "partition": (NFT_TABLE,),
    "packet_loss": (NFT_TABLE,),
}


def rules(peer: str, port: int, verdict: str) -> str:
    """The nft script: one table, output and input chains matching the peer's port."""
    return (
        f"add table inet {TABLE}\n"
        f"add chain inet {TABLE} out {{ type filter hook output priority -10; }}\n"
        f"add chain inet {TABLE} in {{ type filter hook input priority -10; }}\n"
        f"add rule inet {TABLE} out ip daddr {peer} tcp dport {port} {verdict}\n"
        f"add rule inet {TABLE} in ip saddr {peer} tcp sport {port} {verdict}\n"
    )


def loss_verdict(percent: float) -> str:
    if not 0 < percent <= 100:
        raise ConfigError(
            f"chaos: loss percent {percent} is out of range",
            fix="give a loss between 1 and 100 (percent) in the experiment's arguments",
        )
    return f"numgen random mod 100 < {round(percent)} drop"


def apply_rules(host: str, script: str) -> None:
    clear(host)
    context.sudo(host, f"printf %s {shlex.quote(script)} | nft -f -")


def clear(host: str) -> bool:
    """Delete the chaos table if present; True when there was one."""
    return bool(clear_residues(host, (NFT_TABLE,)).fixed)


def hold(host: str, script: str, duration_s: float, **extra: Any) -> dict[str, Any]:
    held = max(1.0, min(float(duration_s), MAX_HOLD_S))
    injected = time.time()
    try:
        apply_rules(host, script)
        time.sleep(held)
    finally:
        clear(host)
    return {"injected_at": injected, "cleared_at": time.time(), "held_s": held, **extra}


def partition(host: str, peer: str, port: int = 5432, duration_s: float = 20) -> dict[str, Any]:
    """Drop all traffic between `host` and `peer`:`port` for duration_s."""
    peer_ip = context.address(peer)
    return hold(host, rules(peer_ip, port, "drop"), duration_s, mechanism="nftables drop")


def packet_loss(
    host: str, peer: str, port: int = 5432, percent: float = 20, duration_s: float = 30
) -> dict[str, Any]:
    peer_ip = context.address(peer)
    script = rules(peer_ip, port, loss_verdict(percent))
    return hold(host, script, duration_s, mechanism=f"nftables numgen {percent}% drop")


def verify_cleared(host: str) -> dict[str, Any]:
    """Rollback: the chaos table is gone (deleted here if it was not)."""
    return clear_or_fail(host, (NFT_TABLE,))
