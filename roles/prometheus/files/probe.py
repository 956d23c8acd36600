"""Read-only probe: the state of files, packages and units a role manages, as one JSON object.

Argument: JSON {"paths": [...], "hash": [...], "follow": [...] (stat of the target), "packages": [...], "units": [...],
"find": [dir...], "extract": {path: regex}, "postgres": {port, queries: {name: {db, query}}, each_db: {name: query},
scram: {role: ENV_VAR}}}. Prints {"paths": {path: {exists, type, mode, owner, group, size,
sha1?, link?, sig: "TYPE OWNER:GROUP MODE" or "absent"}}, "packages": {name: bool}, "units": {name: {active, enabled}},
"find": {dir: [names]}, "extract": {path: sha1 of the regex's first match or null}, "postgres": {name: rows or null, each_db: {name:
{db: rows}}, scram: {role: bool}}}. Changes nothing; runs with the host's python3 only.
"""
import grp
import hashlib
import json
import os
import pwd
import re
import stat
import subprocess
import sys


def describe(path: str, want_hash: bool, follow: bool) -> dict:
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return {"exists": False, "sig": "absent"}
    out = {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "size": st.st_size}
    for key, get, ident in (("owner", pwd.getpwuid, st.st_uid), ("group", grp.getgrgid, st.st_gid)):
        try:
            out[key] = get(ident)[0]
        except KeyError:
            out[key] = str(ident)
    if stat.S_ISLNK(st.st_mode):
        out["type"] = "link"
        out["link"] = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        out["type"] = "dir"
    else:
        out["type"] = "file"
        if want_hash:
            digest = hashlib.sha1()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            out["sha1"] = digest.hexdigest()
    out["sig"] = "%s %s:%s %s" % (out["type"], out["owner"], out["group"], out["mode"])
    return out


def packages(names: list) -> dict:
    if not names:
        return {}
    run = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *names],
                         capture_output=True, text=True, check=False)
    found = {}
    for line in run.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            found[parts[0]] = parts[1].startswith("ii")
    return {n: found.get(n, False) for n in names}


def units(names: list) -> dict:
    out = {}
    for name in names:
        active = subprocess.run(["systemctl", "is-active", name], capture_output=True, text=True, check=False)
        enabled = subprocess.run(["systemctl", "is-enabled", name], capture_output=True, text=True, check=False)
        out[name] = {"active": active.stdout.strip(), "enabled": enabled.stdout.strip()}
    return out


def extract(path: str, pattern: str):
    """sha1 of the first match of pattern (re.MULTILINE, as the replace module) in path."""
    try:
        with open(path, encoding="utf-8") as f:
            match = re.search(pattern, f.read(), re.MULTILINE)
    except OSError:
        return None
    return hashlib.sha1(match.group(0).encode()).hexdigest() if match else None


def psql(port: str, database: str, query: str):
    """Rows of a read-only query as the postgres superuser over the local socket, or None."""
    try:
        run = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A", "-t", "-F", "|",
                              "-v", "ON_ERROR_STOP=1", "-p", port, "-d", database, "-c", query],
                             capture_output=True, text=True, check=False, cwd="/", timeout=60)
    except (OSError, subprocess.TimeoutExpired):  # no psql yet (fresh host)
        return None
    return run.stdout.splitlines() if run.returncode == 0 else None


def scram_matches(verifier: str, password: str) -> bool:
    """True when password gives this SCRAM-SHA-256 verifier (RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key")))."""
    import base64
    import hmac
    try:
        method, rest = verifier.split("$", 1)
        params, keys = rest.split("$", 1)
        iterations, salt = params.split(":", 1)
        stored = keys.split(":", 1)[0]
    except ValueError:
        return False
    if method != "SCRAM-SHA-256":
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored))


def postgres(spec: dict) -> dict:
    """Named queries (on one database, or on every database that accepts connections) and
    whether roles' SCRAM verifiers match the passwords given in the environment."""
    port = str(spec.get("port", 5432))
    out = {name: psql(port, q["db"], q["query"]) for name, q in spec.get("queries", {}).items()}
    each = {}
    databases = psql(port, "postgres", "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1") or []
    for name, query in spec.get("each_db", {}).items():
        each[name] = {db: psql(port, db, query) for db in databases}
    out["each_db"] = each
    scram = {}
    for role, env in spec.get("scram", {}).items():
        rows = psql(port, "postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = '%s'" % role.replace("'", "''"))
        scram[role] = bool(rows) and scram_matches(rows[0], os.environ.get(env, ""))
    out["scram"] = scram
    return out


def main() -> None:
    spec = json.loads(sys.argv[1])
    hashed = set(spec.get("hash", []))
    follow = set(spec.get("follow", []))
    every = list(spec.get("paths", [])) + sorted(hashed) + sorted(follow)
    result = {
        "paths": {p: describe(p, p in hashed, p in follow) for p in every},
        "packages": packages(spec.get("packages", [])),
        "units": units(spec.get("units", [])),
        "find": {d: sorted(os.listdir(d)) if os.path.isdir(d) else [] for d in spec.get("find", [])},
        "extract": {p: extract(p, r) for p, r in spec.get("extract", {}).items()},
        "postgres": postgres(spec["postgres"]) if "postgres" in spec else {},
    }
    json.dump(result, sys.stdout, sort_keys=True)


main()
