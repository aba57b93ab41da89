"""The probe's side of the hub: join with a token, then send the outbox in batches with httpx.

`upload_all` sends every hub in the outbox its pending links, oldest first, moving each hub's cursor
only after the hub answered that it stored the batch (at-least-once; the hub stores each link once).
A busy hub (503) is waited for as its Retry-After says, a few times; any other failure stops that hub
for this time, is recorded in the outbox (shown by `probe status`), and the next attempt waits longer
(`next_attempt_after`). It never raises for network trouble: an upload failing is a recorded fact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from probe.errors import HubError
from probe.hub.wire import ChainLink, JoinRequest, JoinResult, UploadBatch, UploadResult
from probe.i18n import _
from probe.store.outbox import HubTarget, PendingLink, hubs, iter_pending, record_failure, record_success
from probe.store.store import Store

BATCH = 500
BATCH_BYTES = 4 * 1024 * 1024  # well under the hub's default max_body (16 MiB): big records, smaller batches
BUSY_RETRIES = 5
BACKOFF_FIRST_S = 60.0
BACKOFF_MAX_S = 6 * 3600.0


@dataclass
class HubOutcome:
    hub_url: str
    sent: int = 0  # links the hub acknowledged now (stored or already there)
    stored: int = 0
    error: str | None = None
    skipped: bool = False  # backing off after earlier failures


def api_url(hub_url: str, path: str) -> str:
    return hub_url.rstrip("/") + path


async def join_hub(*, hub_url: str, token: str, public_key_pem: str, timeout_s: float = 30.0,
                   verify: str | bool = True) -> JoinResult:
    """Register this probe's public key with a one-time token; HubError with the hub's reason otherwise."""
    body = JoinRequest(token=token, public_key_pem=public_key_pem).model_dump_json()
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=verify) as client:
            answer = await client.post(api_url(hub_url, "/api/v1/join"), content=body,
                                       headers={"content-type": "application/json"})
    except httpx.HTTPError as exc:
        raise HubError(_("cannot reach the hub at {url}: {problem}").format(url=hub_url, problem=type(exc).__name__),
                       hint=_("check the URL and that the hub runs (`probe hub serve`)")) from exc
    if answer.status_code != 200:
        raise HubError(_("the hub refused to enrol this probe: {reason}").format(reason=_reason(answer)))
    try:
        return JoinResult.model_validate_json(answer.content)
    except ValueError as exc:
        raise HubError(_("the hub at {url} answered something that is not a probe hub's answer").format(
            url=hub_url)) from exc


def next_attempt_after(target: HubTarget) -> datetime | None:
    """When a hub that failed `failures` times in a row may be tried again (None: now)."""
    if not target.failures or not target.last_attempt_at:
        return None
    wait = min(BACKOFF_FIRST_S * 2 ** (target.failures - 1), BACKOFF_MAX_S)
    last = datetime.fromisoformat(target.last_attempt_at.replace("Z", "+00:00"))
    return last + timedelta(seconds=wait)


async def upload_all(store: Store, *, honour_backoff: bool = False, batch: int = BATCH, timeout_s: float = 60.0,
                     verify: str | bool = True, now: datetime | None = None) -> list[HubOutcome]:
    """Send every joined hub its backlog; one outcome per hub."""
    outcomes = []
    async with httpx.AsyncClient(timeout=timeout_s, verify=verify) as client:
        for target in hubs(store):
            due = next_attempt_after(target)
            if honour_backoff and due is not None and due > (now or datetime.now(UTC)):
                outcomes.append(HubOutcome(hub_url=target.hub_url, skipped=True, error=target.last_error))
                continue
            outcomes.append(await _upload_one(store, target, client=client, batch=batch))
    return outcomes


async def _upload_one(store: Store, target: HubTarget, *, client: httpx.AsyncClient, batch: int) -> HubOutcome:
    outcome = HubOutcome(hub_url=target.hub_url)
    for links in split_by_size(iter_pending(store, target, batch=batch)):
        body = UploadBatch(links=[ChainLink(seq=p.seq, kind=p.kind, record=p.record, record_sha256=p.record_sha256,
                                            prev_hash=p.prev_hash, chain_hash=p.chain_hash, signature=p.signature,
                                            key_fingerprint=p.key_fingerprint, label=p.label) for p in links])
        try:
            result = await _post(client, api_url(target.hub_url, "/api/v1/links"), body.model_dump_json())
        except HubError as exc:
            outcome.error = exc.message
            record_failure(store, hub_url=target.hub_url, error=exc.message)
            return outcome
        record_success(store, hub_url=target.hub_url, acked_seq=links[-1].seq)
        outcome.sent += len(links)
        outcome.stored += result.accepted
    if outcome.sent == 0:
        record_success(store, hub_url=target.hub_url, acked_seq=target.acked_seq)  # reached: nothing to send
    return outcome


def split_by_size(batches: Iterator[list[PendingLink]]) -> Iterator[list[PendingLink]]:
    """Split batches so none carries much more than BATCH_BYTES of records (pages can be large)."""
    for links in batches:
        part: list[PendingLink] = []
        size = 0
        for link in links:
            if part and size + len(link.record) > BATCH_BYTES:
                yield part
                part, size = [], 0
            part.append(link)
            size += len(link.record)
        if part:
            yield part


async def _post(client: httpx.AsyncClient, url: str, body: str) -> UploadResult:
    for attempt in range(BUSY_RETRIES + 1):
        try:
            answer = await client.post(url, content=body, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            raise HubError(_("the hub did not answer: {problem}").format(problem=type(exc).__name__)) from exc
        if answer.status_code == 503 and attempt < BUSY_RETRIES:
            await asyncio.sleep(_retry_after(answer))
            continue
        if answer.status_code != 200:
            raise HubError(_("the hub refused the batch ({status}): {reason}").format(status=answer.status_code,
                                                                                     reason=_reason(answer)))
        try:
            return UploadResult.model_validate_json(answer.content)
        except ValueError as exc:
            raise HubError(_("the hub answered something that is not a probe hub's answer")) from exc
    raise HubError(_("the hub stayed busy"))  # unreachable: the loop's last attempt returns or raises


def _retry_after(answer: httpx.Response) -> float:
    value = answer.headers.get("retry-after", "")
    return min(float(value), 60.0) if value.isdigit() else 5.0


def _reason(answer: httpx.Response) -> str:
    try:
        error = answer.json().get("error")
    except ValueError:
        error = None
    return str(error)[:300] if error else f"HTTP {answer.status_code}"


class AfterRunUploader:
    """What the daemon calls after each run: upload in the background, one upload at a time.

    Never raises and never delays the run's end; a hub that failed is retried only after its backoff
    (`next_attempt_after`), so an unreachable hub costs one attempt per backoff period, not per run.
    Cancelled with the daemon: the cursor only moves on the hub's answer, so nothing is lost.
    """

    def __init__(self, store: Store, *, log: Callable[..., None]) -> None:
        self.store, self.log = store, log
        self.task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if not hubs(self.store) or (self.task is not None and not self.task.done()):
            return
        self.task = asyncio.get_running_loop().create_task(self._upload())

    async def _upload(self) -> None:
        try:
            outcomes = await upload_all(self.store, honour_backoff=True)
        except Exception as exc:  # noqa: BLE001 - an upload must never take the daemon down
            self.log("upload", status="failed", error=f"{type(exc).__name__}: {exc}")
            return
        for o in outcomes:
            if not o.skipped:
                self.log("upload", hub=o.hub_url, sent=o.sent, stored=o.stored,
                         status="failed" if o.error else "ok", **({"error": o.error} if o.error else {}))
