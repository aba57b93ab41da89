"""Real loopback servers for the control tests: a throwaway CA, HTTP(S) origins, UDP DNS and DoH.

Imported by the other test_control_* modules; the tests at the bottom check the plumbing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import h11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Reply = tuple[int, list[tuple[str, str]], bytes]
Handler = Callable[[str, str, bytes], Awaitable[Reply]]  # (method, target, body) → reply


@dataclass
class Issued:
    cert: Path
    key: Path


class TestCA:
    """An EC P-256 root that signs leaf certificates for names and IPs, written as PEM files."""

    __test__ = False

    def __init__(self, directory: Path, name: str = "Control Test Root CA") -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                                    critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = directory / "ca.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, label: str, *, names: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        now = dt.datetime.now(dt.UTC)
        cn = (names + ips)[0]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=10))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        issued = Issued(self.directory / f"{label}.pem", self.directory / f"{label}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        return issued

    def server_context(self, issued: Issued) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(issued.cert, issued.key)
        return ctx


@dataclass
class HttpServer:
    """A tiny keep-alive HTTP/1.1 server (TLS when given a context) that calls `handler` per request."""

    handler: Handler
    ssl_context: ssl.SSLContext | None = None
    requests: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, ssl=self.ssl_context)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await _read(conn, reader)
                if request is None:
                    return
                target = request.target.decode()
                self.requests.append(target)
                status, headers, payload = await self.handler(request.method.decode(), target, body)
                headers = [*headers, ("Content-Length", str(len(payload)))]
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (OSError, h11.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _read(conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[h11.Request | None, bytes]:
    request: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, body
        else:
            return None, b""


class Zone:
    """Names → addresses; what the tiny DNS and DoH servers answer (NXDOMAIN for anything else)."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}

    def reply(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        reply = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        if name not in self.records:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            return reply.to_wire()
        wanted = "A" if question.rdtype == dns.rdatatype.A else "AAAA"
        ips = [ip for ip in self.records[name] if (":" in ip) == (wanted == "AAAA")]
        if ips:
            reply.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", wanted, ips))
        return reply.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment,unused-ignore]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.zone.reply(data), addr)


async def start_dns(zone: Zone) -> tuple[asyncio.DatagramTransport, str]:
    """A UDP DNS server on 127.0.0.1; returns the transport and its 'ip:port'."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(zone), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    return transport, f"127.0.0.1:{port}"


def doh_handler(zone: Zone) -> Handler:
    """RFC 8484 POST /dns-query with application/dns-message."""
    async def handle(method: str, target: str, body: bytes) -> Reply:
        if method != "POST" or not target.startswith("/dns-query"):
            return 404, [], b""
        return 200, [("Content-Type", "application/dns-message")], zone.reply(body)
    return handle


def test_ca_issues_a_chain_that_validates(tmp_path: Path) -> None:
    from probe.net.certs import validate_chain

    ca = TestCA(tmp_path)
    leaf = ca.issue("site", names=("site.test",))
    der = x509.load_pem_x509_certificate(leaf.cert.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert validate_chain([der], hostname="site.test", ca_bundle=ca.bundle).failure is None
    assert validate_chain([der], hostname="other.test", ca_bundle=ca.bundle).failure == "ssl_invalid_hostname"


def test_zone_answers_and_refuses() -> None:
    zone = Zone({"site.test": ["127.0.0.1", "::1"]})
    a = dns.message.from_wire(zone.reply(dns.message.make_query("site.test", "A").to_wire()))
    assert [r.address for rr in a.answer for r in rr] == ["127.0.0.1"]
    nx = dns.message.from_wire(zone.reply(dns.message.make_query("nope.test", "A").to_wire()))
    assert nx.rcode() == dns.rcode.NXDOMAIN
