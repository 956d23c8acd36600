"""The per-request log a load run leaves behind, and the stage markers of its load shape.

Each Locust process that sends requests appends one CSV line per request to
`requests-<pid>.csv` in the run directory: start (Unix seconds), method, name, response
time (ms), 1 for success or 0 for failure. The load shape (on the master or the only
process) writes `stages.json` with the Unix time each stage began and when the test ended.
Statistics are computed from these files, not from Locust's aggregated percentiles.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opsproof.errors import PreconditionError

REQUESTS_GLOB = "requests-*.csv"
STAGES_FILE = "stages.json"


@dataclass(frozen=True)
class Request:
    start: float  # Unix seconds
    method: str
    name: str
    ms: float
    ok: bool


@dataclass(frozen=True)
class Window:
    """Unix times of a load stage: its start (warm-up included), where it is measured from,
    its end. A whole run (stages.json's top level) and each step of a capacity run are one."""

    start: float
    measured_from: float
    end: float

    @property
    def measured_s(self) -> float:
        return self.end - self.measured_from

    def measures(self, t: float) -> bool:
        return self.measured_from <= t < self.end


def format_line(start: float, method: str, name: str, ms: float, ok: bool) -> list[str]:
    return [f"{start:.6f}", method, name, f"{ms:.3f}", "1" if ok else "0"]


def read_requests(run_dir: Path) -> Iterator[Request]:
    files = sorted(run_dir.glob(REQUESTS_GLOB))
    if not files:
        raise PreconditionError(
            f"{run_dir}: no {REQUESTS_GLOB} (the load run logged no request)",
            fix="look at locust.log in that directory: did Locust start and reach the host?",
        )
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if len(row) != 5:  # a line cut short by a killed process
                    continue
                yield Request(float(row[0]), row[1], row[2], float(row[3]), row[4] == "1")


def read_stages(run_dir: Path) -> Window:
    path = run_dir / STAGES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Window(float(data["warmup_start"]), float(data["steady_start"]), float(data["end"]))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PreconditionError(
            f"{path}: no complete stage markers ({err})",
            fix="the load shape did not finish; look at locust.log in that directory",
        ) from None
