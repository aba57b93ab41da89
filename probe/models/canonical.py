"""Canonical JSON and the hashes built on it: the one definition every writer and verifier shares.

Canonical JSON = sorted keys, UTF-8 (no ASCII escaping), no insignificant whitespace. The hash of a
measurement is SHA-256 over those bytes; a chain link is SHA-256 over `prev_hash + record_sha256`
(both lowercase hex, ASCII), so it can be checked by hand with `printf '%s%s' PREV REC | sha256sum`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chain_hash(prev_hash: str, record_sha256: str) -> str:
    return sha256_hex((prev_hash + record_sha256).encode("ascii"))
