"""HTTP rules: blockpage fingerprints (and their false positives), CAPTCHAs and geo-blocks, the page diff,
request failures, and what changes when the page came over TLS valid for its host."""

from __future__ import annotations

import pytest
from test_classify_builders import HOST, IP, SITE_BODY, URL, Build, control_http

HTTP_URL = f"http://{HOST}/"
KZ_BLOCKPAGE = ("<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'><title>Доступ ограничен</title>"
                "</head><body><h1>Доступ к информационному ресурсу ограничен</h1><p>Доступ к данному интернет-ресурсу "
                "ограничен в соответствии с законодательством Республики Казахстан.</p></body></html>").encode()
CF_CHALLENGE = (b"<html><head><title>Attention Required! | Cloudflare</title></head><body><h2>One more step</h2>"
                b"<p>Please complete the security check to access this site.</p>"
                b"<p>Cloudflare Ray ID: 7a1b2c3d4e5f</p></body></html>")
CF_PLEASE_WAIT = b"<html><head><title>Please Wait... | Cloudflare</title></head><body>Checking...</body></html>"
GEOBLOCK = (b"<html><head><title>451: Unavailable in your country</title></head><body><p>We're sorry, this "
            b"service is not available in your region (KZ).</p></body></html>")
NOTICE = b"<html><head><title>Notice</title></head><body><p>This page is not available.</p></body></html>"


def plain(body: bytes = SITE_BODY, status: int = 200, headers: dict[str, str] | None = None) -> Build:
    return Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status, body=body, headers=headers)


def test_injected_blockpage_is_named() -> None:
    v = plain(KZ_BLOCKPAGE, status=403).with_control().verdict()
    assert (v.label, v.confidence, v.blocking, v.accessible) == ("http.blockpage", "confirmed", "http-diff", False)
    assert v.fingerprint == "kz.ru_info_resource_restricted"
    assert "kz.ru_info_resource_restricted" in v.reasons[0]
    assert "status 403 vs 200" in v.reasons[1]


@pytest.mark.parametrize(("body", "name"), [
    (b"<html><body><h1>Access Denied</h1></body></html>", "cp.f_gen_access_denied"),  # vbw: a vague word
    ("<html><body>Доступ к ресурсу ограничен</body></html>".encode(), "kz.ru_resource_restricted"),  # 7 < 8
])
def test_vague_or_weaker_fingerprints_are_likely_not_confirmed(body: bytes, name: str) -> None:
    v = plain(body, status=403).with_control().verdict()
    assert (v.label, v.confidence, v.fingerprint) == ("http.blockpage", "likely", name)


def test_blockpage_fingerprint_in_a_location_header() -> None:
    v = (Build(HTTP_URL).dns().connect(IP, 80)
         .get(HTTP_URL, status=302, body=b"", headers={"Location": "http://www.warning.or.kr"})
         .dns("www.warning.or.kr", "211.43.200.10").connect("211.43.200.10", 80)
         .get("http://www.warning.or.kr", ip="211.43.200.10", body=NOTICE).with_control().verdict())
    assert (v.label, v.fingerprint) == ("http.blockpage", "ooni.kr_2")
    assert "location header" in v.reasons[0]


def test_lab_redirect_to_its_blockpage_host_then_unreachable() -> None:
    # our http_redirect_blockpage: the blockpage host may not even answer; the redirect already tells
    v = (Build(HTTP_URL).dns().connect(IP, 80)
         .get(HTTP_URL, status=302, body=b"", headers={"Location": "http://blocked.kz/?site=selftanu.kz"})
         .dns("blocked.kz", failure="dns_nxdomain_error").with_control()
         .stop("dns_nxdomain_error", "resolve").verdict())
    assert (v.label, v.fingerprint) == ("http.blockpage", "lab.kz_blockpage_redirect")


def test_blockpage_without_control_is_still_confirmed() -> None:
    v = plain(KZ_BLOCKPAGE, status=403).no_control().verdict()
    assert (v.label, v.confidence) == ("http.blockpage", "confirmed")


