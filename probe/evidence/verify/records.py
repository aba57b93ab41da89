"""What a chain link's record must say, beyond its hash and signature: the checks shared by the store
and bundle verifiers for verdict, key and run records (`probe.models.chain`).

A verdict record must be about a measurement that came before it, bound to that measurement's
record hash; a key record must be signed by the key it introduces and count the unsigned links
before it truly; a link's record must be of the kind its row or manifest entry says. Each problem is
a finding naming the link; nothing here raises on a hostile record.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.models.chain import KeyRecord, Link, RunRecord, VerdictRecord, parse_record

# The (seq, record hash) of a measurement the verifier holds, or None.
MeasurementLookup = Callable[[str], tuple[int, str] | None]


def link_label(link: Link) -> str:
    """How a person finds a link: what it is, what it is about, its seq."""
    if link.kind == "measurement":
        return measurement_label(link.subject or "?", link.seq)
    if link.kind == "verdict":
        return f"verdict for measurement {link.subject} (seq {link.seq})"
    if link.kind == "run":
        return f"run record for {link.subject} (seq {link.seq})"
    if link.kind == "key":
        return f"key record (seq {link.seq})"
    return f"{link.kind!r} link (seq {link.seq})"


class RecordCheck:
    """Checks the records of the links it is shown, in chain order."""

    def __init__(self, lookup: MeasurementLookup, result: VerifyResult, *, whole_chain: bool = True) -> None:
        self._lookup = lookup
        self._r = result
        self._whole = whole_chain  # a selection (a bundle) cannot count the unsigned links before a key record
        self.unsigned = 0
        self.first_record_seq: int | None = None  # the first verdict, key or run link: chaining them began there
        self.verdicts: dict[str, tuple[int, VerdictRecord]] = {}  # only when asked to keep them (a bundle)
        self.keep_verdicts = False

    def check(self, link: Link) -> VerdictRecord | KeyRecord | RunRecord | None:
        signed = bool(link.signature)
        try:
            if link.kind == "measurement":
                return None
            if self.first_record_seq is None:
                self.first_record_seq = link.seq
            return self._check_record(link)
        finally:
            if not signed:
                self.unsigned += 1

    def _check_record(self, link: Link) -> VerdictRecord | KeyRecord | RunRecord | None:
        where = link_label(link)
        try:
            record = parse_record(link.record)
        except ValidationError as exc:
            self._r.fail(where, f"its record is not a verdict, key or run record ({exc.errors()[0]['msg']})")
            return None
        if record.kind != link.kind:
            self._r.fail(where, f"its record is a {record.kind} record, not a {link.kind} record: the link was altered")
            return None
        if isinstance(record, VerdictRecord):
            self._verdict(link, record, where)
        elif isinstance(record, KeyRecord):
            self._key(link, record, where)
        elif record.run_id != link.subject:
            self._r.fail(where, f"its record is about run {record.run_id}: the link was altered")
        return record

    def _verdict(self, link: Link, record: VerdictRecord, where: str) -> None:
        if record.measurement_id != link.subject:
            self._r.fail(where, f"its record is about measurement {record.measurement_id}: the link was altered")
            return
        found = self._lookup(record.measurement_id)
        if found is None:
            self._r.fail(where, "is about a measurement that is not here: removed, or the verdict was added")
            return
        seq, sha = found
        if sha != record.measurement_sha256:
            self._r.fail(where, f"is bound to a record of measurement {record.measurement_id} that is not the one "
                                f"here (record hash {record.measurement_sha256[:16]}…, here {sha[:16]}…)")
            return
        if seq >= link.seq:
            self._r.fail(where, f"comes before the measurement it judges (seq {seq}): the chain was reordered")
            return
        self._r.checked["verdicts bound to their measurement"] += 1
        if self.keep_verdicts:
            self.verdicts[record.measurement_id] = (link.seq, record)

    def _key(self, link: Link, record: KeyRecord, where: str) -> None:
        if link.subject != record.key_fingerprint:
            self._r.fail(where, f"its record introduces key {record.key_fingerprint}: the link was altered")
        if not link.signature or link.key_fingerprint != record.key_fingerprint:
            self._r.fail(where, f"introduces key {record.key_fingerprint} but is not signed by it")
        if self._whole and record.unsigned_links_before != self.unsigned:
            self._r.fail(where, f"says {record.unsigned_links_before} unsigned link(s) came before it, but "
                                f"{self.unsigned} did: links before it were added or removed")
