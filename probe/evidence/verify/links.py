"""Check a run of chain links on their own: one function over `Link`s, for anyone who holds links
without a store or a bundle around them (the hub ingesting a probe's uploads, a test).

Each link's record must hash to its record_sha256, links must join as `verify_chain` requires and be
signed by the expected key once signing began, and each verdict, key or run record must be what
`verify_records` requires (a verdict about a measurement among the links before it, bound to that
measurement's record hash). A batch that continues a chain checked earlier passes
`whole_chain=False` (then its first link is not held to genesis, and a key record's count of the
unsigned links before it is not checked); joining the batch to the earlier head is the caller's.
Memory grows with the measurements in the batch (their record hashes, for the verdicts after them).
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from probe.evidence.keys import fingerprint
from probe.evidence.verify.chain import LinkChecker
from probe.evidence.verify.records import MeasurementLookup, RecordCheck, link_label
from probe.evidence.verify.result import VerifyResult
from probe.i18n import _
from probe.models.canonical import sha256_hex
from probe.models.chain import Link


def check_links(links: Iterable[Link], *, public_key: Ed25519PublicKey | None, subject: str = "links",
                whole_chain: bool = True, earlier: MeasurementLookup | None = None) -> VerifyResult:
    """Every problem with `links` (in seq order) as findings; `whole_chain`: they start at seq 1, no gaps.

    `earlier` finds (seq, record hash) of a measurement stored before the batch, for its verdicts in it.
    """
    result = VerifyResult(subject=subject)
    fp = fingerprint(public_key) if public_key is not None else None
    result.key_fingerprint = fp
    checker = LinkChecker(result, public_key, fp, whole_chain=whole_chain)
    measurements: dict[str, tuple[int, str]] = {}

    def lookup(measurement_id: str) -> tuple[int, str] | None:
        found = measurements.get(measurement_id)
        return found if found is not None or earlier is None else earlier(measurement_id)

    records = RecordCheck(lookup, result, whole_chain=whole_chain)
    for link in links:
        where = link_label(link)
        if sha256_hex(link.record.encode("utf-8")) != link.record_sha256:
            result.fail(where, _("its record does not hash to its record_sha256: the record was changed"))
        checker.check(measurement_id=link.subject or "?", seq=link.seq, record_sha256=link.record_sha256,
                      prev_hash=link.prev_hash, link_hash=link.chain_hash, signature=link.signature,
                      key_fingerprint=link.key_fingerprint, kind=link.kind, where=where)
        if link.kind == "measurement" and link.subject:
            measurements[link.subject] = (link.seq, link.record_sha256)
        records.check(link)
    checker.summarize(_("chain"))
    return result
