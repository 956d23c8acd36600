"""A CPU budget for the load generator: a cgroup (v1 `cpu` hierarchy, like the lab hosts')
with a CFS quota, that the generator's process and the workers it forks run in.

Why: on a 2-core machine the generator, nginx and the kernel's network path share the same two
cores, so "what does a second Locust process buy?" is answered by the machine, not by Locust.
Giving each generator process that sends requests its own fixed share of a core makes the
generator the limit again while the rest of the machine has CPU to spare.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from opsproof.errors import ConfigError, PreconditionError
from opsproof.lab.host import CGROUP_ROOT, current_cgroup

GROUP = "opsproof-generator"
PERIOD_US = 100_000


def quota_us(cores: float) -> int:
    """The CFS quota per period for `cores` of CPU."""
    if not 0.05 <= cores <= 64:
        raise ConfigError(f"cpu per process {cores}", fix="use 0.05..64 cores (e.g. 0.3)")
    return round(cores * PERIOD_US)


@contextlib.contextmanager
def cpu_budget(
    cores: float | None, name: str, root: Path = CGROUP_ROOT
) -> Iterator[Callable[[], None] | None]:
    """Yield a preexec function that puts the child (and what it forks) in a cgroup of
    `cores`; None (no cgroup) when `cores` is None. The cgroup is removed afterwards."""
    if cores is None:
        yield None
        return
    quota = quota_us(cores)
    mount = root / "cpu"
    if not (mount / "cgroup.procs").exists():
        raise PreconditionError(
            f"no cgroup v1 cpu hierarchy at {mount}: the generator's CPU cannot be capped",
            fix="run without GEN_CPU, or on a machine where the lab's own cgroups work",
        )
    path = mount / current_cgroup("cpu").lstrip("/") / GROUP / name
    path.mkdir(parents=True, exist_ok=True)
    (path / "cpu.cfs_period_us").write_text(str(PERIOD_US), encoding="ascii")
    (path / "cpu.cfs_quota_us").write_text(str(quota), encoding="ascii")
    procs = str(path / "cgroup.procs")

    def join() -> None:  # runs in the child, before exec
        with open(procs, "w", encoding="ascii") as fh:
            fh.write(str(os.getpid()))

    try:
        yield join
    finally:
        with contextlib.suppress(OSError):
            path.rmdir()  # empty once the generator and its workers have exited
