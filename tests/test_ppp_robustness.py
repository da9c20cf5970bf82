"""Hostile input into LCP, IPCP and the session: never a raise, never a loop, replies fit.

One test per bug class of ppp-tcp.md §7 that applies to the link layer (TLV
walking, length fields, reply sizes, negotiation loops, unsupported protocols,
framing); the authentication classes are in test_pap.py / test_chap.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st
from pppair import Pair

from modememu.link.hdlc import encode_frame, encode_raw
from modememu.link.ppp.fsm import ControlProtocol, PacketDropped, State
from modememu.link.ppp.ipcp import Ipcp, IpcpConfig
from modememu.link.ppp.lcp import Lcp, LcpAllow, LcpOptions
from modememu.link.ppp.session import Phase, PppFrame
from modememu.link.ppp.wire import (
    CODE_REJ,
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    CONF_REQ,
    EAP,
    LCP,
    PROT_REJ,
    TERM_ACK,
    TERM_REQ,
    build_packet,
    parse_packet,
)

CLIENT = ["noipdefault", "usepeerdns"]
SERVER = ["10.0.2.2:10.0.2.15", "ms-dns", "10.0.2.3"]


def new_lcp() -> Lcp:
    return Lcp(LcpOptions(accm=0, magic=0, pfc=True, acfc=True), LcpAllow(pap=True), lambda: 0x1234)


def new_ipcp() -> Ipcp:
    return Ipcp(
        IpcpConfig(IPv4Address("10.0.2.2"), IPv4Address("10.0.2.15"), (IPv4Address("10.0.2.3"),))
    )


Core = TypeVar("Core", bound=ControlProtocol)


def in_state(core: Core, state: State) -> Core:
    """Walk the automaton to `state` the way a link would get there."""
    core.open(0.0)
    core.up(0.0)
    core.packets_to_send()
    if state is State.OPENED:
        core.state = State.OPENED  # as if both Acks had crossed
    else:
        core.state = state
    return core


def replies(core: ControlProtocol) -> list[bytes]:
    return core.packets_to_send()


control_packets = st.one_of(
    st.binary(max_size=300),
    st.builds(
        build_packet,
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(max_size=300),
    ),
    st.builds(
        lambda code, options: build_packet(code, 1, b"".join(options)),
        st.sampled_from([CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ]),
        st.lists(
            st.builds(
                lambda kind, data, bad: bytes([kind, 0 if bad else len(data) + 2]) + data,
                st.integers(0, 255),
                st.binary(max_size=8),
                st.booleans(),
            ),
            max_size=40,
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(["lcp", "ipcp"]),
    state=st.sampled_from(list(State)),
    packets=st.lists(control_packets, max_size=6),
    mru=st.integers(16, 1500),
)
def test_any_packet_into_lcp_or_ipcp_never_raises_and_replies_fit(
    which: str, state: State, packets: list[bytes], mru: int
) -> None:
    core = in_state(new_lcp() if which == "lcp" else new_ipcp(), state)
    core.peer_mru = mru
    for n, packet in enumerate(packets):
        core.receive(packet, float(n))
        for reply in replies(core):
            assert len(reply) <= mru
            parsed = parse_packet(reply)
            assert parsed is not None and len(reply) == 4 + len(parsed.data)
        while (deadline := core.get_timer()) is not None and deadline < n + 1:
            core.handle_timer(deadline)
    assert isinstance(core.state, State)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_any_bytes_into_a_running_session_never_raise(chunks: list[bytes]) -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    for chunk in chunks:
        pair.client.receive_data(chunk, pair.now)
        pair.client.receive_data(encode_raw(b"\xff\x03" + chunk), pair.now)  # good FCS, any content
    pair.run(limit=pair.now + 60)
    assert pair.client.phase in set(Phase)


# -- §7.1 TLV walking ------------------------------------------------------------------


def test_zero_and_one_length_options_stop_the_walk_and_are_rejected() -> None:
    for bad in (b"\x01\x00\x05\xdc", b"\x01\x01", b"\x05\x06\x00\x00"):
        lcp = in_state(new_lcp(), State.REQ_SENT)
        lcp.receive(build_packet(CONF_REQ, 7, b"\x07\x02" + bad), 1.0)
        (reply,) = replies(lcp)
        parsed = parse_packet(reply)
        assert parsed is not None and parsed.code == CONF_REJ
        assert parsed.data == bad  # pppd: the rest of the request, from the malformed option


# -- §7.2 length fields -----------------------------------------------------------------


def test_length_below_header_or_past_the_data_drops_the_packet() -> None:
    for packet in (b"\x01\x01\x00\x02", b"\x01\x01\x00\x40\x07\x02", b"\x01\x01"):
        lcp = in_state(new_lcp(), State.REQ_SENT)
        lcp.receive(packet, 1.0)
        assert replies(lcp) == []
        assert any(isinstance(e, PacketDropped) for e in iter(lcp.next_event, None))


def test_padding_after_length_is_ignored() -> None:
    lcp = in_state(new_lcp(), State.REQ_SENT)
    request = build_packet(CONF_REQ, 3, b"\x07\x02\x08\x02")
    lcp.receive(request + b"\x00" * 10, 1.0)
    (reply,) = replies(lcp)
    assert reply == build_packet(CONF_ACK, 3, b"\x07\x02\x08\x02")


# -- §7.3 reply sizes ---------------------------------------------------------------------


def test_reject_of_many_options_fits_a_small_peer_mru() -> None:
    lcp = in_state(new_lcp(), State.REQ_SENT)
    lcp.peer_mru = 64
    lcp.receive(build_packet(CONF_REQ, 1, b"\x63\x06abcd" * 200), 1.0)
    (reply,) = replies(lcp)
    assert len(reply) <= 64
    parsed = parse_packet(reply)
    assert parsed is not None and parsed.code == CONF_REJ and len(parsed.data) % 6 == 0


def test_code_and_protocol_rejects_are_cut_to_the_peer_mru() -> None:
    pair = Pair.of(CLIENT, ["mru", "128", *SERVER])
    pair.open()
    pair.run()
    client = pair.client
    assert client.lcp.peer_mru == 128
    client.receive_data(encode_frame(LCP, build_packet(42, 9, bytes(1000))), pair.now)
    client.receive_data(encode_frame(0x8057, bytes(1000)), pair.now)
    sent = [e for e in iter(client.next_event, None) if isinstance(e, PppFrame) and e.sent]
    assert [parse_packet(f.info).code for f in sent] == [CODE_REJ, PROT_REJ]  # type: ignore[union-attr]
    assert all(len(f.info) == 128 for f in sent)


# -- §7.4 negotiation loops ------------------------------------------------------------------


def test_a_peer_that_naks_forever_is_treated_as_rejecting_after_max_failure() -> None:
    lcp = in_state(new_lcp(), State.REQ_SENT)
    naks = 0
    while lcp.got.accm is not None and naks < 30:
        naks += 1  # Nak the asyncmap with another value, every time
        lcp.receive(build_packet(CONF_NAK, lcp._req_id, b"\x02\x06\x00\x0a\x00\x00"), float(naks))
    assert naks == 5  # asked five times, then given up as if rejected
    assert lcp.got.accm is None


def test_a_nak_of_a_boolean_option_counts_as_a_reject() -> None:
    lcp = in_state(new_lcp(), State.REQ_SENT)
    lcp.receive(build_packet(CONF_NAK, lcp._req_id, b"\x07\x02"), 1.0)
    assert lcp.got.pfc is False


def test_requests_in_opened_restart_negotiation_without_running_away() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    for n in range(50):
        pair.client.receive_data(
            encode_frame(LCP, build_packet(CONF_REQ, n, b"\x07\x02")), pair.now
        )
    assert len(pair.client.data_to_send()) < 50 * 64  # one request and one reply per storm packet
    pair.run()
    assert pair.client.phase is Phase.RUNNING and pair.server.phase is Phase.RUNNING


def test_terminate_request_in_req_sent_is_acked_and_negotiation_goes_on() -> None:
    lcp = in_state(new_lcp(), State.REQ_SENT)
    lcp.receive(build_packet(TERM_REQ, 5), 1.0)
    assert [parse_packet(p).code for p in replies(lcp)] == [TERM_ACK]  # type: ignore[union-attr]
    assert lcp.state is State.REQ_SENT


# -- §7.5 unsupported protocols and codes ---------------------------------------------------------


def test_eap_is_protocol_rejected_unread_and_only_when_opened() -> None:
    pair = Pair.of(CLIENT, SERVER)
    eap_packet = encode_frame(EAP, b"\x01\x01\x00\xff" + bytes(10))  # claims 255 octets
    pair.client.open(0.0)
    pair.client.data_to_send()
    pair.client.receive_data(eap_packet, 0.0)  # LCP not open: dropped quietly
    assert pair.client.data_to_send() == b""
    pair.server.open(0.0)
    pair.run()
    pair.client.receive_data(eap_packet, pair.now)
    out = [e for e in iter(pair.client.next_event, None) if isinstance(e, PppFrame) and e.sent]
    (reject,) = out
    parsed = parse_packet(reject.info)
    assert parsed is not None and parsed.code == PROT_REJ and parsed.data[:2] == b"\xc2\x27"


def test_unknown_ipcp_code_is_code_rejected() -> None:
    ipcp = in_state(new_ipcp(), State.OPENED)
    ipcp.receive(build_packet(9, 4, b"\x00\x00\x00\x00"), 1.0)
    (reply,) = replies(ipcp)
    parsed = parse_packet(reply)
    assert parsed is not None and parsed.code == CODE_REJ and parsed.data[:2] == b"\x09\x04"


# -- §7.6 framing reaching the control protocols -------------------------------------


def test_header_only_lcp_frame_is_dropped_not_parsed() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    pair.client.receive_data(encode_raw(b"\xff\x03\xc0\x21"), pair.now)
    pair.client.receive_data(encode_raw(b"\xff\x03\x80\x21\x01"), pair.now)
    assert pair.client.data_to_send() == b""
    dropped = [e for e in iter(pair.client.next_event, None) if isinstance(e, PacketDropped)]
    assert [e.protocol for e in dropped] == ["LCP", "IPCP"]
    assert pair.client.phase is Phase.RUNNING
