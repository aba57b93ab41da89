"""TCP and TLS rules: where connecting or handshaking failed, compared with the control and the decoy.

Connect and handshake failures are judged at the hop where the measurement stopped (earlier hops
completed, so their failing addresses were not what stopped it). For each failing address the
control's own result for that address decides: it worked there (blocking), it failed there too (the
site is down), or there is no per-address result (a later redirect hop), in which case the control's
whole fetch stands in. The decoy-SNI handshake to the same address tells SNI filtering (decoy
completes) from blocking by address (decoy fails too); throttling (a completed but slow handshake)
is `throttle.py`'s. A chain that does not validate where the control's does is interception; one
that fails the same way from the control is the site's own certificate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from probe import failures
from probe.classify.context import ClassifyContext
from probe.classify.findings import Finding, finding
from probe.classify.view import (
    CONNECT,
    PROBE_NETWORK_FAILURES,
    TLS_HANDSHAKE,
    VALIDATION_FAILURES,
    Hop,
    View,
    endpoint_text,
    handshake_completed,
    quoted,
    seconds,
    status_text,
)
from probe.models.observations import TCPConnectObservation, TLSHandshakeObservation
from probe.models.verdict import VerdictLabel

_TCP_LABELS: dict[str, VerdictLabel] = {
    failures.GENERIC_TIMEOUT: "tcp.timeout",
    failures.CONNECTION_RESET: "tcp.reset",
    failures.CONNECTION_ABORTED: "tcp.reset",
    failures.CONNECTION_REFUSED: "tcp.refused",
    failures.HOST_UNREACHABLE: "tcp.refused",  # an ICMP rejection: an active refusal, by a router
}
_TLS_LABELS: dict[str, VerdictLabel] = {
    failures.GENERIC_TIMEOUT: "tls.timeout",
    failures.CONNECTION_RESET: "tls.reset",
    failures.CONNECTION_ABORTED: "tls.reset",
    failures.EOF_ERROR: "tls.eof",
    failures.SSL_FAILED_HANDSHAKE: "tls.alert",
}
_MAX_CITED = 3  # addresses cited per reason list: the rest are counted, not listed


def _most_common(labels: Sequence[VerdictLabel]) -> VerdictLabel:
    return Counter(labels).most_common(1)[0][0]


def _control_fallback(view: View, said: list[str], label: VerdictLabel) -> Finding:
    """No per-address control result: the control's whole fetch says whether the site works."""
    ctrl = view.control_http
    if view.control_fetched() and ctrl is not None:
        return finding(label, "likely", *said, f"The control fetched the URL ({status_text(ctrl)}).")
    if ctrl is not None and ctrl.failure:
        return finding("down", "possible", *said, f"The control's fetch failed too ({ctrl.failure}).")
    return finding("inconclusive", "possible", *said, _no_control(view))


def _no_control(view: View) -> str:
    why = view.measurement.control_failure
    return "There is no control result to compare with" + (f" ({why})." if why else ".")


# --- TCP ---------------------------------------------------------------------------------------------

def analyze_connect(view: View, ctx: ClassifyContext) -> Finding | None:
    """The measurement stopped at connect: every address of the last hop failed."""
    hop = view.hops[-1]
    if view.stop != CONNECT or not hop.tcp or any(o.failure is None for o in hop.tcp):
        return None
    failed = list(hop.tcp)
    remote = [o for o in failed if o.failure in _TCP_LABELS]
    if not remote:
        return finding("inconclusive", "possible", _connects(hop, failed),
                       "These failures come from the probe's own host or network, not from the path."
                       if all(o.failure in PROBE_NETWORK_FAILURES for o in failed) else "")
    blocked: list[TCPConnectObservation] = []
    dead: list[TCPConnectObservation] = []
    unknown: list[TCPConnectObservation] = []
    for o in remote:
        ep = view.endpoint(o.ip, o.port)
        (unknown if ep is None else dead if ep.tcp_failure else blocked).append(o)
    if blocked:
        return finding(_most_common([_TCP_LABELS[o.failure or ""] for o in blocked]), "likely",
                       _connects(hop, blocked), "The control connected to the same address"
                       + ("es." if len(blocked) > 1 else "."))
    if dead and not unknown:
        failures = sorted({ep.tcp_failure or "" for o in dead if (ep := view.endpoint(o.ip, o.port))})
        return finding("down", "likely", _connects(hop, dead),
                       f"The control could not connect either ({', '.join(failures)}).")
    return _control_fallback(view, [_connects(hop, unknown)],
                             _most_common([_TCP_LABELS[o.failure or ""] for o in unknown]))


def _connects(hop: Hop, obs: Sequence[TCPConnectObservation]) -> str:
    parts = [f"{endpoint_text(o.ip, o.port)} failed with {o.failure} after {seconds(o.t - o.t0)}"
             for o in obs[:_MAX_CITED]]
    more = f" (and {len(obs) - _MAX_CITED} more)" if len(obs) > _MAX_CITED else ""
    return f"TCP connect for {hop.host} to {'; '.join(parts)}{more}."


# --- TLS ---------------------------------------------------------------------------------------------

