"""Bundles made from synthetic measurements in a real store verify; every kind of tampering is named.

Tampering is done to a copy of the zip: a flipped byte in each file at several offsets, a deleted
measurement line, a removed file, a foreign signature, a truncated zip, and (re-signed with the
probe's own key, to get past the manifest signature) a broken chain link, a hidden gap and a
swapped artifact, which the deeper checks must still catch.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set

from probe.errors import EvidenceError
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.bundle.manifest import referenced_artifacts
from probe.evidence.keys import fingerprint, generate_key, load_signer
from probe.evidence.verify.bundle import verify_bundle
from probe.evidence.verify.result import VerifyResult
from probe.store import EntryFilter, Store


@pytest.fixture(scope="module")
def probe_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ed25519PrivateKey]:
    path = tmp_path_factory.mktemp("key") / "probe_ed25519.key"
    return path, generate_key(path)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, probe_key: tuple[Path, Ed25519PrivateKey]) -> Path:
    path = tmp_path_factory.mktemp("store") / "probe.sqlite"
    signer = load_signer(probe_key[0])
    with Store.open(path) as store:
        for measurement, artifacts, verdict in sample_set(2):
            store.append(measurement, artifacts, verdict, signer=signer)
    return path


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, store_path: Path,
           probe_key: tuple[Path, Ed25519PrivateKey]) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundle.zip"
    with Store.open(store_path) as store:
        export_bundle(store, out, key=probe_key[1], filt=EntryFilter())
    return out


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    files = members(src)
    change(files)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return dst


def failures(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


def resign(files: dict[str, bytes], key: Ed25519PrivateKey, edit: Callable[[dict[str, object]], None]) -> None:
    """Edit the manifest, refresh its file hashes, and sign it again with the probe's own key."""
    manifest = json.loads(files[mf.MANIFEST])
    edit(manifest)
    manifest["files"] = [{"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                         for name, data in sorted(files.items()) if name not in mf.UNLISTED]
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"] if f["path"] != mf.SHA256SUMS)
    files[mf.SHA256SUMS] = sums.encode()
    for entry in manifest["files"]:
        if entry["path"] == mf.SHA256SUMS:
            entry.update(sha256=hashlib.sha256(files[mf.SHA256SUMS]).hexdigest(), size=len(files[mf.SHA256SUMS]))
    files[mf.MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    files[mf.SIGNATURE] = key.sign(files[mf.MANIFEST])


def test_a_fresh_bundle_verifies(bundle: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    result = verify_bundle(bundle, expected_fingerprint=fingerprint(probe_key[1].public_key()))
    assert result.ok, failures(result)
    assert result.checked["measurement signatures"] == 12 and result.checked["chain links"] == 25
    assert result.checked["verdict signatures"] == 12 and result.checked["key signatures"] == 1
    assert result.checked["artifacts"] == 9 and result.checked["manifest signature"] == 1
    names = set(members(bundle))
    assert {mf.MANIFEST, mf.SIGNATURE, mf.PUBLIC_KEY, mf.VERIFY_TXT, mf.REPORT, mf.MEASUREMENTS, mf.VERDICTS,
            mf.OONI, mf.SHA256SUMS} <= names
    assert any(n.endswith(".pem") and n.startswith(mf.CERTS_DIR) for n in names)
    assert any(n.endswith(".bin") and n.startswith(mf.DNS_DIR) for n in names)
    assert any(n.endswith(".warc") and n.startswith(mf.HTTP_DIR) for n in names)


def test_flipping_any_byte_of_any_file_fails_and_names_the_file(bundle: Path, tmp_path: Path) -> None:
    originals = members(bundle)
    tried = 0
    for name, data in originals.items():
        for offset in sorted({0, len(data) // 3, len(data) // 2, len(data) - 1}):
            def flip(files: dict[str, bytes], name: str = name, offset: int = offset) -> None:
                changed = bytearray(files[name])
                changed[offset] ^= 0x01
                files[name] = bytes(changed)

            result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", flip))
            assert not result.ok, f"flipping byte {offset} of {name} went unnoticed"
            assert name in failures(result), f"{name}@{offset}: {failures(result)}"
            tried += 1
    assert tried > 50


def test_a_changed_record_names_the_measurement(bundle: Path, tmp_path: Path) -> None:
    lines = members(bundle)[mf.MEASUREMENTS].split(b"\n")
    victim = json.loads(lines[4])["measurement_id"]

    def edit(files: dict[str, bytes]) -> None:
        files[mf.MEASUREMENTS] = files[mf.MEASUREMENTS].replace(b"10.77.3.", b"10.77.9.", 1)

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", edit))
    first = json.loads(lines[0])["measurement_id"]
    text = failures(result)
    assert mf.MEASUREMENTS in text and (first in text or victim in text)


def _seq_of(bundle: Path, measurement_id: str) -> int:
    links = json.loads(members(bundle)[mf.MANIFEST])["measurements"]
    return int(next(link["seq"] for link in links if link["measurement_id"] == measurement_id))


def test_deleting_a_measurement_names_it(bundle: Path, tmp_path: Path) -> None:
    lines = members(bundle)[mf.MEASUREMENTS].split(b"\n")
    victim = json.loads(lines[5])["measurement_id"]

    def delete(files: dict[str, bytes]) -> None:
        files[mf.MEASUREMENTS] = b"\n".join(lines[:5] + lines[6:])

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", delete))
    assert not result.ok
    assert f"measurement {victim} (seq {_seq_of(bundle, victim)})" in failures(result)
    assert "removed or changed" in failures(result)


@pytest.mark.parametrize("name", [mf.REPORT, mf.PUBLIC_KEY, mf.SIGNATURE, mf.MEASUREMENTS, mf.VERDICTS,
                                  mf.OONI, mf.VERIFY_TXT, mf.SHA256SUMS, "first artifact"])
def test_removing_a_file_names_it(bundle: Path, tmp_path: Path, name: str) -> None:
    if name == "first artifact":
        name = next(n for n in members(bundle) if n.startswith("artifacts/"))

    def remove(files: dict[str, bytes]) -> None:
        del files[name]

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", remove))
    assert not result.ok
    assert f"{name}: missing from the bundle" in failures(result)


def test_removing_the_manifest_fails(bundle: Path, tmp_path: Path) -> None:
    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", lambda files: files.pop(mf.MANIFEST) and None))
    assert f"{mf.MANIFEST}: missing" in failures(result)


def test_an_added_file_fails(bundle: Path, tmp_path: Path) -> None:
    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip",
                                   lambda files: files.update({"artifacts/extra.bin": b"planted"})))
    assert "artifacts/extra.bin: not listed in the manifest" in failures(result)


def test_a_foreign_signature_fails(bundle: Path, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()

    def sign_with_other(files: dict[str, bytes]) -> None:
        files[mf.SIGNATURE] = other.sign(files[mf.MANIFEST])

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", sign_with_other))
    assert f"the signature in {mf.SIGNATURE} does not match" in failures(result)


def test_a_bundle_re_signed_by_another_key_fails_the_expected_fingerprint(
        bundle: Path, tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    from probe.evidence.keys import public_key_pem

    other = Ed25519PrivateKey.generate()

    def replace_key(files: dict[str, bytes]) -> None:
        files[mf.PUBLIC_KEY] = public_key_pem(other.public_key())
        resign(files, other, lambda m: m.update(key_fingerprint=fingerprint(other.public_key())))

    forged = rewrite(bundle, tmp_path / "t.zip", replace_key)
    result = verify_bundle(forged, expected_fingerprint=fingerprint(probe_key[1].public_key()))
    assert "not by the expected key" in failures(result)
    # Without the expectation the forgery is self-consistent, but the measurements' own signatures
    # (made at measurement time by the real key) cannot be checked, and verify says so.
    loose = verify_bundle(forged)
    assert any("could not be checked" in str(f) for f in loose.findings)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_a_truncated_zip_fails(bundle: Path, tmp_path: Path, keep: float) -> None:
    data = bundle.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: int(len(data) * keep)])
    result = verify_bundle(cut)
    assert not result.ok
    assert "cut.zip: not a complete zip archive" in failures(result)


def test_a_broken_link_is_named_even_when_re_signed(bundle: Path, tmp_path: Path,
                                                    probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    def break_link(files: dict[str, bytes]) -> None:
        def edit(m: dict[str, object]) -> None:
            links = m["measurements"]
            assert isinstance(links, list)
            links[3]["prev_hash"] = "f" * 64

        resign(files, probe_key[1], edit)

    seq = json.loads(members(bundle)[mf.MANIFEST])["measurements"][3]["seq"]
    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", break_link))
    text = failures(result)
    assert f"(seq {seq}): its chain hash is not SHA-256" in text
    assert f"(seq {seq}): does not link to seq {seq - 1}" in text


def test_a_hidden_gap_is_caught_even_when_re_signed(bundle: Path, tmp_path: Path,
                                                    probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    lines = members(bundle)[mf.MEASUREMENTS].split(b"\n")

    def drop_quietly(files: dict[str, bytes]) -> None:
        files[mf.MEASUREMENTS] = b"\n".join(lines[:6] + lines[7:])

        def edit(m: dict[str, object]) -> None:
            links = m["measurements"]
            assert isinstance(links, list)
            del links[6]
            counts = m["counts"]
            assert isinstance(counts, dict)
            counts["measurements"] = 11

        resign(files, probe_key[1], edit)

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", drop_quietly))
    assert "the gaps it declares are not the seqs missing" in failures(result)


def test_a_swapped_artifact_is_caught_even_when_re_signed(bundle: Path, tmp_path: Path,
                                                          probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    dns_file = next(n for n in members(bundle) if n.startswith(mf.DNS_DIR))

    def swap(files: dict[str, bytes]) -> None:
        files[dns_file] = b"\xab\xcd forged reply"
        resign(files, probe_key[1], lambda m: None)

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", swap))
    assert f"{dns_file}: does not hold the dns_wire artifact" in failures(result)


def test_a_filtered_export_declares_its_gaps_and_verifies(store_path: Path, tmp_path: Path,
                                                          probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    out = tmp_path / "blocked.zip"
    with Store.open(store_path) as store:
        result = export_bundle(store, out, key=probe_key[1], filt=EntryFilter(host="selftanu.kz"))
    # The key record (1), the first measurement and its verdict (2, 3), then the last six and theirs.
    assert result.manifest.chain.gaps == [(4, 13)]
    assert result.manifest.chain.store_head_seq == 25
    assert result.manifest.filters == {"host": "selftanu.kz"}
    checked = verify_bundle(out)
    assert checked.ok, failures(checked)
    assert any("a selection: 10 link(s)" in str(f) for f in checked.findings)


def test_an_empty_selection_writes_nothing(store_path: Path, tmp_path: Path,
                                           probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    out = tmp_path / "none.zip"
    with Store.open(store_path) as store, pytest.raises(EvidenceError, match="nothing to export"):
        export_bundle(store, out, key=probe_key[1], filt=EntryFilter(host="not-measured.example"))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_not_overwritten(bundle: Path, store_path: Path,
                                             probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    before = bundle.read_bytes()
    with Store.open(store_path) as store, pytest.raises(EvidenceError, match="already exists"):
        export_bundle(store, bundle, key=probe_key[1], filt=EntryFilter())
    assert bundle.read_bytes() == before


def test_dropped_link_signatures_after_signed_ones_fail_even_when_re_signed(
        bundle: Path, tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    def drop_tail_signatures(files: dict[str, bytes]) -> None:
        def edit(m: dict[str, object]) -> None:
            links = m["measurements"]
            assert isinstance(links, list)
            for link in links[8:]:
                link.update(signature=None, key_fingerprint=None)

        resign(files, probe_key[1], edit)

    victim = json.loads(members(bundle)[mf.MEASUREMENTS].split(b"\n")[8])["measurement_id"]
    seq = _seq_of(bundle, victim)
    text = failures(verify_bundle(rewrite(bundle, tmp_path / "t.zip", drop_tail_signatures)))
    assert f"measurement {victim} (seq {seq}): signature missing after signed measurements began" in text
    assert f"(seq {seq - 1})" not in text  # its verdict before it is still signed


def _mixed_store(path: Path, key_path: Path, signed: Callable[[int], bool]) -> Path:
    with Store.open(path) as store:
        for i, (m, a, v) in enumerate(sample_set(2)):
            store.append(m, a, v, signer=load_signer(key_path) if signed(i) else None)
    return path


def _unsign_after(path: Path, seq: int) -> None:
    """What the store no longer lets a writer do (an unsigned link after signed ones), done by hand."""
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for table in ("measurements", "chain_records"):
        conn.execute(f"UPDATE {table} SET signature=NULL, key_fingerprint=NULL WHERE seq > ?", (seq,))
    conn.commit()
    conn.close()


def test_export_refuses_unsigned_measurements_after_signed_ones(
        tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    store_path = _mixed_store(tmp_path / "s.sqlite", probe_key[0], lambda i: True)
    with Store.open(store_path) as store:
        sixth, seventh = [e for e in store.entries()][5:7]
    _unsign_after(store_path, sixth.seq + 1)  # the sixth measurement's verdict stays signed
    out = tmp_path / "out" / "b.zip"
    with Store.open(store_path) as store:
        victim = seventh.measurement_id
        with pytest.raises(EvidenceError, match="signature missing after signed measurements began") as raised:
            export_bundle(store, out, key=probe_key[1], filt=EntryFilter())
        assert f"measurement {victim} (seq {seventh.seq})" in raised.value.message
        assert "nothing was written" in raised.value.message
        assert not out.exists() and not out.parent.exists()
        # A selection that leaves the unsigned tail out is fine.
        until = sixth.test_start_time
        export_bundle(store, out, key=probe_key[1], filt=EntryFilter(until=until))
    assert verify_bundle(out).ok


def test_export_refuses_links_by_another_key_after_its_own(tmp_path: Path,
                                                          probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    generate_key(tmp_path / "other.key")
    store_path = tmp_path / "s.sqlite"
    with Store.open(store_path) as store:
        for i, (m, a, v) in enumerate(sample_set(2)):
            store.append(m, a, v, signer=load_signer(probe_key[0] if i < 3 else tmp_path / "other.key"))
        # The other key's first link is its key record (after three measurements and their verdicts).
        with pytest.raises(EvidenceError, match=r"the key record 8 .*signature missing after signed"):
            export_bundle(store, tmp_path / "b.zip", key=probe_key[1], filt=EntryFilter())


def test_unsigned_measurements_from_before_the_key_still_export_and_verify(
        tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    store_path = _mixed_store(tmp_path / "s.sqlite", probe_key[0], lambda i: i >= 4)
    with Store.open(store_path) as store:
        export_bundle(store, tmp_path / "b.zip", key=probe_key[1], filt=EntryFilter())
    result = verify_bundle(tmp_path / "b.zip")
    assert result.ok, failures(result)
    # Four measurements and their verdicts, then the key record (9) whose signature covers them.
    assert any("8 link(s) (seq 1-8) carry no signature: they come before the first signed link (seq 9)" in str(f)
               for f in result.findings), [str(f) for f in result.findings]


def test_a_member_that_unpacks_past_its_declared_size_is_refused_unread(bundle: Path, tmp_path: Path) -> None:
    def inflate(files: dict[str, bytes]) -> None:
        files[mf.REPORT] = b"\0" * (4 << 20)

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", inflate))
    declared = next(f.size for f in _manifest(bundle).files if f.path == mf.REPORT)
    assert (f"{mf.REPORT}: unpacks to {4 << 20} bytes, more than the {declared} bytes the manifest declares: "
            "refused unread") in failures(result)


def _manifest(path: Path) -> mf.Manifest:
    return mf.Manifest.model_validate_json(members(path)[mf.MANIFEST])


def test_a_zip_bomb_is_refused_without_unpacking_it(bundle: Path, tmp_path: Path,
                                                    probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    import tracemalloc

    dns_file = next(n for n in members(bundle) if n.startswith(mf.DNS_DIR))

    def bomb(files: dict[str, bytes]) -> None:
        # Re-signed, so the manifest itself declares the huge size: only the absolute cap stops it.
        files[dns_file] = bytes(mf.MAX_MEMBER_BYTES + 1)
        resign(files, probe_key[1], lambda m: None)

    bombed = rewrite(bundle, tmp_path / "bomb.zip", bomb)
    assert bombed.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        result = verify_bundle(bombed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (f"{dns_file}: unpacks to {mf.MAX_MEMBER_BYTES + 1} bytes, more than the 64 MiB a bundle file may "
            "hold: refused unread") in failures(result)
    assert peak < 16 << 20, peak


def test_a_member_whose_header_lies_is_never_unpacked_past_it(bundle: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A header that promises less than the member holds: unpacking stops at the promise (and the
    # member fails its check) instead of running on.
    import copy

    import probe.evidence.verify.bundle as verify_module

    real_init = verify_module.BundleReader.__init__

    def init(self: verify_module.BundleReader, zf: zipfile.ZipFile, result: VerifyResult) -> None:
        real_init(self, zf, result)
        lying = copy.copy(self._infos[mf.REPORT])
        lying.file_size = 10
        self._infos[mf.REPORT] = lying

    monkeypatch.setattr(verify_module.BundleReader, "__init__", init)
    result = verify_bundle(bundle)
    assert f"{mf.REPORT}: damaged inside the zip" in failures(result)


def test_a_bundle_over_the_total_cap_is_refused(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mf, "MAX_BUNDLE_BYTES", 50_000)
    result = verify_bundle(bundle)
    assert "bundle.zip: unpacks to" in failures(result) and "refused unread" in failures(result)
    assert len(result.failures) == 1


def test_an_overlong_line_stops_the_reading(bundle: Path, tmp_path: Path,
                                            probe_key: tuple[Path, Ed25519PrivateKey],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def long_line(files: dict[str, bytes]) -> None:
        files[mf.VERDICTS] = b" " * 5000 + b"\n" + files[mf.VERDICTS]
        resign(files, probe_key[1], lambda m: None)

    monkeypatch.setattr(mf, "MAX_LINE_BYTES", 4096)
    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", long_line))
    assert f"{mf.VERDICTS}: has a line longer than" in failures(result)


def test_export_refuses_a_bundle_verify_would_refuse(bundle: Path, store_path: Path, tmp_path: Path,
                                                     probe_key: tuple[Path, Ed25519PrivateKey],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mf, "MAX_MEMBER_BYTES", 1000)
    out = tmp_path / "big.zip"
    with Store.open(store_path) as store, pytest.raises(EvidenceError, match="refusing to export.*probe verify"):
        export_bundle(store, out, key=probe_key[1], filt=EntryFilter())
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    cap = max(f.size for f in _manifest(bundle).files) + 1  # every file fits, all of them do not
    monkeypatch.setattr(mf, "MAX_BUNDLE_BYTES", cap)
    with Store.open(store_path) as store, pytest.raises(EvidenceError, match=f"more than the {cap} bytes a bundle"):
        export_bundle(store, out, key=probe_key[1], filt=EntryFilter())


def test_export_refuses_bytes_deleted_by_hand_but_not_bytes_retention_pruned(
        tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    """Bytes gone with no pruned_at fail `probe verify --store`; export must not call them pruned."""
    store_path = _mixed_store(tmp_path / "s.sqlite", probe_key[0], lambda i: True)
    with Store.open(store_path) as store:
        store.prune_artifacts(older_than="9999")  # retention: pruned_at recorded
    conn = sqlite3.connect(store_path)
    body = conn.execute("SELECT sha256 FROM artifacts WHERE kind='http_body' LIMIT 1").fetchone()[0]
    conn.execute("UPDATE artifacts SET pruned_at=NULL WHERE sha256=?", (body,))  # now deleted by hand
    conn.commit()
    conn.close()
    out = tmp_path / "out" / "b.zip"
    with Store.open(store_path, create=False) as store:
        citing = next(e.measurement_id for e in store.entries() if body in referenced_artifacts(e.measurement()))
        with pytest.raises(EvidenceError, match="retention never pruned it") as raised:
            export_bundle(store, out, key=probe_key[1], filt=EntryFilter())
    assert f"measurement {citing} cites a http_body artifact {body}" in raised.value.message
    assert "nothing was written" in raised.value.message
    assert raised.value.hint is not None and "probe verify --store" in raised.value.hint
    assert not out.exists() and not out.parent.exists()


    conn = sqlite3.connect(store_path)
    conn.execute("UPDATE artifacts SET pruned_at='2026-12-01T00:00:00.000000Z' WHERE sha256=?", (body,))
    conn.commit()
    conn.close()
    with Store.open(store_path, create=False) as store:  # pruned by retention: exported as pruned
        result = export_bundle(store, out, key=probe_key[1], filt=EntryFilter())
    assert result.manifest.counts.artifacts_pruned > 0 and result.manifest.counts.artifacts_included == 0
    checked = verify_bundle(out)
    assert checked.ok, failures(checked)
