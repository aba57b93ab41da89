"""The verdict: which layer, which technique, how sure, and why (DESIGN.md section 4)."""

from __future__ import annotations

from typing import Literal

from probe.models.base import Frozen

VerdictLabel = Literal[
    "ok",
    "down",
    "dns.nxdomain",
    "dns.servfail",
    "dns.refused",
    "dns.timeout",
    "dns.bogon",
    "dns.redirect",
    "dns.injected",
    "tcp.timeout",
    "tcp.reset",
    "tcp.refused",
    "tls.timeout",
    "tls.reset",
    "tls.eof",
    "tls.alert",
    "tls.mitm",
    "tls.throttled",
    "http.blockpage",
    "http.diff",
    "http.reset",
    "http.timeout",
    "http.eof",
    "http.throttled",
    "site.refused",
    "site.takedown",
    "dns.takedown",
    "inconclusive",
]
VERDICT_LABELS: tuple[str, ...] = VerdictLabel.__args__  # type: ignore[attr-defined]

Confidence = Literal["confirmed", "likely", "possible"]
OONIBlocking = Literal["dns", "tcp_ip", "http-failure", "http-diff"] | Literal[False] | None

# Labels that claim censorship by this network: used for false-positive accounting.
BLOCKED_PREFIXES = ("dns.", "tcp.", "tls.", "http.")
# Labels that say the site is gone for everyone because its host or registry acted (docs/verdicts.md):
# a claim about the site, not about this network, so never counted as this network blocking it.
TAKEDOWN_LABELS = frozenset({"site.takedown", "dns.takedown"})
# Slowed down, not blocked: the page arrives (flagged, OONI `blocking` false).
THROTTLED_LABELS = ("tls.throttled", "http.throttled")


def is_blocked_label(label: str) -> bool:
    return label.startswith(BLOCKED_PREFIXES) and label not in THROTTLED_LABELS and label not in TAKEDOWN_LABELS


class Verdict(Frozen):
    label: VerdictLabel
    confidence: Confidence
    blocking: OONIBlocking
    accessible: bool | None
    reasons: list[str]
    sni_filtering: bool = False  # the decoy-SNI handshake to the same address succeeded
    fingerprint: str | None = None  # blockpage fingerprint name, when one matched
    mitm_issuer: str | None = None
    rules_version: str = ""

    @property
    def blocked(self) -> bool:
        return is_blocked_label(self.label)
