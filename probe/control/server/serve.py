"""Serve the control helper's app (app.py) with uvicorn, behind the connection gate (gate.py).

`ControlServer` binds the listening sockets itself (IPv4 and IPv6, several at once), hands them to
a uvicorn `Server` whose protocol is the gate's, and stops it gracefully. TLS is done by the gate on
each accepted socket (uvicorn cannot count or time connections before their handshake); without a
certificate the helper speaks plain HTTP, for a TLS reverse proxy in front (deploy/README.md), whose
X-Forwarded-For uvicorn then applies for `trusted_proxies` only. uvicorn's access log is off: the
app writes the one line per request, without the client's address.

This module wires; it neither measures nor decides what a request may do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Sequence

import uvicorn

from probe.control.server.app import DEFAULT_MAX_CONCURRENCY, create_app
from probe.control.server.gate import GateLimits, GateState, gated_protocol
from probe.control.server.settings import HelperSettings
from probe.identity import AsnDatabase

SHUTDOWN_GRACE_S = 2.0


def server_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    return ctx


def bind(listen: Sequence[tuple[str, int]], *, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for every (ip, port); OSError (closing those made) when one cannot be bound."""
    sockets: list[socket.socket] = []
    try:
        for host, port in listen:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class ControlServer:
    """The helper on uvicorn: `start` (returns the bound addresses), `close`."""

    def __init__(self, *, settings: HelperSettings, ssl_context: ssl.SSLContext | None,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, limits: GateLimits | None = None,
                 trusted_proxies: Sequence[str] = (), log: Callable[[str], None] | None = None,
                 log_clients: bool = False, asn_db: AsnDatabase | None = None) -> None:
        self.gate = GateState(limits=limits or GateLimits(), ssl_context=ssl_context,
                              trusted_proxies=frozenset(trusted_proxies))
        app = create_app(settings=settings, max_concurrency=max_concurrency, log=log, log_clients=log_clients,
                         connections=lambda: self.gate.connections, body_timeout_s=self.gate.limits.head_timeout_s,
                         asn_db=asn_db)
        self._config = uvicorn.Config(
            app, http=gated_protocol(self.gate), ws="none", lifespan="off", log_config=None, access_log=False,
            server_header=False, proxy_headers=bool(trusted_proxies), forwarded_allow_ips=list(trusted_proxies),
            timeout_keep_alive=int(max(1, self.gate.limits.keep_alive_s)),
            h11_max_incomplete_event_size=self.gate.limits.max_head_bytes,
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S))
        # uvicorn's own messages (start, stop, "Invalid HTTP request") are not per-request lines.
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
        self._server = uvicorn.Server(self._config)
        self._sockets: list[socket.socket] = []
        self._main: asyncio.Task[None] | None = None

    @property
    def accepted(self) -> int:
        """Connections let in since start (shows keep-alive at work)."""
        return self.gate.admitted

    async def start(self, listen: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """Listen on every (ip, port); returns the bound addresses (a port 0 gets a real port)."""
        self._sockets = bind(listen)
        bound = [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in self._sockets]
        server = self._server
        self._config.load()
        server.lifespan = self._config.lifespan_class(self._config)
        await server.startup(sockets=self._sockets)
        self._main = asyncio.create_task(server.main_loop())  # uvicorn's ticks (the Date header)
        return bound

    async def close(self) -> None:
        """Stop listening, end idle connections, give answers in progress a moment."""
        server = self._server
        server.should_exit = True
        if self._main is not None:
            with contextlib.suppress(Exception):
                await self._main
        if getattr(server, "servers", None) is not None:
            await server.shutdown(sockets=self._sockets)
        self.gate.close_all()  # connections still in their handshake, or stuck
        self._sockets = []
