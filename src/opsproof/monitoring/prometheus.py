"""Prometheus's HTTP API, asked on the ops host itself over SSH (Prometheus listens on the ops
host's address, which its firewall opens to the ops group only): one round trip runs every
query with the host's stock python3 and returns their JSON answers."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsproof import placement, ssh_targets
from opsproof.ansible_inventory import AnsibleInventory
from opsproof.errors import ConfigError, OpsproofError, PreconditionError

PROMETHEUS_ROLE = "prometheus"
OPS_GROUP = placement.group_of(PROMETHEUS_ROLE)  # the hosts that run it (playbooks/site.yml)
DEFAULT_PORT = 9090

# Runs on the ops host: argv[1] the base URL, argv[2] a JSON list of [path, params]; prints
# a JSON list of the answers (or {"error": ...} per failed request).
_REMOTE = r"""
import json, sys, urllib.parse, urllib.request
base, asks = sys.argv[1], json.loads(sys.argv[2])
out = []
for path, params in asks:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            out.append(json.loads(r.read().decode()))
    except Exception as e:
        out.append({"status": "error", "error": "%s: %s" % (url, e)})
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Prometheus:
    target: ssh_targets.SshTarget
    base_url: str

    def ask(self, requests: Sequence[tuple[str, Mapping[str, str]]]) -> list[Any]:
        """The `data` of each API request, in order; an API error is an OpsproofError."""
        asks = json.dumps([[path, dict(params)] for path, params in requests])
        command = " ".join(shlex.quote(a) for a in ("python3", "-c", _REMOTE, self.base_url, asks))
        done = ssh_targets.run(self.target, command, timeout=180)
        if done.rc != 0:
            raise PreconditionError(
                f"{self.target.name}: could not ask Prometheus: {done.stderr.strip()[-300:]}",
                fix="is python3 on the ops host? (the bootstrap role installs it)",
            )
        answers = json.loads(done.stdout)
        out = []
        for (path, _), answer in zip(requests, answers, strict=True):
            if answer.get("status") != "success":
                raise PreconditionError(
                    f"Prometheus on {self.target.name} answered {path} with an error: "
                    f"{answer.get('error', answer)}",
                    fix="is Prometheus running on the ops host? `make provision`",
                )
            out.append(answer["data"])
        return out

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """An instant query's vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        data = self.ask([("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})])[0]
        if data.get("resultType") != "vector":
            raise OpsproofError(f"Prometheus: {expr!r} is not a vector query", fix="fix the query")
        return list(data["result"])


def locate(inventory: str) -> Prometheus:
    """The first host of the ops group and the address/port its Prometheus listens on."""
    targets = ssh_targets.in_group(ssh_targets.resolve(inventory), OPS_GROUP)
    if not targets:
        raise ConfigError(
            f"{inventory}: no host in group {OPS_GROUP!r}: nothing runs Prometheus",
            fix="add the ops host (issue 14) to the inventory and `make provision`",
        )
    target = targets[0]
    # The prometheus role's defaults: its listen address is the host's ansible_host.
    values = AnsibleInventory(inventory).render(
        target.name, ["prometheus_listen_address", "prometheus_port"]
    )
    address = str(values.get("prometheus_listen_address") or target.address)
    port = int(str(values.get("prometheus_port") or DEFAULT_PORT))
    return Prometheus(target, base_url(address, port))


def base_url(address: str, port: int) -> str:
    """http://<address>:<port>, an IPv6 address in brackets."""
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"
