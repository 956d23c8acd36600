"""The roles' state probe (playbooks/files/state_probe.py): one copy, run as the roles run it.

nginx, tomcat, platform_app and postgresql each start with one read-only round trip that
reads what they manage; they share this one script (Ansible's file lookup finds it in the
playbook's files/ when the role has none). Here it runs on local temporary files with this
machine's python3, with the same argv the roles give it.
"""

from __future__ import annotations

import getpass
import grp
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "playbooks/files/state_probe.py"
LOOKUP = re.compile(r"lookup\('ansible\.builtin\.file', '([^']+)'\)")


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE.read_text(encoding="utf-8"), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_the_roles_share_one_state_probe() -> None:
    users = sorted(
        path.parts[-3]
        for path in REPO.glob("roles/*/tasks/*.yml")
        if "'state_probe.py'" in path.read_text(encoding="utf-8")
    )
    assert users == [
        "exporters",
        "log_forward",
        "log_server",
        "nginx",
        "platform_app",
        "postgresql",
        "prometheus",
        "tomcat",
    ]
    text = PROBE.read_bytes()
    copies = [p for p in REPO.glob("roles/*/files/**/*.py") if p.read_bytes() == text]
    assert copies == []
    assert not [p for p in REPO.glob("roles/*/files/state_probe.py")]  # would shadow the shared one


def test_every_file_lookup_of_a_role_resolves() -> None:
    # A role's lookup searches its own files/, then the playbook's files/ (every play is in
    # playbooks/).
    missing = [
        (path.relative_to(REPO).as_posix(), name)
        for path in REPO.glob("roles/*/tasks/*.yml")
        for name in LOOKUP.findall(path.read_text(encoding="utf-8"))
        if not (path.parents[1] / "files" / name).exists()
        and not (REPO / "playbooks/files" / name).exists()
    ]
    assert missing == []


def test_paths_hashes_links_and_absence(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("port = 8080\nheap = 512\n", encoding="utf-8")
    conf.chmod(0o640)
    link = tmp_path / "current"
    link.symlink_to(conf)
    absent = tmp_path / "absent"
    out = probe(
        {
            "paths": [str(tmp_path), str(link), str(absent)],
            "hash": [str(conf)],
            "follow": [str(link)],
        }
    )["paths"]
    owner, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    assert out[str(conf)]["sig"] == f"file {owner}:{group} 0640"
    assert out[str(conf)]["sha1"] == hashlib.sha1(conf.read_bytes()).hexdigest()
    assert out[str(conf)]["size"] == conf.stat().st_size
    assert out[str(tmp_path)]["type"] == "dir"
    assert out[str(absent)] == {"exists": False, "sig": "absent"}
    # A path in "follow" is stat'ed through the link (listed in both, follow wins: one entry).
    assert out[str(link)]["type"] == "file"
    assert "sha1" not in out[str(link)]


def test_a_link_not_followed_is_a_link(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(target)
    out = probe({"paths": [str(tmp_path / "link")]})["paths"][str(tmp_path / "link")]
    assert (out["type"], out["link"]) == ("link", str(target))


def test_find_and_extract(tmp_path: Path) -> None:
    (tmp_path / "b.conf").write_text("x", encoding="utf-8")
    (tmp_path / "a.conf").write_text("x", encoding="utf-8")
    conf = tmp_path / "server.xml"
    conf.write_text('<Server>\n  <Connector port="8080" maxThreads="200"/>\n</Server>\n', "utf-8")
    out = probe(
        {
            "find": [str(tmp_path), str(tmp_path / "none")],
            "extract": {
                str(conf): r"^\s*<Connector .*$",
                str(tmp_path / "a.conf"): r"^nothing$",
                str(tmp_path / "none"): r".",
            },
        }
    )
    assert out["find"] == {
        str(tmp_path): ["a.conf", "b.conf", "server.xml"],
        str(tmp_path / "none"): [],
    }
    line = '  <Connector port="8080" maxThreads="200"/>'
    assert out["extract"] == {
        str(conf): hashlib.sha1(line.encode()).hexdigest(),
        str(tmp_path / "a.conf"): None,
        str(tmp_path / "none"): None,
    }


def test_an_unknown_package_is_not_installed() -> None:
    if not Path("/usr/bin/dpkg-query").exists():
        pytest.skip("no dpkg on this machine")
    out = probe({"packages": ["opsproof-no-such-package"]})
    assert out["packages"] == {"opsproof-no-such-package": False}
    assert out["postgres"] == {}
    assert out["units"] == {}
