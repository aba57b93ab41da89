"""The HTTP body snapshot undoes content codings (raw and wrapped deflate, stacked codings), stays
within its cap on every path, keeps no bytes it cannot decode, and never raises on hostile input."""

from __future__ import annotations

import asyncio
import gzip
import random
import zlib

import pytest

from probe.models import HTTPResponse
from probe.net.artifacts import ArtifactSink
from probe.net.http import MAX_CODINGS, MAX_GZIP_MEMBERS, _BoundedBody, http_get

PAGE = b"<html><head><title>Access denied</title></head><body>Your address: 203.0.113.7</body></html>"
CAP = 1 << 16


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def snapshot(encoding: str, data: bytes, *, cap: int = CAP, chunk: int = 0) -> _BoundedBody:
    body = _BoundedBody(encoding, cap)
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    for piece in pieces:
        body.feed(piece)
    body.finish()
    return body


ENCODED = [
    ("gzip", gzip.compress(PAGE)),
    ("x-gzip", gzip.compress(PAGE)),
    (" GZip ", gzip.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)),  # RFC 1950, zlib-wrapped
    ("deflate", raw_deflate(PAGE)),  # RFC 1951, as IIS sends it
    ("gzip, gzip", gzip.compress(gzip.compress(PAGE))),
    ("deflate, gzip", gzip.compress(raw_deflate(PAGE))),
    ("gzip,deflate", zlib.compress(gzip.compress(PAGE))),
    ("identity", PAGE),
    ("identity, gzip, identity", gzip.compress(PAGE)),
    ("", PAGE),
    ("utf-8", PAGE),  # not a coding (a charset in the wrong header): the bytes are the body
    ("gzip", gzip.compress(PAGE[:40]) + gzip.compress(PAGE[40:])),  # two gzip members in a row
    ("gzip", PAGE),  # labelled but not really compressed: kept as sent
    ("deflate", PAGE),
    ("gzip, gzip", gzip.compress(PAGE)),  # only one layer really applied
]


@pytest.mark.parametrize("chunk", [0, 1, 7])
@pytest.mark.parametrize(("encoding", "data"), ENCODED)
def test_codings_are_undone_whatever_the_chunking(encoding: str, data: bytes, chunk: int) -> None:
    body = snapshot(encoding, data, chunk=chunk)
    assert bytes(body.out) == PAGE
    assert not body.truncated and not body.withheld and not body.full


def test_codings_are_undone_last_applied_first() -> None:
    # deflate inside gzip, labelled the wrong way round: gzip cannot read a deflate stream, so the
    # outer layer passes through and the bytes stay gzip (no text, but no exception and no lie).
    body = snapshot("gzip, deflate", gzip.compress(raw_deflate(PAGE)))
    assert bytes(body.out) != PAGE and b"203.0.113.7" not in body.out


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br", "br, gzip", "aes128gcm"])
def test_a_coding_the_probe_cannot_undo_keeps_no_bytes_and_says_so(encoding: str) -> None:
    body = snapshot(encoding, b"\x1b\x57\x00\xf8\xa5\x07" + PAGE)
    assert body.withheld and body.out == b"" and body.truncated
    assert not body.full  # still reading (bounded), as for any body
    body.feed(b"\0" * (CAP + 1))
    assert body.full and body.out == b""


def test_an_empty_body_in_an_undecodable_coding_is_not_truncated() -> None:
    body = snapshot("br", b"")
    assert body.withheld and body.out == b"" and not body.truncated


def test_too_many_stacked_codings_are_withheld() -> None:
    data = PAGE
    for _ in range(MAX_CODINGS + 1):
        data = gzip.compress(data)
    assert bytes(snapshot(", ".join(["gzip"] * MAX_CODINGS), gzip.compress(gzip.compress(PAGE))).out) == PAGE
    body = snapshot(", ".join(["gzip"] * (MAX_CODINGS + 1)), data)
    assert body.withheld and body.out == b"" and body.truncated


# Plain text often reads as the start of a raw deflate stream (most of these did, decoding to garbage
# and ending early); "XGood" even passes the zlib header check.
PLAIN = [b'{"ip":"203.0.113.7"}', b"success", b"Sorry, blocked", b"203.0.113.7\n", b"{}", b"x",
         b'{"origin": "203.0.113.7"}\n', b"XGood morning", b"hC hello", b"Forbidden"]


@pytest.mark.parametrize("chunk", [0, 1, 7])
@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_labelled_deflate_is_kept_as_sent(text: bytes, chunk: int) -> None:
    for encoding, data in [("deflate", text), ("deflate, gzip", gzip.compress(text))]:
        body = snapshot(encoding, data, chunk=chunk)
        assert bytes(body.out) == text and not body.truncated


