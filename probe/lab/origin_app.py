"""The lab's own origin server, for what nginx cannot do: run as `python -m probe.lab.origin_app CONF`.

It sits behind nginx (which terminates TLS with the site's certificate) on 127.0.0.1 in the inet
namespace and answers per Host: a status or redirect, a delay (slow origin), a CAPTCHA or geo-block
page for the probe's network (recognised from X-Real-IP: the client side of the lab, 10.77.0.0/16),
and an echo of the requester's address (header `X-Client-IP` and the body) for privacy tests. It is
a minimal HTTP/1.1 server: one request per connection, no request bodies.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from probe.lab.addressing import in_probe_side
from probe.lab.web import page

CAPTCHA_TITLE = "Attention Required! | Cloudflare"
CAPTCHA_EXTRA = ('<div id="cf-wrapper"><h2>One more step</h2><p>Please complete the security check '
                 'to access this site.</p><div class="cf-turnstile" data-sitekey="lab"></div>'
                 '<p>Cloudflare Ray ID: 7a1b2c3d4e5f</p></div>')
GEOBLOCK_TITLE = "451: Unavailable in your country"
GEOBLOCK_EXTRA = ("<p>We're sorry, this service is not available in your region (KZ). "
                  "Error 451 - geo restriction by the site owner.</p>")
# A hosting provider's suspension page as the lab serves it to everyone (origin key takedown_page):
# the marker is the lab's fingerprint, the wording the generic Russian takedown row's.
TAKEDOWN_TITLE = "Аккаунт заблокирован"
TAKEDOWN_EXTRA = ("<!-- lab-takedown: hoster-v1 --><p>Доступ к сайту ограничен по требованию уполномоченного "
                  "органа. Обратитесь к хостинг-провайдеру.</p>")
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found",
           451: "Unavailable For Legal Reasons", 500: "Internal Server Error", 503: "Service Unavailable"}


def respond(site: dict[str, Any], host: str, client_ip: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The response for one request to `site`, as the requester at `client_ip` gets it."""
    headers: list[tuple[str, str]] = [("Content-Type", "text/html; charset=utf-8")]
    extra = ""
    if site.get("echo_client_ip"):
        headers.append(("X-Client-IP", client_ip))
        extra = f'<p id="client-ip">Your IP address is {client_ip}</p>'
    probe_page = site.get("probe_page", "same")
    if probe_page != "same" and in_probe_side(client_ip):
        if probe_page == "captcha":  # what a CDN's bot check serves: 403 + challenge page
            headers.append(("Server", "cloudflare"))
            headers.append(("cf-mitigated", "challenge"))
            return 403, headers, page(CAPTCHA_TITLE, 6000, extra=CAPTCHA_EXTRA)
        return 451, headers, page(GEOBLOCK_TITLE, 1500, extra=GEOBLOCK_EXTRA)
    if site.get("takedown_page"):  # everyone, the control included
        return 200, headers, page(TAKEDOWN_TITLE, 1200, extra=TAKEDOWN_EXTRA)
    status = int(site.get("status", 200))
    if site.get("redirect_to"):
        headers.append(("Location", str(site["redirect_to"])))
        status = status if 300 <= status < 400 else 302
        return status, headers, page("Moved", 200)
    title = str(site.get("title") or host)
    return status, headers, page(title, int(site.get("body_bytes", 2000)), extra=extra)


async def _handle(sites: dict[str, Any], reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        fields = _headers(head)
        host = fields.get("host", "").split(":")[0].lower()
        site = sites.get(host)
        if site is None:
            status, headers, body = 404, [("Content-Type", "text/plain")], b"no such lab site\n"
        else:
            await asyncio.sleep(int(site.get("delay_ms", 0)) / 1000)
            status, headers, body = respond(site, host, fields.get("x-real-ip", ""))
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                 *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}", "Connection: close"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


async def serve(conf: dict[str, Any]) -> None:
    sites = conf["sites"]
    server = await asyncio.start_server(lambda r, w: _handle(sites, r, w), "127.0.0.1", conf["port"])
    async with server:
        await server.serve_forever()


def main() -> None:
    conf = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    asyncio.run(serve(conf))


if __name__ == "__main__":
    main()
