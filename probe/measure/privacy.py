"""Scrub the probe's own addresses from a measurement and its HTTP bodies before anything is stored.

An origin (or a blockpage) may echo the requester's address in a header or the body; OONI scrubs it,
and so do we: every occurrence, in any spelling (`probe.addresses`: dashed, zero-padded, escaped,
UTF-16, reverse DNS, a whole number...), becomes "[scrubbed]". The addresses are those this run
learned and those earlier runs did (an `AddressMemory`). A scrubbed body is a new artifact with a
new hash, and every reference in the measurement is rewritten to it. In the measurement only text
values are scrubbed: its numbers (sizes, ports, times) are never rewritten, even one that reads as
the address. Certificates and DNS wire bytes are binary and are left as they are (a textual
replace would corrupt them).
"""

from __future__ import annotations

from collections.abc import Iterable

from probe.addresses import IPAddress, Predicate, parse, replace, replace_bytes
from probe.failures import SCRUBBED
from probe.measure.sink import AddressMemory
from probe.models import Artifact, ArtifactRef, Measurement


def own_address_predicate(addresses: Iterable[str], memory: AddressMemory | None = None) -> Predicate | None:
    """Says yes to the probe's own addresses: those given, and those `memory` remembers from earlier
    runs; None when there is nothing to look for."""
    known = {ip for ip in (parse(a) for a in addresses if a) if ip is not None}
    if not known and (memory is None or not len(memory)):
        return None
    return lambda ip: ip in known or (memory is not None and memory.knows(ip))


def target_addresses(measurement: Measurement) -> set[IPAddress]:
    """The addresses the measurement is about: DNS answers and the endpoints the probe and the control
    contacted. Never the probe's own, so never scrubbed: a helper that wrongly (or hostilely) reports
    a site's address as ours must not erase the evidence of where that site resolved."""
    texts: list[str] = [a for q in measurement.queries for a in q.addresses()]
    texts += [a.ipv4 or a.ipv6 or "" for q in measurement.queries for r in q.late_replies for a in r.answers]
    texts += [o.ip for o in measurement.tcp_connect] + [o.ip for o in measurement.tls_handshakes]
    texts += [o.ip for o in measurement.requests]
    if measurement.control is not None:
        texts += measurement.control.dns.addresses + [e.ip for e in measurement.control.endpoints]
    return {ip for ip in (parse(t) for t in texts if t) if ip is not None}


def scrub(measurement: Measurement, artifacts: list[Artifact], addresses: Iterable[str],
          memory: AddressMemory | None = None) -> tuple[Measurement, list[Artifact]]:
    own = own_address_predicate(addresses, memory)
    if own is None:
        return measurement, artifacts
    targets = target_addresses(measurement)

    def wanted(ip: IPAddress) -> bool:
        return ip not in targets and own(ip)

    renamed: dict[str, str] = {}
    out: list[Artifact] = []
    for artifact in artifacts:
        if artifact.kind in ("http_body", "http_headers", "registry_answer"):  # a WHOIS may echo the asker
            data = replace_bytes(artifact.data, SCRUBBED.encode("ascii"), wanted)
            if data != artifact.data:
                new = Artifact.of(artifact.kind, data)
                renamed[artifact.sha256] = new.sha256
                artifact = new
        out.append(artifact)
    original = measurement.model_dump(mode="json")
    record: dict[str, object] = _scrub_text(original, wanted)  # type: ignore[assignment]
    if record == original and not renamed:
        return measurement, out
    if renamed:
        sizes = {a.sha256: len(a.data) for a in out}
        record = _rename(record, renamed, sizes)  # type: ignore[assignment]
        record["artifacts"] = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)).model_dump()
                               for a in out]
    return Measurement.model_validate(record), out


def _scrub_text(value: object, wanted: Predicate) -> object:
    """Every string in the record scrubbed; numbers, booleans and keys as they were."""
    if isinstance(value, str):
        return replace(value, SCRUBBED, wanted)
    if isinstance(value, list):
        return [_scrub_text(v, wanted) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_text(v, wanted) for k, v in value.items()}
    return value


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
        if value.get("raw_sha256") in renamed and "raw_length" in out:  # a registry's answer
            out["raw_length"] = sizes[renamed[value["raw_sha256"]]]
        return out
    return value
