"""Real servers on loopback for the network-step tests: TLS with lab-CA certificates, HTTP, UDP DNS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from probe.lab import pki

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Pki:
    ca: pki.Issuer
    ca_file: Path
    tmp: Path

    def server_context(self, names: list[str], *, variant: str = "valid") -> ssl.SSLContext:
        key = pki.new_key()
        if variant == "rogue":
            rogue = pki.RogueChain.make("Qaznet Trust Network")
            pem = rogue.forge_pem(names[0], key)
        else:
            pem = pki.site_pem(names[0], variant, ca=self.ca, key=key)
        path = self.tmp / f"{names[0]}-{variant}.pem"
        path.write_bytes(pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path)
        return ctx


@pytest.fixture(scope="session")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca = pki.make_ca("Probe Test Root CA")
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    return Pki(ca=ca, ca_file=ca_file, tmp=tmp)


async def serve(handler: Handler, ssl_ctx: ssl.SSLContext | None = None, port: int = 0) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", port, ssl=ssl_ctx)
    port = server.sockets[0].getsockname()[1]
    return server, port


def http_handler(body: bytes, *, status: str = "200 OK", extra: bytes = b"") -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n" + extra + b"\r\n" + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
    return handle
