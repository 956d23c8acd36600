"""End-to-end fixtures: the real lab, driven through the same commands an engineer uses."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv/bin"
STATE = Path("/var/lib/opsproof/lab")
# Log in as an operator would: the lab key, the host keys the lab generated, no prompts.
SSH = [
    "ssh",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    str(STATE / "ssh/id_ed25519"),
    "-o",
    f"UserKnownHostsFile={STATE / 'ssh/known_hosts'}",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ConnectTimeout=5",
]
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
)


@dataclass(frozen=True)
class Run:
    rc: int
    out: str

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
            for m in RECAP.finditer(self.out)
        }


def sh(*cmd: str, timeout: float = 1800, env: dict[str, str] | None = None) -> Run:
    full_env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        list(cmd),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def provisioned() -> Run:
    """The lab built (from nothing when OPSPROOF_E2E_FRESH=1, as CI does) and provisioned."""
    if os.environ.get("OPSPROOF_E2E_FRESH") == "1":
        destroyed = sh("make", "lab-destroy")
        assert destroyed.rc == 0, destroyed.out[-2000:]
        assert not Path("/var/lib/opsproof/lab/base").exists()
    run = sh("make", "provision")
    assert run.rc == 0, run.out[-4000:]
    return run
