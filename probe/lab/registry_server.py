"""The lab's domain registry: WHOIS on TCP 43 and RDAP over HTTPS, run as
`python -m probe.lab.registry_server CONF` in the inet namespace (docs/scenarios.md, `registry_status`).

It answers for the names the scenario gives statuses (`{"domains": {"selftanu.kz": ["serverHold"]}}`)
and says "not found" for every other name: a name that expired and was deleted, or never existed.
WHOIS answers in .kz's style ("Domain status : ..." lines, "Nothing found"); RDAP answers RFC 9083
JSON (404 for an unknown name). One request per connection; nothing is ever read past 4 KiB.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from pathlib import Path
from typing import Any

MAX_REQUEST = 4096


def whois_text(domain: str, statuses: list[str] | None) -> bytes:
    head = "Whois Server for the lab's registry (probe censorship lab).\n\n"
    if statuses is None:
        return (head + f"*** Nothing found for this request: {domain}\n").encode()
    lines = [f"Domain Name............: {domain}", "", "Domain status : " + (statuses[0] if statuses else "ok")]
    lines += [f"                {s}" for s in statuses[1:]]
    lines += ["", "Primary server.........: ns1.lab-registry.net"]
    return (head + "\n".join(lines) + "\n").encode()


def rdap_json(domain: str, statuses: list[str]) -> bytes:
    """RFC 9083 domain object; EPP codes written the RFC 8056 way ("serverHold" -> "server hold")."""
    def rdap_word(code: str) -> str:
        return "".join(" " + c.lower() if c.isupper() else c for c in code).strip()

    doc: dict[str, Any] = {"objectClassName": "domain", "ldhName": domain, "rdapConformance": ["rdap_level_0"],
                           "status": [rdap_word(s) for s in statuses] or ["active"]}
    return json.dumps(doc).encode()


async def _whois(domains: dict[str, list[str]], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=10)
        domain = line[:MAX_REQUEST].decode("ascii", errors="replace").strip().lower()
        writer.write(whois_text(domain, domains.get(domain)))
        await writer.drain()
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _rdap(domains: dict[str, list[str]], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii", errors="replace")
        domain = target.rsplit("/domain/", 1)[-1].lower() if "/domain/" in target else ""
        if domain in domains:
            status, body = "200 OK", rdap_json(domain, domains[domain])
        else:
            status, body = "404 Not Found", json.dumps({"errorCode": 404, "title": "Not Found"}).encode()
        writer.write((f"HTTP/1.1 {status}\r\nContent-Type: application/rdap+json\r\nContent-Length: {len(body)}"
                      "\r\nConnection: close\r\n\r\n").encode() + body)
        await writer.drain()
    except (TimeoutError, ConnectionError, IndexError, ssl.SSLError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def serve(conf: dict[str, Any]) -> None:
    domains: dict[str, list[str]] = {k.lower(): list(v) for k, v in conf["domains"].items()}
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(conf["cert"])
    whois = await asyncio.start_server(lambda r, w: _whois(domains, r, w), conf["address"], conf["whois_port"],
                                       limit=MAX_REQUEST)
    rdap = await asyncio.start_server(lambda r, w: _rdap(domains, r, w), conf["address"], conf["rdap_port"],
                                      ssl=tls, limit=MAX_REQUEST)
    async with whois, rdap:
        await asyncio.gather(whois.serve_forever(), rdap.serve_forever())


def main() -> None:
    asyncio.run(serve(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
