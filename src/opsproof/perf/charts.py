"""Inline SVG charts for the performance report (no plotting library).

Both charts use a logarithmic latency axis: the profiles differ by orders of magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#9e3b2e", "#e08a6d", "#f2c4b3", "#1f5f8b", "#5fa3d0", "#b9dcf2")
LINE_COLOURS = ("#9e3b2e", "#1f5f8b", "#c9731e", "#3b8e4f", "#7a4f9e", "#777777")


def _log_axis(lo: float, hi: float) -> tuple[float, float, list[float]]:
    lo_exp = math.floor(math.log10(max(lo, 0.1)))
    hi_exp = math.ceil(math.log10(max(hi, lo * 10, 1.0)))
    if hi_exp <= lo_exp:
        hi_exp = lo_exp + 1
    return lo_exp, hi_exp, [10.0**e for e in range(lo_exp, hi_exp + 1)]


def _label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def grouped_bars(
    groups: Sequence[str],
    series: Sequence[str],
    values: Mapping[tuple[str, str], float | None],
    *,
    title: str,
    width: int = 900,
    height: int = 320,
) -> str:
    """Bars per group (e.g. subsystem) and series (e.g. 'baseline p95'), log scale in ms."""
    present = [v for v in values.values() if v is not None and v > 0]
    if not present:
        return f'<p class="note">{escape(title)}: no data</p>'
    lo_exp, hi_exp, ticks = _log_axis(min(present), max(present))
    left, right, top, bottom = 60, 10, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))

    def y(ms: float) -> float:
        frac = (math.log10(ms) - lo_exp) / (hi_exp - lo_exp)
        return top + plot_h * (1 - frac)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="#ddd"/><text x="{left - 4}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{escape(_label(tick))}</text>"
        )
    for gi, group in enumerate(groups):
        gx = left + gi * group_w + group_w * 0.1
        for si, name in enumerate(series):
            value = values.get((group, name))
            if value is None or value <= 0:
                continue
            bx, by = gx + si * bar_w, y(value)
            parts.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{top + plot_h - by:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{escape(f'{group} {name}: {value:.1f} ms')}</title></rect>"
            )
        parts.append(
            f'<text x="{gx + group_w * 0.4:.1f}" y="{top + plot_h + 14}" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
    for si, name in enumerate(series):
        lx = left + si * 140
        parts.append(
            f'<rect x="{lx}" y="{height - 22}" width="10" height="10" '
            f'fill="{PALETTE[si % len(PALETTE)]}"/><text x="{lx + 14}" y="{height - 13}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def lines(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str = "seconds since the run started",
    width: int = 900,
    height: int = 300,
) -> str:
    """One line per series of (x seconds, y ms) points, log-scale y."""
    points = [p for pts in series.values() for p in pts if p[1] > 0]
    if not points:
        return f'<p class="note">{escape(title)}: no data</p>'
    lo_exp, hi_exp, ticks = _log_axis(min(p[1] for p in points), max(p[1] for p in points))
    x_max = max(p[0] for p in points) or 1.0
    left, right, top, bottom = 60, 10, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(x: float, ms: float) -> str:
        frac = (math.log10(ms) - lo_exp) / (hi_exp - lo_exp)
        return f"{left + plot_w * x / x_max:.1f},{top + plot_h * (1 - frac):.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in ticks:
        _, ty = xy(0, tick).split(",")
        parts.append(
            f'<line x1="{left}" y1="{ty}" x2="{width - right}" y2="{ty}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{float(ty) + 4:.1f}" text-anchor="end">'
            f"{escape(_label(tick))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 16}" text-anchor="middle">'
        f"{escape(x_label)} (0 … {x_max:.0f})</text>"
    )
    for i, (name, pts) in enumerate(series.items()):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        path = " ".join(xy(x, ms) for x, ms in pts if ms > 0)
        if path:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}">'
                f"<title>{escape(name)}</title></polyline>"
            )
        lx = left + (i % 6) * 140
        ly = height - 26 + (i // 6) * 12
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{ly + 5}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
