"""`probe export`: a selection of the store as one signed, self-verifying zip.

One streaming pass over the selected entries writes the records (byte for byte as hashed), each
measurement's verdict records, the verdicts, the OONI view and the artifacts into a private staging
folder, while the report and the manifest's chain links are gathered. Every verdict the bundle
states is its measurement's latest signed verdict record, never the verdicts table: a table row no
record backs (or that disagrees with its record) makes export refuse; a verdict made before
verdicts were chained is left out (exported as none, and counted). Then: a privacy scan of every
file (refuse, never patch: the records are signed), the file hashes, the signed manifest, and the
zip, written to a temporary name and renamed, so a crash or a refusal never leaves a half bundle.
The staging folder sits beside the destination (`probe.evidence.bundle.staging` says why); a SIGKILLed
export's folder is removed by the next export.
"""

from __future__ import annotations

import hashlib
import json
import os
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
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.artifacts import ArtifactWriter
from probe.evidence.bundle.howto import verify_text
from probe.evidence.bundle.staging import staged_zip, staging_folder
from probe.evidence.bundle.statements import BundleFacts, all_sentences
from probe.evidence.bundle.third_party import add_section, report_section, write_third_party
from probe.evidence.keys import fingerprint, own_address_memory, public_key_pem
from probe.evidence.ooni.export import to_ooni
from probe.evidence.privacy import scan_for_addresses
from probe.evidence.report.data import NOT_CLASSIFIED, ReportData
from probe.evidence.report.page import ReportMeta, render
from probe.evidence.verify.chain import SignatureContinuity, bundle_key_problem
from probe.evidence.verify.result import measurement_label
from probe.evidence.verify.store_rows import index_row_problem
from probe.i18n import _
from probe.models import Verdict
from probe.models.canonical import canonical_json
from probe.models.chain import Link, VerdictRecord, parse_record
from probe.store import EntryFilter, Store, StoredEntry
from probe.store.own_addresses import OwnAddressMemory

_CHUNK = 1 << 20
# Longer than any spelling the matcher reads, so a match split by a chunk boundary is found whole: the
# longest is an ip6.arpa name with every character escaped twice, in UTF-32 (about 4 KiB).
_OVERLAP = 8192


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: mf.Manifest


def filters_used(filt: EntryFilter) -> dict[str, str]:
    return {k: str(v) for k, v in vars(filt).items() if v not in (None, "")}


