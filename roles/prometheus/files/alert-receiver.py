#!/usr/bin/python3
"""opsproof alert receiver: Alertmanager's webhook notifications as JSON lines in a file.

Listens on the loopback only. Every alert of every notification (firing and resolved) becomes
one line: received_at (UTC, ms), status, alertname, labels, annotations, starts_at, ends_at,
fingerprint, receiver, group_key. When the file exceeds --max-mb it is renamed with a UTC time
stamp and the newest --keep renamed files are kept. Python's standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_BODY = 4 << 20


def rotate(path: str, max_bytes: int, keep: int) -> None:
    try:
        if os.path.getsize(path) < max_bytes:
            return
    except OSError:
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base, ext = os.path.splitext(path)
    os.rename(path, "%s-%s%s" % (base, stamp, ext))
    old = sorted(glob.glob("%s-*%s" % (base, ext)))
    for name in old[: max(0, len(old) - keep)]:
        os.unlink(name)


def lines(body: dict, received: str) -> list:
    out = []
    for alert in body.get("alerts") or []:
        labels = alert.get("labels") or {}
        out.append(json.dumps({
            "received_at": received,
            "status": alert.get("status"),
            "alertname": labels.get("alertname"),
            "labels": labels,
            "annotations": alert.get("annotations") or {},
            "starts_at": alert.get("startsAt"),
            "ends_at": alert.get("endsAt"),
            "fingerprint": alert.get("fingerprint"),
            "receiver": body.get("receiver"),
            "group_key": body.get("groupKey"),
        }, ensure_ascii=False, sort_keys=True))
    return out


class Handler(BaseHTTPRequestHandler):
    server_version = "opsproof-alert-receiver"
    sys_version = ""

    def reply(self, code: int, text: str) -> None:
        data = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/health":
            self.reply(200, "ok")
        else:
            self.reply(404, "not found")

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/notify":
            self.reply(404, "not found")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self.reply(413 if length > MAX_BODY else 400, "bad length")
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self.reply(400, "not JSON")
            return
        received = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        out = lines(body if isinstance(body, dict) else {}, received)
        opts = self.server.opts
        rotate(opts.file, opts.max_mb << 20, opts.keep)
        with open(opts.file, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in out))
            fh.flush()
            os.fsync(fh.fileno())
        self.reply(200, "recorded %d" % len(out))

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9095)
    p.add_argument("--file", required=True)
    p.add_argument("--max-mb", type=int, default=64)
    p.add_argument("--keep", type=int, default=12)
    opts = p.parse_args()
    server = HTTPServer((opts.listen, opts.port), Handler)
    server.opts = opts
    server.serve_forever()


main()
