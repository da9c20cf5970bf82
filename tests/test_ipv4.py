"""IPv4: the golden SYN from ppp-tcp.md §5.1, every drop reason, and fuzzed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.net import ipv4
from modememu.net.checksum import internet_checksum
from modememu.net.ipv4 import (
    PROTO_TCP,
    Ipv4Error,
    Ipv4Packet,
    build_ipv4,
    format_address,
    parse_address,
    parse_ipv4,
)

GOLDEN = bytes.fromhex(
    "4500002c00014000400622bb0a00020f0a000202c000005012345678000000006002ffff57190000020405b4"
)
SRC = bytes([10, 0, 2, 15])
DST = bytes([10, 0, 2, 2])
TCP_SYN = GOLDEN[20:]


def with_header(
    *,
    version_ihl: int = 0x45,
    total_length: int | None = None,
    flags_offset: int = 0x4000,
    options: bytes = b"",
    payload: bytes = b"data",
    fix_checksum: bool = True,
) -> bytes:
    """A datagram with any header field set, its checksum recomputed unless told not to."""
    header_length = 20 + len(options)
    if total_length is None:
        total_length = header_length + len(payload)
    fields = (version_ihl, 0, total_length, 7, flags_offset, 64, PROTO_TCP)
    header = struct.pack("!BBHHHBBH4s4s", *fields, 0, SRC, DST) + options
    if fix_checksum:
        checksum = internet_checksum(header)
        header = header[:10] + checksum.to_bytes(2, "big") + header[12:]
    return header + payload


def drop_reason(data: bytes) -> str:
    with pytest.raises(Ipv4Error) as caught:
        parse_ipv4(data)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def test_golden_syn_is_built_byte_for_byte() -> None:
    assert build_ipv4(SRC, DST, PROTO_TCP, TCP_SYN, ident=1) == GOLDEN


def test_golden_syn_parses() -> None:
    assert parse_ipv4(GOLDEN) == Ipv4Packet(
        src=SRC, dst=DST, protocol=PROTO_TCP, payload=TCP_SYN, ttl=64, ident=1, tos=0
    )


def test_build_fields_and_no_df() -> None:
    data = build_ipv4(SRC, DST, 17, b"xyz", ident=0x1_0005, ttl=5, tos=0x10, dont_fragment=False)
    packet = parse_ipv4(data)
    assert (packet.protocol, packet.ttl, packet.tos, packet.ident) == (17, 5, 0x10, 5)
    assert not packet.dont_fragment
    assert packet.payload == b"xyz"
    assert data[6:8] == b"\x00\x00"


def test_link_padding_after_total_length_is_trimmed() -> None:
    assert parse_ipv4(GOLDEN + b"\x00\x00\x00").payload == TCP_SYN


def test_helper_builds_what_parse_accepts() -> None:
    assert parse_ipv4(with_header()).payload == b"data"


@pytest.mark.parametrize("size", [0, 1, 19])
def test_drop_truncated_header(size: int) -> None:
    assert drop_reason(GOLDEN[:size]) == ipv4.TOO_SHORT


@pytest.mark.parametrize("version", [0, 6, 15])
def test_drop_not_ipv4(version: int) -> None:
    assert drop_reason(with_header(version_ihl=version << 4 | 5)) == ipv4.NOT_IPV4


@pytest.mark.parametrize("ihl", [0, 4])
def test_drop_bad_header_length(ihl: int) -> None:
    assert drop_reason(with_header(version_ihl=0x40 | ihl)) == ipv4.BAD_IHL


@pytest.mark.parametrize(
    "data",
    [
        with_header(total_length=19),  # shorter than the header
        with_header(total_length=25, payload=b"1234"),  # one octet more than arrived
        with_header(version_ihl=0x4F, total_length=40),  # IHL 15 claims 60 octets
        with_header(version_ihl=0x46, total_length=24, payload=b""),  # options cut off
    ],
)
def test_drop_bad_total_length(data: bytes) -> None:
    assert drop_reason(data) == ipv4.BAD_LENGTH


def test_drop_bad_checksum() -> None:
    assert drop_reason(with_header(fix_checksum=False)) == ipv4.BAD_CHECKSUM
    corrupt = bytearray(GOLDEN)
    corrupt[8] ^= 0x01  # TTL
    assert drop_reason(bytes(corrupt)) == ipv4.BAD_CHECKSUM


def test_drop_options() -> None:
    data = with_header(version_ihl=0x46, options=b"\x01\x01\x01\x00")
    assert drop_reason(data) == ipv4.OPTIONS


@pytest.mark.parametrize("flags_offset", [0x2000, 0x0001, 0x1FFF, 0x4000 | 0x00B9, 0x2000 | 0x4000])
def test_drop_fragments(flags_offset: int) -> None:
    assert drop_reason(with_header(flags_offset=flags_offset)) == ipv4.FRAGMENT


def test_checks_come_in_the_documented_order() -> None:
    # A datagram wrong in every way reports the first check only.
    assert drop_reason(with_header(version_ihl=0x63, total_length=3)) == ipv4.NOT_IPV4
    assert drop_reason(with_header(version_ihl=0x43, total_length=3)) == ipv4.BAD_IHL
    assert (
        drop_reason(with_header(total_length=999, flags_offset=0x2000, fix_checksum=False))
        == ipv4.BAD_LENGTH
    )
    assert (
        drop_reason(with_header(version_ihl=0x46, options=bytes(4), fix_checksum=False))
        == ipv4.BAD_CHECKSUM
    )
    assert (
        drop_reason(with_header(version_ihl=0x46, options=bytes(4), flags_offset=0x2000))
        == ipv4.OPTIONS
    )


def test_every_reason_is_distinct() -> None:
    reasons = [
        ipv4.TOO_SHORT,
        ipv4.NOT_IPV4,
        ipv4.BAD_IHL,
        ipv4.OPTIONS,
        ipv4.FRAGMENT,
        ipv4.BAD_LENGTH,
        ipv4.BAD_CHECKSUM,
    ]
    assert len(set(reasons)) == len(reasons)


def test_error_is_a_value_error() -> None:
    assert issubclass(Ipv4Error, ValueError)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_drop(data: bytes) -> None:
    try:
        packet = parse_ipv4(data)
    except Ipv4Error as exc:
        assert exc.reason in {
            ipv4.TOO_SHORT,
            ipv4.NOT_IPV4,
            ipv4.BAD_IHL,
            ipv4.OPTIONS,
            ipv4.FRAGMENT,
            ipv4.BAD_LENGTH,
            ipv4.BAD_CHECKSUM,
        }
    else:
        assert len(packet.src) == len(packet.dst) == 4
        assert len(packet.payload) <= len(data) - 20


@given(
    st.dictionaries(st.integers(0, 19), st.integers(0, 255), max_size=4),
    st.booleans(),
    st.binary(max_size=60),
)
def test_mutated_golden_headers_parse_or_drop(
    changes: dict[int, int], fix_checksum: bool, tail: bytes
) -> None:
    # Mutating a valid header (checksum optionally repaired) reaches the later checks too.
    header = bytearray(GOLDEN[:20])
    for index, value in changes.items():
        header[index] = value
    if fix_checksum:
        header[10:12] = b"\x00\x00"
        header[10:12] = internet_checksum(bytes(header)).to_bytes(2, "big")
    try:
        packet = parse_ipv4(bytes(header) + tail)
    except Ipv4Error:
        return
    assert packet.payload == tail[: packet_length(header) - 20]


def packet_length(header: bytes | bytearray) -> int:
    return int.from_bytes(header[2:4], "big")


datagrams = st.builds(
    Ipv4Packet,
    src=st.binary(min_size=4, max_size=4),
    dst=st.binary(min_size=4, max_size=4),
    protocol=st.integers(0, 255),
    payload=st.binary(max_size=600),
    ttl=st.integers(0, 255),
    ident=st.integers(0, 0xFFFF),
    tos=st.integers(0, 255),
    dont_fragment=st.booleans(),
)


@given(datagrams)
def test_build_then_parse_round_trips(packet: Ipv4Packet) -> None:
    data = build_ipv4(
        packet.src,
        packet.dst,
        packet.protocol,
        packet.payload,
        ident=packet.ident,
        ttl=packet.ttl,
        tos=packet.tos,
        dont_fragment=packet.dont_fragment,
    )
    assert parse_ipv4(data) == packet


def test_build_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="4 octets"):
        build_ipv4(b"\x0a\x00\x02", DST, PROTO_TCP, b"")
    with pytest.raises(ValueError, match="4 octets"):
        build_ipv4(SRC, bytes(16), PROTO_TCP, b"")
    with pytest.raises(ValueError, match="exceeds 65535"):
        build_ipv4(SRC, DST, PROTO_TCP, bytes(65516))
    with pytest.raises(ValueError, match="must be octets"):
        build_ipv4(SRC, DST, PROTO_TCP, b"", ttl=256)
    with pytest.raises(ValueError, match="must be octets"):
        build_ipv4(SRC, DST, PROTO_TCP, b"", tos=-1)
    with pytest.raises(ValueError, match="must be octets"):
        build_ipv4(SRC, DST, 300, b"")


def test_build_accepts_the_largest_datagram() -> None:
    assert len(build_ipv4(SRC, DST, PROTO_TCP, bytes(65515))) == 65535


def test_addresses() -> None:
    assert parse_address("10.0.2.15") == SRC
    assert format_address(SRC) == "10.0.2.15"
    assert format_address(parse_address("255.255.255.255")) == "255.255.255.255"


@pytest.mark.parametrize("text", ["", "10.0.2", "10.0.2.256", "::1", "10.0.2.15 ", "host"])
def test_parse_address_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="not an IPv4 address"):
        parse_address(text)


@pytest.mark.parametrize("addr", [b"", b"\x0a\x00\x02", bytes(16)])
def test_format_address_rejects_bad_length(addr: bytes) -> None:
    with pytest.raises(ValueError, match="4 octets"):
        format_address(addr)
