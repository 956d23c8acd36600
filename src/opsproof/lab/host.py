"""One lab host: overlay root over the base, data volume, cgroups, supervised nspawn."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from opsproof.errors import LabError
from opsproof.lab import net
from opsproof.lab.config import HostSpec, LabSpec
from opsproof.lab.state import Beneath, LabPaths
from opsproof.lab.system import is_mountpoint, pid_alive, run

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_GROUP = "opsproof-lab"
SUPERVISOR = Path(__file__).with_name("supervise.py")
# Hierarchies the container is moved into; name=systemd and unified are what systemd in
# the guest needs, cpu/memory/pids carry the limits.
CGROUP_HIERARCHIES = ("systemd", "unified", "cpu", "cpuacct", "memory", "pids")


@dataclass(frozen=True)
class HostPaths:
    dir: Path

    upper = Beneath()
    work = Beneath()
    root = Beneath()
    data_image = Beneath("data.img")
    data = Beneath()
    pidfile = Beneath("supervise.pid")
    config = Beneath("supervise.json")
    log = Beneath("console.log")
    created = Beneath()


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    state: str  # running | stopped | absent
    pid: int | None
    ssh: bool


def host_paths(paths: LabPaths, name: str) -> HostPaths:
    return HostPaths(paths.host_dir(name))


# CPU weight of the lab's group (all hosts together) against each process of the control node
# (1024 at nice 0). In production the control node has its own CPUs; here it shares two cores
# with the hosts, and their background work (the first rkhunter, AIDE and debsums runs, at nice
# 19 inside each host, but a host's group competes as a whole) slowed every playbook and test
# that followed. With a quarter of the weight the hosts yield to the controller when both want
# CPU; what the controller leaves idle still goes to them (shares are work-conserving) and each
# host's quota (cpu_cores) is unchanged.
LAB_CPU_SHARES = 256


def current_cgroup(hierarchy: str) -> str:
    """This process's cgroup in a hierarchy; the host cgroups are created beneath it."""
    key = (
        "" if hierarchy == "unified" else ("name=systemd" if hierarchy == "systemd" else hierarchy)
    )
    with open("/proc/self/cgroup", encoding="ascii") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if key in controllers.split(",") or (key == "" and controllers == ""):
                return path
    return "/"


def cgroup_plan(host: HostSpec) -> list[dict[str, object]]:
    plan: list[dict[str, object]] = []
    for hierarchy in CGROUP_HIERARCHIES:
        mount = CGROUP_ROOT / hierarchy
        if not (mount / "cgroup.procs").exists():
            continue
        base = current_cgroup(hierarchy).lstrip("/")
        # Never nest the host inside a previous host's cgroup (the caller may be in one).
        if CGROUP_GROUP in base:
            base = base.split(CGROUP_GROUP)[0].rstrip("/")
        path = mount / base / CGROUP_GROUP / host.name
        entry: dict[str, object] = {"path": str(path), "settings": {}}
        if hierarchy == "cpu":
            entry["settings"] = {
                "cpu.cfs_period_us": "100000",
                "cpu.cfs_quota_us": str(int(host.cpu_cores * 100000)),
            }
            entry["parent_settings"] = {"cpu.shares": str(LAB_CPU_SHARES)}
        elif hierarchy == "memory":
            entry["settings"] = {"memory.limit_in_bytes": str(host.memory_mb * 1024 * 1024)}
        plan.append(entry)
    return plan


def nspawn_argv(spec: LabSpec, host: HostSpec, hp: HostPaths) -> list[str]:
    return [
        "systemd-nspawn",
        "--boot",
        f"--directory={hp.root}",
        f"--machine={host.name}",
        "--register=no",
        "--keep-unit",
        f"--network-bridge={spec.bridge}",
        "--console=read-only",
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
        f"--bind={hp.data}:{spec.data_mount}",
    ]


def _hosts_file(spec: LabSpec) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{h.address}\t{h.name}" for h in spec.hosts]
    return "\n".join(lines) + "\n"


