"""Plain words for a non-engineer: what each verdict means and the key evidence behind it.

A `Tally` gathers, for one website and one verdict, the observations that make the case (which
handshakes failed and how, whether a decoy name worked, what the control saw, which issuer or block
page) across all its measurements; `key_evidence` turns it into sentences such as "the TLS handshake
with SNI selftanu.kz timed out after the ClientHello on 12 of 12 attempts between … and …".
Pure functions over models: no I/O. Addresses named are the *sites'*, never the probe's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from probe.i18n import N_, _
from probe.models import Measurement, Verdict

FAILURE_WORDS = {
    "generic_timeout_error": N_("timed out"),
    "connection_reset": N_("was cut by a reset"),
    "connection_refused": N_("was refused"),
    "eof_error": N_("was cut off (the connection was closed)"),
    "ssl_failed_handshake": N_("failed (the handshake was broken off)"),
    "ssl_unknown_authority": N_("was signed by an authority that browsers do not trust"),
    "ssl_invalid_hostname": N_("carried a certificate for another name"),
    "ssl_invalid_certificate": N_("carried an invalid certificate"),
    "dns_nxdomain_error": N_("said the name does not exist (NXDOMAIN)"),
    "dns_servfail_error": N_("failed to answer (SERVFAIL)"),
    "dns_refused_error": N_("refused to answer (REFUSED)"),
    "dns_no_answer": N_("gave no address"),
    "host_unreachable": N_("could not reach the address"),
}

# Verdict label -> (technique family shown in the techniques table, what it means in words).
TECHNIQUES: dict[str, tuple[str, str]] = {
    "dns.nxdomain": ("DNS", "the resolver says the site does not exist"),
    "dns.servfail": ("DNS", "the resolver fails to answer"),
    "dns.refused": ("DNS", "the resolver refuses to answer"),
    "dns.timeout": ("DNS", "the resolver does not answer"),
    "dns.bogon": ("DNS", "the resolver answers with a private address"),
    "dns.redirect": ("DNS", "the resolver answers with another server's address"),
    "dns.injected": ("DNS", "forged answers injected on the way"),
    "tcp.timeout": ("TCP/IP", "connections to the site's address are dropped"),
    "tcp.reset": ("TCP/IP", "connections to the site's address are reset"),
    "tcp.refused": ("TCP/IP", "connections to the site's address are refused"),
    "tls.timeout": ("TLS", "the secure handshake is stalled"),
    "tls.reset": ("TLS", "the secure handshake is reset"),
    "tls.eof": ("TLS", "the secure handshake is cut off"),
    "tls.alert": ("TLS", "the secure handshake is refused"),
    "tls.mitm": ("TLS interception (MITM)", "a certificate from an untrusted issuer is presented"),
    "tls.throttled": ("TLS throttling", "the connection is slowed down"),
    "http.blockpage": ("Block page", "a block page is served instead of the site"),
    "http.diff": ("HTTP", "the page differs from what the control sees"),
    "http.reset": ("HTTP", "the web request is reset"),
    "http.timeout": ("HTTP", "the web request is stalled"),
    "http.eof": ("HTTP", "the web request is cut off"),
    "http.throttled": ("HTTP throttling", "the page is slowed down"),
}


# Short names of every verdict label, for charts and badges.
SHORT: dict[str, str] = {
    "ok": "reachable", "down": "site down (not censorship)", "site.refused": "site refuses this network",
    "inconclusive": "inconclusive", "dns.nxdomain": "DNS: no such name", "dns.servfail": "DNS: failure",
    "dns.refused": "DNS: refused", "dns.timeout": "DNS: no answer", "dns.bogon": "DNS: private address",
    "dns.redirect": "DNS: wrong address", "dns.injected": "DNS: injected answer",
    "tcp.timeout": "connection dropped", "tcp.reset": "connection reset", "tcp.refused": "connection refused",
    "tls.timeout": "secure handshake stalled", "tls.reset": "secure handshake reset",
    "tls.eof": "secure handshake cut off", "tls.alert": "secure handshake refused",
    "tls.mitm": "intercepted (untrusted certificate)", "tls.throttled": "slowed down",
    "http.blockpage": "block page", "http.diff": "different page", "http.reset": "web request reset",
    "http.timeout": "web request stalled", "http.eof": "web request cut off", "http.throttled": "slowed down",
    "site.takedown": "taken down (host's page)", "dns.takedown": "taken down (registry hold)",
}


def short(label: str) -> str:
    return SHORT.get(label, label)


def words(failure: str | None) -> str:
    """What a step did, in the current language (the failure string itself stays, as an identifier)."""
    if failure is None:
        return _("succeeded")
    if failure in FAILURE_WORDS:
        return _(FAILURE_WORDS[failure])
    return _("failed ({failure})").format(failure=failure)


def technique(verdict: Verdict) -> tuple[str, str, str]:
    """(family, description, detail) of a blocked verdict for the techniques table."""
    family, description = TECHNIQUES.get(verdict.label, ("Other", verdict.label))
    if verdict.label.startswith("tls.") and verdict.sni_filtering:
        family = "TLS SNI filtering"
    detail = verdict.mitm_issuer or verdict.fingerprint or ""
    if detail and verdict.label == "tls.mitm":
        detail = f"issuer {detail}"
    elif detail:
        detail = f"fingerprint {detail}"
    return family, description, detail


def technique_detail(detail: str) -> str:
    """A technique's detail ("issuer …", "fingerprint …", as `technique` tallies it) in the current language."""
    for word, said in (("issuer ", N_("issuer {name}")), ("fingerprint ", N_("fingerprint {name}"))):
        if detail.startswith(word):
            return _(said).format(name=detail.removeprefix(word))
    return detail


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or url).lower()


