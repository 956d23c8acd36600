"""The ten chaos/*.json experiments, generated: what they share is written once, here.

Shared by every experiment: the configuration (thresholds from the environment), the
steady-state hypothesis, the "platform recovers by itself" probe after the fault, the
`opsproof` extension naming fault, target and mechanism. Shared by the process faults: the
"restarted by systemd" probe and the "service active" rollback. The hosts are the groups
playbooks/site.yml places the roles on (opsproof.placement), the units those the chaos
faults know (faults_process.ROLE_SERVICES).

The files stay plain Chaos Toolkit experiments that `chaos run` accepts as they are; they are
checked in, and a unit test fails when one differs from what this module generates:

    .venv/bin/python -m opsproof.chaos.experiments --write   # after editing this module
    .venv/bin/python -m opsproof.chaos.experiments --check   # exit 1 naming stale files
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsproof import placement
from opsproof.chaos.faults_process import ROLE_SERVICES

CHAOS_DIR = Path(__file__).resolve().parents[3] / "chaos"
VERSION = "1.0.0"
PACKAGE = "opsproof.chaos"
POSTGRESQL_PORT = 5432

CONFIGURATION: Mapping[str, Any] = {
    "p95_threshold_ms": {"type": "env", "key": "OPSPROOF_CHAOS_P95_MS", "default": "2000"},
    "recovery_timeout_s": {"type": "env", "key": "OPSPROOF_CHAOS_RECOVERY_S", "default": "120"},
}


def _provider(module: str, func: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "python", "module": f"{PACKAGE}.{module}", "func": func, "arguments": arguments}


def action(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": name, "provider": _provider(module, func, arguments)}


def probe(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "probe", "name": name, "provider": _provider(module, func, arguments)}


STEADY_STATE: Mapping[str, Any] = {
    "title": "every subsystem's /health answers 200 through nginx and the p95 of a short "
    "probe load is under the threshold",
    "probes": [
        {
            **probe(
                "platform-healthy",
                "steady",
                "steady_state",
                p95_threshold_ms="${p95_threshold_ms}",
                rounds=10,
            ),
            "tolerance": True,
        }
    ],
}
RECOVERS = probe(
    "platform-recovers-by-itself",
    "steady",
    "wait_for_steady_state",
    timeout_s="${recovery_timeout_s}",
    p95_threshold_ms="${p95_threshold_ms}",
)


def group(role: str) -> str:
    """The group (its name) that runs `role`, from playbooks/site.yml."""
    return placement.group_of(role)


def on(role: str) -> str:
    """An experiment's host argument: the first host of the role's group."""
    return f"group:{group(role)}"


def unit(role: str) -> str:
    return ROLE_SERVICES[role][0]


def restarted_by_systemd(role: str) -> dict[str, Any]:
    return probe(
        "restarted-by-systemd", "faults_process", "service_state", host=on(role), unit=unit(role)
    )


def service_active(role: str) -> dict[str, Any]:
    return action(
        f"{unit(role)}-active", "faults_process", "ensure_active", host=on(role), unit=unit(role)
    )


def experiment(
    *,
    title: str,
    description: str,
    tags: list[str],
    fault: str,
    mechanism: str,
    method: dict[str, Any],
    after: list[dict[str, Any]] | None = None,
    rollbacks: list[dict[str, Any]],
) -> dict[str, Any]:
    """One experiment: the fault action, then the shared recovery probe (and `after`)."""
    return {
        "version": VERSION,
        "title": title,
        "description": description,
        "tags": ["opsproof", *tags],
        "extensions": [
            {
                "name": "opsproof",
                "fault": fault,
                "target": method["provider"]["arguments"]["host"],
                "mechanism": mechanism,
            }
        ],
        "configuration": dict(CONFIGURATION),
        "steady-state-hypothesis": dict(STEADY_STATE),
        "method": [method, RECOVERS, *(after or [])],
        "rollbacks": rollbacks,
    }


def experiments() -> dict[str, dict[str, Any]]:
    """file stem -> the experiment document."""
    app, db, web = group("tomcat"), group("postgresql"), group("nginx")
    jvm, postgres, nginx = unit("tomcat"), unit("postgresql"), unit("nginx")
    peer = {"host": on("tomcat"), "peer": on("postgresql"), "port": POSTGRESQL_PORT}
    return {
        "app-reboot": experiment(
            title="Reboot of app01",
            description="The app host reboots (systemctl reboot); Tomcat must start at boot "
            "and the platform must serve again with no acknowledged write lost.",
            tags=[app, "host"],
            fault="reboot of the app host",
            mechanism="systemctl reboot (the lab supervisor restarts the container on exit 133)",
            method=action("reboot-app", "faults_host", "reboot", host=on("tomcat"), timeout_s=300),
            rollbacks=[
                action("app-up", "faults_host", "verify_up", host=on("tomcat"), units=[jvm])
            ],
        ),
        "cpu-saturation": experiment(
            title="CPU saturation on app01",
            description="stress-ng loads every CPU of the app host for 30 s (bounded by "
            "--timeout and a transient unit's RuntimeMaxSec).",
            tags=[app, "cpu"],
            fault="CPU saturation on the app host for 30 s",
            mechanism="stress-ng --cpu 0 --timeout 30s in a transient unit",
            method=action(
                "stress-cpu",
                "faults_resources",
                "cpu_stress",
                host=on("tomcat"),
                duration_s=30,
                workers=0,
            ),
            rollbacks=[
                action(
                    "stress-stopped", "faults_resources", "verify_cpu_stopped", host=on("tomcat")
                )
            ],
        ),
        "db-kill": experiment(
            title="SIGKILL of the PostgreSQL postmaster",
            description="The postmaster dies without warning; the service manager must bring "
            "PostgreSQL back (crash recovery from WAL), Tomcat's pool must reconnect, and "
            "every acknowledged write must survive.",
            tags=[db, "process"],
            fault="SIGKILL of the PostgreSQL postmaster",
            mechanism=f"systemctl kill --kill-whom=main -s KILL {postgres}",
            method=action(
                "kill-postmaster",
                "faults_process",
                "kill_main_process",
                host=on("postgresql"),
                unit=postgres,
                signal="KILL",
            ),
            after=[restarted_by_systemd("postgresql")],
            rollbacks=[service_active("postgresql")],
        ),
        "db-latency": experiment(
            title="Latency between app and db",
            description="Every packet from app01 to db01:5432 is held 200 ms for 30 s. tc "
            "netem where the kernel has it; this lab's kernel has neither netem nor "
            "nftables' queue, so packets go through the iptables NFQUEUE target to a small "
            "userspace delayer on app01 (remote/nfq_delay.py), with --queue-bypass so "
            "traffic flows if the delayer stops.",
            tags=[app, db, "network"],
            fault="200 ms added latency app->db for 30 s",
            mechanism="netem if present, else iptables NFQUEUE + userspace delayer",
            method=action(
                "delay-app-db", "faults_latency", "latency", **peer, delay_ms=200, duration_s=30
            ),
            rollbacks=[
                action("latency-removed", "faults_latency", "verify_cleared", host=on("tomcat"))
            ],
        ),
        "db-loss": experiment(
            title="Packet loss between app and db",
            description="20 % of the packets between app01 and db01:5432 are dropped for "
            "30 s: nftables `numgen random mod 100 < 20 drop` (this lab kernel has no netem; "
            "on a server with netem, `tc qdisc ... netem loss 20%` is the same fault).",
            tags=[app, db, "network"],
            fault="20 % packet loss app-db for 30 s",
            mechanism="nftables numgen random mod 100 < 20 drop (no netem)",
            method=action(
                "loss-app-db", "faults_network", "packet_loss", **peer, percent=20, duration_s=30
            ),
            rollbacks=[
                action("chaos-rules-removed", "faults_network", "verify_cleared", host=on("tomcat"))
            ],
        ),
        "db-partition": experiment(
            title="Network partition between app and db",
            description="Every packet between app01 and db01:5432 is dropped for 20 s "
            "(nftables drop in a table of its own, both directions). The pool's connections "
            "hang and new ones time out; after the partition the pool must recover by itself.",
            tags=[app, db, "network"],
            fault="app-db partition for 20 s",
            mechanism="nftables drop, table inet opsproof_chaos",
            method=action("partition-app-db", "faults_network", "partition", **peer, duration_s=20),
            rollbacks=[
                action("chaos-rules-removed", "faults_network", "verify_cleared", host=on("tomcat"))
            ],
        ),
        "disk-fill": experiment(
            title="DB data volume filled",
            description="The db data volume (/srv/data, a loop-mounted ext4 image in the lab) "
            "is filled to 97 % with fallocate for 30 s, then the file is removed. Refused on / "
            "or on a volume that is not size-limited.",
            tags=[db, "disk"],
            fault="db data volume filled to 97 % for 30 s",
            mechanism="fallocate on /srv/data (size-limited volume only)",
            method=action(
                "fill-data-volume",
                "faults_resources",
                "fill_volume",
                host=on("postgresql"),
                path="/srv/data",
                percent=97,
                duration_s=30,
            ),
            rollbacks=[
                action(
                    "fill-file-removed",
                    "faults_resources",
                    "verify_volume",
                    host=on("postgresql"),
                    path="/srv/data",
                )
            ],
        ),
        "jvm-kill": experiment(
            title="SIGKILL of the Tomcat JVM",
            description="The JVM dies without warning (as the kernel's OOM killer would kill "
            "it); systemd must restart it (Restart=on-failure) and the platform must serve "
            "again with no acknowledged write lost.",
            tags=[app, "process"],
            fault="SIGKILL of the Tomcat JVM",
            mechanism=f"systemctl kill --kill-whom=main -s KILL {jvm}",
            method=action(
                "kill-jvm",
                "faults_process",
                "kill_main_process",
                host=on("tomcat"),
                unit=jvm,
                signal="KILL",
            ),
            after=[restarted_by_systemd("tomcat")],
            rollbacks=[service_active("tomcat")],
        ),
        "jvm-oom": experiment(
            title="JVM heap exhausted (OutOfMemoryError)",
            description="A leak is injected into the running JVM (a 20-line agent loaded "
            "through the JDK attach API keeps 8 MB arrays until the heap is full). The JVM "
            "must write a heap dump (-XX:+HeapDumpOnOutOfMemoryError), exit "
            "(-XX:+ExitOnOutOfMemoryError) and be restarted by systemd (Restart=on-failure).",
            tags=[app, "memory"],
            fault="JVM OutOfMemoryError (heap exhausted)",
            mechanism="agent via JDK attach API allocating until OOM; heap dump + exit + "
            "systemd restart",
            method=action(
                "leak-until-oom",
                "faults_memory",
                "exhaust_heap",
                host=on("tomcat"),
                unit=jvm,
                dump_dir="/var/lib/tomcat10/heapdumps",
            ),
            after=[restarted_by_systemd("tomcat")],
            rollbacks=[
                action(
                    "jvm-running", "faults_memory", "verify_cleaned", host=on("tomcat"), unit=jvm
                )
            ],
        ),
        "nginx-stop": experiment(
            title="nginx stopped",
            description="nginx is stopped for 10 s (an operator's mistake, a failed reload) "
            "and started again; the platform must serve again at once.",
            tags=[web, "process"],
            fault="nginx stopped for 10 s",
            mechanism=f"systemctl stop {nginx}; sleep 10; systemctl start {nginx}",
            method=action(
                "stop-nginx",
                "faults_process",
                "stop_service",
                host=on("nginx"),
                unit=nginx,
                duration_s=10,
            ),
            rollbacks=[service_active("nginx")],
        ),
    }


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def stale(directory: Path = CHAOS_DIR) -> list[str]:
    """The files in `directory` that differ from the generated ones (missing, edited, extra)."""
    wanted = {f"{name}.json": render(doc) for name, doc in experiments().items()}
    present = {p.name for p in directory.glob("*.json")}
    problems = [name for name in sorted(present - wanted.keys())]
    for name, text in sorted(wanted.items()):
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    return problems


def write(directory: Path = CHAOS_DIR) -> list[Path]:
    """Write every generated experiment whose file differs; the paths written."""
    written = []
    for name, doc in experiments().items():
        path = directory / f"{name}.json"
        text = render(doc)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opsproof.chaos.experiments")
    parser.add_argument("--dir", type=Path, default=CHAOS_DIR)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the experiments")
    mode.add_argument("--check", action="store_true", help="exit 1 naming stale files")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.dir):
            print(f"wrote {path}")
        return 0
    problems = stale(args.dir)
    for name in problems:
        print(f"{args.dir / name}: not what opsproof.chaos.experiments generates", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
