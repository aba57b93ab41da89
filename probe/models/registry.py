"""What a domain registry said about a name: one RDAP or WHOIS (port 43) look-up, success or failure.

Asked only when a name resolves nowhere (see docs/verdicts.md, `dns.takedown`). The raw answer is an
artifact (kind `registry_answer`, by SHA-256), as DNS wire replies are; `statuses` are the status
values the registry wrote, as it wrote them (RDAP's `status` array, WHOIS "status" lines), parsed by
`probe.net.registry_text`. Whether a status is a hold is the classifier's business, not this model's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from probe.models.base import Frozen

RegistryProtocol = Literal["rdap", "whois"]


class RegistryObservation(Frozen):
    protocol: RegistryProtocol
    server: str = Field(max_length=512)  # the RDAP base URL, or "host:port" of the WHOIS server
    domain: str = Field(max_length=253)  # the registered name asked about (selftanu.kz for www.selftanu.kz)
    t0: float
    t: float
    failure: str | None = None  # OONI failure string of the look-up itself
    status_code: int | None = None  # RDAP's HTTP status (404: the registry has no such name)
    found: bool | None = None  # the registry knows the name; None: could not tell
    statuses: list[str] = Field(default=[], max_length=64)
    raw_sha256: str | None = None  # the answer's bytes, as an artifact
    raw_length: int = 0
    raw_is_truncated: bool = False


class ControlRegistry(Frozen):
    """The control helper's registry look-up, with its raw answer inline (the wire has no artifacts).

    The probe moves `raw_b64` into an artifact of its own and stores the observation without it.
    """

    observation: RegistryObservation
    raw_b64: str | None = Field(default=None, max_length=96 * 1024)  # base64 of at most 64 KiB
