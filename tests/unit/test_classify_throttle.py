"""Throttling that completes: the page's hold and rate against the decoy GET and the control's timing."""

from __future__ import annotations

from test_classify_builders import HOST, IP, Build

from probe.models import Verdict

HTTP_URL = f"http://{HOST}/"
HTTPS_URL = f"https://{HOST}/"
PAGE = b"<html><head><title>World Health Organization</title></head><body>" + b"x" * 30000 + b"</body></html>"
BIG_DECOY = b"<html><head><title>Decoy</title></head><body>" + b"d" * 65536 + b"</body></html>"
SMALL_DECOY = b"<html><head><title>Example</title></head><body>small</body></html>"


def _http(*, hold: float, dur: float, decoy: bytes = BIG_DECOY, decoy_hold: float = 0.01,
          decoy_dur: float = 0.03, url: str = HTTP_URL) -> Build:
    https = url.startswith("https")
    b = Build(url).dns().connect(IP, 443 if https else 80)
    if https:
        b.handshake(IP, HOST, dur=0.03)
    return b.get(url, body=PAGE, dur=dur, hold=hold).decoy_get(body=decoy, dur=decoy_dur, hold=decoy_hold)


def _check_figures(v: Verdict) -> None:
    text = " ".join(v.reasons)
    assert "kbit/s" in text and "hold" in text and "x the page's rate" in text, v.reasons


def test_a_page_held_and_paced_for_its_host_is_http_throttled() -> None:
    # the lab's http_throttle_completes: 1 s hold, then ~30 kB at 32 kbit/s; the decoy Host is not slowed
    v = _http(hold=1.0, dur=8.6).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict()
    assert (v.label, v.confidence, v.blocking, v.accessible) == ("http.throttled", "likely", False, True)
    assert not v.blocked
    assert "GET / with Host example.org to the same address" in v.reasons[0]
    assert "32 kbit/s" in v.reasons[0] and "1.0 s hold" in v.reasons[0]
    _check_figures(v)


def test_without_the_control_timing_the_claim_is_only_possible() -> None:
    v = _http(hold=1.0, dur=8.6).with_control(body=PAGE).verdict()
    assert (v.label, v.confidence) == ("http.throttled", "possible")
    assert any("not ruled out" in r for r in v.reasons)


def test_a_site_slow_for_everyone_is_not_throttling() -> None:
    # slow_origin: a 2 s hold the control waited out too, and the decoy name (another site) is fast
    v = _http(hold=2.0, dur=2.05).with_control(body=PAGE, hold_s=2.0, transfer_s=0.01).verdict()
    assert v.label == "ok", v.reasons


def test_a_page_the_site_streams_slowly_to_everyone_is_not_throttling() -> None:
    v = _http(hold=0.05, dur=8.0).with_control(body=PAGE, hold_s=0.05, transfer_s=7.0).verdict()
    assert v.label == "ok", v.reasons


def test_a_small_decoy_page_leaves_the_rate_to_the_control() -> None:
    # In the field the decoy name on a site's address often gets a tiny error page: no rate to compare.
    v = _http(hold=0.02, dur=8.0, decoy=SMALL_DECOY).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict()
    assert v.label == "http.throttled", v.reasons
    assert "control" in v.reasons[1]


def test_a_hold_alone_is_throttling_when_the_decoy_and_the_control_were_not_held() -> None:
    v = _http(hold=1.6, dur=1.62, decoy=SMALL_DECOY).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict()
    assert (v.label, v.confidence) == ("http.throttled", "likely")
    assert "(held)" in v.reasons[0] and "shorter" in v.reasons[0]


def test_a_fast_page_or_a_slow_decoy_is_not_throttling() -> None:
    assert _http(hold=0.02, dur=0.2).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict().label == "ok"
    slow_path = _http(hold=1.0, dur=8.6, decoy_hold=1.0, decoy_dur=17.0)  # the decoy crawls too: the path
    assert slow_path.with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict().label == "ok"


def test_https_paced_by_sni_after_a_fast_handshake_is_tls_throttled() -> None:
    v = _http(hold=0.02, dur=4.0, url=HTTPS_URL).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict()
    assert (v.label, v.blocking) == ("tls.throttled", False)
    assert "SNI and Host" in v.reasons[0]
    _check_figures(v)


def test_a_held_handshake_states_the_page_rates_beside_it() -> None:
    v = (Build().dns().connect().handshake(dur=4.0).decoy(dur=0.02).get(body=PAGE, dur=4.0, hold=0.02)
         .decoy_get(body=BIG_DECOY).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict())
    assert (v.label, v.confidence) == ("tls.throttled", "likely")
    assert "held 4.0 s" in v.reasons[0]
    _check_figures(v)


def test_a_throttled_page_that_a_blockpage_replaces_is_the_block() -> None:
    blockpage = "<html><body>Доступ к информационному ресурсу ограничен</body></html>".encode()
    v = (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, body=blockpage, status=403, dur=3.0, hold=2.0)
         .decoy_get(body=BIG_DECOY).with_control(body=PAGE, hold_s=0.02, transfer_s=0.01).verdict())
    assert v.label == "http.blockpage"
