"""Captures: pcap (link types 204 and 101) and pppd record files, checked by tshark and pppdump."""

from __future__ import annotations

import hashlib
import io
import struct
from pathlib import Path

import pytest
from tshark import decode, pppdump, problems

from modememu.capture.pcap import (
    LINKTYPE_PPP_WITH_DIR,
    LINKTYPE_RAW,
    PppPcapWriter,
    SlipPcapWriter,
    expand_frame,
    pcap_header,
    pcap_record,
)
from modememu.capture.pppdump import (
    PppdumpWriter,
    data_records,
    delta_record,
    start_record,
)
from modememu.link import hdlc
from modememu.link.ppp import wire
from modememu.link.ppp.pap import hide_password
from modememu.link.ppp.wire import Option, build_packet, encode_options

START = 1_700_000_000.0
# ppp-tcp.md §5.1: SYN 10.0.2.15:49152 -> 10.0.2.2:80, ISN 0x12345678, MSS 1460.
SYN = bytes.fromhex(
    "4500002c00014000400622bb0a00020f0a000202c000005012345678000000006002ffff57190000020405b4"
)
# ppp-tcp.md §2: LCP ConfReq id=1 <asyncmap 0x0> <magic 0x11223344>, default ACCM.
CONFREQ_INFO = bytes.fromhex("01010010 02060000 0000 0506 11223344")
CONFREQ_WIRE = bytes.fromhex(
    "7e ff 7d 23 c0 21 7d 21 7d 21 7d 20 7d 30 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20"
    " 7d 25 7d 26 7d 31 22 33 44 27 66 7e"
)
PASSWORD = b"s3cret"
CHALLENGE = bytes(range(16))


def opt(kind: int, data: bytes = b"") -> Option:
    return Option(kind, data)


def ip4(text: str) -> bytes:
    return bytes(map(int, text.split(".")))


def pap_request(ident: int, user: bytes, password: bytes) -> bytes:
    return build_packet(1, ident, bytes([len(user)]) + user + bytes([len(password)]) + password)


def exchange() -> list[tuple[bool, int, bytes]]:
    """(sent, protocol, information) for a dial-up session: LCP, PAP, CHAP, IPCP, a SYN."""
    mine = encode_options([opt(2, bytes(4)), opt(5, bytes.fromhex("11223344")), opt(7), opt(8)])
    theirs = encode_options(
        [opt(1, (1500).to_bytes(2, "big")), opt(3, b"\xc0\x23"), opt(5, b"\x55\x66\x77\x88")]
    )
    response = hashlib.md5(b"\x02" + PASSWORD + CHALLENGE).digest()
    return [
        (True, wire.LCP, build_packet(wire.CONF_REQ, 1, mine)),
        (False, wire.LCP, build_packet(wire.CONF_REQ, 1, theirs)),
        (True, wire.LCP, build_packet(wire.CONF_ACK, 1, theirs)),
        (False, wire.LCP, build_packet(wire.CONF_ACK, 1, mine)),
        (True, wire.PAP, pap_request(1, b"dialer", PASSWORD)),
        (False, wire.PAP, build_packet(2, 1, b"\x07Welcome")),
        (False, wire.CHAP, build_packet(1, 2, bytes([16]) + CHALLENGE + b"isp")),
        (True, wire.CHAP, build_packet(2, 2, bytes([16]) + response + b"dialer")),
        (False, wire.CHAP, build_packet(3, 2, b"Access granted")),
        (True, wire.IPCP, build_packet(wire.CONF_REQ, 1, opt(3, bytes(4)).encode())),
        (False, wire.IPCP, build_packet(wire.CONF_NAK, 1, opt(3, ip4("10.0.2.15")).encode())),
        (True, wire.IPCP, build_packet(wire.CONF_REQ, 2, opt(3, ip4("10.0.2.15")).encode())),
        (False, wire.IPCP, build_packet(wire.CONF_ACK, 2, opt(3, ip4("10.0.2.15")).encode())),
        (False, wire.IPCP, build_packet(wire.CONF_REQ, 1, opt(3, ip4("10.0.2.2")).encode())),
        (True, wire.IPCP, build_packet(wire.CONF_ACK, 1, opt(3, ip4("10.0.2.2")).encode())),
        (True, wire.IP, SYN),
    ]


def expected_rows() -> list[tuple[str, str, str]]:
    """(frame number, frame.p2p_dir: 0 sent / 1 received, protocol) for `exchange()`."""
    return [
        (str(n), "0" if sent else "1", f"0x{protocol:04x}")
        for n, (sent, protocol, _) in enumerate(exchange(), start=1)
    ]


