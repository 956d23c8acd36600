"""End-to-end fixtures: the real lab, driven through the same commands an engineer uses."""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from opsproof import placement
from opsproof.lab.config import load_spec
from opsproof.playbook_log import RECAP  # the one reader of an ansible-playbook log

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv/bin"
STATE = Path("/var/lib/opsproof/lab")
# Log in as an operator would: the lab key, the host keys the lab generated, no prompts.
# SSH_FRESH opens a new login each time: the tests that prove something about a login (the
# admin key works, root is refused, a weak cipher is refused, a host answers after a reboot or
# a kill) use it, so no connection opened earlier can stand in for the one they judge.
SSH_FRESH = [
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
    "-o",
    "ControlMaster=no",
    "-o",
    "ControlPath=none",
]
# Errors only: keeps the login banner (the legal notice) out of command output. (ssh takes
# the first value of an option, so a test that needs ssh's own messages uses SSH_CHATTY.)
SSH_CHATTY = list(SSH_FRESH)
SSH_FRESH += ["-o", "LogLevel=ERROR"]
# The ordinary admin commands (`on()`, `psql()`…) reuse one connection per host: a master
# opened by the first call, its socket in a directory private to this pytest process (0700,
# removed at the end), kept 60 s after its last use (a host rebooted or killed leaves no master
# behind for long; `forget()` ends it at once), with keepalives so a dead peer is noticed.
MUX_DIR = Path(tempfile.mkdtemp(prefix="opsproof-ssh-"))
atexit.register(shutil.rmtree, MUX_DIR, ignore_errors=True)  # also when no test ran
SSH = [
    *SSH_FRESH[: SSH_FRESH.index("ControlMaster=no") - 1],
    "-o",
    "ControlMaster=auto",
    "-o",
    f"ControlPath={MUX_DIR}/%C",
    "-o",
    "ControlPersist=60",
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=2",
    "-o",
    "LogLevel=ERROR",
]


def forget(address: str) -> None:
    """End the reused connection to a host (after it rebooted or its processes were killed)."""
    subprocess.run(
        [*SSH, "-O", "exit", f"opsadmin@{address}"],
        capture_output=True,
        timeout=10,
        check=False,
    )


@pytest.fixture(scope="session", autouse=True)
def _ssh_masters() -> Iterator[None]:
    """End every reused connection when the session ends and remove their directory."""
    yield
    for host in ADDRESS.values():
        forget(host)
    shutil.rmtree(MUX_DIR, ignore_errors=True)


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    # The provisioning fixture's run only, when it built the lab from nothing (CI): when that
    # `make provision` began (its new database's first backup and drill are from after it).
    fresh_since: dt.datetime | None = None

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
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The lab built (from nothing when OPSPROOF_E2E_FRESH=1, as CI does) and provisioned."""
    if os.environ.get("OPSPROOF_E2E_FRESH") == "1":
        destroyed = sh("make", "lab-destroy")
        assert destroyed.rc == 0, destroyed.out[-2000:]
        assert not Path("/var/lib/opsproof/lab/base").exists()
        # A dry run on the fresh hosts (nothing installed yet) must not fail (issue 4, §3).
        assert (up := sh("make", "lab")).rc == 0, up.out[-2000:]
        # Its per-host task times are kept in pytest's temporary folder (what the dry run costs).
        times = tmp_path_factory.mktemp("fresh-check") / "check.times.jsonl"
        dry = sh("make", "check", env={"OPSPROOF_TASK_TIMES": str(times)})
        assert dry.rc == 0, dry.out[-4000:]
        failed = {h: c for h, c in dry.recap().items() if c["failed"] or c["unreachable"]}
        assert not failed, dry.out[-4000:]
    if os.environ.get("OPSPROOF_E2E_PROVISIONED") == "1":
        # A developer running one file against a lab provisioned a moment ago (not in CI).
        return Run(0, "lab already provisioned (OPSPROOF_E2E_PROVISIONED=1)")
    began = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run = sh("make", "provision")
    assert run.rc == 0, run.out[-4000:]
    fresh = os.environ.get("OPSPROOF_E2E_FRESH") == "1"
    return dataclasses.replace(run, fresh_since=began if fresh else None)


# Every lab host and its address, from the one description of the lab.
LAB = load_spec(REPO / "inventories/lab/lab.yml")
ADDRESS = {h.name: str(h.address) for h in LAB.hosts}
# The database host: the first lab host in the group site.yml runs postgresql on.
DB = next(str(h.address) for h in LAB.hosts if placement.group_of("postgresql") in h.groups)


def on(address: str, command: str, timeout: float = 600) -> Run:
    """One shell command on a lab host, as the admin user over SSH."""
    return sh(*SSH, f"opsadmin@{address}", command, timeout=timeout)


# For each "address:port" argument, prints it and "open", "refused" or "timeout" (one TCP
# connection attempt, 3 s), the attempts side by side and the lines in the arguments' order;
# runs with the stock python3 of any host.
CONNECT_PROBE = r"""
import socket, sys
from concurrent.futures import ThreadPoolExecutor
def state(target):
    address, port = target.rsplit(":", 1)
    try:
        socket.create_connection((address, int(port)), timeout=3).close()
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "timeout"
with ThreadPoolExecutor(len(sys.argv) - 1) as pool:
    for target, answer in zip(sys.argv[1:], pool.map(state, sys.argv[1:])):
        print(target, answer)