# Month names as dates show them, in the current language (Russian and Kazakh say them in full, in the
# form a date takes); numbers and "UTC" are the same in every language.
_MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"), N_("Sep"),
           N_("Oct"), N_("Nov"), N_("Dec"))


def human_time(iso: str) -> str:
    """'26 Nov 2026 23:20 UTC' from an ISO-8601 UTC time (as stored), in the current language."""
    try:
        year, month, day = iso[0:4], int(iso[5:7]), int(iso[8:10])
        return _("{day} {month} {year} {time} UTC").format(day=day, month=_(_MONTHS[month - 1]), year=year,
                                                            time=iso[11:16])
    except (ValueError, IndexError):
        return iso


def human_date(iso: str) -> str:
    """'26 Nov 2026' (the day alone), in the current language."""
    try:
        year, month, day = iso[0:4], int(iso[5:7]), int(iso[8:10])
        return _("{day} {month} {year}").format(day=day, month=_(_MONTHS[month - 1]), year=year)
    except (ValueError, IndexError):
        return iso[:10]


@dataclass
class Tally:
    """What the measurements of one website with one verdict label have in common."""

    label: str
    count: int = 0
    first: str = ""
    last: str = ""
    failures: Counter[str] = field(default_factory=Counter)  # failure of the step that was interfered with
    addresses: set[str] = field(default_factory=set)  # the site's addresses involved
    decoy_ok: int = 0
    decoy_names: set[str] = field(default_factory=set)
    control_ok: int = 0
    details: Counter[str] = field(default_factory=Counter)  # issuer, fingerprint, rcode, title …
    control_details: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    resolvers: set[str] = field(default_factory=set)

    def add(self, m: Measurement, v: Verdict) -> None:
        self.count += 1
        self.first = min(self.first or m.test_start_time, m.test_start_time)
        self.last = max(self.last, m.test_start_time)
        self.reasons.update(v.reasons)
        adders = {"dns": _add_dns, "tcp": _add_tcp, "tls": _add_tls, "http": _add_http}
        adders.get(v.label.split(".", 1)[0], _add_none)(self, m, v)


def _add_none(t: Tally, m: Measurement, v: Verdict) -> None:
    return None


