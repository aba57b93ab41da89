"""Every fault the hub must survive: each leaves nothing lost and nothing forged, and others still upload.

Real PostgreSQL, real uvicorn hubs in subprocesses, real probe stores and keys; timeouts are set short
through the [hub] section so slow-client and busy cases finish in seconds.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from probe.evidence.keys import load_private_key, public_key_pem
from probe.hub.upload import join_hub, upload_all
from probe.hub.wire import ChainLink, UploadBatch
from probe.models.canonical import chain_hash, sha256_hex
from probe.store import Store
from probe.store.outbox import add_hub, hubs
from tests.hub.conftest import Hub, TempPostgres, Volunteer, make_volunteer, probe_cli
from tests.hub.test_hub_enrol_upload import batch_of, post, upload


def enrol(hub: Hub, volunteer: Volunteer, name: str = "Almaty 3") -> str:
    pem = public_key_pem(load_private_key(volunteer.key).public_key()).decode()
    result = asyncio.run(join_hub(hub_url=hub.url, token=hub.invite(name), public_key_pem=pem))
    with Store.open(volunteer.store) as store:
        add_hub(store, hub_url=hub.url, hub_name=result.name, key_fingerprint=result.key_fingerprint)
    return result.key_fingerprint


def test_a_fork_is_refused_logged_as_tampering_and_stores_nothing(make_hub: Any, volunteer: Volunteer,
                                                                  tmp_path: Path) -> None:
    hub = make_hub()
    head = volunteer.measure(1)
    fp = enrol(hub, volunteer)
    assert upload(volunteer)[0].sent == head
    # The same key, a second store: a restored backup that carried on, or a forger with the key.
    twin = Volunteer(key=volunteer.key, store=tmp_path / "twin.sqlite")
    twin.measure(1)
    answer = post(hub, batch_of(twin))
    assert answer.status_code == 409 and "forks the chain" in answer.json()["error"]
    assert hub.sql("SELECT count(*) FROM links")[0][0] == head
    events = hub.sql("SELECT kind, detail FROM chain_events WHERE key_fingerprint = %s", fp)
    assert [e[0] for e in events] == ["fork"] and "tampering" in events[0][1]
    assert "TAMPERING" in hub.log()
    assert "<td>1</td>" in httpx.get(hub.url + "/").text  # forks refused, on the page
    more = volunteer.measure(1) - head
    assert upload(volunteer)[0].sent == more  # the honest chain goes on


def test_a_gap_is_recorded_shown_and_resolved_when_the_missing_links_arrive(make_hub: Any,
                                                                            volunteer: Volunteer) -> None:
    hub = make_hub()
    volunteer.measure(2)
    fp = enrol(hub, volunteer)
    links = batch_of(volunteer)
    assert post(hub, links[:3]).json()["gaps"] == 0
    answer = post(hub, links[6:])
    assert answer.status_code == 200 and answer.json() == {"accepted": len(links) - 6, "duplicates": 0, "gaps": 1,
                                                           "clock_ahead": 0}
    assert hub.sql("SELECT seq, missing_hash FROM chain_events WHERE kind = 'gap' AND resolved_at IS NULL") == [
        (7, links[5].chain_hash)]
    assert "<td>1</td>" in httpx.get(hub.url + "/").text  # one open gap for this probe
    assert post(hub, links[3:6]).json()["accepted"] == 3
    assert hub.sql("SELECT count(*) FROM chain_events WHERE key_fingerprint = %s AND resolved_at IS NOT NULL",
                   fp) == [(1,)]
    assert hub.sql("SELECT count(*) FROM links")[0][0] == len(links)


def test_bad_bodies_get_clear_errors(make_hub: Any, volunteer: Volunteer) -> None:
    hub = make_hub()
    head = volunteer.measure(1)
    enrol(hub, volunteer)
    answer = post(hub, b'{"links": [{"seq": 1,')
    assert answer.status_code == 400 and answer.json()["error"].startswith("malformed JSON")
    answer = post(hub, '{"links": [], "extra": 1}')
    assert answer.status_code == 400
    link = {**batch_of(volunteer)[0].model_dump(), "ip": "10.77.1.2"}  # unknown fields are refused
    answer = post(hub, json.dumps({"links": [link]}))
    assert answer.status_code == 400 and "ip" in answer.json()["error"]
    big = b'{"links": [' + b" " * (50 * 1024 * 1024) + b"]}"
    try:
        answer = post(hub, big)
        assert answer.status_code == 413 and "larger than" in answer.json()["error"]
    except httpx.WriteError:
        pass  # the hub answered 413 and closed before the client finished writing 50 MB: refused either way
    chunked = httpx.post(hub.url + "/api/v1/links", content=iter([b" " * 1024 * 1024] * 20),
                         headers={"content-type": "application/json"}, timeout=30)
    assert chunked.status_code == 413  # no Content-Length: counted while it arrives
    assert hub.sql("SELECT count(*) FROM links")[0][0] == 0
    assert upload(volunteer)[0].sent == head  # and the hub still serves


def test_a_client_sending_a_byte_a_second_is_cut_off_and_others_still_upload(make_hub: Any, volunteer: Volunteer,
                                                                             tmp_path: Path) -> None:
    hub = make_hub(body_timeout="2s")
    head = volunteer.measure(1)
    enrol(hub, volunteer)
    answers: list[bytes] = []
    sent_before_answer: list[int] = []

    def slow() -> None:
        with socket.create_connection(("127.0.0.1", hub.port), timeout=20) as sock:
            sock.sendall(b"POST /api/v1/links HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n")
            for sent in range(1, 21):
                sock.sendall(b" ")
                if select.select([sock], [], [], 1.0)[0]:  # a byte a second, until the hub answers
                    sent_before_answer.append(sent)
                    data = b""
                    while not data.endswith(b"}"):  # the status line and the JSON body may come apart
                        chunk = sock.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    answers.append(data)
                    return

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    assert upload(volunteer)[0].sent == head  # meanwhile, others are served
    thread.join(30)
    assert answers and answers[0].startswith(b"HTTP/1.1 408") and b"longer than 2s" in answers[0]
    assert sent_before_answer[0] <= 4  # cut off after its 2 s, not when it pleased


def test_500_uploaders_at_once_get_503_with_retry_after_and_all_arrive_once(make_hub: Any,
                                                                            tmp_path: Path) -> None:
    hub = make_hub(max_concurrency=4, retry_after=1)
    volunteers = [make_volunteer(tmp_path / f"v{i}") for i in range(5)]
    total = 0
    for v in volunteers:
        total += v.measure(1)
        enrol(hub, v, name=f"probe {v.key.parent.name}")
    bodies = [UploadBatch(links=batch_of(v)).model_dump_json() for v in volunteers]

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(client.post(hub.url + "/api/v1/links", content=bodies[i % 5],
                                                      headers={"content-type": "application/json"})
                                          for i in range(500)))

    answers = asyncio.run(storm())
    busy = [a for a in answers if a.status_code == 503]
    assert {a.status_code for a in answers} <= {200, 503}
    assert busy and all(a.headers["retry-after"] == "1" for a in busy)
    stored = hub.sql("SELECT count(*), count(DISTINCT (key_fingerprint, chain_hash)) FROM links")[0]
    assert stored[0] == stored[1] <= total  # each link at most once, however often it came
    # Each probe's own upload (which honours Retry-After) completes; nothing is stored twice.
    for v in volunteers:
        assert upload(v)[0].error is None
    assert hub.sql("SELECT count(*), count(DISTINCT (key_fingerprint, chain_hash)) FROM links") == [(total, total)]


def test_the_hub_killed_mid_batch_loses_nothing_and_stores_nothing_twice(make_hub: Any,
                                                                         volunteer: Volunteer) -> None:
    hub = make_hub()
    head = volunteer.measure(40)  # 481 links (a key record, 240 measurements, their verdicts), 20 at a time
    enrol(hub, volunteer)
    outcome: list[Any] = []

    def send() -> None:
        with Store.open(volunteer.store) as store:
            outcome.extend(asyncio.run(upload_all(store, batch=20)))

    thread = threading.Thread(target=send)
    thread.start()
    deadline = time.monotonic() + 60
    while hub.sql("SELECT count(*) FROM links")[0][0] < 80 and time.monotonic() < deadline:
        time.sleep(0.02)
    hub.kill()
    thread.join(60)
    stored = hub.sql("SELECT count(*) FROM links")[0][0]
    assert outcome[0].error and 0 < stored < head
    with Store.open(volunteer.store) as store:
        acked = hubs(store)[0].acked_seq
    assert acked <= stored  # the cursor never runs ahead of what the hub committed
    hub.start()
    assert upload(volunteer)[0].error is None
    assert hub.sql("SELECT count(*), count(DISTINCT chain_hash), min(seq), max(seq) FROM links") == [
        (head, head, 1, head)]
    assert not hub.sql("SELECT 1 FROM chain_events WHERE kind = 'gap'")


def test_postgresql_restarted_under_load_loses_nothing(make_hub: Any, volunteer: Volunteer,
                                                       pg: TempPostgres) -> None:
    hub = make_hub(retry_after=1)
    head = volunteer.measure(40)
    enrol(hub, volunteer)
    outcome: list[Any] = []

    def send() -> None:
        with Store.open(volunteer.store) as store:
            outcome.extend(asyncio.run(upload_all(store, batch=10)))

    thread = threading.Thread(target=send)
    thread.start()
    while hub.sql("SELECT count(*) FROM links")[0][0] < 30:
        time.sleep(0.02)
    pg.restart()
    thread.join(120)
    if outcome[0].error:  # the restart outlasted the busy retries: the next upload finishes the job
        assert upload(volunteer)[0].error is None
    assert hub.sql("SELECT count(*), count(DISTINCT chain_hash) FROM links") == [(head, head)]
    assert httpx.get(hub.url + "/healthz").text == "ok"


def test_a_probe_whose_clock_is_two_days_off_is_kept_and_flagged_when_ahead(make_hub: Any, volunteer: Volunteer,
                                                                            tmp_path: Path) -> None:
    hub = make_hub()
    now = datetime.now(UTC)
    head = volunteer.measure(1, when=now + timedelta(days=2))
    fp = enrol(hub, volunteer)
    result = upload(volunteer)[0]
    assert result.error is None and result.stored == head
    events = hub.sql("SELECT kind, detail FROM chain_events WHERE key_fingerprint = %s", fp)
    assert [e[0] for e in events] == ["clock_ahead"] and "6 record(s)" in events[0][1]
    behind = make_volunteer(tmp_path / "behind")
    head_behind = behind.measure(1, when=now - timedelta(days=2))  # like a probe catching up: no flag
    fp_behind = enrol(hub, behind, name="Behind")
    assert upload(behind)[0].stored == head_behind
    assert not hub.sql("SELECT 1 FROM chain_events WHERE key_fingerprint = %s", fp_behind)
    # No uploader address anywhere: not in the hub's log, not in any table.
    assert "POST /api" not in hub.log()
    columns = hub.sql("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'")
    assert not [c for (c,) in columns if c == "ip" or "addr" in c or "client" in c]


def test_an_advocates_bundle_of_two_probes_verifies_offline_and_names_both(make_hub: Any, tmp_path: Path) -> None:
    hub = make_hub()
    almaty, astana = make_volunteer(tmp_path / "almaty"), make_volunteer(tmp_path / "astana")
    for v, name in ((almaty, "Almaty 3"), (astana, "Astana 1")):
        head = v.measure(2)
        enrol(hub, v, name=name)
        assert upload(v)[0].sent == head
    out = tmp_path / "bundle.zip"
    done = probe_cli("hub", "export", "--database", hub.database, "--out", str(out), "--site", "rferl.org")
    assert done.returncode == 0 and "4 measurements (8 signed links) from 2 probe(s)" in done.stdout, done.stderr
    checked = probe_cli("verify", str(out))
    assert checked.returncode == 0, checked.stdout
    assert "named 'Almaty 3' by the hub" in checked.stdout and "named 'Astana 1' by the hub" in checked.stdout
    # Each probe's two measurements with their verdicts: two segments of its chain (a site filter selects).
    assert checked.stdout.count("4 links verified, 2 chain segment(s)") == 2, checked.stdout
    timeline = httpx.get(hub.url + "/site", params={"host": "rferl.org"}).text
    # Two days (the rounds straddle midnight UTC), each with 2 measurements from 2 probes.
    assert timeline.count("<td>AS9198</td><td class=l>http.blockpage</td><td>2</td><td>2</td>") == 2, timeline
    download = httpx.get(hub.url + "/bundle", params={"site": "rferl.org"}, timeout=60)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    (tmp_path / "page.zip").write_bytes(download.content)
    assert probe_cli("verify", str(tmp_path / "page.zip")).stdout.count("by the hub (the hub's claim") == 2
    # One changed byte in one record: that probe fails, named; nothing else is affected.
    with zipfile.ZipFile(out) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    name = next(n for n in entries if n.startswith("links/"))
    entries[name] = entries[name].replace(b"rferl.org", b"rferl.orq", 1)
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    checked = probe_cli("verify", str(out))
    assert checked.returncode == 1 and "FAIL" in checked.stdout and "record was changed" in checked.stderr


def test_a_signed_verdict_link_is_accepted_and_its_label_shown_as_signed(make_hub: Any, volunteer: Volunteer) -> None:
    """The chain gets a second kind of link (chained verdicts): the hub takes any kind, checked the same way."""
    hub = make_hub()
    volunteer.measure(1)
    fp = enrol(hub, volunteer)
    links = batch_of(volunteer)
    blockpage = next(link for link in links if "rferl.org" in link.record)
    record = json.dumps({"label": "http.blockpage", "measurement_id": json.loads(blockpage.record)["measurement_id"],
                         "rules_version": "test"}, sort_keys=True, separators=(",", ":"))
    rec = sha256_hex(record.encode())
    link_hash = chain_hash(links[-1].chain_hash, rec)
    signature = load_private_key(volunteer.key).sign(link_hash.encode()).hex()
    verdict = ChainLink(seq=links[-1].seq + 1, kind="verdict", record=record, record_sha256=rec,
                        prev_hash=links[-1].chain_hash, chain_hash=link_hash, signature=signature, key_fingerprint=fp)
    answer = post(hub, [*links, verdict])
    assert answer.status_code == 200 and answer.json()["accepted"] == len(links) + 1 and answer.json()["gaps"] == 0
    assert hub.sql("SELECT label, label_signed FROM latest WHERE host = 'rferl.org'") == [("http.blockpage", True)]
    forged = verdict.model_copy(update={"seq": verdict.seq + 1, "prev_hash": link_hash,
                                        "chain_hash": chain_hash(link_hash, rec)})  # signature of another link
    assert post(hub, [forged]).status_code == 422


def test_batches_are_cut_by_size_so_large_records_never_exceed_the_hubs_body_limit() -> None:
    from probe.hub.upload import BATCH_BYTES, split_by_size
    from probe.store.outbox import PendingLink

    def link(seq: int, size: int) -> PendingLink:
        return PendingLink(seq, "measurement", "x" * size, "", "", "", "", "", None)

    batches = list(split_by_size(iter([[link(i, 900_000) for i in range(1, 11)], [link(11, 10)]])))
    assert [len(b) for b in batches] == [4, 4, 2, 1]
    assert all(sum(len(p.record) for p in b) <= BATCH_BYTES for b in batches)
    assert [p.seq for b in batches for p in b] == list(range(1, 12))  # order kept: the cursor moves in order
