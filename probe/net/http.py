"""HTTP step: one GET over a stream the caller already connected (and for https, handshaked).

There is no pool and no redial: the request travels over exactly the connection that was measured.
The body snapshot is capped (`body_cap` bytes after decompression; reading stops there and
`body_is_truncated` is set), and decompression is bounded by the same cap, so a hostile or huge
response cannot exhaust memory. Redirects are not followed here (the measure layer does that).

Content codings are undone, last applied first: gzip (several members too) and deflate (zlib-wrapped
or raw, as IIS sends it); `identity` and unregistered tokens change nothing. A body in a registered
coding the probe cannot undo (br, zstd, ...; it never asks for them) is not kept at all: those bytes
could be neither scrubbed of the volunteer's address nor matched against blockpage fingerprints. The
response then records `Content-Encoding` as sent, no body, and `body_is_truncated` (bytes arrived that
the snapshot does not hold). Nothing here raises on hostile input: a stream that is corrupt midway
(or fails its CRC) keeps what decoded before the fault, also marked truncated; one that fails at its
first byte was not really encoded and is kept as sent. Raw deflate has no header or checksum, and
plain text often reads as the start of one: it is believed only if the stream ends exactly where the
body does, or decodes well past where text ever does (see _RAW_VOUCH_BYTES); otherwise the bytes are
kept as sent. A gzip or zlib stream does check out (CRC or Adler-32), so bytes after its end that
start no further gzip member leave it the body, marked truncated: they are not in the snapshot.
`finish()` must be called when the body ends (`_Exchange.response` does), to settle raw deflate.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Literal

import h11

from probe import failures
from probe.models import HTTPHeader, HTTPObservation, HTTPRequest, HTTPResponse
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.web.html import extract_title

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


# Content codings (IANA registry) that are undone here, and those recognised but not undone.
_DECODED = frozenset({"gzip", "x-gzip", "deflate"})
_UNDECODABLE = frozenset({"br", "zstd", "compress", "x-compress", "dcb", "dcz", "aes128gcm", "exi",
                          "pack200-gzip"})
MAX_CODINGS = 4  # more stacked codings than this is hostile: the body is withheld, like br
MAX_GZIP_MEMBERS = 1024  # more gzip members than this is hostile: decoding stops there (truncated)
_SNIFF_BYTES = 64 * 1024  # input a decoder may take with no output yet and still turn out not to be encoded
# Raw deflate has no header or checksum: plain text often decodes as raw deflate for a while (200k
# generated bodies, words, JSON, addresses, random printable and base64 up to 3 KB, never got past 126
# bytes of input or ~1 KB of output before an error or an early end). Its output is held back until
# the stream ends exactly at the end of the body, or has consumed this much input (or made
# _SNIFF_BYTES of output) without fault.
_RAW_VOUCH_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"
_SALVAGE_STEP = 256  # input bytes per step when finding how far a failed stream decodes


class _Decoder:
    """Undoes one coding incrementally, at most `limit` bytes out per call (the rest waits: `pending`;
    raw deflate's held-back start, at most _SNIFF_BYTES + 1, comes out at once when vouched for).

    deflate is tried zlib-wrapped (RFC 1950), then raw (RFC 1951) if that fails before any output.
    Input that fails before any output was not really encoded and passes through unchanged. So does
    input that raw deflate reads but cannot vouch for: a raw stream that ends before the body does,
    or is still unfinished when the body ends, having consumed less than _RAW_VOUCH_BYTES. A stream
    that fails after decoding (corrupt midway, a wrong CRC) ends there (`stopped`), keeping what
    decoded up to the fault. So does a gzip or zlib stream (its checksum verified), or a raw one
    already vouched for, followed by bytes that are not another gzip member; and a body of more
    than MAX_GZIP_MEMBERS members. What decoded is the body; the rest, not in the snapshot, makes it
    truncated. Input never waits across calls except as output-limited `pending` work, so the
    backlog is at most one call's data.
    """

    def __init__(self, coding: str) -> None:
        self._gzip = coding != "deflate"
        self._raw = False  # deflate without the zlib wrapper
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._head: bytearray | None = bytearray()  # the input so far, while nothing vouches for it
        self._held = bytearray()  # raw deflate output, until the stream is vouched for
        self._passing = False
        self.members = 1 if self._gzip else 0
        self.stopped = False

    @property
    def pending(self) -> bool:
        """Input is held back that can yield more output without more data."""
        z = self._zlib
        return not (self._passing or self.stopped) and bool(z.unconsumed_tail or (z.eof and z.unused_data))

    @property
    def backlog(self) -> int:
        """Input bytes held inside the decoder, waiting to be decoded."""
        return len(self._zlib.unconsumed_tail) + len(self._zlib.unused_data)

    @property
    def _sniffing_raw(self) -> bool:
        return self._raw and self._head is not None

    def decode(self, data: bytes, limit: int) -> bytes:
        if self.stopped:
            return b""
        if self._passing:
            return data
        if self._zlib.eof:
            rest = self._zlib.unused_data + data
            if not rest:
                return b""
            if not self._starts_member(rest):
                return self._after_the_end(rest)
            self.members += 1
            if self.members > MAX_GZIP_MEMBERS:
                self.stopped = True
                return b""
            self._zlib, data = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
        if self._head is not None:
            self._head += data
        data = self._zlib.unconsumed_tail + data
        before = self._zlib.copy()
        try:  # a raw stream on probation decodes only what it may hold back
            out = self._zlib.decompress(data, _SNIFF_BYTES + 1 - len(self._held) if self._sniffing_raw else limit)
        except zlib.error:
            return self._failed(before, data, limit)
        if self._sniffing_raw:
            return self._sniff_raw(out)
        if out or (self._head is not None and len(self._head) > _SNIFF_BYTES):
            self._head = None
        if self._zlib.unused_data and not self._starts_member(self._zlib.unused_data):
            self.stopped = True  # the stream checked out: it is the body, and the rest is not in the snapshot
        return out

    def _starts_member(self, rest: bytes) -> bool:
        return self._gzip and _GZIP_MAGIC.startswith(rest[:2])

    def _after_the_end(self, rest: bytes) -> bytes:
        """More data after the end of the stream, starting no gzip member."""
        if self._sniffing_raw:  # it ended with the data before (else it passed through): this is new
            assert self._head is not None
            self._head += rest
            return self._pass_through()  # raw deflate that ends before the body does is not raw deflate
        self.stopped = True  # the stream checked out: it is the body, and the rest is not in the snapshot
        return b""

    def _sniff_raw(self, out: bytes) -> bytes:
        z = self._zlib
        assert self._head is not None
        self._held += out
        if z.eof:
            return self._pass_through() if z.unused_data else b""  # else: vouched for if the body ends here
        if len(self._head) - len(z.unconsumed_tail) > _RAW_VOUCH_BYTES or len(self._held) > _SNIFF_BYTES:
            return self._vouch()
        return b""

    def _vouch(self) -> bytes:
        self._head, out = None, bytes(self._held)
        self._held.clear()
        return out

    def _pass_through(self) -> bytes:
        head, self._head = self._head or bytearray(), None
        self._held.clear()
        self._passing = True  # not really encoded: the bytes as sent are the evidence
        return bytes(head)

    def finish(self) -> bytes:
        """The body ended: deflate not yet vouched for is, if its stream ended here too; else it passes."""
        if self.stopped or self._passing or self._gzip or self._head is None:
            return b""  # (a gzip header vouches for itself: a cut member keeps what decoded, maybe nothing)
        return self._vouch() if self._zlib.eof else self._pass_through()

    def _failed(self, before: zlib._Decompress, data: bytes, limit: int) -> bytes:
        if self._sniffing_raw:
            return self._pass_through()  # what raw deflate made of unvouched bytes is no body
        head, self._head = self._head, None
        salvaged = _salvage(before, data, limit)
        if salvaged or head is None:
            self.stopped = True
            return salvaged
        if not self._gzip:
            self._raw, self._zlib, self._head = True, zlib.decompressobj(-zlib.MAX_WBITS), bytearray()
            return self.decode(bytes(head), limit)
        self._head = head
        return self._pass_through()


def _salvage(decoder: zlib._Decompress, data: bytes, limit: int) -> bytes:
    """The output `data` yields before the fault that failed it in one go (zlib then returns none).

    Found again from the decoder's state before that call: in small steps, then byte by byte
    through the step that failed, so only the fault's own byte is lost.
    """
    out = bytearray()
    failed: tuple[zlib._Decompress, bytes] | None = (decoder, data)
    for step in (_SALVAGE_STEP, 1):
        if failed is None:
            break
        failed = _decode_in_steps(*failed, step=step, out=out, limit=limit)
    return bytes(out)


def _decode_in_steps(decoder: zlib._Decompress, data: bytes, *, step: int, out: bytearray,
                     limit: int) -> tuple[zlib._Decompress, bytes] | None:
    """Decode `data` into `out` `step` bytes at a time: the state and piece a fault stopped at, if any."""
    for i in range(0, len(data), step):
        if len(out) >= limit:
            return None
        piece, before = data[i:i + step], decoder.copy()
        try:
            out += decoder.decompress(decoder.unconsumed_tail + piece, limit - len(out))
        except zlib.error:
            return before, piece
    return None


def content_codings(value: str) -> list[str]:
    """The codings a Content-Encoding value lists, in the order they were applied (identity dropped)."""
    return [c for c in (t.strip().lower() for t in value.split(",")) if c and c != "identity"]


class _BoundedBody:
    """Accumulates a body, undoing its content codings, never holding more than `cap` bytes of output.

    Each decoder hands on at most READ_CHUNK bytes at a time, and no more than still fits (plus one,
    to notice the cap); it is asked again only while the snapshot has room. So a bomb, stacked or
    not, costs at most the cap plus a chunk or two per coding, and MAX_CODINGS bounds the codings.
    `withheld`: the coding cannot be undone, so nothing is kept; raw bytes are counted up to the cap.
    """

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.out = bytearray()
        self.truncated = False
        codings = content_codings(encoding)
        self.withheld = len(codings) > MAX_CODINGS or any(c in _UNDECODABLE for c in codings)
        self._decoders = [] if self.withheld else [_Decoder(c) for c in reversed(codings) if c in _DECODED]
        self._withheld_bytes = 0

    @property
    def full(self) -> bool:
        """Reading more cannot change the snapshot."""
        return self.truncated and (not self.withheld or self._withheld_bytes > self.cap)

    def feed(self, data: bytes) -> None:
        if self.full or not data:
            return
        if self.withheld:
            self._withheld_bytes += len(data)
            self.truncated = True  # bytes arrived that the snapshot does not hold
            return
        self._push(0, data)

    def finish(self) -> None:
        """The body ended (or reading stopped): settle what decoders held back until they knew.

        Even when truncated: a stage after one that stopped may hold raw deflate that ended in time.
        """
        for stage, decoder in enumerate(self._decoders):
            out = decoder.finish()
            if out:
                self._push(stage + 1, out)

    def _push(self, stage: int, data: bytes) -> None:
        if stage == len(self._decoders):
            room = self.cap - len(self.out)
            if len(data) > room:
                self.truncated = True
            self.out += data[:room]
            return
        decoder = self._decoders[stage]
        while True:
            out = decoder.decode(data, min(self.cap - len(self.out) + 1, READ_CHUNK))
            data = b""
            if out:
                self._push(stage + 1, out)
            if decoder.stopped:
                self.truncated = True  # the rest of the body is not in the snapshot
            if self.truncated or not decoder.pending:
                return  # pending work is done now, whatever it yields: input never piles up across feeds


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, url: str, ip: str,
                   port: int, scheme: Literal["http", "https"], host_header: str, target: str,
                   user_agent: str, timeout_s: float, body_cap: int, clock: Clock, sink: ArtifactSink,
                   transaction_id: int = 0) -> HTTPObservation:
    """Send one GET and read the response (headers + capped body). Closes the stream when done."""
    headers = browser_headers(host_header, user_agent)
    request = HTTPRequest(method="GET", url=url, headers=[HTTPHeader(name=k, value=v) for k, v in headers])
    t0 = clock()
    state = _Exchange(body_cap, clock)
    failure: str | None = None
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: no task of its own per step
            await state.run(reader, writer, target, headers)
    except Exception as exc:  # noqa: BLE001 - every failure here is an observation
        failure = failures.classify_exception(exc)
    finally:
        writer.close()
    response = state.response(sink)
    if response is None and failure is None:
        failure = failures.EOF_ERROR
    return HTTPObservation(ip=ip, port=port, scheme=scheme, request=request, response=response, t0=t0,
                           t=clock(), t_response=state.t_response, failure=failure,
                           transaction_id=transaction_id)


class _Exchange:
    def __init__(self, body_cap: int, clock: Clock) -> None:
        self.conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.clock = clock
        self.t_response: float | None = None  # throttling evidence: a hold before the head, a slow body after
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
                self.t_response = self.clock()
                # Several Content-Encoding lines mean the same as one listing them all, in order.
                encoding = ", ".join(v.decode("latin-1") for k, v in event.headers if k == b"content-encoding")
                self.body = _BoundedBody(encoding, self.body_cap)
            elif isinstance(event, h11.Data) and self.body is not None:
                self.body.feed(bytes(event.data))
                if self.body.full:
                    return  # the snapshot is complete: stop reading, do not download the rest
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return

    def response(self, sink: ArtifactSink) -> HTTPResponse | None:
        if self.head is None:
            return None
        if self.body:
            self.body.finish()
        body = bytes(self.body.out) if self.body else b""
        headers = [HTTPHeader(name=k.decode("latin-1"), value=v.decode("latin-1")) for k, v in self.head.headers]
        return HTTPResponse(code=self.head.status_code, headers=headers, body_length=len(body),
                            body_sha256=sink.add("http_body", body) if body else None,
                            body_is_truncated=bool(self.body and self.body.truncated),
                            title=extract_title(body))
