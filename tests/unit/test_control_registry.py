"""The control helper's registry look-up: asked only for a name its resolver says does not exist,
answered with the statuses and the raw answer inline, against a real UDP resolver and WHOIS server."""

from __future__ import annotations

import asyncio
import base64

from test_control_fixtures import Zone, start_dns

from probe.control.server.fetch import parse_target
from probe.control.server.helper import answer
from probe.control.server.settings import HelperSettings
from probe.lab.registry_server import whois_text
from probe.models.control import ControlRequest, ControlResponse


async def _ask(url: str) -> ControlResponse:
    asked: list[str] = []

    async def whois(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = (await reader.readline()).decode().strip()
        asked.append(name)
        writer.write(whois_text(name, ["serverHold"] if name == "held.test" else None))
        await writer.drain()
        writer.close()

    registry = await asyncio.start_server(whois, "127.0.0.1", 0)
    port = registry.sockets[0].getsockname()[1]
    dns, resolver = await start_dns(Zone({"site.test": ["127.0.0.1"]}))
    settings = HelperSettings(resolver=resolver, registries={"test": f"whois://127.0.0.1:{port}"}).with_budget(5.0)
    target = parse_target(url)
    assert target is not None
    try:
        async with registry:
            return await answer(ControlRequest(url=url), target, settings=settings, client_ip=None)
    finally:
        dns.close()


def test_a_held_name_is_looked_up_and_the_raw_answer_shipped_inline() -> None:
    response = asyncio.run(_ask("http://www.held.test/"))
    assert response.dns.failure == "dns_nxdomain_error" and response.registry is not None
    obs = response.registry.observation
    assert (obs.protocol, obs.domain, obs.statuses, obs.found) == ("whois", "held.test", ["serverHold"], True)
    assert response.registry.raw_b64 is not None
    assert base64.b64decode(response.registry.raw_b64) == whois_text("held.test", ["serverHold"])


def test_an_unknown_name_is_no_such_name() -> None:
    response = asyncio.run(_ask("http://gone.test/"))
    assert response.registry is not None and response.registry.observation.found is False


def test_a_name_that_resolves_is_not_looked_up() -> None:
    response = asyncio.run(_ask("http://site.test:9/"))
    assert response.dns.addresses == ["127.0.0.1"] and response.registry is None


def test_a_tld_without_a_known_registry_is_not_looked_up() -> None:
    response = asyncio.run(_ask("http://nothing.invalid/"))
    assert response.dns.failure == "dns_nxdomain_error" and response.registry is None
