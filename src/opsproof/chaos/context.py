"""Where the experiment acts: the inventory's hosts, reached over SSH, and the platform's URL.

Chaos Toolkit calls the actions and probes with the arguments written in the experiment; the
run-wide settings come from the environment the runner sets (the same variables work when an
engineer runs `chaos run` by hand):

- OPSPROOF_INVENTORY: the Ansible inventory (default inventories/lab);
- OPSPROOF_CHAOS_CONFIRM: must be `production` before any fault touches a host that is not in
  the inventory's `lab` group;
- OPSPROOF_BASE_URL / OPSPROOF_CA: the platform through nginx, and the CA to verify it with
  (default: the inventory's, opsproof.endpoints; an empty OPSPROOF_CA = the system's CAs).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from functools import cache

import requests

from opsproof import endpoints, ssh_targets
from opsproof.errors import ConfigError, OpsproofError, PreconditionError

LAB_GROUP = endpoints.LAB_GROUP
CONFIRM_VALUE = "production"


def inventory_path() -> str:
    return os.environ.get("OPSPROOF_INVENTORY", endpoints.DEFAULT_INVENTORY)


@cache
def _endpoint(inventory: str) -> endpoints.PlatformEndpoint:
    return endpoints.platform_endpoint(inventory)


@cache
def _targets(inventory: str) -> tuple[ssh_targets.SshTarget, ...]:
    return tuple(ssh_targets.resolve(inventory))


def allowed(
    targets: Sequence[ssh_targets.SshTarget], name: str, *, confirm: str | None
) -> ssh_targets.SshTarget:
    """The inventory host `name`; refuse a host outside the inventory, and a non-lab host
    unless the operator confirmed production."""
    for target in targets:
        if target.name == name:
            break
    else:
        known = ", ".join(sorted(t.name for t in targets)) or "none"
        raise ConfigError(
            f"chaos: host {name!r} is not in the inventory {inventory_path()} (hosts: {known})",
            fix="name a host of the inventory in the experiment, or point OPSPROOF_INVENTORY "
            "at the inventory that holds it",
        )
    if LAB_GROUP not in target.groups and confirm != CONFIRM_VALUE:
        raise PreconditionError(
            f"chaos: {name} is a production host (not in the inventory's {LAB_GROUP!r} group); "
            "faults on production need an explicit confirmation",
            fix=f"run with --confirm-production (OPSPROOF_CHAOS_CONFIRM={CONFIRM_VALUE}) "
            "inside an agreed maintenance window",
        )
    return target


def target(name: str) -> ssh_targets.SshTarget:
    return allowed(
        _targets(inventory_path()), name, confirm=os.environ.get("OPSPROOF_CHAOS_CONFIRM")
    )


def group_first(group: str) -> str:
    """The name of the first inventory host in `group` (experiments may name a group)."""
    members = ssh_targets.in_group(_targets(inventory_path()), group)
    if not members:
        raise ConfigError(
            f"chaos: the inventory {inventory_path()} has no host in group {group!r}",
            fix="add the host to the group in the inventory",
        )
    return members[0].name


def resolve_host(host: str) -> ssh_targets.SshTarget:
    """A host name, or `group:<name>` for the group's first host; refused as in `allowed`."""
    name = group_first(host.split(":", 1)[1]) if host.startswith("group:") else host
    return target(name)


def sudo(
    host: str, command: str, *, timeout: float = 120, check: bool = True
) -> ssh_targets.Completed:
    """Run `command` as root (sudo -n, as the admin user) on an inventory host."""
    where = resolve_host(host)
    done = ssh_targets.run(where, f"sudo -n sh -c {shlex.quote(command)}", timeout=timeout)
    if check and done.rc != 0:
        raise OpsproofError(
            f"chaos: on {where.name}: `{command}` exited {done.rc}: "
            f"{(done.stderr or done.stdout).strip()[-400:]}",
            fix="read the message; the host may lack the tool (make provision installs it)",
        )
    return done


def require_command(host: str, command: str, problem: str, *, fix: str) -> None:
    """Fail naming `problem` when `command` is not on the host (a fault's tool)."""
    if sudo(host, f"command -v {shlex.quote(command)}", check=False).rc != 0:
        raise OpsproofError(f"chaos: {problem}", fix=fix)


def address(host: str) -> str:
    return resolve_host(host).address


def base_url() -> str:
    if "OPSPROOF_BASE_URL" in os.environ:
        return os.environ["OPSPROOF_BASE_URL"].rstrip("/")
    web = _endpoint(inventory_path())
    target(web.host)  # refused like any host the experiment acts on
    return web.url


def session() -> requests.Session:
    """A session that talks to the platform only: no proxy, the inventory's CA (or OPSPROOF_CA)."""
    ca = os.environ.get("OPSPROOF_CA")
    if ca is None:
        ca = _endpoint(inventory_path()).ca_cert
    if ca and not os.path.exists(ca):
        raise PreconditionError(
            f"chaos: CA certificate {ca} not found",
            fix="set OPSPROOF_CA to the CA that signed the platform's certificate",
        )
    s = requests.Session()
    s.trust_env = False
    s.verify = ca or True
    return s
