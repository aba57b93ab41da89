"""Scrub the probe's own addresses from a measurement and its HTTP bodies before anything is stored.

An origin (or a blockpage) may echo the requester's address in a header or the body; OONI scrubs it,
and so do we: every occurrence becomes "[scrubbed]". A scrubbed body is a new artifact with a new
hash, and every reference in the measurement is rewritten to it. Certificates and DNS wire bytes are
binary and are left as they are (a textual replace would corrupt them).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable

from probe.failures import SCRUBBED
from probe.models import Artifact, ArtifactRef, Measurement


def _forms(address: str) -> list[str]:
    """Every textual form an address may take: as given, compressed, and for IPv6 exploded."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return [address]
    forms = {address, str(ip)}
    if ip.version == 6:
        forms.add(ip.exploded)
        if ip.ipv4_mapped is not None:
            forms.add(str(ip.ipv4_mapped))
    return sorted(forms, key=len, reverse=True)


def _pattern(addresses: Iterable[str]) -> re.Pattern[str] | None:
    forms = sorted({f for a in addresses if a for f in _forms(a)}, key=len, reverse=True)
    v4 = [re.escape(f) for f in forms if ":" not in f]
    v6 = [re.escape(f) for f in forms if ":" in f]
    # Not part of a longer number: 10.77.1.2 must not match inside 10.77.1.23 or 110.77.1.2, but
    # "ip=10.77.1.2", "ADDR_10.77.1.2" and "10.77.1.2:443" are that address.
    parts = []
    if v4:
        parts.append(r"(?<![\d.])(?:" + "|".join(v4) + r")(?!\d|\.\d)")
    if v6:
        parts.append(r"(?<![0-9a-f:])(?:" + "|".join(v6) + r")(?![0-9a-f:])")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def scrub(measurement: Measurement, artifacts: list[Artifact],
          addresses: Iterable[str]) -> tuple[Measurement, list[Artifact]]:
    pattern = _pattern(addresses)
    if pattern is None:
        return measurement, artifacts
    renamed: dict[str, str] = {}
    out: list[Artifact] = []
    for artifact in artifacts:
        if artifact.kind in ("http_body", "http_headers"):
            text_pattern = re.compile(pattern.pattern.encode("ascii"), re.IGNORECASE)
            data = text_pattern.sub(SCRUBBED.encode("ascii"), artifact.data)
            if data != artifact.data:
                new = Artifact.of(artifact.kind, data)
                renamed[artifact.sha256] = new.sha256
                artifact = new
        out.append(artifact)
    text = pattern.sub(SCRUBBED, measurement.model_dump_json())
    record: dict[str, object] = json.loads(text)
    if renamed:
        sizes = {a.sha256: len(a.data) for a in out}
        record = _rename(record, renamed, sizes)  # type: ignore[assignment]
        record["artifacts"] = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)).model_dump()
                               for a in out]
    return Measurement.model_validate(record), out


def _rename(value: object, renamed: dict[str, str], sizes: dict[str, int]) -> object:
    """Point every reference at the scrubbed artifact; a response's body_length follows its body."""
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_rename(v, renamed, sizes) for v in value]
    if isinstance(value, dict):
        out = {k: _rename(v, renamed, sizes) for k, v in value.items()}
        if value.get("body_sha256") in renamed and "body_length" in out:
            out["body_length"] = sizes[renamed[value["body_sha256"]]]
        return out
    return value
