"""MaxMind-format (.mmdb) databases, read with the `maxminddb` package.

Understands the record shapes of the common free ASN databases: GeoLite2-ASN and DB-IP ASN Lite
(`autonomous_system_number`, `autonomous_system_organization`), ipinfo (`asn` "AS13335", `as_name`,
`country` "US"), and a country as GeoLite2 writes it (`country.iso_code`) or as a plain code.
It opens and reads files; it does not download or update them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import maxminddb

from probe.errors import ConfigError
from probe.identity.model import UNKNOWN, NetworkIdentity, identity

MARKER = b"\xab\xcd\xefMaxMind.com"


def looks_like_mmdb(path: Path) -> bool:
    """The metadata marker sits in the last 128 KiB of every MaxMind DB file."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - 128 * 1024))
            return MARKER in handle.read()
    except OSError:
        return False


class MmdbSource:
    def __init__(self, path: Path) -> None:
        try:
            self._reader: Any = maxminddb.open_database(str(path))
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a readable MaxMind DB file: {exc}",
                              hint="give an iptoasn .tsv(.gz) or a GeoLite2-ASN-style .mmdb") from exc
        self.path = path

    def lookup(self, ip: str) -> NetworkIdentity:
        try:
            record = self._reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return UNKNOWN  # e.g. an IPv6 address in an IPv4-only database
        return _identity(record) if isinstance(record, Mapping) else UNKNOWN

    def close(self) -> None:
        self._reader.close()


def _identity(record: Mapping[str, Any]) -> NetworkIdentity:
    number = record.get("autonomous_system_number", record.get("asn"))
    name = record.get("autonomous_system_organization", record.get("as_name", record.get("asn_org")))
    return identity(_asn(number), _country(record), name if isinstance(name, str) else None)


def _asn(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.strip().upper().removeprefix("AS")
        return int(digits) if digits.isdigit() else 0
    return 0


def _country(record: Mapping[str, Any]) -> str | None:
    country = record.get("country", record.get("country_code"))
    if isinstance(country, Mapping):
        code = country.get("iso_code")
        return code if isinstance(code, str) else None
    return country if isinstance(country, str) else None
