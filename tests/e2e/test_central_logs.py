"""Central logs on the lab (issue 14 item 8): a line logged on a host arrives on the log
store within a bounded wait, under that host's name; the store takes nothing from a sender
without a certificate nor from outside the inventory; a retention under 180 days is refused
before anything changes."""

from __future__ import annotations

import shlex
import time
import uuid

from opsproof import placement

from .conftest import ADDRESS, LAB, Run, on, sh, tcp_state

STORE_GROUP = placement.group_of("log_server")
STORE = next(h.name for h in LAB.hosts if STORE_GROUP in h.groups)
SOURCE = "db01"
STORE_DIR = "/srv/data/logs"  # log_server_dir's default, which the lab keeps
PORT = 6514
ARRIVAL_LIMIT_S = 30.0


def _found_on_store(marker: str) -> list[str]:
    """The store's day files (relative to the store) holding marker, read as root."""
    run = on(
        ADDRESS[STORE],
        f"sudo -n grep -rlF {shlex.quote(marker)} {STORE_DIR} || true",
        timeout=30,
    )
    assert run.rc == 0, run.out
    return [line.removeprefix(STORE_DIR + "/") for line in run.out.split() if line]


def _wait_for(marker: str, limit_s: float) -> tuple[float, list[str]]:
    start = time.monotonic()
    while True:
        files = _found_on_store(marker)
        waited = time.monotonic() - start
        if files or waited > limit_s:
            return waited, files
        time.sleep(0.5)


def test_a_line_logged_on_db01_arrives_on_the_store(provisioned: Run) -> None:
    marker = f"opsproof-e2e-{uuid.uuid4().hex}"
    logged = on(ADDRESS[SOURCE], f"logger -t opsproof-e2e {marker}")
    assert logged.rc == 0, logged.out
    waited, files = _wait_for(marker, ARRIVAL_LIMIT_S)
    assert files, f"{marker} not on {STORE} after {waited:.1f} s"
    # Stored under the sender's own name (the address it connects from, its certificate's name).
    assert all(f.startswith(f"{SOURCE}/") for f in files), files
    print(f"central logs: a line from {SOURCE} reached {STORE} in {waited:.1f} s")


# A TLS client that trusts the lab CA but has no certificate of its own: the handshake may
# complete on the client's side (TLS 1.3), but the store must drop what it sends. The marker
# is made here, on the host, so that it is in no command line (sudo logs those, and the
# host's journal is forwarded as it should be); the script prints it.
NO_CERT_SENDER = r"""
import socket, ssl, sys, uuid
marker = "opsproof-e2e-nocert-" + uuid.uuid4().hex
print(marker)
ctx = ssl.create_default_context(cafile="/etc/rsyslog-tls/ca.crt")
ctx.check_hostname = False
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            line = "<14>1 - app01 intruder - - - " + marker + "\n"
            tls.sendall(("%d %s" % (len(line.encode()), line)).encode())
            tls.recv(1)
    print("sent")
except (OSError, ssl.SSLError) as err:
    print("refused: %s" % type(err).__name__)
"""


def test_the_store_keeps_nothing_from_a_sender_without_a_certificate(provisioned: Run) -> None:
    cmd = f"sudo -n python3 -c {shlex.quote(NO_CERT_SENDER)} {ADDRESS[STORE]} {PORT}"
    sent = on(ADDRESS["app01"], cmd, timeout=30)
    assert sent.rc == 0, sent.out
    marker = sent.out.split()[0]
    assert marker.startswith("opsproof-e2e-nocert-"), sent.out
    # A real line from the same host, sent after it, arrives: the store was listening.
    proof = f"opsproof-e2e-after-{uuid.uuid4().hex}"
    assert on(ADDRESS["app01"], f"logger -t opsproof-e2e {proof}").rc == 0
    _, files = _wait_for(proof, ARRIVAL_LIMIT_S)
    assert files, f"{proof} not on {STORE}"
    assert _found_on_store(marker) == [], sent.out


def test_the_log_port_is_closed_to_the_control_node(provisioned: Run) -> None:
    # The lab machine is not an inventory host: the firewall drops it before TLS.
    assert tcp_state(None, ADDRESS[STORE], PORT) == "timeout"
    assert tcp_state(ADDRESS[SOURCE], ADDRESS[STORE], PORT) == "open"


def test_a_retention_under_180_days_is_refused_before_any_change(provisioned: Run) -> None:
    run = sh(
        ".venv/bin/ansible-playbook",
        "playbooks/site.yml",
        "--limit",
        STORE,
        "-e",
        "log_server_retention_days=90",
    )
    assert run.rc != 0
    assert "log_server_retention_days=90 is below 180 days" in run.out, run.out[-3000:]
    assert run.recap()[STORE]["changed"] == 0
