"""What a load run used, and what else used the machine: the conditions and the bottleneck.

Around every measured run (make loadtest, each perf-compare repetition, each capacity run):

- this machine: CPU busy time from /proc/stat, and the load average;
- each lab host: its cgroup's CPU time (cpuacct.usage), the time the CPU quota throttled it
  (cpu.stat throttled_time) and its memory (memory.usage_in_bytes), read from the cgroups
  the lab put it in (each host's supervise.json in the lab state, opsproof.lab);
- the load generator: the CPU time of Locust's processes (this process's reaped children);
- everything else = machine busy - lab hosts - generator: other work sharing the machine.
  A run where it passes `DISTURBED_PCT` % of the machine is flagged "disturbed";
- PostgreSQL (the first host of the postgresql role's group in playbooks/site.yml):
  pg_stat_activity sampled every few seconds (active connections, what they wait on) and,
  where pg_stat_statements is loaded (the optimised profile), the top statements by total
  time, the counters reset at the start of the run;
- the JVM (the tomcat role's): GC pauses and the heap after the last GC, from the GC log
  (-Xlog:gc*);
- nginx (the nginx role's): per proxied request of the run, its request time against the
  upstream's (Tomcat's) response time, from the JSON access log: time spent in nginx and on
  the network beside the time the application took.

The arithmetic and the parsing (`usage`, `parse_gc`, `activity_summary`, `activity_rows`,
`top_statements`, `proxy_times`) are pure; `Watch` reads the hosts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import resource
import shlex
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsproof import placement
from opsproof.errors import OpsproofError
from opsproof.lab.host import HostPaths
from opsproof.lab.state import LabPaths, lab_paths
from opsproof.perf.stats import percentile
from opsproof.results import JSONValue, ResourceResult

if TYPE_CHECKING:
    from opsproof.ssh_targets import SshTarget

DISTURBED_PCT = 25.0  # other work above this share of the machine: the run is disturbed
GENERATOR_WARN_PCT = 70.0  # generator CPU (of one core) above this: its figures are suspect
PG_SAMPLE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class HostSample:
    name: str
    cpu_ns: int
    throttled_ns: int
    nr_throttled: int
    nr_periods: int
    memory_bytes: int | None


@dataclass(frozen=True)
class Snapshot:
    wall: float  # Unix seconds
    busy_s: float  # the machine's CPU busy time (all CPUs)
    cpus: int
    load1: float
    generator_cpu_s: float  # CPU time of this process's reaped children (Locust)
    hosts: tuple[HostSample, ...] = field(default=())


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cpu_stat(path: Path) -> dict[str, int]:
    try:
        pairs = (line.split() for line in path.read_text(encoding="ascii").splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2}
    except (OSError, ValueError):
        return {}


def host_cgroups(state: Path | None = None) -> dict[str, dict[str, Path]]:
    """Per lab host: its cgroup directory per hierarchy (cpu, cpuacct, memory)."""
    lab = LabPaths(state) if state is not None else lab_paths()
    out: dict[str, dict[str, Path]] = {}
    for cfg in sorted(HostPaths(d).config for d in lab.hosts_dir.glob("*")):
        try:
            data = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        paths = {}
        for cg in data.get("cgroups", []):
            path = Path(str(cg.get("path", "")))
            paths[path.parent.parent.name] = path  # …/<hierarchy>/…/opsproof-lab/<host>
            for hierarchy in ("cpu", "cpuacct", "memory"):
                if f"/cgroup/{hierarchy}/" in str(path):
                    paths[hierarchy] = path
        out[cfg.parent.name] = paths
    return out


def take(state: Path | None = None) -> Snapshot:
    """Read the machine's and the lab hosts' counters now."""
    fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    busy_s = (sum(ticks[:8]) - idle) / CLK_TCK  # guest time is already in user
    hosts = []
    for name, paths in sorted(host_cgroups(state).items()):
        stat = _cpu_stat(paths["cpu"] / "cpu.stat") if "cpu" in paths else {}
        hosts.append(
            HostSample(
                name=name,
                cpu_ns=_read_int(paths["cpuacct"] / "cpuacct.usage") or 0
                if "cpuacct" in paths
                else 0,
                throttled_ns=stat.get("throttled_time", 0),
                nr_throttled=stat.get("nr_throttled", 0),
                nr_periods=stat.get("nr_periods", 0),
                memory_bytes=_read_int(paths["memory"] / "memory.usage_in_bytes")
                if "memory" in paths
                else None,
            )
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Snapshot(
        wall=time.time(),
        busy_s=busy_s,
        cpus=os.cpu_count() or 1,
        load1=os.getloadavg()[0],
        generator_cpu_s=children.ru_utime + children.ru_stime,
        hosts=tuple(hosts),
    )


def usage(
    before: Snapshot,
    after: Snapshot,
    *,
    run: str,
    profile: str,
    disturbed_pct: float = DISTURBED_PCT,
) -> list[ResourceResult]:
    """Per host, the generator and the rest of the machine, between two snapshots."""
    wall = max(after.wall - before.wall, 1e-9)
    capacity_s = wall * after.cpus

    def row(
        host: str, metric: str, value: float | None, unit: str, detail: JSONValue = None
    ) -> ResourceResult:
        rounded = None if value is None else round(value, 3)
        return ResourceResult(
            run=run, profile=profile, host=host, metric=metric, value=rounded, unit=unit,
            detail=detail,
        )  # fmt: skip

    out: list[ResourceResult] = []
    hosts_s = 0.0
    earlier = {h.name: h for h in before.hosts}
    for h in after.hosts:
        b = earlier.get(h.name)
        if b is None:
            continue
        cpu_s = max(0, h.cpu_ns - b.cpu_ns) / 1e9
        hosts_s += cpu_s
        periods = max(0, h.nr_periods - b.nr_periods)
        throttled = max(0, h.nr_throttled - b.nr_throttled)
        out += [
            row(h.name, "cpu_percent", 100 * cpu_s / wall, "% of one core"),
            row(h.name, "throttled_s", max(0, h.throttled_ns - b.throttled_ns) / 1e9, "s"),
            row(
                h.name,
                "throttled_periods_percent",
                100 * throttled / periods if periods else 0.0,
                "% of CFS periods",
            ),
            row(
                h.name,
                "memory_mb",
                None if h.memory_bytes is None else h.memory_bytes / 2**20,
                "MB (cgroup, at the end)",
            ),
        ]
    generator_s = max(0.0, after.generator_cpu_s - before.generator_cpu_s)
    generator_pct = 100 * generator_s / wall
    out.append(
        row(
            "generator",
            "cpu_percent",
            generator_pct,
            "% of one core",
            {"warning": f"above {GENERATOR_WARN_PCT:g} %: the generator may be the limit"}
            if generator_pct > GENERATOR_WARN_PCT
            else None,
        )
    )
    machine_s = max(0.0, after.busy_s - before.busy_s)
    others_s = max(0.0, machine_s - hosts_s - generator_s)
    others_pct = 100 * others_s / capacity_s
    out += [
        row("machine", "cpu_percent", 100 * machine_s / capacity_s, f"% of {after.cpus} CPUs"),
        row(
            "machine",
            "others_cpu_percent",
            others_pct,
            f"% of {after.cpus} CPUs (not the lab hosts, not the generator)",
            {"disturbed": others_pct > disturbed_pct, "threshold_percent": disturbed_pct},
        ),
        row("machine", "load1", after.load1, "load average (1 min, at the end)"),
        row("machine", "window_s", wall, "s"),
    ]
    return out


_GC_LINE = re.compile(
    r"^\[(?P<ts>[^\]]+)\]\[[^\]]*\]\[info\]\[gc\s*\] GC\(\d+\) Pause (?P<kind>.*?) "
    r"(?P<before>\d+)M->(?P<after>\d+)M\((?P<heap>\d+)M\) (?P<ms>[\d.]+)ms$"
)


@dataclass(frozen=True)
class GcFigures:
    pauses: int
    pause_ms: float
    heap_after_mb: float | None  # after the last pause in the window
    heap_mb: float | None


def parse_gc(lines: Iterable[str], start: float, end: float) -> GcFigures:
    """GC pauses logged between start and end (Unix seconds) by -Xlog:gc (decorated time)."""
    count, total = 0, 0.0
    after = heap = None
    for line in lines:
        m = _GC_LINE.match(line.strip())
        if not m:
            continue
        try:
            when = dt.datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except ValueError:
            continue
        if start <= when < end:
            count += 1
            total += float(m["ms"])
            after, heap = float(m["after"]), float(m["heap"])
    return GcFigures(count, round(total, 3), after, heap)


def activity_summary(samples: Sequence[Sequence[tuple[str, str, int]]]) -> dict[str, JSONValue]:
    """pg_stat_activity samples [(state, wait_event_type, count)] → active and waits."""
    active = [sum(n for state, _, n in s if state == "active") for s in samples]
    waits: dict[str, int] = {}
    for s in samples:
        for state, wait, n in s:
            if state == "active" and wait:
                waits[wait] = waits.get(wait, 0) + n
    ordered: dict[str, JSONValue] = {k: v for k, v in sorted(waits.items(), key=_by_count)}
    return {
        "samples": len(samples),
        "active_max": max(active, default=0),
        "active_mean": round(sum(active) / len(active), 2) if active else 0.0,
        "waits": ordered,
    }


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def activity_rows(text: str) -> list[tuple[str, str, int]]:
    """One pg_stat_activity sample: psql's `state|wait_event_type|count` lines."""
    rows = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].isdigit():
            rows.append((parts[0], parts[1], int(parts[2])))
    return rows


