"""`verify_bundle` against a forger and against hostile input: a clear FAIL, never a crash or a hang.

A forger edits a record, recomputes its hashes and links, puts their own key in the bundle and
re-signs the manifest; the old link signatures are kept (unverifiable) or dropped. Hostile input is
what a zip, a manifest or a JSONL line can hold that no export writes: deep nesting, hashes that are
not hex, a zip member name that is not the UTF-8 it claims, a zip version nobody implements, and a
manifest that lists one big member thousands of times.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set

from probe.errors import EvidenceError
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle, report_meta
from probe.evidence.keys import fingerprint, generate_key, load_signer, public_key_pem
from probe.evidence.report.data import collect
from probe.evidence.report.page import render
from probe.evidence.verify.bundle import verify_bundle
from probe.evidence.verify.chain import bundle_key_problem
from probe.evidence.verify.result import VerifyResult
from probe.models import Measurement, Verdict
from probe.models.canonical import GENESIS_HASH, canonical_json, chain_hash, is_sha256_hex, sha256_hex
from probe.store import EntryFilter, Store

Files = dict[str, bytes]


@pytest.fixture(scope="module")
def probe_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ed25519PrivateKey]:
    path = tmp_path_factory.mktemp("key") / "probe_ed25519.key"
    return path, generate_key(path)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, probe_key: tuple[Path, Ed25519PrivateKey]) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    with Store.open(root / "s.sqlite") as store:
        for m, a, v in sample_set(2):
            store.append(m, a, v, signer=load_signer(probe_key[0]))
        export_bundle(store, root / "b.zip", key=probe_key[1], filt=EntryFilter())
    return root / "b.zip"


def members(path: Path) -> Files:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(path: Path, files: Files) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def refresh(files: Files, key: Ed25519PrivateKey | None, edit: Callable[[dict[str, Any]], None] = lambda m: None,
            ) -> Files:
    """What a forger does after editing: re-hash every file into the manifest and sign it with `key`
    (their own, put in public_key.pem); None keeps the original key and signature."""
    manifest = json.loads(files[mf.MANIFEST])
    edit(manifest)
    if key is not None:
        files[mf.PUBLIC_KEY] = public_key_pem(key.public_key())
        manifest["key_fingerprint"] = fingerprint(key.public_key())
    files.pop(mf.SHA256SUMS, None)
    listed = [mf.FileEntry(path=n, sha256=hashlib.sha256(d).hexdigest(), size=len(d))
              for n, d in sorted(files.items()) if n not in mf.UNLISTED]
    files[mf.SHA256SUMS] = mf.sha256sums(listed)
    sums = mf.FileEntry(path=mf.SHA256SUMS, sha256=hashlib.sha256(files[mf.SHA256SUMS]).hexdigest(),
                        size=len(files[mf.SHA256SUMS]))
    manifest["files"] = [e.model_dump() for e in sorted([*listed, sums], key=lambda e: e.path)]
    files[mf.MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    if key is not None:
        files[mf.SIGNATURE] = key.sign(files[mf.MANIFEST])
    return files


def forge(files: Files, key: Ed25519PrivateKey, links: str) -> Files:
    """Rewrite what a site answered in one record, rebuild the chain, and re-sign with `key`.

    links: "keep" the original (now unverifiable) link signatures, "strip" them, or "resign" every
    link with the forger's key too."""
    records = [json.loads(line) for line in files[mf.MEASUREMENTS].splitlines()]
    victim = next(r for r in records if r["requests"] and r["requests"][-1]["response"])
    victim["requests"][-1]["response"]["title"] = "Welcome (site works fine)"
    lines = [canonical_json(r) for r in records]
    files[mf.MEASUREMENTS] = b"\n".join(lines) + b"\n"
    new_hash = {r["measurement_id"]: sha256_hex(line) for r, line in zip(records, lines, strict=True)}
    chained = {sha256_hex(line): json.loads(line) for line in files[mf.CHAIN_RECORDS].splitlines()}
    fp = fingerprint(key.public_key())

    def edit(manifest: dict[str, Any]) -> None:
        # Verdict records are bound to their measurement's record hash: rebind them, then rebuild
        # every link of the chain (measurements and records alike) in seq order.
        out = []
        for link in manifest["links"]:
            record = chained[link["record_sha256"]]
            if record["kind"] == "verdict":
                record["measurement_sha256"] = new_hash[record["measurement_id"]]
            if record["kind"] == "key" and links == "resign":
                record["key_fingerprint"] = link["subject"] = fp
            line = canonical_json(record)
            out.append(line)
            link["record_sha256"] = sha256_hex(line)
        files[mf.CHAIN_RECORDS] = b"\n".join(out) + b"\n"
        for link, line in zip(manifest["measurements"], lines, strict=True):
            link["record_sha256"] = sha256_hex(line)
        prev = GENESIS_HASH
        for link in sorted([*manifest["measurements"], *manifest["links"]], key=lambda item: item["seq"]):
            link["prev_hash"] = prev
            link["chain_hash"] = prev = chain_hash(prev, link["record_sha256"])
            if links == "strip":
                link.update(signature=None, key_fingerprint=None)
            elif links == "resign":
                link.update(signature=key.sign(prev.encode()).hex(), key_fingerprint=fp)
        # And the report, made again as the probe makes it (under the forger's key).
        verdicts = {json.loads(v)["measurement_id"]: json.loads(v)["verdict"]
                    for v in files[mf.VERDICTS].splitlines()}
        info = {a["sha256"]: (a["kind"], a["size"] or 0, a["pruned_at"]) for a in manifest["artifacts"]
                if a["status"] != "missing"}
        pairs = [(Measurement.model_validate(r), Verdict.model_validate(verdicts[r["measurement_id"]])
                  if verdicts[r["measurement_id"]] else None) for r in records]
        meta = report_meta(created=manifest["created_at"], version=manifest["software_version"],
                           key_fingerprint=fp, filters=manifest["filters"])
        data = collect(pairs, artifact_info=info.get)
        for link in manifest["measurements"]:  # who signed each, as the report counts it
            data.add_signature(link["key_fingerprint"] if link["signature"] else None)
        files[mf.REPORT] = render(data, meta).encode()

    return refresh(files, key, edit)


