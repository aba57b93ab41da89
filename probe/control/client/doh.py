"""DNS over HTTPS (RFC 8484, POST application/dns-message): the DNS-only control of last resort.

Used by the control client when no helper answers: an encrypted resolver reachable from the probe
still says which addresses the name has, and whether it exists, so a DNS verdict stays possible.
A and AAAA are asked at once over the client's shared connection pool. It gives no TCP/TLS/HTTP
view; nothing here decides whether anything is blocked.
"""

from __future__ import annotations

import asyncio
import ipaddress

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import httpx

from probe import failures
from probe.models.control import ControlDNS

MEDIA_TYPE = "application/dns-message"
MAX_REPLY_BYTES = 64 * 1024  # a DNS message is at most 65535 bytes


def transport_failure(exc: BaseException) -> str:
    """The failure string for an httpx error."""
    # A TLS handshake cut short by a timeout leaves an SSLWantReadError in the exception chain,
    # which the generic classifier would call a failed handshake: a timeout is a timeout.
    if isinstance(exc, httpx.TimeoutException):
        return failures.GENERIC_TIMEOUT
    return failures.classify_exception(exc)


async def doh_resolve(client: httpx.AsyncClient, doh_url: str, host: str) -> tuple[ControlDNS | None, str | None]:
    """The resolver's answer for `host` (which may itself be a failure such as NXDOMAIN), or why none came."""
    literal = _address(host)
    if literal is not None:
        return ControlDNS(addresses=[literal]), None
    results = await asyncio.gather(*(_query(client, doh_url, host, qtype) for qtype in ("A", "AAAA")))
    answered = [r for r in results if isinstance(r, tuple)]
    if not answered:
        return None, str(results[0])  # neither query got a DNS reply: say why the first did not
    unique = list(dict.fromkeys(ip for ips, _ in answered for ip in ips))
    if unique:
        return ControlDNS(addresses=unique), None
    failure = next((f for _, f in answered if f and f != failures.DNS_NO_ANSWER), failures.DNS_NO_ANSWER)
    return ControlDNS(failure=failure), None


async def _query(client: httpx.AsyncClient, doh_url: str, host: str,
                 qtype: str) -> tuple[list[str], str | None] | str:
    """(addresses, rcode failure) for one query type, or a failure string when no reply came."""
    query = dns.message.make_query(host, qtype)
    query.id = 0  # RFC 8484 §4.1: 0 makes the request cacheable
    try:
        async with client.stream("POST", doh_url, content=query.to_wire(),
                                 headers={"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE}) as reply:
            if reply.status_code != 200:
                return f"{failures.UNKNOWN_PREFIX}DoH status {reply.status_code}"
            wire = bytearray()
            async for chunk in reply.aiter_bytes():
                wire += chunk
                if len(wire) > MAX_REPLY_BYTES:
                    return f"{failures.UNKNOWN_PREFIX}DoH reply too large"
        message = dns.message.from_wire(bytes(wire))
    except dns.exception.DNSException:
        return failures.DNS_SERVER_MISBEHAVING
    except Exception as exc:  # noqa: BLE001 - every transport failure is data
        return transport_failure(exc)
    if not query.is_response(message):
        return failures.DNS_SERVER_MISBEHAVING
    ips = [rdata.address for rrset in message.answer for rdata in rrset
           if rdata.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]
    rcode = dns.rcode.to_text(message.rcode())
    return ips, failures.rcode_failure(rcode, has_answers=bool(ips))


def _address(host: str) -> str | None:
    """`host` when it is an address literal (brackets dropped, IPv4-mapped IPv6 unwrapped): nothing
    to resolve. A zoned IPv6 address names an interface of the writer, not a place: not one."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            return None
        return str(ip.ipv4_mapped or ip)
    return str(ip)