def top_statements(text: str) -> tuple[float | None, list[JSONValue]]:
    """pg_stat_statements' top statements (psql's `total|calls|mean|query` lines, the largest
    total first) and that largest total."""
    statements: list[JSONValue] = []
    totals: list[float] = []
    for line in text.splitlines():
        parts = line.split("|", 3)
        if len(parts) == 4:
            totals.append(float(parts[0]))
            statements.append(
                {
                    "total_ms": float(parts[0]),
                    "calls": int(parts[1]),
                    "mean_ms": float(parts[2]),
                    "query": parts[3],
                }
            )
    return (totals[0] if totals else None), statements


@dataclass(frozen=True)
class ProxyTimes:
    """Proxied requests of one run: nginx's request time and the upstream's response time."""

    requests: int
    request_p50_ms: float | None
    request_p95_ms: float | None
    upstream_p50_ms: float | None
    upstream_p95_ms: float | None
    in_nginx_p95_ms: float | None  # request - upstream, per request: nginx, TLS and network

    def detail(self) -> dict[str, JSONValue]:
        """Every figure but the upstream p95 (the row's value)."""
        return {k: v for k, v in vars(self).items() if k != "upstream_p95_ms"}


def proxy_times(lines: Iterable[str]) -> ProxyTimes:
    """`<request_time> <upstream_response_time>` lines (seconds, as nginx logs them; the
    upstream's is a comma list when nginx tried more than one, '-' for an attempt without
    an answer) → percentiles in ms."""
    request: list[float] = []
    upstream: list[float] = []
    for line in lines:
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            continue
        try:
            total = float(parts[0])
            spent = sum(
                float(t) for t in parts[1].replace(" ", "").split(",") if t not in ("", "-")
            )
        except ValueError:
            continue
        request.append(total * 1000)
        upstream.append(spent * 1000)
    in_nginx = sorted(max(r - u, 0.0) for r, u in zip(request, upstream, strict=True))

    def pct(values: list[float], p: float) -> float | None:
        got = percentile(sorted(values), p)
        return None if got is None else round(got, 1)

    return ProxyTimes(
        len(request),
        pct(request, 50),
        pct(request, 95),
        pct(upstream, 50),
        pct(upstream, 95),
        pct(in_nginx, 95),
    )


