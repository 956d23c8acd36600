"""The safety net: after every experiment, whatever happened to Chaos Toolkit's rollbacks
(a crash, a second Ctrl-C, a timeout), put every host back and say what had to be fixed.

It knows nothing of its own: it loops over REGISTRY, the residues each fault module declares
for each of its fault actions (`RESIDUES`, opsproof.chaos.residue) — the same descriptions the
faults clear themselves with and their rollbacks verify. A new fault adds its entry there and
the safety net, `opsproof chaos restore` and the rollbacks cover it.

Idempotent; on a clean host it changes nothing and reports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from opsproof import ssh_targets
from opsproof.chaos import (
    context,
    faults_host,
    faults_latency,
    faults_memory,
    faults_network,
    faults_process,
    faults_resources,
    residue,
)
from opsproof.chaos.residue import Residue


def _entries(
    module: str, declared: Mapping[str, tuple[Residue, ...]]
) -> dict[str, tuple[Residue, ...]]:
    return {f"opsproof.chaos.{module}.{action}": found for action, found in declared.items()}


# Fault action (the `module.func` an experiment's method calls) -> what it can leave behind.
REGISTRY: Mapping[str, tuple[Residue, ...]] = {
    **_entries("faults_network", faults_network.RESIDUES),
    **_entries("faults_latency", faults_latency.RESIDUES),
    **_entries("faults_resources", faults_resources.RESIDUES),
    **_entries("faults_memory", faults_memory.RESIDUES),
    **_entries("faults_process", faults_process.RESIDUES),
    **_entries("faults_host", faults_host.RESIDUES),
}
# The hosts the experiments act on: those of the platform's groups (playbooks/site.yml).
GROUPS = tuple(faults_process.SERVICES)


def residues_for(groups: Iterable[str]) -> tuple[Residue, ...]:
    """Every registered residue that can be on a host of these groups, each once, in order."""
    wanted = tuple(groups)
    return residue.ordered(r for found in REGISTRY.values() for r in found if r.applies_to(wanted))


@dataclass(frozen=True)
class Restored:
    """`<host>:<residue>` removed, and still present after the removal (a finding)."""

    fixed: tuple[str, ...]
    left: tuple[str, ...]


def restore_host(name: str) -> residue.Cleared:
    context.sudo(name, "true")  # the refusal rules apply here too
    return residue.clear(name, residues_for(context.resolve_host(name).groups))


def restore_all() -> Restored:
    """Clear every registered residue on every inventory host of the platform's groups."""
    fixed: list[str] = []
    left: list[str] = []
    names = [
        t.name for t in ssh_targets.resolve(context.inventory_path()) if set(t.groups) & set(GROUPS)
    ]
    # The hosts are independent: cleared side by side (one SSH session each), reported in
    # inventory order.
    with ThreadPoolExecutor(max(1, len(names))) as pool:
        for done in pool.map(restore_host, names):
            fixed += [f"{done.host}:{item}" for item in done.fixed]
            left += [f"{done.host}:{item}" for item in done.left]
    return Restored(tuple(fixed), tuple(left))
