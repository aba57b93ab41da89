"""Typed pydantic models at every boundary: observations, measurements, control API, verdicts, targets."""

from probe.models.artifacts import Artifact, ArtifactRef
from probe.models.control import ControlEndpoint, ControlHTTP, ControlRequest, ControlResponse
from probe.models.measurement import Measurement, ProbeNetwork
from probe.models.observations import (
    CertificateValidation,
    DNSAnswer,
    DNSQueryObservation,
    DNSReply,
    HTTPHeader,
    HTTPObservation,
    HTTPRequest,
    HTTPResponse,
    TCPConnectObservation,
    TLSHandshakeObservation,
)
from probe.models.target import Target
from probe.models.verdict import VERDICT_LABELS, Verdict

__all__ = [
    "Artifact", "ArtifactRef", "CertificateValidation", "ControlEndpoint", "ControlHTTP", "ControlRequest",
    "ControlResponse", "DNSAnswer", "DNSQueryObservation", "DNSReply", "HTTPHeader", "HTTPObservation",
    "HTTPRequest", "HTTPResponse", "Measurement", "ProbeNetwork", "TCPConnectObservation",
    "TLSHandshakeObservation", "Target", "VERDICT_LABELS", "Verdict",
]
