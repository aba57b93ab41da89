"""HTTP parts of the middlebox: the ISP blockpage server and the transparent HTTP interceptor.

The interceptor receives port-80 flows that netfilter REDIRECTs to it, reads the request head, and
either answers for the censor (a blockpage with a status, or a redirect to a blockpage URL) and
closes, or closes at once with a FIN and no answer (http_host_eof: what a spoofed FIN does to the
client), or connects to the original destination and relays: unchanged, or for http_throttle held
`delay_ms` and paced at `rate_kbit` towards the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from probe.lab.middlebox.relay import close, dial, finish, splice
from probe.lab.middlebox.wire import host_matches, original_dst

DEFAULT_BLOCKPAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Доступ ограничен / Access restricted</title></head>
<body><h1>Доступ к ресурсу ограничен</h1>
<p>Доступ к данному интернет-ресурсу ограничен в соответствии с законодательством Республики Казахстан
(Закон «О связи», ст. 41-1).</p>
<p>Access to this internet resource is restricted in accordance with the legislation of the Republic of
Kazakhstan.</p>
<!-- lab-blockpage: kz-isp-v1 -->
</body></html>
"""


def response(status: int, body: bytes, *, location: str = "") -> bytes:
    head = [f"HTTP/1.1 {status} {'Found' if location else 'Blocked'}",
            "Content-Type: text/html; charset=utf-8", f"Content-Length: {len(body)}",
            "Connection: close"]
    if location:
        head.append(f"Location: {location}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def request_host(head: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return value.strip().decode("latin-1").split(":")[0].lower()
    return ""


def rule_for(host: str, rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first rule matching a request to `host`, or None to let it pass."""
    return next((rule for rule in rules if host_matches(host, rule["match"])), None)


def answer_for(rule: dict[str, Any]) -> bytes:
    """What the censor answers instead of the site (blockpage and redirect rules)."""
    if rule["kind"] == "redirect":
        return response(302, b"", location=rule["location"])
    return response(int(rule.get("status", 403)), rule.get("page", DEFAULT_BLOCKPAGE).encode())


async def intercept(rules: list[dict[str, Any]], reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        close(writer)
        return
    rule = rule_for(request_host(head), rules)
    if rule is not None and rule["kind"] == "eof":
        await finish(reader, writer)
        return
    rate = 0.0
    if rule is not None and rule["kind"] == "throttle":  # relayed, but held and paced
        await asyncio.sleep(rule["delay_ms"] / 1000)
        rate = rule["rate_kbit"] * 1000 / 8
    elif rule is not None:
        writer.write(answer_for(rule))
        try:
            await writer.drain()
        finally:
            close(writer)
        return
    dst, port = original_dst(writer.get_extra_info("socket"))
    try:
        up_reader, up_writer = await dial(dst, port)
    except (OSError, TimeoutError):
        close(writer)
        return
    up_writer.write(head)
    await splice(reader, writer, up_reader, up_writer, down_rate_bytes_s=rate)


async def serve_blockpage(page: bytes, status: int, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
    """The ISP's blockpage server: every request gets the page."""
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        writer.write(response(status, page))
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        pass
    finally:
        close(writer)


async def start(conf: dict[str, Any]) -> list[asyncio.Server]:
    servers = []
    page = conf.get("blockpage_page", DEFAULT_BLOCKPAGE).encode()
    status = int(conf.get("blockpage_status", 200))
    for addr in conf["blockpage_addresses"]:
        servers.append(await asyncio.start_server(
            lambda r, w: serve_blockpage(page, status, r, w), addr, 80))
    if conf.get("http_rules"):
        rules = conf["http_rules"]
        servers.append(await asyncio.start_server(
            lambda r, w: intercept(rules, r, w), ["0.0.0.0", "::"], conf["http_port"]))
    return servers
