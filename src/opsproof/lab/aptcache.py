"""apt-cacher-ng on the bridge address: the lab hosts' only way to Debian's packages (no NAT)."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

from opsproof.errors import LabError, PreconditionError
from opsproof.lab.config import LabSpec
from opsproof.lab.system import pid_alive, run

CONF_DIR = Path("/etc/apt-cacher-ng")
CONF_FILE = CONF_DIR / "zz-opsproof.conf"
BACKENDS = CONF_DIR / "backends_debian"
PIDFILE = Path("/run/apt-cacher-ng/pid")
_SOURCES = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]


def machine_mirror(sources: list[Path] = _SOURCES) -> str:
    """The Debian mirror this machine's own apt uses (first non-security Debian URI)."""
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        uris: list[str] = re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", text, re.M
        )
        for uri in uris:
            if uri.rstrip("/").endswith("/debian") and uri.startswith("http"):
                return uri.rstrip("/")
    raise PreconditionError(
        "no Debian mirror found in /etc/apt/sources.list(.d)",
        fix="configure apt with a Debian mirror (http://…/debian)",
    )


def _render(spec: LabSpec) -> str:
    return (
        "# Managed by opsproof lab: apt-cacher-ng serves the lab hosts on the bridge only.\n"
        f"Port: {spec.apt_proxy_port}\n"
        f"BindAddress: 127.0.0.1 {spec.gateway}\n"
    )


def _running() -> bool:
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return False
    return pid_alive(pid)


def answers(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/acng-report.html", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _restart() -> None:
    if Path("/run/systemd/system").is_dir():
        run(["systemctl", "restart", "apt-cacher-ng"])
    else:
        # No systemd on this machine (a container): the package's init script still works.
        run(["/etc/init.d/apt-cacher-ng", "restart"])


def ensure(spec: LabSpec) -> bool:
    """Configure and start apt-cacher-ng for the lab; return True if anything changed."""
    if not CONF_DIR.is_dir():
        raise PreconditionError(
            "apt-cacher-ng is not installed", fix="apt-get install apt-cacher-ng"
        )
    changed = False
    if not BACKENDS.exists() or not BACKENDS.read_text().strip():
        BACKENDS.write_text(machine_mirror() + "/\n")
        changed = True
    want = _render(spec)
    if not CONF_FILE.exists() or CONF_FILE.read_text() != want:
        CONF_FILE.write_text(want)
        changed = True
    url = f"http://{spec.gateway}:{spec.apt_proxy_port}"
    if changed or not _running() or not answers(url):
        _restart()
        changed = True
        for _ in range(50):
            if answers(url):
                break
            time.sleep(0.2)
        else:
            raise LabError(
                f"apt-cacher-ng does not answer on {url}",
                fix="see /var/log/apt-cacher-ng/ and check the port is free",
            )
    return changed


def remove() -> None:
    """Undo what ensure() did to apt-cacher-ng (the package itself stays)."""
    if CONF_FILE.exists():
        CONF_FILE.unlink()
        if _running():
            _restart()
