"""The lab's one-way delayer (network.rtt_ms) on a raw nfnetlink socket, released in batches.

netem is missing from this kernel, so every packet to and from the client is queued to userspace and
held half the RTT. Every packet waits the same time, so they leave in the order they came, and
NFQUEUE's batch verdict ("accept every packet up to id N") releases all that are due in one message.
With `NetfilterQueue` each packet cost a Python object and a verdict message of its own: a 2,000-URL
benchmark run spent about 4 s of the lab's CPU here, time the probe and the control helper on the same
two cores did not get (LAB-NOTES: keep the delayer's cost out of the figures).

Only metadata is copied (COPY_META): the delayer never reads a packet. Wire format: the kernel's
uapi `linux/netfilter/nfnetlink_queue.h` (nlmsghdr, nfgenmsg, then netlink attributes).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2

_NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_NFGEN = struct.Struct("!BBH")  # family, version, res_id (the queue number, big-endian)
_NLATTR = struct.Struct("=HH")  # len, type
QUEUE_MAXLEN = 65536  # packets the kernel may hold for us (a 2,000-URL run holds a few hundred at once)
RCVBUF = 8 << 20


def _attr(kind: int, payload: bytes) -> bytes:
    size = _NLATTR.size + len(payload)
    return _NLATTR.pack(size, kind) + payload + b"\0" * (-size % 4)


def _message(msg: int, queue: int, attrs: bytes, *, flags: int, seq: int = 0) -> bytes:
    body = _NFGEN.pack(socket.AF_UNSPEC, 0, queue) + attrs
    return _NLMSG.pack(_NLMSG.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, 0) + body


def bind_message(queue: int, *, seq: int) -> bytes:
    return _message(NFQNL_MSG_CONFIG, queue, _attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)),
                    flags=NLM_F_REQUEST | NLM_F_ACK, seq=seq)


def params_message(queue: int, *, seq: int) -> bytes:
    attrs = (_attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
             + _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN)))
    return _message(NFQNL_MSG_CONFIG, queue, attrs, flags=NLM_F_REQUEST | NLM_F_ACK, seq=seq)


def accept_up_to(queue: int, packet_id: int) -> bytes:
    """The batch verdict: accept every packet of `queue` whose id is `packet_id` or lower."""
    return _message(NFQNL_MSG_VERDICT_BATCH, queue, _attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id)),
                    flags=NLM_F_REQUEST)


def packet_ids(buffer: bytes | bytearray | memoryview, size: int) -> list[int]:
    """The ids of the queued packets announced in `buffer[:size]` (one or more netlink messages)."""
    ids: list[int] = []
    offset = 0
    packet_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET
    while offset + _NLMSG.size <= size:
        length, kind = _NLMSG.unpack_from(buffer, offset)[:2]
        if length < _NLMSG.size or offset + length > size:
            break
        if kind == packet_type:
            at, end = offset + _NLMSG.size + _NFGEN.size, offset + length
            while at + _NLATTR.size <= end:
                attr_len, attr_type = _NLATTR.unpack_from(buffer, at)
                if attr_len < _NLATTR.size:
                    break
                if attr_type & 0x7FFF == NFQA_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", buffer, at + _NLATTR.size)[0])
                    break
                at += (attr_len + 3) & ~3
        offset += (length + 3) & ~3
    return ids


class BatchDelayer:
    """Binds `queue` and holds each packet `delay_s`; one FIFO, one timer for its head, one verdict
    message for every run of packets due at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: int, delay_s: float) -> None:
        self.loop, self.queue, self.delay_s = loop, queue, delay_s
        self._held: collections.deque[tuple[float, int]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._buffer = bytearray(65536)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE: root, past rmem_max
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.bind((0, 0))
        self._configure(bind_message(queue, seq=1), "bind")
        self._configure(params_message(queue, seq=2), "configure")
        self.sock.setblocking(False)
        loop.add_reader(self.sock.fileno(), self._read)
        if self._held:
            self._timer = loop.call_at(self._held[0][0], self._release)

    def _configure(self, message: bytes, what: str) -> None:
        """Send one config message and wait for the kernel's acknowledgement (an error says why).
        Packets announced meanwhile (the queue is bound before it is configured) are held as usual."""
        seq = _NLMSG.unpack_from(message, 0)[3]
        self.sock.send(message)
        while True:
            size = self.sock.recv_into(self._buffer)
            kind, _, got = _NLMSG.unpack_from(self._buffer, 0)[1:4]
            if kind != NLMSG_ERROR or got != seq:
                due = self.loop.time() + self.delay_s
                self._held.extend((due, packet_id) for packet_id in packet_ids(self._buffer, size))
                continue
            code = -struct.unpack_from("=i", self._buffer, _NLMSG.size)[0] if size >= _NLMSG.size + 4 else 0
            if code:
                raise OSError(code, f"NFQUEUE {self.queue}: cannot {what}: {errno.errorcode.get(code, code)}")
            return

    def _read(self) -> None:
        due = self.loop.time() + self.delay_s
        held = self._held
        while True:
            try:
                size = self.sock.recv_into(self._buffer)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    # Announcements were lost; their packets are still queued, and the next batch
                    # verdict (every id up to N) releases them with the rest.
                    continue
                raise
            for packet_id in packet_ids(self._buffer, size):
                held.append((due, packet_id))
        if held and self._timer is None:
            self._timer = self.loop.call_at(held[0][0], self._release)

    def _release(self) -> None:
        now = self.loop.time() + 1e-6  # the loop may fire a timer a clock tick early
        held = self._held
        last = None
        while held and held[0][0] <= now:
            last = held.popleft()[1]
        if last is not None:
            # A message to the kernel is handled as it is sent; were it refused (full), the next
            # release's verdict would cover these ids too.
            with contextlib.suppress(BlockingIOError):
                self.sock.send(accept_up_to(self.queue, last))
        self._timer = self.loop.call_at(held[0][0], self._release) if held else None

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
