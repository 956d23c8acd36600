"""Where the one lab of this machine keeps its state, and the lock that serialises changes.

The state is machine-wide (not per checkout) so every clone finds and reuses the same lab.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from opsproof.errors import LabError
from opsproof.locks import held

DEFAULT_STATE_DIR = Path("/var/lib/opsproof/lab")


class Beneath:
    """A path in a directory layout: beneath the directory that is the layout's one field,
    named as the attribute unless the name is given."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.name = self.name or attribute

    @overload
    def __get__(self, layout: None, owner: type) -> Beneath: ...
    @overload
    def __get__(self, layout: object, owner: type) -> Path: ...
    def __get__(self, layout: Any, owner: type) -> Beneath | Path:
        if layout is None:
            return self
        directory: Path = getattr(layout, dataclasses.fields(layout)[0].name)
        return directory / str(self.name)


@dataclass(frozen=True)
class LabPaths:
    root: Path

    base = Beneath()
    base_ready = Beneath("base.ready")
    ssh_dir = Beneath("ssh")
    bin_dir = Beneath("bin")
    # What the lab created (bridge, cgroups): destroy removes exactly that.
    record = Beneath("lab.json")
    lock = Beneath(".lock")
    hosts_dir = Beneath("hosts")

    @property
    def ssh_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    def host_dir(self, name: str) -> Path:
        return self.hosts_dir / name


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
