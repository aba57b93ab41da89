"""The advocates' side of the hub: read tokens, `probe export --hub`, `probe verify` of hub bundles, report.html.

Real PostgreSQL and a real uvicorn hub; two real probes with their own keys upload signed measurements
and verdicts. Tampered bundles are made by editing the zip the way a forger would, keeping the
manifest's hashes consistent where that is the point, so only the signatures and the re-rendered
report can catch them.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import psycopg

from probe.evidence.keys import load_private_key, public_key_pem
from probe.hub.readers import create_read_token
from tests.hub.conftest import REPO, Hub, make_volunteer, probe_cli
from tests.hub.test_hub_enrol_upload import CHROMIUM, upload
from tests.hub.test_hub_faults import enrol


def two_probes(hub: Hub, tmp_path: Path) -> tuple[str, str]:
    keys = []
    for folder, name in (("almaty", "Almaty 3"), ("astana", "Astana 1")):
        v = make_volunteer(tmp_path / folder)
        head = v.measure(2)
        keys.append(enrol(hub, v, name=name))
        assert upload(v)[0].sent == head
    return keys[0], keys[1]


def read_token(hub: Hub, name: str = "KZ advocates") -> tuple[str, str]:
    with psycopg.connect(hub.database, autocommit=True) as conn:
        return create_read_token(conn, name=name)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write(path: Path, entries: dict[str, bytes], *, fix_manifest: bool = True) -> Path:
    """The bundle with `entries`; the manifest's hashes made to match them (what a careful forger does)."""
    if fix_manifest:
        manifest = json.loads(entries["manifest.json"])
        for name in manifest["files"]:
            if name in entries:
                manifest["files"][name]["sha256"] = hashlib.sha256(entries[name]).hexdigest()
        entries = {**entries, "manifest.json": json.dumps(manifest).encode()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return probe_cli("verify", str(path))


def test_only_a_valid_read_token_downloads_and_tokens_do_not_cross(make_hub: Any, tmp_path: Path) -> None:
    hub = make_hub()
    two_probes(hub, tmp_path)
    token, ident = read_token(hub)
    url = hub.url + "/api/v1/bundle"
    assert httpx.get(url, timeout=30).status_code == 401  # missing
    assert httpx.get(url, headers={"authorization": "Bearer " + token[:-2] + "xx"}, timeout=30).status_code == 401
    invite = hub.invite("Almaty 9")  # a probe's invite is not a read token
    assert httpx.get(url, headers={"authorization": f"Bearer {invite}"}, timeout=30).status_code == 401
    newcomer = make_volunteer(tmp_path / "newcomer")
    pem = public_key_pem(load_private_key(newcomer.key).public_key()).decode()
    join = httpx.post(hub.url + "/api/v1/join", json={"token": token, "public_key_pem": pem}, timeout=30)
    assert join.status_code == 403 and "token is unknown" in join.json()["error"]  # a read token enrols nothing
    ok = httpx.get(url, headers={"authorization": f"Bearer {token}"}, params={"site": "rferl.org"}, timeout=60)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/zip"
    auth = {"authorization": f"Bearer {token}"}
    for bad in ({"limit": "many"}, {"since": "yesterday"}, {"until": "2026-13"}):
        answer = httpx.get(url, headers=auth, params=bad, timeout=30)
        assert answer.status_code == 400 and "error" in answer.json(), bad
    newest = tmp_path / "newest.zip"
    newest.write_bytes(httpx.get(url, headers=auth, params={"limit": "3", "asn": "as9198"}, timeout=60).content)
    manifest = json.loads(members(newest)["manifest.json"])
    assert manifest["measurements"] == 3 and manifest["filters"] == {"asn": "AS9198", "limit": 3}
    assert probe_cli("hub", "revoke", ident, "--database", hub.database).returncode == 0
    revoked = httpx.get(url, headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]
    listed = probe_cli("hub", "probes", "--database", hub.database).stdout
    assert f"{ident}  KZ advocates  read token" in listed and "revoked" in listed
    # The CLI: a refused download is one line, and leaves nothing beside the destination.
    out = tmp_path / "out" / "b.zip"
    done = probe_cli("export", "--hub", hub.url, "--token", token, "--out", str(out))
    assert done.returncode != 0 and "refused the read token" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and (not out.parent.exists() or not list(out.parent.iterdir()))


def test_export_from_the_hub_and_on_the_hub_host_write_the_same_bundle_which_verifies(make_hub: Any,
                                                                                       tmp_path: Path) -> None:
    hub = make_hub()
    almaty, astana = two_probes(hub, tmp_path)
    token, _ = read_token(hub)
    remote, local = tmp_path / "remote.zip", tmp_path / "local.zip"
    done = probe_cli("export", "--hub", hub.url, "--token", token, "--out", str(remote), "--host", "rferl.org")
    assert done.returncode == 0, done.stderr
    done = probe_cli("hub", "export", "--database", hub.database, "--out", str(local), "--site", "rferl.org")
    assert done.returncode == 0 and "4 measurements (8 signed links) from 2 probe(s)" in done.stdout, done.stdout
    a, b = members(remote), members(local)
    assert a.keys() == b.keys() and all(a[n] == b[n] for n in a if n.startswith("links/") or n == "probes.json")
    assert not [p for p in tmp_path.iterdir() if ".probe-export-" in p.name]
    checked = verify(remote)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for key, name in ((almaty, "Almaty 3"), (astana, "Astana 1")):
        assert re.search(rf"probe {key}: \d+ links verified, \d chain segment\(s\); named '{name}' by the hub "
                         r"\(the hub's claim", checked.stdout), checked.stdout
    assert "reports rendered again" in checked.stdout and "KEYS NOT YET COMPARED" in checked.stdout
    assert probe_cli("verify", str(remote), "--fingerprint", astana).returncode == 0
    other = probe_cli("verify", str(remote), "--fingerprint", "ed25519:" + "0" * 64)
    assert other.returncode == 1 and "no probe in the bundle has the expected key" in other.stderr
    refused = probe_cli("export", "--hub", hub.url, "--token", token, "--out", str(tmp_path / "x.zip"),
                        "--verdict", "blocked")
    assert refused.returncode != 0 and "--verdict: not available with --hub" in refused.stderr
    report = a["report.html"].decode()
    assert "rferl.org was blocked for 2 probes on 1 network (AS9198" in report
    assert "<script" not in report and "http://" not in report.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Block page" in report and "Name (the hub's claim)" in report
    assert almaty in a["VERIFY.txt"].decode() and astana in a["VERIFY.txt"].decode()
    # The alias, and a revoked key shown as such (the hub's claim); its links still verify.
    assert probe_cli("hub", "revoke", almaty, "--database", hub.database).returncode == 0
    later = tmp_path / "later.zip"
    assert probe_cli("hub", "export", "--database", hub.database, "--out", str(later)).returncode == 0
    checked = probe_cli("hub", "verify", str(later))
    assert checked.returncode == 0 and f"probe {almaty}: the hub says this key was revoked" in checked.stdout
    assert "revoked on the hub on" in members(later)["report.html"].decode()
    # What a browser renders (headless Chromium, from the file: no server, and the CSP forbids any fetch).
    page = tmp_path / "report.html"
    page.write_bytes(a["report.html"])
    dom = subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'chr'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert "rferl.org was blocked for 2 probes" in dom.stdout, dom.stderr[-500:]
    assert re.search(r'<svg class="chart grid"[^>]*>.*<rect[^>]*class="blocked"', dom.stdout), dom.stdout[-2000:]


def test_tampered_hub_bundles_fail_verify_and_gaps_are_shown_as_gaps(make_hub: Any, tmp_path: Path) -> None:
    hub = make_hub()
    almaty, astana = two_probes(hub, tmp_path)
    good = tmp_path / "good.zip"
    assert probe_cli("hub", "export", "--database", hub.database, "--out", str(good), "--site",
                     "rferl.org").returncode == 0
    entries = members(good)
    name_a = next(n for n in entries if n.startswith("links/") and almaty.removeprefix("ed25519:") in n)
    name_b = next(n for n in entries if n.startswith("links/") and astana.removeprefix("ed25519:") in n)
    lines_a = entries[name_a].splitlines(keepends=True)

    def fails(entries_: dict[str, bytes], needle: str, label: str, **kw: Any) -> None:
        done = verify(write(tmp_path / f"{label}.zip", entries_, **kw))
        assert done.returncode == 1, (label, done.stdout)
        assert needle in done.stdout + done.stderr, (label, done.stdout + done.stderr)

    # An edited record: its hash no longer holds (manifest fixed or not).
    fails({**entries, name_a: entries[name_a].replace(b"rferl.org", b"rferl.orq", 1)}, "record was changed", "edit")
    fails({**entries, name_a: entries[name_a].replace(b"rferl.org", b"rferl.orq", 1)}, "changed after export",
          "edit-raw", fix_manifest=False)
    # The measurement link dropped from between its neighbours: its signed verdict is left without it.
    measurement = next(i for i, line in enumerate(lines_a) if json.loads(line)["kind"] == "measurement")
    dropped = b"".join(line for i, line in enumerate(lines_a) if i != measurement)
    fails({**entries, name_a: dropped}, "its measurement link was removed", "drop")
    # One link's signature swapped for its neighbour's.
    first, second = json.loads(lines_a[0]), json.loads(lines_a[1])
    first["signature"], second["signature"] = second["signature"], first["signature"]
    swapped = (json.dumps(first) + "\n" + json.dumps(second) + "\n").encode() + b"".join(lines_a[2:])
    fails({**entries, name_a: swapped}, "the signature is not by the probe's key", "swap")
    # A link moved from one probe's file to the other's.
    moved_a = b"".join(lines_a[1:])
    fails({**entries, name_a: moved_a, name_b: entries[name_b] + lines_a[0]}, "signed by another key", "move")
    # A report that claims more than the links hold (manifest made consistent): rendered again, it differs.
    report = entries["report.html"].replace(b"blocked for 2 probes", b"blocked for 7 probes")
    fails({**entries, "report.html": report}, "claims something the links do not hold", "report")
    # A link repeated (the report would count it twice): refused, not joined.
    fails({**entries, name_a: lines_a[0] + entries[name_a]}, "repeats a link", "repeat")
    # Hostile files: one line, never a traceback.
    bad = {**entries, "probes.json": b'{"not": "a list"}'}
    done = verify(write(tmp_path / "hostile.zip", bad))
    assert done.returncode != 0 and "probes.json is not a list" in done.stderr and "Traceback" not in done.stderr
    # A gap: two chain segments per probe (a site filter selects), a warning naming the seqs, not a failure.
    done = verify(good)
    assert done.returncode == 0 and re.search(r"WARN .*gap: the links between seq \d+ and seq \d+", done.stdout)


def _partial_server(*, hang: bool) -> tuple[socket.socket, threading.Thread]:
    """A 'hub' that promises a large zip, sends 64 KiB of it, then hangs (or closes the connection)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: 10000000\r\n\r\n"
                         + b"PK" + b"\0" * 65534)
            if hang:
                time.sleep(30)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_killed_or_cut_off_download_leaves_nothing_beside_the_destination(tmp_path: Path) -> None:
    out = tmp_path / "out" / "b.zip"
    server, _ = _partial_server(hang=True)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    with subprocess.Popen([sys.executable, "-m", "probe", "export", "--hub", url, "--token", "t" * 40,
                           "--out", str(out)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                p.stat().st_size >= 65536 for p in out.parent.glob(".*probe-export-*/*.partial")):
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    server.close()
    assert list(out.parent.glob(".*probe-export-*")), "the download never started"
    assert not out.exists()
    cut, _ = _partial_server(hang=False)  # the next export: cut off mid-body, and it clears the killed one's folder
    done = probe_cli("export", "--hub", f"http://127.0.0.1:{cut.getsockname()[1]}", "--token", "t" * 40,
                     "--out", str(out))
    cut.close()
    assert done.returncode != 0 and "the hub did not answer" in done.stderr and "Traceback" not in done.stderr
    assert list(out.parent.iterdir()) == []
