"""TCP segment layout (RFC 9293 §3.1), the MSS option, and sequence-number arithmetic.

Parsing never trusts a length from the wire: the option walk takes at most one
step per option octet, so a zero or one length cannot make it spin (picoTCP
CVE-2020-24337, uIP CVE-2020-13988). Bad options do not drop the segment, as in
Linux's tcp_parse_options; `options_ok` records that the walk stopped early.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from modememu.net.checksum import checksum_ok, internet_checksum, ones_sum, pseudo_header_sum
from modememu.net.ipv4 import PROTO_TCP

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80

# Low bit first, the order tshark's Info column uses: "[FIN, PSH, ACK]", "[SYN, ECE, CWR]".
_FLAG_NAMES = (
    (FIN, "FIN"),
    (SYN, "SYN"),
    (RST, "RST"),
    (PSH, "PSH"),
    (ACK, "ACK"),
    (URG, "URG"),
    (ECE, "ECE"),
    (CWR, "CWR"),
)
NO_FLAGS = "<None>"  # what tshark prints for a segment with no flag set

DEFAULT_MSS = 536  # assumed when a SYN carries no MSS option (RFC 9293 MUST-15)
MIN_MSS = 48  # Linux tcp_min_snd_mss: a smaller advertised MSS (even 0) is raised to this

SEG_TOO_SHORT = "truncated TCP header"
SEG_BAD_OFFSET = "bad data offset"
SEG_BAD_CHECKSUM = "bad TCP checksum"

HEADER_LENGTH = 20
OPT_EOL = 0
OPT_NOP = 1
OPT_MSS = 2
MSS_OPTION_LENGTH = 4

SEQ_MOD = 1 << 32
_SEQ_MASK = SEQ_MOD - 1
_SEQ_HALF = 1 << 31

# ports, seq, ack, data offset << 4, flags, window, checksum, urgent pointer
_HEADER = struct.Struct("!HHIIBBHHH")
_MSS_OPTION = struct.Struct("!BBH")


def flag_names(flags: int) -> str:
    """Set flags as tshark names them, low bit first ("SYN, ACK"); "<None>" for none."""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    return ", ".join(names) if names else NO_FLAGS


class TcpError(ValueError):
    """A segment was dropped; `reason` is one of the SEG_* constants."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """One segment, received or to send; `mss` is None when no MSS option is present."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    mss: int | None = None
    urgent: int = 0
    options_ok: bool = True

    @property
    def length(self) -> int:
        """SEG.LEN (RFC 9293 §3.4): SYN and FIN each take a sequence number."""
        return len(self.payload) + bool(self.flags & SYN) + bool(self.flags & FIN)

    def has(self, flag: int) -> bool:
        """True when every bit of `flag` is set."""
        return self.flags & flag == flag


def _walk_options(options: bytes) -> tuple[int | None, bool]:
    """(MSS, options_ok) from an options area; stops at the first malformed option."""
    mss: int | None = None
    ok = True
    end = len(options)
    at = 0
    # Every step advances at least one octet, so len(options) steps is a hard bound.
    for _ in range(end):
        if at >= end:
            break
        kind = options[at]
        if kind == OPT_EOL:
            break
        if kind == OPT_NOP:
            at += 1
            continue
        if at + 1 >= end:
            ok = False  # a kind with no room for its length octet
            break
        length = options[at + 1]
        if length < 2 or at + length > end:
            ok = False
            break
        if kind == OPT_MSS:
            if length == MSS_OPTION_LENGTH:
                mss = max(int.from_bytes(options[at + 2 : at + 4], "big"), MIN_MSS)
            else:
                ok = False  # ignored, as Linux ignores an MSS option of the wrong size
        at += length
    return mss, ok


def parse_tcp(src: bytes, dst: bytes, data: bytes, *, verify: bool = True) -> TcpSegment:
    """Decode the TCP payload of a datagram from `src` to `dst`, or raise TcpError."""
    if len(data) < HEADER_LENGTH:
        raise TcpError(SEG_TOO_SHORT)
    src_port, dst_port, seq, ack, offset, flags, window, _checksum, urgent = _HEADER.unpack_from(
        data
    )
    header_length = (offset >> 4) * 4
    if header_length < HEADER_LENGTH or header_length > len(data):
        raise TcpError(SEG_BAD_OFFSET)
    if verify and not checksum_ok(data, pseudo_header_sum(src, dst, PROTO_TCP, len(data))):
        raise TcpError(SEG_BAD_CHECKSUM)
    mss: int | None = None
    options_ok = True
    if header_length > HEADER_LENGTH:
        mss, options_ok = _walk_options(data[HEADER_LENGTH:header_length])
    return TcpSegment(
        src_port=src_port,
        dst_port=dst_port,
        seq=seq,
        ack=ack,
        flags=flags,
        window=window,
        payload=data[header_length:],
        mss=mss,
        urgent=urgent,
        options_ok=options_ok,
    )


def build_tcp(src: bytes, dst: bytes, seg: TcpSegment) -> bytes:
    """Header (+ MSS option when `seg.mss` is set) + payload, checksummed; seq/ack mod 2**32."""
    options = b""
    try:
        if seg.mss is not None:
            options = _MSS_OPTION.pack(OPT_MSS, MSS_OPTION_LENGTH, seg.mss)
        header_length = HEADER_LENGTH + len(options)
        fields = (
            seg.src_port,
            seg.dst_port,
            seg.seq & _SEQ_MASK,
            seg.ack & _SEQ_MASK,
            (header_length // 4) << 4,
            seg.flags,
            seg.window,
        )
        header = _HEADER.pack(*fields, 0, seg.urgent) + options
    except struct.error as exc:
        raise ValueError(f"TCP field out of range in {seg!r}: {exc}") from exc
    total = pseudo_header_sum(src, dst, PROTO_TCP, header_length + len(seg.payload))
    # The header has even length, so the payload's words stay aligned when summed apart.
    checksum = internet_checksum(seg.payload, ones_sum(header, total))
    return _HEADER.pack(*fields, checksum, seg.urgent) + options + seg.payload


def seq_add(a: int, n: int) -> int:
    """`a + n` in sequence space (`n` may be negative)."""
    return (a + n) & _SEQ_MASK


def seq_lt(a: int, b: int) -> bool:
    """a < b mod 2**32: b is 1 .. 2**31 - 1 ahead of a (RFC 9293 §3.4).

    Numbers exactly 2**31 apart are neither less nor greater, so lt/gt stay
    antisymmetric (Linux's `before` would call each before the other).
    """
    return 0 < (b - a) & _SEQ_MASK < _SEQ_HALF


def seq_le(a: int, b: int) -> bool:
    """a <= b mod 2**32: b is 0 .. 2**31 - 1 ahead of a."""
    return (b - a) & _SEQ_MASK < _SEQ_HALF


def seq_gt(a: int, b: int) -> bool:
    """a > b mod 2**32."""
    return seq_lt(b, a)


def seq_ge(a: int, b: int) -> bool:
    """a >= b mod 2**32."""
    return seq_le(b, a)
