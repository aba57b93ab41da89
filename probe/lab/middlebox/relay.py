"""Moving bytes between two asyncio streams (at full speed or throttled) and ending them (FIN or RST).

No policy here: which flows to end, and how, is decided by httpbox and tlsbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

CHUNK = 16384


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
               rate_bytes_s: float = 0.0) -> None:
    """Copy until EOF; with `rate_bytes_s` > 0 pace the copy to that rate (throttling)."""
    loop = asyncio.get_running_loop()
    chunk = CHUNK if rate_bytes_s <= 0 else max(64, min(CHUNK, int(rate_bytes_s / 10)))
    start, sent = loop.time(), 0
    try:
        while data := await reader.read(chunk):
            if rate_bytes_s > 0:
                sent += len(data)
                ahead = start + sent / rate_bytes_s - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:  # TLS cannot half-close: the other side would wait for our EOF forever
            close(writer)
    except (ConnectionError, OSError):
        close(writer)


async def splice(a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter,
                 b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter, *,
                 down_rate_bytes_s: float = 0.0) -> None:
    """Both directions until both close; `down_rate_bytes_s` throttles b → a (server to client)."""
    try:
        await asyncio.gather(pipe(a_reader, b_writer),
                             pipe(b_reader, a_writer, rate_bytes_s=down_rate_bytes_s))
    finally:
        for w in (a_writer, b_writer):
            close(w)


async def splice_then_reset(a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter,
                            b_reader: asyncio.StreamReader, b_writer: asyncio.StreamWriter, *,
                            after_bytes: int) -> None:
    """Relay both ways until `after_bytes` have gone b → a (server to client), then reset a (an RST,
    as an on-path censor injects one into an established flow) and close b."""
    async def down() -> None:
        sent = 0
        while sent < after_bytes and (data := await b_reader.read(min(CHUNK, after_bytes - sent))):
            a_writer.write(data)
            await a_writer.drain()
            sent += len(data)

    up = asyncio.ensure_future(pipe(a_reader, b_writer))
    try:
        await down()
    except (ConnectionError, OSError):
        pass
    finally:
        up.cancel()
        reset(a_writer)
        close(b_writer)


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


async def finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 wait_s: float = 10.0) -> None:
    """Close with a FIN and never an RST, as a censor's spoofed FIN looks to the client.

    Linux answers close() with an RST when unread bytes sit in the socket, so after our FIN
    (write_eof, a half-close) we read and discard until the client closes too, or `wait_s` passes.
    """
    try:
        if writer.can_write_eof():
            writer.write_eof()
        await asyncio.wait_for(_discard(reader), wait_s)
    except (ConnectionError, OSError, TimeoutError):
        pass
    finally:
        close(writer)


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(CHUNK):
        pass


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), as a censor's injected reset would look to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    close(writer)


async def dial(host: str, port: int, *, timeout: float = 10.0
               ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