"""

Probe = tuple[str | None, str, int]  # source (None: the lab machine), address, port


def tcp_states(probes: Sequence[Probe]) -> dict[Probe, str]:
    """Whether each address:port accepts a TCP connection from its source (None: the lab
    machine). One command per source probes all of that source's targets side by side, and the
    sources run side by side: a dropped connection waits its 3 s beside the others."""
    by_source: dict[str | None, list[Probe]] = {}
    for p in probes:
        by_source.setdefault(p[0], []).append(p)

    def probe(source: str | None, group: list[Probe]) -> dict[Probe, str]:
        targets = [f"{address}:{port}" for _, address, port in group]
        cmd = shlex.join(["python3", "-c", CONNECT_PROBE, *targets])
        run = sh("sh", "-c", cmd) if source is None else on(source, cmd)
        assert run.rc == 0, run.out
        lines = [line.rpartition(" ") for line in run.out.splitlines()]
        assert [target for target, _, _ in lines] == targets, run.out
        return {p: answer for p, (_, _, answer) in zip(group, lines, strict=True)}

    with ThreadPoolExecutor(max_workers=len(by_source) or 1) as pool:
        answers = pool.map(lambda item: probe(*item), by_source.items())
        return {p: a for group in answers for p, a in group.items()}


def tcp_state(source: str | None, address: str, port: int) -> str:
    """tcp_states of one probe."""
    return tcp_states([(source, address, port)])[(source, address, port)]


def psql(sql: str, database: str = "platform") -> list[str]:
    """Rows of one query on the database host, as the postgres superuser over the local socket."""
    run = on(
        DB,
        f"cd /tmp && sudo -n -u postgres psql -XAt -v ON_ERROR_STOP=1 -d {database} "
        f"-c {shlex.quote(sql)}",
    )
    assert run.rc == 0, run.out
    return run.out.splitlines()


# The declared rollups' tables (platform/sql/rollups): derived counts that the optimised
# profile creates and the baseline drops, not the platform's rows.
ROLLUP_TABLES = sorted(
    yaml.safe_load(f.read_text(encoding="utf-8"))["name"]
    for f in (REPO / "platform/sql/rollups").glob("*.yml")
)


def row_counts() -> dict[str, int]:
    """Exact row count of every table of the platform database (the rollups' aside)."""
    tables = [
        t
        for t in psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        if t not in ROLLUP_TABLES
    ]
    assert tables, "the platform database has no tables"
    rows = psql(" UNION ALL ".join(f"SELECT '{t}', count(*) FROM public.{t}" for t in tables))
    return {name: int(n) for name, n in (r.split("|") for r in rows)}


@dataclass(frozen=True)
class Reprovision:
    run: Run
    counts_before: dict[str, int]
    counts_after: dict[str, int]


@pytest.fixture(scope="session")
def reprovisioned(provisioned: Run) -> Reprovision:
    """A second `make provision` on the provisioned lab, with every table counted around it."""
    before = row_counts()
    run = sh("make", "provision")
    return Reprovision(run, before, row_counts())