def test_blockpage_words_on_a_page_the_control_also_gets_are_the_sites_own() -> None:
    article = SITE_BODY.replace(b"</body>", "<p>Сайт заблокирован по решению суда, пишет агентство.</p></body>"
                                .encode())
    v = plain(article).with_control(body=article).verdict()
    assert v.label == "ok"


def test_blockpage_words_over_authentic_https_are_the_sites_own() -> None:
    article = SITE_BODY.replace(b"</body>", "<p>Доступ к ресурсу ограничен</p></body>".encode())
    v = Build().dns().ok_hop(body=article).with_control(body=SITE_BODY).verdict()
    assert v.label == "ok"
    assert not v.fingerprint


def test_known_false_positive_suppresses_a_blockpage_match() -> None:
    body = "<html><body>Страница заблокирована. Ray ID: 12345</body></html>".encode()  # inst row + fp row
    v = plain(body).with_control().verdict()
    assert v.label == "inconclusive"
    assert any("known false positive" in r for r in v.reasons)
    assert not v.blocked


@pytest.mark.parametrize("body", [CF_CHALLENGE, CF_PLEASE_WAIT])
def test_cdn_captcha_over_plain_http_is_the_site_refusing(body: bytes) -> None:
    # OONI cloudflareCAPTCHAWithHTTP; upstream lists "Please Wait... | Cloudflare" as a product blockpage
    v = plain(body, status=403, headers={"Server": "cloudflare", "cf-mitigated": "challenge"}).with_control().verdict()
    assert (v.label, v.blocking, v.accessible) == ("site.refused", False, False)
    assert v.fingerprint and v.fingerprint.startswith("site.")
    assert not v.blocked


def test_cdn_captcha_over_https() -> None:
    v = (Build().dns().ok_hop(status=403, body=CF_CHALLENGE, headers={"cf-mitigated": "challenge"})
         .with_control().verdict())
    assert (v.label, v.confidence, v.blocking) == ("site.refused", "likely", False)


def test_captcha_for_everyone_is_ok() -> None:
    v = plain(CF_CHALLENGE, status=403).with_control(body=CF_CHALLENGE, status=403).verdict()
    assert v.label == "ok"


def test_geoblock_by_the_site() -> None:
    v = Build().dns().ok_hop(status=451, body=GEOBLOCK).with_control().verdict()
    assert (v.label, v.fingerprint) == ("site.refused", "site.geo_region")


def test_refusal_status_over_authentic_https_without_a_fingerprint() -> None:
    v = Build().dns().ok_hop(status=403, body=NOTICE).with_control().verdict()
    assert (v.label, v.confidence) == ("site.refused", "possible")


def test_page_differing_from_the_control_is_http_diff() -> None:
    # our http_blockpage_unknown / OONI httpDiffWithConsistentDNS without a fingerprint
    v = plain(NOTICE).with_control().verdict()
    assert (v.label, v.confidence, v.blocking) == ("http.diff", "likely", "http-diff")
    assert 'title "Notice" vs' in v.reasons[1]


def test_generic_headers_never_make_pages_match() -> None:
    same_headers = {"Content-Type": "text/html", "Content-Length": str(len(SITE_BODY)), "Server": "nginx",
                    "Date": "Thu, 26 Nov 2026 23:20:05 GMT"}
    padded = NOTICE + b" " * (len(SITE_BODY) - len(NOTICE))  # even the length is the same
    v = plain(padded, headers=same_headers).with_control().verdict()
    assert v.label == "http.diff"


def test_dynamic_page_is_still_the_same_page() -> None:
    edited = SITE_BODY.replace(b"story number 3", b"story number 3 (updated 23:21)").replace(
        b"Paragraph 7", b"Breaking: paragraph 7")
    v = plain(edited).with_control().verdict()
    assert v.label == "ok"


