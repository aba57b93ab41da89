"""`probe verify` of a hub bundle: every probe's links, signatures and chain, then its report again.

Offline, from the bundle alone. Per probe (links/<fingerprint>.jsonl): the public key in probes.json
must have that fingerprint; each link's record hash, chain hash and Ed25519 signature by that key must
hold, and each link must name that key (a link moved from another probe fails). Breaks in the chain
are gaps (a filter selects links; they are warnings that say which seqs are missing), never silently
joined. A verdict record whose measurement is not in the bundle fails: the exporter sends verdicts
only with their measurements, so its measurement was removed. Every file's SHA-256 must match the
manifest, and no file may be added. report.html and VERIFY.txt are rendered again from the verified
links (probe.hub.bundle_report) and must be the same bytes: a report claiming more than the links
hold fails. What the hub says about a key (its name, its revocation) is shown as the hub's claim.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe import __version__
from probe.errors import EvidenceError
from probe.evidence.keys import fingerprint, load_public_key_pem, signature_hex_valid
from probe.evidence.verify.result import VerifyResult
from probe.hub.bundle_facts import Collector
from probe.hub.bundle_format import FIXED_MEMBERS, FORMAT, member_name, meta_from
from probe.hub.bundle_report import render_report, verify_text
from probe.i18n import N_, _
from probe.models.canonical import chain_hash, sha256_hex

_MAX_JSON = 64 * 1024 * 1024  # manifest.json and probes.json: far above any real one, below a bomb


@dataclass
class ProbeCheck:
    name: str  # the hub's claim
    key_fingerprint: str
    revoked: bool  # the hub's claim
    links: int = 0
    segments: int = 0  # runs of consecutive links; more than one: the bundle holds parts of the chain
    failures: list[str] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (last seq before, first seq after)


@dataclass
class HubVerify:
    result: VerifyResult
    probes: list[ProbeCheck]


def is_hub_bundle(path: Path) -> bool:
    """Whether `path` is a zip whose manifest names the hub bundle format (False for anything else)."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("manifest.json")
            if info.file_size > _MAX_JSON:
                return False
            manifest = json.loads(zf.read(info))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RuntimeError, EOFError, zlib.error):
        return False
    return isinstance(manifest, dict) and str(manifest.get("format", "")).startswith("probe-hub-bundle/")


def verify_bundle(path: Path) -> list[ProbeCheck]:
    """Each probe's check (kept for callers of the first hub verifier); see `verify_hub_bundle`."""
    return verify_hub_bundle(path).probes


