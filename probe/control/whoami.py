"""Ask the control helpers, before a run measures anything, which public addresses they see the probe at.

A run scrubs the volunteer's addresses from everything it stores, but it learns the public one only
from a helper's answer. Behind NAT on a dual-stack network the helper is usually reached over IPv6,
so the public IPv4 address (what most origins and blockpages would echo) is never seen, and the
first measurements finish before any answer arrives. So each helper is asked once per address
family: one connection to one of its IPv4 addresses and one to one of its IPv6 addresses, each a
`GET /api/v1/health`, whose answer carries `client_ip`. Best effort and bounded: a helper that is
blocked or old (no `client_ip`) teaches nothing, and the run goes on.

The addresses are the caller's to scrub and to remember as keyed hashes, never to store.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlsplit

from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.http import http_get

HEALTH_PATH = "/api/v1/health"
MAX_ANSWER_BYTES = 16 * 1024


async def public_addresses(helpers: Iterable[str], *, ssl_context: ssl.SSLContext, timeout_s: float,
                           user_agent: str) -> set[str]:
    """Every address the helpers report for this probe (at most one ask per helper and family).

    A loopback answer means the helper runs on this machine (tests); dropping those is the caller's call.
    """
    asks = []
    for helper in helpers:
        try:
            parts = urlsplit(helper)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # a port out of range: the helper cannot be asked (its queries fail the same way)
            continue
        if parts.hostname is None or parts.scheme not in ("http", "https"):
            continue
        https = parts.scheme == "https"
        for address in await _one_address_per_family(parts.hostname, port, timeout_s):
            asks.append(_ask(address, port, parts.hostname, parts.netloc.rsplit("@", 1)[-1],
                             ssl_context if https else None, timeout_s, user_agent))
    found: set[str] = set()
    for answer in await asyncio.gather(*asks, return_exceptions=True):
        if isinstance(answer, str):
            found.add(answer)
    return found


async def _one_address_per_family(host: str, port: int, timeout_s: float) -> list[str]:
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_address(host))]
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM), timeout_s)
    except (OSError, TimeoutError, UnicodeError):  # UnicodeError: a label IDNA cannot encode
        return []
    chosen: dict[int, str] = {}
    for family, _, _, _, sockaddr in infos:
        chosen.setdefault(family, str(sockaddr[0]))
    return list(chosen.values())


async def _ask(address: str, port: int, server_name: str, host_header: str, context: ssl.SSLContext | None,
               timeout_s: float, user_agent: str) -> str | None:
    """One GET of the health path pinned to `address` (the engine's own GET, over a stream we dial)."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(
            address, port, ssl=context, server_hostname=server_name if context is not None else None)
        sink = ArtifactSink()
        scheme: Literal["http", "https"] = "https" if context is not None else "http"
        obs = await http_get(reader, writer, url=f"{scheme}://{host_header}{HEALTH_PATH}", ip=address, port=port,
                             scheme=scheme, host_header=host_header, target=HEALTH_PATH, user_agent=user_agent,
                             timeout_s=timeout_s, body_cap=MAX_ANSWER_BYTES, clock=measurement_clock(), sink=sink)
    response = obs.response
    if obs.failure is not None or response is None or response.code != 200 or response.body_sha256 is None:
        return None
    return _client_ip(sink.get(response.body_sha256) or b"")


def _client_ip(body: bytes) -> str | None:
    """The `client_ip` of a health answer, if it is an address."""
    try:
        value = json.loads(body).get("client_ip")
        ip = ipaddress.ip_address(str(value).strip("[]"))
    except (ValueError, AttributeError, TypeError, RecursionError):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return None if ip.is_unspecified else str(ip)
