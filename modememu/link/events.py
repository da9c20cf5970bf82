"""Events of the link framing layer (SLIP, async HDLC): what a monitor shows about bad input.

Good frames are not events: a deframer hands them out through `next_frame()`.
These events tell what went wrong on the line, in the words pppdump and the
Linux drivers use ("aborted packet", "short packet", "bad FCS" ...). A length
is always the number of octets the frame occupied *on the line* (between the
delimiters, before un-escaping), because that is what was received.
"""

from __future__ import annotations

from dataclasses import dataclass

from modememu.events import Event

# FrameDropped.reason values. HDLC (RFC 1662, pppdump wording):
ABORTED = "aborted packet"  # 7D 7E: the sender aborted the frame
SHORT = "short packet"  # fewer than 4 octets after un-escaping
BAD_FCS = "bad FCS"  # FCS-16 residue is not 0xF0B8
OVER_LONG = "over-long packet"  # information field longer than the MRU
BAD_ADDRESS = "bad address/control"  # starts with FF but not FF 03
BAD_PROTOCOL = "bad protocol field"  # protocol field does not end in an odd octet
UNFRAMED = "data before first flag"  # octets seen while hunting for the first flag
# SLIP (RFC 1055):
RUNT = "runt"  # a non-empty frame too short to be a packet (Linux: 2 octets or fewer)
OVER_MTU = "over MTU"  # a packet longer than the MTU
CSLIP = "CSLIP (unsupported)"  # RFC 1144 compressed or uncompressed TCP


@dataclass(frozen=True, slots=True)
class LinkEvent(Event):
    """Base of the link layer's events."""


@dataclass(frozen=True, slots=True)
class FrameDropped(LinkEvent):
    """A frame was received and thrown away; `reason` is one of the constants above."""

    reason: str
    length: int  # octets on the line


@dataclass(frozen=True, slots=True)
class CslipUnsupported(FrameDropped):
    """A SLIP packet with Van Jacobson compression (RFC 1144), which is not supported.

    The first octet says which: 0x80 set is compressed TCP, 0x7_ is uncompressed
    TCP (an IPv4 header with its protocol field replaced by a slot number).
    """

    compressed: bool


@dataclass(frozen=True, slots=True)
class BadEscape(LinkEvent):
    """A SLIP frame held ESC followed by neither ESC_END nor ESC_ESC.

    As RFC 1055's reference receiver and Linux do, the ESC is dropped and the
    octet after it kept; the frame itself is still delivered (or dropped for
    another reason, which has its own event).
    """

    count: int
    length: int  # octets on the line of the frame that held them


@dataclass(frozen=True, slots=True)
class UnescapedControlChars(LinkEvent):
    """An HDLC frame held control characters that the receive ACCM says the peer escapes.

    They are counted and reported; they stay in the frame (so its FCS decides)
    unless the deframer was told to drop them (`dropped`). Dropping is only
    right while the ACCM in force is certain; see test-peers.md.
    """

    count: int
    chars: bytes  # the distinct characters, ascending
    dropped: bool
