"""Enrolment and upload end to end: a real probe store and key, a real hub on PostgreSQL under uvicorn."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from probe.evidence.keys import load_private_key
from probe.hub.upload import AfterRunUploader, upload_all
from probe.hub.wire import ChainLink, UploadBatch
from probe.models.canonical import chain_hash, sha256_hex
from probe.store import Store
from probe.store.outbox import backlog, hubs
from tests.hub.conftest import Hub, Volunteer, make_volunteer, probe_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def joined(hub: Hub, volunteer: Volunteer, name: str = "Almaty 3") -> None:
    done = probe_cli("hub", "join", hub.url, "--token", hub.invite(name), "--key", str(volunteer.key),
                     "--store", str(volunteer.store), env=volunteer.env())
    assert done.returncode == 0, done.stderr
    assert "joined" in done.stdout


def batch_of(volunteer: Volunteer) -> list[ChainLink]:
    """Every link of the probe's chain (its key record, measurements and verdicts), as the outbox sends it."""
    with Store.open(volunteer.store) as store:
        return [ChainLink(seq=e.seq, kind=e.kind, record=e.record, record_sha256=e.record_sha256,
                          prev_hash=e.prev_hash, chain_hash=e.chain_hash, signature=e.signature or "",
                          key_fingerprint=e.key_fingerprint or "") for e in store.links()]


def post(hub: Hub, links: list[ChainLink] | str | bytes) -> httpx.Response:
    body = links if isinstance(links, str | bytes) else UploadBatch(links=links).model_dump_json()
    return httpx.post(hub.url + "/api/v1/links", content=body, headers={"content-type": "application/json"},
                      timeout=30)


def upload(volunteer: Volunteer) -> Any:
    with Store.open(volunteer.store) as store:
        return asyncio.run(upload_all(store))


def test_a_joined_probe_uploads_everything_once_and_a_replay_stores_nothing(make_hub: Any,
                                                                            volunteer: Volunteer) -> None:
    hub = make_hub()
    head = volunteer.measure(2)
    token = hub.invite("Almaty 3")
    done = probe_cli("hub", "join", hub.url, "--token", token, "--key", str(volunteer.key),
                     "--store", str(volunteer.store), env=volunteer.env())
    assert done.returncode == 0, done.stderr
    again = probe_cli("hub", "join", hub.url, "--token", token, "--key", str(volunteer.key),
                      "--store", str(volunteer.store), env=volunteer.env())
    assert again.returncode == 2 and "already used" in again.stderr  # one-time
    assert hub.sql("SELECT count(*) FROM invites WHERE token_sha256 = %s", sha256_hex(token.encode()))[0][0] == 1
    assert not hub.sql("SELECT 1 FROM invites WHERE token_sha256 = %s", token)  # stored hashed only

    sent = probe_cli("upload", "--store", str(volunteer.store), env=volunteer.env())
    assert sent.returncode == 0, sent.stderr
    assert f"sent {head} ({head} new on the hub)" in sent.stdout
    assert hub.sql("SELECT count(*) FROM links")[0][0] == head
    assert probe_cli("upload", "--store", str(volunteer.store), env=volunteer.env()).stdout.count("sent 0") == 1

    replay = post(hub, batch_of(volunteer))
    assert replay.status_code == 200 and replay.json()["duplicates"] == head and replay.json()["accepted"] == 0
    assert hub.sql("SELECT count(*) FROM links")[0][0] == head
    # What the hub holds checks with the probe's own primitives, back to the key that signed it.
    key = load_private_key(volunteer.key).public_key()
    for prev, rec, record, link, signature in hub.sql(
            "SELECT prev_hash, record_sha256, record, chain_hash, signature FROM links ORDER BY seq"):
        assert sha256_hex(record.encode()) == rec and chain_hash(prev, rec) == link
        key.verify(bytes.fromhex(signature), link.encode())
    page = httpx.get(hub.url + "/").text
    assert "rferl.org" in page and "AS9198" in page and "http.blockpage" in page and "Almaty 3" in page
    assert "<script" not in page and not re.search(r"\son[a-z]+=", page)  # no JavaScript: no scripts, no handlers
    dom = subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={volunteer.key.parent / 'chr'}", "--dump-dom", hub.url + "/"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert 'rferl.org</a></td><td>AS9198</td>' in dom.stdout, dom.stderr[-500:]  # what a browser renders
    status = probe_cli("status", "--store", str(volunteer.store), env=volunteer.env())
    assert "backlog 0" in status.stdout and "last success" in status.stdout, status.stdout


