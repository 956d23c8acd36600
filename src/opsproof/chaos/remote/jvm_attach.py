"""Load a Java agent into a running HotSpot JVM (the attach protocol jcmd uses), as root.

Runs on the target host with the stock python3. The JVM may run in a private /tmp
(systemd PrivateTmp=): its attach socket is reached through /proc/PID/root.

usage: python3 jvm_attach.py PID JAR_PATH_AS_THE_JVM_SEES_IT
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time


def main() -> None:
    pid, jar = int(sys.argv[1]), sys.argv[2]
    sock_path = f"/proc/{pid}/root/tmp/.java_pid{pid}"
    if not os.path.exists(sock_path):
        trigger = f"/proc/{pid}/root/tmp/.attach_pid{pid}"  # its cwd may be read-only
        with open(trigger, "w"):
            pass
        try:
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 15
            while not os.path.exists(sock_path) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            os.unlink(trigger)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    client.connect(sock_path)
    client.sendall(b"\0".join([b"1", b"load", b"instrument", b"false", jar.encode()]) + b"\0")
    reply = b""
    while chunk := client.recv(4096):
        reply += chunk
    text = reply.decode(errors="replace").strip()
    print(text)
    lines = text.splitlines()
    agent_rc = lines[-1].rsplit(":", 1)[-1].strip() if len(lines) > 1 else "0"
    sys.exit(0 if lines and lines[0] == "0" and agent_rc == "0" else 1)


if __name__ == "__main__":
    main()
