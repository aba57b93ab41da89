"""HTTP exchanges of one measurement as a WARC file (warcio), and reading their bodies back.

The WARC is a view for archive tools (replay, pywb, grep); the evidence is the signed record plus
the body bytes. We keep the body *after* decompression (that is what the probe hashed), so a
`Content-Encoding` or `Transfer-Encoding` header is renamed `X-Probe-Original-…` and
`Content-Length` set to the body we hold; otherwise archive tools would try to decode it again.
The original headers are unchanged in the record. Each response carries `Probe-Body-SHA256` (hex,
the hash the record cites) so a verifier can tie a payload to a measurement without guessing.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http import HTTPStatus

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from probe.models import HTTPHeader, HTTPObservation, Measurement

# Headers that describe an encoding of the body we no longer have.
_ENCODING_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
MEASUREMENT_ID_HEADER = "Probe-Measurement-ID"
BODY_SHA256_HEADER = "Probe-Body-SHA256"

BodyLookup = Callable[[str], bytes | None]


def write_warc(measurement: Measurement, body_of: BodyLookup) -> tuple[bytes, list[str]]:
    """The WARC bytes for every request of `measurement`, and the body hashes it includes."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="1.1")
    included: list[str] = []
    start = _parse_time(measurement.test_start_time)
    for hop in measurement.requests:
        date = _warc_date(start, hop.t0)
        common = {"WARC-Date": date, MEASUREMENT_ID_HEADER: measurement.measurement_id,
                  "WARC-IP-Address": hop.ip}
        writer.write_record(_request_record(writer, hop, common))
        if hop.response is None:
            continue  # the failure is in the record; nothing came back to archive
        body_sha = hop.response.body_sha256
        body = body_of(body_sha) if body_sha else None
        writer.write_record(_response_record(writer, hop, common, body))
        if body is not None and body_sha:
            included.append(body_sha)
    return out.getvalue(), included


def _request_record(writer: WARCWriter, hop: HTTPObservation, common: dict[str, str]) -> object:
    path = hop.request.url.split("/", 3)[3] if hop.request.url.count("/") >= 3 else ""
    status = f"{hop.request.method} /{path} HTTP/1.1"
    headers = StatusAndHeaders(status, _pairs(hop.request.headers), is_http_request=True)
    return writer.create_warc_record(hop.request.url, "request", payload=io.BytesIO(b""), length=0,
                                     http_headers=headers, warc_headers_dict=dict(common))


def _response_record(writer: WARCWriter, hop: HTTPObservation, common: dict[str, str],
                     body: bytes | None) -> object:
    assert hop.response is not None
    response = hop.response
    pairs = [(f"X-Probe-Original-{n}" if n.lower() in _ENCODING_HEADERS else n, v)
             for n, v in _pairs(response.headers)]
    payload = body if body is not None else b""
    pairs.append(("Content-Length", str(len(payload))))
    status = f"{response.code} {_reason(response.code)}"
    headers = StatusAndHeaders(status, pairs, protocol="HTTP/1.1")
    extra = dict(common)
    if body is not None and response.body_sha256:
        extra[BODY_SHA256_HEADER] = response.body_sha256
        extra["WARC-Payload-Digest"] = "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode()
        if response.body_is_truncated:
            extra["WARC-Truncated"] = "length"  # the probe capped the body it kept
    else:
        # The body was pruned from the store before export (or never kept): headers only.
        extra["WARC-Truncated"] = "unspecified"
    return writer.create_warc_record(hop.request.url, "response", payload=io.BytesIO(payload),
                                     length=len(payload), http_headers=headers, warc_headers_dict=extra)


def response_bodies(data: bytes) -> Iterator[tuple[str, str, str]]:
    """(measurement id, claimed body SHA-256, actual payload SHA-256) for each response with a body.

    Raises ValueError when the WARC cannot be parsed (damaged or not a WARC).
    """
    try:
        for record in ArchiveIterator(io.BytesIO(data), arc2warc=False, check_digests=False):
            if record.rec_type != "response":
                continue
            claimed = record.rec_headers.get_header(BODY_SHA256_HEADER)
            payload = record.raw_stream.read()
            if claimed:
                mid = record.rec_headers.get_header(MEASUREMENT_ID_HEADER) or ""
                yield mid, claimed, hashlib.sha256(payload).hexdigest()
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - warcio raises many kinds on damaged input
        raise ValueError(f"not a readable WARC file ({type(exc).__name__}: {exc})") from exc


def _pairs(headers: list[HTTPHeader]) -> list[tuple[str, str]]:
    return [(h.name, h.value) for h in headers]


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def _parse_time(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None


def _warc_date(start: datetime | None, t0: float) -> str:
    # The exchange happened t0 seconds after the measurement started; WARC-Date says so.
    if start is None:
        return "1970-01-01T00:00:00Z"
    when = start + timedelta(seconds=max(t0, 0.0))
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