def analyze_tls(view: View, ctx: ClassifyContext) -> Finding | None:
    """The measurement stopped at the TLS handshake: interception, interference, or the site's certificate."""
    hop = view.hops[-1]
    if view.stop != TLS_HANDSHAKE or not hop.tls or any(h.failure is None for h in hop.tls):
        return None
    chain = [h for h in hop.tls if h.failure in VALIDATION_FAILURES]
    broken = [h for h in hop.tls if h.failure not in VALIDATION_FAILURES]
    candidates = [f for f in (_chain(view, ctx, hop, chain), _interference(view, hop, broken)) if f]
    for wanted in ("tls.mitm", "blocked", "down"):
        for f in candidates:
            if f.label == wanted or (wanted == "blocked" and f.blocked):
                return f
    return candidates[0] if candidates else None


def _issuers(h: TLSHandshakeObservation) -> tuple[str | None, str | None]:
    return (h.validation.leaf_issuer, h.validation.root_issuer) if h.validation else (None, None)


def _chain_text(hop: Hop, h: TLSHandshakeObservation) -> str:
    leaf, root = _issuers(h)
    reason = f": {h.validation.reason}" if h.validation and h.validation.reason else ""
    issued = f", issued by {quoted(leaf)}" if leaf else ""
    rooted = f" (root {quoted(root)})" if root and root != leaf else ""
    return (f"The TLS handshake with SNI {h.server_name} to {endpoint_text(h.ip, h.port)} returned a chain "
            f"that does not validate ({h.failure}{reason}){issued}{rooted}.")


def _chain(view: View, ctx: ClassifyContext, hop: Hop, chain: Sequence[TLSHandshakeObservation]
           ) -> Finding | None:
    outcomes: list[Finding] = []
    for h in chain:
        leaf, root = _issuers(h)
        said = _chain_text(hop, h)
        issuer = leaf or root
        fp = ctx.fingerprints.match_issuer((leaf, root))
        ep = view.endpoint(h.ip, h.port)
        if fp is not None:
            outcomes.append(finding("tls.mitm", "confirmed", said, f"The issuer matches fingerprint "
                                    f"{fp.describe()}.", fingerprint=fp.name, mitm_issuer=issuer))
        elif ep is not None and ep.cert_valid_for_host is True:
            if ep.tls_issuer and ep.tls_issuer in (leaf, root):
                outcomes.append(finding("inconclusive", "possible", said, "The control got a valid chain from "
                                        "the same issuer, so nothing was swapped: the probe's clock or CA "
                                        "store is the likelier cause."))
                continue
            seen = f" issued by {quoted(ep.tls_issuer)}" if ep.tls_issuer else ""
            outcomes.append(finding("tls.mitm", "confirmed", said, f"From the control, the same address "
                                    f"presents a certificate valid for {hop.host}{seen}: the probe's "
                                    "connection was intercepted.", mitm_issuer=issuer))
        elif ep is not None and ep.cert_valid_for_host is False:
            outcomes.append(finding("down", "likely", said, f"From the control, the same address presents no "
                                    f"certificate valid for {hop.host} either: it is the site's own."))
        elif hop.scheme == "https" and view.control_fetched():
            outcomes.append(finding("tls.mitm", "likely", said, f"The control fetched {hop.host} over TLS with "
                                    "a valid chain.", mitm_issuer=issuer))
        else:
            outcomes.append(_control_fallback(view, [said], "tls.mitm"))
    order = {"confirmed": 0, "likely": 1, "possible": 2}
    outcomes.sort(key=lambda f: (f.label != "tls.mitm", f.label != "down", order[f.confidence]))
    return outcomes[0] if outcomes else None


def _decoy_text(hop: Hop, h: TLSHandshakeObservation) -> tuple[str, bool]:
    decoy = hop.decoy_for(h.ip)
    if decoy is None:
        return "No decoy handshake to that address was recorded.", False
    took = seconds(decoy.t - decoy.t0)
    if handshake_completed(decoy):
        return (f"A handshake to the same address with SNI {decoy.server_name} succeeded in {took}: "
                f"the name {h.server_name} is filtered, not the address."), True
    return (f"A handshake to the same address with SNI {decoy.server_name} failed too ({decoy.failure} "
            f"after {took}): the address is blocked (or blocking persists after a first trigger)."), False


def _interference(view: View, hop: Hop, broken: Sequence[TLSHandshakeObservation]) -> Finding | None:
    best: Finding | None = None
    for h in broken:
        label = _TLS_LABELS.get(h.failure or "")
        said = (f"TLS handshake with SNI {h.server_name} to {endpoint_text(h.ip, h.port)} failed with "
                f"{h.failure} after {seconds(h.t - h.t0)}")
        decoy, sni = _decoy_text(hop, h)
        ep = view.endpoint(h.ip, h.port)
        if label is None:
            f = finding("inconclusive", "possible", said + ".", decoy)
        elif ep is not None and ep.tls_attempted and ep.tls_failure is None:
            f = finding(label, "likely", said + "; the control completed it.", decoy, sni_filtering=sni)
        elif ep is not None and ep.tls_attempted:
            f = finding("down", "likely", said + f"; the control's handshake failed too ({ep.tls_failure}).",
                        decoy)
        elif view.control is not None:
            f = _control_fallback(view, [said + ".", decoy], label)
            f = replace(f, sni_filtering=sni and f.blocked)
        elif sni:
            f = finding(label, "possible", said + ".", decoy, _no_control(view), sni_filtering=True)
        else:
            f = finding("inconclusive", "possible", said + ".", decoy, _no_control(view))
        if best is None or (f.blocked and not best.blocked):
            best = f
    return best