def _network_file(spec: LabSpec, host: HostSpec) -> str:
    # No gateway on purpose: the lab hosts reach nothing but the bridge subnet.
    return (
        f"[Match]\nName=host0\n\n[Network]\nAddress={host.address}/{spec.subnet.prefixlen}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )


def create(spec: LabSpec, paths: LabPaths, host: HostSpec, pubkey: str) -> bool:
    """Create the host's disks once; a second call changes nothing."""
    hp = host_paths(paths, host.name)
    if hp.created.exists():
        return False
    for d in (hp.upper, hp.work, hp.root, hp.data):
        d.mkdir(parents=True, exist_ok=True)
    if not hp.data_image.exists():
        with open(hp.data_image, "wb") as fh:  # sparse: only written blocks use disk
            fh.truncate(host.data_volume_mb * 1024 * 1024)
        run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", f"{host.name}-data", str(hp.data_image)])
    mount(spec, paths, host)
    r = hp.root
    (r / "etc/hostname").write_text(host.name + "\n")
    (r / "etc/hosts").write_text(_hosts_file(spec))
    (r / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")
    (r / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (r / "etc/systemd/network/10-host0.network").write_text(_network_file(spec, host))
    (r / "etc/apt/apt.conf.d/01opsproof-proxy").write_text(
        f'Acquire::http::Proxy "{spec.proxy_url}";\n'
    )
    ssh = r / "root/.ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text(pubkey)
    os.chmod(ssh / "authorized_keys", 0o600)
    run(["ssh-keygen", "-A", "-f", str(r)])
    hp.created.write_text("ok\n")
    return True


def mount(spec: LabSpec, paths: LabPaths, host: HostSpec) -> bool:
    hp = host_paths(paths, host.name)
    changed = False
    if not is_mountpoint(str(hp.root)):
        run(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={paths.base},upperdir={hp.upper},workdir={hp.work}",
                str(hp.root),
            ]
        )
        changed = True
    if not is_mountpoint(str(hp.data)):
        run(["mount", "-o", "loop", str(hp.data_image), str(hp.data)])
        changed = True
    return changed


def unmount(paths: LabPaths, name: str) -> None:
    hp = host_paths(paths, name)
    for mnt in (hp.data, hp.root):
        if is_mountpoint(str(mnt)) and run(["umount", str(mnt)], check=False).returncode != 0:
            run(["umount", "-l", str(mnt)])


def host_key_line(paths: LabPaths, host: HostSpec) -> str:
    pub = (host_paths(paths, host.name).upper / "etc/ssh/ssh_host_ed25519_key.pub").read_text()
    keytype, key = pub.split()[:2]
    return f"{host.address},{host.name} {keytype} {key}\n"


def supervisor_pid(paths: LabPaths, name: str) -> int | None:
    try:
        pid = int(host_paths(paths, name).pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _leftover_pids(paths: LabPaths, host: HostSpec) -> set[int]:
    """Processes of a host whose supervisor is gone: in its cgroups, or rooted in its tree."""
    pids: set[int] = set()
    for cg in cgroup_plan(host):
        for dirpath, _dirs, files in os.walk(str(cg["path"])):
            if "cgroup.procs" in files:
                try:
                    text = Path(dirpath, "cgroup.procs").read_text()
                except OSError:
                    continue
                pids.update(int(p) for p in text.split())
    root = str(host_paths(paths, host.name).root)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/root") == root:
                    pids.add(int(entry))
            except OSError:
                continue
    pids.discard(os.getpid())
    return pids


def kill_leftovers(paths: LabPaths, host: HostSpec) -> int:
    pids = _leftover_pids(paths, host)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _leftover_pids(paths, host) and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(pids)


def _ssh_port_open(address: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            return bool(sock.recv(4).startswith(b"SSH"))
    except OSError:
        return False


def _interpreter() -> str:
    """A Python that outlives any checkout's virtualenv."""
    for cand in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if cand and Path(cand).exists() and ".venv" not in cand:
            return cand
    return sys.executable


def start(spec: LabSpec, paths: LabPaths, host: HostSpec, *, wait_s: float = 90) -> bool:
    """Start the host unless it runs; wait until its sshd answers. True if started."""
    hp = host_paths(paths, host.name)
    if supervisor_pid(paths, host.name) is not None:
        return False
    hp.pidfile.unlink(missing_ok=True)  # stale: its process is gone
    kill_leftovers(paths, host)
    net.remove_stale_veth(host.name)  # its container is gone (no supervisor, no leftovers)
    mount(spec, paths, host)
    paths.bin_dir.mkdir(parents=True, exist_ok=True)
    script = paths.bin_dir / "supervise.py"
    if not script.exists() or script.read_bytes() != SUPERVISOR.read_bytes():
        shutil.copyfile(SUPERVISOR, script)
    hp.config.write_text(
        json.dumps(
            {
                "argv": nspawn_argv(spec, host, hp),
                "pidfile": str(hp.pidfile),
                "cgroups": cgroup_plan(host),
            },
            indent=2,
        )
    )
    with open(hp.log, "ab") as log:
        subprocess.Popen(
            [_interpreter(), str(script), str(hp.config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if _ssh_port_open(str(host.address)):
            return True
        time.sleep(0.3)
    tail = hp.log.read_text(errors="replace").strip().splitlines()[-3:]
    raise LabError(
        f"{host.name}: sshd did not answer on {host.address}:22 within {wait_s:.0f}s "
        f"({' | '.join(tail)})",
        fix=f"see {hp.log}; `make lab-destroy` then `make lab`",
    )


def stop(paths: LabPaths, host: HostSpec, *, wait_s: float = 30) -> bool:
    pid = supervisor_pid(paths, host.name)
    if pid is None:
        kill_leftovers(paths, host)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    kill_leftovers(paths, host)
    host_paths(paths, host.name).pidfile.unlink(missing_ok=True)
    return True


def status(paths: LabPaths, host: HostSpec) -> HostStatus:
    hp = host_paths(paths, host.name)
    if not hp.created.exists():
        return HostStatus(host.name, str(host.address), "absent", None, False)
    pid = supervisor_pid(paths, host.name)
    ssh = pid is not None and _ssh_port_open(str(host.address))
    return HostStatus(host.name, str(host.address), "running" if pid else "stopped", pid, ssh)


def remove_cgroups(host: HostSpec) -> None:
    for cg in cgroup_plan(host):
        path = Path(str(cg["path"]))
        for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
        with contextlib.suppress(OSError):
            os.rmdir(path.parent)  # the opsproof-lab group, once empty


def destroy(paths: LabPaths, host: HostSpec) -> None:
    stop(paths, host)
    unmount(paths, host.name)
    hp = host_paths(paths, host.name)
    if is_mountpoint(str(hp.root)) or is_mountpoint(str(hp.data)):
        raise LabError(
            f"{host.name}: still mounted, refusing to delete {hp.dir}",
            fix=f"umount {hp.root} {hp.data} and retry",
        )
    if hp.dir.exists():
        shutil.rmtree(hp.dir)
    remove_cgroups(host)