def test_different_content_over_authentic_https_is_not_censorship() -> None:
    v = Build().dns().ok_hop(body=NOTICE).with_control().verdict()
    assert (v.label, v.blocking) == ("ok", False)
    assert any("site's own" in r for r in v.reasons)


def test_status_404_for_everyone_is_ok() -> None:
    body = b"<html><title>Not Found</title><body>Not Found</body></html>"
    v = plain(body, status=404).with_control(body=body, status=404).verdict()
    assert v.label == "ok"


@pytest.mark.parametrize(("failure", "label"), [
    ("connection_reset", "http.reset"),
    ("generic_timeout_error", "http.timeout"),
    ("eof_error", "http.eof"),
])
def test_request_failures_where_the_control_fetches(failure: str, label: str) -> None:
    v = (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, failure=failure).with_control()
         .stop(failure, "http_round_trip").verdict())
    assert (v.label, v.confidence, v.blocking) == (label, "likely", "http-failure")
    assert failure in v.reasons[0]


def test_request_failure_for_the_control_too_is_down() -> None:
    v = (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, failure="generic_timeout_error")
         .with_control(http=control_http(failure="generic_timeout_error"))
         .stop("generic_timeout_error", "http_round_trip").verdict())
    assert (v.label, v.confidence) == ("down", "likely")


def test_host_reset_after_a_redirect() -> None:
    short = "https://bit.kz/selftanu-http"
    v = (Build(short).dns("bit.kz", "185.12.10.9").ok_hop(short, ip="185.12.10.9", status=302, body=b"",
                                                          headers={"Location": HTTP_URL})
         .dns(HOST).connect(IP, 80).get(HTTP_URL, failure="connection_reset")
         .with_control(addresses=("185.12.10.9",), http=control_http(redirects=1, final_url=HTTP_URL))
         .stop("connection_reset", "http_round_trip").verdict())
    assert v.label == "http.reset"


def _redirect_loop(control_failure: str | None) -> Build:
    b = Build(HTTP_URL).dns()
    for _ in range(11):
        b.connect(IP, 80).get(HTTP_URL, status=302, body=b"", headers={"Location": HTTP_URL})
    ctrl = control_http(failure=control_failure) if control_failure else control_http()
    return b.with_control(http=ctrl).stop("unknown_failure: stopped after too many redirects", "http_round_trip")


def test_too_many_redirects_everywhere_is_down() -> None:
    v = _redirect_loop("unknown_failure: stopped after too many redirects").verdict()
    assert v.label == "down"


def test_too_many_redirects_only_for_the_probe() -> None:
    v = _redirect_loop(None).verdict()
    assert (v.label, v.confidence) == ("http.diff", "possible")


def test_broken_redirect_everywhere_is_down() -> None:
    v = (plain(b"", status=302, headers={"Location": "http:///broken"})
         .with_control(http=control_http(failure="http_invalid_redirect_location_host"))
         .stop("http_invalid_redirect_location_host", "http_round_trip").verdict())
    assert v.label == "down"


def test_pruned_body_is_said_and_the_rest_still_judged() -> None:
    b = plain(NOTICE).with_control()
    v = b.verdict(bodies={})
    assert v.label == "http.diff"
    assert any("pruned" in r for r in v.reasons)
    # a blockpage whose body is gone can no longer be fingerprinted, but it still differs
    v = plain(KZ_BLOCKPAGE, status=403).with_control().verdict(bodies={})
    assert (v.label, v.fingerprint) == ("http.diff", None)


def test_no_control_plain_http_success_is_inconclusive() -> None:
    # OONI controlFailureWithSuccessfulHTTPWebsite / our block_control_http
    v = plain().no_control().verdict()
    assert (v.label, v.blocking, v.accessible) == ("inconclusive", None, None)
    assert "control helpers unreachable" in " ".join(v.reasons)


def test_no_control_https_success_is_inconclusive_but_says_it_looks_reachable() -> None:
    # our block_control_https: never a verdict without a control, but say what was seen
    v = Build().dns().ok_hop().no_control().verdict()
    assert v.label == "inconclusive"
    assert any("looks reachable" in r for r in v.reasons)