def export_bundle(store: Store, out: Path, *, key: Ed25519PrivateKey, filt: EntryFilter,
                  scrub_ips: tuple[str, ...] = (), overwrite: bool = False,
                  languages: tuple[str, ...] = ()) -> ExportResult:
    """Write the bundle for the entries `filt` selects; EvidenceError if none, or if an address leaks.

    `languages` (of mf.TRANSLATIONS) adds report.<lang>.html and VERIFY.<lang>.txt beside the English ones."""
    _check_addresses(scrub_ips)
    if out.exists() and not overwrite:
        raise EvidenceError(_("{path} already exists; nothing was written").format(path=out),
                            hint=_("choose another --out or --force"))
    with staging_folder(out) as root:
        pass_ = _Pass(store, root)
        try:
            pass_.run(filt)
        except ValidationError as exc:  # a hash column that is no hash: the store was edited by hand
            raise EvidenceError(_("refusing to export: the store holds a malformed record ({problem}); nothing was "
                                  "written").format(problem=_first_error(exc)),
                                hint=_("run `probe verify --store` to see which")) from exc
        if not pass_.links:
            raise EvidenceError(_("nothing to export: no measurement matches the selection; nothing was written"),
                                hint=_("check the filters with `probe results`"))
        _refuse_signature_gaps(pass_.all_links(), fingerprint(key.public_key()))
        _refuse_unproven(pass_.links, fingerprint(key.public_key()))
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        third_party = write_third_party(root, store.path, filt)  # OONI's, imported: their own member
        languages = ("en", *(lang for lang in mf.TRANSLATIONS if lang in languages))
        _write_derived(root, pass_, key, created, filt, languages, third_party=len(third_party))
        for lang in languages:
            _add_report_section(root / mf.report_in(lang), report_section(third_party, lang=lang), lang=lang)
        _refuse_leaks(root, (*scrub_ips, *sorted(pass_.recorded_ips)),
                      own_address_memory(store.path, create=False))
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
        self.record_links: list[mf.RecordLink] = []
        self.unsigned_verdicts = 0
        self._chained_from = store.first_record_seq()

    def run(self, filt: EntryFilter) -> None:
        (self.root / "ooni").mkdir()
        with (open(self.root / mf.MEASUREMENTS, "wb") as records, open(self.root / mf.VERDICTS, "wb") as verdicts,
              open(self.root / mf.OONI, "wb") as ooni, open(self.root / mf.CHAIN_RECORDS, "wb") as chained):
            for entry in self.store.entries(filt):
                self._one(entry, records, verdicts, ooni, chained)
            if self.links:
                # Key records up to the end of the selection (a key record says from where links are
                # signed) and run records inside it: a whole export then has no gaps.
                first, last = self.links[0].seq, max(link.seq for link in self.all_links())
                for link in self.store.chain_records("key"):
                    if link.seq <= last:
                        self._add_record(link, chained)
                for link in self.store.chain_records("run"):
                    if first <= link.seq <= last:
                        self._add_record(link, chained)

    def all_links(self) -> list[mf.ChainLink | mf.RecordLink]:
        """Every link the bundle holds, in chain order."""
        return sorted([*self.links, *self.record_links], key=lambda link: link.seq)

    def _add_record(self, link: Link, chained: BinaryIO) -> None:
        chained.write(link.record.encode("utf-8") + b"\n")  # exactly the bytes that were hashed
        self.record_links.append(mf.RecordLink(
            kind=link.kind, seq=link.seq, subject=link.subject, record_sha256=link.record_sha256,
            prev_hash=link.prev_hash, chain_hash=link.chain_hash, signature=link.signature,
            key_fingerprint=link.key_fingerprint))

    def _signed_verdict(self, entry: StoredEntry, chained: BinaryIO) -> Verdict | None:
        """The measurement's latest signed verdict record (all of its records go into the bundle)."""
        links = self.store.verdict_links(entry.measurement_id)
        where = measurement_label(entry.measurement_id, entry.seq)
        if not links:
            if entry.verdict is None:
                return None
            if self._chained_from is not None and entry.seq > self._chained_from:
                raise EvidenceError(_("refusing to export: {where} has a verdict ({label}) that no signed verdict "
                                      "record backs: the verdicts table was edited; nothing was written").format(
                                          where=where, label=entry.verdict.label),
                                    hint=_("run `probe verify --store` to see every such row"))
            self.unsigned_verdicts += 1  # made before verdicts were chained: never exported as signed
            return None
        record = parse_record(links[-1].record)
        if not isinstance(record, VerdictRecord) or record.measurement_sha256 != entry.record_sha256:
            raise EvidenceError(_("refusing to export: the latest verdict record of {where} is not a verdict about its "
                                  "record; nothing was written").format(where=where),
                                hint=_("run `probe verify --store`"))
        # The whole row, not only the verdict JSON: the label and blocked columns chose this selection.
        problem = index_row_problem(self.store.verdict_row(entry.measurement_id), links[-1].seq, record)
        if entry.verdict != record.verdict or problem:
            raise EvidenceError(_("refusing to export: for {where}, {problem} but its signed verdict record says "
                                  "{label}: the verdicts table was edited; nothing was written").format(
                                      where=where, problem=problem or _("its verdicts row differs"),
                                      label=record.verdict.label),
                                hint=_("run `probe verify --store` to see every such row"))
        for link in links:
            self._add_record(link, chained)
        return record.verdict

    def _one(self, entry: StoredEntry, records: BinaryIO, verdicts: BinaryIO, ooni: BinaryIO,
             chained: BinaryIO) -> None:
        m = entry.measurement()
        records.write(entry.record.encode("utf-8") + b"\n")  # exactly the bytes that were hashed
        v = self._signed_verdict(entry, chained)
        verdicts.write(canonical_json({"measurement_id": m.measurement_id,
                                       "verdict": v.model_dump(mode="json") if v else None}) + b"\n")
        self.artifacts.add(m)
        ooni.write(canonical_json(to_ooni(m, v, self.artifacts.data)) + b"\n")
        self.report.add(m, v)
        self.report.add_signature(entry.key_fingerprint if entry.signature else None)
        self.verdicts[v.label if v else "unclassified"] += 1
        if m.control is not None and m.control.client_ip:
            # The measure layer should have dropped it; if not, it is the probe's address: hunt for it.
            self.recorded_ips.add(m.control.client_ip)
        self.links.append(mf.ChainLink(seq=entry.seq, measurement_id=entry.measurement_id,
                                       record_sha256=entry.record_sha256, prev_hash=entry.prev_hash,
                                       chain_hash=entry.chain_hash, signature=entry.signature,
                                       key_fingerprint=entry.key_fingerprint))


