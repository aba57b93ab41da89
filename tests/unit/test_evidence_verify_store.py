"""`verify_store`: the local chain, record hashes, signatures and artifacts; pruning is not tampering.

Tampering goes around the store's append-only triggers with plain SQL, as an attacker with the
file would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from evidence_samples import sample_set

from probe.evidence.keys import generate_key, load_signer
from probe.evidence.verify.result import VerifyResult
from probe.evidence.verify.store import verify_store
from probe.store import Store, StoredEntry


def _make(tmp_path: Path, *, signed: bool = True) -> tuple[Path, Ed25519PublicKey]:
    key = generate_key(tmp_path / "k")
    signer = load_signer(tmp_path / "k") if signed else None
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        for m, a, v in sample_set(2):
            store.append(m, a, v, signer=signer)
    return path, key.public_key()


def _nth(path: Path, n: int) -> StoredEntry:
    """The n-th measurement (from 1): its seq counts the verdict and key links before it too."""
    with Store.open(path) as store:
        return list(store.entries())[n - 1]


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _verify(path: Path, key: Ed25519PublicKey | None) -> VerifyResult:
    with Store.open(path) as store:
        return verify_store(store, public_key=key)


def _fails(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


def test_a_clean_store_verifies(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    result = _verify(path, key)
    assert result.ok, _fails(result)
    assert result.checked["measurement signatures"] == 12 and result.checked["artifacts"] == 9
    assert result.checked["verdict signatures"] == 12 and result.checked["verdict index rows"] == 12


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    third = _nth(path, 3)
    _sql(path, f"UPDATE measurements SET record = replace(record, '10.77.3.', '10.77.9.') WHERE seq = {third.seq}")
    text = _fails(_verify(path, key))
    assert f"measurement {third.measurement_id} (seq {third.seq}): its stored record no longer hashes" in text


def test_a_deleted_measurement_breaks_the_link_after_it(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    fifth = _nth(path, 5)
    _sql(path, f"DELETE FROM verdicts WHERE measurement_id = '{fifth.measurement_id}'",
         f"DELETE FROM measurements WHERE seq = {fifth.seq}")
    text = _fails(_verify(path, key))
    assert f"(seq {fifth.seq + 1}): does not link to seq {fifth.seq - 1} before it: a link (measurement, verdict " \
           "or record) was removed" in text
    assert f"verdict for measurement {fifth.measurement_id} (seq {fifth.seq + 1}): is about a measurement that " \
           "is not here" in text


def test_deleting_the_first_measurements_is_caught(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    second = _nth(path, 2)
    _sql(path, "DELETE FROM verdicts", f"DELETE FROM measurements WHERE seq <= {second.seq + 1}",
         f"DELETE FROM chain_records WHERE seq <= {second.seq + 1}")
    assert f"(seq {second.seq + 2}): the first link of the chain must have a prev_hash of 64 zeros" in _fails(
        _verify(path, key))


def test_a_rewritten_link_is_caught_by_its_signature(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    # An attacker who recomputes record hash and chain hashes still cannot sign them.
    from probe.models.canonical import chain_hash, sha256_hex

    with Store.open(path) as store:
        entries = list(store.entries())
    record = entries[0].record.replace("selftanu.kz", "example.kz")
    rec_sha = sha256_hex(record.encode())
    link = chain_hash(entries[0].prev_hash, rec_sha)
    first = entries[0].seq
    _sql(path, f"UPDATE measurements SET record = '{record}', record_sha256 = '{rec_sha}', chain_hash = '{link}' "
               f"WHERE seq = {first}", f"UPDATE chain_records SET prev_hash = '{link}' WHERE seq = {first + 1}")
    text = _fails(_verify(path, key))
    assert f"(seq {first}): its signature does not match its chain hash" in text


def test_a_changed_artifact_is_tampering_but_a_pruned_one_is_not(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    with Store.open(path) as store:
        assert store.prune_artifacts(older_than="9999") == 9
    pruned = _verify(path, key)
    assert pruned.ok, _fails(pruned)
    assert any("pruned by retention (not tampering)" in str(f) for f in pruned.findings)

    path2, key2 = _make(tmp_path / "b")
    _sql(path2, "UPDATE artifacts SET data = X'00' WHERE kind = 'dns_wire'")
    assert "its bytes no longer hash to its name" in _fails(_verify(path2, key2))


def test_bytes_deleted_without_retention_are_tampering(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    _sql(path, "UPDATE artifacts SET data = NULL WHERE kind = 'http_body'")  # pruned_at stays NULL
    text = _fails(_verify(path, key))
    assert "its bytes are missing but retention never pruned it" in text, text


class _DaemonPrunesAfterEveryRead(Store):
    """A store whose every artifact read is followed by a prune the daemon commits on its own connection."""

    daemon: Store | None = None

    def _prune(self) -> None:
        assert self.daemon is not None
        self.daemon.prune_artifacts(older_than="9999")

    def artifact(self, sha256: str) -> bytes | None:
        found = super().artifact(sha256)
        self._prune()
        return found

    def artifact_info(self, sha256: str) -> tuple[str, int, str | None] | None:
        found = super().artifact_info(sha256)
        self._prune()
        return found

    def artifact_row(self, sha256: str) -> tuple[str, int, str | None, bytes | None] | None:
        found = super().artifact_row(sha256)
        self._prune()
        return found


def test_a_prune_committed_while_verifying_is_not_tampering(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    with _DaemonPrunesAfterEveryRead.open(path, create=False) as store, Store.open(path) as daemon:
        store.daemon = daemon
        result = verify_store(store, public_key=key)
    assert result.ok, _fails(result)
    assert any("pruned by retention (not tampering)" in str(f) for f in result.findings)
    assert result.checked["artifacts"] == 1  # read before the first prune; every later one was pruned


def test_an_artifact_the_store_never_had_is_named(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    _sql(path, "DELETE FROM artifacts WHERE kind = 'dns_wire'")
    assert "cites a dns_wire artifact" in _fails(_verify(path, key))


def test_unsigned_or_foreign_signatures_are_warnings(tmp_path: Path) -> None:
    path, key = _make(tmp_path, signed=False)
    # Checked with the probe's key, a store none of whose links it signed fails (test_verify_store_honesty);
    # without a key there is nothing to check with, and that is what it says.
    unsigned = _verify(path, None)
    assert unsigned.ok and any("none of its 24 link(s) carries a signature" in str(f) for f in unsigned.findings)
    assert not _verify(path, key).ok
    path2, _ = _make(tmp_path / "b")
    other = _verify(path2, Ed25519PrivateKey.generate().public_key())
    assert not other.ok and any("could not be checked" in str(f) for f in other.findings)
    assert "none of its 25 links is signed by this probe's key" in _fails(other)
    nokey = _verify(path2, None)
    assert nokey.ok and any(f.where == "signatures" for f in nokey.findings)


@pytest.mark.parametrize("rounds", [0])
def test_an_empty_store_is_fine(tmp_path: Path, rounds: int) -> None:
    result = _verify(tmp_path / "empty.sqlite", None)
    assert result.ok and any("no measurement yet" in str(f) for f in result.findings)


def _rewrite_tail(path: Path, first_seq: int, *, signer: object = None) -> str:
    """What an attacker with the file can do: change every record from `first_seq` on and recompute
    record hashes and chain links, leaving those links unsigned (or signed by `signer`, their key).
    Returns the measurement id at `first_seq`."""
    from probe.models.canonical import chain_hash, sha256_hex

    with Store.open(path) as store:
        links = list(store.links())
    statements = []
    prev = next(e.chain_hash for e in links if e.seq == first_seq - 1)
    for e in links:
        if e.seq < first_seq:
            continue
        record = e.record.replace("10.77.", "10.78.")
        rec_sha = sha256_hex(record.encode())
        link = chain_hash(prev, rec_sha)
        sig, fp = signer(link) if callable(signer) else (None, None)
        signature = f"'{sig}'" if sig else "NULL"
        key_fp = f"'{fp}'" if fp else "NULL"
        table = "measurements" if e.kind == "measurement" else "chain_records"
        escaped = record.replace("'", "''")
        statements.append(f"UPDATE {table} SET record = '{escaped}', record_sha256 = '{rec_sha}', "
                          f"prev_hash = '{prev}', chain_hash = '{link}', signature = {signature}, "
                          f"key_fingerprint = {key_fp} WHERE seq = {e.seq}")
        prev = link
    _sql(path, *statements)
    return next(str(e.subject) for e in links if e.seq == first_seq)


def test_a_rewritten_tail_with_its_signatures_dropped_fails(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    eighth = _nth(path, 8).seq
    victim = _rewrite_tail(path, eighth)
    result = _verify(path, key)
    text = _fails(result)
    assert f"measurement {victim} (seq {eighth}): signature missing after signed measurements began" in text
    assert "(seq 25): signature missing after signed measurements began" in text
    assert f"(seq {eighth - 1})" not in text
    # Without the public key to check with, dropped signatures after signed ones still fail.
    assert f"measurement {victim} (seq {eighth}): signature missing after signed measurements began" in _fails(
        _verify(path, None))


def test_a_tail_re_signed_by_another_key_fails(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    generate_key(tmp_path / "attacker")
    tenth = _nth(path, 10).seq
    victim = _rewrite_tail(path, tenth, signer=load_signer(tmp_path / "attacker"))
    text = _fails(_verify(path, key))
    assert f"measurement {victim} (seq {tenth}): signature missing after signed measurements began: signed by " \
           "ed25519:" in text


def test_unsigned_measurements_before_the_key_existed_are_still_a_warning(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    path = tmp_path / "s.sqlite"
    samples = sample_set(2)
    with Store.open(path) as store:
        for i, (m, a, v) in enumerate(samples):
            store.append(m, a, v, signer=load_signer(tmp_path / "k") if i >= 5 else None)
    result = _verify(path, key.public_key())
    assert result.ok, _fails(result)
    assert result.checked["measurement signatures"] == 7
    # Five measurements and their verdicts, then the key record that covers them by its signature.
    assert result.checked["key signatures"] == 1
    assert any("10 link(s) (seq 1-10) carry no signature: they come before the first signed link (seq 11)" in
               str(f) for f in result.findings), [str(f) for f in result.findings]
    assert not any("before a key existed" in str(f) for f in result.findings)


def test_a_replaced_key_is_checked_with_the_newer_key(tmp_path: Path) -> None:
    old = generate_key(tmp_path / "old")
    new = generate_key(tmp_path / "new")
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        for i, (m, a, v) in enumerate(sample_set(2)):
            store.append(m, a, v, signer=load_signer(tmp_path / ("old" if i < 6 else "new")))
    newer = _verify(path, new.public_key())
    # The old key signed its key record and six measurements with their verdicts.
    assert newer.ok and any("13 signature(s) by" in str(f) for f in newer.findings), _fails(newer)
    # Checked with the old key, the newer links (from the new key's record, seq 14) come after signed
    # ones: the rule cannot tell them from a forged tail, and the message says what to do.
    assert "key record (seq 14): signature missing after signed measurements began" in _fails(
        _verify(path, old.public_key()))


@pytest.mark.parametrize(("column", "value"), [
    ("input", "https://example.org/"), ("host", "example.org"), ("test_start_time", "2020-01-01T00:00:00Z"),
    ("probe_asn", "AS1"), ("probe_cc", "US"), ("category_code", "XXX")])
def test_an_edited_index_column_is_named(tmp_path: Path, column: str, value: str) -> None:
    path, key = _make(tmp_path)
    fourth = _nth(path, 4)
    _sql(path, f"UPDATE measurements SET {column} = '{value}' WHERE seq = {fourth.seq}")
    result = _verify(path, key)
    text = _fails(result)
    assert f"measurement {fourth.measurement_id} (seq {fourth.seq}): its {column} column says '{value}' but its " \
           "signed record says" in text
    assert len(result.failures) == 1, text


def test_a_cleared_category_and_the_clean_columns(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    assert _verify(path, key).checked["measurement index rows"] == 12
    _sql(path, "UPDATE measurements SET category_code = NULL WHERE category_code IS NOT NULL AND seq = "
               "(SELECT MIN(seq) FROM measurements WHERE category_code IS NOT NULL)")
    assert "its category_code column says None but its signed record says" in _fails(_verify(path, key))


def test_the_host_column_is_the_lower_cased_host_of_the_input(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    first = _nth(path, 1)
    _sql(path, f"UPDATE measurements SET host = '{first.host.upper()}' WHERE seq = {first.seq}")
    assert f"(seq {first.seq}): its host column says '{first.host.upper()}' but its signed record says " \
           f"'{first.host}'" in _fails(_verify(path, key))




@pytest.mark.parametrize(("column", "value"), [
    ("prev_hash", "'" + "é" * 64 + "'"), ("chain_hash", "upper(chain_hash)"), ("record_sha256", "X'00ff'"),
    ("signature", "'zz'"), ("key_fingerprint", "'ed25519:é'")])
def test_a_malformed_hash_column_is_a_failure_not_a_crash(tmp_path: Path, column: str, value: str) -> None:
    path, key = _make(tmp_path)
    third = _nth(path, 3)
    _sql(path, f"UPDATE measurements SET {column} = {value} WHERE seq = {third.seq}")
    text = _fails(_verify(path, key))
    assert f"measurement {third.measurement_id} (seq {third.seq}): its {column} is not lowercase hex of the right " \
           "length" in text, text


@pytest.mark.parametrize("column", ["prev_hash", "record", "run_id"])
def test_a_column_that_is_not_utf8_stops_the_check_with_a_failure(tmp_path: Path, column: str) -> None:
    path, key = _make(tmp_path)
    _sql(path, f"UPDATE measurements SET {column} = CAST(X'7bff7d' AS TEXT) WHERE seq = {_nth(path, 3).seq}")
    result = _verify(path, key)
    assert "store: a measurement row cannot be read (Could not decode to UTF-8" in _fails(result)
    assert "checking stopped there" in _fails(result)


@pytest.mark.parametrize("edit", ["UPDATE artifacts SET size = 'abc'", "UPDATE artifacts SET data = 'text'"])
def test_an_artifact_row_of_the_wrong_type_is_named(tmp_path: Path, edit: str) -> None:
    path, key = _make(tmp_path)
    _sql(path, edit)
    assert "its row cannot be read" in _fails(_verify(path, key))


def test_a_deeply_nested_verdict_is_a_failure(tmp_path: Path) -> None:
    path, key = _make(tmp_path)
    _sql(path, "UPDATE verdicts SET verdict = '" + "[" * 100_000 + "'")
    assert "store: a stored verdict does not parse (Invalid JSON: recursion limit" in _fails(_verify(path, key))
