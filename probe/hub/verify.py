"""Checks of one uploaded batch before anything is stored: hashes, signatures, record schema.

Pure: no database, no clock (the caller passes `now`). Uses the primitives `probe verify` uses
(probe.models.canonical for the hashes, Ed25519 over the chain hash with the enrolled public key),
so a link the hub accepts is one an advocate's offline check accepts too. Whether a link fits the
probe's chain on the hub (duplicate, gap, fork) needs the stored links: probe.hub.db decides that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from pydantic import ValidationError

from probe.hub.wire import ChainLink
from probe.models.canonical import chain_hash, sha256_hex
from probe.models.measurement import Measurement


class BatchRejected(Exception):
    """The batch is refused as a whole; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class CheckedLink:
    """A link whose hashes and signature hold, with the fields the hub indexes."""

    link: ChainLink
    measurement_id: str | None = None
    input: str | None = None
    host: str | None = None
    probe_asn: str | None = None
    probe_cc: str | None = None
    test_start_time: str | None = None
    verdict_label: str | None = None  # from a signed verdict link: the label it carries
    clock_ahead: bool = False


def check_batch(links: list[ChainLink], *, public_key: Ed25519PublicKey, key_fingerprint: str,
                now: datetime, clock_tolerance_s: float) -> list[CheckedLink]:
    """Every link checked, or BatchRejected naming the first that fails (nothing is stored then)."""
    raw_key = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    checked = []
    for link in links:
        if link.key_fingerprint != key_fingerprint:
            raise BatchRejected(f"link {link.seq} is signed by {link.key_fingerprint}, not by the batch's key",
                                status=422)
        if sha256_hex(link.record.encode("utf-8")) != link.record_sha256:
            raise BatchRejected(f"link {link.seq}: record_sha256 does not match the record", status=422)
        if chain_hash(link.prev_hash, link.record_sha256) != link.chain_hash:
            raise BatchRejected(f"link {link.seq}: chain_hash is not SHA-256(prev_hash + record_sha256)",
                                status=422)
        try:
            # libsodium's Ed25519 check: the same RFC 8032 verification as `probe verify` (OpenSSL), at
            # about half the CPU, and stricter (small-order keys, non-canonical encodings refused), so
            # whatever the hub accepts verifies offline too. It is the hub's main cost per link.
            crypto_sign_open(bytes.fromhex(link.signature) + link.chain_hash.encode("ascii"), raw_key)
        except BadSignatureError:
            raise BatchRejected(f"link {link.seq}: the signature is not by key {key_fingerprint}",
                                status=422) from None
        checked.append(_fields(link, now=now, clock_tolerance_s=clock_tolerance_s))
    return checked


def _fields(link: ChainLink, *, now: datetime, clock_tolerance_s: float) -> CheckedLink:
    if link.kind == "measurement":
        try:
            m = Measurement.model_validate_json(link.record)  # parse and check in one pass (pydantic-core)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BatchRejected(f"link {link.seq}: not a measurement record: {where + ': ' if where else ''}"
                                f"{first['msg']}", status=400) from None
        return CheckedLink(link=link, measurement_id=m.measurement_id, input=m.input,
                           host=(urlsplit(m.input).hostname or "").lower(), probe_asn=m.network.probe_asn,
                           probe_cc=m.network.probe_cc, test_start_time=m.test_start_time,
                           clock_ahead=_ahead(m.test_start_time, now, clock_tolerance_s))
    try:
        record = json.loads(link.record)
    except ValueError:
        raise BatchRejected(f"link {link.seq}: the record is not JSON", status=400) from None
    if not isinstance(record, dict):
        raise BatchRejected(f"link {link.seq}: the record is not a JSON object", status=400)
    # Another kind (a chained verdict): stored as signed; its label counts where it names one.
    mid, label = record.get("measurement_id"), record.get("label")
    if label is None and isinstance(record.get("verdict"), dict):
        label = record["verdict"].get("label")
    return CheckedLink(link=link, measurement_id=mid if isinstance(mid, str) else None,
                       verdict_label=label if isinstance(label, str) and len(label) <= 64 else None)


def _ahead(stamp: str, now: datetime, tolerance_s: float) -> bool:
    """Dated later than the hub's clock allows: the probe's clock is wrong (the record is still kept)."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return (when - now).total_seconds() > tolerance_s