def _write_derived(root: Path, p: _Pass, key: Ed25519PrivateKey, created: str, filt: EntryFilter,
                   languages: tuple[str, ...], *, third_party: int) -> None:
    fp = fingerprint(key.public_key())
    meta = report_meta(created=created, version=__version__, key_fingerprint=fp, filters=filters_used(filt))
    for lang in languages:
        (root / mf.report_in(lang)).write_text(render(p.report, meta, lang=lang), encoding="utf-8")
    (root / mf.PUBLIC_KEY).write_bytes(public_key_pem(key.public_key()))
    seqs = [link.seq for link in p.all_links()]
    missing = sum(b - a + 1 for a, b in mf.gaps_of(seqs))
    data = p.report
    facts = BundleFacts(measurements=data.count, exporting_key=fp, signers=data.signers,
                        without_verdict=data.labels[NOT_CLASSIFIED], first=data.first, last=data.last,
                        third_party=third_party, pruned_items=data.pruning.count,
                        pruned_measurements=data.pruning.measurements)
    for lang in languages:
        said = all_sentences(facts, lang=lang)
        text = verify_text(count=len(p.links), version=__version__, created=created, first=seqs[0],
                           last=seqs[-1], gaps=missing, fingerprint=fp, facts=said, lang=lang)
        (root / mf.verify_txt_in(lang)).write_text(text, encoding="utf-8")


def report_meta(*, created: str, version: str, key_fingerprint: str, filters: dict[str, str]) -> ReportMeta:
    """The report's header as the bundle's manifest pins it (filters sorted, as the manifest keeps
    them), so `probe verify` can render the report again from the signed records and compare."""
    return ReportMeta(generated_at=created, software_version=version, key_fingerprint=key_fingerprint,
                      filters=tuple(sorted(filters.items())), in_bundle=True)


def _add_report_section(report: Path, section: str, *, lang: str) -> None:
    if section:
        report.write_text(add_section(report.read_text(encoding="utf-8"), section, lang=lang), encoding="utf-8")


def _refuse_unproven(links: list[mf.ChainLink], key_fp: str) -> None:
    """Refuse a selection in which no measurement is signed by the exporting key: `probe verify`
    fails it, since a forger who edits records and re-signs the manifest produces the same thing."""
    problem = bundle_key_problem([(link.signature, link.key_fingerprint) for link in links], key_fp)
    if problem is not None:
        raise EvidenceError(_("refusing to export: {problem}; nothing was written").format(problem=problem),
                            hint=_("measurements stored before `probe init` (or under an older key) cannot be "
                                   "proven; widen the selection to include measurements signed by this key"))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _refuse_signature_gaps(links: list[mf.ChainLink | mf.RecordLink], key_fp: str) -> None:
    """Refuse, never paper over, links left unsigned (or signed by another key) after this key began.

    `probe verify` fails such a bundle (it is what a rewritten chain tail looks like), so a bundle
    holding one would prove nothing; the operator must look at those measurements first.
    """
    continuity = SignatureContinuity(key_fp)
    bad = [_label(link) for link in links if continuity.see(link.signature, link.key_fingerprint) is not None]
    if bad:
        named = ", ".join(bad[:5]) + (_(" and more") if len(bad) > 5 else "")
        message = (_("refusing to export: {links} is not signed by {fingerprint} although measurements before it "
                     "are (signature missing after signed measurements began); nothing was written")
                   if len(bad) == 1 else
                   _("refusing to export: {links} are not signed by {fingerprint} although measurements before "
                     "them are (signature missing after signed measurements began); nothing was written"))
        raise EvidenceError(message.format(links=named, fingerprint=key_fp),
                            hint=_("run `probe verify --store`; export a selection without them (e.g. --until), "
                                   "or export with the key that signed them"))


