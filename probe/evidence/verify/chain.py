"""Checks one chain link at a time, the same way for the local store and for a bundle.

A link holds: the record's SHA-256, the previous link's chain hash, its own chain hash
(= SHA-256 of prev + record, see `probe.models.canonical.chain_hash`) and an Ed25519 signature over
that chain hash. Consecutive seqs must link; a gap (a filtered export) is the caller's business.

Links are of several kinds (measurements, verdicts, key and run records: `probe.models.chain`);
they are checked alike, and `where` names each for a person. Signatures only start when the probe
gets its key, so unsigned links at the start of a chain are expected: the first signed link covers
them through the chain (they cannot change without breaking it), though nothing shows who stored
them. Once a link signed by the expected key has been seen, every later link must be signed by that
key too: otherwise an attacker could rewrite the tail of the chain (records, hashes and links) and
drop its signatures. And a whole chain (the store) checked with the probe's key must hold at least
one link signed by it: a store rewritten end to end by someone without the key, every signature
dropped, has none.

A bundle needs more (`bundle_key_problem`): at least one of its links signed by the key that signed
its manifest, else nothing ties its records to that key. A link whose hashes or signature are not
lowercase hex of the right length (an edited store row) is a failure, never an exception.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from probe.evidence.keys import signature_hex_valid
from probe.evidence.verify.result import VerifyResult, measurement_label
from probe.i18n import N_, _
from probe.models.canonical import GENESIS_HASH, chain_hash, is_key_fingerprint, is_sha256_hex, is_signature_hex


class LinkChecker:
    def __init__(self, result: VerifyResult, public_key: Ed25519PublicKey | None, key_fingerprint: str | None,
                 *, whole_chain: bool = False):
        self._r = result
        # A whole chain (the store) has no legitimate gaps: every link must join the one before it and
        # the first must start at genesis. A bundle may be a selection with declared gaps.
        self._whole = whole_chain
        self._key = public_key
        self._fp = key_fingerprint
        self._previous: tuple[int, str] | None = None  # (seq, chain hash) of the link checked last
        self._continuity = SignatureContinuity(key_fingerprint)
        self.unsigned = 0
        self.links = 0
        self.first_signed: int | None = None  # seq of the first link signed by the expected key (any key without one)
        self.unsigned_before_first: list[int] = []  # seqs of unsigned links before it
        self.other_keys: Counter[str] = Counter()

    def check(self, *, measurement_id: str, seq: int, record_sha256: str, prev_hash: str, link_hash: str,
              signature: str | None, key_fingerprint: str | None, kind: str = "measurement",
              where: str | None = None) -> None:
        """Check one link; `measurement_id` is the link's subject (the measurement, for any kind about one)."""
        where = where or measurement_label(measurement_id, seq)
        self.links += 1
        if signature and self.first_signed is None and (self._fp is None or key_fingerprint == self._fp):
            self.first_signed = seq
        elif not signature and self.first_signed is None:
            self.unsigned_before_first.append(seq)
        malformed = _malformed(record_sha256=record_sha256, prev_hash=prev_hash, chain_hash=link_hash,
                               signature=signature, key_fingerprint=key_fingerprint)
        if malformed:
            fields = ", ".join(malformed)
            self._r.fail(where, (_("its {fields} is not lowercase hex of the right length: the link was altered")
                                 if len(malformed) == 1 else
                                 _("its {fields} are not lowercase hex of the right length: the link was altered"))
                         .format(fields=fields))
            self._previous = (seq, link_hash)
            return
        ok = True
        if chain_hash(prev_hash, record_sha256) != link_hash:
            self._r.fail(where, _("its chain hash is not SHA-256(prev_hash + record hash): the link was altered"))
            ok = False
        ok = self._check_order(where, seq, prev_hash) and ok
        ok = self._check_signature(where, link_hash, signature, key_fingerprint, kind) and ok
        self._previous = (seq, link_hash)
        if ok:
            self._r.checked[N_("chain links")] += 1

    def _check_order(self, where: str, seq: int, prev_hash: str) -> bool:
        previous = self._previous
        if previous is not None and seq <= previous[0]:
            self._r.fail(where, _("out of order: seq {seq} comes after seq {previous}").format(seq=seq,
                                                                                        previous=previous[0]))
            return False
        joins = previous is not None and (seq == previous[0] + 1 or self._whole)
        if previous is not None and joins and prev_hash != previous[1]:
            self._r.fail(where, _("does not link to seq {previous} before it: a link (measurement, verdict or "
                                  "record) was removed, inserted or changed between them").format(previous=previous[0]))
            return False
        starts = seq == 1 or (self._whole and previous is None)
        if starts and prev_hash != GENESIS_HASH:
            self._r.fail(where, _("the first link of the chain must have a prev_hash of 64 zeros: "
                                  "the links before it were removed"))
            return False
        if self._whole and previous is not None and seq != previous[0] + 1:
            self._r.warn(where, _("seqs {first}-{last} are missing (the links still join)").format(
                first=previous[0] + 1, last=seq - 1))
        return True

    def _check_signature(self, where: str, link_hash: str, signature: str | None, fp: str | None,
                         kind: str) -> bool:
        broken = self._continuity.see(signature, fp)
        if broken is not None:
            self._r.fail(where, broken)
            return False
        if not signature:
            self.unsigned += 1
            return True
        if self._key is None or fp != self._fp:
            self.other_keys[fp or _("unknown key")] += 1
            return True
        if not signature_hex_valid(self._key, signature, link_hash.encode("ascii")):
            self._r.fail(where, _("its signature does not match its chain hash"))
            return False
        self._r.checked[f"{kind} signatures"] += 1
        return True

    def summarize(self, where: str) -> None:
        """Say exactly what was seen: unsigned links (and what covers them), links by a key we do not hold,
        and, for a whole chain checked with the probe's key, none signed by it at all (a failure)."""
        if self._whole and self._fp is not None and self.links and self.first_signed is None:
            others = sum(self.other_keys.values())
            self._r.fail(where, _("none of its {count} links is signed by this probe's key {fingerprint} ({unsigned} "
                                  "unsigned, {others} signed by other keys): a store rewritten end to end by someone "
                                  "without the key (records edited, every hash recomputed, signatures dropped) looks "
                                  "exactly like this; links stored before the key was made look the same, and "
                                  "nothing here can tell them apart").format(count=self.links, fingerprint=self._fp,
                                                                            unsigned=self.unsigned, others=others))
        elif self.unsigned_before_first and self.first_signed is not None:
            first, last = self.unsigned_before_first[0], self.unsigned_before_first[-1]
            self._r.warn(where, _("{count} link(s) (seq {first}-{last}) carry no signature: they come before the first "
                                  "signed link (seq {signed}), whose signature covers them through the chain, but "
                                  "nothing shows who stored them").format(count=len(self.unsigned_before_first),
                                                                          first=first, last=last,
                                                                          signed=self.first_signed))
        elif self.unsigned and self.first_signed is None:
            self._r.warn(where, _("none of its {count} link(s) carries a signature: their hashes and links hold, but "
                                  "anyone with the file could have rewritten them that way").format(
                                      count=self.unsigned))
        for fp, count in sorted(self.other_keys.items()):
            self._r.warn(where, _("{count} signature(s) by {fingerprint} could not be checked: that public key is not "
                                  "available here").format(count=count, fingerprint=fp))


