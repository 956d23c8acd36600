"""`opsproof dashboard`: query the inventory's Prometheus, write the page.

Exit codes: 0 written; 2 a bad option or inventory; 3 Prometheus does not answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from opsproof import endpoints, placement
from opsproof.ansible_inventory import AnsibleInventory
from opsproof.cli import add_inventory_option
from opsproof.dashboard import page
from opsproof.dashboard.panels import PANELS, Panel
from opsproof.dashboard.query import Window, check_url, label, query_range
from opsproof.errors import ConfigError
from opsproof.monitoring import prometheus

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS_ROLE = prometheus.PROMETHEUS_ROLE
LAB_TZ = "Asia/Shanghai"  # the hosts' timezone (baseline_timezone in the lab)
POINTS = 240  # points per line, about (the step follows the window)


def prometheus_url(inventory: str | Path) -> str:
    """http://<first host of the prometheus role's group>:<prometheus_port>, as the
    inventory and the role's defaults say."""
    group = placement.group_of(PROMETHEUS_ROLE)
    loaded = AnsibleInventory(inventory, fix=endpoints.INVENTORY_FIX)
    names = loaded.names(group)
    if not names:
        raise ConfigError(
            f"{loaded.source}: no host in group {group!r} (the {PROMETHEUS_ROLE} role's group)",
            fix="add the ops host to that group, or pass --prometheus URL",
        )
    values = loaded.render(
        names[0],
        ["ansible_host", "prometheus_port"],
        defaults=endpoints.role_files(PROMETHEUS_ROLE),
    )
    address = str(values.get("ansible_host") or names[0])
    return prometheus.base_url(
        address, int(values.get("prometheus_port") or prometheus.DEFAULT_PORT)
    )


def collect(base_url: str, panel: Panel, window: Window) -> page.PanelData:
    lines = []
    for q in panel.queries:
        for series in query_range(base_url, q.expr, window):
            name = label(series, q.legend)
            lines.append(page.Line(f"{q.prefix} {name}".strip(), series.points))
    return page.PanelData(panel, tuple(sorted(lines, key=lambda line: line.name)))


def window_for(hours: float, step_s: int | None, now: float) -> Window:
    if not 0 < hours <= 24 * 35:
        raise ConfigError(f"--hours {hours}: out of range", fix="give 0 < hours <= 840 (35 days)")
    span = hours * 3600
    step = step_s or max(15, int(span / POINTS))
    if step <= 0:
        raise ConfigError(f"--step {step_s}: must be > 0", fix="give seconds, e.g. --step 60")
    end = float(int(now) // step * step)
    return Window(start=end - span, end=end, step_s=step)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "dashboard", help="the key graphs from Prometheus as one HTML page (inline SVG)"
    )
    add_inventory_option(parser)
    parser.add_argument("--prometheus", help="Prometheus's base URL (default: the inventory's)")
    parser.add_argument("--hours", type=float, default=6.0, help="the window, ending now")
    parser.add_argument("--step", type=int, default=None, help="seconds between points")
    parser.add_argument("--tz", default=LAB_TZ, help="timezone of the time axis")
    parser.add_argument(
        "--out", type=Path, default=None, help="default reports/dashboard/<date>/index.html"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        tz = ZoneInfo(args.tz)
    except (KeyError, ValueError):
        raise ConfigError(f"--tz {args.tz!r} is not a timezone", fix="e.g. Asia/Shanghai") from None
    base = check_url(args.prometheus) if args.prometheus else prometheus_url(args.inventory)
    window = window_for(args.hours, args.step, time.time())
    panels = [collect(base, p, window) for p in PANELS]
    generated = dt.datetime.now(dt.UTC)
    html = page.render_page(panels, window=window, source=base, generated=generated, tz=tz)
    out = (
        args.out
        or REPO / "reports/dashboard" / generated.astimezone(tz).strftime("%Y-%m-%d") / "index.html"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    shown = sum(1 for p in panels if p.lines)
    print(f"dashboard: {out} ({shown} of {len(panels)} panels with data, {base})", file=sys.stderr)
    return 0
