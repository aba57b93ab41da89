"""Artifacts: raw evidence bytes, content-addressed by SHA-256, kept beside the measurement."""

from __future__ import annotations

import hashlib
from typing import Literal

from probe.models.base import Frozen

ArtifactKind = Literal["dns_wire", "x509_der", "http_body", "http_headers", "registry_answer"]


class Artifact(Frozen):
    sha256: str
    kind: ArtifactKind
    data: bytes

    @classmethod
    def of(cls, kind: ArtifactKind, data: bytes) -> Artifact:
        return cls(sha256=hashlib.sha256(data).hexdigest(), kind=kind, data=data)


class ArtifactRef(Frozen):
    sha256: str
    kind: ArtifactKind
    size: int
