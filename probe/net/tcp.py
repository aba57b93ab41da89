"""TCP step: connect to one ip:port, returning the observation and, on success, the connected socket."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from probe import failures
from probe.models import TCPConnectObservation
from probe.net.clock import Clock


async def tcp_connect(ip: str, port: int, *, timeout_s: float, clock: Clock,
                      transaction_id: int = 0) -> tuple[TCPConnectObservation, socket.socket | None]:
    loop = asyncio.get_running_loop()
    t0 = clock()
    sock: socket.socket | None = None
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        # Inside the try: no IPv6 on this machine (EAFNOSUPPORT) or no file descriptors left (EMFILE)
        # are observations of this address, not crashes.
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        async with asyncio.timeout(timeout_s):  # not wait_for: no task of its own per step
            await loop.sock_connect(sock, (ip, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception as exc:  # noqa: BLE001 - a failed connect is an observation
        if sock is not None:
            sock.close()
        return TCPConnectObservation(ip=ip, port=port, t0=t0, t=clock(), transaction_id=transaction_id,
                                     failure=failures.classify_exception(exc)), None
    except BaseException:  # cancelled: do not leak the socket
        if sock is not None:
            sock.close()
        raise
    return TCPConnectObservation(ip=ip, port=port, t0=t0, t=clock(), transaction_id=transaction_id), sock
