"""Where network steps put the raw bytes they saw (DNS wire replies, DER certificates, HTTP bodies)."""

from __future__ import annotations

from probe.models import Artifact
from probe.models.artifacts import ArtifactKind


class ArtifactSink:
    """Collects a measurement's artifacts, each once (content-addressed)."""

    def __init__(self) -> None:
        self._items: dict[str, Artifact] = {}

    def add(self, kind: ArtifactKind, data: bytes) -> str:
        artifact = Artifact.of(kind, data)
        self._items.setdefault(artifact.sha256, artifact)
        return artifact.sha256

    def items(self) -> list[Artifact]:
        return list(self._items.values())

    def get(self, sha256: str) -> bytes | None:
        item = self._items.get(sha256)
        return item.data if item else None
