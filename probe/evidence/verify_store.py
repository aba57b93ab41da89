"""`probe verify --store`: check the local store's chain, record hashes, signatures and artifacts.

Streams the whole chain in order (memory does not grow with the store). A pruned artifact is
reported as pruned (retention did that on purpose), never as tampering; an artifact whose bytes no
longer hash to its name, or that a record cites but the store never had, is a failure. What this
cannot see: measurements cut off from the *end* of the chain; compare the head with a bundle's
`chain.store_head_seq`/`store_head_hash`, which a signed manifest pins.

A store edited by hand never makes this raise: a hash column that is not lowercase hex, a column
that is not UTF-8, an artifact row of the wrong type are each a failure naming where they are (a row
the store cannot decode ends the stream there, and says so).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from probe.evidence.keys import fingerprint
from probe.evidence.manifest import referenced_artifacts
from probe.evidence.verify_chain import LinkChecker
from probe.evidence.verify_result import VerifyResult, measurement_label
from probe.models import Measurement
from probe.models.artifacts import ArtifactKind
from probe.models.canonical import sha256_hex
from probe.store import Store, StoredEntry


def verify_store(store: Store, *, public_key: Ed25519PublicKey | None) -> VerifyResult:
    result = VerifyResult(subject=str(store.path))
    fp = fingerprint(public_key) if public_key is not None else None
    result.key_fingerprint = fp
    checker = LinkChecker(result, public_key, fp, whole_chain=True)
    artifacts = _ArtifactCheck(store, result)
    for entry in _entries(store, result):
        where = measurement_label(entry.measurement_id, entry.seq)
        if sha256_hex(entry.record.encode("utf-8")) != entry.record_sha256:
            result.fail(where, "its stored record no longer hashes to its record_sha256: the record was changed")
        else:
            result.checked["measurement records"] += 1
        checker.check(measurement_id=entry.measurement_id, seq=entry.seq, record_sha256=entry.record_sha256,
                      prev_hash=entry.prev_hash, link_hash=entry.chain_hash, signature=entry.signature,
                      key_fingerprint=entry.key_fingerprint)
        record = _parse(entry, result)
        if record is not None:
            artifacts.check(entry, referenced_artifacts(record))
    checker.summarize("chain")
    if public_key is None and result.checked["chain links"]:
        result.warn("signatures", "no key here to check them with (run `probe init`, or pass --key)")
    artifacts.summarize()
    if not result.checked["measurement records"] and result.ok:
        result.note("store", "the store holds no measurement yet")
    return result


def _entries(store: Store, result: VerifyResult) -> Iterator[StoredEntry]:
    # A row that no longer decodes stops the stream (sqlite cannot skip it): the store was edited by hand.
    # Rows are fetched in batches, so where it stopped is a count, not the bad row's seq.
    count = 0
    try:
        for entry in store.entries():
            count += 1
            yield entry
    except ValidationError as exc:
        result.fail("store", f"a stored verdict does not parse ({exc.errors()[0]['msg']}): the store was edited; "
                             f"checking stopped there, after {count} measurement(s)")
    except (sqlite3.Error, ValueError, TypeError) as exc:
        result.fail("store", f"a measurement row cannot be read ({exc}): the store was edited or damaged; "
                             f"checking stopped there, after {count} measurement(s)")


def _parse(entry: StoredEntry, result: VerifyResult) -> Measurement | None:
    where = measurement_label(entry.measurement_id, entry.seq)
    try:
        record = entry.measurement()
    except ValidationError as exc:
        result.fail(where, f"its record does not parse ({exc.errors()[0]['msg']})")
        return None
    if record.measurement_id != entry.measurement_id:
        result.fail(where, f"its record's own id is {record.measurement_id}: the row was changed")
    _check_columns(entry, record, result)
    return record


def _check_columns(entry: StoredEntry, record: Measurement, result: VerifyResult) -> None:
    """The indexed columns (what results, export and report filter on) must say what the signed record says.

    They are copies made when the measurement was stored; only the record is hashed and signed, so a
    column edited by hand would silently change what a selection holds.
    """
    where = measurement_label(entry.measurement_id, entry.seq)
    expected: dict[str, str | None] = {
        "input": record.input, "host": _host(record.input), "test_start_time": record.test_start_time,
        "probe_asn": record.network.probe_asn, "probe_cc": record.network.probe_cc,
        "category_code": record.category_code,
    }
    ok = True
    for column, value in expected.items():
        stored = getattr(entry, column)
        if stored != value:
            result.fail(where, f"its {column} column says {stored!r} but its signed record says {value!r}: "
                               "the row was changed (filters on that column select the wrong measurements)")
            ok = False
    if ok:
        result.checked["measurement index rows"] += 1


def _host(url: str) -> str:
    """The host column as the store derives it: the lower-cased host name of the input."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class _ArtifactCheck:
    def __init__(self, store: Store, result: VerifyResult) -> None:
        self._store = store
        self._r = result
        self._seen: set[str] = set()
        self.pruned = 0

    def check(self, entry: StoredEntry, cited: dict[str, ArtifactKind]) -> None:
        for sha, kind in cited.items():
            if sha in self._seen:
                continue
            self._seen.add(sha)
            try:
                # One SELECT: a prune committing between two reads would look like bytes deleted by hand.
                row = self._store.artifact_row(sha)
            except (sqlite3.Error, ValueError, TypeError) as exc:
                self._r.fail(f"artifact {sha[:16]}… ({kind})", f"its row cannot be read ({exc}): the store was "
                                                               "edited or damaged")
                continue
            if row is None:
                self._r.fail(measurement_label(entry.measurement_id, entry.seq),
                             f"cites a {kind} artifact {sha[:16]}… that is not in the store")
                continue
            _, _, pruned_at, data = row
            if data is None and pruned_at is None:
                # Retention records when it deletes; bytes gone without that record were deleted by hand.
                self._r.fail(f"artifact {sha[:16]}… ({kind})",
                             f"its bytes are missing but retention never pruned it (first cited by "
                             f"{measurement_label(entry.measurement_id, entry.seq)}): deleted or damaged")
            elif data is None:
                self.pruned += 1
            elif sha256_hex(data) != sha:
                self._r.fail(f"artifact {sha[:16]}… ({kind})",
                             f"its bytes no longer hash to its name: changed or damaged (first cited by "
                             f"{measurement_label(entry.measurement_id, entry.seq)})")
            else:
                self._r.checked["artifacts"] += 1

    def summarize(self) -> None:
        if self.pruned:
            self._r.note("artifacts", f"{self.pruned} artifact(s) were pruned by retention (not tampering): "
                                      "the records keep their hashes")
