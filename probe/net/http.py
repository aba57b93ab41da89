"""HTTP step: one GET over a stream the caller already connected (and for https, handshaked).

There is no pool and no redial: the request travels over exactly the connection that was measured.
The body snapshot is capped (`body_cap` bytes after decompression; reading stops there and
`body_is_truncated` is set), and decompression is bounded by the same cap, so a hostile or huge
response cannot exhaust memory. Redirects are not followed here (the measure layer does that).
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Literal

import h11

from probe import failures
from probe.models import HTTPHeader, HTTPObservation, HTTPRequest, HTTPResponse
from probe.models.html import extract_title
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock

READ_CHUNK = 65536
MAX_HEADER_BYTES = 64 * 1024


def browser_headers(host_header: str, user_agent: str) -> list[tuple[str, str]]:
    return [
        ("Host", host_header),
        ("User-Agent", user_agent),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Connection", "close"),
    ]


class _BoundedBody:
    """Accumulates a body, decompressing gzip/deflate, never holding more than `cap` bytes of output."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.out = bytearray()
        self.truncated = False
        enc = encoding.lower().strip()
        self._inflater = (zlib.decompressobj(16 + zlib.MAX_WBITS) if enc in ("gzip", "x-gzip")
                          else zlib.decompressobj() if enc == "deflate" else None)

    def feed(self, data: bytes) -> None:
        if self.truncated:
            return
        if self._inflater is not None:
            try:
                data = self._inflater.decompress(data, self.cap - len(self.out) + 1)
            except zlib.error:
                self._inflater = None  # not really compressed: keep the raw bytes as evidence
        room = self.cap - len(self.out)
        if len(data) > room:
            self.truncated = True
        self.out += data[:room]


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, url: str, ip: str,
                   port: int, scheme: Literal["http", "https"], host_header: str, target: str,
                   user_agent: str, timeout_s: float, body_cap: int, clock: Clock, sink: ArtifactSink,
                   transaction_id: int = 0) -> HTTPObservation:
    """Send one GET and read the response (headers + capped body). Closes the stream when done."""
    headers = browser_headers(host_header, user_agent)
    request = HTTPRequest(method="GET", url=url, headers=[HTTPHeader(name=k, value=v) for k, v in headers])
    t0 = clock()
    state = _Exchange(body_cap)
    failure: str | None = None
    try:
        await asyncio.wait_for(state.run(reader, writer, target, headers), timeout_s)
    except Exception as exc:  # noqa: BLE001 - every failure here is an observation
        failure = failures.classify_exception(exc)
    finally:
        writer.close()
    response = state.response(sink)
    if response is None and failure is None:
        failure = failures.EOF_ERROR
    return HTTPObservation(ip=ip, port=port, scheme=scheme, request=request, response=response, t0=t0,
                           t=clock(), failure=failure, transaction_id=transaction_id)


class _Exchange:
    def __init__(self, body_cap: int) -> None:
        self.conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.head: h11.Response | None = None
        self.body: _BoundedBody | None = None
        self.body_cap = body_cap

    async def run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str,
                  headers: list[tuple[str, str]]) -> None:
        writer.write(self.conn.send(h11.Request(method="GET", target=target, headers=headers)))
        writer.write(self.conn.send(h11.EndOfMessage()))
        await writer.drain()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(READ_CHUNK)
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                self.head = event
                encoding = dict(event.headers).get(b"content-encoding", b"").decode("latin-1")
                self.body = _BoundedBody(encoding, self.body_cap)
            elif isinstance(event, h11.Data) and self.body is not None:
                self.body.feed(bytes(event.data))
                if self.body.truncated:
                    return  # the snapshot is full: stop reading, do not download the rest
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return

    def response(self, sink: ArtifactSink) -> HTTPResponse | None:
        if self.head is None:
            return None
        body = bytes(self.body.out) if self.body else b""
        headers = [HTTPHeader(name=k.decode("latin-1"), value=v.decode("latin-1")) for k, v in self.head.headers]
        return HTTPResponse(code=self.head.status_code, headers=headers, body_length=len(body),
                            body_sha256=sink.add("http_body", body) if body else None,
                            body_is_truncated=bool(self.body and self.body.truncated),
                            title=extract_title(body))