def test_an_offline_probe_catches_up_and_status_shows_the_backlog(make_hub: Any, volunteer: Volunteer) -> None:
    hub = make_hub()
    joined(hub, volunteer)
    hub.stop()
    head = volunteer.measure(2)
    outcome = upload(volunteer)[0]
    assert outcome.error and outcome.sent == 0
    status = probe_cli("status", "--store", str(volunteer.store), env=volunteer.env())
    assert f"backlog {head}" in status.stdout and "did not answer" in status.stdout, status.stdout
    hub.start()
    assert upload(volunteer)[0].sent == head
    with Store.open(volunteer.store) as store:
        assert backlog(store, hubs(store)[0]) == 0 and hubs(store)[0].failures == 0


def test_forged_signature_and_altered_record_are_refused_and_nothing_is_stored(make_hub: Any,
                                                                               volunteer: Volunteer) -> None:
    hub = make_hub()
    volunteer.measure(1)
    joined(hub, volunteer)
    links = batch_of(volunteer)
    forged_sig = links[2].model_copy(update={"signature": ("0" if links[2].signature[0] != "0" else "1")
                                             + links[2].signature[1:]})
    answer = post(hub, [*links[:2], forged_sig, *links[3:]])
    assert answer.status_code == 422 and "signature" in answer.json()["error"]
    record = json.loads(links[1].record)
    record["input"] = "http://example.org/"
    altered = links[1].model_copy(update={"record": json.dumps(record)})
    answer = post(hub, [links[0], altered])
    assert answer.status_code == 422 and "record_sha256" in answer.json()["error"]
    # Re-hashed consistently, the signature no longer matches: forging needs the probe's key.
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    rec = sha256_hex(text.encode())
    rehashed = altered.model_copy(update={"record": text, "record_sha256": rec,
                                          "chain_hash": chain_hash(links[1].prev_hash, rec)})
    assert post(hub, [links[0], rehashed]).status_code == 422
    assert hub.sql("SELECT count(*) FROM links")[0][0] == 0
    assert post(hub, links).status_code == 200  # the honest batch still goes in


def test_unknown_and_revoked_keys_are_refused_and_earlier_links_stay(make_hub: Any, volunteer: Volunteer,
                                                                     tmp_path: Path) -> None:
    hub = make_hub()
    stranger = make_volunteer(tmp_path / "stranger")
    stranger.measure(1)
    answer = post(hub, batch_of(stranger))
    assert answer.status_code == 403 and "not enrolled" in answer.json()["error"]

    head = volunteer.measure(1)
    joined(hub, volunteer)
    assert upload(volunteer)[0].sent == head
    fp = batch_of(volunteer)[0].key_fingerprint
    revoked = probe_cli("hub", "revoke", fp, "--database", hub.database)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    volunteer.measure(1)
    outcome = upload(volunteer)[0]
    assert outcome.error and "revoked" in outcome.error and outcome.sent == 0
    assert hub.sql("SELECT count(*) FROM links")[0][0] == head
    assert "(revoked key)" in httpx.get(hub.url + "/").text
    listed = probe_cli("hub", "probes", "--database", hub.database)
    assert f"{head} links" in listed.stdout and "revoked" in listed.stdout
    unknown = probe_cli("hub", "revoke", "ed25519:" + "0" * 64, "--database", hub.database)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no probe with key")


def test_the_daemon_uploads_after_each_run_and_backs_off_from_a_hub_that_is_down(make_hub: Any,
                                                                                 volunteer: Volunteer) -> None:
    hub = make_hub()
    joined(hub, volunteer)
    head = volunteer.measure(1)
    lines: list[dict[str, Any]] = []

    async def after_runs() -> None:
        with Store.open(volunteer.store) as store:
            uploader = AfterRunUploader(store, log=lambda event, **fields: lines.append({"event": event, **fields}))
            uploader()  # what the daemon's list runner calls when a run ends
            assert uploader.task is not None
            await uploader.task
            hub.stop()
            volunteer.measure(1)
            uploader()
            await uploader.task
            uploader()  # the next run, soon after: the hub is in backoff, not tried again
            await uploader.task

    asyncio.run(after_runs())
    assert [(line["status"], line["sent"]) for line in lines] == [("ok", head), ("failed", 0)]
    assert hub.sql("SELECT count(*) FROM links")[0][0] == head


def test_hub_check_validates_the_hub_section_and_reaches_the_database(hub_db: str, tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\ndatabase = "{hub_db}"\nmax_concurency = 3\n')
    bad = probe_cli("hub", "check", "--config", str(config))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "hub.max_concurency: unknown key" in bad.stderr
    config.write_text(f'[hub]\ndatabase = "{hub_db}"\nbody_timeout = "5s"\n')
    good = probe_cli("hub", "check", "--config", str(config))
    assert good.returncode == 0 and "valid; database reachable" in good.stdout and "0001_probes_links" in good.stdout
    assert "0002_read_tokens" in good.stdout and "read tokens: 0 (0 revoked)" in good.stdout
    away = probe_cli("hub", "check", "--database", "host=/nonexistent dbname=x")
    assert away.returncode == 2 and away.stderr.startswith("error: cannot use the hub's database")
