# The os_hardening probe: reads, in one round trip, everything the role manages on this host
# and prints it as one JSON object. It changes nothing (the mount test runs in a private mount
# namespace that disappears with it), so it also runs in check mode. Input (stdin, JSON): the
# paths, lines, packages, units and keys to read; see tasks/probe.yml.
import errno
import fnmatch
import grp
import hashlib
import json
import os
import pwd
import re
import socket
import stat
import struct
import subprocess
import sys

req = json.load(sys.stdin)
out = {}


def run(argv, **kw):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, **kw)
        return p.returncode, p.stdout, p.stderr
    except OSError as e:
        return 127, "", str(e)


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def owner(uid, lookup):
    try:
        return lookup(uid)[0]
    except KeyError:
        return str(uid)


def describe(path, checksum):
    try:
        st = os.lstat(path)
    except OSError:
        return {"exists": False, "parent": os.path.isdir(os.path.dirname(path))}
    d = {"exists": True, "parent": True, "mode": "%04o" % stat.S_IMODE(st.st_mode),
         "owner": owner(st.st_uid, pwd.getpwuid), "group": owner(st.st_gid, grp.getgrgid),
         "isdir": stat.S_ISDIR(st.st_mode), "isreg": stat.S_ISREG(st.st_mode)}
    if checksum and stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            d["sha1"] = hashlib.sha1(f.read()).hexdigest()
    return d


# Capabilities of this host: the kernel interfaces the role needs.
rc, virt, _ = run(["systemd-detect-virt"])
out["virt"] = virt.strip() or "none"
out["capeff"] = int(re.search(r"^CapEff:\s*(\S+)", read("/proc/self/status"), re.M).group(1), 16)
out["proc_sys_rw"] = os.access("/proc/sys", os.W_OK)
out["kernel_sysctl_rw"] = os.access("/proc/sys/kernel/randomize_va_space", os.W_OK)
out["modules_disabled"] = read("/proc/sys/kernel/modules_disabled", "1").strip()
out["apparmor"] = read("/sys/module/apparmor/parameters/enabled", "N").strip()
try:  # the kernel audit answers AUDIT_GET over netlink, or refuses this namespace
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
    s.settimeout(2)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16, 1000, 5, 1, 0))
    while True:
        r = s.recv(65536)
        kind = struct.unpack("=H", r[4:6])[0]
        if kind == 2:
            e = -struct.unpack("=i", r[16:20])[0]
            out["audit"] = "ok" if e == 0 else "%s (%s)" % (errno.errorcode.get(e, e), os.strerror(e))
            break
        if kind == 1000:
            out["audit"] = "ok"
            break
except OSError as e:
    out["audit"] = "%s (%s)" % (errno.errorcode.get(e.errno, e.errno), e.strerror)
rc, so, se = run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                  "mount -o remount,nodev,nosuid,noexec /dev/shm && mount -t tmpfs -o %s tmpfs /tmp"
                  % req["tmp_options"]])
out["mounts"] = "ok" if rc == 0 else " ".join((so + se).split())

# Managed files (content, mode, owner) and files whose mode the role sets.
out["files"] = {p: describe(p, True) for p in req["files"]}
out["stat"] = {p: describe(p, False) for p in req["stat"]}
for d in req["stat_dirs"]:  # the regular files of these directories matching the pattern
    if os.path.isdir(d["path"]):
        for name in sorted(os.listdir(d["path"])):
            p = os.path.join(d["path"], name)
            if re.fullmatch(d["pattern"], name) and os.path.isfile(p) and not os.path.islink(p):
                out["stat"][p] = describe(p, False)

# lineinfile edits: the ones whose last matching line differs from the wanted line.
out["lines"] = []
for i, e in enumerate(req["lines"]):
    found = [ln for ln in read(e["path"]).splitlines() if re.search(e["regexp"], ln)]
    if not found or found[-1] != e["line"]:
        out["lines"].append(i)

# Packages and units.
rc, so, _ = run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"] + req["packages"])
out["packages"] = [ln.split()[0] for ln in so.splitlines() if ln.endswith(" installed")]
out["units"] = {}
if req["units"]:
    rc, so, _ = run(["systemctl", "show", "--no-pager", "-p", "Id,LoadState,UnitFileState,ActiveState"]
                    + req["units"])
    for block, name in zip(so.strip().split("\n\n"), req["units"]):
        kv = dict(ln.split("=", 1) for ln in block.splitlines() if "=" in ln)
        out["units"][name] = kv

# Running kernel parameters (keys this kernel lacks are absent).
rc, so, _ = run(["sysctl", "-e"] + req["sysctl"])
out["sysctl"] = dict(ln.split(" = ", 1) for ln in so.splitlines() if " = " in ln)

