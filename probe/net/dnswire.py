"""DNS queries and replies on the wire: the common case read directly, everything else by dnspython.

Building a dnspython message for each query and parsing each reply into its object model cost more
CPU than any other part of a DNS step. `make_query` builds the bytes dnspython's
`make_query(name, type, use_edns=0, payload=1232)` with RD builds, byte for byte; `read_reply` reads
a reply to it. A reply of the usual shape (one question, our own; A, AAAA and CNAME answers of class
IN; at most an SOA as authority, as a negative answer has; at most an OPT record without options;
names compressed only towards names read before) is read here, as dnspython reads it: owners'
records grouped into sets in order of first appearance, repeated records dropped, a set's TTL its
smallest. Any other reply, including every malformed one, goes to dnspython, so the answer is
always the one dnspython gives (tests/net/test_dnswire.py compares both on generated and mangled
replies).
This module does no I/O and keeps no state between calls.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import dns.entropy
import dns.exception
import dns.flags
import dns.ipv4
import dns.ipv6
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

_A, _AAAA, _CNAME, _SOA, _OPT = 1, 28, 5, 6, 41
_CLASS_IN = 1
_RD, _QR = 0x0100, 0x8000
# Names made only of these characters need no escaping, IDNA or dnspython to be put on the wire.
_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?")
_PLAIN_LABEL = re.compile(rb"[A-Za-z0-9_-]+")
_OPT_RR = b"\x00" + struct.pack("!HHIH", _OPT, 1232, 0, 0)  # EDNS0, 1232-byte payload, no options
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_MAX_HOPS = 8  # dnspython allows 16 compression pointers in a chain; longer ones go to it


@dataclass(frozen=True)
class Query:
    id: int
    wire: bytes
    qname: bytes  # the question name's wire form, lower-cased (names compare case-insensitively)
    qtype: int

    def message(self) -> dns.message.Message:
        """The query as a dnspython message (only for a reply `read_reply` leaves to dnspython)."""
        return dns.message.from_wire(self.wire)


@dataclass(frozen=True)
class Reply:
    rcode: dns.rcode.Rcode
    answers: list[tuple[str, str, int]]  # (A | AAAA | CNAME, address or target name, ttl) in reply order


@dataclass
class _RRset:
    ttl: int
    records: dict[bytes, tuple[str, str]]  # what makes two records the same → (type, text), first kept


class _Unusual(Exception):
    """Not the usual shape: dnspython reads this reply."""


def make_query(hostname: str, query_type: str) -> Query:
    """The query for `hostname`; raises what dnspython raises for a name it cannot ask for."""
    qtype = int(dns.rdatatype.from_text(query_type))
    if len(hostname.rstrip(".")) <= 253 and _PLAIN_NAME.fullmatch(hostname):
        labels = hostname.rstrip(".").encode("ascii").split(b".")
        qname = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    else:
        qname = dns.name.from_text(hostname).to_wire() or b""
    qid = dns.entropy.random_16()
    wire = _HEADER.pack(qid, _RD, 1, 0, 0, 1) + qname + struct.pack("!HH", qtype, _CLASS_IN) + _OPT_RR
    return Query(id=qid, wire=wire, qname=qname.lower(), qtype=qtype)


def read_reply(data: bytes, query: Query) -> Reply | None:
    """A reply to `query`, or None for junk or another query's reply."""
    try:
        return _read_usual(data, query)
    except (_Unusual, IndexError, struct.error):
        return _read_by_dnspython(data, query)


def _read_by_dnspython(data: bytes, query: Query) -> Reply | None:
    try:
        reply = dns.message.from_wire(data)
    except (dns.exception.DNSException, ValueError, IndexError):
        return None
    if not query.message().is_response(reply):
        return None
    answers: list[tuple[str, str, int]] = []
    for rrset in reply.answer:
        for rdata in rrset:
            if rdata.rdclass != dns.rdataclass.IN and rdata.rdtype != dns.rdatatype.CNAME:
                continue  # an A record of another class is no address (and crashed the step before)
            if rdata.rdtype == dns.rdatatype.A:
                answers.append(("A", rdata.address, rrset.ttl))
            elif rdata.rdtype == dns.rdatatype.AAAA:
                answers.append(("AAAA", rdata.address, rrset.ttl))
            elif rdata.rdtype == dns.rdatatype.CNAME:
                answers.append(("CNAME", rdata.target.to_text(), rrset.ttl))
    return Reply(rcode=reply.rcode(), answers=answers)


