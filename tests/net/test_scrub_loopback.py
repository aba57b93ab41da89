"""End to end on loopback (issue 18 #4): an origin echoes the volunteer's address in every spelling the
hostile run found (body, title, header, the query of a Location, a UTF-16 page); `probe run`'s runner
stores none of it, and the export's leak check then passes because there is nothing left to refuse."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote

from conftest import serve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from probe.addresses import IPAddress, find, find_bytes
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import fingerprint
from probe.measure.runner import RunContext, run_targets
from probe.models import Target
from probe.models.settings import MeasureSettings, Timeouts
from probe.store import EntryFilter, Store
from probe.store.sink import StoreSink

OWN = "192.0.2.2"  # what the helper told the probe; the origin (on loopback) echoes it back
SPELLINGS = ["ip-192-0-2-2", "192.000.002.002", "192%2E0%2E2%2E2", "192\\u002e0\\u002e2\\u002e2",
             "2.2.0.192.in-addr.arpa", "3221225986", "0xC0000202", "0xc0.0x00.0x02.0x02", "192&#46;0&#46;2&#46;2"]
SETTINGS = MeasureSettings(parallel=4, timeouts=Timeouts(dns_s=1, tcp_s=1, tls_s=1, http_s=2))
KEY = Ed25519PrivateKey.generate()


def _own(ip: IPAddress) -> bool:
    return str(ip) == OWN


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """/page/<i> redirects to /landing/<i>?ip=<spelling i>, echoing it in a header and the body;
    /landing/<i> answers a UTF-16 page that shows it again."""
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        path = head.split(" ", 2)[1]
        index = int(path.split("/")[2].split("?")[0])
        spelling = SPELLINGS[index]
        if path.startswith("/page/"):
            body = f"<html><title>Your IP {spelling}</title><p>you are {spelling}</p></html>".encode()
            writer.write(f"HTTP/1.1 302 Found\r\nX-Client-IP: {spelling}\r\nLocation: /landing/{index}?ip={spelling}"
                         f"&lang=kk\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        else:
            body = f"<html><title>Ваш IP {unquote(spelling)}</title><p>{spelling}</p></html>".encode("utf-16")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-16\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
        pass
    finally:
        writer.close()


def _sign(chain_hash_hex: str) -> tuple[str, str]:
    return KEY.sign(chain_hash_hex.encode("ascii")).hex(), fingerprint(KEY.public_key())


def test_an_echoing_origin_leaves_no_spelling_in_the_store_and_the_export_passes(tmp_path: Path) -> None:
    async def go(store: Store) -> None:
        server, port = await serve(_echo)
        targets = [Target(url=f"http://127.0.0.1:{port}/page/{i}", category_code="HUMR") for i in range(len(SPELLINGS))]
        ctx = RunContext(settings=SETTINGS, sink=StoreSink(store, signer=_sign), resolver=None, own_addresses={OWN})
        try:
            await run_targets(iter(targets), ctx)
        finally:
            server.close()

    with Store.open(tmp_path / "s.sqlite") as store:
        asyncio.run(go(store))
        entries = list(store.entries())
        assert len(entries) == len(SPELLINGS)
        echoed = 0
        for entry in entries:
            assert not find(entry.record, _own), entry.record
            assert not any(s in entry.record for s in SPELLINGS), entry.record
            m = entry.measurement()
            echoed += sum("[scrubbed]" in (h.response.header("X-Client-IP") or "") for h in m.requests if h.response)
            assert len(m.requests) == 2, "the redirect to the landing page was followed"
            for ref in m.artifacts:
                data = store.artifact(ref.sha256)
                assert data is not None and not find_bytes(data, _own), data
        assert echoed == len(SPELLINGS)
        out = tmp_path / "out.zip"
        export_bundle(store, out, key=KEY, filt=EntryFilter(), scrub_ips=(OWN,))
    assert out.exists()
