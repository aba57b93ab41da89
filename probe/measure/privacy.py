"""Scrub the probe's own addresses from a measurement and its HTTP bodies before anything is stored.

An origin (or a blockpage) may echo the requester's address in a header or the body; OONI scrubs it,
and so do we: every occurrence, in any spelling (`probe.addresses`: dashed, zero-padded, escaped,
UTF-16, reverse DNS, a whole number...), becomes "[scrubbed]". The addresses are those this run
learned and those earlier runs did (an `AddressMemory`). A scrubbed body is a new artifact with a
new hash, and every reference in the measurement is rewritten to it. In the measurement only text
values are scrubbed: its numbers (sizes, ports, times) are never rewritten, even one that reads as
the address. Certificates and DNS wire bytes are binary and are left as they are (a textual
replace would corrupt them). `scrub_dumped` also hands back the measurement's JSON form it walked, so
the store need not dump the same record a second time.
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
    scrubbed, out, _ = scrub_dumped(measurement, artifacts, addresses, memory)
    return scrubbed, out


def scrub_dumped(measurement: Measurement, artifacts: list[Artifact], addresses: Iterable[str],
                 memory: AddressMemory | None = None) -> tuple[Measurement, list[Artifact], dict[str, object]]:
    """As `scrub`, and the scrubbed measurement's `model_dump(mode="json")` (fresh: the caller's to keep)."""
    own = own_address_predicate(addresses, memory)
    if own is None:
        return measurement, artifacts, measurement.model_dump(mode="json")
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
    if record is original and not renamed:
        return measurement, out, original
    if renamed:
        sizes = {a.sha256: len(a.data) for a in out}
        record = _rename(record, renamed, sizes)  # type: ignore[assignment]
        record["artifacts"] = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)).model_dump()
                               for a in out]
    scrubbed = Measurement.model_validate(record)
    # Rare (an address was found): the stored form is the validated model's own dump, as it always was.
    return scrubbed, out, scrubbed.model_dump(mode="json")


def _scrub_text(value: object, wanted: Predicate) -> object:
    """Every string in the record scrubbed; numbers, booleans and keys as they were. What holds
    nothing to scrub is returned as the very same object (so `is` tells a change), and each distinct
    string is read once (a record repeats its addresses, header values and failure strings)."""
    same: set[str] = set()  # strings read that hold nothing to scrub (nearly all)
    scrubbed: dict[str, str] = {}  # the others, and what they became

    def text(item: str) -> str:
        if item in same:
            return item
        out = scrubbed.get(item)
        if out is None:
            out = replace(item, SCRUBBED, wanted)
            if out == item:
                same.add(item)
                return item
            scrubbed[item] = out
        return out

    def walk(item: object) -> object:
        # Numbers, booleans and None are never rewritten (model_dump(mode="json") makes nothing but
        # them, strings, lists and dicts). The loops test a value's type before calling anything:
        # a record has ~230 values, most of them leaves, and a call per leaf was most of the cost.
        kind = type(item)
        if kind is str:
            return text(item)  # type: ignore[arg-type]
        if kind is dict:
            changed: dict[str, object] | None = None
            for key, value in item.items():  # type: ignore[attr-defined]
                kind = type(value)
                new: object
                if kind is str:
                    if value in same:
                        continue
                    new = text(value)
                elif kind is dict or kind is list:
                    new = walk(value)
                else:
                    continue
                if new is not value:
                    if changed is None:
                        changed = dict(item)  # type: ignore[call-overload]
                    changed[key] = new
            return item if changed is None else changed
        if kind is list:
            items: list[object] = item  # type: ignore[assignment]
            news = [walk(value) for value in items]
            return item if all(a is b for a, b in zip(news, items, strict=True)) else news
        return item

    return walk(value)


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
