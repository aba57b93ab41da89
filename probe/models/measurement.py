"""A measurement: one URL measured once from one vantage point, with every observation kept.

The verdict is not part of the hashed record: classification can be re-run (`probe reclassify`)
without touching the evidence. The probe's IP address never appears here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from probe.models.artifacts import ArtifactRef
from probe.models.base import Frozen
from probe.models.control import ControlResponse
from probe.models.netcheck import NetworkDown
from probe.models.observations import (
    DNSQueryObservation,
    HTTPObservation,
    TCPConnectObservation,
    TLSHandshakeObservation,
)
from probe.models.registry import RegistryObservation


class ProbeNetwork(Frozen):
    probe_asn: str = "AS0"
    probe_cc: str = "ZZ"
    probe_network_name: str = ""
    resolver_address: str = ""
    # Who named the network above: "asn_db" (the probe's own IP-to-ASN file), "helper" (the control
    # helper's database, in its whoami answer, checked by probe.control.network), None (nobody: AS0/ZZ).
    network_source: Literal["asn_db", "helper"] | None = None
    # Why a helper's network answer was refused: one of that checker's fixed sentences, never the answer.
    network_problem: str | None = Field(default=None, max_length=200)


class Measurement(Frozen):
    measurement_id: str  # UUID4
    input: str  # the URL as given (normalised)
    category_code: str | None = None
    test_start_time: str  # UTC ISO-8601, "2026-11-26T23:20:05.123456Z"
    measurement_runtime_s: float
    software_name: str = "probe"
    software_version: str
    network: ProbeNetwork
    queries: list[DNSQueryObservation] = []
    tcp_connect: list[TCPConnectObservation] = []
    tls_handshakes: list[TLSHandshakeObservation] = []
    requests: list[HTTPObservation] = []  # one per redirect hop, in order
    # A slow request's twin: GET / with the decoy name as Host (and SNI) to the same address, right
    # after it. Same address, same path, same moment: only the name differs (throttling evidence).
    decoy_requests: list[HTTPObservation] = []
    control: ControlResponse | None = None
    control_failure: str | None = None  # why no control: helpers unreachable, blocked, refused
    final_failure: str | None = None  # the failure that stopped the measurement, if any
    failed_operation: str | None = None  # OONI operation name of that failure
    artifacts: list[ArtifactRef] = []
    registry: list[RegistryObservation] = []  # the probe's own registry look-ups (names that resolve nowhere)
    # Set on every measurement of a run that started with nothing answering (an internet shutdown):
    # its verdict is then `inconclusive` with that reason, never a block.
    network_down: NetworkDown | None = None
