"""The classifier as a whole: every label reachable, DESIGN.md's OONI mapping, precedence, purity, API."""

from __future__ import annotations

import ast
import builtins
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_classify_builders import HOST, IP, SITE_BODY, URL, Build, context, control_endpoint, control_http, healthy

import probe.classify as api
from probe.classify.findings import ooni_blocking
from probe.models import VERDICT_LABELS, Verdict
from probe.models.settings import MeasureSettings

HTTP_URL = f"http://{HOST}/"
BLOCKPAGE = "<html><body>Доступ к информационному ресурсу ограничен</body></html>".encode()
NOTICE = b"<html><head><title>Notice</title></head><body>Not here.</body></html>"
OTHER = "185.12.10.9"

# DESIGN.md section 4, exactly.
DESIGN_BLOCKING: dict[str, object] = {
    "ok": False, "down": False,
    "dns.nxdomain": "dns", "dns.servfail": "dns", "dns.refused": "dns", "dns.timeout": "dns",
    "dns.bogon": "dns", "dns.redirect": "dns", "dns.injected": "dns",
    "tcp.timeout": "tcp_ip", "tcp.reset": "tcp_ip", "tcp.refused": "tcp_ip",
    "tls.timeout": "http-failure", "tls.reset": "http-failure", "tls.eof": "http-failure",
    "tls.alert": "http-failure", "tls.mitm": "http-failure", "tls.throttled": False,
    "http.blockpage": "http-diff", "http.diff": "http-diff",
    "http.reset": "http-failure", "http.timeout": "http-failure", "http.eof": "http-failure",
    "http.throttled": False,
    "site.refused": False, "inconclusive": None,
    # Not in DESIGN.md's table (docs/design-changes.md): gone for everyone, like `down`.
    "site.takedown": False, "dns.takedown": False,
}


def _dns_fail(failure: str) -> Build:
    return Build().dns(HOST, failure=failure).with_control().stop(failure, "resolve")


def _tcp(failure: str) -> Build:
    return Build().dns().connect(failure=failure).with_control().stop(failure, "connect")


def _tls(failure: str) -> Build:
    return Build().dns().connect().handshake(failure=failure).decoy().with_control().stop(failure, "tls_handshake")


def _http(failure: str) -> Build:
    return (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, failure=failure).with_control()
            .stop(failure, "http_round_trip"))


def _page(body: bytes, status: int = 200) -> Build:
    return Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status, body=body).with_control()


def _late(ip: str) -> object:
    from probe.models import DNSAnswer, DNSReply

    return DNSReply(t=0.2, rcode="NOERROR", answers=[DNSAnswer(answer_type="A", ipv4=ip)])