def verify_hub_bundle(path: Path, *, expected_fingerprint: str | None = None) -> HubVerify:
    """Check a hub bundle; EvidenceError if it is not one at all."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise EvidenceError(_("{path} is not a readable bundle: {problem}").format(path=path, problem=exc)) from exc
    with zf:
        manifest, probes = _json(zf, "manifest.json", path), _json(zf, "probes.json", path)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise EvidenceError(_("{path}: not a hub bundle this probe knows ({format})").format(path=path,
                                                                                                   format=FORMAT))
        if not isinstance(probes, list):
            raise EvidenceError(_("{path}: probes.json is not a list of probes").format(path=path))
        return _verify(zf, path, manifest, probes, expected_fingerprint)


def _json(zf: zipfile.ZipFile, name: str, path: Path) -> Any:
    try:
        info = zf.getinfo(name)
        if info.file_size > _MAX_JSON:
            raise EvidenceError(_("{path}: {name} is implausibly large").format(path=path, name=name))
        return json.loads(zf.read(info))
    except (KeyError, ValueError, zipfile.BadZipFile, RuntimeError, EOFError, zlib.error) as exc:
        raise EvidenceError(_("{path} is not a hub bundle (no readable {name})").format(path=path, name=name)) from exc


def _verify(zf: zipfile.ZipFile, path: Path, manifest: dict[str, Any], probes: list[Any],
            expected: str | None) -> HubVerify:
    r = VerifyResult(subject=str(path))
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    assert isinstance(files, dict)
    names = set(zf.namelist())
    for name in sorted(names - set(files) - {"manifest.json"}):
        r.fail(name, _("not listed in manifest.json: added after export"))
    for name in sorted(set(files) - names):
        r.fail(name, _("listed in manifest.json but missing: removed after export"))
    by_key = {str(p.get("key_fingerprint")): p for p in probes if isinstance(p, dict)}
    checks, collector = [], Collector()
    for name in sorted(n for n in names if n.startswith("links/")):
        key = next((k for k in by_key if member_name(k) == name), None)
        if key is None:
            r.fail(name, _("the links of a key probes.json does not list"))
            continue
        check = _check_probe(zf, by_key[key], files.get(name), collector)
        checks.append(check)
        for failure in check.failures:
            r.fail(_("probe {fingerprint}").format(fingerprint=key), failure)
        _describe(check, r)
    facts = collector.finish()
    for key, seq in facts.orphan_verdicts:
        r.fail(_("probe {fingerprint}").format(fingerprint=key),
               _("the verdict record at seq {seq} is about a measurement not in the bundle: its measurement link "
                 "was removed").format(seq=seq))
    _check_fixed(zf, files, r)
    if expected and expected not in {c.key_fingerprint for c in checks}:
        r.fail("probes.json", _("no probe in the bundle has the expected key {expected}").format(expected=expected))
    if r.ok:
        _check_rendered(zf, manifest, probes, facts, r)
    return HubVerify(result=r, probes=checks)


def _describe(check: ProbeCheck, r: VerifyResult) -> None:
    where = _("probe {fingerprint}").format(fingerprint=check.key_fingerprint)
    r.note(where, _("{links} links verified, {segments} chain segment(s); named {name} by the hub (the hub's "
                    "claim; the key is what the signatures prove)").format(links=check.links,
                                                                          segments=check.segments,
                                                                          name=repr(check.name)))
    if check.revoked:
        r.warn(where, _("the hub says this key was revoked: it refuses the key's new uploads; the links here were "
                        "signed before and verify"))
    for before, after in check.gaps:
        r.warn(where, _("gap: the links between seq {before} and seq {after} are not in this bundle (not selected, "
                        "or not on the hub); the links on each side verify").format(before=before, after=after))
    r.checked[N_("links")] += check.links
    r.checked[N_("probes")] += 1


def _check_probe(zf: zipfile.ZipFile, probe: dict[str, Any], listed: Any, collector: Collector) -> ProbeCheck:
    check = ProbeCheck(name=str(probe.get("name", "")), key_fingerprint=str(probe.get("key_fingerprint")),
                       revoked=probe.get("revoked_at") is not None)
    try:
        key = load_public_key_pem(str(probe.get("public_key_pem", "")).encode("ascii"))
    except (EvidenceError, UnicodeEncodeError, ValueError):
        check.failures.append(_("probes.json holds no usable public key for it"))
        return check
    if fingerprint(key) != check.key_fingerprint:
        check.failures.append(_("the public key does not have the fingerprint the bundle names"))
        return check
    digest, prev, prev_seq = hashlib.sha256(), None, 0
    seen: set[str] = set()  # chain and previous hashes so far: a repeated link or a fork shows here
    try:
        with zf.open(member_name(check.key_fingerprint)) as handle:
            for number, line in enumerate(handle, 1):
                digest.update(line)
                link, problem = _check_link(line, check.key_fingerprint, key)
                if link is None:
                    check.failures.append(_("line {number}: {problem}").format(number=number, problem=problem))
                    continue
                seq = int(link["seq"])
                if seq <= prev_seq or link["chain_hash"] in seen or "prev:" + link["prev_hash"] in seen:
                    check.failures.append(_("line {number}: seq {seq} repeats a link, comes out of order or forks the "
                                            "chain (two links after one predecessor)").format(number=number, seq=seq))
                    continue
                seen.update((link["chain_hash"], "prev:" + link["prev_hash"]))
                if prev != link["prev_hash"]:  # the first line, or a break in the chain
                    check.segments += 1
                    if prev is not None:
                        check.gaps.append((prev_seq, seq))
                prev, prev_seq = link["chain_hash"], seq
                check.links += 1
                collector.add(key_fingerprint=check.key_fingerprint, kind=str(link["kind"]), seq=seq,
                              record=link["record"], record_sha256=link["record_sha256"])
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error) as exc:
        check.failures.append(_("the file is unreadable in the zip ({problem}): damaged or altered").format(
            problem=exc))
        return check
    if not isinstance(listed, dict) or listed.get("sha256") != digest.hexdigest():
        check.failures.append(_("the file's SHA-256 differs from the manifest's (changed after export)"))
    return check


def _check_link(line: bytes, key_fp: str, key: Any) -> tuple[dict[str, Any] | None, str]:
    try:
        link = json.loads(line)
        record, rec, prev, link_hash = link["record"], link["record_sha256"], link["prev_hash"], link["chain_hash"]
        int(link["seq"]), str(link["kind"])
        if link["key_fingerprint"] != key_fp:
            return None, _("seq {seq}: signed by another key ({fingerprint}): moved here").format(
                seq=link["seq"], fingerprint=link["key_fingerprint"])
        if sha256_hex(record.encode("utf-8")) != rec:
            return None, _("seq {seq}: record_sha256 does not match the record (the record was changed)").format(
                seq=link["seq"])
        if chain_hash(prev, rec) != link_hash:
            return None, _("seq {seq}: chain_hash is not SHA-256(prev_hash + record_sha256)").format(seq=link["seq"])
        if not signature_hex_valid(key, link["signature"], link_hash.encode("ascii")):
            return None, _("seq {seq}: the signature is not by the probe's key").format(seq=link["seq"])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeEncodeError):
        return None, _("not a chain link")
    return link, ""


def _check_fixed(zf: zipfile.ZipFile, files: dict[str, Any], r: VerifyResult) -> None:
    for name in FIXED_MEMBERS:
        listed = files.get(name)
        if name not in zf.namelist() or not isinstance(listed, dict):
            continue  # reported above as missing or added
        if listed.get("sha256") != sha256_hex(_read(zf, name)):
            r.fail(name, _("its SHA-256 differs from the manifest's (changed after export)"))
        else:
            r.checked[N_("files")] += 1


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes; a damaged one reads as empty (its hash then fails, by name)."""
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error):
        return b""


def _check_rendered(zf: zipfile.ZipFile, manifest: dict[str, Any], probes: list[Any], facts: Any,
                    r: VerifyResult) -> None:
    version = str(manifest.get("software_version", ""))
    if version != __version__:
        r.warn("report.html", _("made by probe {version}, not this {ours}: not rendered again (every figure in it "
                                "is unchecked; the links are)").format(version=version or _("of unknown version"),
                                                                      ours=__version__))
        return
    filters = manifest.get("filters") if isinstance(manifest.get("filters"), dict) else {}
    assert isinstance(filters, dict)
    meta = meta_from(created=str(manifest.get("created", "")), software_version=version, filters=filters,
                     probes=probes)
    for name, text in (("report.html", render_report(facts, meta)), ("VERIFY.txt", verify_text(facts, meta))):
        if name not in zf.namelist():
            r.fail(name, _("missing"))
        elif _read(zf, name) != text.encode("utf-8"):
            r.fail(name, _("differs from what the bundle's signed links give (rendered again): it claims "
                           "something the links do not hold"))
        else:
            r.checked[N_("reports rendered again")] += 1
