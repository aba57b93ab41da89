"""A bundle's verdicts, checked against its signed verdict records (part of `probe verify FILE.zip`).

`chain_records.jsonl` holds the verdict, key and run records the manifest lists in `links`; each line
must be one of them, byte for byte. A measurement's verdict is its latest verdict record in the
bundle. Every place the bundle states a verdict must say exactly that, or nothing when there is
none: `verdicts.jsonl`, the OONI file's `blocking`/`accessible`, the manifest's verdict counts and
the report, which is rendered again from the records and the signed verdicts and compared byte for
byte (when this probe is the version that made it; otherwise it says the report was not checked).
A format-1 bundle has no verdict records, so any verdict it states fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Protocol

from pydantic import ValidationError
from pydantic_core import from_json

from probe import __version__
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import report_meta
from probe.evidence.bundle.third_party import Shown, add_section, report_section
from probe.evidence.report.data import ReportData
from probe.evidence.report.page import render
from probe.evidence.verify.records import RecordCheck
from probe.evidence.verify.result import VerifyResult
from probe.i18n import N_, _
from probe.models import Measurement, Verdict
from probe.models.canonical import sha256_hex
from probe.models.chain import Link, VerdictRecord


class Members(Protocol):
    """What this reads of a bundle: `verify.BundleReader`."""

    def lines(self, name: str) -> Iterator[bytes]: ...
    def read(self, name: str) -> bytes | None: ...
    def failed(self, name: str) -> bool: ...


def check_records(reader: Members, manifest: mf.Manifest, r: VerifyResult) -> dict[int, str]:
    """Each line of chain_records.jsonl matched to the manifest's links by hash: seq -> record text."""
    by_hash = {link.record_sha256: link for link in manifest.links}
    texts: dict[int, str] = {}
    if not manifest.links and mf.CHAIN_RECORDS not in {f.path for f in manifest.files}:
        return texts
    for number, line in enumerate(reader.lines(mf.CHAIN_RECORDS), start=1):
        link = by_hash.get(sha256_hex(line))
        if link is None:
            r.fail(mf.CHAIN_RECORDS, _("line {number} is not a record the manifest lists: it was changed or "
                                        "added").format(number=number))
            continue
        if link.seq in texts:
            r.fail(mf.CHAIN_RECORDS, _("line {number} repeats the record of seq {seq}: it was added").format(
                number=number, seq=link.seq))
            continue
        try:
            texts[link.seq] = line.decode("utf-8")
        except UnicodeDecodeError:
            r.fail(mf.CHAIN_RECORDS, _("line {number} is not UTF-8: no writer makes that").format(number=number))
    if reader.failed(mf.CHAIN_RECORDS):
        return texts
    for link in manifest.links:
        if link.seq not in texts:
            r.fail(_("{kind} record (seq {seq})").format(kind=link.kind, seq=link.seq),
                   _("listed in the manifest but its record is not in {file}: removed or changed").format(
                       file=mf.CHAIN_RECORDS))
    return texts


def backed_verdicts(manifest: mf.Manifest, texts: dict[int, str], r: VerifyResult) -> dict[str, VerdictRecord]:
    """The latest signed verdict record of each listed measurement (records checked as they are read)."""
    listed = {link.measurement_id: (link.seq, link.record_sha256) for link in manifest.measurements}
    check = RecordCheck(listed.get, r, whole_chain=False)
    check.keep_verdicts = True
    for link in sorted(manifest.links, key=lambda item: item.seq):
        text = texts.get(link.seq)
        if text is None:
            continue
        check.check(Link(kind=link.kind, seq=link.seq, record=text, record_sha256=link.record_sha256,
                         prev_hash=link.prev_hash, chain_hash=link.chain_hash, signature=link.signature,
                         key_fingerprint=link.key_fingerprint, subject=link.subject))
    r.checked[N_("verdict records")] += sum(1 for link in manifest.links if link.kind == "verdict"
                                        and link.seq in texts)
    return {mid: record for mid, (_seq, record) in check.verdicts.items()}


def _unbacked(mid: str, said: object, record: VerdictRecord | None) -> str:
    signed = repr(record.verdict.label) if record else _("none (no signed verdict record in the bundle)")
    return _("the verdict for measurement {id} is not its signed verdict: it says {said}, the signed record "
             "{signed}").format(id=mid, said=said, signed=signed)


