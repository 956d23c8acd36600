"""The base Debian 12 root filesystem: debootstrapped once through the cache, cloned per host."""

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


def via_proxy(mirror: str, port: int) -> str:
    """http://deb.debian.org/debian -> http://127.0.0.1:3142/deb.debian.org/debian."""
    return f"http://127.0.0.1:{port}/" + mirror.split("://", 1)[1]


def recipe(suite: str) -> str:
    """What the base is built from, written to base.ready: a base built by another recipe (an
    older checkout's: other packages, not brought up to date) is built again."""
    return f"suite={suite} packages={','.join(BASE_PACKAGES)} upgraded=1\n"


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
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            spec.suite,
            str(tmp),
            via_proxy(mirror, spec.apt_proxy_port),
        ],
        timeout=1200,
    )
    _customise(tmp, mirror, spec.suite)
    _upgrade(tmp, spec.apt_proxy_port)
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
    (root / "etc/apt/sources.list").write_text(sources_list(mirror, suite))
    run(["chroot", str(root), "systemctl", "enable", "systemd-networkd", "ssh"])


def _upgrade(root: Path, proxy_port: int) -> None:
    """Bring the base up to date (-updates and -security), once, like a provider's current image.

    debootstrap installs the suite's release versions; without this every new host would fetch
    and unpack the same updates again in its first run (4 hosts on 2 cores: ~25 s). The
    baseline role still installs what is released after the base was built. No service starts
    in the chroot (policy-rc.d); the package cache is emptied afterwards.
    """
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    proc = root / "proc"
    run(["mount", "-t", "proc", "proc", str(proc)])
    try:
        apt = [
            "chroot",
            str(root),
            "apt-get",
            "-q",
            "-o",
            f"Acquire::http::Proxy=http://127.0.0.1:{proxy_port}",
        ]
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        run([*env, *apt, "update"], timeout=600)
        run([*env, *apt, "-y", "-o", "Dpkg::Options::=--force-confold", "upgrade"], timeout=1200)
        run(["chroot", str(root), "apt-get", "clean"])
    finally:
        run(["umount", str(proc)], check=False)
        policy.unlink()