def _add_dns(t: Tally, m: Measurement, v: Verdict) -> None:
    for q in m.queries:
        if q.engine != "getaddrinfo" and q.resolver_address:
            t.resolvers.add(q.resolver_address)
        if q.failure:
            t.failures[q.failure] += 1
        t.addresses.update(q.addresses())
        for reply in q.late_replies:
            t.addresses.update(a.ipv4 or a.ipv6 or "" for a in reply.answers if a.ipv4 or a.ipv6)
    if m.control and not m.control.dns.failure and m.control.dns.addresses:
        t.control_ok += 1
        t.control_details.update(m.control.dns.addresses)


def _add_tcp(t: Tally, m: Measurement, v: Verdict) -> None:
    for c in m.tcp_connect:
        if c.failure:
            t.failures[c.failure] += 1
            t.addresses.add(f"{c.ip}:{c.port}")
    if m.control and any(e.tcp_failure is None for e in m.control.endpoints):
        t.control_ok += 1


def _add_tls(t: Tally, m: Measurement, v: Verdict) -> None:
    real = [h for h in m.tls_handshakes if not h.is_decoy]
    failed = next((h for h in real if h.failure), None)
    if failed is not None:
        t.failures[failed.failure or ""] += 1
        t.addresses.add(failed.ip)
    decoys = [h for h in m.tls_handshakes if h.is_decoy and h.failure is None]
    if decoys:
        t.decoy_ok += 1
        t.decoy_names.update(h.server_name for h in decoys)
    if v.mitm_issuer:
        t.details[v.mitm_issuer] += 1
    if m.control and any(e.tls_attempted and e.tls_failure is None for e in m.control.endpoints):
        t.control_ok += 1


def _add_http(t: Tally, m: Measurement, v: Verdict) -> None:
    last = m.requests[-1] if m.requests else None
    if last is not None and last.failure:
        t.failures[last.failure] += 1
    if last is not None and last.response is not None:
        t.details[f"status {last.response.code}"] += 1
        if last.response.title:
            t.details[f"title “{last.response.title}”"] += 1
    if v.fingerprint:
        t.details[f"fingerprint {v.fingerprint}"] += 1
    http = m.control.http if m.control else None
    if http is not None and http.failure is None and http.status_code:
        t.control_ok += 1
        title = f", title “{http.title}”" if http.title else ""
        t.control_details[f"status {http.status_code}{title}"] += 1


def _span(t: Tally) -> str:
    if t.first == t.last:
        return _("on {time}").format(time=human_time(t.first))
    return _("between {first} and {last}").format(first=human_time(t.first), last=human_time(t.last))


def _top(counter: Counter[str]) -> str:
    return counter.most_common(1)[0][0] if counter else ""


_STATUS = re.compile(r"\bstatus (\d+)")
_TITLE = re.compile(r"\btitle “(.*)”", re.S)


def _detail(text: str) -> str:
    """A tallied detail ("status 403, title “…”") in the current language; the tally keeps it in English
    so that one collection renders in every language."""
    text = _STATUS.sub(lambda m: _("status {code}").format(code=m.group(1)), text)
    return _TITLE.sub(lambda m: _("title “{title}”").format(title=m.group(1)), text)


def _control_clause(t: Tally, what: str) -> str:
    if not t.control_ok:
        return ""
    if t.control_ok >= t.count:
        return _(", while the uncensored control {what} each time").format(what=what)
    return _(", while the uncensored control {what} on {count} of them").format(what=what, count=t.control_ok)


def key_evidence(t: Tally, url: str, attempts: int) -> str:
    """One paragraph in plain words, in the current language; `attempts` is how often the website was
    measured in all. Labels, failure strings, names and addresses stay as they are."""
    host = host_of(url)
    ratio = _("on {count} of {attempts} attempts {span}").format(count=t.count, attempts=attempts, span=_span(t))
    layer = t.label.split(".", 1)[0]
    if t.label == "tls.mitm":
        text = _mitm_words(t, host, ratio)
    elif layer == "tls":
        text = _tls_words(t, host, ratio)
    elif layer == "dns":
        text = _dns_words(t, host, ratio)
    elif layer == "tcp":
        text = _tcp_words(t, ratio)
    elif layer == "http":
        text = _http_words(t, url, ratio)
    else:
        text = _("The probe concluded “{label}” {ratio}.").format(label=t.label, ratio=ratio)
    return text


