"""DNS rules: failures only the probe sees, forged answers (bogons, known censor addresses), answers
that differ from the control and serve nothing valid for the host, and on-path injected replies.

Rules run per host of the redirect chain, first to last, most specific first: injection (two different
replies), a known censor address, a bogon, a failure, then consistency with the control. Consistency
needs the control's own answers, which exist for the input URL's host only. An address counts as the
site's when the control got it too, when it is the NAT64 form of one, or when a TLS handshake to it
(the probe's or the control's) returned a certificate valid for the host: CDNs and geo-DNS give
different vantage points different, equally genuine, addresses. When nothing yet proves the other
answers wrong, the result is a `Suspect` that the page comparison settles (see `verdict.py`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from probe import failures
from probe.classify.context import ClassifyContext
from probe.classify.findings import Finding, finding
from probe.classify.registry import registry_finding
from probe.classify.view import PROBE_NETWORK_FAILURES, VALIDATION_FAILURES, Hop, View, normal_ip, sentence
from probe.models.observations import DNSQueryObservation, DNSReply
from probe.models.verdict import VerdictLabel

# What a lookup that failed says about the name, by failure string. Only what a resolver did (its
# answer, or its silence) is evidence: anything else (a socket the probe could not open, EMFILE, the
# resolver unreachable, getaddrinfo's EAI_SYSTEM / EAI_MEMORY as dns_server_misbehaving, a name the
# probe could not even ask) is the probe's own resolver path failing, and says nothing about the name.
_FAILURE_LABELS: dict[str, VerdictLabel] = {
    failures.DNS_NXDOMAIN: "dns.nxdomain",
    "android_dns_cache_no_data": "dns.nxdomain",  # Android's getaddrinfo says this for NXDOMAIN
    failures.DNS_NO_ANSWER: "dns.nxdomain",  # NOERROR without addresses: the name has no address for the probe
    failures.DNS_SERVFAIL: "dns.servfail",
    failures.DNS_REFUSED: "dns.refused",
    failures.GENERIC_TIMEOUT: "dns.timeout",
    # getaddrinfo's EAI_FAIL and EAI_AGAIN: glibc reports the resolver's REFUSED / FORMERR / NOTIMP as the
    # first, and its SERVFAIL, REFUSED or silence alike as the second. Either way the resolver failed to
    # give an answer: SERVFAIL-like. They lump answers together, so they decide only when no other
    # lookup of the name (the UDP queries, which see the exact rcode) is evidence: see `_COARSE`.
    failures.DNS_NON_RECOVERABLE: "dns.servfail",
    failures.DNS_TEMPORARY_FAILURE: "dns.servfail",
}
_COARSE = frozenset({failures.DNS_NON_RECOVERABLE, failures.DNS_TEMPORARY_FAILURE})
# A deliberate answer (NXDOMAIN, REFUSED) says more about the resolver than a missing one.
_LABEL_ORDER: tuple[VerdictLabel, ...] = ("dns.nxdomain", "dns.refused", "dns.servfail", "dns.timeout")
_UNREACHABLE = frozenset({failures.CONNECTION_REFUSED, failures.HOST_UNREACHABLE})
_NO_SUCH_NAME = (failures.DNS_NXDOMAIN, failures.DNS_NO_ANSWER)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Suspect:
    """Answers the control does not know, not yet shown wrong: the page comparison settles them."""

    claim: Finding  # the verdict if what these addresses served turns out wrong
    fallback: Finding  # the verdict if nothing settles it


@dataclass(frozen=True)
class DNSResult:
    finding: Finding | None = None
    suspect: Suspect | None = None
    notes: tuple[str, ...] = ()
    hop: int = 0  # the first hop whose host the finding or suspect is about


@dataclass(frozen=True)
class _Host:
    name: str
    hop: Hop
    queries: list[DNSQueryObservation]
    addresses: list[str]
    control: list[str] | None  # the control's answers for this host; None when it has none to give
    control_failure: str | None = None
    duplicates: list[str] = field(default_factory=list)  # identical late replies, described


def analyze_dns(view: View, ctx: ClassifyContext) -> DNSResult:
    notes: list[str] = []
    seen: set[str] = set()
    for hop in view.hops:
        if hop.host in seen:
            continue
        seen.add(hop.host)
        result = _analyze_host(view, ctx, _host(view, hop))
        notes.extend(result.notes)
        if result.finding or result.suspect:
            return replace(result, notes=tuple(notes), hop=hop.index)
    return DNSResult(notes=tuple(notes))


def _host(view: View, hop: Hop) -> _Host:
    ctrl = view.control
    known = hop.index == 0 and ctrl is not None
    return _Host(name=hop.host, hop=hop, queries=view.queries_for(hop.host),
                 addresses=view.addresses_for(hop.host),
                 control=[normal_ip(a) for a in ctrl.dns.addresses] if known and ctrl else None,
                 control_failure=ctrl.dns.failure if known and ctrl else None)


def _analyze_host(view: View, ctx: ClassifyContext, h: _Host) -> DNSResult:
    if not h.queries:
        return DNSResult()  # an address literal: nothing was resolved
    injected, duplicates = _injection(ctx, h)
    if injected:
        return DNSResult(finding=injected)
    h = replace(h, duplicates=duplicates)
    notes: list[str] = [f"Late DNS datagram: {d}." for d in duplicates]
    for rule in (_bogon, _censor_address, _failure, _consistency):
        result = rule(view, ctx, h)
        notes.extend(result.notes)
        if result.finding or result.suspect:
            return replace(_as_injected(result, h), notes=tuple(notes))
    return DNSResult(notes=tuple(notes))


def _who(q: DNSQueryObservation) -> str:
    if q.engine == "getaddrinfo":
        return "the system resolver (getaddrinfo)"
    return f"the resolver {q.resolver_address} ({q.query_type})"


def _reply_text(rcode: str | None, addresses: set[str]) -> str:
    return f"{rcode or 'NOERROR'} {', '.join(sorted(addresses))}".strip()


def _reply_addresses(r: DNSReply) -> set[str]:
    return {normal_ip(a.ipv4 or a.ipv6 or "") for a in r.answers if a.ipv4 or a.ipv6}


def _injection(ctx: ClassifyContext, h: _Host) -> tuple[Finding | None, list[str]]:
    """Two different replies to one query mean an on-path injector; identical ones are only noted."""
    duplicates: list[str] = []
    for q in h.queries:
        first = {normal_ip(a) for a in q.addresses()}
        for r in q.late_replies if q.engine == "udp" else ():
            late = _reply_addresses(r)
            source = f" from {r.source}" if r.source else ""
            if r.rcode == "MALFORMED":  # not a reply to this query (or unparsable): stray, not an answer
                duplicates.append(f"a datagram{source} that is no valid reply to the query for {h.name} "
                                  f"arrived {max(r.t - q.t, 0.0):.2f} s after the first reply")
                continue
            if late == first and r.rcode == (q.rcode or r.rcode):
                duplicates.append(f"{_who(q)} for {h.name} sent {_reply_text(r.rcode, late)} again{source}, "
                                  f"{max(r.t - q.t, 0.0):.2f} s after the first")
                continue
            return _injection_finding(ctx, h, q, first, r), duplicates
    return None, duplicates


def _injection_finding(ctx: ClassifyContext, h: _Host, q: DNSQueryObservation, first: set[str],
                       r: DNSReply) -> Finding:
    late = _reply_addresses(r)
    ctrl = set(h.control or ())
    source = f" from {r.source}" if r.source else ""
    reasons = [f"The {q.query_type} query for {h.name} to {q.resolver_address} got two different replies: "
               f"{_reply_text(q.rcode, first)} at {q.t:.2f} s, then {_reply_text(r.rcode, late)}{source} "
               f"{max(r.t - q.t, 0.0):.2f} s later. A resolver answers a query once; a second, different "
               "answer means one of them was injected on the path."]
    settled = bool(ctrl) and bool(first & ctrl) != bool(late & ctrl)
    if settled:
        reasons.append(f"The control resolved {h.name} to {', '.join(sorted(ctrl))}, which matches only the "
                       f"{'first' if first & ctrl else 'later'} reply.")
    forged = [a for a in sorted(first | late) if ctx.is_bogon(a) or ctx.fingerprints.match_dns(a)]
    fp = next((m for a in forged if (m := ctx.fingerprints.match_dns(a))), None)
    if forged:
        reasons.append(f"{', '.join(forged)} is a non-public or known blocking address"
                       + (f" (fingerprint {fp.describe()})" if fp else "") + ".")
    return finding("dns.injected", "confirmed" if settled or forged else "likely", *reasons,
                   fingerprint=fp.name if fp else None)


def _as_injected(result: DNSResult, h: _Host) -> DNSResult:
    """A forged answer that also arrived in duplicate copies: the technique is on-path injection."""
    f = result.finding
    if not (h.duplicates and f is not None and f.label in ("dns.bogon", "dns.redirect")):
        return result
    return replace(result, finding=replace(f, label="dns.injected", reasons=f.reasons + (
        "The forged reply arrived more than once, as on-path injectors send it.",)))


def _censor_address(view: View, ctx: ClassifyContext, h: _Host) -> DNSResult:
    ctrl = set(h.control or ())
    for q in h.queries:
        values = [normal_ip(a) for a in q.addresses()] + [a.hostname for a in q.answers
                                                            if a.answer_type == "CNAME" and a.hostname]
        for value in values:
            fp = ctx.fingerprints.match_dns(value)
            if fp is not None and value not in ctrl and not ctx.is_bogon(value):  # bogons: `_bogon`
                return DNSResult(finding=finding(
                    "dns.redirect", "confirmed",
                    f"{sentence(_who(q))} answered {value} for {h.name}, a known blocking "
                    f"{'address' if value[0].isdigit() or ':' in value else 'name'}: "
                    f"fingerprint {fp.describe()}.", fingerprint=fp.name))
    return DNSResult()


def _bogon_kind(ip: str) -> str:
    addr = ipaddress.ip_address(ip)
    if addr.is_loopback:
        return "a loopback"
    if addr.is_unspecified:
        return "the unspecified"
    return "a private" if addr.is_private else "a reserved"


def _bogon(view: View, ctx: ClassifyContext, h: _Host) -> DNSResult:
    ctrl = set(h.control or ())
    bogons = [a for a in h.addresses if ctx.is_bogon(a) and a not in ctrl]
    if not bogons:
        shared = [a for a in h.addresses if ctx.is_bogon(a)]
        return DNSResult(notes=(f"The control resolves {h.name} to {', '.join(shared)} too: the site's own DNS "
                                "points at a non-public address.",) if shared else ())
    givers = [q for q in h.queries if bogons[0] in {normal_ip(a) for a in q.addresses()}] or h.queries
    who = _who(sorted(givers, key=lambda q: q.engine != "udp")[0])  # the ISP resolver, when it said so
    fp = next((m for b in bogons if (m := ctx.fingerprints.match_dns(b))), None)
    said = (f"{sentence(who)} answered {', '.join(bogons)} for {h.name}: {_bogon_kind(bogons[0])} "
            "address, which no public website uses"
            + (f" (a blocking convention: fingerprint {fp.describe()})." if fp else "."))
    name = fp.name if fp else None
    if ctrl and all(ctx.is_bogon(c) for c in ctrl):
        return DNSResult(notes=(f"{said} The control also resolves {h.name} to non-public addresses "
                                f"({', '.join(sorted(ctrl))}): the site's own DNS says so.",))
    if h.control is not None:
        public = bool(ctrl) or h.control_failure in _NO_SUCH_NAME
        seen = (f"The control resolved it to {', '.join(sorted(ctrl))}." if ctrl
                else f"The control's resolver answered {h.control_failure or 'no addresses'}.")
        return DNSResult(finding=finding("dns.bogon", "confirmed" if public else "likely", said, seen,
                                         fingerprint=name))
    if h.hop.index > 0 and view.control_fetched():
        return DNSResult(finding=finding("dns.bogon", "likely", said, f"The control followed the redirect "
                                         f"to {h.name} and fetched the page, so the name resolves publicly.",
                                         fingerprint=name))
    return DNSResult(suspect=Suspect(
        claim=finding("dns.bogon", "likely", said, fingerprint=name),
        fallback=finding("inconclusive", "possible", said, f"Without a control's answer for {h.name} this "
                         "cannot be told apart from a site whose own DNS points there (some do).")))


def _failure_label(q: DNSQueryObservation, h: _Host) -> VerdictLabel | None:
    """The label a failed lookup is evidence for; None when it is no evidence about the name."""
    failure = q.failure or failures.DNS_NO_ANSWER
    if failure == failures.DNS_NO_ANSWER and q.query_type == "AAAA" and not any(":" in a for a in h.control or ()):
        return None  # no IPv6 address: most sites have none, unless the control found one
    return _FAILURE_LABELS.get(failure)


def _not_evidence(q: DNSQueryObservation) -> str:
    """Why a failed lookup says nothing about the name."""
    failure = q.failure or failures.DNS_NO_ANSWER
    if failure == failures.DNS_NO_ANSWER:
        return f"{_who(q)} found no IPv6 address, which most sites do not have"
    if failure in PROBE_NETWORK_FAILURES:
        return f"the probe's own network could not send the query to {_who(q)} ({failure})"
    if failure in _UNREACHABLE:
        return f"{_who(q)} could not be reached ({failure})"
    if failure == failures.DNS_SERVER_MISBEHAVING and q.engine == "udp" and q.rcode:
        return f"{_who(q)} answered {q.rcode}, an error no censor is known to answer with"
    if failure == failures.DNS_SERVER_MISBEHAVING and q.engine == "getaddrinfo":
        return f"{_who(q)} failed inside the probe's own system (a system or memory error, not an answer)"
    if failure == failures.DNS_TEMPORARY_FAILURE:
        return (f"{_who(q)} gave {failure}, which getaddrinfo reports for a resolver it cannot reach as much as "
                "for a SERVFAIL: the direct queries to the resolver are the exact evidence")
    if failure == failures.DNS_NON_RECOVERABLE:
        return (f"{_who(q)} gave {failure}, which getaddrinfo reports for any error answer (REFUSED, FORMERR, "
                "NOTIMP): the direct queries to the resolver are the exact evidence")
    if failure.startswith(failures.UNKNOWN_PREFIX):
        return f"{_who(q)} failed inside the probe ({failure[len(failures.UNKNOWN_PREFIX):]})"
    return f"{_who(q)} failed with {failure}, which is not an answer from a resolver"


def _failure(view: View, ctx: ClassifyContext, h: _Host) -> DNSResult:
    if h.addresses:
        return DNSResult(notes=tuple(
            f"{sentence(_who(q))} failed with {q.failure} for {h.name} while other lookups returned "
            "addresses; the measurement used those." for q in h.queries
            if q.failure and not (q.query_type == "AAAA" and q.failure == failures.DNS_NO_ANSWER)))
    said = (f"The probe could not resolve {h.name}: "
            + "; ".join(f"{_who(q)} failed with {q.failure or 'dns_no_answer'}" for q in h.queries[:4]) + ".")
    labelled = [(q, lbl) for q in h.queries if (lbl := _failure_label(q, h)) is not None]
    # The exact answers decide. getaddrinfo's lumped codes decide only when no UDP query was made: when
    # the direct queries to the resolver failed in a way that is no evidence (unreachable, a local
    # error), the same failure is the likelier reason getaddrinfo got no answer either.
    udp_asked = any(q.engine == "udp" for q in h.queries)
    evidence = ([lbl for q, lbl in labelled if q.failure not in _COARSE]
                or ([] if udp_asked else [lbl for _, lbl in labelled]))
    if not evidence:
        why = list(dict.fromkeys(_not_evidence(q) for q in h.queries))
        seen = (f"The control resolved it to {', '.join(h.control)}." if h.control else
                f"The control could not resolve it either ({h.control_failure or 'no addresses'}), but the "
                "probe never got an answer to compare." if h.control is not None else "")
        return DNSResult(finding=finding("inconclusive", "possible", said,
                                         "The probe's own resolver path failed in a way that is not evidence of "
                                         f"censorship: {'; '.join(why)}.", seen))
    label = min(evidence, key=_LABEL_ORDER.index)
    if h.control is not None:
        if not h.control:
            nowhere = (f"The control could not resolve it either ({h.control_failure or 'no addresses'}): it "
                       "resolves nowhere.")
            return DNSResult(finding=_registry(view, h, said, nowhere)
                             or finding("down", "likely", said, nowhere))
        return DNSResult(finding=finding(label, "likely", said,
                                         f"The control resolved it to {', '.join(h.control)}."))
    ctrl_http = view.control_http
    if h.hop.index > 0 and view.control_fetched():
        return DNSResult(finding=finding(label, "likely", said, f"The control followed the redirect to {h.name} "
                                         "and fetched the page."))
    if ctrl_http is not None and ctrl_http.failure:
        return DNSResult(finding=finding("down", "possible", said,
                                         f"The control's fetch failed too ({ctrl_http.failure})."))
    held = _registry(view, h, said, "There is no control answer for the name.")
    if held is not None and held.label == "dns.takedown":  # the registry's word needs no control
        return DNSResult(finding=held)
    return DNSResult(finding=finding("inconclusive", "possible", said,
                                     "There is no control answer to tell censorship from a name that is gone."))


def _registry(view: View, h: _Host, said: str, nowhere: str) -> Finding | None:
    """What the registry said about a name that resolves nowhere (only the input URL's host is asked)."""
    if h.hop.index != 0:
        return None
    m = view.measurement
    ctrl = m.control.registry.observation if m.control is not None and m.control.registry is not None else None
    return registry_finding(m.registry, ctrl, said=f"{said} {nowhere}")


def _validates(view: View, h: _Host, ip: str) -> bool:
    """A handshake to `ip` (the probe's or the control's) returned a certificate valid for the host."""
    for hop in view.hops:
        if hop.host == h.name and any(normal_ip(t.ip) == ip and t.failure is None for t in hop.tls):
            return True
    ep = view.endpoint(ip, h.hop.port)
    return ep is not None and ep.cert_valid_for_host is True


def _nat64_embeds(ip: str, ctrl: set[str]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:  # an answer that is no address (a stored measurement from elsewhere)
        return False
    if addr.version != 6 or addr not in _NAT64:
        return False
    return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)) in ctrl


