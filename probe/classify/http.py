"""HTTP rules: blockpage fingerprints, CAPTCHA/geo-block pages, request failures, and the page diff.

What a page proves depends on how it came. A hop fetched over TLS valid for its host, after a chain of
such hops, is *authentic*: nobody on the path could have written it, so a difference from the control
is the site's own doing (personalisation, geo-content, a bot check), never censorship. Pages over
plain HTTP (or after a plain-HTTP redirect) can be forged on the path: there a blockpage fingerprint
or a difference from the control is evidence. Fingerprint scopes: `fp` rows suppress (a known
non-blockpage), `site` rows mean the site refused this network (`site.refused`), `takedown` rows on a
final page the control got too mean the host or a seizure replaced the site for everyone
(`site.takedown`), other rows are censors' blockpages. A fingerprint on a page that still matches
the control's is the site's own text.
The diff uses status, title, body length proportion and body similarity; headers that every server
sends (Content-Length, Date, ...) never count as a match or a mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from probe import failures
from probe.classify.context import ClassifyContext
from probe.classify.findings import Finding, finding
from probe.classify.fingerprints import (
    CENSOR,
    FP_SCOPE,
    SITE_SCOPE,
    SPECIAL_SCOPES,
    TAKEDOWN_SCOPE,
    VAGUE_SCOPE,
    Fingerprint,
)
from probe.classify.similarity import body_minhash, decode_body, extract_title, similarity, visible_words
from probe.classify.view import (
    CONNECT,
    HTTP_ROUND_TRIP,
    RESOLVE,
    TLS_HANDSHAKE,
    Hop,
    View,
    endpoint_text,
    normal_host,
    quoted,
    seconds,
    split_url,
    status_text,
)
from probe.models.control import ControlHTTP
from probe.models.observations import HTTPHeader, HTTPResponse
from probe.models.verdict import Confidence, VerdictLabel

_HTTP_LABELS: dict[str, VerdictLabel] = {
    failures.CONNECTION_RESET: "http.reset",
    failures.CONNECTION_ABORTED: "http.reset",
    failures.GENERIC_TIMEOUT: "http.timeout",
    failures.EOF_ERROR: "http.eof",
}
# Header names nearly every server, CDN or middlebox sends: their presence says nothing about who
# wrote the page, so they never count as a match (Content-Length, Date, Server, ...).
GENERIC_HEADERS = frozenset({
    "accept-ranges", "age", "alt-svc", "cache-control", "cf-cache-status", "cf-ray", "connection",
    "content-encoding", "content-language", "content-length", "content-security-policy", "content-type",
    "date", "etag", "expires", "keep-alive", "last-modified", "link", "location", "nel", "p3p", "pragma",
    "referrer-policy", "report-to", "server", "set-cookie", "strict-transport-security", "transfer-encoding",
    "vary", "via", "x-cache", "x-content-type-options", "x-frame-options", "x-powered-by", "x-served-by",
    "x-timer", "x-xss-protection",
})
# Statuses a site uses to turn a visitor away (auth walls, geo-blocks, rate limits).
_REFUSAL_STATUSES = frozenset({401, 403, 429, 451})
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    hop: Hop
    response: HTTPResponse
    body: bytes | None  # None: not at hand (pruned, or not recorded)
    text: str | None  # the body decoded
    title: str | None
    authentic: bool  # this hop and all before it came over TLS valid for their hosts
    matches: tuple[Fingerprint, ...] = ()

    def describe(self) -> str:
        title = f" titled {quoted(self.title)}" if self.title else ""
        return (f"status {self.response.code}{title} ({self.response.body_length} bytes) "
                f"for {self.hop.url}")

    def matching(self, group: str) -> list[Fingerprint]:
        return [f for f in self.matches if _group(f) == group]


@dataclass(frozen=True)
class Comparison:
    consistent: bool | None  # None: no control page to compare with
    mismatches: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()


@dataclass(frozen=True)
class HTTPResult:
    early: Finding | None  # a blockpage on a hop before the one where the measurement stopped
    final: Finding | None  # the request failure, or the verdict on the final page
    consistent: bool | None  # the final page vs the control's
    notes: tuple[str, ...] = ()
    blockpage_hop: int | None = None  # the hop a blockpage was seen on, if one was


def analyze_http(view: View, ctx: ClassifyContext) -> HTTPResult:
    pages, notes = _pages(view)
    failure = _request_failure(view)
    completed = view.stop is None and bool(pages) and failure is None
    cmp = _compare(view, ctx, pages[-1]) if completed else Comparison(None)
    pages = [_match(ctx, page, cmp, final=page is pages[-1] and completed) for page in pages]
    blockpage, hop = _blockpage(view, ctx, pages, cmp, notes)
    if view.stop in (RESOLVE, CONNECT, TLS_HANDSHAKE) or failure is not None:
        return HTTPResult(early=blockpage, final=failure, consistent=None, notes=tuple(notes), blockpage_hop=hop)
    if not completed:
        return HTTPResult(None, finding("inconclusive", "possible", "No HTTP response was recorded."), None,
                          tuple(notes))
    final = blockpage or _takedown(ctx, pages[-1], cmp, notes) or _site_refused(pages, cmp) \
        or _judge(view, pages[-1], cmp)
    return HTTPResult(early=None, final=final, consistent=cmp.consistent, notes=tuple(notes), blockpage_hop=hop)


def _pages(view: View) -> tuple[list[Page], list[str]]:
    pages: list[Page] = []
    notes: list[str] = []
    authentic = True
    for hop in view.hops:
        req = hop.request
        if req is None or req.response is None:
            continue
        resp = req.response
        used = hop.tls_used()
        authentic = authentic and hop.scheme == "https" and used is not None and used.failure is None
        body = view.body(resp.body_sha256, resp.body_length)
        if body is None:
            kept = f"sha256 {resp.body_sha256[:12]}…, pruned" if resp.body_sha256 else "not recorded"
            notes.append(f"The body for {hop.url} is not at hand ({kept}); that page was judged by its "
                         "status, headers, title and length only.")
        text = decode_body(body, resp.header("content-type")) if body is not None else None
        # The engine's title, made by the same code as the control's, so the two compare like for like.
        title = resp.title if resp.title is not None or body is None else extract_title(body)
        pages.append(Page(hop, resp, body, text, title, authentic))
    return pages, notes


def _group(fp: Fingerprint) -> str:
    return fp.scope if fp.scope in SPECIAL_SCOPES else CENSOR


def _match(ctx: ClassifyContext, page: Page, cmp: Comparison, *, final: bool) -> Page:
    """The fingerprints a page matches, scanning only where a match could change the verdict.

    Site and takedown rows: always. Censor rows: pages that could be forged, and their body only when the page is
    not the control's (1,300 rows over a big body cost ~40 ms). fp rows: where they could suppress.
    """
    fps = ctx.fingerprints
    found = fps.match_http(headers=page.response.headers, body_text=page.text, group=SITE_SCOPE)
    found += fps.match_http(headers=page.response.headers, body_text=page.text, group=TAKEDOWN_SCOPE)
    if not page.authentic:
        censor_body = page.text if cmp.consistent is not True else None
        censors = fps.match_http(headers=page.response.headers, body_text=censor_body, group=CENSOR)
        found += censors
        if censors or (final and cmp.consistent is False):
            found += fps.match_http(headers=page.response.headers, body_text=page.text, group=FP_SCOPE)
    return replace(page, matches=tuple(found))


def _where(fp: Fingerprint) -> str:
    return "body" if fp.location == "body" else f"{fp.header_name} header"


def _blockpage(view: View, ctx: ClassifyContext, pages: Sequence[Page], cmp: Comparison, notes: list[str]
               ) -> tuple[Finding | None, int | None]:
    cc = view.measurement.network.probe_cc
    for page in pages:
        if page.authentic:
            continue
        censors = sorted(page.matching(CENSOR), key=lambda f: (f.scope == VAGUE_SCOPE, cc not in f.countries,
                                                               -f.confidence))
        if not censors:
            continue
        fp = censors[0]
        known_fp = [f.name for f in page.matching(FP_SCOPE)]
        site = [f.name for f in page.matching(SITE_SCOPE)]
        if site:  # a CDN's challenge that some upstream rows list as a product blockpage
            notes.append(f"The page for {page.hop.url} matches blockpage fingerprint {fp.name} but also "
                         f"{', '.join(site)}, a page the site or its CDN serves; it is not called a blockpage.")
        elif known_fp:
            notes.append(f"The page for {page.hop.url} matches blockpage fingerprint {fp.name} but also the "
                         f"known false positive {', '.join(known_fp)}; it is not called a blockpage.")
        elif cmp.consistent:
            notes.append(f"The page for {page.hop.url} matches blockpage fingerprint {fp.name}, but the control "
                         "got the same page: it is the site's own text.")
        else:
            sure = fp.confidence >= ctx.thresholds.fingerprint_confirmed_min and fp.scope != VAGUE_SCOPE
            return finding("http.blockpage", "confirmed" if sure else "likely",
                           f"The probe got {page.describe()}; its {_where(fp)} matches blockpage fingerprint "
                           f"{fp.describe()}.", *_differences(cmp), fingerprint=fp.name), page.hop.index
    return None, None


def _differences(cmp: Comparison) -> list[str]:
    return [f"Compared with the control: {'; '.join(cmp.mismatches)}."] if cmp.mismatches else []


def _takedown(ctx: ClassifyContext, page: Page, cmp: Comparison, notes: list[str]) -> Finding | None:
    """The final page is a suspension / seizure / parking page, and the control got the same page.

    Such pages are small templates: on a big or wordy page the same words are an article about a
    takedown, so a match counts only up to `takedown_page_max_bytes` and `takedown_max_words`.
    """
    found = sorted(page.matching(TAKEDOWN_SCOPE), key=lambda f: -f.confidence)
    if not found:
        return None
    fp = found[0]
    th = ctx.thresholds
    words = len(visible_words(page.body)) if page.body is not None else 0
    if page.response.body_length > th.takedown_page_max_bytes or words > th.takedown_max_words:
        size = (f"{page.response.body_length} bytes" if page.response.body_length > th.takedown_page_max_bytes
                else f"{words} visible words")
        notes.append(f"The page for {page.hop.url} contains the takedown wording of {fp.name}, but at {size} "
                     "it is a full page (an article, a forum), not a suspension template; it is not called a "
                     "takedown.")
        return None
    said = (f"The probe got {page.describe()}; its {_where(fp)} matches takedown fingerprint {fp.describe()}: "
            "a page shown in place of the site.")
    if cmp.consistent is False:
        notes.append(f"{said} The control got a different page, so it is not served to everyone and is "
                     "not called a takedown.")
        return None
    if cmp.consistent is None:
        return finding("site.takedown", "possible", said, "There is no control page to tell whether everyone "
                       "gets it.", fingerprint=fp.name)
    sure: Confidence = "confirmed" if fp.confidence >= th.fingerprint_confirmed_min else \
        "likely" if fp.confidence >= th.takedown_likely_min else "possible"
    return finding("site.takedown", sure, said, f"The control got the same page ({'; '.join(cmp.matches)}): it "
                   "is served to everyone, the control included. Its host, a registrar or a seizure put it "
                   "there; this network did not.", fingerprint=fp.name)


def _site_refused(pages: Sequence[Page], cmp: Comparison) -> Finding | None:
    page = pages[-1]
    site = page.matching(SITE_SCOPE)
    if not site:
        return None
    said = (f"The probe got {page.describe()}; its {_where(site[0])} matches {site[0].describe()}, a page the "
            "site or its CDN serves by itself.")
    if cmp.consistent:
        return finding("ok", "possible", said, "The control got the same page: the site challenges everyone.")
    if cmp.consistent is None:
        return finding("site.refused", "possible", said, "There is no control page to tell whether only this "
                       "network gets it.", fingerprint=site[0].name)
    return finding("site.refused", "likely", said, *_differences(cmp), fingerprint=site[0].name)


def _judge(view: View, page: Page, cmp: Comparison) -> Finding:
    got = f"The probe got {page.describe()}."
    authentic = (f"It came over TLS valid for {page.hop.host} (and every hop before it), so it is the site's "
                 "own page.")
    if cmp.consistent is None:
        if page.authentic and view.control_http is not None:  # the control answered but failed to fetch
            return finding("ok", "possible", got, authentic, _no_control_page(view))
        return finding("inconclusive", "possible", got, _no_control_page(view),
                       "The page came over TLS valid for its host, so the site looks reachable from here, "
                       "but nothing was compared." if page.authentic else
                       "A page that came over plain HTTP cannot be checked without it.")
    if cmp.consistent:
        differs = f" It differs in: {'; '.join(cmp.mismatches)}." if cmp.mismatches else ""
        return finding("ok", "likely", got, f"It matches the control's page ({'; '.join(cmp.matches)}).{differs}")
    known_fp = page.matching(FP_SCOPE)
    if known_fp:
        return finding("inconclusive", "possible", got, *_differences(cmp),
                       f"It matches the known false positive {known_fp[0].describe()}: a page sites and hosts "
                       "serve themselves, so the difference is not called censorship.")
    if page.authentic:
        if page.response.code in _REFUSAL_STATUSES:
            return finding("site.refused", "possible", got, *_differences(cmp), authentic.replace(
                "so it is the site's own page", "so the site itself refused this network"))
        return finding("ok", "possible", got, *_differences(cmp), authentic.replace(
            "so it is the site's own page", "so the difference is the site's own (personalised or "
            "geo-specific content)"))
    return finding("http.diff", "likely" if len(cmp.mismatches) >= 2 else "possible", got, *_differences(cmp))


def _no_control_page(view: View) -> str:
    ctrl = view.control_http
    if ctrl is not None and ctrl.failure:
        return f"The control could not fetch the URL ({ctrl.failure}), so there is no page to compare."
    why = view.measurement.control_failure
    return "There is no control page to compare with" + (f" ({why})." if why else ".")


def _request_failure(view: View) -> Finding | None:
    hop = view.hops[-1]
    req = hop.request
    m = view.measurement
    if req is not None and req.failure:
        failure = req.failure
        said = (f"The HTTP request for {hop.url} to {endpoint_text(req.ip, req.port)} failed with {failure} "
                f"after {seconds(req.t - req.t0)}.")
    elif view.stop == HTTP_ROUND_TRIP and m.final_failure:
        failure = m.final_failure
        said = f"The measurement stopped after {len(m.requests)} HTTP requests with {failure}."
    else:
        return None
    ctrl = view.control_http
    if ctrl is None:
        return finding("inconclusive", "possible", said, _no_control_page(view))
    if ctrl.failure is None and ctrl.status_code is not None:
        fetched = f"The control fetched the URL ({status_text(ctrl)})."
        if failure in _HTTP_LABELS:
            return finding(_HTTP_LABELS[failure], "likely", said, fetched)
        if failure == failures.TOO_MANY_REDIRECTS:
            return finding("http.diff", "possible", said, fetched)
        return finding("inconclusive", "possible", said, fetched,
                       "This failure is not one censors are known to cause.")
    same = ctrl.failure == failure
    return finding("down", "likely" if same else "possible", said,
                   f"The control's fetch failed {'the same way' if same else 'too'} ({ctrl.failure}).")


# --- comparison with the control's page --------------------------------------------------------------

def _title_similarity(a: str, b: str) -> float:
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa and not wb:
        return 1.0 if a.strip() == b.strip() else 0.0
    return len(wa & wb) / len(wa | wb)


def _host_key(host: str) -> str:
    host = normal_host(host)
    return host[4:] if host.startswith("www.") else host


def _compare(view: View, ctx: ClassifyContext, page: Page) -> Comparison:
    """The final page against the control's: which signals agree, and whether it is the same page.

    Same page: the status agrees (or both are 2xx) and the content does: similar visible text, or
    the same title, or, without a similarity, no title or length disagreement; the site's own
    uncommon headers with a plausible length also say the page came from the site.
    """
    ctrl = view.control_http
    if ctrl is None or ctrl.failure is not None or ctrl.status_code is None:
        return Comparison(None)
    th = ctx.thresholds
    code, ccode = page.response.code, ctrl.status_code
    sim = _similarity(page, ctrl)
    final = split_url(ctrl.final_url) if ctrl.final_url else None  # an unparseable one says nothing
    chost = _host_key(final.hostname or "") if final is not None else None
    signals: list[tuple[str, bool | None, str]] = [
        (f"status {code}", code == ccode or (200 <= code < 300 and 200 <= ccode < 300), f"status {code} vs {ccode}"),
        ("title", _title_ok(page.title, ctrl.title, th.title_similarity_min),
         f"title {quoted(page.title)} vs {quoted(ctrl.title)}"),
        ("body length", _length_ok(page, ctrl.body_length, ctrl.body_is_truncated, th.body_length_proportion_min),
         f"body length {page.response.body_length} vs {ctrl.body_length} bytes"),
        (f"body similarity {sim:.2f}" if sim is not None else "", None if sim is None else sim >= th.similarity_min,
         f"body similarity {sim:.2f}" if sim is not None else ""),
        ("the site's own headers", _headers_ok(page.response.headers, ctrl.headers), "the site's own headers"),
        ("", None if chost is None or chost == _host_key(page.hop.host) else False,
         f"final host {page.hop.host} vs {chost}"),
    ]
    ok = {name: value for name, value, _ in signals}
    title_ok, length_ok, headers_ok = ok["title"], ok["body length"], ok["the site's own headers"]
    if sim is not None:
        content_ok = sim >= th.similarity_min or title_ok is True
    else:
        content_ok = title_ok is not False and length_ok is not False
    content_ok = content_ok or (headers_ok is True and length_ok is not False)
    consistent = content_ok if ok[f"status {code}"] else (sim is not None and sim >= th.similarity_min)
    return Comparison(consistent, tuple(no for _, value, no in signals if value is False),
                      tuple(name for name, value, _ in signals if value is True and name))


def _similarity(page: Page, ctrl: ControlHTTP) -> float | None:
    """Our body's similarity to the control's, from the control's sketch; None without both.

    The same bytes on both sides (the control's hash of its body is ours) make the same sketch,
    hence 1.0 without sketching ours: most pages of an uncensored site are byte for byte the
    control's, and the sketch is the costliest part of judging them.
    """
    if page.body is None or not ctrl.body_minhash:
        return None
    if ctrl.body_sha256 is not None and ctrl.body_sha256 == page.response.body_sha256:
        return 1.0
    return similarity(body_minhash(page.body), ctrl.body_minhash)


def _title_ok(ours: str | None, theirs: str | None, minimum: float) -> bool | None:
    if ours and theirs:
        return _title_similarity(ours, theirs) >= minimum
    return False if ours or theirs else None


def _headers_ok(ours: Sequence[HTTPHeader], theirs: Sequence[HTTPHeader]) -> bool | None:
    """Do the site's uncommon header names (not those every server sends) come back on the probe's page?"""
    mine = {h.name.lower() for h in ours} - GENERIC_HEADERS
    site = {h.name.lower() for h in theirs} - GENERIC_HEADERS
    if not site:
        return None  # nothing distinctive to compare: silence, not a match
    return len(mine & site) * 2 >= len(site)


def _length_ok(page: Page, ctrl_length: int | None, ctrl_truncated: bool, minimum: float) -> bool | None:
    if ctrl_length is None:
        return None
    ours = page.response.body_length
    longest = max(ours, ctrl_length)
    if longest == 0:
        return True
    if min(ours, ctrl_length) / longest >= minimum:
        return True
    shorter_truncated = page.response.body_is_truncated if ours < ctrl_length else ctrl_truncated
    return None if shorter_truncated else False
