"""Machine-wide advisory locks (flock) that a second run waits for, with a deadline."""

from __future__ import annotations

import argparse
import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opsproof.errors import OpsproofError

CHANGE_LOCK_NAME = "opsproof-provision.lock"


def change_lock_path() -> Path:
    """The lock every run that changes hosts takes (the Makefile's CHANGE_LOCK asks
    `opsproof lock-path` for it)."""
    run_lock = Path("/run/lock")
    return (run_lock if run_lock.is_dir() else Path("/tmp")) / CHANGE_LOCK_NAME


def cmd_lock_path(args: argparse.Namespace) -> int:
    print(change_lock_path())
    return 0


def register(groups: Any) -> None:
    cmd = groups.add_parser("lock-path", help="the lock every run that changes hosts takes")
    cmd.set_defaults(func=cmd_lock_path)


@contextmanager
def held(
    path: Path,
    *,
    timeout_s: float,
    timed_out: Callable[[], OpsproofError],
    on_wait: Callable[[], None] | None = None,
    poll_s: float = 0.5,
) -> Iterator[None]:
    """Hold an exclusive flock on `path`; wait for another holder up to `timeout_s`.

    `on_wait` runs once when the lock is busy; `timed_out()` is raised at the deadline.
    """
    with path.open("a", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise timed_out() from None
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
