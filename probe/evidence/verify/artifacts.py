"""Ties a bundle's artifact files to the signed records that cite them.

File hashes (checked elsewhere) prove a file is as exported; this proves what is *inside* it is
what the measurement recorded: each DER certificate in a PEM chain, each DNS reply, each HTTP body
in a WARC hashes to a value the record cites. Pruned artifacts are declared, not faked.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

from probe.evidence.bundle import certs, warc
from probe.evidence.bundle import manifest as mf
from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.i18n import N_, _
from probe.models.artifacts import ArtifactKind

Read = Callable[[str], bytes | None]
_NAMED = 5  # artifacts named one by one per file; past that, a count (a hostile manifest can list millions)


def _contents(path: str, data: bytes, r: VerifyResult) -> set[str]:
    """The artifact hashes a file really holds."""
    try:
        if path.endswith(".pem"):
            return set(certs.pem_der_hashes(data))
        if path.endswith(".warc"):
            found = set()
            for mid, claimed, actual in warc.response_bodies(data):
                if claimed != actual:
                    r.fail(path, _("the response body for measurement {id} does not hash to {sha}…").format(id=mid,
                                                                                                     sha=claimed[:16]))
                found.add(actual)
            return found
    except ValueError as exc:
        r.fail(path, _("cannot be read back: {problem}").format(problem=exc))
        return set()
    return {hashlib.sha256(data).hexdigest()}


def check_artifacts(read: Read, manifest: mf.Manifest, refs: dict[str, dict[str, ArtifactKind]],
                    r: VerifyResult) -> None:
    """Each included artifact is in the file the manifest places it in; each cited one is accounted for.

    Every file is read once, whatever the number of entries that name it; an artifact listed twice
    is a failure (a manifest accounts for each once).
    """
    entries = {e.sha256: e for e in manifest.artifacts}
    times = Counter(e.sha256 for e in manifest.artifacts)
    for sha, count in times.items():
        if count > 1:
            r.fail(mf.MANIFEST, _("lists the artifact {sha}… {count} times: a manifest accounts for each artifact "
                                  "once").format(sha=sha[:16], count=count))
    holdings: dict[str, set[str] | None] = {}  # what each file holds; None: unreadable (reported there)
    absent: Counter[str] = Counter()
    for entry in manifest.artifacts:
        if times[entry.sha256] > 1 or entry.status != "included" or entry.path is None:
            continue
        if entry.path not in holdings:
            data = read(entry.path)
            holdings[entry.path] = _contents(entry.path, data, r) if data is not None else None
        held = holdings[entry.path]
        if held is None:
            continue
        if entry.sha256 in held:
            r.checked[N_("artifacts")] += 1
            continue
        absent[entry.path] += 1
        if absent[entry.path] <= _NAMED:
            r.fail(entry.path, _("does not hold the {kind} artifact {sha}… the manifest places there: it was "
                                 "changed").format(kind=entry.kind, sha=entry.sha256[:16]))
    for path, count in absent.items():
        if count > _NAMED:
            r.fail(path, _("does not hold {count} more artifact(s) the manifest places there").format(
                count=count - _NAMED))
    for mid, cited in refs.items():
        for sha, kind in cited.items():
            if sha not in entries:
                r.fail(measurement_label(mid), _("cites a {kind} artifact {sha}… the manifest does not account "
                                                 "for").format(kind=kind, sha=sha[:16]))
    _summarize(manifest, r)


def _summarize(manifest: mf.Manifest, r: VerifyResult) -> None:
    pruned = sum(1 for e in manifest.artifacts if e.status == "pruned")
    missing = sum(1 for e in manifest.artifacts if e.status == "missing")
    if pruned:
        r.note(_("artifacts"), _("{count} artifact(s) had been pruned from the store before export; the signed "
                                  "records still carry their hashes").format(count=pruned))
    if missing:
        r.warn(_("artifacts"), _("{count} artifact(s) cited by records were never in the store").format(
            count=missing))