# Accounts: the shadow file read once; duplicates read from the files (getent folds them).
out["passwd"] = {ln.split(":")[0]: ln.split(":")[1:] for ln in read("/etc/passwd").splitlines() if ":" in ln}
out["shadow"] = {ln.split(":")[0]: ln.split(":")[1:] for ln in read("/etc/shadow").splitlines() if ":" in ln}
out["duplicates"] = []
for name, field, label in (("passwd", 0, "user-name"), ("passwd", 2, "uid"), ("group", 0, "group-name"),
                           ("group", 2, "gid")):
    seen = {}
    for ln in read("/etc/" + name).splitlines():
        f = ln.split(":")
        if len(f) > field:
            seen[f[field]] = seen.get(f[field], 0) + 1
    out["duplicates"] += ["duplicate %s: %s" % (label, k) for k, n in sorted(seen.items()) if n > 1]
try:
    out["su_group"] = {"exists": True, "members": grp.getgrnam(req["su_group"]).gr_mem}
except KeyError:
    out["su_group"] = {"exists": False, "members": []}

# /etc/fstab entries and the live mounts of /tmp and /dev/shm.
out["fstab"] = {}
for ln in read("/etc/fstab").splitlines():
    f = ln.split()
    if len(f) >= 4 and not f[0].startswith("#") and f[1] in req["mounts"]:
        out["fstab"][f[1]] = f + ["0"] * (6 - len(f))
out["mounted"] = {}
for ln in read("/proc/self/mounts").splitlines():
    f = ln.split()
    if f[1] in req["mounts"]:
        out["mounted"][f[1]] = f[3].split(",")

out["modules_loaded"] = [ln.split()[0] for ln in read("/proc/modules").splitlines()]

# PAM stacks, sudo rules that disable authentication, the effective journald storage.
out["pam_lines"] = [ln for f in ("common-auth", "common-account", "common-password")
                    for ln in read("/etc/pam.d/" + f).splitlines()
                    if re.search(r"^[^#]*pam_(unix|faillock|pwquality|pwhistory)\.so", ln)]
rc, so, _ = run(["grep", "-rlE", "^[^#]*!authenticate", "/etc/sudoers", "/etc/sudoers.d"])
out["sudo_noauth"] = so.split()
rc, so, _ = run(["systemd-analyze", "cat-config", "systemd/journald.conf"])
storage = [ln for ln in so.splitlines() if re.match(r"^\s*Storage\s*=", ln)]
out["journal_persistent"] = bool(storage) and "persistent" in storage[-1]
rc, so, _ = run(["journalctl", "-t", req["log_tag"], "-o", "cat", "--no-pager"])
out["logged"] = sorted(set(so.splitlines()))

# Listening sockets, AppArmor profile modes (where aa-status exists).
rc, so, _ = run(["ss", "-Htlnup"])
out["listen"] = so.splitlines()
out["aa_complain"] = []
if os.path.exists("/usr/sbin/aa-status") and out["apparmor"] == "Y":
    rc, so, _ = run(["aa-status", "--json"])
    try:
        out["aa_complain"] = sorted(k for k, v in json.loads(so).get("profiles", {}).items() if v == "complain")
    except ValueError:
        pass

# One pass over the local root filesystem for the three reports: world-writable (no sticky
# bit on directories), unowned, SUID/SGID programs.
rc, so, _ = run(["find", "/", "-xdev",
                 "(", "(", "-type", "f", "-perm", "-0002", "-o", "-type", "d", "-perm", "-0002", "!", "-perm",
                 "-1000", ")", "-printf", "world-writable %p\\n", ")", ",",
                 "(", "(", "-nouser", "-o", "-nogroup", ")", "-printf", "unowned %p\\n", ")", ",",
                 "(", "-type", "f", "-perm", "/6000", "-printf", "suid %p\\n", ")"])
found = {"world-writable": [], "unowned": [], "suid": []}
for ln in so.splitlines():
    kind, _, path = ln.partition(" ")
    found[kind].append(path)
out["find"] = found

# Log files others can read or the group can write (the utmp family is exempt).
out["logfiles"] = []
for root, dirs, files in os.walk("/var/log"):
    for name in files:
        p = os.path.join(root, name)
        if any(fnmatch.fnmatch(name, x) for x in req["logfiles_exempt"]):
            continue
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o037:
            out["logfiles"].append(p)

# Home directories of login accounts (UID >= uid_min, not nobody) and their modes.
out["homes"] = {}
for name, f in out["passwd"].items():
    if len(f) >= 5 and f[1].isdigit() and req["uid_min"] <= int(f[1]) < 65534 and os.path.isdir(f[4]) \
            and not os.path.islink(f[4]) and f[4] != "/":
        out["homes"][f[4]] = "%04o" % stat.S_IMODE(os.stat(f[4]).st_mode)

out["aide_db"] = os.path.exists(req["aide_db"]) and os.path.getsize(req["aide_db"]) > 0
print(json.dumps(out, sort_keys=True))
