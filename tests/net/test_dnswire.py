"""probe/net/dnswire.py against dnspython: the same query bytes, the same reading of every reply.

Replies are made with dnspython (A, AAAA, CNAME chains, repeated records, mixed TTLs, upper case,
EDNS or not, NXDOMAIN with an SOA, another query's reply) and then mangled (every truncation, seeded
random byte changes); for each, `read_reply` must give exactly what dnspython's own reading gives.
"""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from probe.net import dnswire
from probe.net.dnswire import Query, make_query, read_reply

NAMES = ["example.com", "WWW.Example.KZ", "a.b-c_d.kz.", "xn--80ao21a.xn--80asehdb", "қаз.kz", "x" * 63 + ".kz",
         "a\\.b.kz", "1.2.3.4"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("qtype", ["A", "AAAA"])
def test_the_query_is_dnspythons_byte_for_byte(name: str, qtype: str) -> None:
    query = make_query(name, qtype)
    theirs = dns.message.make_query(name, qtype, use_edns=0, payload=1232, id=query.id)
    theirs.flags |= dns.flags.RD
    assert query.wire == theirs.to_wire()


@pytest.mark.parametrize("name", ["a..kz", "x" * 64 + ".kz", ".".join(["abcdefgh"] * 40)])
def test_a_name_dnspython_refuses_is_refused(name: str) -> None:
    with pytest.raises(dns.exception.DNSException):
        make_query(name, "A")


def _reply(query: Query, *, edns: bool = True, rcode: int = dns.rcode.NOERROR,
           answers: tuple[tuple[str, int, str, str], ...] = (), authority: bool = False) -> bytes:
    msg = dns.message.make_response(query.message())
    if not edns:
        msg.use_edns(False)
    msg.set_rcode(rcode)
    for owner, ttl, rdtype, text in answers:
        msg.answer.append(dns.rrset.from_text(owner, ttl, "IN", rdtype, text))
    if authority:
        msg.authority.append(dns.rrset.from_text("kz.", 900, "IN", "SOA", "ns.kz. admin.kz. 1 2 3 4 5"))
    return msg.to_wire()


def _cases() -> list[tuple[Query, bytes, bool]]:
    """(query, reply, whether it is of the usual shape read without dnspython)."""
    q = make_query("www.example.kz", "A")
    q6 = make_query("WWW.Example.KZ", "AAAA")
    out = [
        (q, _reply(q, answers=(("www.example.kz.", 300, "A", "10.1.2.3"),)), True),
        (q, _reply(q, edns=False, answers=(("www.example.kz.", 300, "A", "10.1.2.3"),
                                           ("www.example.kz.", 300, "A", "10.1.2.4"))), True),
        (q, _reply(q, answers=(("www.example.kz.", 60, "CNAME", "cdn.example.net."),
                               ("cdn.example.net.", 20, "A", "10.9.9.9"), ("CDN.example.net.", 5, "A", "10.9.9.8"),
                               ("cdn.example.net.", 30, "A", "10.9.9.9"))), True),
        (q6, _reply(q6, answers=(("www.example.kz.", 300, "AAAA", "fd00::1"),
                                 ("www.example.kz.", 300, "AAAA", "::ffff:10.1.2.3"))), True),
        (q, _reply(q), True),  # NOERROR, no answer
        (q, _reply(q, rcode=dns.rcode.SERVFAIL), True),
        (q, _reply(q, rcode=dns.rcode.NXDOMAIN, authority=True), True),
        (q6, _reply(q6, authority=True), True),  # no AAAA: NOERROR, the zone's SOA
        (q, _reply(q, answers=(("www.example.kz.", 60, "TXT", '"hello"'),)), False),
        (q, _reply(q, answers=(("www.example.kz.", 60, "CNAME", r"we\(ird\)\032.example."),)), False),
        (q, _reply(make_query("www.example.kz", "A"), answers=(("www.example.kz.", 1, "A", "10.0.0.1"),)), True),
    ]
    usual = _reply(q, answers=(("www.example.kz.", 300, "A", "10.1.2.3"),))
    other_class = usual.replace(b"\xc0\x0c\x00\x01\x00\x01", b"\xc0\x0c\x00\x01\x79\x01")
    assert other_class != usual
    out.append((q, other_class, False))  # an A record of an unknown class: no address (it crashed the step)
    other_question = dns.message.make_response(dns.message.make_query("other.kz", "A", id=q.id))
    out.append((q, other_question.to_wire(), False))
    return out


def _both(data: bytes, query: Query) -> tuple[object, object]:
    return read_reply(data, query), dnswire._read_by_dnspython(data, query)


def test_usual_replies_are_read_without_dnspython_as_dnspython_reads_them() -> None:
    for query, data, usual in _cases():
        ours, theirs = _both(data, query)
        assert ours == theirs
        if usual:
            assert dnswire._read_usual(data, query) == theirs  # no fallback: the fast path read it


def test_mangled_replies_are_read_as_dnspython_reads_them() -> None:
    rng = random.Random(15)
    checked = 0
    for query, data, _ in _cases():
        variants = [data[:n] for n in range(len(data))]
        for _ in range(300):
            mangled = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(mangled))
                what = rng.random()
                if what < 0.6:
                    mangled[at] = rng.randrange(256)
                elif what < 0.8:
                    del mangled[at]
                else:
                    mangled.insert(at, rng.randrange(256))
            variants.append(bytes(mangled))
        for variant in variants:
            ours, theirs = _both(variant, query)
            assert ours == theirs, variant.hex()
            checked += 1
    assert checked > 3000


def test_an_a_record_of_another_class_is_no_address() -> None:
    query, data, _ = _cases()[-2]
    reply = read_reply(data, query)
    assert reply is not None and reply.answers == []
