"""The offline IP-to-ASN database: which network (ASN, country, name) an address belongs to.

`AsnDatabase.open(path)` reads an iptoasn TSV (plain or gzip) or a MaxMind-format .mmdb, chosen by
content, not only by name. Without a file (None, or a path that does not exist) it is empty and every
lookup is AS0/ZZ/"" with `known=False`; `problem` then says why, for the report. It never touches the
network and never remembers the addresses it was asked about.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from probe.identity.mmdb import MmdbSource, looks_like_mmdb
from probe.identity.model import UNKNOWN, NetworkIdentity
from probe.identity.tsv import TsvTables, load_tsv


class AsnDatabase:
    def __init__(self, *, tables: TsvTables | None = None, mmdb: MmdbSource | None = None,
                 source: Path | None = None, problem: str | None = None) -> None:
        self._tables = tables
        self._mmdb = mmdb
        self.source = source
        self.problem = problem

    @classmethod
    def open(cls, path: Path | None) -> AsnDatabase:
        """The database in `path`; empty when None or missing; ConfigError when the file is bad."""
        if path is None:
            return cls(problem="no IP-to-ASN database configured")
        if not path.is_file():
            return cls(source=path, problem=f"IP-to-ASN database not found: {path}")
        if path.suffix.lower() == ".mmdb" or looks_like_mmdb(path):
            return cls(mmdb=MmdbSource(path), source=path)
        return cls(tables=load_tsv(path), source=path)

    @property
    def is_empty(self) -> bool:
        return self._tables is None and self._mmdb is None

    def lookup(self, ip: str) -> NetworkIdentity:
        try:
            address = ipaddress.ip_address(ip.strip().strip("[]").split("%", 1)[0])  # zone ids are not the address
        except ValueError:
            return UNKNOWN
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:a.b.c.d is an IPv4 address
        if self._mmdb is not None:
            return self._mmdb.lookup(str(address))
        if self._tables is None:
            return UNKNOWN
        table = self._tables.v4 if address.version == 4 else self._tables.v6
        entry = table.find(int(address))
        return UNKNOWN if entry is None else self._tables.identities[entry]

    def close(self) -> None:
        if self._mmdb is not None:
            self._mmdb.close()
