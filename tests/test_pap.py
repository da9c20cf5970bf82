"""PAP (RFC 1334 §2): peer and authenticator in memory, exact timers, pppd's wording, fuzz."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.link.events import LinkEvent
from modememu.link.ppp.auth import (
    AuthCore,
    AuthFailed,
    AuthPacketDropped,
    AuthSucceeded,
    pppd_quoted,
    pppd_visible,
)
from modememu.link.ppp.pap import PapAuthenticator, PapPeer

PASSWORD = b"pa55-w0rd!"
SECRETS = {"alice": PASSWORD, "bob": b"other"}


def events(core: AuthCore) -> list[LinkEvent]:
    out: list[LinkEvent] = []
    while (event := core.next_event()) is not None:
        out.append(event)
    return out


def pump(a: AuthCore, b: AuthCore, now: float) -> list[bytes]:
    """Carry packets both ways until both are quiet; returns everything carried."""
    carried: list[bytes] = []
    for _ in range(100):
        out_a, out_b = a.packets_to_send(), b.packets_to_send()
        if not out_a and not out_b:
            return carried
        for packet in out_a:
            b.receive(packet, now)
        for packet in out_b:
            a.receive(packet, now)
        carried += out_a + out_b
    raise AssertionError("the exchange never settled")


def pair(password: bytes = PASSWORD) -> tuple[PapPeer, PapAuthenticator]:
    peer, auth = PapPeer("alice", password), PapAuthenticator(SECRETS)
    auth.start(0.0)
    peer.start(0.0)
    return peer, auth


# -- the exchange ---------------------------------------------------------------


def test_success_both_sides() -> None:
    peer, auth = pair()
    carried = pump(peer, auth, 0.0)
    assert carried == [
        bytes.fromhex("0101 0015 05") + b"alice" + b"\x0a" + PASSWORD,
        bytes.fromhex("0201 000d 08") + b"Login ok",
    ]
    assert peer.done and peer.succeeded is True
    assert auth.done and auth.succeeded is True
    assert events(peer) == [AuthSucceeded("PAP", "peer", "", "Login ok")]
    assert events(auth) == [AuthSucceeded("PAP", "authenticator", "alice", "Login ok")]
    assert peer.get_timer() is None and auth.get_timer() is None


@pytest.mark.parametrize("user", ["alice", "mallory"])
def test_wrong_password_or_unknown_user_fails_both_sides(user: str) -> None:
    peer, auth = PapPeer(user, b"guess"), PapAuthenticator(SECRETS)
    auth.start(0.0)
    peer.start(0.0)
    carried = pump(peer, auth, 0.0)
    assert carried[-1] == bytes.fromhex("0301 0014 0f") + b"Login incorrect"
    assert peer.succeeded is False and auth.succeeded is False
    assert events(peer) == [AuthFailed("PAP", "peer", "", "PAP authentication failed")]
    assert events(auth) == [
        AuthFailed("PAP", "authenticator", user, f"PAP peer authentication failed for {user}")
    ]


def test_lost_ack_is_answered_again_on_retransmission() -> None:
    peer, auth = pair()
    auth.receive(peer.packets_to_send()[0], 0.0)
    assert auth.packets_to_send() == [bytes.fromhex("0201 000d 08") + b"Login ok"]  # lost
    assert peer.get_timer() == 3.0
    peer.handle_timer(3.0)
    (again,) = peer.packets_to_send()
    assert again[:2] == b"\x01\x02"  # a new Identifier
    auth.receive(again, 3.0)
    (ack,) = auth.packets_to_send()
    assert ack == bytes.fromhex("0202 000d 08") + b"Login ok"
    peer.receive(ack, 3.0)
    assert peer.succeeded is True and peer.get_timer() is None
    assert events(peer) == [AuthSucceeded("PAP", "peer", "", "Login ok")]
    assert [type(e) for e in events(auth)] == [AuthSucceeded]  # decided once


def test_repeat_after_nak_gets_nak_and_repeat_needs_no_valid_body() -> None:
    peer, auth = PapPeer("alice", b"bad"), PapAuthenticator(SECRETS)
    auth.start(0.0)
    auth.receive(bytes.fromhex("0107 0004"), 0.0)  # malformed before the verdict
    assert auth.packets_to_send() == [] and not auth.done
    peer.start(0.0)
    pump(peer, auth, 0.0)
    auth.receive(bytes.fromhex("0109 0004"), 1.0)  # any later request: the same verdict
    assert auth.packets_to_send() == [bytes.fromhex("0309 0014 0f") + b"Login incorrect"]


def test_retransmission_schedule_is_exact() -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.start(0.0)
    sent = peer.packets_to_send()
    deadlines = []
    while (deadline := peer.get_timer()) is not None:
        deadlines.append(deadline)
        peer.handle_timer(deadline - 0.5)  # early: nothing happens
        assert peer.packets_to_send() == [] and peer.get_timer() == deadline
        peer.handle_timer(deadline)
        sent += peer.packets_to_send()
    assert deadlines == [3.0 * n for n in range(1, 11)]
    assert [packet[1] for packet in sent] == list(range(1, 11))
    assert events(peer) == [
        AuthFailed("PAP", "peer", "", "No response to PAP authenticate-requests")
    ]
    assert peer.succeeded is False


def test_retransmission_counts_follow_the_options() -> None:
    peer = PapPeer("alice", PASSWORD, restart=1.5, max_requests=2)
    peer.start(10.0)
    assert peer.get_timer() == 11.5
    peer.handle_timer(11.5)
    assert peer.get_timer() == 13.0
    peer.handle_timer(13.0)
    assert len(peer.packets_to_send()) == 2 and peer.succeeded is False


def test_authenticator_gives_up_waiting_for_a_request() -> None:
    auth = PapAuthenticator(SECRETS)
    auth.start(5.0)
    assert auth.get_timer() == 35.0
    auth.handle_timer(34.9)
    assert not auth.done
    auth.handle_timer(35.0)
    assert events(auth) == [AuthFailed("PAP", "authenticator", "", "Authentication failed")]
    assert auth.get_timer() is None
    auth.receive(bytes.fromhex("0101 0015 05") + b"alice" + b"\x0a" + PASSWORD, 40.0)
    assert auth.packets_to_send() == [bytes.fromhex("0301 0005 00")]  # Nak, as pppd


def test_request_cancels_the_wait_and_zero_timeout_waits_forever() -> None:
    peer, auth = pair()
    pump(peer, auth, 1.0)
    assert auth.get_timer() is None
    forever = PapAuthenticator(SECRETS, timeout=0)
    forever.start(0.0)
    assert forever.get_timer() is None


# -- what the peer does with odd answers -------------------------------------------


def test_ack_without_message_or_with_padding_is_accepted() -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.start(0.0)
    peer.receive(bytes.fromhex("0201 0004 ffff"), 0.0)  # no Msg-Length at all, padding
    assert events(peer) == [AuthSucceeded("PAP", "peer", "", "")]


def test_remote_message_is_printed_as_pppd_does() -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.start(0.0)
    peer.receive(bytes.fromhex("0201 0009 04") + b"ok\x01\xe9", 0.0)
    assert events(peer) == [AuthSucceeded("PAP", "peer", "", "ok^AM-i")]


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (b"\x02\x01\x00", "rcvd short header"),
        (bytes.fromhex("0201 0003"), "rcvd illegal length"),
        (bytes.fromhex("0201 0009 00"), "rcvd short packet"),
        (bytes.fromhex("0201 0006 05 41"), "rcvd short packet"),
        (bytes.fromhex("0299 0005 00"), "AuthAck id=0x99 answers no request"),
        (bytes.fromhex("0101 0006 0000"), "unexpected AuthReq at the peer"),
        (bytes.fromhex("0701 0004"), "unexpected code=0x7 at the peer"),
    ],
)
def test_peer_drops_and_counts_bad_packets(info: bytes, reason: str) -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.start(0.0)
    peer.receive(info, 0.0)
    assert events(peer) == [AuthPacketDropped("PAP", reason, len(info))]
    assert peer.dropped == 1 and not peer.done


def test_packets_before_start_and_after_the_verdict_are_dropped() -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.receive(bytes.fromhex("0201 0005 00"), 0.0)
    assert events(peer) == [AuthPacketDropped("PAP", "authentication not started", 5)]
    peer.start(0.0)
    peer.receive(bytes.fromhex("0301 0005 00"), 0.0)
    peer.receive(bytes.fromhex("0201 0005 00"), 0.0)
    assert events(peer)[1:] == [
        AuthPacketDropped("PAP", "AuthAck after authentication finished", 5)
    ]
    assert peer.succeeded is False and peer.dropped == 2


@pytest.mark.parametrize(
    "info",
    [
        bytes.fromhex("0101 0004"),  # no Peer-ID-Length
        bytes.fromhex("0101 0007 05 6162"),  # Peer-ID runs past Length
        bytes.fromhex("0101 0006 00 05"),  # Passwd runs past Length
        bytes.fromhex("0101 0008 0161 0262 ffff"),  # Length cuts the password
    ],
)
def test_authenticator_drops_malformed_requests(info: bytes) -> None:
    auth = PapAuthenticator(SECRETS)
    auth.start(0.0)
    auth.receive(info, 0.0)
    assert events(auth) == [AuthPacketDropped("PAP", "rcvd short packet", len(info))]
    assert auth.packets_to_send() == [] and not auth.done


def test_authenticator_drops_answers_and_requests_before_start() -> None:
    auth = PapAuthenticator(SECRETS)
    auth.receive(bytes.fromhex("0101 0006 0000"), 0.0)
    auth.start(0.0)
    auth.receive(bytes.fromhex("0201 0005 00"), 0.0)
    assert [e.reason for e in events(auth) if isinstance(e, AuthPacketDropped)] == [
        "authentication not started",
        "unexpected AuthAck at the authenticator",
    ]


# -- MRU, misuse, secrets -------------------------------------------------------------


def test_request_and_answer_fit_a_small_mru() -> None:
    peer, auth = PapPeer("alice", PASSWORD), PapAuthenticator(SECRETS)
    peer.max_packet = 12
    auth.max_packet = 9
    peer.start(0.0)
    auth.start(0.0)
    (request,) = peer.packets_to_send()
    assert request == bytes.fromhex("0101 000c 05") + b"alice" + b"\x01p"
    auth.receive(request, 0.0)
    assert auth.packets_to_send() == [bytes.fromhex("0301 0009 04") + b"Logi"]


def test_a_packet_that_cannot_fit_is_not_sent() -> None:
    peer = PapPeer("alice", PASSWORD)
    peer.max_packet = 5
    peer.start(0.0)
    assert peer.packets_to_send() == []
    assert events(peer) == [AuthPacketDropped("PAP", "not sent: longer than the peer's MRU 5", 6)]


def test_misuse_raises() -> None:
    with pytest.raises(ValueError, match="255"):
        PapPeer("x" * 256, b"")
    with pytest.raises(ValueError, match="restart"):
        PapPeer("x", b"", restart=0)
    peer = PapPeer("x", b"")
    peer.start(0.0)
    with pytest.raises(RuntimeError, match="already started"):
        peer.start(1.0)


def test_secrets_never_in_repr_or_events() -> None:
    password = b"Sekr1t-PAP-pw"
    for wrong in (False, True):
        peer = PapPeer("alice", b"nope" if wrong else password)
        auth = PapAuthenticator({"alice": password})
        auth.start(0.0)
        peer.max_packet = 5  # the first request cannot be sent: reported
        peer.start(0.0)
        peer.max_packet = 1500
        peer.handle_timer(3.0)
        pump(peer, auth, 3.0)
        auth.receive(bytes.fromhex("0101 0004"), 4.0)
        peer.receive(bytes.fromhex("0201 0005 00"), 4.0)
        texts = [repr(peer), str(peer), repr(auth), str(auth)]
        texts += [repr(e) for core in (peer, auth) for e in events(core)]
        assert len(texts) >= 8
        for text in texts:
            assert "Sekr1t" not in text and "nope" not in text
    assert "alice" in repr(PapPeer("alice", password))


def test_pppd_text_helpers() -> None:
    assert pppd_quoted(b'a"b\\c\td\x01\x9f\xa0') == 'a\\"b\\\\c\\td\\x01\\x9f\\xa0'
    assert pppd_quoted("zoë".encode()) == "zoë"
    assert pppd_visible(b"a\tb\x7f\x80\x89\xff") == "a\tb^?M-^@M-\tM-^?"


# -- fuzz ---------------------------------------------------------------------------


def check_sent(core: AuthCore, packets: list[bytes]) -> None:
    for packet in packets:
        assert 4 <= len(packet) <= core.max_packet
        assert int.from_bytes(packet[2:4], "big") == len(packet)


def check_events(core: AuthCore) -> None:
    """Every event is one of the three, each field of its declared type."""
    for event in events(core):
        assert isinstance(event, AuthSucceeded | AuthFailed | AuthPacketDropped)
        for field in fields(event):
            assert type(getattr(event, field.name)).__name__ == field.type
        assert event.protocol == core.protocol
        if isinstance(event, AuthPacketDropped):
            assert event.length >= 0
        else:
            assert event.role in ("peer", "authenticator")


def packet_bytes() -> st.SearchStrategy[bytes]:
    """Raw bytes, and well-framed packets (codes 0-4, ids 0-3) with any body and padding."""
    framed = st.builds(
        lambda code, ident, body, pad: (
            bytes((code, ident)) + (4 + len(body)).to_bytes(2, "big") + body + pad
        ),
        st.integers(0, 4),
        st.integers(0, 3),
        st.binary(max_size=40),
        st.binary(max_size=3),
    )
    return st.one_of(st.binary(max_size=60), framed)


# (what, side, number, octets): side 0 is the peer, 1 the authenticator.
Action = tuple[str, int, int, bytes]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.integers(0, 1), st.just(0), st.just(b"")),
        st.tuples(st.just("timer"), st.just(0), st.integers(0, 40), st.just(b"")),
        st.tuples(st.just("inject"), st.integers(0, 1), st.just(0), packet_bytes()),
        st.tuples(st.just("deliver"), st.integers(0, 1), st.integers(0, 3), st.just(b"")),
        st.tuples(st.just("mru"), st.integers(0, 1), st.integers(1, 80), st.just(b"")),
        st.tuples(st.just("flush"), st.just(0), st.just(0), st.just(b"")),
        st.tuples(st.just("flush"), st.just(0), st.just(0), st.just(b"")),
    ),
    max_size=40,
)


def run_actions(cores: tuple[AuthCore, AuthCore], actions: list[Action], begin: bool) -> None:
    """Drive two cores that talk to each other, with losses, copies, cuts and junk."""
    queues: tuple[list[bytes], list[bytes]] = ([], [])

    def collect() -> None:
        for index, core in enumerate(cores):
            sent = core.packets_to_send()
            check_sent(core, sent)
            queues[index].extend(sent)
            check_events(core)
            assert core.done == (core.succeeded is not None)

    started = [begin, begin]
    for core in cores if begin else ():
        core.start(0.0)
    collect()
    now = 0.0
    for what, side, number, octets in actions:
        if what == "start" and not started[side]:
            cores[side].start(now)
            started[side] = True
        elif what == "timer":
            now += number / 2
            for core in cores:
                core.handle_timer(now)
        elif what == "inject":
            cores[side].receive(octets, now)
        elif what == "mru":
            cores[side].max_packet = number
        elif what == "deliver" and queues[side]:
            packet = queues[side].pop(0)  # number: 0 deliver, 1 lose, 2 twice, 3 cut short
            if number == 3:
                packet = packet[: len(packet) // 2]
            for _ in range({0: 1, 1: 0, 2: 2, 3: 1}[number]):
                cores[1 - side].receive(packet, now)
        elif what == "flush":  # everything queued, both ways
            for index in (0, 1):
                while queues[index]:
                    cores[1 - index].receive(queues[index].pop(0), now)
        collect()


@settings(max_examples=300, deadline=None)
@given(ACTIONS, st.integers(20, 64), st.integers(20, 64), st.booleans(), st.booleans())
def test_fuzz_never_raises_and_keeps_packets_within_mru(
    actions: list[Action], mru_peer: int, mru_auth: int, right: bool, begin: bool
) -> None:
    peer = PapPeer("alice", PASSWORD if right else b"x", restart=2.0, max_requests=4)
    auth = PapAuthenticator(SECRETS, timeout=10.0)
    peer.max_packet, auth.max_packet = mru_peer, mru_auth
    run_actions((peer, auth), actions, begin)


@settings(max_examples=300, deadline=None)
@given(st.lists(packet_bytes(), max_size=20), st.integers(0, 2), st.integers(20, 64))
def test_any_bytes_in_any_state(infos: list[bytes], state: int, mru: int) -> None:
    """Each core alone, idle, started or finished, fed anything."""
    for core in (PapPeer("alice", PASSWORD), PapAuthenticator(SECRETS)):
        core.max_packet = mru
        if state >= 1:
            core.start(0.0)
        if state == 2:
            core.receive(bytes.fromhex("0201 0005 00"), 0.0)
            core.receive(bytes.fromhex("0101 0009 0161 0378 7878"), 0.0)
        for info in infos:
            core.receive(info, 1.0)
            check_sent(core, core.packets_to_send())
            check_events(core)