# One scenario per label: every label the table names is reachable from a measurement.
SCENARIOS: dict[str, Callable[[], Build]] = {
    "ok": healthy,
    "down": lambda: (Build().dns(HOST, failure="dns_nxdomain_error")
                     .with_control(addresses=(), dns_failure="dns_nxdomain_error")
                     .stop("dns_nxdomain_error", "resolve")),
    "dns.nxdomain": lambda: _dns_fail("dns_nxdomain_error"),
    "dns.servfail": lambda: _dns_fail("dns_servfail_error"),
    "dns.refused": lambda: _dns_fail("dns_refused_error"),
    "dns.timeout": lambda: _dns_fail("generic_timeout_error"),
    "dns.bogon": lambda: (Build().dns(HOST, "0.0.0.0").connect("0.0.0.0", failure="connection_refused")
                          .with_control().stop("connection_refused", "connect")),
    "dns.redirect": lambda: (Build(HTTP_URL).dns(HOST, OTHER).connect(OTHER, 80).get(HTTP_URL, ip=OTHER, body=NOTICE)
                             .with_control()),
    "dns.injected": lambda: (Build(HTTP_URL).dns(HOST, OTHER, late=[_late(IP)])  # type: ignore[list-item]
                             .connect(OTHER, 80).get(HTTP_URL, ip=OTHER).with_control()),
    "tcp.timeout": lambda: _tcp("generic_timeout_error"),
    "tcp.reset": lambda: _tcp("connection_reset"),
    "tcp.refused": lambda: _tcp("connection_refused"),
    "tls.timeout": lambda: _tls("generic_timeout_error"),
    "tls.reset": lambda: _tls("connection_reset"),
    "tls.eof": lambda: _tls("eof_error"),
    "tls.alert": lambda: _tls("ssl_failed_handshake"),
    "tls.mitm": lambda: (Build().dns().connect().handshake(failure="ssl_unknown_authority", issuer="CN=Rogue")
                         .with_control().stop("ssl_unknown_authority", "tls_handshake")),
    "tls.throttled": lambda: Build().dns().connect().handshake(dur=5.0).decoy(dur=0.02).get().with_control(),
    "http.blockpage": lambda: _page(BLOCKPAGE, 403),
    "http.diff": lambda: _page(NOTICE),
    "http.reset": lambda: _http("connection_reset"),
    "http.timeout": lambda: _http("generic_timeout_error"),
    "http.eof": lambda: _http("eof_error"),
    "http.throttled": lambda: (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, dur=2.5, hold=2.4)
                               .decoy_get().with_control(hold_s=0.02, transfer_s=0.01)),
    "site.refused": lambda: Build().dns().ok_hop(status=451, body=b"<p>Not available in your country.</p>")
    .with_control(),
    "site.takedown": lambda: (Build().dns().ok_hop(body=TAKEDOWN_PAGE).with_control(body=TAKEDOWN_PAGE)),
    "dns.takedown": lambda: (Build().dns(HOST, failure="dns_nxdomain_error")
                             .with_control(addresses=(), dns_failure="dns_nxdomain_error")
                             .held("serverHold").stop("dns_nxdomain_error", "resolve")),
    "inconclusive": lambda: healthy().no_control(),
}
TAKEDOWN_PAGE = b"<html><head><title>Seized</title></head><body>This domain has been seized.</body></html>"


def test_every_label_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(VERDICT_LABELS)


@pytest.mark.parametrize("label", VERDICT_LABELS)
def test_every_label_is_reachable_and_mapped_as_design_says(label: str) -> None:
    v = SCENARIOS[label]().verdict()
    assert v.label == label, v.reasons
    assert v.blocking == DESIGN_BLOCKING[label]
    assert ooni_blocking(label) == DESIGN_BLOCKING[label]
    assert v.reasons and all(isinstance(r, str) and r.strip() for r in v.reasons)
    assert v.rules_version.startswith(api.RULES_VERSION)
    assert v.accessible is (None if label == "inconclusive" else v.accessible)
    if v.blocked:
        assert v.accessible is False
    assert Verdict.model_validate_json(v.model_dump_json()) == v


def test_non_censorship_labels_never_count_as_blocked() -> None:
    for label in ("ok", "down", "site.refused", "inconclusive", "tls.throttled", "site.takedown", "dns.takedown"):
        assert not SCENARIOS[label]().verdict().blocked


def test_dns_evidence_comes_first_and_carries_the_blockpage() -> None:
    v = (Build(HTTP_URL).dns(HOST, OTHER).connect(OTHER, 80).get(HTTP_URL, ip=OTHER, status=403, body=BLOCKPAGE)
         .with_control().verdict())
    assert (v.label, v.fingerprint, v.confidence) == ("dns.redirect", "kz.ru_info_resource_restricted", "confirmed")


def test_bogon_then_blockpage_keeps_both() -> None:
    v = (Build(HTTP_URL).dns(HOST, "10.10.34.36").connect("10.10.34.36", 80)
         .get(HTTP_URL, ip="10.10.34.36", body=BLOCKPAGE).with_control().verdict())
    assert (v.label, v.fingerprint) == ("dns.bogon", "ooni.ir_10dot10_ipv4_1")  # Iran's blockpage address
    assert v.reasons[0].startswith("The resolver 10.0.0.53:53 (A) answered 10.10.34.36")
    assert any("kz.ru_info_resource_restricted" in r for r in v.reasons)


