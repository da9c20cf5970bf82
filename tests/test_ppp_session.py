"""Two modememu PPP sessions negotiating with each other, option by option."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TypeVar

import pytest
from pppair import Pair, session_of

from modememu.link.events import LinkEvent
from modememu.link.ppp.auth import AuthFailed
from modememu.link.ppp.fsm import State
from modememu.link.ppp.ipcp import NetworkUp
from modememu.link.ppp.lcp import EchoTimeout, LoopedBack
from modememu.link.ppp.session import (
    EXIT_AUTH_TOPEER_FAILED,
    EXIT_HANGUP,
    EXIT_LOOPBACK,
    EXIT_PEER_AUTH_FAILED,
    EXIT_PEER_DEAD,
    EXIT_USER_REQUEST,
    DatagramDropped,
    LinkEnded,
    Phase,
    PppFrame,
)
from modememu.link.ppp.wire import IP, LCP, PAP

SERVER = ["10.0.2.2:10.0.2.15", "ms-dns", "10.0.2.3", "ms-dns", "10.0.2.4"]
CLIENT = ["noipdefault", "usepeerdns"]
SECRETS = ["user", "alice", "password", "wonderland"]
SERVER_SECRETS = ["secret", "alice:wonderland"]


T = TypeVar("T")


def of_type(events: list[LinkEvent], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def test_client_gets_its_address_and_dns_from_the_server() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    assert pair.client.phase is Phase.RUNNING and pair.server.phase is Phase.RUNNING
    assert (pair.client.local_address, pair.client.remote_address) == ("10.0.2.15", "10.0.2.2")
    assert (pair.server.local_address, pair.server.remote_address) == ("10.0.2.2", "10.0.2.15")
    assert pair.client.ipcp.dns == (IPv4Address("10.0.2.3"), IPv4Address("10.0.2.4"))
    (up,) = of_type(pair.events["client"], NetworkUp)
    assert up == NetworkUp("10.0.2.15", "10.0.2.2", ("10.0.2.3", "10.0.2.4"))


def test_datagrams_flow_once_running_and_are_dropped_before() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.client.send_ip(b"\x45early", 0.0)
    pair.open()
    pair.run()
    datagram = bytes(range(256)) * 4  # every octet value, escaped or not
    pair.client.send_ip(datagram, pair.now)
    pair.server.send_ip(datagram[::-1], pair.now)
    pair.step()
    assert pair.server.next_datagram() == datagram
    assert pair.client.next_datagram() == datagram[::-1]
    assert of_type(pair.events["client"], DatagramDropped) == [DatagramDropped(True, 6)]


AUTH = {
    "noauth": ([], []),
    "require-pap": (SECRETS, ["require-pap", *SERVER_SECRETS]),
    "require-chap": (SECRETS, ["require-chap", *SERVER_SECRETS]),
}
FRAMING = {
    "defaults": ([], []),
    "no-compression": (["nopcomp", "noaccomp"], ["nopcomp", "noaccomp"]),
    "one-side-compresses": (["nopcomp"], ["noaccomp"]),
    "asyncmap-and-mru": (
        ["asyncmap", "a0000", "mru", "296"],
        ["asyncmap", "ffffffff", "mru", "576"],
    ),
    "nomagic": (["nomagic"], []),
}


@pytest.mark.parametrize("auth", AUTH)
@pytest.mark.parametrize("framing", FRAMING)
def test_every_option_combination_negotiates(auth: str, framing: str) -> None:
    client_words = [*CLIENT, *AUTH[auth][0], *FRAMING[framing][0]]
    server_words = [*SERVER, *AUTH[auth][1], *FRAMING[framing][1]]
    pair = Pair.of(client_words, server_words)
    pair.open()
    pair.run()
    client, server = pair.client, pair.server
    assert client.phase is Phase.RUNNING, pair.events["client"][-5:]
    assert server.phase is Phase.RUNNING, pair.events["server"][-5:]
    assert client.local_address == "10.0.2.15"
    # What each asked for is what the other acked.
    assert client.lcp.got.pfc == server.lcp.his.pfc and client.lcp.got.acfc == server.lcp.his.acfc
    assert server.lcp.got.pfc == client.lcp.his.pfc and server.lcp.got.acfc == client.lcp.his.acfc
    assert client.lcp.his.accm == server.options.asyncmap
    assert server.lcp.his.mru == (client.options.mru if client.options.mru != 1500 else None)
    # And the data path uses it: a full-size datagram passes, compressed where agreed.
    datagram = bytes(range(256)) * ((client.options.mru - 1) // 256 + 1)
    datagram = datagram[: min(client.options.mru, server.options.mru)]
    server.send_ip(datagram, pair.now)
    client.send_ip(datagram, pair.now)
    pair.step()
    assert client.next_datagram() == datagram
    assert server.next_datagram() == datagram
    sent = of_type(pair.events["server"], PppFrame)
    assert any(f.sent and f.protocol == IP for f in sent)


@pytest.mark.parametrize(
    ("method", "peer_says", "authenticator_says"),
    [
        (
            "require-chap",
            "CHAP authentication failed: Access denied",
            "Peer alice failed CHAP authentication",
        ),
        ("require-pap", "PAP authentication failed", "PAP peer authentication failed for alice"),
    ],
)
def test_a_wrong_secret_fails_both_ends_in_pppd_words(
    method: str, peer_says: str, authenticator_says: str
) -> None:
    pair = Pair.of(
        [*CLIENT, "user", "alice", "password", "rabbit"], [*SERVER, method, *SERVER_SECRETS]
    )
    pair.open()
    pair.run()
    (client_failed,) = of_type(pair.events["client"], AuthFailed)
    (server_failed,) = of_type(pair.events["server"], AuthFailed)
    assert (client_failed.role, client_failed.reason) == ("peer", peer_says)
    assert (server_failed.role, server_failed.reason) == ("authenticator", authenticator_says)
    assert pair.server.ended == LinkEnded("Authentication failed", EXIT_PEER_AUTH_FAILED)
    assert pair.client.ended == LinkEnded(
        "Failed to authenticate ourselves to peer", EXIT_AUTH_TOPEER_FAILED
    )
    assert pair.client.phase is Phase.DEAD and pair.server.phase is Phase.DEAD
    assert pair.client.ipcp.state is State.INITIAL  # the network phase never began


def test_peer_that_cannot_authenticate_refuses_and_the_link_ends() -> None:
    pair = Pair.of(CLIENT, [*SERVER, "require-pap", *SERVER_SECRETS])
    pair.open()
    pair.run()
    assert pair.server.ended == LinkEnded("peer refused to authenticate", EXIT_PEER_AUTH_FAILED)


@pytest.mark.parametrize("method", ["require-pap", "require-chap"])
def test_secrets_never_leave_the_session(method: str) -> None:
    pair = Pair.of([*CLIENT, *SECRETS], [*SERVER, method, *SERVER_SECRETS])
    pair.open()
    pair.run()
    assert pair.client.phase is Phase.RUNNING
    for events in pair.events.values():
        for event in events:
            assert b"wonderland" not in repr(event).encode()
            if isinstance(event, PppFrame):
                assert b"wonderland" not in event.info
    assert "wonderland" not in repr(pair.client.options) + repr(pair.server.options)
    pap = [f for f in of_type(pair.events["client"], PppFrame) if f.protocol == PAP]
    assert bool(pap) == (method == "require-pap")


def test_a_session_looped_back_onto_itself_is_detected() -> None:
    session = session_of([])
    now = 0.0
    session.open(now)
    events: list[LinkEvent] = []
    for _ in range(10_000):
        data = session.data_to_send()
        if data:
            session.receive_data(data, now)
        elif (deadline := session.get_timer()) is not None:
            now = deadline
            session.handle_timer(now)
        else:
            break
        while (event := session.next_event()) is not None:
            events.append(event)
        if session.ended:
            break
    assert of_type(events, LoopedBack)
    assert session.ended is not None
    assert session.ended.status == EXIT_LOOPBACK
    assert session.ended.reason == "Loopback detected"


def test_unanswered_echoes_bring_the_link_down() -> None:
    pair = Pair.of([*CLIENT, "lcp-echo-interval", "2", "lcp-echo-failure", "3"], SERVER)
    pair.open()
    pair.run()
    start = pair.now
    pair.to_client = False  # the server's answers no longer arrive
    pair.run(until=lambda p: p.client.ended is not None)
    (timeout,) = of_type(pair.events["client"], EchoTimeout)
    assert timeout.count == 3
    assert pair.client.ended == LinkEnded("Peer not responding", EXIT_PEER_DEAD)
    # Echoes at +2, +4, +6; at +8 three are missing: Terminate-Request, then one more
    # after 3 s, then Closed 3 s later.
    assert pair.now == start + 8 + 3 + 3
    echoes = [
        f
        for f in of_type(pair.events["client"], PppFrame)
        if f.sent and f.protocol == LCP and f.info[0] == 9
    ]
    assert len(echoes) == 3


def test_echoes_answered_keep_the_link_up() -> None:
    pair = Pair.of([*CLIENT, "lcp-echo-interval", "2", "lcp-echo-failure", "3"], SERVER)
    pair.open()
    pair.run()
    pair.run(until=lambda p: p.now > 100)
    assert pair.client.phase is Phase.RUNNING
    replies = [
        f
        for f in of_type(pair.events["client"], PppFrame)
        if not f.sent and f.protocol == LCP and f.info[0] == 10
    ]
    assert len(replies) >= 49


def test_user_request_terminates_politely() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    pair.client.close(pair.now)
    pair.run(until=lambda p: p.client.ended is not None and p.server.ended is not None)
    assert pair.client.ended == LinkEnded("User request", EXIT_USER_REQUEST)
    assert pair.server.ended is not None
    assert pair.server.ended.reason == "LCP terminated by peer (User request)"
    assert pair.server.lcp.state is State.STOPPED or pair.server.lcp.state is State.CLOSED


def test_carrier_loss_is_a_modem_hangup() -> None:
    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    pair.client.lower_down(pair.now)
    assert pair.client.ended == LinkEnded("Modem hangup", EXIT_HANGUP)
    assert pair.client.phase is Phase.DEAD


def test_unknown_protocols_are_protocol_rejected_and_ccp_too() -> None:
    from modememu.link.hdlc import encode_frame
    from modememu.link.ppp.wire import CCP, PROT_REJ, build_packet, parse_packet

    pair = Pair.of(CLIENT, SERVER)
    pair.open()
    pair.run()
    pair.client.receive_data(encode_frame(CCP, build_packet(1, 1, b"\x11\x04\x00\x01")), pair.now)
    frames = of_type(list(iter(pair.client.next_event, None)), PppFrame)
    (reject,) = [f for f in frames if f.sent and f.protocol == LCP]
    packet = parse_packet(reject.info)
    assert packet is not None and packet.code == PROT_REJ
    assert packet.data[:2] == CCP.to_bytes(2, "big")
