"""Which network the probe measures from: its own IP-to-ASN database first, else what the helpers said.

A run builds one `NetworkIdentifier`: `learn` takes the helpers' whoami answers (address → the
network their database named, already checked, or why it was refused), and calling it with the
address a control answer saw gives the `ProbeNetwork` to record — with `network_source` saying who
named it. The probe's own database (`--asn-db`) overrides a helper; a helper's answer is used for
the address it was given for, or, when the address is new (a NAT pool hands out another one), when
every helper agreed on one network. The addresses stay in memory only, for this run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from probe.identity.database import AsnDatabase
from probe.identity.model import NetworkIdentity
from probe.models import ProbeNetwork


class NetworkIdentifier:
    def __init__(self, *, database: AsnDatabase) -> None:
        self.database = database
        self._by_address: dict[str, NetworkIdentity] = {}
        self._seen: list[str] = []  # every address a helper saw us at, named or not (this run, memory only)
        self.problems: list[str] = []  # "helper URL: why its network answer was refused"
        self._problem: str | None = None  # the first, recorded on measurements no source named

    @classmethod
    def open(cls, path: Path | None) -> NetworkIdentifier:
        """With the database in `path` (None: none; ConfigError when the file is bad)."""
        return cls(database=AsnDatabase.open(path))

    def learn(self, seen: Iterable[tuple[str, str, NetworkIdentity | None, str | None]]) -> None:
        """(helper, address, network or None, problem or None) per whoami answer."""
        for helper, address, network, problem in seen:
            if address not in self._seen:
                self._seen.append(address)
            if network is not None:
                self._by_address[address] = network
            elif problem is not None:
                self.problems.append(f"{helper}: {problem}")
                self._problem = self._problem or problem

    @property
    def helper_named_a_network(self) -> bool:
        return bool(self._by_address)

    def __call__(self, ip: str | None) -> ProbeNetwork:
        if not ip:
            return self._as_first_seen()
        found = self.database.lookup(ip)
        if found.known:
            return _network(found, "asn_db")
        named = self._by_address.get(ip)
        if named is None and len(set(self._by_address.values())) == 1:
            named = next(iter(self._by_address.values()))
        if named is not None:
            return _network(named, "helper")
        return ProbeNetwork(network_problem=self._problem)


    def _as_first_seen(self) -> ProbeNetwork:
        """For a measurement whose own control answer did not say where we are (it failed, or there
        was none yet): the network of the addresses the helpers saw before the run, when they all
        name one; else nothing (AS0/ZZ), never a guess between two."""
        named = {self(address).model_dump_json(): self(address) for address in self._seen}
        found = [n for n in named.values() if n.network_source is not None]
        return found[0] if len(named) == 1 and found else ProbeNetwork()


def _network(found: NetworkIdentity, source: str) -> ProbeNetwork:
    return ProbeNetwork.model_validate({"probe_asn": found.asn, "probe_cc": found.cc,
                                        "probe_network_name": found.name, "network_source": source})

