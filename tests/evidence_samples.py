"""Synthetic measurements (not evidence) for tests of export, verify and the report, and for previews.

They are real `Measurement`, `Artifact` and `Verdict` objects shaped like what the lab produces:
SNI filtering with a working decoy, a DNS NXDOMAIN with its wire reply, a MITM chain from a rogue CA,
an injected blockpage, a TCP timeout and an accessible site. Addresses are lab addresses
(10.77.0.0/16); nothing here touches the network.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from probe.models import (
    Artifact,
    ArtifactRef,
    CertificateValidation,
    ControlEndpoint,
    ControlHTTP,
    ControlResponse,
    DNSAnswer,
    DNSQueryObservation,
    HTTPHeader,
    HTTPObservation,
    HTTPRequest,
    HTTPResponse,
    Measurement,
    ProbeNetwork,
    TCPConnectObservation,
    TLSHandshakeObservation,
    Verdict,
)
from probe.models.control import ControlDNS

Sample = tuple[Measurement, list[Artifact], Verdict]
NETWORK = ProbeNetwork(probe_asn="AS9198", probe_cc="KZ", probe_network_name="JSC Kazakhtelecom",
                       resolver_address="10.77.1.53")
START = datetime(2026, 11, 26, 23, 20, 5, tzinfo=UTC)
BLOCKPAGE = (b"<html><head><title>Access restricted</title></head><body>Access to this resource is "
             b"restricted by decision of the authorized body.</body></html>")


def _cert(subject: str, issuer: str) -> bytes:
    """A small self-issued certificate (EC P-256, generated in microseconds) standing in for a chain."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(START - timedelta(days=1)).not_valid_after(START + timedelta(days=90))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


def _base(url: str, index: int, when: datetime, artifacts: list[Artifact], **fields: object) -> Measurement:
    refs = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)) for a in artifacts]
    return Measurement.model_validate({
        "measurement_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{url}#{index}")),
        "input": url, "category_code": fields.pop("category_code", "NEWS"),
        "test_start_time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "measurement_runtime_s": 10.4,
        "software_version": "0.1.0", "network": NETWORK, "artifacts": refs, **fields})


def _dns(host: str, ip: str) -> DNSQueryObservation:
    return DNSQueryObservation(engine="udp", resolver_address="10.77.1.53:53", hostname=host, query_type="A",
                               t0=0.0, t=0.02, rcode="NOERROR",
                               answers=[DNSAnswer(answer_type="A", ipv4=ip, ttl=300)])


def _get(url: str, host: str) -> HTTPRequest:
    return HTTPRequest(method="GET", url=url, headers=[HTTPHeader(name="Host", value=host)])


def _control(ip: str, *, tls_ok: bool = True, status: int = 200, title: str = "Home") -> ControlResponse:
    return ControlResponse(helper="https://control.lab.example/", dns=ControlDNS(addresses=[ip]),
                           endpoints=[ControlEndpoint(ip=ip, port=443, tls_attempted=True,
                                                      tls_failure=None if tls_ok else "generic_timeout_error",
                                                      cert_valid_for_host=tls_ok)],
                           http=ControlHTTP(status_code=status, title=title, body_length=5120))


def sni_filtered(index: int, when: datetime) -> Sample:
    """selftanu.kz: the handshake with its SNI times out; the decoy SNI to the same address works."""
    host, ip = "selftanu.kz", "10.77.3.10"
    leaf = Artifact.of("x509_der", _cert("example.org", "Lab Root CA"))
    m = _base(f"https://{host}/", index, when, [leaf], category_code="POLR",
              queries=[_dns(host, ip)],
              tcp_connect=[TCPConnectObservation(ip=ip, port=443, t0=0.03, t=0.07)],
              tls_handshakes=[
                  TLSHandshakeObservation(ip=ip, port=443, server_name=host, t0=0.07, t=10.07,
                                          failure="generic_timeout_error"),
                  TLSHandshakeObservation(ip=ip, port=443, server_name="example.org", is_decoy=True,
                                          t0=10.1, t=10.2, tls_version="TLSv1.3",
                                          peer_certificates=[leaf.sha256])],
              control=_control(ip), final_failure="generic_timeout_error", failed_operation="tls_handshake")
    verdict = Verdict(label="tls.timeout", confidence="likely", blocking="http-failure", accessible=False,
                      sni_filtering=True, rules_version="test",
                      reasons=[f"TLS handshake with SNI {host} to {ip}:443 timed out (generic_timeout_error)",
                               "the control completed a TLS handshake with a valid certificate",
                               "a decoy handshake to the same address with SNI example.org succeeded"])
    return m, [leaf], verdict


def dns_nxdomain(index: int, when: datetime) -> Sample:
    host = "who.int"
    wire = Artifact.of("dns_wire", bytes.fromhex("abcd818300010000000000000377686f03696e740000010001"))
    query = DNSQueryObservation(engine="udp", resolver_address="10.77.1.53:53", hostname=host, query_type="A",
                                t0=0.0, t=0.01, rcode="NXDOMAIN", failure="dns_nxdomain_error",
                                raw_reply_sha256=wire.sha256)
    m = _base(f"https://{host}/", index, when, [wire], category_code="PUBH", queries=[query],
              control=_control("10.77.3.20"), final_failure="dns_nxdomain_error", failed_operation="resolve")
    verdict = Verdict(label="dns.nxdomain", confidence="likely", blocking="dns", accessible=False,
                      rules_version="test",
                      reasons=["the resolver 10.77.1.53 answered NXDOMAIN for who.int",
                               "the control resolved who.int to 10.77.3.20"])
    return m, [wire], verdict


