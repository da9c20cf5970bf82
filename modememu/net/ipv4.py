"""IPv4 headers (RFC 791 §3.1): just enough to carry TCP over a serial link.

The emulator sends only option-less, unfragmented datagrams and drops any it
cannot handle, naming why: the reason goes into the drop event the user sees.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from modememu.net.checksum import checksum_ok, internet_checksum

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17

# Drop reasons, in the order parse_ipv4 checks them.
TOO_SHORT = "truncated header"
NOT_IPV4 = "not IPv4"
BAD_IHL = "bad header length"
BAD_LENGTH = "bad total length"
BAD_CHECKSUM = "bad header checksum"
OPTIONS = "IP options (unsupported)"
FRAGMENT = "fragment (unsupported)"

HEADER_LENGTH = 20  # IHL 5, the only header this module builds or accepts
MAX_TOTAL_LENGTH = 0xFFFF

_DF = 0x4000
_MF = 0x2000
_OFFSET = 0x1FFF
# version/IHL, TOS, total length, ident, flags/offset, TTL, protocol, checksum, src, dst
_HEADER = struct.Struct("!BBHHHBBH4s4s")


@dataclass(frozen=True, slots=True)
class Ipv4Packet:
    """One received datagram; `src` and `dst` are 4-octet addresses."""

    src: bytes
    dst: bytes
    protocol: int
    payload: bytes
    ttl: int = 64
    ident: int = 0
    tos: int = 0
    dont_fragment: bool = True


class Ipv4Error(ValueError):
    """A datagram was dropped; `reason` is one of this module's reason constants."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_ipv4(data: bytes) -> Ipv4Packet:
    """Decode a datagram or raise Ipv4Error; octets past the total length are link padding."""
    if len(data) < HEADER_LENGTH:
        raise Ipv4Error(TOO_SHORT)
    (
        version_ihl,
        tos,
        total_length,
        ident,
        flags_offset,
        ttl,
        protocol,
        _checksum,
        src,
        dst,
    ) = _HEADER.unpack_from(data)
    if version_ihl >> 4 != 4:
        raise Ipv4Error(NOT_IPV4)
    header_length = (version_ihl & 0x0F) * 4
    if header_length < HEADER_LENGTH:
        raise Ipv4Error(BAD_IHL)
    if total_length < header_length or total_length > len(data):
        raise Ipv4Error(BAD_LENGTH)
    if not checksum_ok(data[:header_length]):
        raise Ipv4Error(BAD_CHECKSUM)
    if header_length > HEADER_LENGTH:
        raise Ipv4Error(OPTIONS)
    if flags_offset & (_MF | _OFFSET):
        raise Ipv4Error(FRAGMENT)
    return Ipv4Packet(
        src=src,
        dst=dst,
        protocol=protocol,
        payload=data[header_length:total_length],
        ttl=ttl,
        ident=ident,
        tos=tos,
        dont_fragment=bool(flags_offset & _DF),
    )


def build_ipv4(
    src: bytes,
    dst: bytes,
    protocol: int,
    payload: bytes,
    *,
    ident: int = 0,
    ttl: int = 64,
    tos: int = 0,
    dont_fragment: bool = True,
) -> bytes:
    """An option-less datagram with its header checksum; `ident` is taken mod 2**16."""
    if len(src) != 4 or len(dst) != 4:
        raise ValueError("IPv4 addresses must be 4 octets")
    total_length = HEADER_LENGTH + len(payload)
    if total_length > MAX_TOTAL_LENGTH:
        raise ValueError(f"IPv4 datagram of {total_length} octets exceeds {MAX_TOTAL_LENGTH}")
    if not (0 <= protocol <= 0xFF and 0 <= ttl <= 0xFF and 0 <= tos <= 0xFF):
        raise ValueError(f"protocol {protocol}, ttl {ttl} and tos {tos} must be octets")
    fields = (
        0x45,
        tos,
        total_length,
        ident & 0xFFFF,
        _DF if dont_fragment else 0,
        ttl,
        protocol,
    )
    checksum = internet_checksum(_HEADER.pack(*fields, 0, src, dst))
    return _HEADER.pack(*fields, checksum, src, dst) + payload


def format_address(addr: bytes) -> str:
    """Dotted quad for a 4-octet address."""
    if len(addr) != 4:
        raise ValueError(f"an IPv4 address is 4 octets, not {len(addr)}")
    return str(ipaddress.IPv4Address(addr))


def parse_address(text: str) -> bytes:
    """The 4 octets of a dotted-quad address; ValueError names the text when it is not one."""
    try:
        return ipaddress.IPv4Address(text).packed
    except ValueError as exc:
        raise ValueError(f"not an IPv4 address: {text!r}") from exc
