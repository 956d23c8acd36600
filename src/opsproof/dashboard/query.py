"""Prometheus's HTTP API, query_range only: a PromQL expression over a window, as series."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsproof.errors import ConfigError, PreconditionError

TIMEOUT_S = 20


@dataclass(frozen=True)
class Series:
    """One time series of a range query: its labels and (unix time, value) points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Window:
    start: float  # unix seconds
    end: float
    step_s: int


def parse_matrix(body: Mapping[str, Any], *, what: str = "query") -> list[Series]:
    """The series of a query_range answer ({"status": "success", "data": {"resultType":
    "matrix", "result": [{"metric": {...}, "values": [[t, "v"], ...]}]}}); NaN and
    infinite values are dropped (a gap in the graph)."""
    if body.get("status") != "success":
        error = body.get("error") or body.get("status") or "no status"
        raise ConfigError(
            f"Prometheus refused the {what}: {error}",
            fix="check the expression in opsproof.dashboard.panels",
        )
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise ConfigError(
            f"Prometheus answered the {what} with {data.get('resultType')!r}, not a matrix",
            fix="query_range returns matrices: check the URL (/api/v1/query_range)",
        )
    out = []
    for item in data.get("result") or []:
        points = []
        for t, v in item.get("values") or []:
            value = float(v)
            if math.isfinite(value):
                points.append((float(t), value))
        labels = {str(k): str(val) for k, val in (item.get("metric") or {}).items()}
        out.append(Series(labels, tuple(points)))
    return out


def query_range(base_url: str, expr: str, window: Window) -> list[Series]:
    """GET <base_url>/api/v1/query_range for expr over window (plain HTTP or HTTPS with the
    system's CAs; the lab's Prometheus listens on the ops host's bridge address)."""
    params = urllib.parse.urlencode(
        {"query": expr, "start": window.start, "end": window.end, "step": window.step_s}
    )
    url = f"{base_url.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as err:  # 400/422 carry Prometheus's own error in JSON
        try:
            body = json.load(err)
        except (json.JSONDecodeError, OSError):
            raise PreconditionError(
                f"{base_url}: HTTP {err.code} for a range query",
                fix="check that Prometheus runs there (make provision)",
            ) from None
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as err:
        raise PreconditionError(
            f"{base_url}: Prometheus does not answer ({err})",
            fix="check the ops host and Prometheus (make provision), or pass --prometheus URL",
        ) from None
    return parse_matrix(body, what=f"query {expr!r}")


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"--prometheus {url!r} is not an http(s) URL", fix="e.g. http://<ops host>:9090"
        )
    return url


def label(series: Series, keys: Sequence[str]) -> str:
    """The legend of a series: the values of `keys` it has, else all its labels."""
    picked = [series.labels[k] for k in keys if k in series.labels]
    if picked:
        return " ".join(picked)
    return ",".join(f"{k}={v}" for k, v in sorted(series.labels.items())) or "value"
