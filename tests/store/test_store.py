"""The SQLite store: append-only chain, artifacts by hash, verdicts apart, runs, bad paths."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from probe.errors import StoreError
from probe.models import Artifact, Measurement, ProbeNetwork, Verdict
from probe.models.canonical import GENESIS_HASH, canonical_json, chain_hash, sha256_hex
from probe.store import EntryFilter, Store
from probe.store.schema import MIGRATIONS
from probe.store.writes import batch_appends


def make_measurement(i: int, url: str = "https://selftanu.kz/") -> Measurement:
    return Measurement(measurement_id=f"00000000-0000-4000-8000-{i:012d}", input=url,
                       test_start_time=f"2026-11-{10 + i % 10:02d}T10:00:00.000000Z", measurement_runtime_s=0.1,
                       software_version="test", network=ProbeNetwork(probe_asn="AS9198", probe_cc="KZ"))


VERDICT = Verdict(label="tls.timeout", confidence="likely", blocking="http-failure", accessible=False,
                  reasons=["r"])


def test_chain_links_each_record_to_the_previous(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        entries = [store.append(make_measurement(i)) for i in range(3)]
    prev = GENESIS_HASH
    for e in entries:
        assert e.record_sha256 == sha256_hex(e.record.encode())
        assert e.record.encode() == canonical_json(e.measurement().model_dump(mode="json"))
        assert e.prev_hash == prev and e.chain_hash == chain_hash(prev, e.record_sha256)
        prev = e.chain_hash


def test_measurements_are_append_only(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.append(make_measurement(1))
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE measurements SET input='x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM measurements")


def test_artifacts_are_content_addressed_and_prunable(tmp_path: Path) -> None:
    body = Artifact.of("http_body", b"<title>Selftanu</title>")
    with Store.open(tmp_path / "s.sqlite") as store:
        store.append(make_measurement(1), [body, body])
        store.append(make_measurement(2), [body])
        assert store.artifact(body.sha256) == body.data
        assert store.prune_artifacts(older_than="9999-01-01") == 1
        assert store.artifact(body.sha256) is None
        assert store.artifact_info(body.sha256) is not None  # the hash stays, the bytes go


def test_verdicts_change_without_touching_the_evidence(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        e = store.append(make_measurement(1), verdict=VERDICT)
        store.append_verdict(e.measurement_id, VERDICT.model_copy(update={"label": "ok"}))
        # A new verdict record is chained after the first; the first stays.
        assert [link.seq for link in store.verdict_links(e.measurement_id)] == [e.seq + 1, e.seq + 2]
        again = store.get(e.measurement_id[:8] + "0000-4000")  # not a prefix: no match
        assert again is None
        after = store.get(e.measurement_id)
        assert after and after.verdict and after.verdict.label == "ok" and after.chain_hash == e.chain_hash


def test_filters(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        store.append(make_measurement(1), verdict=VERDICT)
        store.append(make_measurement(2, "http://who.int/"))
        assert [e.input for e in store.entries(EntryFilter(host="WHO.int"))] == ["http://who.int/"]
        assert len(list(store.entries(EntryFilter(verdict="blocked")))) == 1
        assert len(list(store.entries(EntryFilter(since="2026-11-12")))) == 1
        assert len(list(store.entries(EntryFilter(limit=1)))) == 1


def test_signer_is_called_with_the_chain_hash(tmp_path: Path) -> None:
    seen: list[str] = []

    def signer(link: str) -> tuple[str, str]:
        seen.append(link)
        return "sig-" + link[:8], "ed25519:" + "0" * 64

    with Store.open(tmp_path / "s.sqlite") as store:
        e = store.append(make_measurement(1), signer=signer)
    # The store signs each link's chain hash; the first link a key signs here is its key record.
    assert e.chain_hash in seen and e.signature == "sig-" + e.chain_hash[:8]
    with Store.open(tmp_path / "s.sqlite") as store:
        kinds = [link.kind for link in store.links()]
    assert kinds == ["key", "measurement"]


def test_an_unsigned_link_after_signed_ones_is_refused(tmp_path: Path) -> None:
    def signer(link: str) -> tuple[str, str]:
        return "ab" * 64, "ed25519:" + "0" * 64

    with Store.open(tmp_path / "s.sqlite") as store:
        store.append(make_measurement(1), signer=signer)
        with pytest.raises(StoreError, match="refusing to add an unsigned one"):
            store.append(make_measurement(2))
        assert store.count() == 1


def test_runs_can_be_continued_without_measuring_twice(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        assert store.start_run("r1", "kz") == set()
        store.append(make_measurement(1), run_id="r1")
        assert store.unfinished_runs() == [("r1", "kz")]
        assert store.start_run("r1", "kz") == {"https://selftanu.kz/"}
        store.finish_run("r1", "finished", {"ok": 1})
        assert store.unfinished_runs() == []


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    Store.open(path).close()
    names = [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM migrations")]
    assert names == [name for name, _ in MIGRATIONS]


def test_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.open(bad)


def test_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the store folder"):
        Store.open(blocker / "sub" / "s.sqlite")


def test_batched_appends_wait_for_a_commit_and_a_failed_one_is_undone_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.batch.interval_s = 3600.0
        store.append(make_measurement(1), verdict=VERDICT)
        store.append(make_measurement(2), verdict=VERDICT)
        assert store.batch.pending and store.count() == 2
        with Store.open(path) as other:
            assert other.count() == 0  # not committed yet: another reader sees nothing
        with pytest.raises(StoreError):
            store.append(make_measurement(1), verdict=VERDICT)  # the same id again: refused
        assert not store.batch.pending  # the failure committed the batch's earlier appends
        with Store.open(path) as other:
            assert other.count() == 2
        store.append(make_measurement(3), verdict=VERDICT)
        store.flush()
        with Store.open(path) as other:
            entries = list(other.entries())
            links = list(other.links())
    assert [e.measurement_id[-1] for e in entries] == ["1", "2", "3"]
    assert all(e.verdict is not None for e in entries)
    prev = GENESIS_HASH
    for link in links:  # verdict links sit between measurements: follow the whole chain
        assert link.prev_hash == prev and link.chain_hash == chain_hash(prev, link.record_sha256)
        prev = link.chain_hash
    assert len(links) == 6


def test_a_batch_commits_before_another_write_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.batch.interval_s = 3600.0
        store.append(make_measurement(1), run_id="r1")
        store.start_run("r2", None)  # a write transaction of its own: the batch is committed first
        assert not store.batch.pending
        with Store.open(path) as other:
            assert other.count() == 1
        store.append(make_measurement(2))
    with Store.open(path) as store:
        assert store.count() == 2


def test_a_batch_past_its_interval_commits_with_its_next_append(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.batch.interval_s = 0.05
        store.append(make_measurement(1))
        assert store.batch.pending
        time.sleep(0.06)
        store.append(make_measurement(2))
        assert not store.batch.pending
        with Store.open(path) as other:
            assert other.count() == 2


def test_the_flusher_commits_a_batch_no_further_append_comes_to(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    errors: list[StoreError] = []

    async def run(store: Store) -> None:
        stop = batch_appends(store.batch, 0.05, on_error=errors.append)
        try:
            store.append(make_measurement(1))
            assert store.batch.pending
            await asyncio.sleep(0.3)
            assert not store.batch.pending
        finally:
            stop()
        assert store.batch.interval_s == 0.0

    with Store.open(path) as store:
        asyncio.run(run(store))
        with Store.open(path) as other:
            assert other.count() == 1
    assert errors == []


def test_append_returns_the_entry_a_read_gives(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        store.start_run("r1", None)
        measurement = make_measurement(1, url="https://Example.KZ/page").model_copy(update={"category_code": "NEWS"})
        appended = [store.append(measurement, verdict=VERDICT, run_id="r1"), store.append(make_measurement(2))]
        assert appended == [store.get(e.measurement_id) for e in appended]
