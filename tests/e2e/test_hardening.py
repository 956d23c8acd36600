"""Hardening on the lab: the effective sshd configuration, the firewall's allow-lists as seen
from each host, and the lockout guards (each stops before changing anything)."""

from __future__ import annotations

import shlex

import pytest

from .conftest import ADDRESS, SSH_CHATTY, SSH_FRESH, STATE, Run, on, sh, tcp_state

pytestmark = pytest.mark.e2e
WEB, APP, DB = ADDRESS["web01"], ADDRESS["app01"], ADDRESS["db01"]


@pytest.mark.parametrize("host", sorted(ADDRESS))
def test_sshd_effective_configuration(provisioned: Run, host: str) -> None:
    run = on(ADDRESS[host], "sudo -n sshd -T -C user=opsadmin,host=x,addr=10.213.0.1")
    assert run.rc == 0, run.out
    effective = dict(line.split(" ", 1) for line in run.out.splitlines() if " " in line)
    expected = {
        "permitrootlogin": "no",
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "pubkeyauthentication": "yes",
        "permitemptypasswords": "no",
        "maxauthtries": "3",
        "logingracetime": "60",
        "allowgroups": "opsadmin",
        "x11forwarding": "no",
        "allowtcpforwarding": "no",
        "allowagentforwarding": "no",
        "clientaliveinterval": "300",
        "clientalivecountmax": "2",
        "loglevel": "VERBOSE",
        "banner": "/etc/issue.net",
        "ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
        "aes256-ctr,aes192-ctr,aes128-ctr",
    }
    assert {k: effective.get(k) for k in expected} == expected


def test_root_cannot_log_in_even_with_the_lab_key(provisioned: Run) -> None:
    run = sh(*SSH_FRESH, f"root@{WEB}", "true")
    assert run.rc != 0
    assert "Permission denied" in run.out, run.out


def test_weak_cipher_is_refused(provisioned: Run) -> None:
    run = sh(*SSH_CHATTY, "-o", "Ciphers=aes128-cbc", f"opsadmin@{WEB}", "true")
    assert run.rc != 0
    assert "no matching cipher" in run.out, run.out


@pytest.mark.parametrize(
    ("source", "target", "port", "state"),
    [
        (None, WEB, 443, "open"),
        (None, WEB, 80, "open"),
        (None, APP, 8080, "timeout"),  # Tomcat only from the web hosts
        (WEB, APP, 8080, "open"),
        (DB, APP, 8080, "timeout"),
        (APP, DB, 5432, "open"),  # PostgreSQL only from the app hosts
        (WEB, DB, 5432, "timeout"),
        (WEB, APP, 22, "timeout"),  # SSH only from the admin network (the lab machine)
        (None, APP, 22, "open"),
        (APP, WEB, 443, "open"),
    ],
)
def test_firewall_allow_lists(
    provisioned: Run, source: str | None, target: str, port: int, state: str
) -> None:
    assert tcp_state(source, target, port) == state


@pytest.mark.parametrize("host", sorted(ADDRESS))
def test_firewall_default_drop_persisted(provisioned: Run, host: str) -> None:
    run = on(
        ADDRESS[host],
        "sudo -n nft list chain inet filter input | grep -c 'policy drop'; "
        "sudo -n nft list chain inet filter forward | grep -c 'policy drop'; "
        "systemctl is-enabled nftables; sudo -n nft -c -f /etc/nftables.conf && echo FILE-OK",
    )
    assert run.rc == 0, run.out
    assert run.out.split() == ["1", "1", "enabled", "FILE-OK"]


def test_firewall_refuses_admin_networks_without_this_machine(provisioned: Run) -> None:
    run = sh(
        ".venv/bin/ansible-playbook",
        "playbooks/site.yml",
        "-e",
        '{"firewall_admin_networks": ["192.0.2.0/24"]}',
    )
    assert run.rc != 0
    assert "does not contain 10.213.0.1" in run.out, run.out[-3000:]
    assert all(c["changed"] == 0 for c in run.recap().values()), run.recap()


def test_ssh_hardening_stops_when_the_admin_key_login_fails(provisioned: Run) -> None:
    # Another user name stands in for a broken admin key: the fresh login fails.
    run = sh(
        ".venv/bin/ansible-playbook",
        "playbooks/site.yml",
        "--limit",
        "web01",
        "-e",
        "ssh_hardening_admin_user=nobody",
    )
    assert run.rc != 0
    assert "logging in as nobody with the operator's key failed" in run.out, run.out[-3000:]
    assert run.recap()["web01"]["changed"] == 0
    assert (STATE / "ssh/id_ed25519").is_file()


@pytest.mark.parametrize("host", sorted(ADDRESS))
def test_os_hardening_on_the_live_host(provisioned: Run, host: str) -> None:
    probe = (
        "sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.accept_redirects "
        "net.ipv4.tcp_syncookies net.ipv4.conf.all.rp_filter; "
        'awk \'$1=="PASS_MAX_DAYS"||$1=="UMASK"||$1=="ENCRYPT_METHOD"{print $1"="$2}\' '
        "/etc/login.defs | sort; "
        "grep -c nullok /etc/pam.d/common-auth || true; "
        "grep -q 'pam_faillock.so preauth' /etc/pam.d/common-auth && echo FAILLOCK; "
        "findmnt -n -o OPTIONS /tmp | tr , '\\n' | grep -E '^(nodev|nosuid|noexec)$' | sort "
        "| tr '\\n' ' '; echo; "
        "stat -c '%a %U %G' /etc/shadow; "
        "head -c 300 /etc/issue.net | grep -q '授权' && echo BANNER; "
        "sudo -n true && echo SUDO"
    )
    run = on(ADDRESS[host], f"sudo -n sh -c {shlex.quote(probe)}")
    assert run.rc == 0, run.out
    lines = run.out.splitlines()
    # No forwarding, no redirects accepted, SYN cookies, reverse-path filtering.
    assert lines[:4] == ["0", "0", "1", "1"], lines
    assert lines[4:7] == ["ENCRYPT_METHOD=YESCRYPT", "PASS_MAX_DAYS=90", "UMASK=027"], lines
    assert lines[7] == "0", "nullok must be gone from common-auth"
    assert lines[8] == "FAILLOCK"
    assert lines[9].split() == ["nodev", "noexec", "nosuid"]
    assert lines[10] in ("640 root shadow", "600 root root", "0 root shadow", "0 root root")
    assert lines[11:] == ["BANNER", "SUDO"]


def test_platform_serves_after_hardening(provisioned: Run) -> None:
    run = sh(
        "curl",
        "-sS",
        "--cacert",
        str(STATE / "ca/ca.crt"),
        "--noproxy",
        "*",
        f"https://{WEB}/health",
    )
    assert run.rc == 0, run.out
    assert '"db":"ok"' in run.out
