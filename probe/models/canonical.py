"""Canonical JSON and the hashes built on it: the one definition every writer and verifier shares.

Canonical JSON = sorted keys, UTF-8 (no ASCII escaping), no insignificant whitespace. The hash of a
measurement is SHA-256 over those bytes; a chain link is SHA-256 over `prev_hash + record_sha256`
(both lowercase hex, ASCII), so it can be checked by hand with `printf '%s%s' PREV REC | sha256sum`.
`is_sha256_hex`, `is_signature_hex` and `is_key_fingerprint` say whether a value read from a file
or a store is spelled as the writers spell it; what to do when one is not is the verifiers' business.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

GENESIS_HASH = "0" * 64
SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"  # a SHA-256 as every writer here spells it
SIGNATURE_HEX_PATTERN = r"^[0-9a-f]{128}$"  # a 64-byte Ed25519 signature, hex
KEY_FINGERPRINT_PATTERN = r"^ed25519:[0-9a-f]{64}$"  # "ed25519:" + SHA-256 of the raw public key
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SIGNATURE_HEX = re.compile(r"[0-9a-f]{128}")
_KEY_FINGERPRINT = re.compile(r"ed25519:[0-9a-f]{64}")


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256_hex(value: object) -> bool:
    """64 lowercase hex digits, nothing else (no newline, no other script's digits)."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def is_signature_hex(value: object) -> bool:
    """128 lowercase hex digits: an Ed25519 signature as the store and the manifest hold it."""
    return isinstance(value, str) and _SIGNATURE_HEX.fullmatch(value) is not None


def is_key_fingerprint(value: object) -> bool:
    """"ed25519:" and 64 lowercase hex digits, as `probe key show` prints a key's fingerprint."""
    return isinstance(value, str) and _KEY_FINGERPRINT.fullmatch(value) is not None


def chain_hash(prev_hash: str, record_sha256: str) -> str:
    """SHA-256 over the two hex digests; ValueError if either is not one (check input first)."""
    if not (is_sha256_hex(prev_hash) and is_sha256_hex(record_sha256)):
        raise ValueError("a chain link joins two SHA-256 hex digests (64 lowercase hex digits each)")
    return sha256_hex((prev_hash + record_sha256).encode("ascii"))