def check_stated(reader: Members, manifest: mf.Manifest, backed: dict[str, VerdictRecord], r: VerifyResult) -> None:
    """verdicts.jsonl, the OONI file and the manifest's counts say exactly the signed verdicts."""
    ids = [link.measurement_id for link in manifest.measurements]
    seen: set[str] = set()
    for number, line in enumerate(reader.lines(mf.VERDICTS), start=1):
        try:
            row = mf.VerdictLine.model_validate_json(line)
        except ValidationError as exc:
            r.fail(mf.VERDICTS, _("line {number} is not a readable verdict ({problem})").format(
                number=number, problem=exc.errors()[0]["msg"]))
            continue
        mid = row.measurement_id
        if mid not in backed and mid not in set(ids):
            r.fail(mf.VERDICTS, _("line {number} is for measurement {id}, which the manifest does not list").format(
                number=number, id=mid))
        elif mid in seen:
            r.fail(mf.VERDICTS, _("line {number} is a second verdict for measurement {id}: one was added").format(
                number=number, id=mid))
        elif row.verdict != _verdict(backed.get(mid)):
            r.fail(mf.VERDICTS, _unbacked(mid, repr(row.verdict.label) if row.verdict else _("none"), backed.get(mid)))
        else:
            r.checked[N_("stated verdicts")] += 1
        seen.add(mid)
    for number, line in enumerate(reader.lines(mf.OONI), start=1):
        _ooni_line(number, line, backed, r)
    expected = Counter(backed[mid].verdict.label if mid in backed else "unclassified" for mid in ids)
    if dict(expected) != manifest.counts.verdicts:
        r.fail(mf.MANIFEST, _("its verdict counts {counts} are not those of the signed verdicts ({signed})").format(
            counts=manifest.counts.verdicts, signed=dict(expected)))


def _verdict(record: VerdictRecord | None) -> Verdict | None:
    return record.verdict if record else None


def _ooni_line(number: int, line: bytes, backed: dict[str, VerdictRecord], r: VerifyResult) -> None:
    try:
        row = from_json(line)
        mid = str(row["x_probe_measurement_id"])
        said = (row["test_keys"]["blocking"], row["test_keys"]["accessible"])
    except (ValueError, KeyError, TypeError):
        r.fail(mf.OONI, _("line {number} is not a readable OONI measurement of this probe").format(number=number))
        return
    record = backed.get(mid)
    signed = (record.verdict.blocking, record.verdict.accessible) if record else (None, None)
    if said != signed:
        r.fail(mf.OONI, _unbacked(mid, f"blocking={said[0]!r}, accessible={said[1]!r}", record))
    else:
        r.checked[N_("stated verdicts")] += 1


class ReportRebuild:
    """The report, made again from the bundle's records and signed verdicts as they stream by."""

    def __init__(self, manifest: mf.Manifest, backed: dict[str, VerdictRecord],
                 read: Callable[[str], bytes | None] | None = None) -> None:
        self._manifest = manifest
        self._backed = backed
        known = {e.sha256: (e.kind, e.size or 0, e.pruned_at) for e in manifest.artifacts if e.status != "missing"}
        # The report quotes registries' raw answers (takedowns): read them from the bundle, as export
        # read them from the store (the bytes are the same file; anything else renders another page).
        paths = {e.sha256: e.path for e in manifest.artifacts
                 if e.status == "included" and e.path and e.kind == "registry_answer"}

        def artifact(sha: str) -> bytes | None:
            path = paths.get(sha)
            return read(path) if read is not None and path is not None else None
        self._data = ReportData(artifact_info=known.get, artifact_bytes=artifact)

    def add(self, record: Measurement, signed_by: str | None) -> None:
        self._data.add(record, _verdict(self._backed.get(record.measurement_id)))
        self._data.add_signature(signed_by)

    def compare(self, reader: Members, r: VerifyResult, *, third_party: list[Shown] | None = None) -> None:
        m = self._manifest
        if m.format != mf.BUNDLE_FORMAT or m.software_version != __version__:
            r.warn(mf.REPORT, _("made by probe {version} ({format}); this is probe {ours}, which cannot render it "
                                "again, so the verdicts it shows were not checked (those in {file} and the OONI "
                                "file were)").format(version=m.software_version, format=m.format, ours=__version__,
                                                     file=mf.VERDICTS))
            return
        meta = report_meta(created=m.created_at, version=m.software_version, key_fingerprint=m.key_fingerprint,
                           filters=m.filters)
        listed = {f.path for f in m.files}
        # The English report, and each translation the manifest lists, rendered again in its language.
        for lang in ("en", *(lang for lang in mf.TRANSLATIONS if mf.report_in(lang) in listed)):
            name = mf.report_in(lang)
            data = reader.read(name)
            if data is None:
                continue
            section = report_section(third_party or [], lang=lang)
            html = add_section(render(self._data, meta, lang=lang), section, lang=lang)
            if html.encode("utf-8") != data:
                r.fail(name, _("it is not the report its records and signed verdicts make: a verdict, a measurement "
                               "or a word of it was changed"))
            else:
                r.checked[N_("report")] += 1