def _consistency(view: View, ctx: ClassifyContext, h: _Host) -> DNSResult:
    if h.control is None or not h.addresses:
        return DNSResult()
    ctrl = set(h.control)
    if not ctrl and h.control_failure not in _NO_SUCH_NAME:
        return DNSResult(notes=(f"The control could not resolve {h.name} ({h.control_failure}); "
                                "the probe's answers could not be compared.",))
    validated = [a for a in h.addresses if a not in ctrl and _validates(view, h, a)]
    unexplained = [a for a in h.addresses if a not in ctrl and a not in validated
                   and not _nat64_embeds(a, ctrl)]
    notes = [f"{', '.join(validated)} differ from the control's answers but served a certificate valid for "
             f"{h.name} (a CDN or geo-DNS answer)."] if validated else []
    if not unexplained:
        return DNSResult(notes=tuple(notes))
    if len(unexplained) < len(h.addresses):
        notes.append(f"{', '.join(unexplained)} for {h.name} differ from the control's answers and were not "
                     "shown to serve it; the other answers agree.")
        return DNSResult(notes=tuple(notes))
    seen = (f"the control resolved it to {', '.join(sorted(ctrl))}" if ctrl else
            f"the control's resolver says it does not exist ({h.control_failure})")
    said = (f"The probe's resolvers answered {', '.join(unexplained)} for {h.name}; {seen}, and none of "
            f"these addresses was shown to serve {h.name} (no certificate valid for it).")
    evidence = _redirect_evidence(view, h, unexplained)
    if evidence or not ctrl:
        return DNSResult(finding=finding("dns.redirect", "likely", said, *evidence), notes=tuple(notes))
    return DNSResult(notes=tuple(notes), suspect=Suspect(
        claim=finding("dns.redirect", "likely", said),
        fallback=finding("dns.redirect", "possible", said,
                         "What these addresses served could not be compared with the control's page.")))


