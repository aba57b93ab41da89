"""Settings of one measurement run: what `probe run` flags and the configuration file both fill in."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

from probe.models.base import Frozen

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


class Timeouts(Frozen):
    dns_s: float = Field(default=4.0, gt=0, le=120)
    tcp_s: float = Field(default=10.0, gt=0, le=120)
    tls_s: float = Field(default=10.0, gt=0, le=120)
    http_s: float = Field(default=15.0, gt=0, le=300)


class MeasureSettings(Frozen):
    resolver: str | None = None  # "ip" or "ip:port"; None: first nameserver in /etc/resolv.conf
    timeouts: Timeouts = Timeouts()
    parallel: int = Field(default=64, ge=1, le=1024)
    decoy_sni: str = "example.org"
    body_cap_bytes: int = Field(default=512 * 1024, ge=1024, le=64 * 1024 * 1024)
    ca_bundle: Path | None = None  # None: certifi's Mozilla roots (never the OS store)
    control_urls: list[str] = []  # control helpers, tried in order
    doh_url: str | None = None  # DNS-over-HTTPS control, used when no helper answers
    asn_db: Path | None = None  # iptoasn TSV or MaxMind-format mmdb
    not_bogon: list[str] = []  # CIDRs that count as public although reserved (the lab's ranges)
    # Measure targets on private, loopback, link-local … addresses and local names (a test bed on
    # this machine). Off: a shared list must not make a volunteer fetch and sign pages from their LAN.
    allow_private_targets: bool = False
    dns_late_window_s: float = Field(default=0.5, ge=0, le=5)
    max_redirects: int = Field(default=10, ge=0, le=30)
    user_agent: str = DEFAULT_USER_AGENT
    fingerprints_dir: Path | None = None  # OONI-format fingerprint CSVs; None: the shipped ones
    # TLD -> registry server replacing the shipped one (probe/data/registries.csv): "https://HOST/BASE/"
    # for RDAP, "whois://HOST[:PORT]" for WHOIS, "off" for no look-up. Asked only about names that
    # resolve nowhere.
    registries: dict[str, str] = {}
    # "ip:port" addresses that tell an internet shutdown from blocked helpers; None: the documented
    # default set, used only with public control helpers (probe.measure.netcheck).
    well_known: list[str] | None = Field(default=None, max_length=8)

    @field_validator("resolver")
    @classmethod
    def _resolver_address(cls, value: str | None) -> str | None:
        """'ip', 'ip:port' or '[v6]:port': the ISP resolver is asked directly, so it must be an address."""
        if value is None:
            return None
        host, port = value, "53"
        if value.startswith("["):
            host, _, port = value[1:].partition("]")
            port = port.lstrip(":") or "53"
        elif value.count(":") == 1:
            host, port = value.split(":")
        try:
            ipaddress.ip_address(host)
            if not 0 < int(port) < 65536:
                raise ValueError
        except ValueError as exc:
            raise ValueError(f"the resolver must be an IP address, optionally with :port (got {value!r})") from exc
        return value

    @field_validator("user_agent", "decoy_sni")
    @classmethod
    def _header_safe(cls, value: str) -> str:
        """Printable ASCII only: a CR or LF would split the request (header injection) and every
        measurement would fail or store junk; non-ASCII is not a valid header or host name."""
        if not value or any(not 0x20 <= ord(c) < 0x7F for c in value):
            raise ValueError(f"{value[:80]!r} must be non-empty printable ASCII (no CR, LF or other control "
                             "characters)")
        return value

    @field_validator("registries")
    @classmethod
    def _registry_servers(cls, value: dict[str, str]) -> dict[str, str]:
        for tld, spec in value.items():
            if not tld.strip(".") or not (spec.startswith(("https://", "whois://")) or spec == "off"):
                raise ValueError(f"a registry is TLD=https://HOST/PATH/ or TLD=whois://HOST[:PORT] (got {tld}={spec})")
        return value

    @field_validator("well_known")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            host, _, port = text.strip().removeprefix("[").rpartition(":")
            try:
                ipaddress.ip_address(host.removesuffix("]"))
                if not 0 < int(port) < 65536:
                    raise ValueError
            except ValueError as exc:
                raise ValueError(f"not an ip:port address: {text!r}") from exc
        return value

    @field_validator("not_bogon")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a CIDR: {cidr!r}") from exc
        return value


def split_resolver(resolver: str) -> tuple[str, int]:
    """A `resolver` setting, '1.2.3.4', '1.2.3.4:53', '[fd00::1]:53' or 'fd00::1' → (ip, port)."""
    if resolver.startswith("["):
        host, _, port = resolver[1:].partition("]:")
        return host.rstrip("]"), int(port or 53)
    if resolver.count(":") == 1:
        host, port = resolver.split(":")
        return host, int(port)
    return resolver, 53