def test_control_could_not_fetch_but_the_probe_got_the_authentic_page() -> None:
    v = Build().dns().ok_hop().with_control(http=control_http(failure="generic_timeout_error")).verdict()
    assert (v.label, v.confidence) == ("ok", "possible")
    v = plain().with_control(http=control_http(failure="generic_timeout_error")).verdict()
    assert v.label == "inconclusive"


def test_doh_only_control_cannot_judge_pages() -> None:
    b = plain()
    b.with_control()
    assert b.control is not None
    b.control = b.control.model_copy(update={"http": None, "endpoints": [], "helper": "doh:https://doh.example/"})
    assert b.verdict().label == "inconclusive"


def test_truncated_bodies_compare_by_what_was_kept() -> None:
    big = SITE_BODY * 20
    v = plain(big).with_control(body=big).verdict()
    assert v.label == "ok"


def test_final_url_on_another_host_counts_as_a_difference() -> None:
    v = plain(NOTICE).with_control(final_url="https://www.selftanu.kz/news").verdict()
    assert v.label == "http.diff"
    v = plain().with_control(final_url=f"http://www.{HOST}/").verdict()
    assert v.label == "ok"


def test_idn_hosts_compare_in_either_spelling() -> None:
    url = "http://яндекс.рф/"
    v = (Build(url).dns("xn--d1acpjx3f.xn--p1ai").connect(IP, 80).get(url).with_control(final_url=url).verdict())
    assert v.label == "ok"
    assert URL  # the builders' default stays https


SITE_HEADERS = {"Content-Type": "text/html", "Content-Length": "5000", "Server": "nginx",
                "X-Drupal-Cache": "HIT", "X-Generator": "Drupal 10", "X-Drupal-Dynamic-Cache": "MISS"}


def test_page_in_another_language_with_the_sites_own_headers_is_the_same_site() -> None:
    translated = SITE_BODY.replace(b"Paragraph", b"\xd0\x90\xd0\xb1\xd0\xb7\xd0\xb0\xd1\x86").replace(
        b"Selftanu - news from Kazakhstan", "Селтану - новости".encode()).replace(b"about", b"o")
    v = plain(translated, headers=SITE_HEADERS).with_control(http=control_http(
        final_url=HTTP_URL, headers=SITE_HEADERS)).verdict()
    assert v.label == "ok"
    assert "the site's own headers" in v.reasons[1]


def test_censor_page_lacks_the_sites_own_headers() -> None:
    v = plain(NOTICE).with_control(http=control_http(final_url=HTTP_URL, headers=SITE_HEADERS)).verdict()
    assert v.label == "http.diff"
    assert "the site's own headers" in v.reasons[1]


def test_generic_headers_alone_say_nothing() -> None:
    generic = {k: v for k, v in SITE_HEADERS.items() if not k.startswith("X-")}
    v = plain(NOTICE, headers=generic).with_control(http=control_http(final_url=HTTP_URL, headers=generic)).verdict()
    assert v.label == "http.diff"


def test_titles_compare_as_the_engine_and_the_helper_made_them() -> None:
    from probe.web.html import extract_title as engine_title

    body = ("<html><head><meta charset='windows-1251'><title>Новости Казахстана</title></head><body>"
            + "Слова новостей сегодня. " * 50 + "</body></html>").encode("cp1251")
    b = plain(body)
    resp = b.requests[-1].response
    assert resp is not None
    b.requests[-1] = b.requests[-1].model_copy(update={"response": resp.model_copy(
        update={"title": engine_title(body)})})
    ctrl = control_http(body=body, final_url=HTTP_URL).model_copy(update={"title": engine_title(body)})
    v = b.with_control(http=ctrl).verdict()
    assert v.label == "ok"
    assert v.reasons[1].startswith("It matches the control's page (status 200; title;")
    assert "differs" not in v.reasons[1]
