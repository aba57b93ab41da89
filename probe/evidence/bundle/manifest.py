"""The bundle manifest: what a bundle holds, where it came from, and how its parts hash and link.

`manifest.json` lists every other file with its SHA-256 and size, every exported measurement with
its chain link (seq, record hash, previous and own chain hash, the signature made when it was
stored), the seq range and the gaps a filtered export leaves, and what happened to each artifact
(included, or pruned from the store before export). The manifest's own bytes are signed with
Ed25519 into `manifest.sig`. This module only declares the format; `bundle.py` writes it and
`verify.py` checks it.

Format 2 adds the chain's other links (`links`: verdict, key and run records, their records in
`chain_records.jsonl`): every verdict a bundle states must be one of its signed verdict records.
A format-1 bundle (made before verdicts were chained) is still read; its verdicts back nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from probe.models import Measurement, Verdict
from probe.models.artifacts import ArtifactKind
from probe.models.base import Frozen
from probe.models.canonical import KEY_FINGERPRINT_PATTERN, SHA256_HEX_PATTERN, SIGNATURE_HEX_PATTERN

BUNDLE_FORMAT = "probe-evidence-bundle/2"
READABLE_FORMATS = ("probe-evidence-bundle/1", BUNDLE_FORMAT)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # raw 64-byte Ed25519 signature over manifest.json, for openssl
PUBLIC_KEY = "public_key.pem"
SHA256SUMS = "SHA256SUMS"  # the manifest's file hashes in `sha256sum -c` format
VERIFY_TXT = "VERIFY.txt"
REPORT = "report.html"
MEASUREMENTS = "measurements.jsonl"  # one canonical record per line, byte for byte as hashed
VERDICTS = "verdicts.jsonl"
CHAIN_RECORDS = "chain_records.jsonl"  # verdict, key and run records, one canonical record per line
OONI = "ooni/web_connectivity.jsonl"
THIRD_PARTY_OONI = "third_party/ooni.jsonl"  # OONI's own measurements, imported: not ours, not chained
CERTS_DIR = "artifacts/certs/"
DNS_DIR = "artifacts/dns/"
HTTP_DIR = "artifacts/http/"
OTHER_DIR = "artifacts/other/"

# The files outside the manifest's file list: the manifest cannot hash itself or its signature.
UNLISTED = (MANIFEST, SIGNATURE)

# What a bundle may unpack to, so that checking a hostile bundle (a zip bomb) cannot exhaust memory:
# `probe export` refuses to write past these limits and `probe verify` refuses to read past them.
MAX_MEMBER_BYTES = 64 << 20  # a file checked whole, in memory: the manifest, the key, each artifact file
MAX_BUNDLE_BYTES = 1 << 30  # every file together, unpacked; also the limit of a file read as a stream
MAX_LINE_BYTES = 16 << 20  # one line of a JSONL file (a record cites its bodies, it never holds them)
# The languages a bundle may also hold the report and VERIFY.txt in (`probe export --lang`), beside the
# English ones: report.ru.html, VERIFY.kk.txt. Listed in the manifest like any file.
TRANSLATIONS = ("ru", "kk")


def report_in(lang: str) -> str:
    return REPORT if lang == "en" else f"report.{lang}.html"


def verify_txt_in(lang: str) -> str:
    return VERIFY_TXT if lang == "en" else f"VERIFY.{lang}.txt"


# read line by line or only hashed
STREAMED = (MEASUREMENTS, VERDICTS, CHAIN_RECORDS, OONI, REPORT, VERIFY_TXT, THIRD_PARTY_OONI,
            *(report_in(lang) for lang in TRANSLATIONS), *(verify_txt_in(lang) for lang in TRANSLATIONS))


def member_cap(path: str) -> int:
    """The most a bundle file may unpack to."""
    return MAX_BUNDLE_BYTES if path in STREAMED else MAX_MEMBER_BYTES


def size_text(size: int) -> str:
    """A size limit as a person reads it: whole MiB, or bytes below one MiB."""
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size} bytes"

ArtifactStatus = Literal["included", "pruned", "missing"]

# Hashes and signatures as the writers spell them: anything else (another case, another length,
# non-ASCII) fails validation here, so no check downstream ever meets a hash it cannot compute with.
Sha256Hex = Annotated[str, StringConstraints(pattern=SHA256_HEX_PATTERN)]
SignatureHex = Annotated[str, StringConstraints(pattern=SIGNATURE_HEX_PATTERN)]
KeyFingerprint = Annotated[str, StringConstraints(pattern=KEY_FINGERPRINT_PATTERN)]
Size = Annotated[int, Field(ge=0)]


class FileEntry(Frozen):
    path: str
    sha256: Sha256Hex
    size: Size


class ChainLink(Frozen):
    """One exported measurement's place in the probe's chain; checkable without its neighbours."""

    seq: int
    measurement_id: str
    record_sha256: Sha256Hex
    prev_hash: Sha256Hex
    chain_hash: Sha256Hex
    signature: SignatureHex | None  # Ed25519 (hex) over chain_hash, made when the measurement was stored
    key_fingerprint: KeyFingerprint | None


class RecordLink(Frozen):
    """A verdict, key or run record's place in the chain (`probe.models.chain`); `subject` is the
    measurement, run or key it is about."""

    kind: Literal["verdict", "key", "run"]
    seq: int
    subject: str | None
    record_sha256: Sha256Hex
    prev_hash: Sha256Hex
    chain_hash: Sha256Hex
    signature: SignatureHex | None
    key_fingerprint: KeyFingerprint | None


class ArtifactEntry(Frozen):
    sha256: Sha256Hex
    kind: ArtifactKind
    size: Size | None = None
    status: ArtifactStatus
    path: str | None = None  # the bundle file that holds it (PEM chain, .bin, WARC), when included
    pruned_at: str | None = None  # when retention deleted its bytes (the report says so)


class ChainRange(Frozen):
    first_seq: int
    last_seq: int
    gaps: list[tuple[int, int]]  # inclusive seq ranges inside [first, last] that were not exported
    store_head_seq: int  # the store's newest seq when exported: the chain went at least this far
    store_head_hash: Sha256Hex


class Counts(Frozen):
    measurements: int
    targets: int
    artifacts_included: int
    artifacts_pruned: int
    artifacts_missing: int
    verdicts: dict[str, int]  # by label, of the signed verdicts the bundle states
    unsigned_verdicts: Size = 0  # measurements whose verdict predates chained verdicts: exported without one


class Manifest(Frozen):
    format: str = BUNDLE_FORMAT
    created_at: str
    software_name: str = "probe"
    software_version: str
    key_fingerprint: KeyFingerprint
    filters: dict[str, str]
    chain: ChainRange
    counts: Counts
    measurements: list[ChainLink]
    links: list[RecordLink] = []  # the chain's other links in the bundle (format 2)
    artifacts: list[ArtifactEntry]
    files: list[FileEntry]


class VerdictLine(Frozen):
    """One line of verdicts.jsonl: a measurement's latest signed verdict, or null if it has none."""

    measurement_id: str
    verdict: Verdict | None


