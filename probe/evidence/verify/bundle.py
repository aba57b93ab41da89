"""`probe verify FILE.zip`: check a bundle offline, from its own contents alone.

In order: the zip can be read; the manifest is signed by the enclosed key (and, if asked, that key
is the expected one); every file has the hash the manifest gives and no file was added; every
measurement line is the record the manifest lists (nothing removed, added or changed); each chain
link and signature holds and consecutive links join; at least one link is signed by the bundle's
own key; the gaps are the ones declared; every verdict the bundle states (ours, OONI's, the
counts, the report) is its measurement's latest signed verdict record (`verify_verdicts`); and
every artifact the records cite is in the bundle with the right hash, or declared pruned. Damage and hostile input
(bad names, deep JSON, malformed hashes) never raise: each problem becomes a finding naming the file
or the measurement, and checking goes on so a person sees everything that is wrong at once. No
member is read more than twice, whatever the manifest lists.

What this cannot prove: who made the bundle. Anyone can make a self-consistent bundle with a key of
their own; only comparing the key's fingerprint with the probe's published one (`--fingerprint`)
ties it to the probe.
"""

from __future__ import annotations

import hashlib
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from pydantic_core import from_json

from probe.errors import EvidenceError
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.third_party import verify_third_party
from probe.evidence.keys import fingerprint, load_public_key_pem, signature_valid
from probe.evidence.verify.artifacts import check_artifacts
from probe.evidence.verify.chain import LinkChecker, bundle_key_problem
from probe.evidence.verify.records import link_label
from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.evidence.verify.verdicts import ReportRebuild, backed_verdicts, check_records, check_stated
from probe.i18n import N_, _
from probe.models import Measurement
from probe.models.artifacts import ArtifactKind
from probe.models.canonical import sha256_hex
from probe.models.chain import Link

# What zipfile raises on a damaged or hostile archive: a bad header, a name flagged UTF-8 that is not
# (UnicodeDecodeError, a ValueError), a "version needed" or a method it does not implement, encryption.
_DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, NotImplementedError,
           RuntimeError)
_CHUNK = 1 << 20


class BundleReader:
    """Streams members of the zip, turning damage into findings (each reported once).

    Nothing is unpacked past its limit: the size the manifest declares for the file, or the absolute
    cap (`manifest.member_cap`), whichever is smaller. A member whose zip header already promises
    more is refused unread; one that unpacks to more than it promised is cut off there.
    """

    def __init__(self, zf: zipfile.ZipFile, result: VerifyResult) -> None:
        self._zf = zf
        self._r = result
        self._failed: set[str] = set()
        infos = zf.infolist()
        self.names = [i.filename for i in infos]
        self._infos = {i.filename: i for i in infos}  # the last of duplicates, as zipfile.open picks
        self._unpacked = sum(i.file_size for i in infos)  # duplicates included
        self._declared: dict[str, int] = {}
        self._digests: dict[str, tuple[str, int] | None] = {}

    def declare(self, files: list[mf.FileEntry]) -> None:
        """The sizes the manifest gives: no file is unpacked past its own."""
        self._declared = {f.path: f.size for f in files}

    def unpacked_size(self) -> int:
        """What the zip's headers say every member unpacks to, together."""
        return self._unpacked

    def failed(self, name: str) -> bool:
        return name in self._failed

    def chunks(self, name: str) -> Iterator[bytes]:
        """The member's bytes a chunk at a time; stops, with a finding, at damage or past its limit."""
        if name in self._failed:
            return
        info = self._infos.get(name)
        if info is None:
            self._fail(name, _("missing from the bundle"))
            return
        limit, what = self._limit(name)
        if info.file_size > limit:
            self._fail(name, _("unpacks to {size} bytes, more than {limit}: refused unread "
                               "(a zip bomb, or a changed file)").format(size=info.file_size, limit=what))
            return
        seen = 0
        try:
            with self._zf.open(info) as handle:
                while chunk := handle.read(_CHUNK):
                    seen += len(chunk)
                    if seen > limit:
                        self._fail(name, _("unpacks to more than {limit}: refused, reading stopped there "
                                           "(a zip bomb, or a changed file)").format(limit=what))
                        return
                    yield chunk
        except _DAMAGE as exc:
            self._fail(name, _("damaged inside the zip, cannot be read ({problem})").format(problem=exc))

    def read(self, name: str) -> bytes | None:
        """The whole member (never more than its limit), or None if it cannot be read."""
        data = b"".join(self.chunks(name))
        return None if name in self._failed else data

    def digest(self, name: str) -> tuple[str, int] | None:
        """(SHA-256 hex, size) of the member, hashed as it streams (once: remembered); None if unreadable."""
        if name not in self._digests:
            digest = hashlib.sha256()
            size = 0
            for chunk in self.chunks(name):
                digest.update(chunk)
                size += len(chunk)
            self._digests[name] = None if name in self._failed else (digest.hexdigest(), size)
        return self._digests[name]

    def lines(self, name: str) -> Iterator[bytes]:
        """The member's lines (without their newline), as they stream; a final empty line is dropped."""
        pending = b""
        for chunk in self.chunks(name):
            *complete, pending = (pending + chunk).split(b"\n")
            for line in [*complete, pending]:
                if len(line) > mf.MAX_LINE_BYTES:
                    self._fail(name, _("has a line longer than {size}: refused, reading stopped there").format(
                        size=mf.size_text(mf.MAX_LINE_BYTES)))
                    return
            yield from complete
        if pending and name not in self._failed:
            yield pending

    def _limit(self, name: str) -> tuple[int, str]:
        cap = mf.member_cap(name)
        declared = self._declared.get(name)
        if declared is not None and declared < cap:
            return declared, _("the {size} bytes the manifest declares").format(size=declared)
        return cap, _("the {size} a bundle file may hold").format(size=mf.size_text(cap))

    def _fail(self, name: str, message: str) -> None:
        self._failed.add(name)
        self._r.fail(name, message)


