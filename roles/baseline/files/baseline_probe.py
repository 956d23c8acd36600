"""Read-only probe of everything the baseline role manages, in one round trip.

argv[1]: the wanted state (JSON, built by the role from its variables and templates).
Prints {"needs": [feature, ...], "security": [package, ...], "detail": {...}}: a feature is in
"needs" when something it manages differs; the role then runs only those features' tasks.
Changes nothing.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import socket
import subprocess
import sys
import time
from typing import Any


def file_state(path: str) -> dict[str, Any] | None:
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            sha1 = hashlib.sha1(fh.read()).hexdigest()
    except OSError:
        return None
    return {
        "sha1": sha1,
        "mode": "%04o" % (st.st_mode & 0o7777),
        "owner": _user(st.st_uid),
        "group": _group(st.st_gid),
    }


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def dir_state(path: str) -> dict[str, Any] | None:
    if not os.path.isdir(path) or os.path.islink(path):
        return None
    st = os.stat(path)
    return {
        "mode": "%04o" % (st.st_mode & 0o7777),
        "owner": _user(st.st_uid),
        "group": _group(st.st_gid),
    }


def run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def packages_missing(names: list[str]) -> list[str]:
    if not names:
        return []
    out = run(["dpkg-query", "-W", "-f=${Package} ${Status}\n", *names])
    ok = {ln.split()[0] for ln in out.splitlines() if ln.endswith("install ok installed")}
    return [n for n in names if n not in ok]


def cache_age() -> float:
    # The same reference the apt module's cache_valid_time uses.
    for ref in ("/var/lib/apt/periodic/update-success-stamp", "/var/lib/apt/lists"):
        if os.path.exists(ref):
            return time.time() - os.stat(ref).st_mtime
    return float("inf")


# The answer depends only on the installed packages, the package lists and apt's settings:
# kept in /run (tmpfs, not configuration) with their mtimes, so a run where none of them
# changed does not load the whole package cache again (~0.5-2 s per host).
SECURITY_MEMO = "/run/opsproof-baseline-security.json"
SECURITY_INPUTS = (
    "/var/lib/dpkg/status",
    "/var/lib/apt/lists",
    "/etc/apt",
    "/etc/apt/preferences.d",
)


def security_pending() -> list[str]:
    key = [os.stat(p).st_mtime_ns if os.path.exists(p) else 0 for p in SECURITY_INPUTS]
    try:
        with open(SECURITY_MEMO, encoding="utf-8") as fh:
            memo = json.load(fh)
        if memo.get("key") == key:
            return list(memo["names"])
    except (OSError, ValueError):
        pass
    names = security_scan()
    try:
        with open(SECURITY_MEMO + ".tmp", "w", encoding="utf-8") as fh:
            json.dump({"key": key, "names": names}, fh)
        os.replace(SECURITY_MEMO + ".tmp", SECURITY_MEMO)
    except OSError:
        pass
    return names


def security_scan() -> list[str]:
    """Installed packages with a newer candidate from a -security suite (as HLT-APT-001)."""
    try:
        import apt_pkg  # type: ignore[import-not-found]
    except ImportError:
        return []
    apt_pkg.init()
    cache = apt_pkg.Cache(None)
    dep = apt_pkg.DepCache(cache)
    names = []
    for p in cache.packages:
        cur = p.current_ver
        cand = dep.get_candidate_ver(p) if cur else None
        if cand is None or apt_pkg.version_compare(cand.ver_str, cur.ver_str) <= 0:
            continue
        if any(
            f.archive.endswith("-security") or f.label == "Debian-Security"
            for f, _ in cand.file_list
        ):
            names.append(p.name)
    return sorted(names)


def norm_locale(name: str) -> str:
    base, _, charset = name.partition(".")
    return base + "." + charset.lower().replace("-", "")


def admin_differs(want: dict[str, Any]) -> list[str]:
    try:
        pw = pwd.getpwnam(want["user"])
        gr = grp.getgrnam(want["group"])
    except KeyError:
        return ["user or group missing"]
    diffs = []
    if pw.pw_gid != gr.gr_gid:
        diffs.append("primary group")
    if pw.pw_shell != want["shell"]:
        diffs.append("shell")
    try:
        if want["user"] not in grp.getgrnam("sudo").gr_mem:
            diffs.append("not in sudo")
    except KeyError:
        diffs.append("no sudo group")
    ssh_dir = os.path.join(pw.pw_dir, ".ssh")
    keys_file = os.path.join(ssh_dir, "authorized_keys")
    d, f = dir_state(ssh_dir), file_state(keys_file)
    if d is None or (d["owner"], d["mode"]) != (want["user"], "0700"):
        diffs.append("~/.ssh")
    if f is None or (f["owner"], f["mode"]) != (want["user"], "0600"):
        diffs.append("authorized_keys mode")
    else:
        with open(keys_file, encoding="utf-8", errors="replace") as fh:
            have = {" ".join(ln.split()[:2]) for ln in fh if ln.strip() and not ln.startswith("#")}
        for key in want["keys"]:
            parts = key.split()
            # A key line may carry options before the type: compare type and blob.
            pair = next(
                (
                    " ".join(parts[i : i + 2])
                    for i, p in enumerate(parts)
                    if p.startswith(("ssh-", "ecdsa-", "sk-"))
                ),
                key,
            )
            if pair not in have:
                diffs.append("key missing")
    return diffs


def main() -> None:
    want: dict[str, Any] = json.loads(sys.argv[1])
    # Parts built by a Jinja loop arrive as JSON text.
    want = {
        k: json.loads(v) if isinstance(v, str) and v.strip()[:1] in ("{", "[") else v
        for k, v in want.items()
    }
    needs: set[str] = set()
    detail: dict[str, Any] = {}

    for path, spec in want.get("files", {}).items():
        have = file_state(path)
        expect = {k: spec[k] for k in ("sha1", "mode", "owner", "group")}
        if have != expect:
            needs.add(spec["feature"])
            detail[path] = have
    for path, feature in want.get("absent", {}).items():
        if os.path.lexists(path):
            needs.add(feature)
            detail[path] = "present"
    for path, spec in want.get("dirs", {}).items():
        have = dir_state(path)
        if have != {k: spec[k] for k in ("mode", "owner", "group")}:
            needs.add(spec["feature"])
            detail[path] = have
    for path, spec in want.get("links", {}).items():
        target = os.readlink(path) if os.path.islink(path) else None
        if target != spec["target"] or not os.path.exists(spec["target"]):
            needs.add(spec["feature"])
            detail[path] = target

    if want.get("hostname"):
        try:
            with open("/etc/hostname", encoding="utf-8") as fh:
                on_disk = fh.read().strip()
        except OSError:
            on_disk = ""
        if want["hostname"] != on_disk or want["hostname"] != socket.gethostname():
            needs.add("hostname")
            detail["hostname"] = [on_disk, socket.gethostname()]

    missing = packages_missing(want.get("packages", []))
    if missing:
        needs.add("packages")
        detail["packages_missing"] = missing

    if want.get("cache_valid_time") is not None:
        age = cache_age()
        detail["apt_cache_age"] = None if age == float("inf") else int(age)
        if age > int(want["cache_valid_time"]):
            needs.add("apt_cache")

    if want.get("locales"):
        have_locales = {norm_locale(x) for x in run(["locale", "-a"]).split()}
        lacking = [x for x in want["locales"] if norm_locale(x) not in have_locales]
        if lacking:
            needs.add("locale")
            detail["locales_missing"] = lacking

    if want.get("admin"):
        diffs = admin_differs(want["admin"])
        if diffs:
            needs.add("admin")
            detail["admin"] = diffs

    service = want.get("timesync_service")
    if service:
        enabled = run(["systemctl", "is-enabled", service]).strip()
        active = run(["systemctl", "is-active", service]).strip()
        if (enabled, active) != ("enabled", "active"):
            needs.add("timesync")
            detail["timesync"] = [enabled, active]
    elif want.get("timesync_note"):
        detail["timesync"] = want["timesync_note"]

    security: list[str] = []
    if want.get("security"):
        security = security_pending()
        if security:
            needs.add("security")

    print(
        json.dumps({"needs": sorted(needs), "security": security, "detail": detail}, sort_keys=True)
    )


main()
