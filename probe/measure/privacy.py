"""Scrub the probe's own addresses from a measurement and its HTTP bodies before anything is stored.

An origin (or a blockpage) may echo the requester's address in a header or the body; OONI scrubs it,
and so do we: every occurrence becomes "[scrubbed]". A scrubbed body is a new artifact with a new
hash, and every reference in the measurement is rewritten to it. Certificates and DNS wire bytes are
binary and are left as they are (a textual replace would corrupt them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from probe.failures import SCRUBBED
from probe.models import Artifact, ArtifactRef, Measurement


def _pattern(addresses: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({a for a in addresses if a}, key=len, reverse=True)
    v4 = [re.escape(a) for a in alts if ":" not in a]
    v6 = [re.escape(a) for a in alts if ":" in a]
    # Not part of a longer address: 10.77.1.2 must not match inside 10.77.1.23 or 110.77.1.2
    # (but "10.77.1.2:443" is that address with a port).
    parts = []
    if v4:
        parts.append(r"(?<![\w.])(?:" + "|".join(v4) + r")(?!\w|\.\d)")
    if v6:
        parts.append(r"(?<![\w:])(?:" + "|".join(v6) + r")(?![\w:])")
    return re.compile("|".join(parts)) if parts else None


def scrub(measurement: Measurement, artifacts: list[Artifact],
          addresses: Iterable[str]) -> tuple[Measurement, list[Artifact]]:
    pattern = _pattern(addresses)
    if pattern is None:
        return measurement, artifacts
    renamed: dict[str, str] = {}
    out: list[Artifact] = []
    for artifact in artifacts:
        if artifact.kind in ("http_body", "http_headers"):
            text_pattern = re.compile(pattern.pattern.encode("ascii"))
            data = text_pattern.sub(SCRUBBED.encode("ascii"), artifact.data)
            if data != artifact.data:
                new = Artifact.of(artifact.kind, data)
                renamed[artifact.sha256] = new.sha256
                artifact = new
        out.append(artifact)
    text = pattern.sub(SCRUBBED, measurement.model_dump_json())
    record: dict[str, object] = json.loads(text)
    if renamed:
        record = _rename(record, renamed)  # type: ignore[assignment]
        record["artifacts"] = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)).model_dump()
                               for a in out]
    return Measurement.model_validate(record), out


def _rename(value: object, renamed: dict[str, str]) -> object:
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_rename(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, renamed) for k, v in value.items()}
    return value
