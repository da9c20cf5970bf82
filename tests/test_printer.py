"""pppd's debug log format, reproduced from packets built by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.link.ppp import wire
from modememu.link.ppp.printer import format_packet, log_line
from modememu.link.ppp.wire import Option, build_packet


def opt(kind: int, data: bytes | str = b"") -> bytes:
    return Option(kind, bytes.fromhex(data) if isinstance(data, str) else data).encode()


def conf(code: int, ident: int, *options: bytes) -> bytes:
    return build_packet(code, ident, b"".join(options))


def lcp(info: bytes) -> str:
    return format_packet(wire.LCP, info)


def ipcp(info: bytes) -> str:
    return format_packet(wire.IPCP, info)


def ccp(info: bytes) -> str:
    return format_packet(wire.CCP, info)


def lcp_option(option: bytes) -> str:
    """The text of one LCP Configure-Request option, without the packet around it."""
    text = lcp(conf(wire.CONF_REQ, 1, option))
    prefix = "[LCP ConfReq id=0x1 "
    assert text.startswith(prefix) and text.endswith("]"), text
    return text[len(prefix) : -1]


def ipcp_option(option: bytes) -> str:
    text = ipcp(conf(wire.CONF_REQ, 1, option))
    prefix = "[IPCP ConfReq id=0x1 "
    assert text.startswith(prefix) and text.endswith("]"), text
    return text[len(prefix) : -1]


# -- a real exchange ---------------------------------------------------------------

ASYNCMAP0 = opt(2, "00000000")
MRU1500 = opt(1, "05dc")
PCOMP, ACCOMP = opt(7), opt(8)
VJ = opt(2, "002d0f01")


def addr(dotted: str) -> bytes:
    return opt(3, bytes(map(int, dotted.split("."))))


def test_the_slirp_transcript() -> None:
    """ppp-tcp.md §4.2: pppd against slirp, line by line."""
    mine = (ASYNCMAP0, opt(5, "f74615a7"), PCOMP, ACCOMP)
    theirs = (MRU1500, opt(5, "c78771c2"), PCOMP, ACCOMP)
    lines = [
        log_line(True, wire.LCP, conf(wire.CONF_REQ, 1, *mine)),
        log_line(False, wire.LCP, conf(wire.CONF_REQ, 1, *theirs)),
        log_line(True, wire.LCP, conf(wire.CONF_ACK, 1, *theirs)),
        log_line(False, wire.LCP, conf(wire.CONF_ACK, 1, *mine)),
        log_line(True, wire.IPCP, conf(wire.CONF_REQ, 1, VJ, addr("192.168.1.10"))),
        log_line(False, wire.IPCP, conf(wire.CONF_REQ, 1, addr("192.168.92.92"), VJ)),
        log_line(True, wire.IPCP, conf(wire.CONF_NAK, 1, addr("10.1.2.1"))),
        log_line(False, wire.IPCP, conf(wire.CONF_NAK, 1, addr("10.0.2.15"))),
    ]
    assert lines == [
        "sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0xf74615a7> <pcomp> <accomp>]",
        "rcvd [LCP ConfReq id=0x1 <mru 1500> <magic 0xc78771c2> <pcomp> <accomp>]",
        "sent [LCP ConfAck id=0x1 <mru 1500> <magic 0xc78771c2> <pcomp> <accomp>]",
        "rcvd [LCP ConfAck id=0x1 <asyncmap 0x0> <magic 0xf74615a7> <pcomp> <accomp>]",
        "sent [IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 192.168.1.10>]",
        "rcvd [IPCP ConfReq id=0x1 <addr 192.168.92.92> <compress VJ 0f 01>]",
        "sent [IPCP ConfNak id=0x1 <addr 10.1.2.1>]",
        "rcvd [IPCP ConfNak id=0x1 <addr 10.0.2.15>]",
    ]


# -- LCP options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "text"),
    [
        (MRU1500, "<mru 1500>"),
        (opt(1, "ffff"), "<mru 65535>"),
        (opt(2, "000a0000"), "<asyncmap 0xa0000>"),
        (opt(3, "c023"), "<auth pap>"),
        (opt(3, "c22305"), "<auth chap MD5>"),
        (opt(3, "c22380"), "<auth chap MS>"),
        (opt(3, "c22381"), "<auth chap MS-v2>"),
        (opt(3, "c223"), "<auth chap>"),
        (opt(3, "c22306"), "<auth chap 06>"),
        (opt(3, "c227"), "<auth eap>"),
        (opt(3, "c02301"), "<auth pap 01>"),
        (opt(3, "1234"), "<auth 0x1234>"),
        (opt(4, "c025000007d0"), "<quality lqr 00 00 07 d0>"),
        (opt(4, "0101"), "<quality 0x101>"),
        (opt(13, "06"), "<callback CBCP>"),
        (opt(13, "0041"), "<callback 0x0 41>"),
        (opt(5, "5f3c2a11"), "<magic 0x5f3c2a11>"),
        (opt(5, "00000001"), "<magic 0x1>"),
        (PCOMP, "<pcomp>"),
        (ACCOMP, "<accomp>"),
        (opt(17, "064e"), "<mrru 1614>"),
        (opt(18), "<ssnhf>"),
        (opt(19, "00"), "<endpoint [null]>"),
        (opt(19, "020a000201"), "<endpoint [IP:10.0.2.1]>"),
        (opt(19, "02001122"), "<endpoint [IP:00.11.22]>"),  # too short for IP:
        (opt(19, "03001122334455"), "<endpoint [MAC:00:11:22:33:44:55]>"),
        (opt(19, "030011"), "<endpoint [MAC:00.11]>"),
        (opt(19, "040102030405060708"), "<endpoint [magic:01020304.05060708]>"),
        (opt(19, "04010203"), "<endpoint [magic:01.02.03]>"),
        (opt(19, "01abcd"), "<endpoint [local:ab.cd]>"),
        (opt(19, "05"), "<endpoint [phone]>"),
        (opt(19, "09ff"), "<endpoint [9:ff]>"),
        (
            opt(19, "01" + "00" * 20 + "abcd"),
            "<endpoint [local:" + ".".join(["00"] * 20) + "] ab cd>",
        ),
        (opt(19), "< 13 02>"),  # too short for a class
        (opt(1, "05"), "< 01 03 05>"),  # MRU of the wrong length
        (opt(5, "11223344 55"), "< 05 07 11 22 33 44 55>"),
        (opt(7, "00"), "< 07 03 00>"),
        (opt(9, "02"), "< 09 03 02>"),  # FCS-Alternatives: not decoded by pppd
        (opt(0x17, "0002"), "< 17 04 00 02>"),
    ],
)
def test_lcp_options(option: bytes, text: str) -> None:
    assert lcp_option(option) == text


def test_lcp_option_list_cut_short_prints_the_rest_as_hex() -> None:
    # The third option claims 8 octets and only 3 remain: pppd stops and dumps them.
    info = conf(wire.CONF_REJ, 0x2A, PCOMP, ACCOMP, bytes.fromhex("0508aa"))
    assert lcp(info) == "[LCP ConfRej id=0x2a <pcomp> <accomp> 05 08 aa]"
    assert lcp(conf(wire.CONF_REQ, 1, bytes.fromhex("0100"))) == "[LCP ConfReq id=0x1 01 00]"
    assert lcp(conf(wire.CONF_REQ, 1, b"\x01")) == "[LCP ConfReq id=0x1 01]"


# -- LCP codes ---------------------------------------------------------------------


def test_lcp_codes() -> None:
    assert lcp(build_packet(wire.TERM_REQ, 2, b"User request")) == (
        '[LCP TermReq id=0x2 "User request"]'
    )
    assert lcp(build_packet(wire.TERM_ACK, 2)) == "[LCP TermAck id=0x2]"
    assert lcp(build_packet(wire.TERM_ACK, 3, b"\x00ab")) == "[LCP TermAck id=0x3 00 61 62]"
    assert lcp(build_packet(wire.ECHO_REQ, 0, bytes.fromhex("5f3c2a11"))) == (
        "[LCP EchoReq id=0x0 magic=0x5f3c2a11]"
    )
    assert lcp(build_packet(wire.ECHO_REP, 0xFF, bytes.fromhex("0000000a ffee"))) == (
        "[LCP EchoRep id=0xff magic=0xa ff ee]"
    )
    assert lcp(build_packet(wire.ECHO_REQ, 1, b"\x01\x02")) == "[LCP EchoReq id=0x1 01 02]"
    assert lcp(build_packet(wire.DISC_REQ, 4, bytes(4))) == "[LCP DiscReq id=0x4 magic=0x0]"
    rejected = build_packet(wire.PROT_REJ, 3, bytes.fromhex("80fd 0101000c 1a0478001803 78"))
    assert lcp(rejected) == "[LCP ProtRej id=0x3 80 fd 01 01 00 0c 1a 04 78 00 18 03 78]"
    assert lcp(build_packet(wire.CODE_REJ, 5, bytes.fromhex("0e010004"))) == (
        "[LCP CodeRej id=0x5 0e 01 00 04]"
    )
    assert lcp(build_packet(12, 6, bytes.fromhex("00000001") + b"pppd 2.4.9")) == (
        '[LCP Ident id=0x6 magic=0x1 "pppd 2.4.9"]'
    )
    assert lcp(build_packet(12, 6, b"hi")) == '[LCP Ident id=0x6 "hi"]'
    assert lcp(build_packet(13, 7, bytes.fromhex("00000001 00000e10") + b"bye")) == (
        '[LCP TimeRem id=0x7 magic=0x1 seconds=3600 "bye"]'
    )
    assert lcp(build_packet(13, 7, bytes.fromhex("00000001 0e10"))) == (
        "[LCP TimeRem id=0x7 magic=0x1 0e 10]"
    )
    assert lcp(build_packet(14, 8, b"\x01")) == "[LCP code=0xe id=0x8 01]"
    assert lcp(build_packet(0, 8)) == "[LCP code=0x0 id=0x8]"


def test_lcp_trailing_hex_stops_at_32_octets() -> None:
    data = bytes(range(40))
    expected = " ".join(f"{b:02x}" for b in data[:32])
    assert lcp(build_packet(wire.CODE_REJ, 1, data)) == f"[LCP CodeRej id=0x1 {expected} ...]"
    assert lcp(build_packet(wire.CODE_REJ, 1, data[:32])) == f"[LCP CodeRej id=0x1 {expected}]"


def test_octets_outside_the_packet() -> None:
    # Padding after Length follows the bracket, as format_packet prints it.
    padded = conf(wire.CONF_REQ, 1, PCOMP) + b"\x00\x00"
    assert lcp(padded) == "[LCP ConfReq id=0x1 <pcomp>] 00 00"
    assert lcp(b"") == "[LCP]"
    assert lcp(b"\x01\x02") == "[LCP] 01 02"
    assert lcp(bytes.fromhex("01010003")) == "[LCP] 01 01 00 03"  # Length below 4
    assert lcp(bytes.fromhex("01010009 0702")) == "[LCP] 01 01 00 09 07 02"  # past the end
    many = bytes.fromhex("0101ffff") + bytes(40)
    assert lcp(many) == "[LCP] 01 01 ff ff" + " 00" * 28 + " ..."


# -- IPCP --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "text"),
    [
        (addr("10.0.2.15"), "<addr 10.0.2.15>"),
        (addr("0.0.0.0"), "<addr 0.0.0.0>"),
        (opt(1, "0a00020f 0a000202"), "<addrs 10.0.2.15 10.0.2.2>"),
        (VJ, "<compress VJ 0f 01>"),
        (opt(2, "002d"), "<compress VJ>"),
        (opt(2, "0037"), "<compress old-VJ>"),
        (opt(2, "0061 00"), "<compress 0x61 00>"),
        (opt(129, "0a000203"), "<ms-dns1 10.0.2.3>"),
        (opt(131, "08080808"), "<ms-dns2 8.8.8.8>"),
        (opt(130, "0a000204"), "<ms-wins 10.0.2.4>"),
        (opt(132, "0a000205"), "<ms-wins 10.0.2.5>"),
        (opt(129, "0a00020300"), "<ms-dns1 10.0.2.3 00>"),
        (opt(3, "0a0002"), "< 03 05 0a 00 02>"),
        (opt(1, "0a00020f"), "< 01 06 0a 00 02 0f>"),
        (opt(0x90, "01"), "< 90 03 01>"),
    ],
)
def test_ipcp_options(option: bytes, text: str) -> None:
    assert ipcp_option(option) == text


def test_ipcp_reads_a_short_ms_dns_as_pppd_does() -> None:
    # pppd takes 4 octets for the address whatever the length says; the walk
    # then goes on 4 octets too far, and reads past the end as 00 here.
    info = conf(wire.CONF_REQ, 1, opt(129), addr("10.0.2.15"))
    assert ipcp(info) == "[IPCP ConfReq id=0x1 <ms-dns1 3.6.10.0> 02 0f 00 00 00 00]"
    assert ipcp(conf(wire.CONF_NAK, 1, opt(131))) == "[IPCP ConfNak id=0x1 <ms-dns2 0.0.0.0>]"


def test_ipcp_codes() -> None:
    assert ipcp(build_packet(wire.TERM_REQ, 3, b"No network protocols running")) == (
        '[IPCP TermReq id=0x3 "No network protocols running"]'
    )
    assert (
        ipcp(build_packet(wire.CODE_REJ, 4, bytes(40))) == "[IPCP CodeRej id=0x4" + " 00" * 40 + "]"
    )
    assert ipcp(build_packet(wire.PROT_REJ, 4)) == "[IPCP code=0x8 id=0x4]"


# -- PAP, CHAP ---------------------------------------------------------------------


def pap_request(user: bytes, password: bytes, ident: int = 1) -> bytes:
    return build_packet(1, ident, bytes([len(user)]) + user + bytes([len(password)]) + password)


def test_pap_hides_the_password() -> None:
    assert format_packet(wire.PAP, pap_request(b"u", b"hunter2")) == (
        '[PAP AuthReq id=0x1 user="u" password=<hidden>]'
    )
    assert format_packet(wire.PAP, build_packet(2, 1, b"\x07Welcome")) == (
        '[PAP AuthAck id=0x1 "Welcome"]'
    )
    assert format_packet(wire.PAP, build_packet(3, 1, b"\x00")) == '[PAP AuthNak id=0x1 ""]'
    assert format_packet(wire.PAP, build_packet(2, 1)) == "[PAP AuthAck id=0x1]"
    assert format_packet(wire.PAP, build_packet(4, 9, b"x")) == "[PAP code=0x4 id=0x9 <hidden>]"


@pytest.mark.parametrize(
    "info",
    [
        pap_request(b"u", b"hunter2") + b"hunter2",  # padding after Length
        pap_request(b"u", b"hunter2") + b"\x00",
        build_packet(1, 1, b"\x01u\x09hunter2"),  # password overruns Length
        build_packet(1, 1, b"\x01u\x07hunter2") + b"hunter2",
        bytes.fromhex("01010004") + b"\x01u\x07hunter2",  # Length stops at the header
        bytes.fromhex("01010040") + b"\x01u\x07hunter2",  # Length past the end
        build_packet(1, 1, b"\x09uhunter2"),  # user overruns
    ],
)
def test_pap_never_shows_octets_that_may_be_a_password(info: bytes) -> None:
    text = format_packet(wire.PAP, info)
    assert "hunter" not in text and "68 75 6e" not in text, text
    assert "<hidden>" in text


def test_chap() -> None:
    challenge = build_packet(1, 1, bytes([4]) + bytes.fromhex("0123abcd") + b"isp")
    assert format_packet(wire.CHAP, challenge) == '[CHAP Challenge id=0x1 <0123abcd>, name = "isp"]'
    response = build_packet(2, 1, bytes([2]) + b"\xff\x00")
    assert format_packet(wire.CHAP, response) == '[CHAP Response id=0x1 <ff00>, name = ""]'
    assert format_packet(wire.CHAP, build_packet(3, 1, b"Access granted")) == (
        '[CHAP Success id=0x1 "Access granted"]'
    )
    assert format_packet(wire.CHAP, build_packet(4, 1)) == '[CHAP Failure id=0x1 ""]'
    # A value longer than the packet: pppd prints nothing of it but counts it all.
    assert format_packet(wire.CHAP, build_packet(1, 5, b"\x10abc") + b"\x01") == (
        "[CHAP Challenge id=0x5] 01"
    )
    assert format_packet(wire.CHAP, build_packet(1, 5)) == "[CHAP Challenge id=0x5]"
    assert (
        format_packet(wire.CHAP, build_packet(7, 5, b"\x01\x02")) == "[CHAP code=0x7 id=0x5 01 02]"
    )


# -- CCP, data and unknown protocols ------------------------------------------------


@pytest.mark.parametrize(
    ("option", "text"),
    [
        (opt(26, "7800"), "<deflate 15>"),
        (opt(24, "7800"), "<deflate(old#) 15>"),
        (opt(26, "1901"), "<deflate 9 method 9 check 1>"),
        (opt(21, "2f"), "<bsd v1 15>"),
        (opt(1), "<predictor 1>"),
        (opt(2, "00"), "<predictor 2 00>"),
        (opt(18, "01000060"), "<mppe +H -M +S +L -D -C>"),
        (opt(18, "00000001"), "<mppe -H -M -S -L -D +C>"),
        (opt(18, "03000002"), "<mppe +H -M -S -L -D -C +U (03 00 00 02)>"),
        (opt(26, "78"), "< 1a 03 78>"),
        (opt(99), "< 63 02>"),
    ],
)
def test_ccp_options(option: bytes, text: str) -> None:
    assert ccp(conf(wire.CONF_REQ, 1, option)) == f"[CCP ConfReq id=0x1 {text}]"


def test_ccp_codes() -> None:
    # ccp_printpkt prints a Terminate message with no space before it.
    assert ccp(build_packet(wire.TERM_REQ, 2, b"bye")) == '[CCP TermReq id=0x2"bye"]'
    assert ccp(build_packet(14, 3)) == "[CCP ResetReq id=0x3]"
    assert ccp(build_packet(15, 3, b"\x01")) == "[CCP ResetAck id=0x3 01]"
    assert ccp(build_packet(wire.PROT_REJ, 3)) == "[CCP code=0x8 id=0x3]"


def test_data_and_unknown_protocols() -> None:
    syn = bytes.fromhex("4500002c00014000400622bb0a00020f0a000202")
    assert format_packet(wire.IP, syn) == "[IP data] 45 00 00 2c 00 01 40 00 ..."
    assert format_packet(wire.IP, syn[:8]) == "[IP data] 45 00 00 2c 00 01 40 00"
    assert format_packet(wire.IP, b"") == "[IP data]"
    assert format_packet(0x00FD, b"\x00\x01") == "[Compressed data] 00 01"
    assert format_packet(wire.VJ_COMPRESSED, b"\x70\x01") == "[proto=0x2d] 70 01"
    assert format_packet(0x8057, bytes(40)) == "[proto=0x8057]" + " 00" * 32 + " ..."
    assert format_packet(wire.EAP, b"") == "[proto=0xc227]"
    with pytest.raises(ValueError):
        format_packet(0x10000, b"")
    with pytest.raises(ValueError):
        format_packet(-1, b"")


# -- strings and log lines ------------------------------------------------------------


def test_strings_are_escaped_like_pppd() -> None:
    message = b'a"b\\c\n\r\t\x01\x7f\x80\xff'
    expected = '"a\\"b\\\\c\\n\\r\\t\\001\\177\\37777777600\\37777777777"'
    assert lcp(build_packet(wire.TERM_REQ, 1, message)) == f"[LCP TermReq id=0x1 {expected}]"


def test_log_line() -> None:
    echo = build_packet(wire.ECHO_REQ, 0, bytes.fromhex("5f3c2a11"))
    assert log_line(True, wire.LCP, echo) == "sent [LCP EchoReq id=0x0 magic=0x5f3c2a11]"
    assert log_line(False, wire.LCP, echo) == "rcvd [LCP EchoReq id=0x0 magic=0x5f3c2a11]"
    long_message = build_packet(wire.TERM_REQ, 1, b"x" * 1500)
    line = log_line(True, wire.LCP, long_message)
    assert len(line) == 1023 and line.startswith('sent [LCP TermReq id=0x1 "xxx')


# -- properties ------------------------------------------------------------------------

PROTOCOLS = {
    wire.LCP: "LCP",
    wire.IPCP: "IPCP",
    wire.PAP: "PAP",
    wire.CHAP: "CHAP",
    wire.CCP: "CCP",
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PROTOCOLS)), st.binary(max_size=300))
def test_any_octets_print_without_raising(protocol: int, info: bytes) -> None:
    text = format_packet(protocol, info)
    assert text.startswith("[" + PROTOCOLS[protocol])
    assert "]" in text
    assert text.isprintable() and text.isascii()
    assert len(text) <= 16 + 14 * len(info)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(PROTOCOLS)),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=300),
)
def test_whole_packets_end_with_the_bracket(
    protocol: int, code: int, ident: int, data: bytes
) -> None:
    text = format_packet(protocol, build_packet(code, ident, data))
    assert text.startswith("[" + PROTOCOLS[protocol] + " ")
    assert text.endswith("]")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(max_size=100))
def test_any_protocol_prints(protocol: int, info: bytes) -> None:
    text = format_packet(protocol, info)
    assert text.startswith("[") and "]" in text
    assert log_line(True, protocol, info) == ("sent " + text)[:1023]


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=20),
    st.text("QZXJ", min_size=6, max_size=30).map(str.encode),
    st.binary(max_size=10),
    st.integers(-40, 40),
)
def test_pap_passwords_never_appear(user: bytes, password: bytes, tail: bytes, skew: int) -> None:
    info = bytearray(pap_request(user, password) + tail)
    length = max(0, min(0xFFFF, len(info) - len(tail) + skew))
    info[2:4] = length.to_bytes(2, "big")  # any Length: short, long, or right
    text = format_packet(wire.PAP, bytes(info))
    assert password.decode() not in text
    assert password[:3].hex(" ") not in text