def _site_validates(view: View, h: _Host) -> bool:
    """The site normally presents a valid certificate, so one that is not valid means another server."""
    ctrl = set(h.control or ())
    if any(e.cert_valid_for_host for e in (view.control.endpoints if view.control else ())
           if normal_ip(e.ip) in ctrl):
        return True
    return h.hop.scheme == "https" and view.control_fetched()


def _redirect_evidence(view: View, h: _Host, addresses: list[str]) -> list[str]:
    evidence: list[str] = []
    site_validates = _site_validates(view, h)
    for ip in addresses:
        handshakes = [t for hop in view.hops if hop.host == h.name for t in hop.tls if normal_ip(t.ip) == ip]
        bad = next((t for t in handshakes if t.failure in VALIDATION_FAILURES), None)
        if bad is not None and site_validates:
            issuer = bad.validation.leaf_issuer if bad.validation else None
            evidence.append(f"The TLS handshake to {ip} with SNI {h.name} returned a certificate not valid for "
                            f"it ({bad.failure}" + (f", issued by {issuer}" if issuer else "") + ").")
        ep = view.endpoint(ip, h.hop.port)
        if ep is not None and ep.tcp_failure:
            evidence.append(f"The control cannot connect to {ip} ({ep.tcp_failure}): it is no working "
                            f"server for {h.name}.")
        elif ep is not None and ep.tls_attempted and ep.cert_valid_for_host is False:
            evidence.append(f"From the control too, {ip} presents no certificate valid for {h.name}.")
    return evidence
