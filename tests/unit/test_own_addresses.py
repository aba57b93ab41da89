"""The probe's own addresses are remembered across runs (as keyed hashes, owner-only), so a run that
cannot learn its public address (control blocked or absent) still scrubs it, and an export that
would carry one is refused."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import blockpage

from probe.addresses import IPAddress, parse
from probe.errors import EvidenceError
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import fingerprint
from probe.measure.runner import RunContext, run_targets
from probe.models import Artifact, ArtifactRef, HTTPResponse, Target
from probe.models.settings import MeasureSettings
from probe.store import EntryFilter, Store
from probe.store.own_addresses import OwnAddressMemory, memory_path
from probe.store.sink import StoreSink

PUBLIC_V4 = "203.0.113.7"  # documentation range: stands for the volunteer's public address behind NAT


def _ip(text: str) -> IPAddress:
    ip = parse(text)
    assert ip is not None
    return ip


def test_remembered_as_keyed_hashes_in_an_owner_only_file_with_the_key_apart(tmp_path: Path) -> None:
    path, key = memory_path(tmp_path / "results" / "probe.sqlite"), tmp_path / "cfg" / "own-addresses.key"
    path.parent.mkdir()
    memory = OwnAddressMemory.load(path, key)
    assert not path.exists() and not memory.knows(_ip(PUBLIC_V4))
    assert memory.remember([PUBLIC_V4, "::ffff:198.51.100.9", "127.0.0.1", "not an address"])
    assert not memory.remember([PUBLIC_V4])  # nothing new: nothing written
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(key.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert PUBLIC_V4 not in text and "198.51.100.9" not in text
    assert key.read_text(encoding="ascii").strip() not in text  # the digests alone cannot be brute-forced
    again = OwnAddressMemory.load(path, key)
    assert len(again) == 2
    assert again.knows(_ip(PUBLIC_V4)) and again.knows(_ip("198.51.100.9")) and not again.knows(_ip("127.0.0.1"))
    assert not again.knows(_ip("203.0.113.8"))


def test_a_damaged_file_starts_a_new_memory_instead_of_failing(tmp_path: Path) -> None:
    path, key = memory_path(tmp_path / "probe.sqlite"), tmp_path / "own-addresses.key"
    path.write_text("{not json", encoding="utf-8")
    memory = OwnAddressMemory.load(path, key)
    assert len(memory) == 0 and memory.remember([PUBLIC_V4]) and OwnAddressMemory.load(path, key).knows(_ip(PUBLIC_V4))
    key.write_text("damaged", encoding="ascii")
    assert len(OwnAddressMemory.load(path, key)) == 0  # no usable key: this process only, no crash


def test_two_writers_merge_instead_of_overwriting_each_other(tmp_path: Path) -> None:
    path, key = memory_path(tmp_path / "probe.sqlite"), tmp_path / "own-addresses.key"
    daemon, run = OwnAddressMemory.load(path, key), OwnAddressMemory.load(path, key)
    daemon.remember([PUBLIC_V4])
    run.remember(["2001:db8:1:2::7"])
    merged = OwnAddressMemory.load(path, key)
    assert merged.knows(_ip(PUBLIC_V4)) and merged.knows(_ip("2001:db8:1:2::7"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own-addresses.key", "probe.own-addresses.json"]


async def _echo_origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    body = f"<html><title>echo</title>Your IP address is {PUBLIC_V4}.</html>".encode()
    writer.write(b"HTTP/1.1 200 OK\r\nX-Forwarded-For: ::ffff:" + PUBLIC_V4.encode() + b"\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    writer.close()


def test_a_run_without_a_control_scrubs_an_address_an_earlier_run_learned(tmp_path: Path) -> None:
    store_path, key = tmp_path / "probe.sqlite", tmp_path / "own-addresses.key"
    OwnAddressMemory.load(memory_path(store_path), key).remember([PUBLIC_V4])  # what an earlier run's control saw

    async def run() -> None:
        origin = await asyncio.start_server(_echo_origin, "127.0.0.1", 0)
        port = origin.sockets[0].getsockname()[1]
        try:
            with Store.open(store_path) as store:
                ctx = RunContext(settings=MeasureSettings(), sink=StoreSink(store, signer=None), resolver=None,
                                 control=None,
                                 own_memory=OwnAddressMemory.load(memory_path(store_path), key))
                await run_targets([Target(url=f"http://127.0.0.1:{port}/")], ctx)
        finally:
            origin.close()

    asyncio.run(run())
    with Store.open(store_path) as store:
        entry = next(store.entries())
        response = entry.measurement().requests[0].response
        assert response is not None and response.body_sha256 is not None
        body = store.artifact(response.body_sha256)
    assert PUBLIC_V4 not in entry.record and body is not None and PUBLIC_V4.encode() not in body
    assert b"Your IP address is [scrubbed]." in body and "[scrubbed]" in entry.record


def test_an_export_is_refused_when_a_record_holds_an_address_remembered_later(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "probe.key"))  # the memory's key sits beside it
    store_path = tmp_path / "probe.sqlite"
    m, _, v = blockpage(9, datetime(2026, 11, 27, tzinfo=UTC))
    body = Artifact.of("http_body", b"<html>Your IP: 2001:db8:1:2:0:0:0:7</html>")  # stored before it was known
    hop = m.requests[0]
    assert hop.response is not None
    response = HTTPResponse(code=200, headers=hop.response.headers, body_length=len(body.data),
                            body_sha256=body.sha256)
    ref = ArtifactRef(sha256=body.sha256, kind="http_body", size=len(body.data))
    echoed = m.model_copy(update={"requests": [hop.model_copy(update={"response": response})], "artifacts": [ref]})
    key = Ed25519PrivateKey.generate()

    def sign(chain_hash_hex: str) -> tuple[str, str]:
        return key.sign(chain_hash_hex.encode("ascii")).hex(), fingerprint(key.public_key())

    with Store.open(store_path) as store:
        store.append(echoed, [body], v, signer=sign)
    out = tmp_path / "out.zip"
    with Store.open(store_path) as store:
        export_bundle(store, out, key=key, filt=EntryFilter())  # not known yet: exported
        OwnAddressMemory.load(memory_path(store_path), tmp_path / "own-addresses.key").remember(["2001:db8:1:2::7"])
        with pytest.raises(EvidenceError, match="artifacts/http/") as caught:
            export_bundle(store, tmp_path / "again.zip", key=key, filt=EntryFilter())
    assert "nothing was written" in caught.value.message and not (tmp_path / "again.zip").exists()
