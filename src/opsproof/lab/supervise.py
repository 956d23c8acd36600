#!/usr/bin/env python3
"""Keep one lab host's systemd-nspawn running; stdlib only.

Installed into the lab's state directory and started detached by `opsproof lab up`, so
that it does not depend on any checkout or virtualenv. It moves itself into the host's
cgroups (so the quota and memory limit apply to the container), then runs nspawn and
restarts it when the guest reboots (nspawn exits 133). SIGTERM powers the guest off.

Usage: supervise.py <host-config.json>
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REBOOT_EXIT = 133
MAX_REBOOTS = 50  # bounded: a guest in a reboot loop stops after this many
MIN_UPTIME_S = 5.0  # a guest that dies faster than this is not restarted repeatedly


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(value)


def enter_cgroups(cfg: dict[str, Any]) -> None:
    for cg in cfg["cgroups"]:
        os.makedirs(cg["path"], exist_ok=True)
        for knob, value in cg.get("parent_settings", {}).items():
            _write(os.path.join(os.path.dirname(cg["path"]), knob), str(value))
        for knob, value in cg.get("settings", {}).items():
            _write(os.path.join(cg["path"], knob), str(value))
        _write(os.path.join(cg["path"], "cgroup.procs"), str(os.getpid()))


def main(cfg_path: str) -> int:
    cfg: dict[str, Any] = json.loads(Path(cfg_path).read_text(encoding="utf-8"))
    pidfile = Path(cfg["pidfile"])
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def on_term(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    enter_cgroups(cfg)
    pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
    reboots = 0
    try:
        while not stopping:
            started = time.monotonic()
            child = subprocess.Popen(cfg["argv"], stdin=subprocess.DEVNULL)
            rc = child.wait()
            print(f"supervise: nspawn exited {rc}", flush=True)
            if stopping or rc != REBOOT_EXIT or reboots >= MAX_REBOOTS:
                return 0 if rc in (0, REBOOT_EXIT) else rc
            if time.monotonic() - started < MIN_UPTIME_S:
                time.sleep(MIN_UPTIME_S)
            reboots += 1
        return 0
    finally:
        pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