def _label(link: mf.ChainLink | mf.RecordLink) -> str:
    if isinstance(link, mf.ChainLink):
        return measurement_label(link.measurement_id, link.seq)
    if link.subject:
        return _("the {kind} record {seq} about {subject}").format(kind=link.kind, seq=link.seq, subject=link.subject)
    return _("the {kind} record {seq}").format(kind=link.kind, seq=link.seq)


def _refuse_oversize(manifest: mf.Manifest, manifest_bytes: bytes) -> None:
    """Never write a bundle `probe verify` would refuse to unpack (it guards against zip bombs)."""
    sizes = [(mf.MANIFEST, len(manifest_bytes), mf.MAX_MEMBER_BYTES),
             *((f.path, f.size, mf.member_cap(f.path)) for f in manifest.files)]
    over = [path for path, size, cap in sizes if size > cap]
    total = sum(size for _name, size, _kind in sizes)
    if over or total > mf.MAX_BUNDLE_BYTES:
        what = (_("{files} would be larger than a bundle file may be").format(files=", ".join(over[:5])) if over else
                _("it would unpack to {size}, more than the {limit} a bundle may hold").format(
                    size=mf.size_text(total), limit=mf.size_text(mf.MAX_BUNDLE_BYTES)))
        raise EvidenceError(_("refusing to export: {what} (`probe verify` would refuse it); nothing was "
                              "written").format(what=what),
                            hint=_("export a narrower selection, e.g. --since/--until"))


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
        more = _(" and more") if len(leaks) > 5 else ""
        raise EvidenceError(_("refusing to export: the probe's address appears in {where}{more}; nothing was "
                              "written").format(where=", ".join(leaks[:5]), more=more),
                            hint=_("these records were stored unscrubbed; export a selection without them"))


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
    seqs = [link.seq for link in p.all_links()]
    head_seq, head_hash = store.head()
    statuses = Counter(e.status for e in p.artifacts.entries.values())
    return mf.Manifest(
        created_at=created, software_version=__version__, key_fingerprint=fingerprint(key.public_key()),
        filters=filters_used(filt),
        chain=mf.ChainRange(first_seq=seqs[0], last_seq=seqs[-1], gaps=mf.gaps_of(seqs),
                            store_head_seq=head_seq, store_head_hash=head_hash),
        counts=mf.Counts(measurements=len(p.links), targets=len(p.report.targets),
                         artifacts_included=statuses["included"], artifacts_pruned=statuses["pruned"],
                         artifacts_missing=statuses["missing"], verdicts=dict(p.verdicts),
                         unsigned_verdicts=p.unsigned_verdicts),
        measurements=p.links, links=sorted(p.record_links, key=lambda link: link.seq),
        artifacts=sorted(p.artifacts.entries.values(), key=lambda e: e.sha256),
        files=files)


def _write_zip(out: Path, root: Path, manifest: mf.Manifest, manifest_bytes: bytes, signature: bytes) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = staged_zip(root, out)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(mf.MANIFEST, manifest_bytes)
            zf.writestr(mf.SIGNATURE, signature)
            for entry in manifest.files:
                zf.write(root / entry.path, entry.path)
        os.replace(partial, out)
    except OSError as exc:
        raise EvidenceError(_("cannot write {path}: {problem}").format(path=out, problem=exc.strerror or exc)) from exc
