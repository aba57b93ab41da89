"""The transparent TLS interceptor: MITM with a rogue CA, throttling, a FIN, or a plain relay, by SNI.

Port-443 flows that netfilter REDIRECTs here are peeked (the ClientHello stays in the socket), then:

* tls_mitm:     the handshake is answered with a leaf forged for the SNI, signed by the rogue
                intermediate (sent along, as interception boxes do); the plaintext is relayed over a
                new TLS connection to the original destination
* tls_throttle: the ClientHello is held `delay_ms`, and server-to-client bytes are paced at
                `rate_kbit` (the decoy SNI to the same address goes at full speed)
* tls_sni_eof:  the connection is closed with a FIN in answer to the ClientHello (a spoofed FIN:
                the client's handshake ends in EOF)
* tls_reset_midstream: relayed untouched until `MIDSTREAM_AFTER_BYTES` have gone to the client (the
                handshake, then part of the response), then reset: an RST into an established flow
* otherwise:    relayed untouched
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

from probe.lab import pki
from probe.lab.middlebox.relay import close, dial, finish, splice, splice_then_reset
from probe.lab.middlebox.wire import client_hello_sni, host_matches, original_dst, tls_record_length

# Server-to-client bytes relayed before a mid-stream reset: the lab's handshake (an EC chain of about
# 1.5 kB) and the first part of the response; the scenario's page must be larger.
MIDSTREAM_AFTER_BYTES = 6000


class Forger:
    """Server contexts with forged leaves, one per SNI, made on first use."""

    def __init__(self, chain_pem: bytes, workdir: Path) -> None:
        self._chain = pki.load_issuer(chain_pem)
        self._key = pki.new_key()
        self._dir = workdir
        self._contexts: dict[str, ssl.SSLContext] = {}

    def context(self, host: str) -> ssl.SSLContext:
        if host not in self._contexts:
            leaf = pki.make_leaf([host], issuer=self._chain, key=self._key)
            path = pki.write_pem(self._dir / f"forged-{host}.pem",
                                 pki.chain_pem(leaf, self._chain.cert) + pki.key_pem(self._key))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(path)
            ctx.set_alpn_protocols(["http/1.1"])
            self._contexts[host] = ctx
        return self._contexts[host]


def _peek_client_hello(sock: socket.socket) -> bytes:
    """Blocking (run in a thread): peek until the whole first TLS record is buffered."""
    sock.settimeout(10)
    data = sock.recv(16384, socket.MSG_PEEK)
    if len(data) >= 5 and data[0] == 0x16:
        need = min(tls_record_length(data[:5]), 16384)
        while len(data) < need:
            more = sock.recv(need, socket.MSG_PEEK)
            if len(more) == len(data):
                break
            data = more
    sock.setblocking(False)
    return data


async def _streams(sock: socket.socket, ctx: ssl.SSLContext | None = None
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock, ssl=ctx,
                                                      ssl_handshake_timeout=15 if ctx else None)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


def _rule_for(sni: str | None, rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not sni:
        return None
    return next((r for r in rules if host_matches(sni, r["match"])), None)


async def handle(sock: socket.socket, rules: list[dict[str, Any]], forgers: dict[str, Forger]) -> None:
    dst, port = original_dst(sock)
    try:
        hello = await asyncio.to_thread(_peek_client_hello, sock)
    except OSError:
        sock.close()
        return
    sni = client_hello_sni(hello)
    rule = _rule_for(sni, rules)
    if rule is not None and rule["kind"] == "mitm" and sni:
        await _mitm(sock, sni, dst, port, forgers[rule["issuer"]])
        return
    if rule is not None and rule["kind"] == "eof":
        await _fin(sock)
        return
    rate = 0.0
    if rule is not None and rule["kind"] == "throttle":
        await asyncio.sleep(rule["delay_ms"] / 1000)
        rate = rule["rate_kbit"] * 1000 / 8
    try:
        reader, writer = await _streams(sock)
        up_reader, up_writer = await dial(dst, port)
    except (OSError, TimeoutError):
        sock.close()
        return
    if rule is not None and rule["kind"] == "midstream_reset":
        await splice_then_reset(reader, writer, up_reader, up_writer, after_bytes=MIDSTREAM_AFTER_BYTES)
        return
    await splice(reader, writer, up_reader, up_writer, down_rate_bytes_s=rate)


async def _fin(sock: socket.socket) -> None:
    """End the flow with a FIN. The peeked ClientHello is still in the socket: `finish` reads it out
    before closing, or the kernel would turn the close into an RST."""
    try:
        reader, writer = await _streams(sock)
    except OSError:
        sock.close()
        return
    await finish(reader, writer)


async def _mitm(sock: socket.socket, sni: str, dst: str, port: int, forger: Forger) -> None:
    try:
        reader, writer = await _streams(sock, forger.context(sni))
    except (OSError, ssl.SSLError, TimeoutError):
        sock.close()
        return
    upstream = ssl.create_default_context()
    upstream.check_hostname = False
    upstream.verify_mode = ssl.CERT_NONE  # an interception box does not care who it talks to
    upstream.set_alpn_protocols(["http/1.1"])
    try:
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(dst, port, ssl=upstream, server_hostname=sni), 10)
    except (OSError, ssl.SSLError, TimeoutError):
        close(writer)
        return
    await splice(reader, writer, up_reader, up_writer)


async def start(conf: dict[str, Any], workdir: Path) -> list[asyncio.Task[None]]:
    """Listen on the interceptor port (v4 and v6); returns the accept-loop tasks."""
    rules = conf.get("tls_rules", [])
    if not rules:
        return []
    forgers = {r["issuer"]: Forger(Path(r["chain"]).read_bytes(), workdir)
               for r in rules if r["kind"] == "mitm"}
    tasks: set[asyncio.Task[None]] = set()
    loops = []
    loop = asyncio.get_running_loop()
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        lsock = socket.socket(family, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        lsock.bind((host, conf["tls_port"]))
        lsock.listen(512)
        lsock.setblocking(False)
        loops.append(loop.create_task(_accept_loop(lsock, rules, forgers, tasks)))
    return loops


async def _accept_loop(lsock: socket.socket, rules: list[dict[str, Any]], forgers: dict[str, Forger],
                       tasks: set[asyncio.Task[None]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        conn, _ = await loop.sock_accept(lsock)
        task = loop.create_task(handle(conn, rules, forgers))
        tasks.add(task)  # keep a reference: asyncio holds tasks weakly
        task.add_done_callback(tasks.discard)
