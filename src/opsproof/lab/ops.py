"""Lab life cycle: up (idempotent, recovers a half-made lab), status, down, destroy."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from opsproof.errors import LabError
from opsproof.lab import aptcache, budget, host, hosts_yml, net, rootfs
from opsproof.lab.config import LabSpec
from opsproof.lab.state import LabPaths, locked
from opsproof.lab.system import is_mountpoint, mountpoints, require_root, require_tools, run

Log = Callable[[str], None]


def _ensure_key(paths: LabPaths) -> str:
    paths.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not paths.ssh_key.exists():
        run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "opsproof-lab",
                "-f",
                str(paths.ssh_key),
            ]
        )
    return paths.ssh_key.with_suffix(".pub").read_text()


def _record(spec: LabSpec, paths: LabPaths) -> None:
    """Remember what was created, so destroy removes it even if lab.yml changed since (hosts
    an earlier lab.yml created stay listed while their disks exist)."""
    old: list[str] = []
    if paths.record.exists():
        old = [str(h) for h in json.loads(paths.record.read_text()).get("hosts", [])]
    names = [h.name for h in spec.hosts]
    names += [h for h in old if h not in names and (paths.hosts_dir / h).exists()]
    data = {
        "bridge": spec.bridge,
        "subnet": str(spec.subnet),
        "spec": str(spec.source),
        "hosts": names,
    }
    paths.record.write_text(json.dumps(data, indent=2) + "\n")


def _check_record(spec: LabSpec, paths: LabPaths) -> None:
    if not paths.record.exists():
        return
    old = json.loads(paths.record.read_text())
    if old.get("bridge") != spec.bridge or old.get("subnet") != str(spec.subnet):
        raise LabError(
            f"the lab on this machine uses bridge {old.get('bridge')} / {old.get('subnet')}, "
            f"{spec.source} asks for {spec.bridge} / {spec.subnet}",
            fix="run `make lab-destroy` first to rebuild the lab with the new network",
        )


def up(spec: LabSpec, paths: LabPaths, hosts_file: Path | None, log: Log) -> None:
    require_root()
    require_tools()
    if hosts_file is not None:
        hosts_yml.check(spec, hosts_file)
    budget.check(budget.budget(spec, budget.machine_mb()), spec.source)
    with locked(paths):
        _check_record(spec, paths)
        if not net.bridge_exists(spec):
            net.check_subnet_free(spec)
        if net.ensure_bridge(spec):
            log(f"bridge {spec.bridge} {spec.gateway}/{spec.subnet.prefixlen} ready")
        _record(spec, paths)
        if aptcache.ensure(spec):
            log(f"apt-cacher-ng serving on {spec.proxy_url}")
        if rootfs.ensure_base(spec, paths):
            log(f"base rootfs built in {paths.base}")
        pubkey = _ensure_key(paths)
        for h in spec.hosts:
            if host.create(spec, paths, h, pubkey):
                log(f"{h.name}: created")
            if host.start(spec, paths, h):
                log(f"{h.name}: started ({h.address})")
        _write_known_hosts(spec, paths)


def _write_known_hosts(spec: LabSpec, paths: LabPaths) -> None:
    """The lab's host keys; lines of hosts this lab.yml does not name (another checkout's
    newer or older lab.yml on the same machine) are kept while their disks exist."""
    lines = [host.host_key_line(paths, h) for h in spec.hosts]
    names = {h.name for h in spec.hosts}
    if paths.known_hosts.exists():
        for line in paths.known_hosts.read_text().splitlines(keepends=True):
            name = line.split(" ", 1)[0].rpartition(",")[2]
            if name and name not in names and (paths.hosts_dir / name).exists():
                lines.append(line)
    paths.known_hosts.write_text("".join(lines))


def status(spec: LabSpec, paths: LabPaths) -> list[host.HostStatus]:
    return [host.status(paths, h) for h in spec.hosts]


def down(spec: LabSpec, paths: LabPaths, log: Log) -> None:
    require_root()
    with locked(paths):
        for h in spec.hosts:
            if host.stop(paths, h):
                log(f"{h.name}: stopped")
            host.unmount(paths, h.name)


def destroy(spec: LabSpec, paths: LabPaths, log: Log) -> None:
    """Remove everything the lab created (and nothing else)."""
    require_root()
    if not paths.root.exists():
        log("no lab on this machine")
        return
    with locked(paths):
        bridge = spec.bridge
        if paths.record.exists():
            bridge = json.loads(paths.record.read_text()).get("bridge", bridge)
        for h in spec.hosts:
            host.destroy(paths, h)
            log(f"{h.name}: destroyed")
        leftovers = [p for p in paths.hosts_dir.glob("*")] if paths.hosts_dir.exists() else []
        if leftovers:
            raise LabError(
                f"unknown hosts in {paths.hosts_dir}: {', '.join(p.name for p in leftovers)}",
                fix="they are not in lab.yml: remove them by hand",
            )
        aptcache.remove()
        net.delete_bridge(bridge)
        mounted = [m for m in mountpoints() if m.startswith(str(paths.root) + "/")]
        if mounted or is_mountpoint(str(paths.root)):
            raise LabError(
                f"still mounted under {paths.root}: {', '.join(mounted)}",
                fix="umount them, then run make lab-destroy again",
            )
        for p in sorted(paths.root.iterdir()):
            if p.name == ".lock":
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        log(f"lab removed ({paths.root})")
    paths.lock.unlink(missing_ok=True)
    try:
        paths.root.rmdir()
        paths.root.parent.rmdir()
    except OSError:
        pass
