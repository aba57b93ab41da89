"""What a rule concludes (a Finding) and how the chosen one becomes a Verdict with OONI's coarse values.

The label-to-`blocking` mapping is DESIGN.md section 4's table, exactly. `accessible` follows the
label unless a rule knows better (e.g. the ISP resolver lied but the page still loaded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from probe.models.verdict import (
    THROTTLED_LABELS,
    Confidence,
    OONIBlocking,
    Verdict,
    VerdictLabel,
    is_blocked_label,
)


@dataclass(frozen=True)
class Finding:
    label: VerdictLabel
    confidence: Confidence
    reasons: tuple[str, ...]
    fingerprint: str | None = None
    sni_filtering: bool = False
    mitm_issuer: str | None = None
    accessible: bool | None = None  # None: what the label implies

    @property
    def blocked(self) -> bool:
        return is_blocked_label(self.label)


def finding(label: VerdictLabel, confidence: Confidence, *reasons: str, fingerprint: str | None = None,
            sni_filtering: bool = False, mitm_issuer: str | None = None,
            accessible: bool | None = None) -> Finding:
    """A Finding from reason sentences (empty ones dropped)."""
    return Finding(label, confidence, tuple(r for r in reasons if r), fingerprint=fingerprint,
                   sni_filtering=sni_filtering, mitm_issuer=mitm_issuer, accessible=accessible)


def ooni_blocking(label: str) -> OONIBlocking:
    """DESIGN.md section 4: the OONI `blocking` value of a verdict label."""
    # A takedown is no interference on the probe's path (OONI's `blocking` names one: "dns" would say
    # the probe's resolver lied): like `down`, accessible=false with blocking=false; the label says why.
    if label in ("ok", "down", "site.refused", *THROTTLED_LABELS, "site.takedown", "dns.takedown"):
        return False
    if label == "inconclusive":
        return None
    if label.startswith("dns."):
        return "dns"
    if label.startswith("tcp."):
        return "tcp_ip"
    if label in ("http.blockpage", "http.diff"):
        return "http-diff"
    return "http-failure"  # tls.* and http.reset / http.timeout / http.eof


def default_accessible(label: str) -> bool | None:
    if label in ("ok", *THROTTLED_LABELS):
        return True
    if label == "inconclusive":
        return None
    return False


def to_verdict(primary: Finding, *, also: Iterable[Finding] = (), notes: Iterable[str] = (),
               rules_version: str) -> Verdict:
    """The verdict: the primary finding's label and reasons, then other findings' reasons, then notes."""
    reasons = list(primary.reasons)
    fingerprint = primary.fingerprint
    for other in also:
        reasons.extend(f"Also: {r}" for r in other.reasons)
        fingerprint = fingerprint or (other.fingerprint if primary.blocked else None)
    for note in notes:
        if note not in reasons:
            reasons.append(note)
    accessible = primary.accessible if primary.accessible is not None else default_accessible(primary.label)
    return Verdict(label=primary.label, confidence=primary.confidence, blocking=ooni_blocking(primary.label),
                   accessible=accessible if primary.label != "inconclusive" else None, reasons=reasons,
                   sni_filtering=primary.sni_filtering, fingerprint=fingerprint,
                   mitm_issuer=primary.mitm_issuer, rules_version=rules_version)
