"""Where the one lab of this machine keeps its state, and the lock that serialises changes.

The state is machine-wide (not per checkout) so every clone finds and reuses the same lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opsproof.errors import LabError
from opsproof.locks import held

DEFAULT_STATE_DIR = Path("/var/lib/opsproof/lab")


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def base_ready(self) -> Path:
        return self.root / "base.ready"

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def ssh_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def record(self) -> Path:
        """What the lab created (bridge, cgroups): destroy removes exactly that."""
        return self.root / "lab.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def host_dir(self, name: str) -> Path:
        return self.root / "hosts" / name


def lab_paths() -> LabPaths:
    return LabPaths(Path(os.environ.get("OPSPROOF_LAB_STATE", str(DEFAULT_STATE_DIR))))


@contextmanager
def locked(paths: LabPaths, *, timeout_s: float = 900) -> Iterator[None]:
    """Hold the machine-wide lab lock; a second `make lab` waits for the first."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with held(
        paths.lock,
        timeout_s=timeout_s,
        timed_out=lambda: LabError(
            f"{paths.lock}: another lab operation holds the lock", fix="wait for it to finish"
        ),
    ):
        yield
