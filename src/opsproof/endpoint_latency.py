"""Sequential latency of every platform endpoint: one request at a time, N rounds.

Not a load test: it answers "how long does each endpoint take on its own", the figure a
load test is later compared with. Every response is checked (status and JSON), so a fast
error is never counted as a fast answer. Results go out in the project's results schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from opsproof.cli import add_inventory_option
from opsproof.endpoints import platform_endpoint
from opsproof.errors import ConfigError, PreconditionError
from opsproof.results import Measurement, ResultsDocument, run_meta_from_environment, write_results

SUBSYSTEMS = ("sharing", "intake", "investment", "publishing", "reporting", "oa")
# One list filter per subsystem (an indexed column once the performance work adds indexes).
FILTERS = {
    "sharing": "category=policy",
    "intake": "status=closed",
    "investment": "district=pudong",
    "publishing": "category=news",
    "reporting": "period=2018-06",
    "oa": "status=completed",
}


@dataclass(frozen=True)
class Endpoint:
    subsystem: str
    name: str  # grouping label, as a load test would name it
    path: str
    ok: Callable[[Any], bool]  # what a correct body looks like


@dataclass(frozen=True)
class Timing:
    endpoint: Endpoint
    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _is_page(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items"), list) and "total" in body


def _has_id(item_id: int) -> Callable[[Any], bool]:
    return lambda body: isinstance(body, dict) and body.get("id") == item_id


def _has_items(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items"), list) and bool(body["items"])


def discover(session: requests.Session, base: str) -> list[Endpoint]:
    """The endpoints to time, with real ids and keywords taken from the data."""
    endpoints = [Endpoint("platform", "/health", "/health", lambda b: b.get("db") == "ok")]
    for slug in SUBSYSTEMS:
        first = _get(session, base, f"/api/{slug}/items?size=1&sort=id,asc")["items"][0]
        keyword = first["unit_name"] if slug == "reporting" else first["title"][:6]
        prefix = f"/api/{slug}"
        endpoints += [
            Endpoint(slug, f"{prefix}/health", f"{prefix}/health", lambda b: b["status"] == "ok"),
            Endpoint(slug, f"{prefix}/items", f"{prefix}/items?size=20", _is_page),
            Endpoint(
                slug, f"{prefix}/items?filter", f"{prefix}/items?{FILTERS[slug]}&size=20", _is_page
            ),
            Endpoint(
                slug,
                f"{prefix}/items/{{id}}",
                f"{prefix}/items/{first['id']}",
                _has_id(first["id"]),
            ),
            Endpoint(slug, f"{prefix}/search", f"{prefix}/search?q={quote(keyword)}", _is_page),
            Endpoint(slug, f"{prefix}/stats", f"{prefix}/stats", lambda b: isinstance(b, dict)),
        ]
    endpoints += [
        Endpoint(
            "publishing",
            "/api/publishing/most-read",
            "/api/publishing/most-read?from=2018-01-01&to=2018-12-31&limit=10",
            _has_items,
        ),
        Endpoint("oa", "/api/oa/inbox", "/api/oa/inbox?user=7&size=20", _is_page),
    ]
    return endpoints


def _get(session: requests.Session, base: str, path: str) -> Any:
    try:
        resp = session.get(base + path, timeout=60)
    except requests.RequestException as err:
        raise PreconditionError(
            f"GET {base}{path} failed: {err}",
            fix="is the lab up and provisioned? run `make provision`",
        ) from None
    if resp.status_code != 200:
        raise PreconditionError(
            f"GET {base}{path} answered {resp.status_code}: {resp.text[:200]}",
            fix="check the platform with `curl --cacert … {base}/health`",
        )
    return resp.json()


def measure(
    session: requests.Session, base: str, endpoints: Sequence[Endpoint], rounds: int
) -> list[Timing]:
    samples: dict[str, list[float]] = {e.name: [] for e in endpoints}
    for _ in range(rounds):
        for endpoint in endpoints:
            start = time.perf_counter()
            body = _get(session, base, endpoint.path)
            elapsed = (time.perf_counter() - start) * 1000
            if not endpoint.ok(body):
                raise PreconditionError(
                    f"GET {endpoint.path}: unexpected body {str(body)[:200]}",
                    fix="the platform answers wrongly; see tests/e2e/test_platform.py",
                )
            samples[endpoint.name].append(elapsed)
    return [Timing(e, tuple(samples[e.name])) for e in endpoints]


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "probe", help="median latency of every platform endpoint, one request at a time"
    )
    add_inventory_option(parser, help="where the platform is")
    parser.add_argument("--url", help="the platform's base URL (default: the inventory's)")
    parser.add_argument("--ca", help="CA certificate to verify with ('' = the system's CAs)")
    parser.add_argument("--rounds", type=int, default=15, help="requests per endpoint (1..200)")
    parser.add_argument("--out", type=Path, help="results JSON (default reports/probe/<UTC>.json)")
    parser.set_defaults(func=cmd_probe)


def cmd_probe(args: argparse.Namespace) -> int:
    if not 1 <= args.rounds <= 200:
        raise ConfigError(f"--rounds={args.rounds} is out of range", fix="use 1..200")
    if args.url is None or args.ca is None:
        endpoint = platform_endpoint(args.inventory)
        args.url = endpoint.url if args.url is None else args.url
        args.ca = endpoint.ca_cert if args.ca is None else args.ca
    if args.ca and not Path(args.ca).is_file():
        raise PreconditionError(
            f"CA certificate {args.ca} not found", fix="run `make provision`, or pass --ca"
        )
    started = dt.datetime.now(dt.UTC)
    with requests.Session() as session:
        session.trust_env = False  # no proxy, no CA bundle from the environment
        session.verify = args.ca or True
        base = args.url.rstrip("/")
        endpoints = discover(session, base)
        _get(session, base, "/health")  # warm the connection
        timings = measure(session, base, endpoints, args.rounds)
    meta = run_meta_from_environment(
        "loadtest",
        hosts=[base],
        started_at=started,
        conditions={"mode": "sequential", "rounds": args.rounds, "url": base, "concurrency": 1},
    )
    results = [
        Measurement(
            subsystem=t.endpoint.subsystem,
            endpoint=t.endpoint.name,
            metric=metric,
            value=round(value, 2),
            unit="ms",
            profile="sequential",
            repetition=1,
            samples=len(t.samples_ms),
        )
        for t in timings
        for metric, value in (("p50_ms", t.median_ms), ("p95_ms", t.p95_ms))
    ]
    out = args.out or Path("reports/probe") / f"{started:%Y%m%dT%H%M%SZ}.json"
    write_results(ResultsDocument(run=meta, results=tuple(results)), out)
    width = max(len(t.endpoint.name) for t in timings)
    print(f"{'endpoint':<{width}}  median ms  p95 ms   ({args.rounds} sequential requests each)")
    for t in timings:
        print(f"{t.endpoint.name:<{width}}  {t.median_ms:9.1f}  {t.p95_ms:6.1f}")
    print(f"wrote {out}", file=sys.stderr)
    return 0