def line_octets(sent: bool, protocol: int, info: bytes) -> bytes:
    """The line octets: LCP with the defaults, the rest with ACCM 0, ACFC and PFC."""
    if protocol == wire.LCP:
        return hdlc.encode_frame(protocol, info)
    return hdlc.encode_frame(protocol, info, accm=0, acfc=True, pfc=True)


def write_pppdump(path: Path, records: list[tuple[float, bool, bytes]]) -> None:
    with path.open("wb") as stream:
        writer = PppdumpWriter(stream, START)
        for time, sent, raw in records:
            writer.data(time, sent, raw)


def exchange_pppdump(path: Path) -> None:
    write_pppdump(
        path,
        [
            (START + 0.1 * n, sent, line_octets(sent, protocol, info))
            for n, (sent, protocol, info) in enumerate(exchange(), start=1)
        ],
    )


# -- layouts, without tshark ------------------------------------------------------


def test_pcap_header_and_record_layout() -> None:
    header = pcap_header(LINKTYPE_PPP_WITH_DIR)
    assert struct.unpack("<IHHiIII", header) == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 204)
    assert pcap_header(LINKTYPE_RAW, 128)[-8:] == struct.pack("<II", 128, 101)
    record = pcap_record(12.3456785, b"abcdef", snaplen=4)
    assert struct.unpack("<IIII", record[:16]) == (12, 345678, 4, 6)
    assert record[16:] == b"abcd"
    assert pcap_record(0.9999999, b"")[:8] == struct.pack("<II", 1, 0)  # rounding carries
    with pytest.raises(ValueError):
        pcap_record(-1.0, b"")


def test_ppp_writer_normalizes_frames_and_marks_direction() -> None:
    stream = io.BytesIO()
    writer = PppPcapWriter(stream)
    writer.packet(1.0, True, wire.LCP, CONFREQ_INFO)
    writer.frame(2.0, False, b"\x21" + SYN)  # ACFC and PFC
    writer.frame(3.0, False, b"\xff\x03\x00\x21" + SYN)
    data = stream.getvalue()
    records = data[24:]
    first_len = struct.unpack_from("<I", records, 8)[0]
    assert records[16 : 16 + first_len] == b"\x01\xff\x03\xc0\x21" + CONFREQ_INFO
    second = records[16 + first_len :]
    assert second[16 : 16 + 5 + len(SYN)] == b"\x00\xff\x03\x00\x21" + SYN
    assert expand_frame(b"\xc0\x21\x01") == b"\xff\x03\xc0\x21\x01"  # ACFC only


def test_pap_passwords_never_reach_a_pcap() -> None:
    request = pap_request(7, b"dialer", PASSWORD)
    hidden = hide_password(request)
    assert PASSWORD not in hidden and len(hidden) == len(request)
    assert hidden.endswith(b"\x06******")
    stream = io.BytesIO()
    writer = PppPcapWriter(stream)
    writer.packet(1.0, True, wire.PAP, request)
    writer.frame(2.0, True, b"\xff\x03\xc0\x23" + request)
    writer.frame(3.0, True, b"\xc0\x23" + request[:4] + b"\x06dialer\x09" + PASSWORD)  # overrun
    assert PASSWORD not in stream.getvalue()
    ack = build_packet(2, 7, b"\x02ok")
    assert hide_password(ack) == ack
    assert hide_password(b"\x01") == b"\x01"
    assert hide_password(b"\x01\x01\x00\x05\x09") == b"\x01\x01\x00\x05\x09"


def test_pppdump_records_follow_pppd() -> None:
    assert start_record(START + 0.75) == b"\x07" + int(START).to_bytes(4, "big")
    assert delta_record(0) == b""
    assert delta_record(255) == b"\x06\xff"
    assert delta_record(256) == b"\x05\x00\x00\x01\x00"
    big = bytes(70000)
    assert data_records(True, big) == (
        b"\x01\xff\xff" + big[:65535] + b"\x01\x11\x71" + big[65535:]  # 4465 = 0x1171
    )
    assert data_records(False, b"ab") == b"\x02\x00\x02ab"

    stream = io.BytesIO()
    # No password hiding: these octets are not frames. The clock starts at the whole second.
    writer = PppdumpWriter(stream, START + 0.75, hide_passwords=False)
    writer.data(START + 0.75, True, b"x")  # 7 tenths after START
    writer.data(START + 0.79, False, b"y")  # same tenth: no step
    writer.data(START + 0.5, True, b"z")  # backwards: no step, not followed
    writer.data(START + 40.0, False, b"w")  # 400 - 7 tenths
    writer.data(START + 41.0, True, b"")  # nothing to record
    writer.end(START + 41.0, True)
    assert stream.getvalue() == (
        start_record(START)
        + b"\x06\x07\x01\x00\x01x"
        + b"\x02\x00\x01y"
        + b"\x01\x00\x01z"
        + b"\x05\x00\x00\x01\x89\x02\x00\x01w"
        + b"\x06\x0a\x03"
    )