def test_classify_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    m = SCENARIOS["http.blockpage"]()
    measurement, bodies = m.measurement(), dict(m.bodies)
    ctx = context()
    before = measurement.model_dump_json()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("classify must not do I/O")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    first = api.classify(measurement, bodies=bodies, context=ctx)
    second = api.classify(measurement, bodies=bodies, context=ctx)
    assert first == second
    assert measurement.model_dump_json() == before


def test_rules_version_names_the_fingerprint_set() -> None:
    ctx = api.make_context(MeasureSettings())
    assert ctx.rules_version.startswith(api.RULES_VERSION + "+fp.")
    assert healthy().verdict(ctx).rules_version == ctx.rules_version


def test_make_context_from_settings(tmp_path: Path) -> None:
    ctx = api.make_context(MeasureSettings(not_bogon=["198.18.0.0/15", "fd77::/16"]))
    assert not ctx.is_bogon("198.18.1.1") and not ctx.is_bogon("fd77:18::1")
    assert ctx.is_bogon("10.0.0.1") and ctx.is_bogon("::ffff:127.0.0.1") and not ctx.is_bogon("64:ff9b::808:808")
    with pytest.raises(ValueError, match="not a CIDR"):  # refused when the settings are made
        MeasureSettings(not_bogon=["nope"])
    with pytest.raises(FileNotFoundError):
        api.make_context(MeasureSettings(fingerprints_dir=tmp_path / "missing"))


def test_public_api() -> None:
    assert {"classify", "make_context", "load_fingerprints", "ClassifyContext", "body_minhash", "similarity",
            "extract_title", "RULES_VERSION"} <= set(api.__all__)
    assert api.ClassifyContext.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_imports_only_models_failures_and_the_stdlib() -> None:
    allowed_probe = ("probe.models", "probe.classify", "probe.failures", "probe.web")  # web: pure page helpers
    for path in Path(api.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name == "probe" and isinstance(node, ast.ImportFrom):
                    assert all(f"probe.{a.name}".startswith(allowed_probe) for a in node.names), path
                elif name.startswith("probe"):
                    assert name.startswith(allowed_probe), f"{path.name} imports {name}"
                else:
                    assert name.split(".")[0] in sys.stdlib_module_names or name == "__future__", \
                        f"{path.name} imports {name}"


def test_reasons_cite_observations_for_the_readme_example() -> None:
    v = (Build().dns(HOST, "198.18.0.10").connect("198.18.0.10").handshake("198.18.0.10", dur=3.0,
                                                                           failure="generic_timeout_error")
         .decoy("198.18.0.10", dur=0.01).with_control(addresses=("198.18.0.10",))
         .stop("generic_timeout_error", "tls_handshake").verdict(context(not_bogon=["198.18.0.0/15"])))
    assert v.label == "tls.timeout" and v.sni_filtering
    assert v.reasons[0] == ("TLS handshake with SNI selftanu.kz to 198.18.0.10:443 failed with "
                            "generic_timeout_error after 3.0 s; the control completed it.")
    assert "with SNI example.org succeeded in 0.01 s" in v.reasons[1]


def test_a_large_plain_http_page_classifies_quickly() -> None:
    import time

    big = SITE_BODY * 100  # ~480 KiB
    b = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, body=big).with_control(body=big)
    m, ctx = b.measurement(), context()
    start = time.perf_counter()
    assert api.classify(m, bodies=b.bodies, context=ctx).label == "ok"
    assert time.perf_counter() - start < 1.0


def test_control_endpoint_helpers_are_used_consistently() -> None:
    # a smoke check of the builders themselves, so a wrong builder cannot make a test pass
    b = healthy()
    assert b.control is not None and b.control.endpoints[0].cert_valid_for_host is True
    assert control_endpoint(tcp_failure="connection_refused").tls_attempted is False
    assert control_http(failure="x").status_code is None
    assert URL.startswith("https://")
