"""Bytes on the wire for the middlebox: TLS ClientHello SNI, original destinations, IPv4/UDP packets.

Pure functions plus two socket helpers; no asyncio and no policy.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same value


def host_matches(host: str, match: str) -> bool:
    """Exact host or a subdomain of it (what the netfilter string rules also catch)."""
    host, match = host.lower().rstrip("."), match.lower().rstrip(".")
    return host == match or host.endswith("." + match)


def original_dst(sock: socket.socket) -> tuple[str, int]:
    """Where a REDIRECTed connection was going (conntrack's original destination)."""
    if sock.family == socket.AF_INET6:
        raw = sock.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
        port = struct.unpack_from("!H", raw, 2)[0]
        return str(ipaddress.IPv6Address(raw[8:24])), port
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack_from("!H", raw, 2)[0]
    return socket.inet_ntoa(raw[4:8]), port


def client_hello_sni(record: bytes) -> str | None:
    """The server_name of a TLS ClientHello record, or None (not a ClientHello / no SNI)."""
    try:
        if record[0] != 0x16 or record[5] != 0x01:
            return None
        pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        pos += 1 + record[pos]  # session id
        pos += 2 + struct.unpack_from("!H", record, pos)[0]  # cipher suites
        pos += 1 + record[pos]  # compression methods
        end = pos + 2 + struct.unpack_from("!H", record, pos)[0]
        pos += 2
        while pos + 4 <= end:
            ext_type, ext_len = struct.unpack_from("!HH", record, pos)
            pos += 4
            if ext_type == 0:  # server_name: list length, type, name length, name
                name_len = struct.unpack_from("!H", record, pos + 3)[0]
                return record[pos + 5:pos + 5 + name_len].decode("ascii", "replace").lower()
            pos += ext_len
    except (IndexError, struct.error):
        return None
    return None


def tls_record_length(head: bytes) -> int:
    """Total length of the TLS record whose 5-byte header is `head`."""
    length: int = struct.unpack_from("!H", head, 3)[0]
    return 5 + length


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    """A complete IPv4 + UDP datagram (for a raw socket: a forged reply from `src`)."""
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    total = 20 + udp_len
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0x1234, 0x4000, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp


def parse_ipv4_udp(packet: bytes) -> tuple[str, int, str, int, bytes] | None:
    """(src, sport, dst, dport, payload) of an IPv4/UDP packet, or None."""
    if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != 17:
        return None
    ihl = (packet[0] & 0x0F) * 4
    sport, dport = struct.unpack_from("!HH", packet, ihl)
    return (socket.inet_ntoa(packet[12:16]), sport, socket.inet_ntoa(packet[16:20]), dport,
            packet[ihl + 8:])


def ipv6_udp(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    """A complete IPv6 + UDP datagram (for a raw socket: a forged reply from `src`); the UDP checksum
    is mandatory over IPv6."""
    udp_len = 8 + len(payload)
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    pseudo = s6 + d6 + struct.pack("!I3xB", udp_len, 17)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    header = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, s6, d6)
    return header + udp


def parse_ipv6_udp(packet: bytes) -> tuple[str, int, str, int, bytes] | None:
    """(src, sport, dst, dport, payload) of an IPv6 packet whose next header is UDP, or None."""
    if len(packet) < 48 or packet[0] >> 4 != 6 or packet[6] != 17:
        return None
    sport, dport = struct.unpack_from("!HH", packet, 40)
    return (socket.inet_ntop(socket.AF_INET6, packet[8:24]), sport,
            socket.inet_ntop(socket.AF_INET6, packet[24:40]), dport, packet[48:])
