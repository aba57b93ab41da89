"""`probe export`: a selection of the store as one signed, self-verifying zip.

One streaming pass over the selected entries writes the records (byte for byte as hashed), the
verdicts, the OONI view and the artifacts into a private staging folder, while the report and the
manifest's chain links are gathered. Then: a privacy scan of every file (refuse, never patch: the
records are signed), the file hashes, the signed manifest, and the zip, written to a temporary name
and renamed, so a crash or a refusal never leaves a half bundle behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from probe import __version__
from probe.errors import EvidenceError
from probe.evidence import manifest as mf
from probe.evidence.bundle_artifacts import ArtifactWriter
from probe.evidence.howto import verify_text
from probe.evidence.keys import fingerprint, own_address_key_path, public_key_pem
from probe.evidence.ooni_export import to_ooni
from probe.evidence.privacy import scan_for_addresses
from probe.evidence.report import ReportMeta, render
from probe.evidence.report_data import ReportData
from probe.evidence.verify_chain import SignatureContinuity, bundle_key_problem
from probe.evidence.verify_result import measurement_label
from probe.models.canonical import canonical_json
from probe.store import EntryFilter, Store, StoredEntry
from probe.store.own_addresses import OwnAddressMemory, memory_path

_CHUNK = 1 << 20
_OVERLAP = 128  # longer than any spelling of an IP address (exploded, percent-encoded): a split match is found


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: mf.Manifest


def filters_used(filt: EntryFilter) -> dict[str, str]:
    return {k: str(v) for k, v in vars(filt).items() if v not in (None, "")}


def export_bundle(store: Store, out: Path, *, key: Ed25519PrivateKey, filt: EntryFilter,
                  scrub_ips: tuple[str, ...] = (), overwrite: bool = False) -> ExportResult:
    """Write the bundle for the entries `filt` selects; EvidenceError if none, or if an address leaks."""
    _check_addresses(scrub_ips)
    if out.exists() and not overwrite:
        raise EvidenceError(f"{out} already exists; nothing was written", hint="choose another --out or --force")
    with tempfile.TemporaryDirectory(prefix="probe-export-") as tmp:
        root = Path(tmp)
        pass_ = _Pass(store, root)
        try:
            pass_.run(filt)
        except ValidationError as exc:  # a hash column that is no hash: the store was edited by hand
            raise EvidenceError(f"refusing to export: the store holds a malformed record ({_first_error(exc)}); "
                                "nothing was written", hint="run `probe verify --store` to see which") from exc
        if not pass_.links:
            raise EvidenceError("nothing to export: no measurement matches the selection; nothing was written",
                                hint="check the filters with `probe results`")
        _refuse_signature_gaps(pass_.links, fingerprint(key.public_key()))
        _refuse_unproven(pass_.links, fingerprint(key.public_key()))
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _write_derived(root, pass_, key, created, filt)
        _refuse_leaks(root, (*scrub_ips, *sorted(pass_.recorded_ips)),
                      OwnAddressMemory.load(memory_path(store.path), own_address_key_path(), create=False))
        manifest = _manifest(root, pass_, key, created, filt, store)
        manifest_bytes = (json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True,
                                     ensure_ascii=False) + "\n").encode("utf-8")
        _refuse_oversize(manifest, manifest_bytes)
        _write_zip(out, root, manifest, manifest_bytes, key.sign(manifest_bytes))
    return ExportResult(path=out, manifest=manifest)


class _Pass:
    """The single streaming pass over the selected entries."""

    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.root = root
        self.links: list[mf.ChainLink] = []
        # artifact_info says what retention deleted; artifact_bytes quotes registries' raw answers
        self.report = ReportData(artifact_info=store.artifact_info, artifact_bytes=store.artifact)
        self.artifacts = ArtifactWriter(store, root)
        self.recorded_ips: set[str] = set()
        self.verdicts: Counter[str] = Counter()

    def run(self, filt: EntryFilter) -> None:
        (self.root / "ooni").mkdir()
        with (open(self.root / mf.MEASUREMENTS, "wb") as records, open(self.root / mf.VERDICTS, "wb") as verdicts,
              open(self.root / mf.OONI, "wb") as ooni):
            for entry in self.store.entries(filt):
                self._one(entry, records, verdicts, ooni)

    def _one(self, entry: StoredEntry, records: BinaryIO, verdicts: BinaryIO, ooni: BinaryIO) -> None:
        m = entry.measurement()
        records.write(entry.record.encode("utf-8") + b"\n")  # exactly the bytes that were hashed
        v = entry.verdict
        verdicts.write(canonical_json({"measurement_id": m.measurement_id,
                                       "verdict": v.model_dump(mode="json") if v else None}) + b"\n")
        self.artifacts.add(m)
        ooni.write(canonical_json(to_ooni(m, v, self.artifacts.data)) + b"\n")
        self.report.add(m, v)
        self.verdicts[v.label if v else "unclassified"] += 1
        if m.control is not None and m.control.client_ip:
            # The measure layer should have dropped it; if not, it is the probe's address: hunt for it.
            self.recorded_ips.add(m.control.client_ip)
        self.links.append(mf.ChainLink(seq=entry.seq, measurement_id=entry.measurement_id,
                                       record_sha256=entry.record_sha256, prev_hash=entry.prev_hash,
                                       chain_hash=entry.chain_hash, signature=entry.signature,
                                       key_fingerprint=entry.key_fingerprint))


def _write_derived(root: Path, p: _Pass, key: Ed25519PrivateKey, created: str, filt: EntryFilter) -> None:
    fp = fingerprint(key.public_key())
    meta = ReportMeta(generated_at=created, software_version=__version__, key_fingerprint=fp,
                      filters=tuple(filters_used(filt).items()), in_bundle=True)
    (root / mf.REPORT).write_text(render(p.report, meta), encoding="utf-8")
    (root / mf.PUBLIC_KEY).write_bytes(public_key_pem(key.public_key()))
    seqs = [link.seq for link in p.links]
    missing = sum(b - a + 1 for a, b in mf.gaps_of(seqs))
    text = verify_text(count=len(seqs), version=__version__, created=created, first=seqs[0], last=seqs[-1],
                       gaps=missing, fingerprint=fp)
    (root / mf.VERIFY_TXT).write_text(text, encoding="utf-8")


def _refuse_unproven(links: list[mf.ChainLink], key_fp: str) -> None:
    """Refuse a selection in which no measurement is signed by the exporting key: `probe verify`
    fails it, since a forger who edits records and re-signs the manifest produces the same thing."""
    problem = bundle_key_problem([(link.signature, link.key_fingerprint) for link in links], key_fp)
    if problem is not None:
        raise EvidenceError(f"refusing to export: {problem}; nothing was written",
                            hint="measurements stored before `probe init` (or under an older key) cannot be "
                                 "proven; widen the selection to include measurements signed by this key")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _refuse_signature_gaps(links: list[mf.ChainLink], key_fp: str) -> None:
    """Refuse, never paper over, links left unsigned (or signed by another key) after this key began.

    `probe verify` fails such a bundle (it is what a rewritten chain tail looks like), so a bundle
    holding one would prove nothing; the operator must look at those measurements first.
    """
    continuity = SignatureContinuity(key_fp)
    bad = [measurement_label(link.measurement_id, link.seq) for link in links
           if continuity.see(link.signature, link.key_fingerprint) is not None]
    if bad:
        raise EvidenceError(f"refusing to export: {', '.join(bad[:5])}{' and more' if len(bad) > 5 else ''} "
                            f"{'is' if len(bad) == 1 else 'are'} not signed by {key_fp} although measurements "
                            "before them are (signature missing after signed measurements began); nothing was "
                            "written",
                            hint="run `probe verify --store`; export a selection without them (e.g. --until), "
                                 "or export with the key that signed them")


def _refuse_oversize(manifest: mf.Manifest, manifest_bytes: bytes) -> None:
    """Never write a bundle `probe verify` would refuse to unpack (it guards against zip bombs)."""
    sizes = [(mf.MANIFEST, len(manifest_bytes), mf.MAX_MEMBER_BYTES),
             *((f.path, f.size, mf.member_cap(f.path)) for f in manifest.files)]
    over = [path for path, size, cap in sizes if size > cap]
    total = sum(size for _, size, _ in sizes)
    if over or total > mf.MAX_BUNDLE_BYTES:
        what = (f"{', '.join(over[:5])} would be larger than a bundle file may be" if over else
                f"it would unpack to {mf.size_text(total)}, more than the {mf.size_text(mf.MAX_BUNDLE_BYTES)} "
                "a bundle may hold")
        raise EvidenceError(f"refusing to export: {what} (`probe verify` would refuse it); nothing was written",
                            hint="export a narrower selection, e.g. --since/--until")


def _check_addresses(addresses: tuple[str, ...]) -> None:
    try:
        scan_for_addresses(b"", addresses)
    except ValueError as exc:
        raise EvidenceError(f"--scrub-ip: {exc}") from exc


def _refuse_leaks(root: Path, addresses: tuple[str, ...], memory: OwnAddressMemory) -> None:
    if not addresses and not len(memory):
        return
    leaks = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if _file_contains(path, addresses, memory):
            leaks.append(path.relative_to(root).as_posix())
    if leaks:
        raise EvidenceError(f"refusing to export: the probe's address appears in {', '.join(leaks[:5])}"
                            f"{' and more' if len(leaks) > 5 else ''}; nothing was written",
                            hint="these records were stored unscrubbed; export a selection without them")


def _file_contains(path: Path, addresses: tuple[str, ...], memory: OwnAddressMemory) -> bool:
    tail = b""
    binary = path.suffix == ".bin"  # wire bytes: an address may travel packed, not as text
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if scan_for_addresses(tail + chunk, addresses, binary=binary, memory=memory):
                return True
            tail = chunk[-_OVERLAP:]
    return False


def _file_entry(root: Path, path: Path) -> mf.FileEntry:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return mf.FileEntry(path=path.relative_to(root).as_posix(), sha256=digest.hexdigest(),
                        size=path.stat().st_size)


def _manifest(root: Path, p: _Pass, key: Ed25519PrivateKey, created: str, filt: EntryFilter,
              store: Store) -> mf.Manifest:
    files = [_file_entry(root, path) for path in sorted(root.rglob("*")) if path.is_file()]
    (root / mf.SHA256SUMS).write_bytes(mf.sha256sums(files))
    files = sorted([*files, _file_entry(root, root / mf.SHA256SUMS)], key=lambda f: f.path)
    seqs = [link.seq for link in p.links]
    head_seq, head_hash = store.head()
    statuses = Counter(e.status for e in p.artifacts.entries.values())
    return mf.Manifest(
        created_at=created, software_version=__version__, key_fingerprint=fingerprint(key.public_key()),
        filters=filters_used(filt),
        chain=mf.ChainRange(first_seq=seqs[0], last_seq=seqs[-1], gaps=mf.gaps_of(seqs),
                            store_head_seq=head_seq, store_head_hash=head_hash),
        counts=mf.Counts(measurements=len(p.links), targets=len(p.report.targets),
                         artifacts_included=statuses["included"], artifacts_pruned=statuses["pruned"],
                         artifacts_missing=statuses["missing"], verdicts=dict(p.verdicts)),
        measurements=p.links, artifacts=sorted(p.artifacts.entries.values(), key=lambda e: e.sha256),
        files=files)


def _write_zip(out: Path, root: Path, manifest: mf.Manifest, manifest_bytes: bytes, signature: bytes) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(mf.MANIFEST, manifest_bytes)
            zf.writestr(mf.SIGNATURE, signature)
            for entry in manifest.files:
                zf.write(root / entry.path, entry.path)
        os.replace(partial, out)
    except OSError as exc:
        raise EvidenceError(f"cannot write {out}: {exc.strerror or exc}") from exc
