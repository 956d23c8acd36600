"""NFQUEUE delayer: holds every packet of one netfilter queue for DELAY ms, then accepts it.

Runs on the target host with the stock python3 (no packages): it speaks nfnetlink_queue over
a raw netlink socket. Used where the kernel has no netem (`tc qdisc ... netem` ->
"Specified qdisc kind is unknown"). The nft rule that feeds the queue uses `bypass`, so if
this program stops, packets flow undelayed again. Bounded: exits after DURATION seconds.

usage: python3 nfq_delay.py QUEUE DELAY_MS DURATION_S
"""

from __future__ import annotations

import heapq
import select
import socket
import struct
import sys
import time
from collections.abc import Iterator

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
CFG_CMD, CFG_PARAMS = 1, 2
CMD_BIND = 1
COPY_META = 1
PACKET_HDR, VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg: int, queue: int, attrs: list[bytes], seq: int) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg
    return struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST, seq, 0) + body


def packet_ids(data: bytes) -> Iterator[int]:
    """Packet ids of the NFQNL_MSG_PACKET messages in one netlink datagram."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
            pos = offset + 20
            while pos + 4 <= offset + length:
                alen, atype = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if atype & 0x7FFF == PACKET_HDR:
                    yield struct.unpack_from("!I", data, pos + 4)[0]
                pos += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main() -> None:
    queue, delay_s, duration = int(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((0, 0))
    sock.send(message(MSG_CONFIG, queue, [attr(CFG_CMD, struct.pack("=BxH", CMD_BIND, 0))], 1))
    sock.send(message(MSG_CONFIG, queue, [attr(CFG_PARAMS, struct.pack("!IB", 0, COPY_META))], 2))
    held: list[tuple[float, int]] = []  # (release time, packet id)
    seq, released = 3, 0
    end = time.monotonic() + duration
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, pid = heapq.heappop(held)
            verdict = attr(VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))
            sock.send(message(MSG_VERDICT, queue, [verdict], seq))
            seq, released = seq + 1, released + 1
        if now >= end and not held:
            break
        wait = max(0.0, min(held[0][0] - now if held else 0.2, 0.2))
        if now < end and select.select([sock], [], [], wait)[0]:
            data = sock.recv(1 << 16)
            arrived = time.monotonic()
            for pid in packet_ids(data):
                heapq.heappush(held, (arrived + delay_s, pid))
        elif now >= end:
            time.sleep(wait)
    print(f"released {released} packets", flush=True)


if __name__ == "__main__":
    main()