def verify_bundle(path: Path, *, expected_fingerprint: str | None = None) -> VerifyResult:
    result = VerifyResult(subject=str(path))
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise EvidenceError(_("no such file: {path}").format(path=path)) from exc
    except _DAMAGE as exc:
        result.fail(path.name, _unreadable_zip(exc))
        return result
    with zf:
        reader = BundleReader(zf, result)
        if reader.unpacked_size() > mf.MAX_BUNDLE_BYTES:
            result.fail(path.name, _("unpacks to {size} bytes, more than the {limit} a bundle may hold: refused "
                                     "unread (a zip bomb?)").format(size=reader.unpacked_size(),
                                                                    limit=mf.size_text(mf.MAX_BUNDLE_BYTES)))
            return result
        _check_duplicates(reader, result)
        checked = _check_manifest(reader, result, expected_fingerprint)
        if checked is None:
            return result
        manifest, key = checked
        reader.declare(manifest.files)
        _check_files(reader, manifest, result)
        backed = backed_verdicts(manifest, check_records(reader, manifest, result), result)
        report = ReportRebuild(manifest, backed, read=reader.read)
        refs = _check_measurements(reader, manifest, result, report)
        _check_chain(manifest, result, key)
        check_stated(reader, manifest, backed, result)
        shown = verify_third_party(reader.lines(mf.THIRD_PARTY_OONI) if mf.THIRD_PARTY_OONI in reader.names
                                   else None, result)  # OONI's measurements: their own section, never our chain
        report.compare(reader, result, third_party=shown)
        check_artifacts(reader.read, manifest, refs, result)
    return result


