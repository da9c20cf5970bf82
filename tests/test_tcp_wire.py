"""TCP wire format: the golden SYN, option walking that cannot spin, and sequence space."""

from __future__ import annotations

import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from modememu.net.checksum import internet_checksum, pseudo_header_sum
from modememu.net.ipv4 import PROTO_TCP, build_ipv4, parse_ipv4
from modememu.net.tcp.wire import (
    ACK,
    CWR,
    DEFAULT_MSS,
    ECE,
    FIN,
    MIN_MSS,
    PSH,
    RST,
    SEG_BAD_CHECKSUM,
    SEG_BAD_OFFSET,
    SEG_TOO_SHORT,
    SYN,
    URG,
    TcpError,
    TcpSegment,
    build_tcp,
    flag_names,
    parse_tcp,
    seq_add,
    seq_ge,
    seq_gt,
    seq_le,
    seq_lt,
)

GOLDEN = bytes.fromhex(
    "4500002c00014000400622bb0a00020f0a000202c000005012345678000000006002ffff57190000020405b4"
)
SRC = bytes([10, 0, 2, 15])
DST = bytes([10, 0, 2, 2])
GOLDEN_SYN = TcpSegment(
    src_port=49152, dst_port=80, seq=0x12345678, ack=0, flags=SYN, window=65535, mss=1460
)
MOD = 1 << 32
REASONS = {SEG_TOO_SHORT, SEG_BAD_OFFSET, SEG_BAD_CHECKSUM}

addresses = st.binary(min_size=4, max_size=4)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, MOD - 1)


def with_options(options: bytes, *, flags: int = SYN, payload: bytes = b"") -> bytes:
    """A segment with a raw options area (padded to 32 bits with EOL) and a good checksum."""
    options += bytes(-len(options) % 4)
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", 1024, 80, 1, 0, offset << 4, flags, 512, 0, 0)
    segment = header + options + payload
    checksum = internet_checksum(segment, pseudo_header_sum(SRC, DST, PROTO_TCP, len(segment)))
    return segment[:16] + checksum.to_bytes(2, "big") + segment[18:]


def test_golden_syn_is_built_byte_for_byte() -> None:
    tcp = build_tcp(SRC, DST, GOLDEN_SYN)
    assert tcp == GOLDEN[20:]
    assert build_ipv4(SRC, DST, PROTO_TCP, tcp, ident=1, dont_fragment=True) == GOLDEN


def test_golden_syn_parses_back() -> None:
    packet = parse_ipv4(GOLDEN)
    segment = parse_tcp(packet.src, packet.dst, packet.payload)
    assert segment == GOLDEN_SYN
    assert segment.options_ok
    assert segment.length == 1
    assert segment.has(SYN)
    assert not segment.has(ACK)


def test_checksum_covers_the_pseudo_header() -> None:
    with pytest.raises(TcpError) as caught:
        parse_tcp(SRC, bytes([10, 0, 2, 3]), GOLDEN[20:])
    assert caught.value.reason == SEG_BAD_CHECKSUM
    # verify=False is for segments whose checksum something else already checked
    assert parse_tcp(SRC, bytes([10, 0, 2, 3]), GOLDEN[20:], verify=False) == GOLDEN_SYN


@given(st.integers(20, 43), st.integers(0, 7))
def test_any_flipped_bit_is_a_bad_checksum(index: int, bit: int) -> None:
    corrupt = bytearray(GOLDEN[20:])
    corrupt[index - 20] ^= 1 << bit
    try:
        parse_tcp(SRC, DST, bytes(corrupt))
    except TcpError as exc:
        # flipping a data-offset bit may make the offset itself wrong first
        assert exc.reason in {SEG_BAD_CHECKSUM, SEG_BAD_OFFSET}
    else:
        pytest.fail("a corrupted segment was accepted")