def failures(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


# --- a replaced key -------------------------------------------------------------------------------------


def test_a_key_swap_keeping_the_old_link_signatures_fails(bundle: Path, tmp_path: Path) -> None:
    evil = Ed25519PrivateKey.generate()
    result = verify_bundle(write(tmp_path / "t.zip", forge(members(bundle), evil, "keep")))
    text = failures(result)
    assert f"chain: no measurement is signed by {fingerprint(evil.public_key())}, the key that signed the " \
           "manifest" in text, text
    assert any("could not be checked" in str(f) for f in result.findings)  # and why: the old key is not here


def test_a_key_swap_stripping_the_link_signatures_fails(bundle: Path, tmp_path: Path) -> None:
    evil = Ed25519PrivateKey.generate()
    result = verify_bundle(write(tmp_path / "t.zip", forge(members(bundle), evil, "strip")))
    assert "chain: none of its 12 measurement(s) carries a signature, yet the manifest is signed" in failures(
        result)


def test_a_forger_who_re_signs_every_link_is_caught_only_by_the_fingerprint(
        bundle: Path, tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    # What no check inside a bundle can catch: a self-consistent bundle made with the forger's own key.
    # This is why the CLI says, on every PASS without --fingerprint, which key to compare.
    evil = Ed25519PrivateKey.generate()
    forged = write(tmp_path / "t.zip", forge(members(bundle), evil, "resign"))
    assert verify_bundle(forged).ok, failures(verify_bundle(forged))
    expected = fingerprint(probe_key[1].public_key())
    assert "not by the expected key" in failures(verify_bundle(forged, expected_fingerprint=expected))


def test_the_rule_on_its_own() -> None:
    ours, theirs, sig = "ed25519:" + "a" * 64, "ed25519:" + "b" * 64, "c" * 128
    assert bundle_key_problem([(None, None), (sig, ours)], ours) is None  # stored before the key, then signed
    assert bundle_key_problem([(sig, theirs), (sig, ours)], ours) is None  # an older key, then this one
    assert bundle_key_problem([], ours) is None  # nothing listed: reported elsewhere
    assert "none of its 2 measurement(s) carries a signature" in str(bundle_key_problem([(None, None)] * 2, ours))
    assert f"signed by {theirs}" in str(bundle_key_problem([(sig, theirs)], ours))
    assert "signed by an unnamed key" in str(bundle_key_problem([(sig, None)], ours))
    # A fingerprint with no signature is not a signature.
    assert "carries a signature" in str(bundle_key_problem([(None, ours)], ours))


def test_a_bundle_after_a_key_change_still_verifies(tmp_path: Path) -> None:
    old, new = generate_key(tmp_path / "old"), generate_key(tmp_path / "new")
    with Store.open(tmp_path / "s.sqlite") as store:
        for i, (m, a, v) in enumerate(sample_set(2)):
            store.append(m, a, v, signer=load_signer(tmp_path / ("old" if i < 5 else "new")))
        export_bundle(store, tmp_path / "b.zip", key=new, filt=EntryFilter())
    result = verify_bundle(tmp_path / "b.zip", expected_fingerprint=fingerprint(new.public_key()))
    assert result.ok, failures(result)
    assert result.checked["measurement signatures"] == 7
    # The old key's own record, five measurements and their five verdicts.
    assert any(f"11 signature(s) by {fingerprint(old.public_key())} could not be checked" in str(f)
               for f in result.findings), [str(f) for f in result.findings]


def test_a_selection_with_no_link_signed_by_the_bundle_key_is_refused_by_export(tmp_path: Path) -> None:
    # Measurements stored before the probe had a key, exported alone: nothing in the chain ties them to
    # the key that signed the manifest, exactly like a forgery, so verify could not pass such a bundle
    # and export does not write it (verify's side: the key-swap tests above).
    key = generate_key(tmp_path / "k")
    with Store.open(tmp_path / "s.sqlite") as store:
        for i, (m, a, v) in enumerate(sample_set(2)):
            store.append(m, a, v, signer=load_signer(tmp_path / "k") if i >= 4 else None)
        until = list(store.entries())[3].test_start_time
        with pytest.raises(EvidenceError, match=r"none of its 4 measurement\(s\) carries a signature") as caught:
            export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter(until=until))
        assert "nothing was written" in caught.value.message and not (tmp_path / "b.zip").exists()
        export_bundle(store, tmp_path / "all.zip", key=key, filt=EntryFilter())  # reaches signed ones: fine
    assert verify_bundle(tmp_path / "all.zip").ok


# --- hostile input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [mf.MEASUREMENTS, mf.VERDICTS])
def test_a_deeply_nested_line_is_a_failure_not_a_crash(bundle: Path, tmp_path: Path,
                                                       probe_key: tuple[Path, Ed25519PrivateKey], name: str) -> None:
    files = members(bundle)
    files[name] += b"[" * 200_000 + b"\n"
    result = verify_bundle(write(tmp_path / "t.zip", refresh(files, probe_key[1])))
    text = failures(result)
    assert f"{name}: line 13" in text, text
    assert "recursion limit" in text or "not a record the manifest lists" in text


@pytest.mark.parametrize(("field", "value"), [
    ("prev_hash", "é" * 64), ("prev_hash", "F" * 64), ("record_sha256", "0" * 63), ("chain_hash", "0" * 64 + "\n"),
    ("signature", "zz"), ("key_fingerprint", "ed25519:é")])
def test_a_malformed_link_field_fails_validation(bundle: Path, tmp_path: Path,
                                                 probe_key: tuple[Path, Ed25519PrivateKey], field: str,
                                                 value: str) -> None:
    files = refresh(members(bundle), probe_key[1], lambda m: m["measurements"][2].update({field: value}))
    text = failures(verify_bundle(write(tmp_path / "t.zip", files)))
    assert f"manifest.json: not a valid manifest (measurements.2.{field}: " in text, text


@pytest.mark.parametrize("edit", [
    lambda m: m["files"][0].update(sha256="é" * 64), lambda m: m["artifacts"][0].update(sha256="x"),
    lambda m: m["chain"].update(store_head_hash="0"), lambda m: m.update(key_fingerprint="ed25519:AB"),
    lambda m: m["files"][0].update(size=-1)])
def test_other_malformed_manifest_fields_fail_validation(bundle: Path, tmp_path: Path,
                                                         edit: Callable[[dict[str, Any]], None]) -> None:
    files = members(bundle)
    manifest = json.loads(files[mf.MANIFEST])
    edit(manifest)
    files[mf.MANIFEST] = json.dumps(manifest).encode()
    assert "manifest.json: not a valid manifest (" in failures(verify_bundle(write(tmp_path / "t.zip", files)))


def _patch_zip(path: Path, member: bytes, patch: Callable[[bytearray, int, int], None]) -> None:
    """Apply `patch(data, header_offset, name_offset)` to the local and central headers of `member`."""
    data = bytearray(path.read_bytes())
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        i = 0
        while (i := data.find(signature, i)) != -1:
            if data[i + name_at:i + name_at + len(member)] == member:
                patch(data, i, i + name_at)
            i += 4
    path.write_bytes(bytes(data))


def test_a_member_name_flagged_utf8_that_is_not_fails(bundle: Path, tmp_path: Path) -> None:
    out = write(tmp_path / "t.zip", members(bundle))

    def bad_name(data: bytearray, header: int, name: int) -> None:
        flags = header + (6 if data[header + 2:header + 4] == b"\x03\x04" else 8)
        struct.pack_into("<H", data, flags, struct.unpack_from("<H", data, flags)[0] | 0x800)
        data[name] = 0xFF

    _patch_zip(out, mf.VERIFY_TXT.encode(), bad_name)
    text = failures(verify_bundle(out))
    assert "t.zip: a file name in the zip is marked UTF-8 but is not" in text, text


def test_a_zip_version_nobody_implements_fails(bundle: Path, tmp_path: Path) -> None:
    out = write(tmp_path / "t.zip", members(bundle))

    def version(data: bytearray, header: int, name: int) -> None:
        if data[header + 2:header + 4] == b"\x01\x02":
            data[header + 6] = 255  # "version needed to extract" in the central directory

    _patch_zip(out, mf.VERIFY_TXT.encode(), version)
    text = failures(verify_bundle(out))
    assert "t.zip: uses a zip feature this probe does not read" in text, text


def test_a_damaged_lzma_member_is_named(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members(bundle).items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_LZMA if name == mf.REPORT else zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(out).getinfo(mf.REPORT)
    raw = bytearray(out.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 12
    raw[start:start + 32] = b"\xff" * 32
    out.write_bytes(bytes(raw))
    assert "report.html: damaged inside the zip" in failures(verify_bundle(out))


def test_a_repeated_record_or_verdict_line_fails(bundle: Path, tmp_path: Path,
                                                 probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    files = members(bundle)
    for name in (mf.MEASUREMENTS, mf.VERDICTS):
        files[name] += files[name].splitlines(keepends=True)[0]
    text = failures(verify_bundle(write(tmp_path / "t.zip", refresh(files, probe_key[1]))))
    assert "measurements.jsonl: line 13 repeats the record of measurement" in text, text
    assert "verdicts.jsonl: line 13 is a second verdict for measurement" in text, text


# --- work bounded by the zip, not by what the manifest claims ------------------------------------------


def test_a_member_listed_thousands_of_times_is_read_at_most_twice(
        bundle: Path, tmp_path: Path, probe_key: tuple[Path, Ed25519PrivateKey],
        monkeypatch: pytest.MonkeyPatch) -> None:
    big = "artifacts/other/big.bin"
    files = members(bundle)
    files[big] = b"\0" * (4 << 20)
    entry = {"path": big, "sha256": hashlib.sha256(files[big]).hexdigest(), "size": len(files[big])}

    def pile_on(manifest: dict[str, Any]) -> None:
        manifest["artifacts"] += [{"sha256": sha256_hex(str(i).encode()), "kind": "http_body", "size": 1,
                                   "status": "included", "path": big} for i in range(3000)]

    files = refresh(files, probe_key[1], pile_on)
    manifest = json.loads(files[mf.MANIFEST])
    manifest["files"] += [entry] * 3000
    files[mf.MANIFEST] = json.dumps(manifest).encode()
    files[mf.SIGNATURE] = probe_key[1].sign(files[mf.MANIFEST])
    out = write(tmp_path / "t.zip", files)

    opened: Counter[str] = Counter()
    real_open = zipfile.ZipFile.open

    def counting_open(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened[name.filename if isinstance(name, zipfile.ZipInfo) else name] += 1
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    result = verify_bundle(out)
    text = failures(result)
    assert f"manifest.json: lists {big} 3001 times: a manifest names each file once" in text, text
    assert text.count("lists artifacts/other/big.bin") == 1
    assert max(opened.values()) <= 2, opened
    assert text.count(f"{big}: does not hold the http_body artifact") == 5
    assert f"{big}: does not hold 2995 more artifact(s) the manifest places there" in text


def test_an_artifact_listed_twice_fails_once(bundle: Path, tmp_path: Path,
                                             probe_key: tuple[Path, Ed25519PrivateKey]) -> None:
    def twice(manifest: dict[str, Any]) -> None:
        manifest["artifacts"] += [manifest["artifacts"][0]] * 4

    files = refresh(members(bundle), probe_key[1], twice)
    sha = json.loads(files[mf.MANIFEST])["artifacts"][0]["sha256"]
    text = failures(verify_bundle(write(tmp_path / "t.zip", files)))
    assert f"manifest.json: lists the artifact {sha[:16]}… 5 times" in text, text


# --- the hash helpers ----------------------------------------------------------------------------------


def test_chain_hash_refuses_what_is_not_a_sha256() -> None:
    assert chain_hash(GENESIS_HASH, "a" * 64) == sha256_hex(("0" * 64 + "a" * 64).encode())
    for bad in ("é" * 64, "A" * 64, "a" * 63, "a" * 64 + "\n", "٠" * 64):
        assert not is_sha256_hex(bad)
        with pytest.raises(ValueError, match="SHA-256 hex"):
            chain_hash(bad, "a" * 64)


def test_a_public_key_of_an_unknown_algorithm_is_named(bundle: Path, tmp_path: Path) -> None:
    import base64

    # SubjectPublicKeyInfo for EC on curve 1.3.132.0.6 (secp112r1), which cryptography does not support.
    der = bytes.fromhex("3036301006072a8648ce3d020106052b81040006032200") + b"\x02" + b"\x11" * 32
    files = members(bundle)
    files[mf.PUBLIC_KEY] = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"
    text = failures(verify_bundle(write(tmp_path / "t.zip", files)))
    assert "public_key.pem: the public key is not an Ed25519 key" in text, text
