"""`probe verify --store`: check the local store's chain, records, signatures, verdicts, runs and artifacts.

Streams the whole chain in order (memory does not grow with the store): every link of every kind
(measurements, verdicts, key and run records; `probe.models.chain`) must hash, link and be signed
as `verify_chain` requires. Then each measurement: its indexed columns against its record, the
artifacts it cites, and its row in the verdicts index against its latest verdict record. Then each
run's row against its latest run record. A pruned artifact is reported as pruned (retention did that
on purpose), never as tampering.

What this says it cannot see: links cut off from the *end* of the chain by someone who also lowers
SQLite's sequence counter (compare the head with a bundle's `chain.store_head_seq`, or the hub's
copy); who stored links older than the first signed one; rows outside the chain (a run still in
progress, runs closed before runs were chained, verdicts made before verdicts were chained).

A store edited by hand never makes this raise: a hash column that is not lowercase hex, a column
that is not UTF-8, an artifact row of the wrong type are each a failure naming where they are (a row
the store cannot decode ends the stream there, and says so).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from probe.evidence.bundle.manifest import referenced_artifacts
from probe.evidence.keys import fingerprint
from probe.evidence.verify.chain import LinkChecker
from probe.evidence.verify.records import RecordCheck, link_label
from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.evidence.verify.store_rows import ArtifactCheck, VerdictIndexCheck, check_columns, check_runs
from probe.i18n import _
from probe.models import Measurement
from probe.models.canonical import sha256_hex
from probe.models.chain import Link
from probe.store import Store, StoredEntry


def verify_store_file(path: Path, *, public_key: Ed25519PublicKey | None) -> VerifyResult:
    """Check the store at `path`; a file truncated to nothing is a failure, and is never written into."""
    if path.is_file() and path.stat().st_size == 0:
        result = VerifyResult(subject=str(path))
        result.fail(_("store"), _("the store file is 0 bytes: it was truncated (a store the probe wrote always "
                                   "holds at least its schema); nothing in it can be checked, and it was left as it "
                                   "is"))
        return result
    with Store.open(path, create=False) as store:
        return verify_store(store, public_key=public_key)


def verify_store(store: Store, *, public_key: Ed25519PublicKey | None) -> VerifyResult:
    result = VerifyResult(subject=str(store.path))
    fp = fingerprint(public_key) if public_key is not None else None
    result.key_fingerprint = fp
    checker = LinkChecker(result, public_key, fp, whole_chain=True)
    records = RecordCheck(store.measurement_hash, result)
    head = 0
    for link in _links(store, result):
        head = link.seq
        where = link_label(link)
        if sha256_hex(link.record.encode("utf-8")) != link.record_sha256:
            result.fail(where, _("its stored record no longer hashes to its record_sha256: the record was changed"))
        else:
            result.checked[f"{link.kind} records"] += 1
        checker.check(measurement_id=link.subject or "?", seq=link.seq, record_sha256=link.record_sha256,
                      prev_hash=link.prev_hash, link_hash=link.chain_hash, signature=link.signature,
                      key_fingerprint=link.key_fingerprint, kind=link.kind, where=where)
        records.check(link)
    checker.summarize(_("chain"))
    if public_key is None and checker.links:
        result.warn(_("signatures"), _("no key here to check them with (run `probe init`, or pass --key)"))
    artifacts = ArtifactCheck(store, result)
    verdicts = VerdictIndexCheck(store, result)
    for entry in _entries(store, result):
        record = _parse(entry, result)
        if record is not None:
            artifacts.check(entry, referenced_artifacts(record))
        verdicts.check(entry, records.first_record_seq)
    artifacts.summarize()
    verdicts.summarize()
    check_runs(store, result)
    _check_emptied(store, head, result)
    return result


def _links(store: Store, result: VerifyResult) -> Iterator[Link]:
    count = 0
    try:
        for link in store.links():
            count += 1
            yield link
    except (sqlite3.Error, ValueError, TypeError) as exc:
        result.fail(_("store"), _("a link row cannot be read ({problem}): the store was edited or damaged; "
                                   "checking the chain stopped there, after {count} link(s)").format(problem=exc,
                                                                                                  count=count))


def _entries(store: Store, result: VerifyResult) -> Iterator[StoredEntry]:
    # A row that no longer decodes stops the stream (sqlite cannot skip it): the store was edited by hand.
    # Rows are fetched in batches, so where it stopped is a count, not the bad row's seq.
    count = 0
    try:
        for entry in store.entries():
            count += 1
            yield entry
    except ValidationError as exc:
        result.fail(_("store"), _("a stored verdict does not parse ({problem}): the store was edited; checking "
                                   "stopped there, after {count} measurement(s)").format(
                                       problem=exc.errors()[0]["msg"], count=count))
    except (sqlite3.Error, ValueError, TypeError) as exc:
        result.fail(_("store"), _("a measurement row cannot be read ({problem}): the store was edited or damaged; "
                                   "checking stopped there, after {count} measurement(s)").format(problem=exc,
                                                                                                 count=count))


def _parse(entry: StoredEntry, result: VerifyResult) -> Measurement | None:
    where = measurement_label(entry.measurement_id, entry.seq)
    try:
        record = entry.measurement()
    except ValidationError as exc:
        result.fail(where, _("its record does not parse ({problem})").format(problem=exc.errors()[0]["msg"]))
        return None
    if record.measurement_id != entry.measurement_id:
        result.fail(where, _("its record's own id is {id}: the row was changed").format(id=record.measurement_id))
    check_columns(entry, record, result)
    return record


def _check_emptied(store: Store, head: int, result: VerifyResult) -> None:
    """Deletions the store itself still shows, and a plain statement of the ones it cannot."""
    left = store.leftovers()
    if left["sequence"] > head:
        what = _("all its links were deleted") if head == 0 else \
            _("the newest links (seq {first}-{last}) were deleted").format(first=head + 1, last=left["sequence"])
        result.fail(_("store"), _("SQLite's sequence counter shows links up to seq {last}, but the chain ends at "
                                  "seq {head}: {what}").format(last=left["sequence"], head=head, what=what))
    if head == 0:
        held = [f"{n} {table}" for table, n in left.items() if table != "sequence" and n]
        if held:
            result.fail(_("store"), _("it holds no link but still holds {rows} rows: its measurements were "
                                       "deleted").format(rows=", ".join(held)))
        elif result.ok:
            result.note(_("store"), _("the store holds no measurement yet (a store emptied with care looks the same: "
                                       "only a copy elsewhere, a bundle or the hub, can show it once held more)"))
        return
    top_hash = store.head()[1]
    result.note(_("chain"), _("the chain ends at seq {head} ({sha}…): deleting the newest links (and lowering "
                               "the sequence counter) cannot be seen from the store alone; compare this head with "
                               "a bundle's store_head or the hub's copy of this probe's chain").format(
                                   head=head, sha=top_hash[:16]))