# -- tshark and pppdump as decoders ------------------------------------------------


@pytest.mark.peer
def test_ppp_pcap_of_a_session_decodes_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "session.pcap"
    with path.open("wb") as stream:
        writer = PppPcapWriter(stream)
        for n, (sent, protocol, info) in enumerate(exchange(), start=1):
            writer.packet(START + 0.1 * n, sent, protocol, info)
    rows = decode(path, "frame.number", "frame.p2p_dir", "ppp.protocol")
    assert [tuple(row) for row in rows] == expected_rows()
    assert problems(path) == []
    detail = decode(
        path,
        "ppp.code",
        "lcp.opt.magic_number",
        "pap.peer_id",
        "pap.password",
        "chap.code",
        "chap.name",
        "ipcp.opt.ip_address",
        "tcp.flags.syn",
        "tcp.seq_raw",
    )
    assert detail[0][:2] == ["1", "0x11223344"]
    assert detail[4][2:4] == ["dialer", "******"]
    assert [row[4] for row in detail[6:9]] == ["1", "2", "3"]
    assert detail[7][5] == "dialer"
    assert detail[10][6] == "10.0.2.15"
    assert detail[15][7:9] == ["1", str(0x12345678)]
    times = decode(path, "frame.time_epoch")
    assert float(times[0][0]) == pytest.approx(START + 0.1)


@pytest.mark.peer
def test_pppdump_of_the_same_session_on_the_line(tmp_path: Path) -> None:
    path = tmp_path / "session.pppd"
    exchange_pppdump(path)
    rows = decode(path, "frame.number", "frame.p2p_dir", "ppp.protocol", "ppp.fcs.status")
    assert [tuple(row[:3]) for row in rows] == expected_rows()
    assert {row[3] for row in rows} == {"1"}  # FCS Good
    assert problems(path) == []
    text = pppdump(path)
    assert "BAD FCS" not in text
    assert text.count("sent ") == 8 and text.count("rcvd ") == 8


@pytest.mark.peer
def test_the_rfc1662_vector_on_the_line(tmp_path: Path) -> None:
    assert hdlc.encode_frame(wire.LCP, CONFREQ_INFO) == CONFREQ_WIRE
    path = tmp_path / "vector.pppd"
    write_pppdump(path, [(START, True, CONFREQ_WIRE)])
    rows = decode(
        path,
        "ppp.protocol",
        "ppp.code",
        "lcp.opt.asyncmap",
        "lcp.opt.magic_number",
        "ppp.fcs_16",
        "ppp.fcs.status",
    )
    assert rows == [["0xc021", "1", "0x00000000", "0x11223344", "0x6627", "1"]]
    assert problems(path) == []


@pytest.mark.peer
def test_a_flipped_fcs_bit_is_caught(tmp_path: Path) -> None:
    bad = bytearray(CONFREQ_WIRE)
    bad[-2] ^= 0x01  # 66 -> 67
    path = tmp_path / "bad.pppd"
    write_pppdump(path, [(START, True, CONFREQ_WIRE), (START + 1, False, bytes(bad))])
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith("2\tPPP LCP\t") and "Bad checksum" in found[0], found
    assert "BAD FCS" in pppdump(path)


@pytest.mark.peer
def test_slip_pcap_of_the_syn(tmp_path: Path) -> None:
    path = tmp_path / "slip.pcap"
    with path.open("wb") as stream:
        SlipPcapWriter(stream).packet(START, SYN)
    rows = decode(
        path,
        "ip.src",
        "ip.dst",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.flags.syn",
        "tcp.options.mss_val",
        "ip.checksum.status",
        "tcp.checksum.status",
    )
    assert rows == [["10.0.2.15", "10.0.2.2", "49152", "80", "1", "1460", "1", "1"]]  # 1: Good
    assert problems(path) == []


@pytest.mark.peer
def test_a_flipped_ip_checksum_is_caught(tmp_path: Path) -> None:
    bad = bytearray(SYN)
    bad[11] ^= 0x01  # header checksum 22bb -> 22ba
    path = tmp_path / "bad-slip.pcap"
    with path.open("wb") as stream:
        writer = SlipPcapWriter(stream)
        writer.packet(START, SYN)
        writer.packet(START + 1, bytes(bad))
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith("2\t") and "Bad checksum" in found[0], found


@pytest.mark.peer
def test_a_record_cut_short_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "cut.pppd"
    write_pppdump(path, [(START, True, CONFREQ_WIRE)])
    with path.open("ab") as stream:
        stream.write(b"\x01\x00\x10~")  # says 16 octets, has 1
    assert any("cut short" in line for line in problems(path))