def _malformed(*, record_sha256: str, prev_hash: str, chain_hash: str, signature: str | None,
               key_fingerprint: str | None) -> list[str]:
    """The link's fields that are not what a writer makes (64 or 128 lowercase hex digits)."""
    bad = [name for name, value in (("record_sha256", record_sha256), ("prev_hash", prev_hash),
                                    ("chain_hash", chain_hash)) if not is_sha256_hex(value)]
    if signature is not None and not is_signature_hex(signature):
        bad.append("signature")
    if key_fingerprint is not None and not is_key_fingerprint(key_fingerprint):
        bad.append("key_fingerprint")
    return bad


def bundle_key_problem(links: Sequence[tuple[str | None, str | None]], bundle_fingerprint: str) -> str | None:
    """Why a bundle's chain says nothing about its records, or None if a link is signed by the bundle's key.

    `links` are each link's (signature, key fingerprint). Anyone can edit records, recompute their
    hashes, sign the manifest with a key of their own and keep the old link signatures (which that
    key cannot check) or drop them. A probe's own export signs with the key that signs its
    measurements and refuses unsigned or other-key links after its own began, so its chain holds at
    least one link signed by the bundle's key; the only exports without one are selections made wholly
    of measurements stored before that key existed or under an older key, and those prove no more
    than a forgery does (the operator can export a selection that reaches signed measurements).
    """
    if not links or any(signature and fp == bundle_fingerprint for signature, fp in links):
        return None
    others = sorted({fp or _("an unnamed key") for signature, fp in links if signature})
    hint = _("; a bundle whose records were changed and whose manifest was re-signed looks exactly like this "
             "(whoever exported it: include measurements signed by the exporting key)")
    if not others:
        return _("none of its {count} measurement(s) carries a signature, yet the manifest is signed by "
                 "{fingerprint}: nothing shows the records are the ones the probe stored").format(
                     count=len(links), fingerprint=bundle_fingerprint) + hint
    more = _(" and {count} more").format(count=len(others) - 3) if len(others) > 3 else ""
    named = ", ".join(others[:3]) + more
    return _("no measurement is signed by {fingerprint}, the key that signed the manifest: they are signed by "
             "{named}, whose public key the bundle does not hold, so nothing ties the records to the bundle's "
             "key").format(fingerprint=bundle_fingerprint, named=named) + hint


class SignatureContinuity:
    """Once a link is signed by the expected key, every later link must be signed by it too.

    `see` takes the links in chain order and returns what is wrong with one, or None. Without an
    expected key (nothing to check signatures with), a link signed by any key starts the rule for
    unsigned links: a probe that had a key does not stop signing.
    """

    def __init__(self, expected_fingerprint: str | None) -> None:
        self._fp = expected_fingerprint
        self.began = False

    def see(self, signature: str | None, fp: str | None) -> str | None:
        ours = bool(signature) and (fp == self._fp if self._fp is not None else True)
        if ours:
            self.began = True
            return None
        if not self.began:
            return None
        if not signature:
            return _("signature missing after signed measurements began: unsigned links after signed ones are "
                     "what a rewritten chain tail looks like")
        if self._fp is None:
            return None
        return _("signature missing after signed measurements began: signed by {fingerprint}, not by {expected} "
                 "which signed the measurements before it (if the key was replaced, check with the newer "
                 "key)").format(fingerprint=fp or _("an unnamed key"), expected=self._fp)
