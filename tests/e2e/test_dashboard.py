"""The dashboard for people (issue 14, "dashboards"): `opsproof dashboard` reads the lab's
Prometheus and writes a page that headless Chromium renders with every graph drawn: each
subsystem's availability, each host's CPU, nothing run or fetched."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageStat

from opsproof import endpoints

from .conftest import LAB, REPO, Run, sh

SUBSYSTEMS = endpoints.role_files("prometheus")["prometheus_subsystems"]


def _section(dom: str, key: str) -> str:
    return dom.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]


def test_the_dashboard_renders_in_headless_chromium(provisioned: Run, tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    made = sh(".venv/bin/opsproof", "dashboard", "--hours", "1", "--out", str(out), timeout=120)
    assert made.rc == 0, made.out[-2000:]
    browser = shutil.which("chromium")
    assert browser, "chromium is installed by make deps"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
        cwd=REPO,
    ).stdout
    # Every subsystem's availability and every host's CPU are lines in the rendered page.
    availability = _section(dom, "availability")
    for subsystem in SUBSYSTEMS:
        assert f"<title>{subsystem}</title>" in availability, subsystem
    cpu = _section(dom, "cpu")
    for host in LAB.hosts:
        assert f"<title>{host.name}</title>" in cpu, host.name
    assert "<polyline" in _section(dom, "latency")
    assert "<script" not in dom.lower()
    assert not re.search(r"\s(src|href)=", dom)
    png = tmp_path / "index.png"
    subprocess.run(
        [*flags, "--window-size=1000,2400", f"--screenshot={png}", out.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
        cwd=REPO,
    )
    # Drawn, not blank: the picture has ink (lines, text) on the white page.
    stats = ImageStat.Stat(Image.open(png).convert("L"))
    assert stats.stddev[0] > 10, stats.stddev
