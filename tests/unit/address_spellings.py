"""Spellings of one volunteer address, shared by the matcher, scrub-before-storage and export tests.

Issue 18 #4: a helper on 192.0.2.2 and an origin echoing it back; every entry below survived the
scrubber before. Each is what some software writes (PTR names, AWS-style hostnames, zero-padded logs,
URL/JSON/HTML escaping, inet_aton's octal and hex, integers) or what a hostile origin would try.
`spell` builds them for any address, for the property-based tests.
"""

from __future__ import annotations

import ipaddress

OWN_V4 = "192.0.2.2"
OWN_V6 = "2001:db8:77::2"

V4_SPELLINGS = [
    "ip-192-0-2-2",
    "ip-192-0-2-2.ec2.internal",
    "192-0-2-2.example.net",
    "192_0_2_2",
    "host_192_000_002_002",
    "192.000.002.002",
    "192.0.2.02",
    "0300.0000.0002.0002",  # octal, as inet_aton and browsers read it
    "0300.0.2.2",
    "0xc0.0x00.0x02.0x02",
    "0xC0.0.0x2.2",
    "192%2E0%2E2%2E2",
    "192%2e0%2e2%2e2",
    "%31%39%32%2E%30%2E%32%2E%32",
    "192%252E0%252E2%252E2",  # encoded twice
    "192\\u002e0\\u002e2\\u002e2",
    "192\\u002E0\\u002E2\\u002E2",
    "\\u0031\\u0039\\u0032.0.2.2",
    "192\\x2e0\\x2e2\\x2e2",
    "192&#46;0&#46;2&#46;2",
    "192&#x2e;0&#x2E;2&#x2e;2",
    "192&#046;0&#046;2&#046;2",
    "192&period;0&period;2&period;2",
    "&#49;&#57;&#50;&#46;&#48;&#46;&#50;&#46;&#50;",
    "192&amp;#46;0&amp;#46;2&amp;#46;2",
    "2.2.0.192.in-addr.arpa",
    "2.2.0.192.IN-ADDR.ARPA.",
    "2-2-0-192.pool.example.kz",
    "3221225986",
    "0xC0000202",
    "0xc0000202",
    "030000001002",
    "::ffff:c000:202",
    "64:ff9b::c000:202",  # NAT64
    "2002:c000:202::1",  # 6to4
]

V6_SPELLINGS = [
    "2001:DB8:77:0:0:0:0:2",
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.7.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    "2001-db8-77--2.ipv6-literal.net",
    "2001%3Adb8%3A77%3A%3A2",
    "2001&#58;db8&#58;77&#58;&#58;2",
    "2001\\u003adb8\\u003a77\\u003a\\u003a2",
    "0x20010db8007700000000000000000002",
    "42540766411426455029438125823443861506",
]

# Where an echo puts the spelling: bare, in prose, in a query string, in JSON, in markup.
CONTEXTS = ["{}", "Your IP is {}.", "/next?ip={}&lang=kk", '{{"client":"{}"}}', "<b>{}</b>"]

# Wide encodings an origin may send: UTF-16 (what browsers decode besides single-byte and UTF-8, with
# or without a byte-order mark) and UTF-32 (JSON under RFC 4627 and Python's json detect it).
WIDE = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]

# Ordinary numbers and neighbours of 192.0.2.2 that must survive the scrubber.
NOT_OURS = [
    "13221225986", "32212259861", "3221225986.5", "1.3221225986", "id3221225986", "3221225986px",
    "0xC00002020", "0xC0000203", "c0000202", "#C0000202", "192.0.2.20", "192.0.2.2.1", "1.192.0.2.2",
    "192-0-2-22", "2192-0-2-2", "192_0_2_23", "2026-12-03", "2.2.0.192", "192.0.2.3.in-addr.arpa",
    "1.2.0.192.in-addr.arpa", "192.0.2", "version 1.2.3.4", "0x1f 0xdeadbeef 3.14159",
]


def reversed_v4(ip: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(ip.packed[::-1])