@pytest.mark.parametrize("chunk", [0, 1, 7])
@pytest.mark.parametrize("text", PLAIN)
def test_raw_deflate_that_ends_with_the_body_is_decoded(text: bytes, chunk: int) -> None:
    assert bytes(snapshot("deflate", raw_deflate(text), chunk=chunk).out) == text


@pytest.mark.parametrize("data", [
    raw_deflate(PAGE) + b"\r\n",  # the stream ends before the body does
    raw_deflate(PAGE)[:-3],  # the body ends before the stream does, too soon to vouch for it
    raw_deflate(b"success") + b"success",
])
@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_raw_deflate_that_does_not_end_with_the_body_is_kept_as_sent(data: bytes, chunk: int) -> None:
    body = snapshot("deflate", data, chunk=chunk)
    assert bytes(body.out) == data and not body.truncated


@pytest.mark.parametrize(("encoding", "data"), [
    ("gzip", gzip.compress(PAGE) + b"\r\n\0junk"),
    ("gzip", gzip.compress(PAGE) + b"<html>injected</html>"),
    ("deflate", zlib.compress(PAGE) + b"\r\n"),
    ("deflate, gzip", gzip.compress(raw_deflate(PAGE)) + b"junk"),  # the inner raw stream ended in time
])
@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_bytes_after_a_checked_stream_leave_it_the_body_marked_truncated(encoding: str, data: bytes,
                                                                         chunk: int) -> None:
    # The CRC or Adler-32 vouches for the page; what follows it is not in the snapshot, and says so.
    body = snapshot(encoding, data, chunk=chunk)
    assert bytes(body.out) == PAGE and body.truncated and body.full


