"""The evidence commands as a user meets them: consent, key, export, verify (bundle and store), report.

Run as `python -m probe` so exit codes and one-line errors are the real ones. The key lives where
PROBE_KEY says (never the real user's config folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set

from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.consent import CONSENT
from probe.evidence.keys import fingerprint, load_private_key, load_signer, public_key_pem
from probe.store import EntryFilter, Store


def probe(*args: str, key: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROBE_KEY": str(key)}
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, timeout=60,
                          input=stdin, env=env)


@pytest.fixture()
def key(tmp_path: Path) -> Path:
    return tmp_path / "config" / "probe_ed25519.key"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(key, store): a key from `probe init --yes` and a store of signed synthetic measurements."""
    root = tmp_path_factory.mktemp("probe")
    key_path = root / "config" / "probe_ed25519.key"
    assert probe("init", "--yes", key=key_path).returncode == 0
    path = root / "results" / "probe.sqlite"
    with Store.open(path) as s:
        for m, a, v in sample_set(2):
            s.append(m, a, v, signer=load_signer(key_path))
    return key_path, path


def test_init_explains_asks_and_makes_a_private_key(key: Path) -> None:
    declined = probe("init", key=key, stdin="n\n")
    assert declined.returncode != 0 and not key.exists()
    assert "never contain your internet (IP) address" in declined.stdout
    made = probe("init", key=key, stdin="y\n")
    assert made.returncode == 0, made.stderr
    assert CONSENT.splitlines()[0] in made.stdout and "Key fingerprint: ed25519:" in made.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    fp = made.stdout.split("Key fingerprint: ")[1].split()[0]
    again = probe("init", "--yes", key=key)
    assert again.returncode == 0 and "already has a key" in again.stdout and fp in again.stdout
    assert "You can stop the probe at any time" in again.stdout  # the same explanation, with --yes too
    shown = probe("key", "show", key=key)
    assert shown.returncode == 0 and shown.stdout.strip() == fp
    assert "BEGIN PUBLIC KEY" in probe("key", "show", "--pem", key=key).stdout


def test_key_show_without_a_key_is_one_line(key: Path) -> None:
    out = probe("key", "show", key=key)
    assert out.returncode == 2 and "probe init" in out.stderr and out.stderr.count("\n") == 1


def test_export_verify_and_tamper(tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    out = tmp_path / "kz.zip"
    made = probe("export", "--store", str(store), "--out", str(out), "--verdict", "blocked", key=key)
    assert made.returncode == 0, made.stderr
    assert "10 measurements of 5 websites" in made.stdout and "probe verify" in made.stdout
    fp = probe("key", "show", key=key).stdout.strip()
    good = probe("verify", str(out), "--fingerprint", fp, key=key)
    assert good.returncode == 0 and good.stdout.splitlines()[-2].startswith("PASS"), good.stdout
    wrong = probe("verify", str(out), "--fingerprint", "ed25519:" + "0" * 64, key=key)
    assert wrong.returncode == 1 and "not by the expected key" in wrong.stderr
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data.replace(b"selftanu", b"selftanU") if item.filename == "report.html" else data)
    bad = probe("verify", str(tampered), key=key)
    assert bad.returncode == 1 and "report.html: its SHA-256 differs" in bad.stderr
    assert bad.stdout.strip().splitlines()[-1].startswith("FAIL")