def _read_usual(data: bytes, query: Query) -> Reply | None:
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data, 0)
    if not flags & _QR or qid != query.id or (flags >> 11) & 0xF != 0:
        return None  # not a response, another query's, or another opcode: dnspython says so too
    if qdcount != 1 or nscount > 1 or arcount > 1:
        raise _Unusual
    known: dict[int, tuple[tuple[bytes, ...], int]] = {}
    end = 12 + len(query.qname)
    if data[12:end].lower() != query.qname or data[end:end + 4] != struct.pack("!HH", query.qtype, _CLASS_IN):
        raise _Unusual
    _name(data, 12, known)  # only to learn where its labels start (compression may point there)
    pos = end + 4
    sets: dict[tuple[tuple[bytes, ...], int], _RRset] = {}  # by (owner, type), in order of first appearance
    for _ in range(ancount):
        owner, pos = _name(data, pos, known)
        rdtype, rdclass, ttl, rdlen = _RR.unpack_from(data, pos)
        pos += _RR.size
        if rdclass != _CLASS_IN or pos + rdlen > len(data):
            raise _Unusual
        key, value = _rdata(data, pos, rdtype, rdlen, known)
        pos += rdlen
        ttl = 0 if ttl > 0x7FFFFFFF else ttl
        rrset = sets.setdefault((tuple(label.lower() for label in owner), rdtype), _RRset(ttl, {}))
        rrset.ttl = min(ttl, rrset.ttl)
        if rdtype == _CNAME and rrset.records:
            raise _Unusual  # a second CNAME for one owner replaces the first in dnspython
        rrset.records.setdefault(key, value)
    if nscount:
        pos = _soa(data, pos, known)
    ext_rcode = 0
    if arcount:
        if data[pos] != 0:
            raise _Unusual
        rdtype, _payload, ednsflags, rdlen = _RR.unpack_from(data, pos + 1)
        pos += 1 + _RR.size
        if rdtype != _OPT or rdlen != 0:
            raise _Unusual
        ext_rcode = ednsflags >> 24
    if pos != len(data) or ext_rcode:
        raise _Unusual
    answers = [(kind, text, rrset.ttl) for rrset in sets.values() for kind, text in rrset.records.values()]
    return Reply(rcode=dns.rcode.from_flags(flags, 0), answers=answers)


def _soa(data: bytes, pos: int, known: dict[int, tuple[tuple[bytes, ...], int]]) -> int:
    """Read past an SOA record (a negative answer's authority), checked as dnspython checks it."""
    _, pos = _name(data, pos, known)
    rdtype, rdclass, _, rdlen = _RR.unpack_from(data, pos)
    pos += _RR.size
    rdlen = int(rdlen)
    if rdtype != _SOA or rdclass != _CLASS_IN:
        raise _Unusual
    _, at = _name(data, pos, known)  # the primary server's name
    _, at = _name(data, at, known)  # the responsible mailbox
    if at + 20 != pos + rdlen or pos + rdlen > len(data):
        raise _Unusual
    return pos + rdlen


def _rdata(data: bytes, pos: int, rdtype: int, rdlen: int,
           known: dict[int, tuple[tuple[bytes, ...], int]]) -> tuple[bytes, tuple[str, str]]:
    """(what makes two records the same, (type, text)) of an A, AAAA or CNAME record's data."""
    raw = data[pos:pos + rdlen]
    if rdtype == _A and rdlen == 4:
        return raw, ("A", dns.ipv4.inet_ntoa(raw))
    if rdtype == _AAAA and rdlen == 16:
        return raw, ("AAAA", dns.ipv6.inet_ntoa(raw))
    if rdtype == _CNAME:
        target, end = _name(data, pos, known)
        if end != pos + rdlen or len(target) < 2 or not all(_PLAIN_LABEL.fullmatch(t) for t in target[:-1]):
            raise _Unusual  # the root, or a name whose text dnspython escapes
        text = b".".join(target).decode("ascii")
        return text.lower().encode("ascii"), ("CNAME", text)
    raise _Unusual


def _name(data: bytes, pos: int, known: dict[int, tuple[tuple[bytes, ...], int]]) -> tuple[tuple[bytes, ...], int]:
    """(labels ending with b"", offset after the name); a pointer may only lead to where a name read
    before has a label (so it points backwards, at bytes that are not this name's)."""
    labels: list[bytes] = []
    starts: list[tuple[int, int]] = []
    hops = 0
    while True:
        count = data[pos]
        if count == 0:
            labels.append(b"")
            pos += 1
            break
        if count < 64:
            if pos + 1 + count > len(data):
                raise _Unusual
            starts.append((pos, len(labels)))
            labels.append(data[pos + 1:pos + 1 + count])
            pos += 1 + count
        elif count >= 192:
            target = ((count & 0x3F) << 8) | data[pos + 1]
            suffix = known.get(target)
            if suffix is None or suffix[1] + 1 > _MAX_HOPS:
                raise _Unusual
            labels.extend(suffix[0])
            hops = suffix[1] + 1
            pos += 2
            break
        else:
            raise _Unusual
    if sum(len(label) + 1 for label in labels) > 255:
        raise _Unusual
    full = tuple(labels)
    for offset, index in starts:
        known[offset] = (full[index:], hops)
    return full, pos