def gaps_of(seqs: list[int]) -> list[tuple[int, int]]:
    """Inclusive ranges of the seqs missing between the first and last of a sorted list."""
    gaps = []
    for before, after in zip(seqs, seqs[1:], strict=False):
        if after > before + 1:
            gaps.append((before + 1, after - 1))
    return gaps


def sha256sums(files: list[FileEntry]) -> bytes:
    """`sha256sum -c` input: two spaces between hash and name (text mode), one file a line."""
    return "".join(f"{f.sha256}  {f.path}\n" for f in files).encode("utf-8")


def referenced_artifacts(m: Measurement) -> dict[str, ArtifactKind]:
    """Every artifact hash a record cites (its artifact list and its observations), with its kind."""
    refs: dict[str, ArtifactKind] = {a.sha256: a.kind for a in m.artifacts}
    for q in m.queries:
        for sha in [q.raw_reply_sha256, *(r.raw_sha256 for r in q.late_replies)]:
            if sha:
                refs.setdefault(sha, "dns_wire")
    for h in m.tls_handshakes:
        for sha in h.peer_certificates:
            refs.setdefault(sha, "x509_der")
    for r in m.requests:
        if r.response is not None and r.response.body_sha256:
            refs.setdefault(r.response.body_sha256, "http_body")
    return refs
