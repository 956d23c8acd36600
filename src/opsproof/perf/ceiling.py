"""The load generator's ceiling: Locust (FastHttpUser, one process) against wrk.

Both run from this machine against the same URL for the same bounded time with the same
number of connections; req/s is counted over the full seconds of each run (the first and
the last, partial, second left out for Locust; wrk reports its own mean). wrk does not
verify TLS certificates (it cannot); Locust verifies with the lab CA. It only targets the
inventory's lab hosts (group `lab`) or loopback: never a production server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opsproof import endpoints
from opsproof.errors import ConfigError, PreconditionError
from opsproof.perf import cpucap
from opsproof.perf.defaults import LOAD
from opsproof.perf.loadrun import REPO
from opsproof.results import Measurement

LOCUSTFILE = REPO / "loadtests" / "ceiling.py"
LOOPBACK = frozenset({"localhost"})


def targets(platform_url: str) -> tuple[tuple[str, int], ...]:
    """The URLs measured, with the status each must answer, on the platform's host."""
    host = urlsplit(platform_url).netloc
    return (
        (f"https://{host}/health", 200),  # nginx -> Tomcat -> PostgreSQL (SELECT 1)
        (f"http://{host}/", 301),  # nginx alone: its redirect to HTTPS
    )


def allowed_hosts(inventory: str) -> frozenset[str]:
    """Where the ceiling may send its unpaced load: the lab hosts of the inventory."""
    return endpoints.lab_addresses(inventory)


_WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
_WRK_TOTAL = re.compile(r"([0-9]+) requests in")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class CeilingFigure:
    tool: str
    url: str
    rps: float
    requests: int
    errors: int
    seconds: float


def _check(url: str, duration_s: float, connections: int, allowed: frozenset[str]) -> None:
    if not 1 <= duration_s <= 15:
        raise ConfigError(f"duration {duration_s} s", fix="use 1..15 s per tool")
    if not 1 <= connections <= 512:
        raise ConfigError(f"connections {connections}", fix="use 1..512")
    host = urlsplit(url).hostname or ""
    if not (host in allowed or host.startswith("127.") or host in LOOPBACK):
        raise ConfigError(
            f"{url}: the ceiling only targets the inventory's lab hosts "
            f"({', '.join(sorted(allowed)) or 'none'}) or loopback",
            fix="use the lab inventory, or a 127.0.0.1 URL",
        )