@pytest.mark.parametrize("size", [0, 1, 19])
def test_drop_truncated_header(size: int) -> None:
    with pytest.raises(TcpError) as caught:
        parse_tcp(SRC, DST, GOLDEN[20 : 20 + size])
    assert caught.value.reason == SEG_TOO_SHORT
    assert str(caught.value) == SEG_TOO_SHORT


@pytest.mark.parametrize("offset", [0, 4, 7, 15])
def test_drop_bad_data_offset(offset: int) -> None:
    # 24 octets: offsets 0..4 are below the header, 7 and 15 run past the segment.
    segment = bytearray(GOLDEN[20:])
    segment[12] = offset << 4
    with pytest.raises(TcpError) as caught:
        parse_tcp(SRC, DST, bytes(segment))
    assert caught.value.reason == SEG_BAD_OFFSET


def test_offset_is_checked_before_checksum() -> None:
    segment = bytearray(GOLDEN[20:])
    segment[12] = 0x40
    segment[16] ^= 0xFF
    with pytest.raises(TcpError) as caught:
        parse_tcp(SRC, DST, bytes(segment))
    assert caught.value.reason == SEG_BAD_OFFSET


def test_error_is_a_value_error() -> None:
    assert issubclass(TcpError, ValueError)


def test_round_trip_with_payload_and_wrapping_numbers() -> None:
    segment = TcpSegment(
        src_port=80,
        dst_port=49152,
        seq=MOD + 5,
        ack=-1,
        flags=PSH | ACK,
        window=4096,
        payload=b"hello, world",
        urgent=0,
    )
    parsed = parse_tcp(DST, SRC, build_tcp(DST, SRC, segment))
    assert (parsed.seq, parsed.ack) == (5, MOD - 1)
    assert parsed.payload == b"hello, world"
    assert parsed.mss is None
    assert parsed.length == 12


segments = st.builds(
    TcpSegment,
    src_port=u16,
    dst_port=u16,
    seq=u32,
    ack=u32,
    flags=st.integers(0, 0xFF),
    window=u16,
    payload=st.binary(max_size=300),
    mss=st.none() | st.integers(MIN_MSS, 0xFFFF),
    urgent=u16,
)


@given(addresses, addresses, segments)
def test_build_then_parse_round_trips(src: bytes, dst: bytes, segment: TcpSegment) -> None:
    data = build_tcp(src, dst, segment)
    assert len(data) == 20 + (4 if segment.mss is not None else 0) + len(segment.payload)
    assert parse_tcp(src, dst, data) == segment


@pytest.mark.parametrize(
    "segment",
    [
        TcpSegment(65536, 80, 0, 0, SYN, 0),
        TcpSegment(1, 80, 0, 0, 0x100, 0),
        TcpSegment(1, 80, 0, 0, SYN, -1),
        TcpSegment(1, 80, 0, 0, SYN, 0, mss=0x10000),
        TcpSegment(1, 80, 0, 0, SYN, 0, urgent=0x10000),
    ],
)
def test_build_rejects_out_of_range_fields(segment: TcpSegment) -> None:
    with pytest.raises(ValueError, match="out of range"):
        build_tcp(SRC, DST, segment)


def test_segment_length_counts_syn_and_fin() -> None:
    assert TcpSegment(1, 2, 0, 0, SYN | ACK, 0).length == 1
    assert TcpSegment(1, 2, 0, 0, FIN | ACK, 0, b"abc").length == 4
    assert TcpSegment(1, 2, 0, 0, SYN | FIN, 0, b"ab").length == 4
    assert TcpSegment(1, 2, 0, 0, ACK | RST | PSH | URG, 0, b"ab").length == 2


def test_has_wants_every_bit() -> None:
    segment = TcpSegment(1, 2, 0, 0, SYN | ACK, 0)
    assert segment.has(SYN)
    assert segment.has(SYN | ACK)
    assert not segment.has(SYN | FIN)


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (SYN, "SYN"),
        (SYN | ACK, "SYN, ACK"),
        (FIN | PSH | ACK, "FIN, PSH, ACK"),
        (RST | ACK, "RST, ACK"),
        (SYN | ECE | CWR, "SYN, ECE, CWR"),
        (FIN | SYN | RST | PSH | ACK | URG, "FIN, SYN, RST, PSH, ACK, URG"),
        (0, "<None>"),
    ],
)
def test_flag_names_in_tshark_order(flags: int, text: str) -> None:
    assert flag_names(flags) == text


