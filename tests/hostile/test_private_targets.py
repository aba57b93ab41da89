"""Issue 18 #8: a shared list must not make a volunteer fetch, store and sign pages from their own network.

Private, loopback, link-local, unique-local, unspecified and multicast IP literals (IPv4, IPv6, IPv4
inside IPv6) and local-only names are refused, each named on one line, unless --allow-private-targets
(or `allow_private_targets = true`) says otherwise; --not-bogon ranges (a lab's own) count as public.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from probe.measure.url import measure_url
from probe.models import Measurement, ProbeNetwork
from probe.models.settings import MeasureSettings, Timeouts
from probe.targets.urls import normalise_url, private_target

REFUSED = ["http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.1/",
           "http://172.16.5.4:8080/", "http://127.0.0.1/", "http://0.0.0.0/", "http://[::]/", "http://[fe80::1]/",
           "http://[fd00::1]/", "http://224.0.0.251/", "http://[ff02::1]/", "http://[::ffff:192.168.1.1]/",
           "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:c0a8:101::1]/", "http://100.64.0.1/",
           "http://localhost.localdomain/", "http://printer.local/", "http://router.lan/", "http://nas.home.arpa/",
           "http://app.localhost/", "http://db.internal/"]
PUBLIC = ["https://selftanu.kz/", "http://93.184.216.34/", "http://[2001:4860:4860::8888]/", "https://local.kz/",
          "https://lan.example.org/"]
LAB = ["10.77.0.0/16", "198.18.0.0/15", "fd77::/16"]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_targets_are_named(url: str) -> None:
    assert private_target(normalise_url(url)) is not None


@pytest.mark.parametrize("url", PUBLIC)
def test_public_targets_pass(url: str) -> None:
    assert private_target(normalise_url(url)) is None


def test_a_labs_ranges_count_as_public_when_it_says_so() -> None:
    for url in ("http://10.77.3.4/", "http://198.18.0.9/", "http://[fd77::9]/"):
        assert private_target(url) is not None and private_target(url, public_ranges=LAB) is None
    assert private_target("http://10.78.0.1/", public_ranges=LAB) is not None


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PROBE_KEY=str(tmp_path / "no-key"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.run([sys.executable, "-m", "probe", "run", "--no-progress", "--store", str(tmp_path / "s.sqlite"),
                           "--resolver", "127.0.0.1:9", "--timeout-tcp", "1", "--timeout-dns", "1", *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_run_refuses_each_private_target_and_stores_nothing(tmp_path: Path) -> None:
    lines = ["url,category_code,category_description,date_added,source,notes"]
    lines += [f"{u},HUMR,Human Rights Issues,2026-01-01,shared," for u in REFUSED[:6]]
    (tmp_path / "shared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _run(tmp_path, "--list", str(tmp_path / "shared.csv"), "http://[::1]:8080/", "http://169.254.169.254/")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "nothing to measure" in out.stderr
    assert out.stderr.count("not measured:") == 8 and out.stderr.count("--allow-private-targets") == 8
    assert not (tmp_path / "s.sqlite").exists()


def test_the_flag_or_a_not_bogon_range_allows_them(tmp_path: Path) -> None:
    allowed = _run(tmp_path, "--allow-private-targets", "http://127.0.0.1:9/")
    assert allowed.returncode == 0 and "not measured" not in allowed.stderr, allowed.stderr
    lab = _run(tmp_path, "--not-bogon", "127.0.0.0/8", "http://127.0.0.1:9/")
    assert lab.returncode == 0 and "not measured" not in lab.stderr, lab.stderr


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/admin",
                                      "http://router.lan/", "http://192.168.1.1/"])
def test_a_redirect_into_the_volunteers_network_is_not_followed(location: str) -> None:
    """A public site (here: loopback counted public via not_bogon) answering 302 to a LAN address."""
    async def origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def main() -> Measurement:
        server = await asyncio.start_server(origin, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        settings = MeasureSettings(not_bogon=["127.0.0.0/8"], resolver="127.0.0.1:9",
                                   timeouts=Timeouts(dns_s=1, tcp_s=1, tls_s=1, http_s=2))
        try:
            measured = await measure_url(f"http://127.0.0.1:{port}/", settings=settings, resolver="127.0.0.1:9",
                                         control=None, network=ProbeNetwork())
        finally:
            server.close()
        return measured.measurement
    m = asyncio.run(main())
    assert [r.response.code for r in m.requests if r.response] == [302]  # kept as evidence, not followed
    assert [t.ip for t in m.tcp_connect] == ["127.0.0.1"] and m.final_failure is None
    assert not m.queries or all(q.hostname != "router.lan" for q in m.queries)
