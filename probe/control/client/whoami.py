"""Ask the control helpers, before a run measures anything, which public addresses they see the probe at.

A run scrubs the volunteer's addresses from everything it stores, but it learns the public one only
from a helper's answer. Behind NAT on a dual-stack network the helper is usually reached over IPv6,
so the public IPv4 address (what most origins and blockpages would echo) is never seen, and the
first measurements finish before any answer arrives. So each helper is asked once per address
family: one connection to one of its IPv4 addresses and one to one of its IPv6 addresses, each a
`GET /api/v1/health` (httpx, the URL pinned to the address, Host and SNI the helper's name), whose
answer carries `client_ip`. Best effort and bounded: a helper that is blocked or old (no
`client_ip`) teaches nothing, and the run goes on.

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
from urllib.parse import urlsplit

import httpx

HEALTH_PATH = "/api/v1/health"
MAX_ANSWER_BYTES = 16 * 1024


async def public_addresses(helpers: Iterable[str], *, ssl_context: ssl.SSLContext, timeout_s: float,
                           user_agent: str) -> set[str]:
    """Every address the helpers report for this probe (at most one ask per helper and family).

    A loopback answer means the helper runs on this machine (tests); dropping those is the caller's call.
    """
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
            asks.append(_ask(http, parts.scheme, address, port, parts.hostname, parts.netloc.rsplit("@", 1)[-1],
                             timeout_s))
    try:
        answers = await asyncio.gather(*asks, return_exceptions=True)
    finally:
        await http.aclose()
    found: set[str] = set()
    for answer in answers:
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


async def _ask(http: httpx.AsyncClient, scheme: str, address: str, port: int, server_name: str,
               host_header: str, timeout_s: float) -> str | None:
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
    return _client_ip(bytes(body))


def _is_ip(host: str) -> bool:
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host.strip("[]"))
        return True
    return False


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
