"""CHAP-MD5 (RFC 1994): the hash, a known answer, both sides in memory, timers, fuzz."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pap import ACTIONS, Action, check_events, check_sent, events, packet_bytes, pump
from test_pap import run_actions as run_pap_actions

from modememu.link.ppp.auth import AuthCore, AuthFailed, AuthPacketDropped, AuthSucceeded
from modememu.link.ppp.chap import ChapAuthenticator, ChapPeer, chap_md5

SECRET = b"s3cret-chap"
SECRETS = {"client": SECRET, "other": b"x"}
GRANTED = bytes.fromhex("0300 0012") + b"Access granted"
DENIED = bytes.fromhex("0400 0011") + b"Access denied"


def scripted(*chunks: bytes) -> Callable[[int], bytes]:
    """A `random` that hands out the given octets in order, then a seeded stream."""
    queue = list(chunks)
    rest = random.Random(1994).randbytes

    def take(n: int) -> bytes:
        return queue.pop(0) if queue else rest(n)

    return take


def with_id(packet: bytes, ident: int) -> bytes:
    return packet[:1] + bytes((ident,)) + packet[2:]


def response_to(challenge: bytes, secret: bytes, name: bytes, value: bytes | None = None) -> bytes:
    """A Response built here, independently of ChapPeer."""
    ident, size = challenge[1], challenge[4]
    md5 = hashlib.md5()
    md5.update(challenge[1:2])
    md5.update(secret)
    md5.update(challenge[5 : 5 + size])
    body = value if value is not None else md5.digest()
    return (
        bytes((2, ident))
        + (5 + len(body) + len(name)).to_bytes(2, "big")
        + bytes((len(body),))
        + body
        + name
    )


def pair(secret: bytes = SECRET, name: str = "client") -> tuple[ChapPeer, ChapAuthenticator]:
    peer = ChapPeer(name, secret)
    auth = ChapAuthenticator("isp", SECRETS, scripted(b"\x29", b"\x03", bytes(range(19))))
    peer.start(0.0)
    auth.start(0.0)
    return peer, auth


# -- the hash --------------------------------------------------------------------------


def test_md5_matches_an_independent_computation() -> None:
    value = bytes(range(16))
    # coreutils: printf '\x2asecret\x00\x01...\x0f' | md5sum
    assert chap_md5(0x2A, b"secret", value).hex() == "03dc98c5a832692b49df73cf48fcb4e9"
    for ident in (0, 0x7F, 0xFF):
        md5 = hashlib.md5()
        for part in (bytes((ident,)), SECRET, value):
            md5.update(part)
        assert chap_md5(ident, SECRET, value) == md5.digest()


def test_known_answer_from_the_peer() -> None:
    peer = ChapPeer("client", b"secret")
    peer.start(0.0)
    challenge = bytes.fromhex("012a 0018 10") + bytes(range(16)) + b"isp"
    peer.receive(challenge, 0.0)
    digest = bytes.fromhex("03dc98c5a832692b49df73cf48fcb4e9")
    assert peer.packets_to_send() == [bytes.fromhex("022a 001b 10") + digest + b"client"]
    assert peer.get_timer() is None and not peer.done


# -- the exchange ---------------------------------------------------------------------


def test_success_both_sides() -> None:
    peer, auth = pair()
    carried = pump(peer, auth, 0.0)
    challenge = bytes.fromhex("012a 001b 13") + bytes(range(19)) + b"isp"
    assert carried == [
        challenge,
        response_to(challenge, SECRET, b"client"),
        with_id(GRANTED, 0x2A),
    ]
    assert peer.succeeded is True and auth.succeeded is True
    assert events(auth) == [AuthSucceeded("CHAP", "authenticator", "client", "Access granted")]
    assert events(peer) == [AuthSucceeded("CHAP", "peer", "isp", "Access granted")]
    assert auth.get_timer() is None


@pytest.mark.parametrize(("name", "secret"), [("client", b"wrong"), ("nobody", SECRET)])
def test_wrong_secret_or_unknown_name_fails_both_sides(name: str, secret: bytes) -> None:
    peer, auth = pair(secret, name)
    carried = pump(peer, auth, 0.0)
    assert carried[-1] == with_id(DENIED, 0x2A)
    assert peer.succeeded is False and auth.succeeded is False
    assert events(auth) == [
        AuthFailed("CHAP", "authenticator", name, f"Peer {name} failed CHAP authentication")
    ]
    assert events(peer) == [
        AuthFailed("CHAP", "peer", "isp", "CHAP authentication failed: Access denied")
    ]


def test_response_with_wrong_id_is_dropped() -> None:
    _peer, auth = pair()
    (challenge,) = auth.packets_to_send()
    wrong = with_id(response_to(challenge, SECRET, b"client"), 0x2B)
    auth.receive(wrong, 1.0)
    assert events(auth) == [
        AuthPacketDropped("CHAP", "Response id=0x2b does not match Challenge id=0x2a", len(wrong))
    ]
    assert auth.packets_to_send() == [] and not auth.done and auth.dropped == 1
    auth.receive(response_to(challenge, SECRET, b"client"), 1.0)
    assert auth.succeeded is True


@pytest.mark.parametrize("size", [0, 15, 17, 255])
def test_value_size_other_than_16_fails(size: int) -> None:
    _peer, auth = pair()
    (challenge,) = auth.packets_to_send()
    good = response_to(challenge, SECRET, b"client")
    value = (good[5:21] * 16)[:size]
    auth.receive(response_to(challenge, SECRET, b"client", value), 1.0)
    assert auth.packets_to_send() == [with_id(DENIED, 0x2A)]
    assert events(auth) == [
        AuthFailed("CHAP", "authenticator", "client", "Peer client failed CHAP authentication")
    ]


def test_peer_answers_every_challenge_with_its_own_id() -> None:
    peer = ChapPeer("client", SECRET)
    peer.start(0.0)
    first = bytes.fromhex("0107 0015 10") + bytes(16)
    second = bytes.fromhex("0108 0016 11") + bytes(range(17))
    for challenge in (first, first, second):
        peer.receive(challenge, 0.0)
    assert peer.packets_to_send() == [
        response_to(first, SECRET, b"client"),
        response_to(first, SECRET, b"client"),
        response_to(second, SECRET, b"client"),
    ]
    peer.receive(with_id(GRANTED, 8), 0.0)
    peer.receive(with_id(GRANTED, 8), 0.0)  # the answer to a repeated Response
    third = bytes.fromhex("0109 0015 10") + bytes(range(16))  # chap-interval rechallenge
    peer.receive(third, 9.0)
    assert peer.packets_to_send() == [response_to(third, SECRET, b"client")]
    assert events(peer) == [
        AuthSucceeded("CHAP", "peer", "", "Access granted"),
        AuthPacketDropped("CHAP", "Success after authentication finished", 18),
    ]


def test_repeated_response_gets_the_same_verdict_again() -> None:
    for secret, verdict in ((SECRET, GRANTED), (b"bad", DENIED)):
        _peer, auth = pair(secret)
        (challenge,) = auth.packets_to_send()
        response = response_to(challenge, secret, b"client")
        for _ in range(3):
            auth.receive(response, 1.0)
        assert auth.packets_to_send() == [with_id(verdict, 0x2A)] * 3
        assert len(events(auth)) == 1
        auth.receive(with_id(response, 0x29), 2.0)  # another id: still ignored
        assert auth.packets_to_send() == [] and auth.dropped == 1


def test_each_challenge_has_a_new_id_and_a_new_value() -> None:
    auth = ChapAuthenticator("isp", SECRETS, random.Random(5).randbytes)
    auth.start(0.0)
    sent = auth.packets_to_send()
    while (deadline := auth.get_timer()) is not None:
        auth.handle_timer(deadline)
        sent += auth.packets_to_send()
    assert len(sent) == 10
    ids = [packet[1] for packet in sent]
    assert ids == [(ids[0] + n) & 0xFF for n in range(10)]
    values = [packet[5 : 5 + packet[4]] for packet in sent]
    assert len(set(values)) == 10
    assert all(16 <= len(value) <= 23 for value in values)  # pppd's 16 + 0..7
    assert all(packet.endswith(b"isp") and packet[0] == 1 for packet in sent)


def test_retransmission_schedule_is_exact() -> None:
    auth = ChapAuthenticator("isp", SECRETS, scripted(b"\xfe"))
    auth.start(100.0)
    sent = auth.packets_to_send()
    deadlines = []
    while (deadline := auth.get_timer()) is not None:
        deadlines.append(deadline)
        auth.handle_timer(deadline - 0.1)
        assert auth.packets_to_send() == []
        auth.handle_timer(deadline)
        sent += auth.packets_to_send()
    assert deadlines == [100.0 + 3.0 * n for n in range(1, 11)]
    assert [packet[1] for packet in sent] == [0xFF, *range(9)]  # wraps after 0xff
    assert events(auth) == [
        AuthFailed("CHAP", "authenticator", "", "Peer failed to respond to CHAP challenge")
    ]
    late = response_to(sent[-1], SECRET, b"client")
    auth.receive(late, 131.0)
    assert auth.packets_to_send() == [bytes.fromhex("0408 0004")]  # Failure, no message


def test_answer_to_an_older_challenge_is_dropped_then_the_new_one_works() -> None:
    peer, auth = pair()
    (first,) = auth.packets_to_send()
    auth.handle_timer(3.0)
    (second,) = auth.packets_to_send()
    assert second[1] == first[1] + 1 and second[5:] != first[5:]
    peer.receive(first, 3.5)
    auth.receive(peer.packets_to_send()[0], 3.5)
    assert not auth.done and auth.dropped == 1
    peer.receive(second, 3.6)
    pump(peer, auth, 3.6)
    assert peer.succeeded is True and auth.succeeded is True


# -- the peer's odd input -----------------------------------------------------------


def test_peer_drops_status_before_any_response_and_words_an_empty_failure() -> None:
    peer = ChapPeer("client", SECRET)
    peer.start(0.0)
    peer.receive(bytes.fromhex("0301 0004"), 0.0)
    assert events(peer) == [AuthPacketDropped("CHAP", "Success before any Response", 4)]
    peer.receive(bytes.fromhex("0101 0015 10") + bytes(16), 0.0)
    peer.receive(bytes.fromhex("0401 0004 00"), 0.0)  # no message, one octet of padding
    assert events(peer) == [AuthFailed("CHAP", "peer", "", "CHAP authentication failed")]


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (b"\x01", "rcvd short header"),
        (bytes.fromhex("0101 0002"), "rcvd illegal length"),
        (bytes.fromhex("0101 0010 00"), "rcvd short packet"),
        (bytes.fromhex("0101 0005 00"), "rcvd short packet"),  # no octet after Value-Size
        (bytes.fromhex("0101 0007 05 0102"), "rcvd short packet"),  # Value past Length
        (bytes.fromhex("0201 0006 0000"), "unexpected Response at the peer"),
        (bytes.fromhex("0901 0004"), "unexpected code=0x9 at the peer"),
    ],
)
def test_peer_drops_and_counts_bad_packets(info: bytes, reason: str) -> None:
    peer = ChapPeer("client", SECRET)
    peer.start(0.0)
    peer.receive(info, 0.0)
    assert events(peer) == [AuthPacketDropped("CHAP", reason, len(info))]
    assert peer.packets_to_send() == [] and peer.dropped == 1


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (bytes.fromhex("012a 0006 0000"), "unexpected Challenge at the authenticator"),
        (bytes.fromhex("032a 0004"), "unexpected Success at the authenticator"),
        (bytes.fromhex("022a 0005 00"), "rcvd short packet"),
        (bytes.fromhex("022a 0008 10 000000"), "rcvd short packet"),
    ],
)
def test_authenticator_drops_bad_packets(info: bytes, reason: str) -> None:
    _peer, auth = pair()
    auth.packets_to_send()
    auth.receive(info, 0.0)
    assert events(auth) == [AuthPacketDropped("CHAP", reason, len(info))]
    assert not auth.done


def test_packets_before_start_are_dropped() -> None:
    for core in (ChapPeer("c", b"s"), ChapAuthenticator("isp", SECRETS, scripted())):
        core.receive(bytes.fromhex("0101 0015 10") + bytes(16), 0.0)
        assert events(core) == [AuthPacketDropped("CHAP", "authentication not started", 21)]
        assert core.packets_to_send() == []


# -- MRU, misuse, secrets ------------------------------------------------------------


def test_challenge_and_response_fit_a_small_mru() -> None:
    octets = scripted(b"\x00", b"\x07", bytes(21), b"\x07", bytes(range(17)))
    auth = ChapAuthenticator("isp", {"cli": SECRET}, octets)
    auth.max_packet = 26  # 23 octets of value chosen, 21 fit, no room for the name
    auth.start(0.0)
    assert auth.packets_to_send() == [bytes.fromhex("0101 001a 15") + bytes(21)]
    auth.max_packet = 22
    auth.handle_timer(3.0)
    (challenge,) = auth.packets_to_send()
    assert challenge == bytes.fromhex("0102 0016 11") + bytes(range(17))
    peer = ChapPeer("client", SECRET)
    peer.max_packet = 24  # the name is cut
    peer.start(0.0)
    peer.receive(challenge, 3.0)
    (response,) = peer.packets_to_send()
    assert response == response_to(challenge, SECRET, b"cli")
    peer.max_packet = 20  # no room for the 16-octet value: nothing can be sent
    peer.receive(challenge, 3.0)
    assert peer.packets_to_send() == []
    assert events(peer) == [
        AuthPacketDropped("CHAP", "not sent: longer than the peer's MRU 20", 21)
    ]
    auth.receive(response, 3.0)
    assert auth.packets_to_send() == [bytes.fromhex("0302 0012") + b"Access granted"]


def test_misuse_raises() -> None:
    with pytest.raises(ValueError, match="random"):
        ChapAuthenticator("isp", SECRETS, lambda n: b"").start(0.0)
    with pytest.raises(ValueError, match="255"):
        ChapPeer("n" * 256, b"")
    with pytest.raises(ValueError, match="max_challenges"):
        ChapAuthenticator("isp", SECRETS, scripted(), max_challenges=0)
    peer = ChapPeer("c", b"s")
    peer.start(0.0)
    with pytest.raises(RuntimeError, match="already started"):
        peer.start(0.0)


def test_secrets_never_in_repr_or_events() -> None:
    secret = b"Sekr1t-CHAP"
    for peer_secret in (secret, b"nope-wrong"):
        peer = ChapPeer("client", peer_secret)
        auth = ChapAuthenticator("isp", {"client": secret}, scripted())
        peer.start(0.0)
        auth.start(0.0)
        pump(peer, auth, 0.0)
        peer.max_packet = 10
        peer.receive(bytes.fromhex("0101 0015 10") + bytes(16), 1.0)
        auth.receive(b"\x02\x00\x00\x04", 1.0)
        texts = [repr(peer), str(peer), repr(auth), str(auth)]
        texts += [repr(e) for core in (peer, auth) for e in events(core)]
        assert len(texts) >= 8
        for text in texts:
            assert "Sekr1t" not in text and "nope" not in text
    assert "client" in repr(ChapPeer("client", secret))


# -- fuzz --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    ACTIONS,
    st.tuples(st.integers(20, 64), st.integers(20, 64)),
    st.booleans(),
    st.booleans(),
    st.integers(0, 255),
)
def test_fuzz_never_raises_and_keeps_packets_within_mru(
    actions: list[Action], mrus: tuple[int, int], right: bool, begin: bool, first_id: int
) -> None:
    peer = ChapPeer("client", SECRET if right else b"x")
    auth = ChapAuthenticator(
        "isp", SECRETS, scripted(bytes((first_id,))), restart=2.0, max_challenges=4
    )
    peer.max_packet, auth.max_packet = mrus
    run_pap_actions((peer, auth), actions, begin)


@settings(max_examples=300, deadline=None)
@given(st.lists(packet_bytes(), max_size=20), st.integers(0, 2), st.integers(20, 64))
def test_any_bytes_in_any_state(infos: list[bytes], state: int, mru: int) -> None:
    """Each core alone, idle, started or finished, fed anything."""
    cores: tuple[AuthCore, AuthCore] = (
        ChapPeer("client", SECRET),
        ChapAuthenticator("isp", SECRETS, scripted(b"\x00")),
    )
    for core in cores:
        core.max_packet = mru
        if state >= 1:
            core.start(0.0)
        if state == 2:  # finished: the peer failed, the authenticator gave up
            core.receive(bytes.fromhex("0101 0015 10") + bytes(16), 0.0)
            core.receive(bytes.fromhex("0401 0004"), 0.0)
            while (deadline := core.get_timer()) is not None:
                core.handle_timer(deadline)
            assert core.done
        for info in infos:
            core.receive(info, 1.0)
            check_sent(core, core.packets_to_send())
            check_events(core)
