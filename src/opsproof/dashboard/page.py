"""The dashboard page: one inline-SVG line chart per panel, plain HTML around them.

Pure functions (no I/O). The page runs no script and loads nothing: its Content-Security-
Policy forbids every fetch, so it renders the same offline, in a browser or in a PDF.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from opsproof.dashboard.panels import Panel
from opsproof.dashboard.query import Window

COLOURS = ("#1f5f8b", "#9e3b2e", "#3b8e4f", "#c9731e", "#7a4f9e", "#5fa3d0", "#777777", "#d4a017")
CSP = "default-src 'none'; style-src 'unsafe-inline'"
WIDTH, HEIGHT = 880, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 28


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PanelData:
    panel: Panel
    lines: tuple[Line, ...]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < hi - step * 1e-9:
        ticks.append(round(first + step * len(ticks), 10))
    return ticks


def _fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _segments(
    points: Sequence[tuple[float, float]], gap_s: float
) -> list[list[tuple[float, float]]]:
    """Points split where two neighbours are further apart than gap_s (missing data)."""
    out: list[list[tuple[float, float]]] = []
    for point in points:
        if out and point[0] - out[-1][-1][0] <= gap_s:
            out[-1].append(point)
        else:
            out.append([point])
    return out


def line_chart(data: PanelData, window: Window, tz: ZoneInfo) -> str:
    """The panel's lines as an SVG, time across (in tz), value up."""
    panel = data.panel
    values = [v for line in data.lines for _, v in line.points]
    if not values:
        return '<p class="nodata">无数据 / no data in this window</p>'
    lo = panel.y_min if panel.y_min is not None else min(values)
    hi = panel.y_max if panel.y_max is not None else max(values)
    hi = max(hi, max(values), lo + 1e-9)
    lo = min(lo, min(values))
    ticks = nice_ticks(lo, hi if panel.y_max is not None else hi * 1.05)
    lo, hi = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(1.0, window.end - window.start)

    def x(t: float) -> float:
        return LEFT + plot_w * (t - window.start) / span

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - lo) / (hi - lo))

    unit = f" {panel.unit}" if panel.unit else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(panel.title_en)}" '
        'font-family="sans-serif" font-size="11">'
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick)}{escape(unit)}</text>"
        )
    for i in range(7):
        t = window.start + span * i / 6
        tx = x(t)
        stamp = dt.datetime.fromtimestamp(t, tz).strftime(
            "%H:%M" if span <= 2 * 86400 else "%m-%d %H:%M"
        )
        parts.append(
            f'<line x1="{tx:.1f}" y1="{TOP}" x2="{tx:.1f}" y2="{TOP + plot_h}" stroke="#f0f0f0"/>'
            f'<text x="{tx:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{stamp}</text>'
        )
    for i, line in enumerate(data.lines):
        colour = COLOURS[i % len(COLOURS)]
        dash = ' stroke-dasharray="5 3"' if line.name.startswith("max ") else ""
        for segment in _segments(line.points, gap_s=window.step_s * 2.5):
            if len(segment) == 1:
                (t, v) = segment[0]
                parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="1.8" fill="{colour}"/>')
                continue
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in segment)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="1.6"{dash}>'
                f"<title>{escape(line.name)}</title></polyline>"
            )
    parts.append("</svg>")
    return "".join(parts)


def legend(data: PanelData) -> str:
    unit = f" {data.panel.unit}" if data.panel.unit else ""
    items = []
    for i, line in enumerate(data.lines):
        last = f"{_fmt(line.points[-1][1])}{unit}" if line.points else "—"
        items.append(
            f'<li><span class="swatch" style="background:{COLOURS[i % len(COLOURS)]}"></span>'
            f"{escape(line.name)}: {escape(last)}</li>"
        )
    return f'<ul class="legend">{"".join(items)}</ul>' if items else ""


def render_page(
    panels: Sequence[PanelData],
    *,
    window: Window,
    source: str,
    generated: dt.datetime,
    tz: ZoneInfo,
) -> str:
    """The whole page: a header saying what and when, then each panel."""

    def stamp(t: float) -> str:
        return dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")

    sections = []
    for data in panels:
        p = data.panel
        body = line_chart(data, window, tz) + legend(data)
        queries = "".join(f"<code>{escape(q.expr)}</code>" for q in p.queries)
        sections.append(
            f'<section class="panel" id="{escape(p.key)}" data-series="{len(data.lines)}">'
            f"<h2>{escape(p.title_zh)}<br><small>{escape(p.title_en)}</small></h2>{body}"
            f"<details><summary>PromQL</summary>{queries}</details></section>"
        )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>运维监控仪表板 Operations dashboard {escape(stamp(window.end))}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; margin-bottom: 4px; }}
.meta {{ color: #555; font-size: 13px; margin-top: 0; }}
.panel {{ border: 1px solid #ddd; border-radius: 4px; padding: 8px 12px; margin: 16px 0;
  max-width: 900px; }}
h2 {{ font-size: 15px; margin: 4px 0 8px; }}
h2 small {{ font-weight: normal; color: #555; }}
.legend {{ list-style: none; padding: 0; margin: 4px 0; font-size: 12px; columns: 3; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
.nodata, .error {{ color: #9e3b2e; }}
code {{ display: block; font-size: 11px; white-space: pre-wrap; }}
</style>
</head>
<body>
<h1>运维监控仪表板 · Operations dashboard</h1>
<p class="meta">{escape(stamp(window.start))} – {escape(stamp(window.end))} ({escape(str(tz))}),
每 {window.step_s} 秒一点 / one point per {window.step_s} s · 数据来源 / source: {escape(source)}
· 生成于 / generated {escape(generated.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"))}</p>
{"".join(sections)}
</body>
</html>
"""
