"""Writes a measurement's artifacts into the bundle's staging folder and accounts for every one.

Certificates become PEM chains (one file per distinct chain), DNS wire replies `.bin` files named by
their hash, HTTP exchanges one WARC per measurement; anything else a `.bin` under artifacts/other.
Every artifact a record cites gets one `ArtifactEntry`: included (with the file holding it), pruned
from the store before export, or missing (the store never had it: reported, never hidden). Bytes gone
from a row that retention never pruned were deleted by hand: export refuses (EvidenceError), as
`probe verify --store` fails, rather than pass them off as pruned.
"""

from __future__ import annotations

from pathlib import Path

from probe.errors import EvidenceError
from probe.evidence.bundle import certs, warc
from probe.evidence.bundle.manifest import (
    CERTS_DIR,
    DNS_DIR,
    HTTP_DIR,
    OTHER_DIR,
    ArtifactEntry,
    ArtifactStatus,
    referenced_artifacts,
)
from probe.evidence.verify.result import measurement_label
from probe.i18n import _
from probe.models import Measurement
from probe.models.artifacts import ArtifactKind
from probe.store import Store


class ArtifactWriter:
    def __init__(self, store: Store, root: Path) -> None:
        self._store = store
        self._root = root
        # (kind, size, pruned_at, data) read in one SELECT: bytes and whether retention pruned them agree.
        self._cache: dict[str, tuple[str, int, str | None, bytes | None] | None] = {}
        self._measurement = ""
        self.entries: dict[str, ArtifactEntry] = {}

    def _row(self, sha256: str) -> tuple[str, int, str | None, bytes | None] | None:
        if sha256 not in self._cache:
            self._cache[sha256] = self._store.artifact_row(sha256)
        return self._cache[sha256]

    def data(self, sha256: str) -> bytes | None:
        """Artifact bytes, cached for the measurement being exported (the OONI view reads them too)."""
        row = self._row(sha256)
        return row[3] if row else None

    def add(self, m: Measurement) -> None:
        self._cache.clear()
        self._measurement = m.measurement_id
        refs = referenced_artifacts(m)
        for handshake in m.tls_handshakes:
            if handshake.peer_certificates:
                self._chain(handshake.peer_certificates, refs)
        if m.requests:
            self._warc(m, refs)
        for sha, kind in refs.items():
            if sha not in self.entries:
                self._single(sha, kind)

    def _write(self, rel: str, data: bytes) -> None:
        path = self._root / rel
        if not path.exists():  # content-addressed names: same name, same bytes
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def _record(self, sha: str, kind: ArtifactKind, status: ArtifactStatus, path: str | None = None) -> None:
        row = self._row(sha)
        size = row[1] if row else None
        pruned_at = row[2] if row and status == "pruned" else None  # the report says when; verify re-derives it
        self.entries.setdefault(sha, ArtifactEntry(sha256=sha, kind=kind, size=size, status=status, path=path,
                                                   pruned_at=pruned_at))

    def _absent(self, sha: str, kind: ArtifactKind) -> None:
        row = self._row(sha)
        if row is not None and row[2] is None:  # retention records when it deletes; nothing recorded this
            raise EvidenceError(
                _("refusing to export: {measurement} cites a {kind} artifact {sha} whose bytes are missing but "
                  "retention never pruned it (deleted or damaged); nothing was written").format(
                      measurement=measurement_label(self._measurement, None), kind=kind, sha=sha),
                hint=_("run `probe verify --store` to see every such artifact"))
        self._record(sha, kind, "missing" if row is None else "pruned")

    def _chain(self, hashes: list[str], refs: dict[str, ArtifactKind]) -> None:
        present = [(sha, der) for sha in hashes if (der := self.data(sha)) is not None]
        for sha in hashes:
            if self.data(sha) is None:
                self._absent(sha, "x509_der")
        if not present:
            return
        rel = f"{CERTS_DIR}{certs.chain_id(hashes)}.pem"
        self._write(rel, certs.chain_pem([der for _sha, der in present]))
        for sha, _der in present:
            self._record(sha, refs.get(sha, "x509_der"), "included", rel)

    def _warc(self, m: Measurement, refs: dict[str, ArtifactKind]) -> None:
        data, included = warc.write_warc(m, self.data)
        rel = f"{HTTP_DIR}{m.measurement_id}.warc"
        self._write(rel, data)
        for sha in included:
            self._record(sha, refs.get(sha, "http_body"), "included", rel)

    def _single(self, sha: str, kind: ArtifactKind) -> None:
        data = self.data(sha)
        if data is None:
            self._absent(sha, kind)
            return
        if kind == "x509_der":  # cited by the record but not by a handshake: a chain of one
            rel = f"{CERTS_DIR}{certs.chain_id([sha])}.pem"
            self._write(rel, certs.chain_pem([data]))
        else:
            rel = f"{DNS_DIR if kind == 'dns_wire' else OTHER_DIR}{sha}.bin"
            self._write(rel, data)
        self._record(sha, kind, "included", rel)
