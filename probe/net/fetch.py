"""The one fetch pipeline: GET a URL hop by hop, following redirects as a browser does.

The probe's measurement (`probe.measure.url`) and the control helper (`probe.control.server.fetch`) both
follow a redirect chain with this loop, so they ask for the same bytes and stop for the same
reasons. Each caller brings its own way to reach a hop (`connect`): the probe resolves and connects
to every address and records those steps; the helper uses the connection it already measured, then
its own DNS behind its address guard. Here, per hop: GET over that connection (`http_get`, the
connection is the one measured: nothing here dials), then, on 301/302/303/307/308 with a Location,
the next hop, read as a browser reads it (`browser_location`: relative to the current URL, raw
bytes percent-encoded, a non-ASCII host in IDNA form). A Location a browser could not follow ends
the chain as http_invalid_redirect_location_host; more than `max_redirects` as too_many_redirects.

What goes on the wire (request target, Host header, SNI, DNS name) is always ASCII: `URLTarget`
builds it once from the URL. Nothing here classifies or stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar
from urllib.parse import quote, urlsplit

from probe import failures
from probe.models import HTTPObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.http import http_get
from probe.web.location import browser_location

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# In a request target, printable ASCII is sent as written; spaces, control characters and non-ASCII
# (as UTF-8) are percent-encoded, as a browser does.
_TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


@dataclass(frozen=True)
class URLTarget:
    url: str
    scheme: Literal["http", "https"]
    host: str
    port: int

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == (443 if self.https else 80) else f"{name}:{self.port}"

    @property
    def request_target(self) -> str:
        """Path and query as sent: always ASCII, so a hostile or non-ASCII URL cannot break the request."""
        parts = urlsplit(self.url)  # parse_target has split this URL already: it cannot fail here
        path = quote(parts.path or "/", safe=_TARGET_SAFE)
        return path + (f"?{quote(parts.query, safe=_TARGET_SAFE)}" if parts.query else "")


def parse_target(url: str) -> URLTarget | None:
    """An http(s) URL that can be asked for → URLTarget; anything else → None.

    Host and port are read as a browser reads them (`browser_location`): host lower-case and in IDNA
    form, every label 1–63 characters; port 1–65535 (the URL's own, whatever it is); an unparseable
    authority, another scheme or no host → None. `url` is kept as given (it is what a final URL
    echoes when there is no redirect); `request_target` encodes its path and query.
    """
    text = url.strip()
    normal = browser_location(text, "")  # the URL itself, resolved against nothing
    if normal is None:
        return None
    try:
        parts = urlsplit(normal)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return None
    scheme: Literal["http", "https"] = "https" if parts.scheme == "https" else "http"
    return URLTarget(url=text, scheme=scheme, host=parts.hostname, port=port or (443 if scheme == "https" else 80))


@dataclass(frozen=True)
class Connected:
    """A connection to GET a hop over (for https: a handshake the caller trusts)."""

    ip: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    transaction_id: int = 0


@dataclass(frozen=True)
class NotConnected:
    """The hop could not be reached; the caller's connect step has recorded why."""

    failure: str | None


Connect = Callable[[URLTarget, int], Awaitable[Connected | NotConnected]]  # (hop's target, redirects so far)
T = TypeVar("T")


class Waiting(Protocol):
    """How a caller awaits one network exchange: what the exchange returns (the probe's runner lends
    the URL's place to another while it waits: `probe.measure.slot`)."""

    def __call__(self, exchange: Awaitable[T], /) -> Awaitable[T]: ...


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str
    timeout_s: float
    body_cap: int
    max_redirects: int


@dataclass
class Chain:
    """Where the chain ended: every GET's observation, the last hop, and why it stopped (if not done)."""

    final: URLTarget
    redirects: int = 0
    requests: list[HTTPObservation] = field(default_factory=list)
    failure: str | None = None
    failed_operation: Literal["connect", "http_round_trip"] | None = None

    @property
    def last(self) -> HTTPObservation | None:
        return self.requests[-1] if self.requests else None


async def follow(first: URLTarget, *, connect: Connect, settings: FetchSettings, clock: Clock,
                 sink: ArtifactSink, stop_before: Callable[[str, str], bool] | None = None,
                 waiting: Waiting | None = None) -> Chain:
    """Follow the chain from `first` to a final response or a failure (see the module docstring).
    `stop_before(current_url, next_url)` true ends the chain at that 3xx, kept as the final answer
    (the probe uses it never to follow a public site into the volunteer's own network). Each GET is
    awaited through `waiting` when given (the probe's runner lends a URL's place while it waits)."""
    chain = Chain(final=first)
    while True:
        target = chain.final
        reached = await connect(target, chain.redirects)
        if isinstance(reached, NotConnected):
            chain.failure, chain.failed_operation = reached.failure, "connect"
            return chain
        get = http_get(reached.reader, reached.writer, url=target.url, ip=reached.ip, port=target.port,
                       scheme=target.scheme, host_header=target.host_header, target=target.request_target,
                       user_agent=settings.user_agent, timeout_s=settings.timeout_s, body_cap=settings.body_cap,
                       clock=clock, sink=sink, transaction_id=reached.transaction_id)
        obs = await (waiting(get) if waiting is not None else get)
        chain.requests.append(obs)
        response = obs.response
        if obs.failure is not None or response is None:
            chain.failure, chain.failed_operation = obs.failure or failures.EOF_ERROR, "http_round_trip"
            return chain
        location = response.header("location") if response.code in REDIRECT_CODES else None
        if not location:
            return chain  # a 3xx without Location is a final answer
        resolved = browser_location(target.url, location)
        following = parse_target(resolved) if resolved is not None else None
        if following is None:  # no host, not http(s), a bad port or host label: the server's bug
            chain.failure = failures.HTTP_INVALID_REDIRECT_LOCATION_HOST
        elif chain.redirects >= settings.max_redirects:
            chain.failure = failures.TOO_MANY_REDIRECTS
        if chain.failure is not None:
            chain.failed_operation = "http_round_trip"
            return chain
        assert following is not None
        if stop_before is not None and stop_before(target.url, following.url):
            return chain
        chain.final, chain.redirects = following, chain.redirects + 1
