"""What `probe run` says on stderr about the parts that are not configured, and a mistyped --asn-db.

Each gap is one `note:` line, said once: no control helper, no IP-to-ASN database, no signing key.
The origin is a loopback HTTP server reached by IP literal: nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from probe.evidence.keys import generate_key

UNSIGNED = "note: measurements are chained but not signed: run `probe init` to make this probe's key"
NO_ASN_DB = "note: no IP-to-ASN database given (--asn-db FILE): networks will show as AS0/ZZ"


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    class Page(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b"<html><title>origin</title></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def probe(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PROBE_KEY=str(home / "key"), XDG_CONFIG_HOME=str(home / "cfg"))
    return subprocess.run([sys.executable, "-m", "probe", "run", "--no-progress", "--allow-private-targets",
                           "--store", str(home / "s.sqlite"),
                           *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_each_missing_part_is_one_note(tmp_path: Path, origin: str) -> None:
    out = probe(tmp_path, origin)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count(UNSIGNED) == 1 and out.stderr.count(NO_ASN_DB) == 1
    assert out.stderr.count("note: no control helper given") == 1
    assert "1 measured" in out.stdout


def test_no_notes_for_a_key_and_an_asn_database(tmp_path: Path, origin: str) -> None:
    generate_key(tmp_path / "key")
    asn = tmp_path / "asn.tsv"
    asn.write_text("127.0.0.0\t127.255.255.255\t64500\tZZ\tLOOPBACK-TEST\n", encoding="utf-8")
    out = probe(tmp_path, "--asn-db", str(asn), origin)
    assert out.returncode == 0, out.stderr
    assert UNSIGNED not in out.stderr and NO_ASN_DB not in out.stderr


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_a_mistyped_asn_db_is_an_error_before_anything_is_stored(tmp_path: Path, origin: str, where: str) -> None:
    path = tmp_path / "typo.tsv" if where == "missing" else tmp_path
    out = probe(tmp_path, "--asn-db", str(path), origin)
    assert out.returncode == 2 and "--asn-db" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "s.sqlite").exists()


def test_a_file_that_is_no_asn_database_is_an_error_before_anything_is_stored(tmp_path: Path, origin: str) -> None:
    bad = tmp_path / "asn.tsv"
    bad.write_text("this is not\tan iptoasn\nfile\n", encoding="utf-8")
    out = probe(tmp_path, "--asn-db", str(bad), origin)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "s.sqlite").exists()


def test_a_bad_row_in_a_list_is_reported_and_the_other_rows_are_measured(tmp_path: Path, origin: str) -> None:
    listed = tmp_path / "mixed.csv"
    listed.write_text("url,category_code,category_description,date_added,source,notes\n"
                      f"{origin},NEWS,News Media,2026-11-27,test,\n"
                      "javascript:alert(1),NEWS,News Media,2026-11-27,test,\n", encoding="utf-8")
    out = probe(tmp_path, "--list", str(listed))
    assert out.returncode == 0, out.stderr
    assert f"skipped: {listed}:3:" in out.stderr and "javascript" in out.stderr
    assert "1 measured" in out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_helper_with_a_database_names_the_network_and_the_note_goes(tmp_path: Path, origin: str) -> None:
    """No --asn-db here: the helper's operator installed one (`control serve --asn-db`), so the run
    records the network the helper names, says who named it, and does not warn about AS0/ZZ."""
    asn = tmp_path / "helper-asn.tsv"
    asn.write_text("127.0.0.0\t127.255.255.255\t9198\tKZ\tJSC Kazakhtelecom\n", encoding="utf-8")
    port = _free_port()
    helper = subprocess.Popen([sys.executable, "-m", "probe", "control", "serve", "--listen", f"127.0.0.1:{port}",
                               "--plain-http", "--allow", "127.0.0.0/8", "--asn-db", str(asn)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        out = probe(tmp_path, "--control", f"http://127.0.0.1:{port}/", origin)
    finally:
        helper.terminate()
        helper.wait(10)
    assert out.returncode == 0, out.stderr
    assert NO_ASN_DB not in out.stderr and "refused" not in out.stderr, out.stderr
    with closing(sqlite3.connect(tmp_path / "s.sqlite")) as store:
        [(record,)] = store.execute("SELECT record FROM measurements").fetchall()
    network = json.loads(record)["network"]
    assert (network["probe_asn"], network["probe_cc"], network["probe_network_name"], network["network_source"]) == (
        "AS9198", "KZ", "JSC Kazakhtelecom", "helper")