def _tls_words(t: Tally, host: str, ratio: str) -> str:
    failed = words(_top(t.failures) or None)
    text = _("The TLS handshake with SNI {host} {failed} after the ClientHello {ratio}{control}.").format(
        host=host, failed=failed, ratio=ratio, control=_control_clause(t, _("completed it")))
    if t.decoy_ok:
        names = ", ".join(sorted(t.decoy_names))
        times = _("each time") if t.decoy_ok >= t.count else _("on {count} of those attempts").format(
            count=t.decoy_ok)
        text += " " + _("A handshake to the same address with another name ({names}) succeeded {times}, so the "
                        "name of the site is what is blocked, not the server.").format(names=names, times=times)
    return text


def _mitm_words(t: Tally, host: str, ratio: str) -> str:
    issuer = _top(t.details) or _("an unknown issuer")
    text = _("The certificate presented for {host} was issued by {issuer}, which browsers do not trust, "
             "{ratio}{control}.").format(host=host, issuer=issuer, ratio=ratio,
                                          control=_control_clause(t, _("received the site's valid certificate")))
    return text + " " + _("The certificates received are kept in the bundle (artifacts/certs).")


def _dns_words(t: Tally, host: str, ratio: str) -> str:
    resolver = ", ".join(sorted(r.rsplit(":", 1)[0] if r.count(":") == 1 else r for r in t.resolvers))
    addrs = ", ".join(a for a, _count in t.control_details.most_common(3))
    control = _control_clause(t, _("resolved it to {addresses}").format(addresses=addrs) if addrs
                              else _("resolved it"))
    failure = _top(t.failures)
    if failure:
        said = (_("The network's DNS resolver ({resolver}) {failed} for {host} {ratio}{control}.") if resolver
                else _("The network's DNS resolver {failed} for {host} {ratio}{control}."))
        return said.format(resolver=resolver, failed=words(failure), host=host, ratio=ratio, control=control)
    answer = ", ".join(sorted(t.addresses)) or _("no usable address")
    kind = {"dns.bogon": N_("a private address that cannot be the site"),
            "dns.injected": N_("answers that raced the real one (injected on the way)")}.get(
                t.label, N_("an address that did not prove to be the site"))
    said = (_("The network's DNS resolver ({resolver}) answered {answer} for {host}, {kind}, {ratio}{control}.")
            if resolver else _("The network's DNS resolver answered {answer} for {host}, {kind}, {ratio}{control}."))
    return said.format(resolver=resolver, answer=answer, host=host, kind=_(kind), ratio=ratio, control=control)


def _tcp_words(t: Tally, ratio: str) -> str:
    where = ", ".join(sorted(t.addresses)[:3]) or _("the site's address")
    return _("Connecting to {where} (the site's address) {failed} {ratio}{control}.").format(
        where=where, failed=words(_top(t.failures) or None), ratio=ratio,
        control=_control_clause(t, _("connected to it")))


def _http_words(t: Tally, url: str, ratio: str) -> str:
    control = _detail(_top(t.control_details))
    got = ", ".join(_detail(d) for d, _count in t.details.most_common() if not d.startswith("fingerprint"))
    clause = _control_clause(t, _("got the real site ({page})").format(page=control) if control else _("fetched it"))
    if t.label == "http.blockpage":
        fingerprint = next((d.removeprefix("fingerprint ") for d in t.details if d.startswith("fingerprint")),
                           "")
        said = (_("The web page returned for {url} matched the block page {fingerprint}") if fingerprint
                else _("The web page returned for {url} matched the block page of a known kind"))
        text = said.format(url=url, fingerprint=fingerprint)
        return text + (f" ({got}) {ratio}" if got else f" {ratio}") + clause + "."
    if t.label == "http.diff":
        return _("The web page returned for {url} ({page}) differed from the control's {ratio}{control}.").format(
            url=url, page=got or _("no page"), ratio=ratio, control=clause)
    return _("The web request for {url} {failed} {ratio}{control}.").format(
        url=url, failed=words(_top(t.failures) or None), ratio=ratio, control=clause)
