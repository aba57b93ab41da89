"""The evidence commands as a user meets them: consent, key, export, verify (bundle and store), report.

Run as `python -m probe` so exit codes and one-line errors are the real ones. The key lives where
PROBE_KEY says (never the real user's config folder).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from probe.evidence.consent import CONSENT
from probe.evidence.keys import load_signer
from probe.evidence.samples import sample_set
from probe.store import Store


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
                "--timeout-tcp", "1", "--timeout-dns", "1", "http://127.0.0.1:9/", key=key)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"no signing key at {typo}" in out.stderr
    assert not store.exists()  # the key is checked before the store is opened: no empty store left behind