# --- options ---------------------------------------------------------------


def parse_options(options: bytes, *, flags: int = SYN) -> TcpSegment:
    return parse_tcp(SRC, DST, with_options(options, flags=flags))


def test_no_options_means_no_mss() -> None:
    segment = parse_options(b"")
    assert segment.mss is None
    assert segment.options_ok
    assert DEFAULT_MSS == 536  # what a stack assumes in that case


def test_nops_and_unknown_options_are_skipped() -> None:
    # NOP, NOP, SACK-permitted (4, 2), timestamps (8, 10), MSS 1400
    options = b"\x01\x01\x04\x02\x08\x0a" + bytes(8) + b"\x02\x04\x05\x78"
    segment = parse_options(options)
    assert segment.mss == 1400
    assert segment.options_ok


def test_eol_ends_the_walk() -> None:
    segment = parse_options(b"\x00\x02\x04\x05\xb4")
    assert segment.mss is None
    assert segment.options_ok


def test_mss_is_read_without_syn_too() -> None:
    assert parse_options(b"\x02\x04\x02\x18", flags=ACK).mss == 536


@pytest.mark.parametrize("value", [0, 1, MIN_MSS - 1])
def test_tiny_mss_is_raised_to_the_minimum(value: int) -> None:
    segment = parse_options(b"\x02\x04" + value.to_bytes(2, "big"))
    assert segment.mss == MIN_MSS
    assert segment.options_ok


def test_mss_at_the_minimum_is_kept() -> None:
    assert parse_options(b"\x02\x04\x00\x30").mss == MIN_MSS == 48


@pytest.mark.parametrize(
    "options",
    [
        b"\x02\x00",  # MSS, length 0 (picoTCP CVE-2020-24337)
        b"\x02\x01",  # MSS, length 1
        b"\x05\x00\x02\x04\x05\xb4",  # unknown kind, length 0, before a good MSS
        b"\x05\x01",  # unknown kind, length 1
        b"\x01\x01\x01\x08",  # length 8 runs past the 4-octet area
        b"\x02\xff\x05\xb4",  # overlong MSS (uIP CVE-2020-13988 shape)
        b"\x01\x01\x01\x02",  # kind 2 as the last octet: no length octet
    ],
)
def test_malformed_options_stop_the_walk_and_keep_the_segment(options: bytes) -> None:
    segment = parse_options(options)
    assert not segment.options_ok
    assert segment.mss is None
    assert segment.flags == SYN


@pytest.mark.parametrize("length", [3, 5, 6])
def test_mss_of_the_wrong_length_is_ignored(length: int) -> None:
    options = bytes([2, length]) + b"\x05\xb4\x00\x00"[: length - 2]
    segment = parse_options(options)
    assert segment.mss is None
    assert not segment.options_ok


def test_an_option_before_a_bad_one_still_counts() -> None:
    segment = parse_options(b"\x02\x04\x05\xb4\x09\x00")
    assert segment.mss == 1460
    assert not segment.options_ok


def test_options_are_not_payload() -> None:
    segment = parse_tcp(SRC, DST, with_options(b"\x01\x01\x01\x00", payload=b"xy"))
    assert segment.payload == b"xy"


@given(st.binary(max_size=40), st.integers(0, 0xFF), st.binary(max_size=20))
def test_arbitrary_options_never_raise(options: bytes, flags: int, payload: bytes) -> None:
    segment = parse_tcp(SRC, DST, with_options(options, flags=flags, payload=payload))
    assert segment.payload == payload
    assert segment.mss is None or MIN_MSS <= segment.mss <= 0xFFFF


