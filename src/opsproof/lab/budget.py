"""The lab's memory budget: every host's limit plus the control node's reserve must fit the machine.

`lab.yml` gives each host a memory limit (its cgroup's `memory.limit_in_bytes`) and the lab a
`controller_reserve_mb` (what the control node itself needs while it drives the lab: Ansible with
Mitogen, the inspection, Locust, javac, a headless Chromium for the reports). The machine's
memory is the smaller of `/proc/meminfo`'s MemTotal and the memory cgroup limits above this
process (a CI runner may confine us). `opsproof lab up` refuses a lab that does not fit;
`opsproof lab budget` prints the figures, with each running host's measured usage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from opsproof.errors import ConfigError
from opsproof.lab.config import LabSpec

_MB = 1024 * 1024
_UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a number near 2^63


@dataclass(frozen=True)
class Budget:
    hosts_mb: Mapping[str, int]  # host -> its memory limit
    reserve_mb: int  # the control node's own share
    machine_mb: int  # what the machine (or our cgroup) has

    @property
    def lab_mb(self) -> int:
        return sum(self.hosts_mb.values())

    @property
    def needed_mb(self) -> int:
        return self.lab_mb + self.reserve_mb

    @property
    def headroom_mb(self) -> int:
        return self.machine_mb - self.needed_mb

    @property
    def fits(self) -> bool:
        return self.headroom_mb >= 0

    def as_dict(self) -> dict[str, object]:
        return {
            "hosts_mb": dict(self.hosts_mb),
            "lab_mb": self.lab_mb,
            "controller_reserve_mb": self.reserve_mb,
            "needed_mb": self.needed_mb,
            "machine_mb": self.machine_mb,
            "headroom_mb": self.headroom_mb,
            "fits": self.fits,
        }


def budget(spec: LabSpec, machine_mb: int) -> Budget:
    return Budget(
        hosts_mb={h.name: h.memory_mb for h in spec.hosts},
        reserve_mb=spec.controller_reserve_mb,
        machine_mb=machine_mb,
    )


def check(b: Budget, source: Path) -> None:
    """Raise when the hosts' limits and the control node's reserve exceed the machine."""
    if b.fits:
        return
    hosts = " + ".join(f"{name} {mb}" for name, mb in b.hosts_mb.items())
    raise ConfigError(
        f"{source}: the lab needs {b.needed_mb} MB ({hosts} + controller_reserve_mb "
        f"{b.reserve_mb}) but this machine has {b.machine_mb} MB",
        fix=f"lower the hosts' memory_mb in {source.name} by {-b.headroom_mb} MB in total, "
        "or run the lab on a larger machine",
    )


def meminfo_total_mb(meminfo: str) -> int:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ConfigError("/proc/meminfo has no MemTotal line", fix="run on Linux")


def cgroup_limits_mb(proc_cgroup: str, root: Path) -> list[int]:
    """The memory limits (cgroup v1 and v2) on the path from this process's cgroup to the
    root; unlimited levels are left out."""
    out: list[int] = []
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        elif controllers == "" and (root / "cgroup.controllers").exists():
            base, name = root, "memory.max"
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):
            f = base.joinpath(*parts[:depth], name)
            try:
                raw = f.read_text().strip()
            except OSError:
                continue
            if raw.isdigit() and int(raw) < _UNLIMITED:
                out.append(int(raw) // _MB)
    return out


def machine_mb(
    meminfo: Path = Path("/proc/meminfo"),
    proc_cgroup: Path = Path("/proc/self/cgroup"),
    root: Path = Path("/sys/fs/cgroup"),
) -> int:
    total = meminfo_total_mb(meminfo.read_text(encoding="ascii"))
    try:
        limits = cgroup_limits_mb(proc_cgroup.read_text(encoding="ascii"), root)
    except OSError:
        limits = []
    return min([total, *limits])


@dataclass(frozen=True)
class Usage:
    usage_mb: int  # memory.usage_in_bytes: resident memory and page cache
    rss_mb: int  # memory.stat total_rss: anonymous memory (what cannot be dropped)
    limit_mb: int


def usage_mb(pid: int, root: Path = Path("/sys/fs/cgroup")) -> Usage | None:
    """The memory cgroup that process `pid` runs in (cgroup v1), in MB, or None."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            d = root / "memory" / path.lstrip("/")
            try:
                usage = int((d / "memory.usage_in_bytes").read_text())
                limit = int((d / "memory.limit_in_bytes").read_text())
                stat = dict(line.split() for line in (d / "memory.stat").read_text().splitlines())
                rss = int(stat.get("total_rss", stat.get("rss", "0")))
            except (OSError, ValueError):
                return None
            return Usage(usage // _MB, rss // _MB, limit // _MB)
    return None


def report(b: Budget, measured: Mapping[str, Usage | None]) -> str:
    data = b.as_dict()
    data["measured"] = {name: (asdict(m) if m else None) for name, m in measured.items()}
    return json.dumps(data, indent=2)