def test_many_empty_gzip_members_are_decoded_as_they_arrive() -> None:
    empty = gzip.compress(b"")
    data = empty * (MAX_GZIP_MEMBERS - 1) + gzip.compress(PAGE)
    body = _BoundedBody("gzip", CAP)
    decoder = body._decoders[0]
    fed = 0
    for i in range(0, len(data), 4096):  # many members per feed, one cut across each boundary
        body.feed(data[i:i + 4096])
        fed = i + len(data[i:i + 4096])
        # Every member that arrived is decoded in the same feed: no input waits for the next one, so
        # each byte is copied within one feed only (no backlog growing with the body, no quadratic work).
        assert decoder.backlog == 0
        assert decoder.members == min(max(1, -(-fed // len(empty))), MAX_GZIP_MEMBERS)  # begun so far
    body.finish()
    assert bytes(body.out) == PAGE and not body.truncated and decoder.members == MAX_GZIP_MEMBERS


def test_too_many_gzip_members_stop_decoding_and_reading() -> None:
    chunk = gzip.compress(b"") * (65536 // 20)
    body = _BoundedBody("gzip", CAP)
    decoder = body._decoders[0]
    for _ in range(800):  # 50 MiB of empty members
        body.feed(chunk)
        if body.full:
            break
    assert body.full and body.truncated and body.out == b""
    assert decoder.members == MAX_GZIP_MEMBERS + 1 and decoder.backlog <= len(chunk)


BOMB = b"\0" * (8 << 20)


@pytest.mark.parametrize(("encoding", "data"), [
    ("gzip", gzip.compress(BOMB)),
    ("deflate", raw_deflate(BOMB)),
    ("deflate", zlib.compress(BOMB)),
    ("gzip, gzip", gzip.compress(gzip.compress(BOMB))),
    ("deflate, gzip, deflate", zlib.compress(gzip.compress(raw_deflate(BOMB)))),
    ("identity", BOMB),
])
@pytest.mark.parametrize("cap", [1, 1000, CAP, 3 * CAP + 5])
def test_bombs_stop_at_the_cap(encoding: str, data: bytes, cap: int) -> None:
    body = snapshot(encoding, data, cap=cap, chunk=65536)
    assert len(body.out) == cap and body.truncated and body.full
    assert bytes(body.out) == BOMB[:cap]


def test_a_bomb_costs_no_more_memory_than_the_cap_and_a_few_chunks() -> None:
    import tracemalloc

    data = gzip.compress(gzip.compress(b"\0" * (64 << 20)))
    tracemalloc.start()
    try:
        body = snapshot("gzip, gzip", data, cap=CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body.truncated and len(body.out) == CAP
    assert peak < CAP + 2 * MAX_CODINGS * 65536 + (1 << 20)


def test_exactly_the_cap_is_not_truncated() -> None:
    body = snapshot("gzip", gzip.compress(PAGE), cap=len(PAGE))
    assert bytes(body.out) == PAGE and not body.truncated


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, gzip"])
def test_a_cut_stream_keeps_what_decoded(encoding: str) -> None:
    big = random.Random(2).randbytes(20000).hex().encode()  # output grows with the input read
    full = raw_deflate(big) if encoding == "deflate" else gzip.compress(big)
    if encoding == "gzip, gzip":
        full = gzip.compress(full)
    body = snapshot(encoding, full[: len(full) // 2], chunk=100)
    assert big.startswith(bytes(body.out)) and len(body.out) >= len(big) // 4 and not body.truncated


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15), ("deflate", -15)])
def test_corruption_midway_keeps_the_decoded_start_and_no_compressed_bytes(encoding: str, wbits: int) -> None:
    start = random.Random(1).randbytes(20000).hex().encode()
    c = zlib.compressobj(wbits=wbits)
    # Flushed to a byte boundary, then a block of the reserved type 3: undecodable from there on.
    data = c.compress(start) + c.flush(zlib.Z_FULL_FLUSH) + b"\x07" + gzip.compress(PAGE)
    body = snapshot(encoding, data, chunk=512)
    assert bytes(body.out) == start and body.truncated and body.full


@pytest.mark.parametrize(("encoding", "data"), [
    ("gzip", gzip.compress(PAGE)[:-8] + b"\0\0\0\0" + gzip.compress(PAGE)[-4:]),  # wrong CRC-32
    ("gzip", gzip.compress(PAGE)[:-4] + b"\0\0\0\0"),  # wrong length
    ("deflate", zlib.compress(PAGE)[:-4] + b"\0\0\0\0"),  # wrong Adler-32
])
@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_a_failed_integrity_check_keeps_the_decoded_page(encoding: str, data: bytes, chunk: int) -> None:
    # A middlebox that edits a compressed page may leave the old trailer: the page is the evidence.
    body = snapshot(encoding, data, chunk=chunk)
    assert bytes(body.out) == PAGE and body.truncated and body.full


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, deflate", "deflate, gzip, gzip", "br", "zzz"])
def test_hostile_bytes_never_raise_and_stay_within_the_cap(encoding: str) -> None:
    rng = random.Random(encoding)
    seeds = [gzip.compress(PAGE * 50), zlib.compress(PAGE * 50), raw_deflate(PAGE * 50), PAGE]
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(0, 5)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
        body = snapshot(encoding, bytes(data[: rng.randint(0, len(data))]), cap=1000, chunk=rng.randint(1, 64))
        assert len(body.out) <= 1000


RESPONSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: deflate\r\n"
                 b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n")


async def _fetch(payload: bytes) -> tuple[bytes | None, HTTPResponse]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink = ArtifactSink()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        obs = await http_get(reader, writer, url=f"http://127.0.0.1:{port}/", ip="127.0.0.1", port=port,
                             scheme="http", host_header="example.org", target="/", user_agent="test",
                             timeout_s=5.0, body_cap=CAP, clock=lambda: 0.0, sink=sink)
    finally:
        server.close()
        await server.wait_closed()
    assert obs.response is not None
    sha = obs.response.body_sha256
    return (sink.get(sha) if sha else None), obs.response


def test_several_content_encoding_lines_are_one_list_in_order() -> None:
    body, response = asyncio.run(_fetch(RESPONSE_HEAD + gzip.compress(raw_deflate(PAGE))))
    assert body == PAGE
    assert response.title == "Access denied" and not response.body_is_truncated


def test_a_plain_text_body_labelled_deflate_is_kept_as_sent() -> None:
    head = RESPONSE_HEAD.replace(b"Content-Encoding: deflate\r\nContent-Encoding: gzip", b"Content-Encoding: deflate")
    body, response = asyncio.run(_fetch(head.replace(b"text/html", b"application/json") + b'{"ip":"203.0.113.7"}'))
    assert body == b'{"ip":"203.0.113.7"}' and not response.body_is_truncated


def test_a_br_body_is_recorded_as_not_kept() -> None:
    head = RESPONSE_HEAD.replace(b"Content-Encoding: deflate\r\nContent-Encoding: gzip", b"Content-Encoding: br")
    body, response = asyncio.run(_fetch(head + b"\x1b\x57\x00\xf8\xa5\x07compressed"))
    assert body is None
    assert response.header("content-encoding") == "br"
    assert response.body_length == 0 and response.body_is_truncated