def test_export_refuses_an_empty_selection_and_bad_filters(tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    out = tmp_path / "none.zip"
    empty = probe("export", "--store", str(store), "--out", str(out), "--host", "nowhere.example", key=key)
    assert empty.returncode == 2 and "nothing to export" in empty.stderr and not out.exists()
    bad = probe("export", "--store", str(store), "--out", str(out), "--verdict", "censored", key=key)
    assert bad.returncode == 2 and "--verdict" in bad.stderr
    bad_date = probe("export", "--store", str(store), "--out", str(out), "--since", "yesterday", key=key)
    assert bad_date.returncode == 2 and "--since" in bad_date.stderr


def test_verify_store_and_its_flag_forms(tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    good = probe("verify", "--store", str(store), key=key)
    assert good.returncode == 0 and "PASS" in good.stdout and "12 measurement signatures" in good.stdout
    neither = probe("verify", key=key)
    assert neither.returncode == 2 and "--store" in neither.stderr
    default = subprocess.run([sys.executable, "-m", "probe", "verify", "--store"], capture_output=True, text=True,
                             cwd=store.parent.parent, env={**os.environ, "PROBE_KEY": str(key)}, timeout=60)
    assert default.returncode == 0, default.stderr  # alone, --store means results/probe.sqlite


def test_report_writes_one_html_file(tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    out = tmp_path / "report.html"
    done = probe("report", "--store", str(store), "--out", str(out), "--host", "selftanu.kz", key=key)
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "selftanu.kz" in html and "The TLS handshake with SNI selftanu.kz" in html
    none = probe("report", "--store", str(store), "--out", str(tmp_path / "x.html"), "--asn", "AS1", key=key)
    assert none.returncode == 2 and "nothing to report" in none.stderr and not (tmp_path / "x.html").exists()


def test_an_explicit_key_that_does_not_exist_is_one_line_not_a_silent_fallback(
        tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    typo = tmp_path / "typo.key"
    for args in (["verify", "--store", str(store), "--key", str(typo)],
                 ["report", "--store", str(store), "--out", str(tmp_path / "r.html"), "--key", str(typo)]):
        out = probe(*args, key=key)
        assert out.returncode == 2, out.stdout
        assert f"no signing key at {typo}" in out.stderr and "probe init --key" in out.stderr, out.stderr
        assert out.stderr.count("\n") == 1
    assert not (tmp_path / "r.html").exists() and not typo.exists()


def test_run_with_a_missing_key_stores_nothing_and_creates_no_store(tmp_path: Path, key: Path) -> None:
    # Loopback only: the run must stop before it measures anything.
    typo = tmp_path / "typo.key"
    store = tmp_path / "s.sqlite"
    out = probe("run", "--store", str(store), "--key", str(typo), "--resolver", "127.0.0.1", "--no-progress",
                "--allow-private-targets",
                "--timeout-tcp", "1", "--timeout-dns", "1", "http://127.0.0.1:9/", key=key)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"no signing key at {typo}" in out.stderr
    assert not store.exists()  # the key is checked before the store is opened: no empty store left behind


def _forge_with_own_key(src: Path, dst: Path) -> None:
    """A forger's bundle: own key in public_key.pem, manifest re-signed, link signatures kept (unverifiable)."""
    evil = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(src) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    files[mf.PUBLIC_KEY] = public_key_pem(evil.public_key())
    manifest = json.loads(files[mf.MANIFEST])
    manifest["key_fingerprint"] = fingerprint(evil.public_key())
    manifest["files"] = [{**f, "sha256": hashlib.sha256(files[f["path"]]).hexdigest(), "size": len(files[f["path"]])}
                         if f["path"] == mf.PUBLIC_KEY else f for f in manifest["files"]]
    files[mf.SHA256SUMS] = mf.sha256sums([mf.FileEntry(**f) for f in manifest["files"] if f["path"] != mf.SHA256SUMS])
    manifest["files"] = [{**f, "sha256": hashlib.sha256(files[mf.SHA256SUMS]).hexdigest()}
                         if f["path"] == mf.SHA256SUMS else f for f in manifest["files"]]
    files[mf.MANIFEST] = json.dumps(manifest).encode()
    files[mf.SIGNATURE] = evil.sign(files[mf.MANIFEST])
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def test_verify_says_which_key_to_compare_and_never_overclaims(tmp_path: Path, made: tuple[Path, Path]) -> None:
    key, store = made
    out = tmp_path / "b.zip"
    assert probe("export", "--store", str(store), "--out", str(out), key=key).returncode == 0
    fp = probe("key", "show", key=key).stdout.strip()
    loose = probe("verify", str(out), key=key)
    assert loose.returncode == 0, loose.stdout + loose.stderr
    lines = loose.stdout.splitlines()
    assert lines[-2] == f"PASS {out}: every hash, link and signature checked out"
    assert lines[-1].startswith(f"KEY NOT YET COMPARED: signed by {fp}") and "probe key show" in lines[-1]
    # The forger's own key: the chain has no link signed by it, so this fails; it never passes quietly.
    forged = tmp_path / "forged.zip"
    _forge_with_own_key(out, forged)
    bad = probe("verify", str(forged), key=key)
    assert bad.returncode == 1 and "no measurement is signed by" in bad.stderr, bad.stdout + bad.stderr
    assert "checked out" not in bad.stdout and "KEY NOT YET COMPARED" not in bad.stdout


def test_a_pass_with_unchecked_signatures_says_so(tmp_path: Path, key: Path) -> None:
    store = tmp_path / "s.sqlite"
    with Store.open(store) as s:
        for m, a, v in sample_set(2):
            s.append(m, a, v, signer=None)
    for args in (("verify", "--store", str(store)), ("verify", "--store", str(store), "-q")):
        out = probe(*args, key=key)  # no key made yet: nothing to check signatures with
        assert out.returncode == 0, out.stdout + out.stderr
        assert "checked out" not in out.stdout
        assert f"PASS {store}: nothing failed, but not everything could be checked" in out.stdout


def test_hostile_bundles_fail_cleanly_and_their_names_cannot_forge_output(tmp_path: Path,
                                                                         made: tuple[Path, Path]) -> None:
    not_utf8 = tmp_path / "name.zip"
    with zipfile.ZipFile(not_utf8, "w") as zf:
        zf.writestr("manifest.json", b"{}")
    data = bytearray(not_utf8.read_bytes())
    for signature, flags, name in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = data.find(signature)
        data[at + flags + 1] |= 0x08  # general purpose bit 11: the name is UTF-8
        data[at + name] = 0xFF  # which it is not
    not_utf8.write_bytes(bytes(data))
    out = probe("verify", str(not_utf8), key=tmp_path / "k")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "marked UTF-8 but is not" in out.stderr and "internal error" not in out.stderr

    key, store = made
    planted = tmp_path / "planted.zip"
    with Store.open(store) as s:
        export_bundle(s, planted, key=load_private_key(key), filt=EntryFilter(host="selftanu.kz"))
    with zipfile.ZipFile(planted, "a") as zf:
        zf.writestr("x\n\x1b[2JPASS everything", b"")
    shown = probe("verify", str(planted), key=key)
    assert shown.returncode == 1
    assert "\x1b" not in shown.stdout + shown.stderr and "x\\n\\x1b[2JPASS everything: not listed" in shown.stderr
    assert not any(line.startswith("PASS") for line in shown.stdout.splitlines())


def test_init_refuses_a_key_inside_results(tmp_path: Path) -> None:
    inside = tmp_path / "results" / "probe.key"
    out = probe("init", "--yes", "--key", str(inside), key=tmp_path / "unused.key")
    assert out.returncode == 2 and "outside results/" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not inside.exists()
