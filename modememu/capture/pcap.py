"""Classic libpcap files that Wireshark and tshark decode: PPP with direction, and raw IPv4.

PPP goes in link type 204 (LINKTYPE_PPP_WITH_DIR): each record is one
direction octet (0 received, 1 sent) and the frame from FF 03 on, without flags
or FCS. tshark decodes LCP, IPCP, PAP, CHAP, IP and TCP from it and shows
Sent/Received. SLIP has no usable link type (8 is not decoded), so SLIP packets
go in link type 101 (LINKTYPE_RAW): the bare IPv4 datagram, checksums
checkable. See ppp-tcp.md §6.2.

The builders are pure; the writers only call `write` on a binary stream the
caller opened (and flush it, so a capture can be read while it grows).
Timestamps are seconds since the epoch as the caller reckons them (the driver
adds a wall-clock offset to its monotonic clock), written in microseconds.

Secrets never reach a capture (DESIGN.md §8): the PPP writer overwrites the
password of a PAP Authenticate-Request with asterisks of the same length, so
the packet still decodes. CHAP puts no secret on the wire.
"""

from __future__ import annotations

import struct
from typing import Protocol

from modememu.link.ppp import wire
from modememu.link.ppp.pap import hide_password

LINKTYPE_RAW = 101
LINKTYPE_PPP_WITH_DIR = 204
SNAPLEN = 65535
MAGIC = 0xA1B2C3D4  # microsecond timestamps
VERSION = (2, 4)

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
_ADDRESS_CONTROL = b"\xff\x03"
_RECEIVED, _SENT = b"\x00", b"\x01"
_PAP = wire.PAP.to_bytes(2, "big")


class BinaryStream(Protocol):
    """What a writer needs from the file the driver opened."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


def pcap_header(linktype: int, snaplen: int = SNAPLEN) -> bytes:
    """The 24-octet file header (little-endian, microsecond resolution)."""
    return _FILE_HEADER.pack(MAGIC, *VERSION, 0, 0, snaplen, linktype)


def pcap_record(time: float, data: bytes, snaplen: int = SNAPLEN) -> bytes:
    """One record: header with the time in whole microseconds, then `data` cut at `snaplen`."""
    if time < 0:
        raise ValueError(f"a pcap timestamp cannot be negative: {time}")
    seconds, micros = divmod(round(time * 1_000_000), 1_000_000)
    kept = data[:snaplen]
    return _RECORD_HEADER.pack(seconds, micros, len(kept), len(data)) + kept


def ppp_frame(protocol: int, info: bytes) -> bytes:
    """FF 03, the protocol in two octets, the information field: what tshark expects."""
    if not 0 <= protocol <= 0xFFFF:
        raise ValueError(f"a PPP protocol number is 16 bits, not {protocol:#x}")
    return _ADDRESS_CONTROL + protocol.to_bytes(2, "big") + info


def expand_frame(frame: bytes) -> bytes:
    """A de-stuffed frame (no FCS) with ACFC and PFC undone: FF 03 and a 2-octet protocol.

    Octets that do not look like a PPP header are kept as they are: tshark then
    flags the record, which is the truth about what was on the line.
    """
    body = frame[2:] if frame[:2] == _ADDRESS_CONTROL else frame
    if body[:1] and body[0] & 1:  # a one-octet protocol field (PFC)
        body = b"\x00" + body
    return _ADDRESS_CONTROL + body


def ppp_with_dir(sent: bool, frame: bytes) -> bytes:
    """A link type 204 record body: the direction octet and the frame."""
    return (_SENT if sent else _RECEIVED) + frame


class _PcapWriter:
    def __init__(self, stream: BinaryStream, linktype: int, snaplen: int) -> None:
        self._stream = stream
        self._snaplen = snaplen
        stream.write(pcap_header(linktype, snaplen))
        stream.flush()

    def _record(self, time: float, data: bytes) -> None:
        self._stream.write(pcap_record(time, data, self._snaplen))
        self._stream.flush()


class PppPcapWriter(_PcapWriter):
    """PPP frames in both directions into a link type 204 pcap."""

    def __init__(self, stream: BinaryStream, snaplen: int = SNAPLEN) -> None:
        super().__init__(stream, LINKTYPE_PPP_WITH_DIR, snaplen)

    def frame(self, time: float, sent: bool, frame: bytes) -> None:
        """A de-stuffed frame without FCS, compressed (ACFC/PFC) or not."""
        frame = expand_frame(frame)
        if frame[2:4] == _PAP:
            frame = frame[:4] + hide_password(frame[4:])
        self._record(time, ppp_with_dir(sent, frame))

    def packet(self, time: float, sent: bool, protocol: int, info: bytes) -> None:
        """A packet as the session sees it (an HdlcFrame's protocol and info)."""
        if protocol == wire.PAP:
            info = hide_password(info)
        self._record(time, ppp_with_dir(sent, ppp_frame(protocol, info)))


class SlipPcapWriter(_PcapWriter):
    """SLIP packets (IPv4 datagrams) into a link type 101 pcap; no direction."""

    def __init__(self, stream: BinaryStream, snaplen: int = SNAPLEN) -> None:
        super().__init__(stream, LINKTYPE_RAW, snaplen)

    def packet(self, time: float, packet: bytes) -> None:
        self._record(time, packet)
