"""What travels between a probe and the hub: chain links, batches, enrolment, answers.

A chain link is self-describing: its kind ("measurement" today, "verdict" once verdicts are chained),
the canonical record text exactly as hashed, and the hashes and signature that make it checkable with
the same primitives `probe verify` uses (probe.models.canonical, probe.evidence.keys). The hub never
trusts anything else a probe says: `label` is the probe's own unsigned classification, shown as such.
This module only declares shapes; checking them against keys and chains is probe.hub.verify's job.
"""

from __future__ import annotations

from pydantic import Field

from probe.models.base import Frozen
from probe.models.canonical import KEY_FINGERPRINT_PATTERN, SHA256_HEX_PATTERN, SIGNATURE_HEX_PATTERN

KIND_PATTERN = r"^[a-z][a-z_]{0,31}$"
LABEL_PATTERN = r"^[a-z][a-z0-9_.]{0,63}$"
MAX_RECORD_CHARS = 1_048_576  # one record; the batch as a whole is bounded by the hub's max_body
MAX_LINKS = 5000


class ChainLink(Frozen):
    seq: int = Field(ge=1)  # the probe's own order; the hub checks the chain by hashes, not by seq
    kind: str = Field(pattern=KIND_PATTERN)
    record: str = Field(min_length=2, max_length=MAX_RECORD_CHARS)  # canonical JSON text, as hashed
    record_sha256: str = Field(pattern=SHA256_HEX_PATTERN)
    prev_hash: str = Field(pattern=SHA256_HEX_PATTERN)
    chain_hash: str = Field(pattern=SHA256_HEX_PATTERN)
    signature: str = Field(pattern=SIGNATURE_HEX_PATTERN)
    key_fingerprint: str = Field(pattern=KEY_FINGERPRINT_PATTERN)
    label: str | None = Field(default=None, pattern=LABEL_PATTERN)  # unsigned: the probe's verdict label


class UploadBatch(Frozen):
    links: list[ChainLink] = Field(min_length=1, max_length=MAX_LINKS)


class UploadResult(Frozen):
    accepted: int  # links stored now
    duplicates: int  # links the hub already had (a replay or a retry): stored once
    gaps: int  # links whose predecessor the hub has not seen (recorded, shown on the hub)
    clock_ahead: int  # records dated in the hub's future (recorded, accepted: the signature holds)


class JoinRequest(Frozen):
    token: str = Field(min_length=16, max_length=200)
    public_key_pem: str = Field(min_length=40, max_length=2000)


class JoinResult(Frozen):
    name: str
    key_fingerprint: str


class ErrorAnswer(Frozen):
    error: str
