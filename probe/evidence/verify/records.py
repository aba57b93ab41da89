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
from probe.i18n import N_, _
from probe.models.chain import KeyRecord, Link, RunRecord, VerdictRecord, parse_record

# The (seq, record hash) of a measurement the verifier holds, or None.
MeasurementLookup = Callable[[str], tuple[int, str] | None]


def link_label(link: Link) -> str:
    """How a person finds a link: what it is, what it is about, its seq."""
    if link.kind == "measurement":
        return measurement_label(link.subject or "?", link.seq)
    if link.kind == "verdict":
        return _("verdict for measurement {id} (seq {seq})").format(id=link.subject, seq=link.seq)
    if link.kind == "run":
        return _("run record for {id} (seq {seq})").format(id=link.subject, seq=link.seq)
    if link.kind == "key":
        return _("key record (seq {seq})").format(seq=link.seq)
    return _("{kind} link (seq {seq})").format(kind=repr(link.kind), seq=link.seq)


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
            self._r.fail(where, _("its record is not a verdict, key or run record ({problem})").format(
                problem=exc.errors()[0]["msg"]))
            return None
        if record.kind != link.kind:
            self._r.fail(where, _("its record is a {kind} record, not a {expected} record: the link was "
                                  "altered").format(kind=record.kind, expected=link.kind))
            return None
        if isinstance(record, VerdictRecord):
            self._verdict(link, record, where)
        elif isinstance(record, KeyRecord):
            self._key(link, record, where)
        elif record.run_id != link.subject:
            self._r.fail(where, _("its record is about run {id}: the link was altered").format(id=record.run_id))
        return record

    def _verdict(self, link: Link, record: VerdictRecord, where: str) -> None:
        if record.measurement_id != link.subject:
            self._r.fail(where, _("its record is about measurement {id}: the link was altered").format(
                id=record.measurement_id))
            return
        found = self._lookup(record.measurement_id)
        if found is None:
            self._r.fail(where, _("is about a measurement that is not here: removed, or the verdict was added"))
            return
        seq, sha = found
        if sha != record.measurement_sha256:
            self._r.fail(where, _("is bound to a record of measurement {id} that is not the one here (record hash "
                                  "{sha}…, here {here}…)").format(id=record.measurement_id,
                                                                  sha=record.measurement_sha256[:16], here=sha[:16]))
            return
        if seq >= link.seq:
            self._r.fail(where, _("comes before the measurement it judges (seq {seq}): the chain was reordered").format(
                seq=seq))
            return
        self._r.checked[N_("verdicts bound to their measurement")] += 1
        if self.keep_verdicts:
            self.verdicts[record.measurement_id] = (link.seq, record)

    def _key(self, link: Link, record: KeyRecord, where: str) -> None:
        if link.subject != record.key_fingerprint:
            self._r.fail(where, _("its record introduces key {fingerprint}: the link was altered").format(
                fingerprint=record.key_fingerprint))
        if not link.signature or link.key_fingerprint != record.key_fingerprint:
            self._r.fail(where, _("introduces key {fingerprint} but is not signed by it").format(
                fingerprint=record.key_fingerprint))
        if self._whole and record.unsigned_links_before != self.unsigned:
            self._r.fail(where, _("says {count} unsigned link(s) came before it, but {seen} did: links before it were "
                                  "added or removed").format(count=record.unsigned_links_before, seen=self.unsigned))
