"""One round trip per host: every check command of the host runs there, the outputs come back.

The runner below is sent to the host inside the SSH command (base64, no file is written) and
started with sudo; it runs the commands (a few at a time, each bounded by a timeout) and
prints one JSON object. Hosts are collected in parallel. Nothing on the host is changed.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from opsproof import placement
from opsproof.controls.model import Control
from opsproof.errors import PreconditionError
from opsproof.ssh_targets import SshTarget

COMMAND_TIMEOUT_S = 20
# Host facts an intended value may be computed from (the optimised tomcat heap is a share of
# ansible_facts.memtotal_mb when the inventory does not say the host's memory), read in the
# same round trip: MemTotal in MB as Ansible counts it, and the CPU count.
FACTS_KEY = "_facts"
FACTS_CMD = "awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo; nproc"

_RUNNER = r"""
import base64, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
checks = json.loads(base64.b64decode(sys.argv[1]))
env = dict(os.environ, LC_ALL="C", LANG="C")
def one(item):
    cid, cmd = item
    start = time.monotonic()
    try:
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True,
                           timeout=float(sys.argv[2]), stdin=subprocess.DEVNULL, env=env)
        return cid, [p.returncode, p.stdout[-8000:], p.stderr[-2000:], time.monotonic() - start]
    except subprocess.TimeoutExpired:
        return cid, [None, "", "timed out after %s s" % sys.argv[2], time.monotonic() - start]
with ThreadPoolExecutor(4) as pool:
    print(json.dumps(dict(pool.map(one, sorted(checks.items())))))
"""


@dataclass(frozen=True)
class Observation:
    """What one check command did on one host."""

    rc: int | None  # None: it timed out
    stdout: str
    stderr: str
    seconds: float


# Runs a shell command on a host and returns (rc, stdout, stderr): the testinfra host's
# run() in the checks, plain ssh elsewhere.
Runner = Callable[[SshTarget, str], tuple[int, str, str]]


def layer_group(layer: str) -> str | None:
    """The group whose hosts a layer's controls apply to: for a layer named after a role that
    playbooks/site.yml places on one group (nginx, tomcat, postgresql), that group; None
    (every host) for the others (os, ssh, firewall, health)."""
    groups = placement.site().roles.get(layer, (placement.ALL,))
    return groups[0] if len(groups) == 1 and groups[0] != placement.ALL else None


def in_pattern(pattern: str, groups: Sequence[str]) -> bool:
    """Whether a host in `groups` matches a catalog group pattern: groups joined by ':', the
    host in any of them (`all`: every host) and in none of those written with '!' before
    (`all:!ops`: every host outside ops)."""
    parts = pattern.split(":")
    wanted = [p for p in parts if not p.startswith("!")]
    excluded = {p[1:] for p in parts if p.startswith("!")}
    inside = any(p == placement.ALL or p in groups for p in wanted)
    return inside and not excluded.intersection(groups)


def applies_to(control: Control, target: SshTarget) -> bool:
    """The control's own group if it names one, else its layer's group (None: every host)."""
    group = control.group or layer_group(control.layer)
    return group is None or in_pattern(group, target.groups)


def remote_command(commands: Mapping[str, str]) -> str:
    """The one shell command that runs every check of a host (as root, via sudo)."""
    payload = base64.b64encode(json.dumps(dict(commands)).encode()).decode()
    runner = base64.b64encode(_RUNNER.encode()).decode()
    bootstrap = f"import base64;exec(base64.b64decode('{runner}'))"
    return f"sudo -n python3 -c {shlex.quote(bootstrap)} {payload} {COMMAND_TIMEOUT_S}"


def collect_host(
    target: SshTarget, controls: Sequence[Control], run: Runner
) -> dict[str, Observation]:
    commands = {c.id: c.check.cmd for c in controls if c.check.cmd and applies_to(c, target)}
    if not commands:
        return {}
    commands[FACTS_KEY] = FACTS_CMD
    rc, stdout, stderr = run(target, remote_command(commands))
    if rc != 0:
        raise PreconditionError(
            f"{target.name}: the check runner failed (rc={rc}): {stderr.strip()[:300]}",
            fix="the admin user needs passwordless sudo and python3 on the host",
        )
    try:
        raw = json.loads(stdout)
    except json.JSONDecodeError:
        raise PreconditionError(
            f"{target.name}: the check runner printed no JSON: {stdout[:200]!r}",
            fix="run `make inspect` with -v and read the host's output",
        ) from None
    return {cid: Observation(v[0], v[1], v[2], round(float(v[3]), 3)) for cid, v in raw.items()}


def facts(obs: Observation | None) -> dict[str, int]:
    """{memtotal_mb, processor_vcpus} from the facts command's output; {} if it failed."""
    lines = obs.stdout.split() if obs is not None and obs.rc == 0 else []
    if len(lines) != 2 or not all(x.isdigit() for x in lines):
        return {}
    return {"memtotal_mb": int(lines[0]), "processor_vcpus": int(lines[1])}


def collect(
    targets: Sequence[SshTarget], controls: Sequence[Control], run: Runner
) -> dict[str, dict[str, Observation]]:
    """host name -> control id -> observation, all hosts in parallel."""
    with ThreadPoolExecutor(max(1, len(targets))) as pool:
        futures = {t.name: pool.submit(collect_host, t, controls, run) for t in targets}
        return {name: future.result() for name, future in futures.items()}