# --- on the hosts ------------------------------------------------------------------------

PG = "cd /tmp && sudo -n -u postgres psql -XAtq -F '|' -d platform -c "
ACTIVITY_SQL = (
    "SELECT state, coalesce(wait_event_type, ''), count(*) FROM pg_stat_activity "
    "WHERE datname = 'platform' AND pid <> pg_backend_pid() GROUP BY 1, 2"
)
HAS_PGSS_SQL = (
    "SELECT count(*) FROM pg_extension e, pg_settings s WHERE e.extname = "
    "'pg_stat_statements' AND s.name = 'shared_preload_libraries' "
    "AND s.setting LIKE '%pg_stat_statements%'"
)
TOP_SQL = (
    "SELECT round(total_exec_time::numeric, 1), calls, round(mean_exec_time::numeric, 2), "
    "left(regexp_replace(query, '\\s+', ' ', 'g'), 160) FROM pg_stat_statements "
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'platform') "
    "ORDER BY total_exec_time DESC LIMIT 5"
)


# The proxied requests logged between two Unix times, as `<request_time> <upstream time>`
# lines: the last 64 MB of the access log, filtered on the host by its python3.
PROXY_FILTER = (
    "import json, sys\n"
    "start, end = float(sys.argv[1]), float(sys.argv[2])\n"
    "for line in sys.stdin:\n"
    "    try:\n"
    "        r = json.loads(line)\n"
    "    except ValueError:\n"
    "        continue\n"
    "    if start <= r.get('msec', 0) < end and r.get('upstream_response_time'):\n"
    "        print(r['request_time'], r['upstream_response_time'])\n"
)


