"""Ask the control helpers, before a run measures anything, which public addresses they see the probe at.

A run scrubs the volunteer's addresses from everything it stores, but it learns the public one only
from a helper's answer. Behind NAT on a dual-stack network the helper is usually reached over IPv6,
so the public IPv4 address (what most origins and blockpages would echo) is never seen, and the
first measurements finish before any answer arrives. So each helper is asked once per address
family: one connection to one of its IPv4 addresses and one to one of its IPv6 addresses, each a
`GET /api/v1/health` (httpx, the URL pinned to the address, Host and SNI the helper's name), whose
answer carries `client_ip` and, from a helper with an IP-to-ASN database, the `network` of that
address (checked by probe.control.network; a refused one comes back with the reason). Best effort and
bounded: a helper that is blocked or old (no `client_ip`) teaches nothing, and the run goes on.

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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from probe.control.network import parse_network
from probe.identity.model import NetworkIdentity

HEALTH_PATH = "/api/v1/health"
MAX_ANSWER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Sighting:
    """One helper's view of the probe over one address family."""

    helper: str  # the helper's URL
    address: str  # where it saw the probe: the caller's to scrub, never to store
    network: NetworkIdentity | None  # the helper's database's answer, when it has one and it was sound
    problem: str | None  # why the helper's `network` was refused (a fixed sentence, never its content)


async def sightings(helpers: Iterable[str], *, ssl_context: ssl.SSLContext, timeout_s: float,
                    user_agent: str) -> list[Sighting]:
    """What each helper saw, per address family: the address and the network it names, if any."""
    asks = []
    http = httpx.AsyncClient(verify=ssl_context, trust_env=False, follow_redirects=False,
                             headers={"User-Agent": user_agent, "Accept": "application/json"},
                             limits=httpx.Limits(max_connections=16, max_keepalive_connections=0),
                             timeout=httpx.Timeout(timeout_s))
    for helper in helpers:
        try:
            parts = urlsplit(helper)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # a port out of range: the helper cannot be asked (its queries fail the same way)
            continue
        if parts.hostname is None or parts.scheme not in ("http", "https"):
            continue
        for address in await _one_address_per_family(parts.hostname, port, timeout_s):
            asks.append(_ask(http, helper, parts.scheme, address, port, parts.hostname,
                             parts.netloc.rsplit("@", 1)[-1], timeout_s))
    try:
        answers = await asyncio.gather(*asks, return_exceptions=True)
    finally:
        await http.aclose()
    seen = [answer for answer in answers if isinstance(answer, tuple)]
    # Each answer's network is checked against every address the helpers saw (a helper reached over
    # IPv6 must not be able to spell the IPv4 address another ask revealed).
    own = [address for _, address, _ in seen]
    found = []
    for helper, address, raw in seen:
        network, problem = parse_network(raw, own=own)
        found.append(Sighting(helper=helper, address=address, network=network, problem=problem))
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


async def _ask(http: httpx.AsyncClient, helper: str, scheme: str, address: str, port: int, server_name: str,
               host_header: str, timeout_s: float) -> tuple[str, str, Any] | None:
    """One GET of the health path pinned to `address`: Host and SNI name the helper as its URL does."""
    literal = f"[{address}]" if ":" in address else address
    extensions = {} if _is_ip(server_name) else {"sni_hostname": server_name}
    async with asyncio.timeout(timeout_s):
        async with http.stream("GET", f"{scheme}://{literal}:{port}{HEALTH_PATH}", headers={"Host": host_header},
                               extensions=extensions) as reply:
            if reply.status_code != 200:
                return None
            body = bytearray()
            async for chunk in reply.aiter_raw():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    return None
    return _sighting(helper, bytes(body))


def _is_ip(host: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host.strip("[]"))
        return True
    return False


def _sighting(helper: str, body: bytes) -> tuple[str, str, Any] | None:
    """A health answer read: (helper, address, its unchecked `network`), None unless `client_ip` is an address."""
    try:
        answer: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    address = _client_ip(answer)
    if address is None:
        return None
    return helper, address, answer.get("network")


def _client_ip(answer: Any) -> str | None:
    """The `client_ip` of a health answer, if it is an address."""
    try:
        ip = ipaddress.ip_address(str(answer.get("client_ip")).strip("[]"))
    except (ValueError, AttributeError, TypeError):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return None if ip.is_unspecified else str(ip)
