"""Background traffic during an experiment: the monitor (health rounds, the steady state seen
from outside) and the writer (records through the platform's POST endpoints, for the audit).

Both are bounded: a fixed pace, a hard cap on their lifetime, and they stop when told.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from opsproof.chaos import context, steady
from opsproof.chaos.audit import TABLES, Write
from opsproof.chaos.timings import Sample

MAX_LIFETIME_S = 1800.0


class Monitor(threading.Thread):
    """Health rounds every `interval_s`: the series time to detect/recover are read from."""

    def __init__(self, interval_s: float = 0.5) -> None:
        super().__init__(name="chaos-monitor", daemon=True)
        self.interval_s = interval_s
        self.rounds: list[steady.Round] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        session, base = context.session(), context.base_url()
        deadline = time.monotonic() + MAX_LIFETIME_S
        with ThreadPoolExecutor(len(steady.HEALTH_PATHS)) as pool:
            while not self._stop_event.is_set() and time.monotonic() < deadline:
                self.rounds.append(steady.health_round(session, base, pool))
                self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)

    def samples(self) -> list[Sample]:
        return [Sample(r.started, r.ok) for r in self.rounds]

    def request_samples(self) -> list[Sample]:
        """One sample per request (a round of 7 requests with 2 errors gives 5 ok + 2 failed)."""
        out: list[Sample] = []
        for r in self.rounds:
            n = len(r.latencies_ms)
            out += [Sample(r.started, i >= r.errors) for i in range(n)]
        return out


def body(slug: str, title: str, seq: int) -> dict[str, Any]:
    """A valid create body per subsystem (platform/README.md), titled with the run's marker."""
    if slug == "sharing":
        return {"office_id": 1 + seq % 48, "title": title, "category": "notice", "body": "chaos"}
    if slug == "intake":
        return {"office_id": 1 + seq % 30, "title": title, "body": "chaos audit"}
    if slug == "investment":
        return {"title": title, "district": "pudong", "industry": "it", "amount": 1.0}
    return {"title": title, "category": "news", "author": "chaos", "body": "chaos audit"}


class Writer(threading.Thread):
    """POSTs `rate_per_s` records per second, round-robin over the subsystems; logs each."""

    def __init__(self, marker: str, rate_per_s: float = 4.0, timeout_s: float = 10.0) -> None:
        super().__init__(name="chaos-writer", daemon=True)
        self.marker = marker
        self.interval = 1.0 / max(0.1, min(rate_per_s, 50.0))
        self.timeout_s = timeout_s
        self.writes: list[Write] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        session, base = context.session(), context.base_url()
        deadline = time.monotonic() + MAX_LIFETIME_S
        slugs = itertools.cycle(sorted(TABLES))
        for seq in itertools.count():
            if self._stop_event.is_set() or time.monotonic() > deadline:
                return
            slug = next(slugs)
            started = time.time()
            title = f"{self.marker}-{seq:06d}"
            record_id: int | None = None
            try:
                resp = session.post(
                    f"{base}/api/{slug}/items",
                    json=body(slug, title, seq),
                    timeout=self.timeout_s,
                )
                if resp.status_code == 201:
                    value = resp.json().get("id")
                    record_id = int(value) if isinstance(value, int) else None
            except (requests.RequestException, ValueError):
                record_id = None
            self.writes.append(Write(slug, started, record_id is not None, record_id))
            self._stop_event.wait(max(0.0, self.interval - (time.time() - started)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.timeout_s + 10)

    def samples(self) -> list[Sample]:
        return [Sample(w.at, w.ok) for w in self.writes]
