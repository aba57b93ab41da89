"""The report's words and structure, without a browser: plain-words evidence, techniques, safety."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from evidence_samples import START, Sample, blockpage, dns_nxdomain, mitm, sample_set, sni_filtered, tcp_timeout

from probe.evidence.explain import Tally, key_evidence
from probe.evidence.report.data import collect
from probe.evidence.report.page import ReportMeta, render_report

META = ReportMeta(generated_at="2026-11-27T10:00:00Z", software_version="0.1.0")


def _tally(samples: list[Sample]) -> Tally:
    tally = Tally(label=samples[0][2].label)
    for m, _, v in samples:
        tally.add(m, v)
    return tally


def _rounds(make: object, n: int) -> list[Sample]:
    from datetime import timedelta

    assert callable(make)
    return [make(i, START + timedelta(hours=i)) for i in range(n)]


def test_sni_filtering_in_plain_words() -> None:
    samples = _rounds(sni_filtered, 12)
    text = key_evidence(_tally(samples), "https://selftanu.kz/", 12)
    assert text.startswith("The TLS handshake with SNI selftanu.kz timed out after the ClientHello on 12 of 12 "
                           "attempts between 26 Nov 2026 23:20 UTC and 27 Nov 2026 10:20 UTC")
    assert "while the uncensored control completed it each time" in text
    assert "A handshake to the same address with another name (example.org) succeeded each time" in text


def test_other_techniques_in_plain_words() -> None:
    mitm_text = key_evidence(_tally(_rounds(mitm, 3)), "https://mail.kz/", 4)
    assert "issued by CN=Qaznet Trust Network" in mitm_text and "on 3 of 4 attempts" in mitm_text
    dns_text = key_evidence(_tally(_rounds(dns_nxdomain, 2)), "https://who.int/", 2)
    assert "The network's DNS resolver (10.77.1.53) said the name does not exist (NXDOMAIN) for who.int" in dns_text
    assert "resolved it to 10.77.3.20" in dns_text
    page = key_evidence(_tally(_rounds(blockpage, 1)), "http://rferl.org/", 1)
    assert "matched the block page kz_restricted_resource" in page and "on 26 Nov 2026 23:20 UTC" in page
    tcp = key_evidence(_tally(_rounds(tcp_timeout, 2)), "https://vpn.example.kz/", 2)
    assert tcp.startswith("Connecting to 10.77.3.50:443 (the site's address) timed out on 2 of 2 attempts")


def test_techniques_table_counts_and_details() -> None:
    data = collect((m, v) for m, _, v in sample_set(3))
    rows = {(r.family, r.detail): (len(r.targets), r.measurements) for r in data.techniques.values()}
    assert rows[("TLS SNI filtering", "")] == (1, 3)
    assert rows[("TLS interception (MITM)", "issuer CN=Qaznet Trust Network")] == (1, 3)
    assert rows[("Block page", "fingerprint kz_restricted_resource")] == (1, 3)
    assert rows[("DNS", "")] == (1, 3) and rows[("TCP/IP", "")] == (1, 3)
    assert len(data.blocked_targets) == 5 and data.count == 18


def test_the_page_is_self_contained_and_escapes_what_it_shows() -> None:
    m, a, v = sni_filtered(0, datetime(2026, 11, 26, tzinfo=UTC))
    hostile = m.model_copy(update={"input": "https://selftanu.kz/<script>alert(1)</script>"})
    html = render_report([(hostile, v)], META)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the report must fetch nothing"
    assert "@media print" in html


def test_networks_are_named_never_addressed() -> None:
    html = render_report(((m, v) for m, _, v in sample_set(1)), META)
    assert "AS9198" in html and "JSC Kazakhtelecom" in html
    assert "never recorded" in html


def test_unclassified_measurements_still_show() -> None:
    m, _, _ = sni_filtered(0, START)
    html = render_report([(m, None)], META)
    assert "not classified" in html and "No blocking was found" in html


def test_an_unidentified_network_is_explained_not_just_shown_as_as0() -> None:
    from probe.models import ProbeNetwork

    named = [(m, v) for m, _, v in sample_set(1)]
    assert "not identified" not in render_report(named, META)
    m, _, v = sni_filtered(0, START)
    unknown = m.model_copy(update={"network": ProbeNetwork()})
    html = render_report([*named, (unknown, v)], META)
    assert "1 measurement(s) show network AS0 / country ZZ" in html and "--asn-db" in html


def test_shutdown_periods_are_drawn_per_network() -> None:
    from datetime import timedelta

    from probe.models.netcheck import NetworkDown, ReachCheck

    down = NetworkDown(checked_at="2026-01-05T10:00:00Z", checks=[
        ReachCheck(kind="control", target="198.18.0.80:443", t0=0, t=5, failure="generic_timeout_error")])
    pairs = []
    for hour in range(6):  # up, down, down, down, up, up
        m, _, v = tcp_timeout(hour, START + timedelta(hours=hour))
        if hour in (1, 2, 3):
            m = m.model_copy(update={"network_down": down})
        pairs.append((m, v))
    html = render_report(pairs, META)
    assert "<h3>Network down</h3>" in html and 'class="outage"' in html
    assert html.count("measurement(s), all inconclusive") == 1  # one period: three runs in a row
    assert "3 measurement(s), all inconclusive" in html
    assert "Network down" not in render_report([(m, v) for m, _, v in sample_set(1)], META)