def nginx_access_log() -> str:
    """The nginx role's access log (its default; the one place it is named)."""
    from opsproof.role_variables import ROLES_DIR, load_role, role_default

    return str(role_default(load_role(ROLES_DIR / "nginx"), "nginx_access_log"))


def _first_in(targets: Sequence[SshTarget], group: str) -> str:
    """The first inventory host of a group (the group's name when the inventory has none)."""
    return next((t.name for t in targets if group in t.groups), group)


def _q(sql: str) -> str:
    return PG + '"' + sql.replace('"', '\\"') + '"'


class Watch:
    """Counters before and after a run, PostgreSQL sampled during it (a bounded thread)."""

    def __init__(self, inventory: str, *, run: str, profile: str) -> None:
        self.inventory, self.run, self.profile = inventory, run, profile
        self.results: list[ResourceResult] = []
        self._stop = threading.Event()
        self._samples: list[list[tuple[str, str, int]]] = []
        self._targets: dict[str, Any] = {}
        self._pgss = False
        self._thread: threading.Thread | None = None
        self._before: Snapshot | None = None
        # The hosts PostgreSQL, the JVM and nginx run on: first of their roles' groups (site.yml).
        self._db = self._app = self._web = ""

    def _ssh(self, host: str, command: str, timeout: float = 20) -> str | None:
        from opsproof.ssh_targets import run

        target = self._targets.get(host)
        if target is None:
            return None
        try:
            done = run(target, command, timeout=timeout)
        except OpsproofError:
            return None
        return done.stdout if done.rc == 0 else None

    def __enter__(self) -> Watch:
        from opsproof.ssh_targets import resolve

        try:
            targets = resolve(self.inventory)
        except OpsproofError:
            targets = []
        self._targets = {t.name: t for t in targets}
        self._db = _first_in(targets, placement.group_of("postgresql"))
        self._app = _first_in(targets, placement.group_of("tomcat"))
        self._web = _first_in(targets, placement.group_of("nginx"))
        has = self._ssh(self._db, _q(HAS_PGSS_SQL))
        self._pgss = bool(has and has.strip() == "1")
        if self._pgss:
            self._ssh(self._db, _q("SELECT pg_stat_statements_reset()"))
        self._before = take()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        deadline = time.monotonic() + 3 * 3600  # bounded even if never stopped
        while not self._stop.wait(PG_SAMPLE_S) and time.monotonic() < deadline:
            out = self._ssh(self._db, _q(ACTIVITY_SQL), timeout=10)
            if out is not None:
                self._samples.append(activity_rows(out))

    def __exit__(self, *exc: object) -> None:
        after = take()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        before = self._before or after
        rows = usage(before, after, run=self.run, profile=self.profile)
        activity = activity_summary(self._samples)
        active_max = activity["active_max"]
        rows.append(
            self._row(
                self._db,
                "pg_active_max",
                float(active_max) if isinstance(active_max, int | float) else None,
                activity,
            )
        )
        top: float | None = None
        detail: JSONValue = {"note": "pg_stat_statements is not loaded under this profile"}
        if self._pgss:
            top, statements = top_statements(self._ssh(self._db, _q(TOP_SQL)) or "")
            detail = {"top": statements}
        rows.append(self._row(self._db, "pg_top_statement_ms", top, detail))
        gc_log = self._ssh(self._app, "sudo -n tail -n 4000 /var/log/tomcat10/gc.log") or ""
        gc = parse_gc(gc_log.splitlines(), before.wall, after.wall)
        rows.append(
            self._row(
                self._app,
                "jvm_gc_pause_ms",
                gc.pause_ms,
                {"pauses": gc.pauses, "heap_after_mb": gc.heap_after_mb, "heap_mb": gc.heap_mb},
            )
        )
        proxy = proxy_times(self._proxy_lines(before.wall, after.wall).splitlines())
        rows.append(
            self._row(self._web, "nginx_upstream_p95_ms", proxy.upstream_p95_ms, proxy.detail())
        )
        self.results = rows

    def _proxy_lines(self, start: float, end: float) -> str:
        command = (
            f"sudo -n tail -c 67108864 {shlex.quote(nginx_access_log())} | "
            f"python3 -c {shlex.quote(PROXY_FILTER)} {start:.3f} {end:.3f}"
        )
        return self._ssh(self._web, command, timeout=60) or ""

    def _row(
        self, host: str, metric: str, value: float | None, detail: JSONValue
    ) -> ResourceResult:
        return ResourceResult(
            run=self.run,
            profile=self.profile,
            host=host,
            metric=metric,
            value=value,
            unit="ms" if metric.endswith("_ms") else "connections",
            detail=detail,
        )