def _unreadable_zip(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return _("a file name in the zip is marked UTF-8 but is not ({problem}): refused unread (damaged or "
                 "forged)").format(problem=exc.reason)
    if isinstance(exc, NotImplementedError):
        return _("uses a zip feature this probe does not read ({problem}): refused unread "
                 "(`probe export` never writes one: damaged or forged)").format(problem=exc)
    return _("not a complete zip archive: truncated or damaged ({problem})").format(problem=exc)


def _check_duplicates(reader: BundleReader, result: VerifyResult) -> None:
    seen: set[str] = set()
    for name in reader.names:
        if name in seen:
            result.fail(name, _("appears twice in the zip: one copy could hide another"))
        seen.add(name)


def _check_manifest(reader: BundleReader, r: VerifyResult,
                    expected: str | None) -> tuple[mf.Manifest, Ed25519PublicKey | None] | None:
    """The manifest, and the bundle's key if it is usable: readable and the one the manifest names."""
    data = reader.read(mf.MANIFEST)
    signature = reader.read(mf.SIGNATURE)
    key_pem = reader.read(mf.PUBLIC_KEY)
    if data is None:
        return None
    key = None
    if key_pem is not None:
        try:
            key = load_public_key_pem(key_pem)
        except EvidenceError as exc:
            r.fail(mf.PUBLIC_KEY, exc.message)
        except UnsupportedAlgorithm as exc:  # a key type cryptography does not know (not a ValueError)
            r.fail(mf.PUBLIC_KEY, _("the public key is not an Ed25519 key ({problem})").format(problem=exc))
    if key is not None and signature is not None:
        if signature_valid(key, signature, data):
            r.checked[N_("manifest signature")] += 1
        else:
            r.fail(mf.MANIFEST, _("the signature in {file} does not match: the manifest was changed after it was "
                                  "signed, or the signature or the public key was replaced").format(file=mf.SIGNATURE))
    try:
        manifest = mf.Manifest.model_validate_json(data)
    except ValidationError as exc:
        r.fail(mf.MANIFEST, _("not a valid manifest ({problem})").format(problem=_first_error(exc)))
        return None
    if manifest.format not in mf.READABLE_FORMATS:
        r.fail(mf.MANIFEST, _("unknown bundle format {format} (this probe reads {formats})").format(
            format=repr(manifest.format), formats=", ".join(mf.READABLE_FORMATS)))
    elif manifest.format != mf.BUNDLE_FORMAT:
        r.note(mf.MANIFEST, _("an older format ({format}), made before verdicts were chained: its records and chain "
                              "are checked, but no verdict it states is backed by a signed record").format(
                                  format=manifest.format))
    return manifest, _check_key(key, manifest, r, expected)


def _first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, with where it is (e.g. `measurements.3.prev_hash: …`)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _check_key(key: Ed25519PublicKey | None, manifest: mf.Manifest, r: VerifyResult,
               expected: str | None) -> Ed25519PublicKey | None:
    r.key_fingerprint = manifest.key_fingerprint
    if key is not None and fingerprint(key) != manifest.key_fingerprint:
        r.fail(mf.PUBLIC_KEY, _("its fingerprint {fingerprint} is not the manifest's {expected}").format(
            fingerprint=fingerprint(key), expected=manifest.key_fingerprint))
        key = None  # reported once here; checking every signature with it would add only noise
    if expected and expected != manifest.key_fingerprint:
        r.fail(mf.PUBLIC_KEY, _("signed by {fingerprint}, not by the expected key {expected}").format(
            fingerprint=manifest.key_fingerprint, expected=expected))
    return key


def _check_files(reader: BundleReader, manifest: mf.Manifest, r: VerifyResult) -> None:
    times = Counter(f.path for f in manifest.files)
    for path, count in times.items():
        if count > 1:
            r.fail(mf.MANIFEST, _("lists {path} {count} times: a manifest names each file once").format(path=path,
                                                                                                    count=count))
    listed = set(times)
    for entry in manifest.files:
        if times[entry.path] > 1:
            continue  # which of its entries to believe? none: failed above
        found = reader.digest(entry.path)
        if found is None:
            continue
        if found != (entry.sha256, entry.size):
            r.fail(entry.path, _("its SHA-256 differs from the manifest's: the file was changed"))
        else:
            r.checked[N_("files")] += 1
    for name in reader.names:
        if name not in listed and name not in mf.UNLISTED:
            r.fail(name, _("not listed in the manifest: it was added after the bundle was made"))
    sums = reader.read(mf.SHA256SUMS) if mf.SHA256SUMS in listed else None
    others = [f for f in manifest.files if f.path != mf.SHA256SUMS]
    if sums is not None and sums != mf.sha256sums(others):
        r.fail(mf.SHA256SUMS, _("does not agree with the manifest's list of files"))


def _check_measurements(reader: BundleReader, manifest: mf.Manifest, r: VerifyResult,
                        report: ReportRebuild) -> dict[str, dict[str, ArtifactKind]]:
    """Match each line to the manifest by record hash; returns each record's cited artifacts."""
    by_hash = {link.record_sha256: link for link in manifest.measurements}
    found: set[str] = set()
    refs: dict[str, dict[str, ArtifactKind]] = {}
    for number, line in enumerate(reader.lines(mf.MEASUREMENTS), start=1):
        sha = sha256_hex(line)
        link = by_hash.get(sha)
        if link is None:
            r.fail(mf.MEASUREMENTS, _("line {number} ({id}) is not a record the manifest lists: it was changed or "
                                      "added").format(number=number, id=_line_id(line)))
            continue
        if sha in found:
            r.fail(mf.MEASUREMENTS, _("line {number} repeats the record of {measurement}: it was added").format(
                number=number, measurement=measurement_label(link.measurement_id, link.seq)))
            continue
        found.add(sha)
        record = _parse(line, link, r)
        if record is not None:
            refs[link.measurement_id] = mf.referenced_artifacts(record)
            report.add(record, link.key_fingerprint if link.signature else None)
            r.checked[N_("measurement records")] += 1
    if reader.failed(mf.MEASUREMENTS):
        return refs  # unreadable (already reported): what it lacks says nothing about removed records
    for link in manifest.measurements:
        if link.record_sha256 not in found:
            r.fail(measurement_label(link.measurement_id, link.seq),
                   _("listed in the manifest but its record is not in {file}: removed or changed").format(
                       file=mf.MEASUREMENTS))
    return refs


def _line_id(line: bytes) -> str:
    try:
        # pydantic's parser, not json.loads: a line of 200,000 '[' is a ValueError there, not a RecursionError.
        return measurement_label(str(from_json(line)["measurement_id"]))
    except (ValueError, KeyError, TypeError):
        return _("not a readable record")


def _parse(line: bytes, link: mf.ChainLink, r: VerifyResult) -> Measurement | None:
    try:
        record = Measurement.model_validate_json(line)
    except ValidationError as exc:
        r.fail(measurement_label(link.measurement_id, link.seq),
               _("the record does not parse ({problem})").format(problem=exc.errors()[0]["msg"]))
        return None
    if record.measurement_id != link.measurement_id:
        r.fail(measurement_label(link.measurement_id, link.seq),
               _("the record's own id is {id}, not the manifest's").format(id=record.measurement_id))
    return record


def _check_chain(manifest: mf.Manifest, r: VerifyResult, key: Ed25519PublicKey | None) -> None:
    checker = LinkChecker(r, key, manifest.key_fingerprint)
    for link in _all_links(manifest):
        checker.check(measurement_id=link.subject or "?", seq=link.seq, record_sha256=link.record_sha256,
                      prev_hash=link.prev_hash, link_hash=link.chain_hash, signature=link.signature,
                      key_fingerprint=link.key_fingerprint, kind=link.kind, where=link_label(link))
    checker.summarize("chain")
    if key is not None:  # without the bundle's key a failure was already reported
        problem = bundle_key_problem([(link.signature, link.key_fingerprint) for link in manifest.measurements],
                                     manifest.key_fingerprint)
        if problem is not None:
            r.fail(_("chain"), problem)
    _check_range(manifest, r)


def _all_links(manifest: mf.Manifest) -> list[Link]:
    """Every link the manifest lists (records left empty: the chain check needs only the hashes), by seq."""
    links = [Link(kind="measurement", seq=m.seq, record="", record_sha256=m.record_sha256, prev_hash=m.prev_hash,
                  chain_hash=m.chain_hash, signature=m.signature, key_fingerprint=m.key_fingerprint,
                  subject=m.measurement_id) for m in manifest.measurements]
    links += [Link(kind=o.kind, seq=o.seq, record="", record_sha256=o.record_sha256, prev_hash=o.prev_hash,
                   chain_hash=o.chain_hash, signature=o.signature, key_fingerprint=o.key_fingerprint,
                   subject=o.subject) for o in manifest.links]
    return sorted(links, key=lambda link: link.seq)


def _check_range(manifest: mf.Manifest, r: VerifyResult) -> None:
    seqs = [link.seq for link in _all_links(manifest)]
    chain = manifest.chain
    if not seqs:
        r.fail(mf.MANIFEST, _("lists no measurement"))
        return
    if (seqs[0], seqs[-1]) != (chain.first_seq, chain.last_seq):
        r.fail(mf.MANIFEST, _("its seq range {first}-{last} is not that of the measurements it lists "
                              "({listed_first}-{listed_last})").format(first=chain.first_seq, last=chain.last_seq,
                                                                       listed_first=seqs[0], listed_last=seqs[-1]))
    if [tuple(g) for g in chain.gaps] != mf.gaps_of(seqs):
        r.fail(mf.MANIFEST, _("the gaps it declares are not the seqs missing from the measurements it lists"))
    elif chain.gaps:
        missing = sum(b - a + 1 for a, b in chain.gaps)
        r.note(_("chain"), _("a selection: {count} link(s) between seq {first} and {last} were not exported "
                              "(declared in the manifest; the links around them were checked alone)").format(
                                  count=missing, first=seqs[0], last=seqs[-1]))
    if len(set(seqs)) != len(seqs):
        r.fail(mf.MANIFEST, _("lists two links with the same seq: one was added"))
    if manifest.counts.measurements != len(manifest.measurements):
        r.fail(mf.MANIFEST, _("counts {count} measurements but lists {listed}").format(
            count=manifest.counts.measurements, listed=len(manifest.measurements)))