def mitm(index: int, when: datetime) -> Sample:
    host, ip = "mail.kz", "10.77.3.30"
    leaf = Artifact.of("x509_der", _cert(host, "Qaznet Trust Network"))
    root = Artifact.of("x509_der", _cert("Qaznet Trust Network", "Qaznet Trust Network"))
    validation = CertificateValidation(ca_bundle="certifi", failure="ssl_unknown_authority",
                                       reason="unable to get local issuer certificate",
                                       leaf_subject=f"CN={host}", leaf_issuer="CN=Qaznet Trust Network",
                                       root_issuer="CN=Qaznet Trust Network")
    m = _base(f"https://{host}/", index, when, [leaf, root], queries=[_dns(host, ip)],
              tcp_connect=[TCPConnectObservation(ip=ip, port=443, t0=0.03, t=0.05)],
              tls_handshakes=[TLSHandshakeObservation(ip=ip, port=443, server_name=host, t0=0.05, t=0.12,
                                                      failure="ssl_unknown_authority", tls_version="TLSv1.3",
                                                      peer_certificates=[leaf.sha256, root.sha256],
                                                      validation=validation)],
              control=_control(ip), final_failure="ssl_unknown_authority", failed_operation="tls_handshake")
    verdict = Verdict(label="tls.mitm", confidence="confirmed", blocking="http-failure", accessible=False,
                      mitm_issuer="CN=Qaznet Trust Network", rules_version="test",
                      reasons=["the certificate chain does not validate against the Mozilla roots "
                               "(issuer CN=Qaznet Trust Network)",
                               "the control received a valid certificate from the same address"])
    return m, [leaf, root], verdict


def blockpage(index: int, when: datetime) -> Sample:
    host, ip = "rferl.org", "10.77.3.40"
    body = Artifact.of("http_body", BLOCKPAGE)
    url = f"http://{host}/"
    hop = HTTPObservation(ip=ip, port=80, scheme="http", t0=0.05, t=0.09,
                          request=_get(url, host),
                          response=HTTPResponse(code=200, body_length=len(BLOCKPAGE), body_sha256=body.sha256,
                                                title="Access restricted",
                                                headers=[HTTPHeader(name="Content-Type", value="text/html"),
                                                         HTTPHeader(name="Content-Encoding", value="gzip")]))
    m = _base(url, index, when, [body], queries=[_dns(host, ip)],
              tcp_connect=[TCPConnectObservation(ip=ip, port=80, t0=0.01, t=0.05)], requests=[hop],
              control=_control(ip, title="RFE/RL"))
    verdict = Verdict(label="http.blockpage", confidence="confirmed", blocking="http-diff", accessible=False,
                      fingerprint="kz_restricted_resource", rules_version="test",
                      reasons=["the body matches the blockpage fingerprint kz_restricted_resource",
                               "the control's page has the title 'RFE/RL'"])
    return m, [body], verdict


def tcp_timeout(index: int, when: datetime) -> Sample:
    host, ip = "vpn.example.kz", "10.77.3.50"
    m = _base(f"https://{host}/", index, when, [], category_code="ANON", queries=[_dns(host, ip)],
              tcp_connect=[TCPConnectObservation(ip=ip, port=443, t0=0.03, t=10.03,
                                                 failure="generic_timeout_error")],
              control=_control(ip), final_failure="generic_timeout_error", failed_operation="connect")
    verdict = Verdict(label="tcp.timeout", confidence="likely", blocking="tcp_ip", accessible=False,
                      rules_version="test",
                      reasons=[f"TCP connect to {ip}:443 timed out; the control connected"])
    return m, [], verdict


def accessible(index: int, when: datetime) -> Sample:
    host, ip = "wikipedia.org", "10.77.3.60"
    page = Artifact.of("http_body", b"<html><head><title>Wikipedia</title></head><body>ok</body></html>")
    url = f"http://{host}/"
    hop = HTTPObservation(ip=ip, port=80, scheme="http", t0=0.05, t=0.2,
                          request=_get(url, host),
                          response=HTTPResponse(code=200, body_length=len(page.data), body_sha256=page.sha256,
                                                title="Wikipedia", headers=[]))
    m = _base(url, index, when, [page], category_code="CULTR", queries=[_dns(host, ip)],
              tcp_connect=[TCPConnectObservation(ip=ip, port=80, t0=0.01, t=0.05)], requests=[hop],
              control=_control(ip, title="Wikipedia"))
    verdict = Verdict(label="ok", confidence="likely", blocking=False, accessible=True, rules_version="test",
                      reasons=["the page matches the control"])
    return m, [page], verdict


def sample_set(rounds: int = 3) -> list[Sample]:
    """`rounds` measurements of each scenario, one round an hour, in time order."""
    makers = (sni_filtered, dns_nxdomain, mitm, blockpage, tcp_timeout, accessible)
    out = []
    for r in range(rounds):
        for k, make in enumerate(makers):
            out.append(make(r, START + timedelta(hours=r, seconds=20 * k)))
    return out
