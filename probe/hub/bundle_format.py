"""The hub bundle's names and fixed texts, shared by its writer (probe.hub.export) and checker
(probe.hub.bundle_verify) so the two cannot drift apart. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from probe.hub.bundle_report import HubMeta, ProbeClaim

FORMAT = "probe-hub-bundle/1"
FIXED_MEMBERS = ("probes.json", "README.txt", "VERIFY.txt", "report.html")
README = """A bundle of censorship measurements collected by a probe hub from several probes.

probes.json lists each probe: its Ed25519 public key, that key's fingerprint, and the name and
revocation date the hub gives it (the hub's claim: only the key is proven by the signatures).
links/<fingerprint>.jsonl holds that probe's chain links in order, one JSON object a line:
  record         the measurement or verdict record, canonical JSON (sorted keys, UTF-8, no spaces)
  record_sha256  SHA-256 of the record's bytes
  prev_hash      the chain hash of the probe's previous link (64 zeros for its first)
  chain_hash     SHA-256 of the ASCII text prev_hash + record_sha256
  signature      Ed25519 signature, by the probe's key, of the chain_hash's ASCII text
report.html and VERIFY.txt are computed from those links alone.
Check it offline with `probe verify BUNDLE`, or by hand: for one line,
  printf '%s' "$record" | sha256sum; printf '%s%s' PREV REC | sha256sum
A break in a probe's chain (a link whose prev_hash is not the line before's chain_hash) means the
bundle holds a segment, not the whole chain: filters select, they never change a link.
"""


def member_name(key_fingerprint: str) -> str:
    return f"links/{key_fingerprint.removeprefix('ed25519:')}.jsonl"


def meta_from(*, created: str, software_version: str, filters: Mapping[str, Any],
              probes: list[dict[str, Any]]) -> HubMeta:
    """The report's inputs besides the links: the manifest's and probes.json's words."""
    claims = {str(p.get("key_fingerprint")):
              ProbeClaim(name=str(p.get("name", "")), revoked_at=str(p["revoked_at"]) if p.get("revoked_at") else None)
              for p in probes if isinstance(p, dict)}
    return HubMeta(created=created, software_version=software_version,
                   filters=tuple((str(k), str(v)) for k, v in sorted(filters.items())), claims=claims)
