"""What a fault can leave behind on a host, and how to find and remove it.

Each fault module declares `RESIDUES`: for each of its fault actions (the function an
experiment's method calls), the residues that action can leave when it is interrupted before
its own `finally` runs (an iptables chain, a transient unit, a file, a stopped service). The
fault's own clearing, its rollback (`verify_cleared` and friends) and the safety net
(`opsproof chaos restore`, `opsproof.chaos.restore`) all remove them through `clear`, so there
is one description of each residue.

A residue is two shell snippets run as root on the host: `detect` exits 0 while the residue is
there, `remove` takes it away (idempotent). `clear` runs, in one SSH round trip, for each
residue: detect → remove → detect again, and reports what it removed and what is still there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opsproof.chaos import context
from opsproof.errors import OpsproofError

FIXED = "fixed:"
LEFT = "left:"


@dataclass(frozen=True)
class Residue:
    """One thing a fault may leave on a host."""

    name: str  # short and stable, reported as `<host>:<name>`
    what: str  # one line for people: what it is and why it matters
    detect: str  # shell, as root: exit 0 while the residue is present
    remove: str  # shell, as root: remove it (idempotent)
    groups: tuple[str, ...] = ()  # the inventory groups whose hosts may have it; () = any
    service: bool = False  # a service to bring back: handled after every other residue

    def applies_to(self, groups: Iterable[str]) -> bool:
        return not self.groups or bool(set(self.groups) & set(groups))


def file_residue(name: str, what: str, path: str, *, groups: tuple[str, ...] = ()) -> Residue:
    """A file the fault wrote (a helper script, a jar, a fill file)."""
    return Residue(name, what, detect=f"[ -e {path} ]", remove=f"rm -f {path}", groups=groups)


def unit_residue(name: str, what: str, unit: str, *, process: str | None = None) -> Residue:
    """A transient systemd unit the fault started (running or failed), and, when its process
    can outlive it, the process (`process`: a pgrep -f pattern)."""
    detect = f"systemctl is-active --quiet {unit} || systemctl is-failed --quiet {unit}"
    remove = f"systemctl stop {unit}; systemctl reset-failed {unit}"
    if process:
        detect += f" || pgrep -f '{process}'"
        remove += f"; pkill -f '{process}'"
    return Residue(name, what, detect=detect, remove=remove + "; true")


@dataclass(frozen=True)
class Cleared:
    """What `clear` found on one host: removed, and still present after the removal."""

    host: str
    fixed: tuple[str, ...]
    left: tuple[str, ...]


def ordered(residues: Iterable[Residue]) -> tuple[Residue, ...]:
    """Each residue once (by name, first declaration wins), services last."""
    seen: dict[str, Residue] = {}
    for r in residues:
        seen.setdefault(r.name, r)
    return tuple(sorted(seen.values(), key=lambda r: r.service))


def script(residues: Sequence[Residue]) -> str:
    """The shell script that clears `residues` and prints `fixed: …` and `left: …`."""
    lines = ['fixed=""', 'left=""']
    for r in ordered(residues):
        lines.append(
            f"if {{ {r.detect}\n}} >/dev/null 2>&1; then\n"
            f"  {{ {r.remove}\n}} >/dev/null\n"
            f'  if {{ {r.detect}\n}} >/dev/null 2>&1; then left="$left {r.name}"; '
            f'else fixed="$fixed {r.name}"; fi\n'
            "fi"
        )
    lines += [f'echo "{FIXED}$fixed"', f'echo "{LEFT}$left"']
    return "\n".join(lines) + "\n"


def parse(host: str, stdout: str) -> Cleared:
    """The script's two report lines as a Cleared (a line not printed counts as empty)."""

    def items(prefix: str) -> tuple[str, ...]:
        line = next((ln for ln in stdout.splitlines() if ln.startswith(prefix)), prefix)
        return tuple(line[len(prefix) :].split())

    return Cleared(host, items(FIXED), items(LEFT))


def clear(host: str, residues: Sequence[Residue], *, timeout: float = 180) -> Cleared:
    """Remove every residue present on `host` (an inventory host or `group:<name>`) among
    those that apply to its inventory groups."""
    target = context.resolve_host(host)
    here = ordered(r for r in residues if r.applies_to(target.groups))
    if not here:
        return Cleared(target.name, (), ())
    done = context.sudo(target.name, script(here), timeout=timeout, check=False)
    if FIXED not in done.stdout:  # the script did not run to its end: nothing is known
        return Cleared(target.name, (), tuple(r.name for r in here))
    return parse(target.name, done.stdout)


def clear_or_fail(host: str, residues: Sequence[Residue]) -> dict[str, Any]:
    """A rollback: clear the residues, fail naming any still there; else `verified: true`."""
    done = clear(host, residues)
    if done.left:
        left = [r for r in ordered(residues) if r.name in done.left]
        raise OpsproofError(
            f"chaos: rollback failed: still on {done.host}: "
            + "; ".join(f"{r.name} ({r.what})" for r in left),
            fix=f"opsproof chaos restore, or by hand on {done.host}: "
            + "; ".join(" ".join(r.remove.split()) for r in left),
        )
    return {"verified": True, "removed_by_rollback": bool(done.fixed), "removed": list(done.fixed)}
