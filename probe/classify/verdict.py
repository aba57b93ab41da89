"""The classifier: one measurement in, one verdict out, by running the layer rules in order.

Precedence follows the path a request takes: the first redirect hop where something went wrong
decides, and within a hop DNS comes first (a forged answer explains everything after it: a redirect
to a blockpage address that then serves the blockpage is `dns.redirect`, with the fingerprint in the
reasons), then a blockpage seen on a hop before the one where the measurement stopped, then TCP or
TLS where it stopped, then HTTP. Throttling is a flag: it becomes the label only when nothing else
went wrong. Pure: no I/O, no clock.

Without a control, evidence that proves itself still counts: a blockpage or censor-address
fingerprint, a known interception CA, two different DNS replies to one query, and the decoy-SNI
handshake to the same address (SNI filtering as `possible`, throttling). Everything that needs a
comparison is `inconclusive` -- even a page that came over valid TLS, which the reasons then say
looks reachable. `inconclusive` is also the answer when the probe's own network failed, and when the
evidence contradicts itself (a page that differs from the control but is a known false positive), and
for every measurement of a run that started while the network was down (`shutdown.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from probe.classify.context import ClassifyContext
from probe.classify.dns import Suspect, analyze_dns
from probe.classify.findings import Finding, finding, to_verdict
from probe.classify.http import analyze_http
from probe.classify.shutdown import shutdown_verdict
from probe.classify.tcp_tls import analyze_connect, analyze_tls
from probe.classify.throttle import analyze_throttle
from probe.classify.view import View, build_view
from probe.models.measurement import Measurement
from probe.models.verdict import Verdict

# Outcomes that say the page is the site's, or that the site itself fails or refuses: after a DNS
# answer the control does not know, they show the answer led to the real site (a proxy, geo-DNS).
_NOT_CENSORED = ("ok", "down", "site.refused", "site.takedown")


def classify(measurement: Measurement, *, bodies: Mapping[str, bytes], context: ClassifyContext) -> Verdict:
    """The verdict for one measurement; `bodies` maps artifact SHA-256 to HTTP body bytes (may be partial)."""
    view = build_view(measurement, bodies)
    dns = analyze_dns(view, context)
    http = analyze_http(view, context)
    conn = analyze_connect(view, context) or analyze_tls(view, context)
    later = http.early or conn or http.final
    notes = [*dns.notes, *http.notes]
    if later is not None and http.blockpage_hop is not None and http.blockpage_hop < dns.hop:
        primary, also = later, [f for f in (dns.finding,) if f is not None]  # it went wrong there first
    elif dns.finding is not None:
        primary, also = _after_dns(dns.finding, later)
    elif dns.suspect is not None:
        primary, also, more = _settle(dns.suspect, later, http.consistent)
        notes.extend(more)
    else:
        primary, also = later or _unexplained(view), []
    throttle = analyze_throttle(view, context)
    if throttle is not None and primary.label in ("ok", "inconclusive") and not primary.blocked:
        notes.extend(primary.reasons)  # the decoy is its own control: throttling needs no helper
        primary = throttle
    elif throttle is not None:
        also.append(throttle)
    return shutdown_verdict(measurement, to_verdict(primary, also=also, notes=notes,
                                                    rules_version=context.rules_version))


def _after_dns(forged: Finding, later: Finding | None) -> tuple[Finding, list[Finding]]:
    """A DNS finding leads; what the forged address then served backs it (a blockpage confirms it)."""
    if later is None or not (later.blocked or later.fingerprint):
        return forged, []
    if forged.blocked and later.label == "http.blockpage" and later.confidence == "confirmed":
        forged = replace(forged, confidence="confirmed")
    return forged, [later]


def _settle(suspect: Suspect, later: Finding | None, consistent: bool | None
            ) -> tuple[Finding, list[Finding], list[str]]:
    """Answers the control does not know: what those addresses then did decides what they were."""
    if later is not None and later.blocked:
        confidence = "confirmed" if later.confidence == "confirmed" and later.fingerprint \
            else suspect.claim.confidence
        return replace(suspect.claim, confidence=confidence,
                       fingerprint=later.fingerprint or suspect.claim.fingerprint), [later], []
    if later is not None and (consistent is True or later.label in _NOT_CENSORED):
        return later, [], [*suspect.claim.reasons, "What those addresses served matches the control's view "
                           "of the site (a transparent proxy or geo-DNS), so the answer is not called forged."]
    return suspect.fallback, [later] if later is not None and later.label != "inconclusive" else [], []


def _unexplained(view: View) -> Finding:
    m = view.measurement
    if m.final_failure:
        return finding("inconclusive", "possible", f"The measurement stopped at {view.stop} with "
                       f"{m.final_failure}, and no rule explains it from the observations.")
    return finding("inconclusive", "possible", "The measurement holds no observation to judge.")
