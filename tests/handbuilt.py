"""Hand-built IPv4 + TCP segments for interop tests, until modememu has its own TCP stack.

Kept deliberately dumb and separate from the project code, so a test that puts
these packets on the line checks the peer, not our own stack against itself.
Layout and checksums follow RFC 791 §3.1, RFC 1071 and RFC 9293 §3.1; `syn()`
reproduces the tshark-checked vector in ppp-tcp.md §5.1 byte for byte.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20

PROTO_TCP = 6
_IP_HEADER = struct.Struct("!BBHHHBBH4s4s")
_TCP_HEADER = struct.Struct("!HHIIBBHHH")
_DONT_FRAGMENT = 0x4000


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum: complemented ones'-complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _addr(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def _pseudo_header(src: bytes, dst: bytes, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, PROTO_TCP, length)


def segment(
    src: str,
    sport: int,
    dst: str,
    dport: int,
    *,
    seq: int,
    ack: int = 0,
    flags: int = ACK,
    window: int = 65535,
    options: bytes = b"",
    payload: bytes = b"",
    ip_id: int = 1,
    ttl: int = 64,
) -> bytes:
    """One IPv4 datagram (DF set, no IP options) carrying one TCP segment."""
    if len(options) % 4:
        raise ValueError("TCP options must be padded to a multiple of 4 octets")
    offset = (5 + len(options) // 4) << 4
    header = _TCP_HEADER.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                              offset, flags, window, 0, 0)  # fmt: skip
    tcp = header + options + payload
    source, destination = _addr(src), _addr(dst)
    tcp_sum = checksum(_pseudo_header(source, destination, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", tcp_sum) + tcp[18:]
    ip = _IP_HEADER.pack(0x45, 0, 20 + len(tcp), ip_id, _DONT_FRAGMENT, ttl, PROTO_TCP, 0,
                         source, destination)  # fmt: skip
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def syn(src: str, sport: int, dst: str, dport: int, isn: int, *, mss: int = 1460) -> bytes:
    """An active-open SYN: window 65535, one option (MSS)."""
    return segment(src, sport, dst, dport, seq=isn, flags=SYN,
                   options=struct.pack("!BBH", 2, 4, mss))  # fmt: skip


class TcpSegment(NamedTuple):
    """What `parse_tcp` read; the first seven fields unpack like a tuple."""

    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    mss: int | None  # the MSS option, when present
    payload: bytes
    ip_checksum_ok: bool
    tcp_checksum_ok: bool

    def has(self, flags: int) -> bool:
        """Whether all of `flags` are set."""
        return self.flags & flags == flags


def parse_tcp(packet: bytes) -> TcpSegment:
    """Read an IPv4/TCP datagram; raises ValueError when it is not one (checksums are reported)."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise ValueError(f"not IPv4: {packet[:20].hex()}")
    ihl = (packet[0] & 0x0F) * 4
    _, _, total, _, _, _, proto, _, src, dst = _IP_HEADER.unpack_from(packet)
    if proto != PROTO_TCP:
        raise ValueError(f"IP protocol {proto}, not TCP")
    if ihl < 20 or total > len(packet) or total < ihl + 20:
        raise ValueError(f"bad IPv4 lengths: IHL {ihl}, total {total}, have {len(packet)}")
    tcp = packet[ihl:total]
    sport, dport, seq, ack, offset_byte, flags, window, _, _ = _TCP_HEADER.unpack_from(tcp)
    offset = (offset_byte >> 4) * 4
    if offset < 20 or offset > len(tcp):
        raise ValueError(f"bad TCP data offset {offset}")
    return TcpSegment(
        src=str(ipaddress.IPv4Address(src)),
        sport=sport,
        dst=str(ipaddress.IPv4Address(dst)),
        dport=dport,
        seq=seq,
        ack=ack,
        flags=flags,
        window=window,
        mss=_mss(tcp[20:offset]),
        payload=tcp[offset:],
        ip_checksum_ok=checksum(packet[:ihl]) == 0,
        tcp_checksum_ok=checksum(_pseudo_header(src, dst, len(tcp)) + tcp) == 0,
    )


def _mss(options: bytes) -> int | None:
    """The MSS option's value; stops at End of Option List or a malformed length."""
    at = 0
    while at < len(options):
        kind = options[at]
        if kind == 0:
            break
        if kind == 1:
            at += 1
            continue
        if at + 1 >= len(options) or options[at + 1] < 2:
            break
        length = options[at + 1]
        if kind == 2 and length == 4 and at + 4 <= len(options):
            return int.from_bytes(options[at + 2 : at + 4], "big")
        at += length
    return None
