"""Ask a domain's registry about it: RDAP (JSON over HTTPS, via httpx) where the TLD has it, else WHOIS
on TCP port 43. Each look-up returns a `RegistryObservation` (never raises on a network failure or a
hostile answer) and puts the raw answer into the sink as a `registry_answer` artifact.

Which server: `RegistryTable` -- the shipped facts in probe/data/registries.csv (each row says where it
comes from), with overrides from the settings (`--registry kz=whois://10.77.3.53`, the lab's own
registry). Sizes and times are bounded: at most `MAX_ANSWER_BYTES` are kept, one timeout covers the
whole look-up. This module does not decide when to ask (probe.measure.registry / probe.control.server.registry)
nor what the statuses mean (probe.classify.registry).
"""

from __future__ import annotations

import asyncio
import csv
import io
import ssl
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx

from probe import failures
from probe.models.registry import RegistryObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.registry_text import parse_rdap, parse_whois

MAX_ANSWER_BYTES = 64 * 1024  # real answers are 2-20 KB; the control ships the raw answer inline
WHOIS_PORT = 43
RDAP_MAX_REDIRECTS = 3


@dataclass(frozen=True)
class RegistryServer:
    protocol: str  # "rdap" or "whois"
    address: str  # RDAP base URL ending in "/", or a WHOIS host name / address
    port: int = WHOIS_PORT

    @property
    def label(self) -> str:
        return self.address if self.protocol == "rdap" else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class RegistryTable:
    """TLD (IDNA form) -> the servers to ask, and the second-level zones under which names sit one deeper."""

    servers: dict[str, tuple[RegistryServer, ...]] = field(default_factory=dict)
    second_level: dict[str, frozenset[str]] = field(default_factory=dict)

    def registered_domain(self, host: str) -> str | None:
        """The name a registry holds for `host` (www.selftanu.kz -> selftanu.kz); None if no registry is known."""
        labels = host.strip(".").lower().split(".")
        if len(labels) < 2 or labels[-1] not in self.servers:
            return None
        keep = 3 if len(labels) >= 3 and labels[-2] in self.second_level.get(labels[-1], frozenset()) else 2
        return ".".join(labels[-keep:]) if len(labels) >= keep else None

    def server_for(self, domain: str) -> RegistryServer | None:
        """RDAP first (structured statuses), WHOIS otherwise."""
        found = self.servers.get(domain.rsplit(".", 1)[-1], ())
        return next((s for s in found if s.protocol == "rdap"), found[0] if found else None)

    def with_overrides(self, overrides: dict[str, str]) -> RegistryTable:
        """This table with `tld -> spec` replacing the TLD's servers (see `parse_server`); "off": none."""
        servers = dict(self.servers)
        for tld, spec in overrides.items():
            servers[tld.strip(".").lower()] = () if spec.strip() == "off" else (parse_server(spec),)
        return RegistryTable(servers=servers, second_level=self.second_level)


def parse_server(spec: str) -> RegistryServer:
    """`https://host/base/` (RDAP) or `whois://host[:port]`; ValueError naming what is wrong."""
    parts = urlsplit(spec.strip())
    if parts.scheme == "https" and parts.hostname:
        return RegistryServer("rdap", spec.strip().rstrip("/") + "/")
    if parts.scheme == "whois" and parts.hostname:
        try:
            port = parts.port or WHOIS_PORT
        except ValueError as exc:
            raise ValueError(f"bad port in {spec!r}") from exc
        return RegistryServer("whois", parts.hostname, port)
    raise ValueError(f"a registry server is https://HOST/PATH/ (RDAP) or whois://HOST[:PORT] (got {spec!r})")


def load_table(path: Path | None = None) -> RegistryTable:
    """The shipped table (probe/data/registries.csv), or one in the same format."""
    if path is None:
        text = resources.files("probe").joinpath("data", "registries.csv").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    servers: dict[str, tuple[RegistryServer, ...]] = {}
    second: dict[str, frozenset[str]] = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        tld = row["tld"].strip().lower()
        found = [RegistryServer("rdap", row["rdap"].strip())] if row["rdap"].strip() else []
        found += [RegistryServer("whois", row["whois"].strip())] if row["whois"].strip() else []
        servers[tld] = tuple(found)
        second[tld] = frozenset(s.strip() for s in row["second_level"].split(",") if s.strip())
    return RegistryTable(servers=servers, second_level=second)


async def registry_lookup(domain: str, server: RegistryServer, *, timeout_s: float, ca_bundle: Path | None,
                          clock: Clock, sink: ArtifactSink) -> RegistryObservation:
    """One look-up of `domain` at `server`; the whole look-up is bounded by `timeout_s`."""
    t0 = clock()
    ask = _rdap if server.protocol == "rdap" else _whois
    try:
        status, raw, truncated = await asyncio.wait_for(ask(domain, server, ca_bundle), timeout_s)
    except Exception as exc:  # noqa: BLE001 - a failed look-up is an observation
        return RegistryObservation(protocol="rdap" if server.protocol == "rdap" else "whois", server=server.label,
                                   domain=domain, t0=t0, t=clock(), failure=failures.classify_exception(exc))
    if server.protocol == "rdap":
        found, statuses = parse_rdap(raw, status_code=status) if not truncated else (None, [])
    else:
        found, statuses = parse_whois(raw.decode("utf-8", errors="replace"))
    return RegistryObservation(
        protocol="rdap" if server.protocol == "rdap" else "whois", server=server.label, domain=domain, t0=t0,
        t=clock(), status_code=status, found=found, statuses=statuses,
        raw_sha256=sink.add("registry_answer", raw) if raw else None, raw_length=len(raw),
        raw_is_truncated=truncated)


async def _whois(domain: str, server: RegistryServer, _ca: Path | None) -> tuple[int | None, bytes, bool]:
    reader, writer = await asyncio.open_connection(server.address, server.port)
    try:
        writer.write(domain.encode("idna") + b"\r\n")
        await writer.drain()
        data = bytearray()
        while len(data) <= MAX_ANSWER_BYTES:
            chunk = await reader.read(16 * 1024)
            if not chunk:
                break
            data += chunk
        return None, bytes(data[:MAX_ANSWER_BYTES]), len(data) > MAX_ANSWER_BYTES
    finally:
        writer.close()


def _ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where())


async def _rdap(domain: str, server: RegistryServer, ca_bundle: Path | None) -> tuple[int | None, bytes, bool]:
    url = f"{server.address}domain/{domain.encode('idna').decode('ascii')}"
    async with httpx.AsyncClient(verify=_ssl_context(ca_bundle), follow_redirects=True,
                                 max_redirects=RDAP_MAX_REDIRECTS, trust_env=False) as client:
        # identity: the raw bytes are the evidence, and no decompression can blow up past the cap
        headers = {"Accept": "application/rdap+json", "Accept-Encoding": "identity"}
        async with client.stream("GET", url, headers=headers) as response:
            data = bytearray()
            async for chunk in response.aiter_raw():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:
                    break
            return response.status_code, bytes(data[:MAX_ANSWER_BYTES]), len(data) > MAX_ANSWER_BYTES
