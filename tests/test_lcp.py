"""LCP option by option (RFC 1661 §6, RFC 1662 §7.1), judged as pppd judges them."""

from __future__ import annotations

import struct

from modememu.link.ppp.fsm import State
from modememu.link.ppp.lcp import (
    ACCM,
    ACFC,
    AUTH,
    MAGIC,
    MRU,
    PFC,
    QUALITY,
    Lcp,
    LcpAllow,
    LcpOptions,
    OwnEchoReply,
    ProtocolRejected,
)
from modememu.link.ppp.wire import (
    CHAP,
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    CONF_REQ,
    DISC_REQ,
    ECHO_REP,
    ECHO_REQ,
    IPCP,
    PAP,
    PROT_REJ,
    Option,
    build_packet,
    encode_options,
    parse_packet,
)

OURS = 0x0BADCAFE


def lcp(allow: LcpAllow | None = None) -> Lcp:
    core = Lcp(LcpOptions(accm=0, magic=0, pfc=True, acfc=True), allow or LcpAllow(), lambda: OURS)
    core.open(0.0)
    core.up(0.0)
    core.packets_to_send()
    return core


def judge(core: Lcp, *options: Option) -> tuple[int, bytes]:
    core.receive(build_packet(CONF_REQ, 9, encode_options(list(options))), 1.0)
    (reply,) = core.packets_to_send()
    packet = parse_packet(reply)
    assert packet is not None and packet.ident == 9
    return packet.code, packet.data


def u16(value: int) -> bytes:
    return struct.pack("!H", value)


def u32(value: int) -> bytes:
    return struct.pack("!I", value)


def test_our_request_is_pppds_default() -> None:
    core = Lcp(LcpOptions(accm=0, magic=0, pfc=True, acfc=True), LcpAllow(), lambda: OURS)
    core.open(0.0)
    core.up(0.0)
    (request,) = core.packets_to_send()
    assert request == build_packet(
        CONF_REQ, 1, b"\x02\x06\x00\x00\x00\x00" + b"\x05\x06" + u32(OURS) + b"\x07\x02\x08\x02"
    )


def test_a_good_request_is_acked_with_an_exact_copy_and_recorded() -> None:
    core = lcp()
    options = (
        Option(MRU, u16(1500)),
        Option(ACCM, u32(0xA0000)),
        Option(MAGIC, u32(7)),
        Option(PFC, b""),
        Option(ACFC, b""),
    )
    assert judge(core, *options) == (CONF_ACK, encode_options(list(options)))
    assert core.his == LcpOptions(mru=1500, accm=0xA0000, magic=7, pfc=True, acfc=True)


def test_small_mru_is_naked_up_to_pppds_minimum() -> None:
    assert judge(lcp(), Option(MRU, u16(64))) == (CONF_NAK, b"\x01\x04" + u16(128))


def test_quality_protocol_and_unknown_options_are_rejected() -> None:
    lqr = Option(QUALITY, u16(0xC025) + u32(1000))
    odd = Option(99, b"xy")
    assert judge(lcp(), Option(PFC, b""), lqr, odd) == (CONF_REJ, lqr.encode() + odd.encode())


def test_options_we_do_not_allow_are_rejected() -> None:
    core = lcp(LcpAllow(pfc=False, acfc=False))
    assert judge(core, Option(PFC, b""), Option(ACFC, b"")) == (CONF_REJ, b"\x07\x02\x08\x02")


def test_auth_we_cannot_do_is_rejected_and_the_other_method_suggested() -> None:
    assert judge(lcp(), Option(AUTH, u16(PAP)))[0] == CONF_REJ  # no credentials at all
    code, data = judge(lcp(LcpAllow(chap=True)), Option(AUTH, u16(PAP)))
    assert (code, data) == (CONF_NAK, b"\x03\x05\xc2\x23\x05")
    code, data = judge(lcp(LcpAllow(pap=True)), Option(AUTH, u16(CHAP) + b"\x80"))  # MS-CHAP
    assert (code, data) == (CONF_NAK, b"\x03\x04\xc0\x23")


def test_our_own_magic_is_naked_with_a_fresh_one() -> None:
    core = lcp()
    assert judge(core, Option(MAGIC, u32(OURS))) == (CONF_NAK, b"\x05\x06" + u32(OURS))


def test_a_rejected_magic_means_no_magic_not_a_failure() -> None:
    core = lcp()
    core.receive(build_packet(CONF_REJ, 1, b"\x05\x06" + u32(OURS)), 1.0)
    assert core.got.magic is None
    assert core.state is State.REQ_SENT
    (request,) = core.packets_to_send()
    assert b"\x05\x06" not in request


def test_a_reject_that_changes_our_option_is_ignored() -> None:
    core = lcp()
    core.receive(build_packet(CONF_REJ, 1, b"\x02\x06" + u32(0xFFFF)), 1.0)
    assert core.got.accm == 0 and core.packets_to_send() == []


def test_an_accm_nak_asks_for_the_union() -> None:
    core = lcp()
    core.receive(build_packet(CONF_NAK, 1, b"\x02\x06" + u32(0x000A0000)), 1.0)
    assert core.got.accm == 0x000A0000


def opened() -> Lcp:
    core = lcp()
    core.state = State.OPENED
    while core.next_event() is not None:
        pass  # forget how it got here
    return core


def test_echo_request_is_answered_with_our_magic_and_the_data() -> None:
    core = opened()
    core.receive(build_packet(ECHO_REQ, 4, u32(0x1234) + b"ping"), 1.0)
    assert core.packets_to_send() == [build_packet(ECHO_REP, 4, u32(OURS) + b"ping")]


def test_our_own_echo_reply_is_ignored_as_pppd_does() -> None:
    core = opened()
    core.receive(build_packet(ECHO_REP, 0, u32(OURS)), 1.0)
    assert isinstance(core.next_event(), OwnEchoReply)


def test_discard_request_is_silently_dropped() -> None:
    core = opened()
    core.receive(build_packet(DISC_REQ, 1, u32(5) + b"junk"), 1.0)
    assert core.packets_to_send() == [] and core.next_event() is None


def test_echo_outside_opened_is_dropped() -> None:
    core = lcp()
    core.receive(build_packet(ECHO_REQ, 1, u32(5)), 1.0)
    assert core.packets_to_send() == []


def test_protocol_reject_of_ipcp_is_reported_and_of_lcp_is_fatal() -> None:
    core = opened()
    core.receive(build_packet(PROT_REJ, 1, u16(IPCP) + b"\x01\x01\x00\x04"), 1.0)
    assert ProtocolRejected(IPCP) in list(iter(core.next_event, None))
    assert core.opened
    core.receive(build_packet(PROT_REJ, 2, u16(0xC021)), 2.0)
    assert core.state is State.STOPPING


def test_protocol_reject_is_only_sent_when_opened() -> None:
    core = lcp()
    core.protocol_reject(0x80FD, b"\x01\x01\x00\x04")
    assert core.packets_to_send() == []
    core.state = State.OPENED
    core.protocol_reject(0x80FD, b"\x01\x01\x00\x04")
    (packet,) = core.packets_to_send()
    assert packet[0] == PROT_REJ and packet[4:] == b"\x80\xfd\x01\x01\x00\x04"
