"""The dashboard page from Prometheus range queries (a fixture of query_range JSON, served
over HTTP on the loopback for the client): parsing, gaps, axes, and a page that loads nothing."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsproof.dashboard import page, query
from opsproof.dashboard.cli import collect, window_for
from opsproof.dashboard.panels import PANELS
from opsproof.errors import ConfigError, PreconditionError

FIXTURE = Path(__file__).parent / "data/dashboard/query_range.json"
BODY = json.loads(FIXTURE.read_text(encoding="utf-8"))
START = BODY["data"]["result"][0]["values"][0][0]
WINDOW = query.Window(start=START, end=START + 24 * 60, step_s=60)
TZ = ZoneInfo("Asia/Shanghai")


def test_matrix_parsed_and_nan_dropped() -> None:
    series = query.parse_matrix(BODY)
    assert [s.labels.get("subsystem") for s in series] == ["oa", "intake", "sharing"]
    assert len(series[0].points) == 25
    assert len(series[2].points) == 24  # the NaN at minute 3 is a gap, not a zero
    assert series[1].points[10][1] == 80.0


def test_an_error_answer_names_prometheus_error() -> None:
    bad = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    with pytest.raises(ConfigError, match="parse error at char 5"):
        query.parse_matrix(bad)
    with pytest.raises(ConfigError, match="not a matrix"):
        query.parse_matrix({"status": "success", "data": {"resultType": "vector", "result": []}})


def test_missing_points_break_the_line() -> None:
    points = [(float(t), 1.0) for t in (0, 60, 120, 600, 660)]
    assert [len(s) for s in page._segments(points, gap_s=150)] == [3, 2]


@pytest.mark.parametrize(("lo", "hi"), [(0, 100), (0, 7.3), (12.5, 13.1), (0, 4096)])
def test_ticks_cover_the_range(lo: float, hi: float) -> None:
    ticks = page.nice_ticks(lo, hi)
    assert ticks[0] <= lo
    assert ticks[-1] >= hi
    assert 2 <= len(ticks) <= 12


def _page(lines: tuple[page.Line, ...]) -> str:
    data = [page.PanelData(PANELS[0], lines)] + [page.PanelData(p, ()) for p in PANELS[1:]]
    generated = dt.datetime(2025, 12, 4, 3, 0, tzinfo=dt.UTC)
    return page.render_page(data, window=WINDOW, source="http://x:9090", generated=generated, tz=TZ)


def test_page_draws_each_series_and_loads_nothing() -> None:
    lines = tuple(
        page.Line(query.label(s, ("subsystem",)), s.points) for s in query.parse_matrix(BODY)
    )
    html = _page(lines)
    first = html.split('id="availability"', 1)[1].split("</section>", 1)[0]
    # intake has a gap (minutes 16-18): two polylines; oa one; sharing one (the NaN is one step).
    assert first.count("<polyline") == 4
    assert 'data-series="3"' in first
    assert "无数据" in html  # the panels without data say so
    assert len(re.findall(r'<section class="panel"', html)) == len(PANELS)
    # Nothing to fetch or run: no script, no src/href, a policy forbidding every fetch.
    assert "<script" not in html.lower()
    assert not re.search(r"\s(src|href)=", html)
    assert f'content="{page.CSP}"' in html
    assert "10:00" in html  # 02:00 UTC on the time axis in Asia/Shanghai


@pytest.fixture
def prometheus() -> Iterator[str]:
    """A stand-in for Prometheus's HTTP API on the loopback: answers every range query
    with the fixture and remembers the queries."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = FIXTURE.read_bytes()
            self.send_response(200 if self.path.startswith("/api/v1/query_range?") else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        assert seen
        assert all("query=" in p and "step=60" in p for p in seen)


def test_a_panel_collected_over_http(prometheus: str) -> None:
    data = collect(prometheus, PANELS[0], WINDOW)
    assert [line.name for line in data.lines] == ["intake", "oa", "sharing"]


def test_no_prometheus_is_a_precondition_error() -> None:
    with pytest.raises(PreconditionError, match="does not answer"):
        query.query_range("http://127.0.0.1:9", "up", WINDOW)


def test_window_steps_and_bounds() -> None:
    w = window_for(6, None, now=1_000_000.0)
    assert w.end - w.start == 6 * 3600
    assert w.step_s == 90  # 6 h / 240 points
    assert w.end % w.step_s == 0
    with pytest.raises(ConfigError):
        window_for(0, None, now=1.0)
