"""The base Debian 12 root filesystem: built once with mmdebstrap through the cache, then cloned."""

from __future__ import annotations

import shutil
from pathlib import Path

from opsproof.lab import aptcache
from opsproof.lab.config import LabSpec
from opsproof.lab.state import LabPaths
from opsproof.lab.system import run

# What every lab host has before Ansible first connects (python3-apt: check mode needs it).
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "iproute2",
    "sudo",
    "ca-certificates",
    "libpam-systemd",
)


def sources_list(mirror: str, suite: str) -> str:
    security = mirror.rsplit("/debian", 1)[0] + "/debian-security"
    return (
        f"deb {mirror} {suite} main\n"
        f"deb {mirror} {suite}-updates main\n"
        f"deb {security} {suite}-security main\n"
    )


def recipe(suite: str) -> str:
    """What the base is built from, written to base.ready: a base built by another recipe (an
    older checkout's: other packages, or built by debootstrap) is built again."""
    return f"suite={suite} packages={','.join(BASE_PACKAGES)} builder=mmdebstrap updates=1\n"


def build_argv(suite: str, mirror: str, proxy_port: int, target: Path) -> list[str]:
    """mmdebstrap's command line: minbase plus BASE_PACKAGES from the suite, its -updates and
    -security (the base is current, like a provider's image: a new host does not fetch and
    unpack the same updates again), through the apt cache on this machine.

    mmdebstrap resolves every package with apt and unpacks them in one dpkg run: 18-25 s here
    against debootstrap's ~32 s plus ~15 s to bring its release versions up to date. The
    merged-usr hook gives the layout debootstrap gives (usr-is-merged, not usrmerge and perl);
    the package lists are kept (a new host's first dry run reads them); the proxy setting it
    writes for the build (99mmdebstrap) is removed by _customise.
    """
    lines = sources_list(mirror, suite).splitlines()
    return [
        "mmdebstrap",
        "--variant=minbase",
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
        "--skip=cleanup/apt/lists",
        f'--aptopt=Acquire::http::Proxy "http://127.0.0.1:{proxy_port}"',
        f"--include={','.join(BASE_PACKAGES)}",
        suite,
        str(target),
        *lines,
    ]


def ensure_base(spec: LabSpec, paths: LabPaths) -> bool:
    """Build the base rootfs unless a finished one of this recipe exists; return True if built."""
    want = recipe(spec.suite)
    if paths.base_ready.exists() and paths.base.is_dir():
        if paths.base_ready.read_text() == want:
            return False
        # An older recipe's base is the lower layer of the hosts made from it: it is kept
        # while any host exists (make lab-destroy, then make lab, builds the new one).
        if paths.hosts_dir.exists() and any(paths.hosts_dir.iterdir()):
            return False
    mirror = aptcache.machine_mirror()
    tmp = paths.root / "base.tmp"
    if tmp.exists():  # a build interrupted half-way: start it again
        shutil.rmtree(tmp)
    run(build_argv(spec.suite, mirror, spec.apt_proxy_port, tmp), timeout=1200)
    _customise(tmp, mirror, spec.suite)
    if paths.base.exists():
        shutil.rmtree(paths.base)
    tmp.rename(paths.base)
    paths.base_ready.write_text(want)
    return True


def _customise(root: Path, mirror: str, suite: str) -> None:
    # Each clone must get its own machine-id and ssh host keys.
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    # The build's proxy (127.0.0.1) is this machine's; a host reaches the cache on the bridge.
    (root / "etc/apt/apt.conf.d/99mmdebstrap").unlink(missing_ok=True)
    (root / "etc/apt/sources.list").write_text(sources_list(mirror, suite))
    run(["chroot", str(root), "systemctl", "enable", "systemd-networkd", "ssh"])