def run_wrk(
    url: str, duration_s: float, connections: int, out_dir: Path, allowed: frozenset[str]
) -> CeilingFigure:
    _check(url, duration_s, connections, allowed)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise PreconditionError("wrk not found", fix="`make deps` (Debian package wrk)")
    argv = [wrk, "-t1", f"-c{connections}", f"-d{int(duration_s)}s", "--timeout", "5s", url]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration_s + 30, check=False
    )
    (out_dir / f"wrk-{_slug(url)}.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    rps, total = _WRK_RPS.search(proc.stdout), _WRK_TOTAL.search(proc.stdout)
    if proc.returncode != 0 or rps is None or total is None:
        raise PreconditionError(
            f"wrk failed on {url}: {(proc.stderr or proc.stdout).strip()[:300]}",
            fix="is the platform answering? `make probe`",
        )
    socket_errors = _WRK_ERRORS.search(proc.stdout)
    non_2xx_3xx = _WRK_NON2XX.search(proc.stdout)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    errors += int(non_2xx_3xx.group(1)) if non_2xx_3xx else 0
    return CeilingFigure(
        "wrk", url, float(rps.group(1)), int(total.group(1)), errors, float(int(duration_s))
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_locust(
    url: str,
    status: int,
    duration_s: float,
    connections: int,
    out_dir: Path,
    ca_cert: str,
    allowed: frozenset[str],
    workers: int = 0,
    cpu_per_process: float | None = None,
) -> CeilingFigure:
    """Locust on one URL: one process (`workers` 0), or a master and `workers` worker
    processes on this machine (distributed mode, the master on 127.0.0.1). With
    `cpu_per_process`, the one process, or each worker, runs in a cgroup of that many cores
    (`cpucap`); a master only aggregates and is not capped."""
    _check(url, duration_s, connections, allowed)
    parts = urlsplit(url)
    tool = f"locust-{workers}workers" if workers else "locust"
    stats = out_dir / f"{tool}-{_slug(url)}"
    log_path = out_dir / f"{tool}-{_slug(url)}.log"
    locust = [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE)]
    # The master's and the workers' own (a worker's users read them from its own options).
    user_options = ["--host", f"{parts.scheme}://{parts.netloc}", "--ca-cert", ca_cert]
    user_options += ["--ceiling-path", parts.path or "/", "--ceiling-status", str(status)]
    argv = [
        *locust,
        "--headless",
        *user_options,
        "-u",
        str(connections),
        "-r",
        str(connections),
        "-t",
        f"{int(duration_s)}s",
        "--json-file",
        str(stats),
        "--only-summary",
        "--stop-timeout",
        "5",
    ]
    port = _free_port() if workers else 0
    if workers:
        argv += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
        argv += ["--expect-workers", str(workers), "--expect-workers-max-wait", "30"]
    worker_argv = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    with log_path.open("w", encoding="utf-8") as log, contextlib.ExitStack() as stack:
        procs: list[subprocess.Popen[bytes]] = []
        try:
            join = stack.enter_context(
                cpucap.cpu_budget(None if workers else cpu_per_process, f"{tool}-{os.getpid()}")
            )
            master = subprocess.Popen(
                argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=join
            )
            procs.append(master)
            for n in range(1, workers + 1):
                name = f"{tool}-{os.getpid()}-w{n}"
                join = stack.enter_context(cpucap.cpu_budget(cpu_per_process, name))
                procs.append(
                    subprocess.Popen(
                        worker_argv + user_options,
                        cwd=REPO,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        preexec_fn=join,  # one write to cgroup.procs; no threads here
                    )
                )
            returncode = master.wait(timeout=duration_s + 60)
            for worker in procs[1:]:
                worker.wait(timeout=30)  # a worker quits when its master does
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    if returncode not in (0, 1) or not stats.with_suffix(".json").is_file():
        raise PreconditionError(
            f"Locust exited {returncode} on {url}",
            fix=f"see {log_path}",
        )
    entries = json.loads(stats.with_suffix(".json").read_text(encoding="utf-8"))
    per_second: dict[int, int] = {}
    requests = failures = 0
    for entry in entries:
        requests += int(entry["num_requests"])
        failures += int(entry["num_failures"])
        for second, count in entry["num_reqs_per_sec"].items():
            per_second[int(second)] = per_second.get(int(second), 0) + int(count)
    full = sorted(per_second)[1:-1]  # the first and last seconds are partial
    if not full:
        raise PreconditionError(f"Locust sent no requests to {url}", fix="see its log")
    rps = sum(per_second[s] for s in full) / len(full)
    return CeilingFigure(tool, url, round(rps, 1), requests, failures, float(len(full)))


def _slug(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", url.split("://", 1)[-1]).strip("_")


def measurements(figures: list[CeilingFigure]) -> list[Measurement]:
    """The ceiling as measurement rows: subsystem 'generator', profile = the tool."""
    return [
        Measurement(
            subsystem="generator",
            endpoint=f.url,
            metric=metric,
            value=value,
            unit=unit,
            profile=f.tool if "workers" in f.tool else f"{f.tool}-1core",
            repetition=1,
            samples=f.requests,
        )
        for f in figures
        for metric, value, unit in (("rps", f.rps, "req/s"), ("failed", f.errors, "requests"))
    ]


def measure_ceiling(
    out_dir: Path,
    *,
    targets: tuple[tuple[str, int], ...],
    allowed: frozenset[str],
    ca_cert: str,
    duration_s: float = LOAD.ceiling_duration_s,
    connections: int = LOAD.ceiling_connections,
    workers: int = 0,
    cpu_per_process: float | None = None,
) -> list[CeilingFigure]:
    """Locust (one process) and wrk per URL; with `workers`, Locust distributed too, with one
    worker and with `workers` (what the extra workers buy, same mode); with `cpu_per_process`,
    each Locust process that sends requests gets that many cores (wrk is not capped)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for url, status in targets:
        common = (url, status, duration_s, connections, out_dir, ca_cert, allowed)
        figures.append(run_locust(*common, cpu_per_process=cpu_per_process))
        for n in sorted({1, workers}) if workers else ():
            figures.append(run_locust(*common, n, cpu_per_process))
        figures.append(run_wrk(url, duration_s, connections, out_dir, allowed))
    return figures