@given(st.integers(0, 38), st.integers(2, 255), st.integers(0, 255), st.binary(max_size=38))
def test_zero_one_and_overlong_lengths_stop_the_walk(
    nops: int, kind: int, length: int, rest: bytes
) -> None:
    # After some NOPs, an option whose length is 0, 1 or runs past the options area;
    # whatever follows it (even a good MSS) is never read.
    head = b"\x01" * nops + bytes([kind, length])
    options = (head + b"\x02\x04\x05\xb4" + rest)[:40]
    area = len(options) + (-len(options) % 4)
    assume(length < 2 or nops + length > area)
    segment = parse_options(options)
    assert not segment.options_ok
    assert segment.mss is None


@given(st.binary(max_size=80), addresses, addresses, st.booleans())
def test_arbitrary_bytes_parse_or_drop(data: bytes, src: bytes, dst: bytes, verify: bool) -> None:
    try:
        segment = parse_tcp(src, dst, data, verify=verify)
    except TcpError as exc:
        assert exc.reason in REASONS
    else:
        assert len(segment.payload) <= len(data) - 20


@given(st.binary(min_size=20, max_size=80))
def test_arbitrary_bytes_without_verification_only_fail_on_layout(data: bytes) -> None:
    offset = data[12] >> 4
    try:
        parse_tcp(SRC, DST, data, verify=False)
    except TcpError as exc:
        assert exc.reason == SEG_BAD_OFFSET
        assert offset < 5 or offset * 4 > len(data)
    else:
        assert offset >= 5 and offset * 4 <= len(data)


# --- sequence space --------------------------------------------------------


def test_sequence_comparisons_near_the_wrap() -> None:
    top = MOD - 1
    assert seq_lt(top, 0)
    assert seq_lt(top - 10, 5)
    assert seq_gt(5, top - 10)
    assert seq_le(top, 0)
    assert seq_ge(0, top)
    assert not seq_lt(0, top)
    assert not seq_gt(top, 0)
    assert seq_le(7, 7)
    assert seq_ge(7, 7)
    assert not seq_lt(7, 7)
    assert not seq_gt(7, 7)


def test_sequence_comparisons_at_half_the_space() -> None:
    half = 1 << 31
    assert seq_lt(0, half - 1)
    assert seq_gt(0, half + 1)
    # exactly half apart: neither is before the other
    assert not seq_lt(0, half)
    assert not seq_gt(0, half)
    assert not seq_le(0, half)
    assert not seq_ge(0, half)


def test_seq_add_wraps() -> None:
    assert seq_add(MOD - 1, 1) == 0
    assert seq_add(MOD - 2, 5) == 3
    assert seq_add(0, -1) == MOD - 1
    assert seq_add(0x12345678, 1) == 0x12345679


@given(u32, st.integers(1, (1 << 31) - 1))
def test_adding_moves_forward_across_the_wrap(a: int, n: int) -> None:
    b = seq_add(a, n)
    assert seq_lt(a, b)
    assert seq_le(a, b)
    assert seq_gt(b, a)
    assert seq_ge(b, a)
    assert not seq_lt(b, a)
    assert not seq_ge(a, b)


@given(u32, u32)
def test_exactly_one_of_lt_eq_gt_unless_half_apart(a: int, b: int) -> None:
    outcomes = [seq_lt(a, b), a == b, seq_gt(a, b)]
    if (a - b) % MOD == 1 << 31:
        assert outcomes == [False, False, False]
    else:
        assert outcomes.count(True) == 1
        assert seq_le(a, b) == (seq_lt(a, b) or a == b)
        assert seq_ge(a, b) == (seq_gt(a, b) or a == b)


@given(u32, u32, st.integers(-(1 << 40), 1 << 40))
def test_comparisons_only_see_numbers_mod_2_32(a: int, b: int, k: int) -> None:
    assert seq_lt(a, b) == seq_lt(a + k * MOD, b - k * MOD)
    assert seq_le(a, b) == seq_le(a + k * MOD, b)
