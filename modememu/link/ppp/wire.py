"""Numbers and packet layout shared by every PPP control protocol (RFC 1661 §5, §6).

A control packet is `Code | Identifier | Length (2, incl. header) | Data`; octets
past Length are padding. Configure-* data is a list of options `Type | Length
(incl. both) | Data`. The parsers here never raise on wire input: they return
None (drop the packet) or a flag saying the option list was cut short.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Protocol field values (RFC 1661, 1332, 1334, 1994; pppd's names in the comments).
IP = 0x0021
VJ_COMPRESSED = 0x002D
VJ_UNCOMPRESSED = 0x002F
IPCP = 0x8021
CCP = 0x80FD
LCP = 0xC021
PAP = 0xC023
LQR = 0xC025
CHAP = 0xC223
EAP = 0xC227

PROTOCOL_NAMES = {
    IP: "IP",
    VJ_COMPRESSED: "VJC_COMP",
    VJ_UNCOMPRESSED: "VJC_UNCOMP",
    IPCP: "IPCP",
    CCP: "CCP",
    LCP: "LCP",
    PAP: "PAP",
    LQR: "LQR",
    CHAP: "CHAP",
    EAP: "EAP",
}

# Control packet codes (RFC 1661 §5). 1-7 are common to LCP, IPCP, CCP; 8-11 are LCP only.
CONF_REQ = 1
CONF_ACK = 2
CONF_NAK = 3
CONF_REJ = 4
TERM_REQ = 5
TERM_ACK = 6
CODE_REJ = 7
PROT_REJ = 8
ECHO_REQ = 9
ECHO_REP = 10
DISC_REQ = 11

# pppd's short names for the codes, as its debug log prints them.
CODE_NAMES = {
    CONF_REQ: "ConfReq",
    CONF_ACK: "ConfAck",
    CONF_NAK: "ConfNak",
    CONF_REJ: "ConfRej",
    TERM_REQ: "TermReq",
    TERM_ACK: "TermAck",
    CODE_REJ: "CodeRej",
    PROT_REJ: "ProtRej",
    ECHO_REQ: "EchoReq",
    ECHO_REP: "EchoRep",
    DISC_REQ: "DiscReq",
    12: "Ident",
    13: "TimeRem",
}

HEADER = 4  # code, id, length
_HEADER = struct.Struct("!BBH")


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """One parsed control packet; `data` stops at Length (padding removed)."""

    code: int
    ident: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Option:
    """One configuration option as it appeared on the wire."""

    type: int
    data: bytes

    def encode(self) -> bytes:
        return bytes((self.type, len(self.data) + 2)) + self.data


def parse_packet(info: bytes) -> ControlPacket | None:
    """The packet in a PPP information field, or None when Length is impossible."""
    if len(info) < HEADER:
        return None
    code, ident, length = _HEADER.unpack_from(info)
    if length < HEADER or length > len(info):
        return None
    return ControlPacket(code, ident, bytes(info[HEADER:length]))


def build_packet(code: int, ident: int, data: bytes = b"") -> bytes:
    return _HEADER.pack(code, ident & 0xFF, HEADER + len(data)) + data


def parse_options(data: bytes) -> tuple[list[Option], bool]:
    """The options in a Configure-* packet, and whether they were all well formed.

    An option whose length is below 2 or runs past the end stops the walk (it can
    never loop): the caller drops the packet (RFC 1661) or rejects the rest (pppd).
    """
    options: list[Option] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            return options, False
        length = data[at + 1]
        if length < 2 or at + length > len(data):
            return options, False
        options.append(Option(data[at], bytes(data[at + 2 : at + length])))
        at += length
    return options, True


def encode_options(options: list[Option] | tuple[Option, ...]) -> bytes:
    return b"".join(option.encode() for option in options)
