"""The platform WAR builds from source, reproducibly, without a bundled JDBC driver."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _build(out: Path) -> Path:
    proc = subprocess.run(
        ["bash", str(REPO / "platform/build.sh"), str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out / "ROOT.war"


def test_war_builds_reproducibly(tmp_path: Path) -> None:
    first = _build(tmp_path / "a")
    second = _build(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as war:
        names = war.namelist()
    assert "WEB-INF/web.xml" in names
    servlets = [n for n in names if n.startswith("WEB-INF/classes/cn/gov/platform/subsystem/")]
    assert len(servlets) >= 7  # the base servlet and the six subsystems
    assert not [n for n in names if n.startswith("WEB-INF/lib/") and "postgresql" in n]
