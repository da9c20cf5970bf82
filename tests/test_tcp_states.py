"""TCP's states against every kind of arriving segment, judged by RFC 9293, 5961 and 6298.

The heart is TABLE: for each state (rows) and each kind of segment (columns)
the answer RFC 9293 §3.10.7 gives, with RFC 5961's defences as 9293 folds them
in: the segments sent back (flags, SEQ, ACK, written in the RFC's own terms and
evaluated against the connection's variables), the state after, the challenge
ACKs and the end of the connection. Every cell is a test of its own; a missing
cell fails visibly (test_table_has_every_cell).

A "peer" here is this test: it builds segments with wire.build_tcp and
ipv4.build_ipv4 from 10.0.0.2 and reads the stack's answers off its packet
queue. Both ISNs are fixed close to 2**32, so every cell also crosses the
sequence-number wrap. The expected values come from what the test itself drove
(its ISNs, the octets it made the stack send), never from the connection's
internals.

Where RFC 9293 + RFC 5961 leave a choice, the cell says `# choice:` and why:

* SYN-RECEIVED and an unacceptable ACK: RFC 9293's fifth step opens with RFC
  5961 §5's "discard and send an ACK", then says for SYN-RECEIVED "form a reset
  <SEQ=SEG.ACK><CTL=RST>". The state is not yet synchronized and §3.5.2 (reset
  generation, case 2) asks for the reset too, so the table expects the RST.
* SYN-RECEIVED and the peer's SYN again (SEG.SEQ = IRS): the first check's
  <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> would be dropped by a peer in SYN-SENT
  (no SYN in it); the table expects our SYN,ACK again, which carries the same
  acknowledgment (Linux's tcp_check_req does the same).
* SYN-RECEIVED (passive) and an in-window SYN or RST: "return to LISTEN". The
  stack keeps the listener apart from the embryonic connection, so that
  connection ends (ConnectionEnded "reset by peer", the user never saw it)
  and the listener still answers a new SYN.
* SYN-SENT and a RST: RCV.NXT is not known yet, so RFC 5961's sequence check
  cannot apply; the RST counts when its ACK acknowledges our SYN (RFC 5961
  §3.2) and ends the connection as "refused".
* Text after the peer's FIN (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT): the
  seventh step says "ignore the segment text". The table expects it ignored
  (not delivered, RCV.NXT unchanged) and answered with a duplicate ACK
  <SEQ=SND.NXT><ACK=RCV.NXT>; staying silent would conform as well.
* An out-of-window SYN in a synchronized state: RFC 9293 runs the sequence
  check first, so it gets the first check's ACK (the same segment as a
  challenge ACK) and is not counted as a challenge.
* An ACK outside RFC 5961's range is answered like a challenge ACK and counted
  against the same per-connection limit (RFC 5961 §7).
* TIME-WAIT: the fifth step ("the only thing that can arrive ... is a
  retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL
  timeout") presumes a FIN. A bare ACK there gets no answer; whether an
  in-window segment without FIN restarts the timer is left open (time_wait
  None). A retransmitted FIN (before RCV.NXT, so the first check catches it)
  is re-ACKed and restarts the timer, as the eighth step does for a FIN.
* RST in TIME-WAIT closes the connection as RFC 9293 says (RFC 1337's
  "ignore it" is not followed).
* A second FIN exactly at RCV.NXT in CLOSE-WAIT, CLOSING, LAST-ACK or
  TIME-WAIT is taken literally by the eighth step: RCV.NXT advances over it
  and it is acknowledged; the state stays.
* Table 6 literally: a segment that starts before RCV.NXT and ends past the
  right window edge has neither end in the window and is not acceptable.

After the table: the user's SEND, CLOSE and ABORT in each state (§3.10.2-5),
simultaneous open and close (Figures 7 and 13), RFC 5961 challenge ACKs and
their per-connection limit, zero windows and silly-window avoidance (§3.8.6),
the SYN / SYN-ACK / FIN retransmission schedule and RFC 6298 §5.7, TIME-WAIT,
the MSS option, and hypothesis throwing bytes and segments at every state.
Where the implementation disagrees with the RFC, the test is a strict xfail
whose reason quotes the rule.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcppair import A_ADDR, B_ADDR, TcpPair

from modememu.net import events as ev
from modememu.net.checksum import internet_checksum, pseudo_header_sum
from modememu.net.ipv4 import PROTO_TCP, build_ipv4, parse_address, parse_ipv4
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpConfig, TcpState
from modememu.net.tcp.isn import IsnGenerator
from modememu.net.tcp.wire import (
    ACK,
    DEFAULT_MSS,
    FIN,
    MIN_MSS,
    PSH,
    RST,
    SYN,
    TcpSegment,
    build_tcp,
    flag_names,
    parse_tcp,
)

S = TcpState
MOD = 1 << 32
US = "10.0.0.1"
PEER = "10.0.0.2"
US_PORT = 7000
PEER_PORT = 40000
OUR_ISS = 0xFFFF_FFF8  # SYN + 10 octets + FIN cross 2**32
PEER_ISS = 0xFFFF_FFF0  # RCV.NXT + 100 crosses 2**32
PEER_WND = 20000  # every window the peer announces: MAX.SND.WND
RCV_WND = 65535  # ours: TcpConfig's receive_buffer, nothing unread
MSL = 5.0
T0 = 1000.0
CONFIG = TcpConfig(msl=MSL)
DATA = b"hello"
SENT = b"0123456789"  # what ESTABLISHED has sent and the peer has not acknowledged


class FixedIsn(IsnGenerator):
    """Every connection starts at `iss`: the test knows ISS without looking inside."""

    def __init__(self, iss: int) -> None:
        super().__init__(b"k" * 16)
        self.iss = iss

    def __call__(
        self, local: bytes, local_port: int, remote: bytes, remote_port: int, now: float
    ) -> int:
        return self.iss


def seg(
    flags: int,
    seq: int,
    ack: int = 0,
    payload: bytes = b"",
    *,
    sport: int = PEER_PORT,
    window: int = PEER_WND,
    mss: int | None = None,
) -> TcpSegment:
    """A segment from the peer to our port."""
    return TcpSegment(sport, US_PORT, seq % MOD, ack % MOD, flags, window, payload, mss=mss)


class Peer:
    """The remote host, driven by hand: one NetStack at 10.0.0.1, this test at 10.0.0.2."""

    def __init__(self, config: TcpConfig = CONFIG, iss: int = OUR_ISS) -> None:
        self.stack = NetStack(US, config=config, isn=FixedIsn(iss))
        self.now = T0
        self.src = parse_address(PEER)
        self.dst = parse_address(US)

    def inject(self, segment: TcpSegment) -> None:
        tcp = build_tcp(self.src, self.dst, segment)
        self.stack.receive_packet(build_ipv4(self.src, self.dst, PROTO_TCP, tcp), self.now)

    def replies(self) -> list[TcpSegment]:
        out = []
        while (packet := self.stack.next_packet()) is not None:
            ip = parse_ipv4(packet)
            assert (ip.src, ip.dst) == (self.dst, self.src)
            out.append(parse_tcp(ip.src, ip.dst, ip.payload))
        return out

    def events(self) -> list[ev.NetEvent]:
        out = []
        while (event := self.stack.next_event()) is not None:
            out.append(event)
        return out

    def advance(
        self, until: float
    ) -> tuple[list[tuple[float, TcpSegment]], list[tuple[float, ev.NetEvent]]]:
        """Fire the timers due up to `until`; what was sent and what happened, with times."""
        sent: list[tuple[float, TcpSegment]] = []
        happened: list[tuple[float, ev.NetEvent]] = []
        for _ in range(10_000):
            deadline = self.stack.get_timer()
            if deadline is None or deadline > until:
                break
            self.now = max(self.now, deadline)
            self.stack.handle_timer(self.now)
            sent += [(self.now, s) for s in self.replies()]
            happened += [(self.now, e) for e in self.events()]
        else:
            raise AssertionError("timers never settled")
        if not math.isinf(until):
            self.now = max(self.now, until)
        return sent, happened


def shape(s: TcpSegment) -> tuple[str, int, int | None, int]:
    """Flags, SEQ, ACK (only when the ACK flag makes it meaningful), payload length."""
    return flag_names(s.flags), s.seq, s.ack if s.flags & ACK else None, len(s.payload)


def expect_sent(peer: Peer, *wanted: tuple[int, int, int | None, int]) -> list[TcpSegment]:
    got = peer.replies()
    assert [shape(s) for s in got] == [
        (flag_names(f), seq % MOD, None if a is None else a % MOD, n) for f, seq, a, n in wanted
    ]
    return got


# -- driving a connection into each state ----------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """The connection's variables as the test drove them (RFC 9293 §3.3.1 names)."""

    cid: int | None
    iss: int
    snd_una: int
    snd_nxt: int
    irs: int
    rcv_nxt: int


def _only_connection(peer: Peer) -> int:
    (conn,) = peer.stack.connections
    return conn.connection


def setup_closed(peer: Peer, port: int = PEER_PORT) -> Ctx:
    del port
    return Ctx(None, OUR_ISS, OUR_ISS, OUR_ISS + 1, PEER_ISS, PEER_ISS + 1)


def setup_listen(peer: Peer, port: int = PEER_PORT) -> Ctx:
    peer.stack.listen(US_PORT)
    return setup_closed(peer, port)


def setup_syn_sent(peer: Peer, port: int = PEER_PORT) -> Ctx:
    cid = peer.stack.connect(PEER, port, peer.now, local_port=US_PORT)
    (syn,) = expect_sent(peer, (SYN, OUR_ISS, None, 0))
    assert syn.mss == CONFIG.mss
    assert peer.stack.state(cid) is S.SYN_SENT
    return Ctx(cid, OUR_ISS, OUR_ISS, OUR_ISS + 1, PEER_ISS, PEER_ISS + 1)


def setup_syn_received_passive(peer: Peer, port: int = PEER_PORT) -> Ctx:
    peer.stack.listen(US_PORT)
    peer.inject(seg(SYN, PEER_ISS, sport=port, mss=1460))
    expect_sent(peer, (SYN | ACK, OUR_ISS, PEER_ISS + 1, 0))
    cid = _only_connection(peer)
    assert peer.stack.state(cid) is S.SYN_RECEIVED
    return Ctx(cid, OUR_ISS, OUR_ISS, OUR_ISS + 1, PEER_ISS, PEER_ISS + 1)


def setup_syn_received_simultaneous(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_syn_sent(peer, port)
    peer.inject(seg(SYN, PEER_ISS, sport=port, mss=1460))
    expect_sent(peer, (SYN | ACK, OUR_ISS, PEER_ISS + 1, 0))
    assert peer.stack.state(ctx.cid or 0) is S.SYN_RECEIVED
    return ctx


def setup_established(peer: Peer, port: int = PEER_PORT) -> Ctx:
    """Open actively, then send 10 octets the peer has not acknowledged yet."""
    ctx = setup_syn_sent(peer, port)
    assert ctx.cid is not None
    peer.inject(seg(SYN | ACK, PEER_ISS, OUR_ISS + 1, sport=port, mss=1460))
    expect_sent(peer, (ACK, OUR_ISS + 1, PEER_ISS + 1, 0))
    assert peer.stack.send(ctx.cid, SENT, peer.now) == len(SENT)
    (data,) = peer.replies()
    assert (data.seq, data.ack, data.payload) == ((OUR_ISS + 1) % MOD, (PEER_ISS + 1) % MOD, SENT)
    assert data.flags & ACK and not data.flags & (SYN | FIN | RST)
    assert peer.stack.state(ctx.cid) is S.ESTABLISHED
    n = len(SENT)
    return Ctx(ctx.cid, OUR_ISS, OUR_ISS + 1, OUR_ISS + 1 + n, PEER_ISS, PEER_ISS + 1)


def setup_fin_wait_1(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_established(peer, port)
    assert ctx.cid is not None
    peer.stack.close(ctx.cid, peer.now)
    expect_sent(peer, (FIN | ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    assert peer.stack.state(ctx.cid) is S.FIN_WAIT_1
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt + 1, ctx.irs, ctx.rcv_nxt)


def setup_fin_wait_2(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_fin_wait_1(peer, port)
    assert ctx.cid is not None
    peer.inject(seg(ACK, ctx.rcv_nxt, ctx.snd_nxt, sport=port))
    expect_sent(peer)
    assert peer.stack.state(ctx.cid) is S.FIN_WAIT_2
    return Ctx(ctx.cid, ctx.iss, ctx.snd_nxt, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt)


def setup_close_wait(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_established(peer, port)
    assert ctx.cid is not None
    peer.inject(seg(FIN | ACK, ctx.rcv_nxt, ctx.snd_una, sport=port))
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 1, 0))
    assert peer.stack.state(ctx.cid) is S.CLOSE_WAIT
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt + 1)


def setup_closing(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_fin_wait_1(peer, port)
    assert ctx.cid is not None
    peer.inject(seg(FIN | ACK, ctx.rcv_nxt, ctx.snd_una, sport=port))  # ours not acknowledged
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 1, 0))
    assert peer.stack.state(ctx.cid) is S.CLOSING
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt + 1)


def setup_last_ack(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_close_wait(peer, port)
    assert ctx.cid is not None
    peer.stack.close(ctx.cid, peer.now)
    expect_sent(peer, (FIN | ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    assert peer.stack.state(ctx.cid) is S.LAST_ACK
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt + 1, ctx.irs, ctx.rcv_nxt)


def setup_time_wait(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_fin_wait_2(peer, port)
    assert ctx.cid is not None
    peer.inject(seg(FIN | ACK, ctx.rcv_nxt, ctx.snd_nxt, sport=port))
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 1, 0))
    assert peer.stack.state(ctx.cid) is S.TIME_WAIT
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt + 1)


Setup = Callable[[Peer, int], Ctx]
SETUPS: dict[str, Setup] = {
    "CLOSED": setup_closed,
    "LISTEN": setup_listen,
    "SYN-SENT": setup_syn_sent,
    "SYN-RECEIVED (passive)": setup_syn_received_passive,
    "SYN-RECEIVED (simultaneous)": setup_syn_received_simultaneous,
    "ESTABLISHED": setup_established,
    "FIN-WAIT-1": setup_fin_wait_1,
    "FIN-WAIT-2": setup_fin_wait_2,
    "CLOSE-WAIT": setup_close_wait,
    "CLOSING": setup_closing,
    "LAST-ACK": setup_last_ack,
    "TIME-WAIT": setup_time_wait,
}

# -- the kinds of arriving segment (columns) ------------------------------------------
# In CLOSED, LISTEN and SYN-SENT, RCV.NXT and IRS stand for PEER_ISS + 1 and PEER_ISS.

KINDS: dict[str, Callable[[Ctx], TcpSegment]] = {
    "SYN": lambda c: seg(SYN, c.rcv_nxt + 100),  # in the window
    "SYN old": lambda c: seg(SYN, c.irs),  # the peer's first SYN again
    "SYN-ACK": lambda c: seg(SYN | ACK, c.rcv_nxt + 100, c.snd_nxt),
    "SYN-ACK old": lambda c: seg(SYN | ACK, c.irs, c.snd_nxt),  # the peer's SYN-ACK again
    "ACK": lambda c: seg(ACK, c.rcv_nxt, c.snd_nxt),  # acknowledges all we sent
    "ACK nothing new": lambda c: seg(ACK, c.rcv_nxt, c.snd_una),
    "ACK old in MAX.SND.WND": lambda c: seg(ACK, c.rcv_nxt, c.snd_una - PEER_WND),
    "ACK above SND.NXT": lambda c: seg(ACK, c.rcv_nxt, c.snd_nxt + 1),
    "ACK below SND.UNA-MAX.SND.WND": lambda c: seg(ACK, c.rcv_nxt, c.snd_una - PEER_WND - 1),
    "RST at RCV.NXT": lambda c: seg(RST, c.rcv_nxt),
    "RST,ACK at RCV.NXT": lambda c: seg(RST | ACK, c.rcv_nxt, c.snd_nxt),
    "RST in window": lambda c: seg(RST, c.rcv_nxt + 100),
    "RST after window": lambda c: seg(RST, c.rcv_nxt + RCV_WND),
    "RST before RCV.NXT": lambda c: seg(RST, c.rcv_nxt - 1),
    "FIN": lambda c: seg(FIN | ACK, c.rcv_nxt, c.snd_una),  # acknowledges nothing new
    "FIN acking all": lambda c: seg(FIN | ACK, c.rcv_nxt, c.snd_nxt),
    "FIN old": lambda c: seg(FIN | ACK, c.rcv_nxt - 1, c.snd_nxt),  # a FIN already taken, again
    "data": lambda c: seg(ACK | PSH, c.rcv_nxt, c.snd_una, DATA),
    "data out of order": lambda c: seg(ACK | PSH, c.rcv_nxt + 100, c.snd_una, DATA),
    "data overlapping": lambda c: seg(ACK | PSH, c.rcv_nxt - 2, c.snd_una, DATA),  # "llo" new
    "data old": lambda c: seg(ACK | PSH, c.rcv_nxt - len(DATA), c.snd_una, DATA),
    "data without ACK": lambda c: seg(PSH, c.rcv_nxt, 0, DATA),
    "data with FIN": lambda c: seg(FIN | ACK | PSH, c.rcv_nxt, c.snd_una, DATA),
}


# -- expectations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One segment we must send, its SEQ and ACK in RFC terms ("SND.NXT", "SEG.SEQ+SEG.LEN")."""

    flags: int
    seq: str
    ack: str | None = None  # None: no ACK flag, the field means nothing


@dataclass(frozen=True)
class Cell:
    state: TcpState  # LISTEN: no connection left, the listener answers a new SYN
    replies: tuple[Reply, ...] = ()
    challenges: tuple[str, ...] = ()  # ChallengeAck causes, none throttled
    ended: str | None = None  # ConnectionEnded reason
    delivered: bytes = b""  # what the user can read afterwards
    time_wait: bool | None = False  # the 2 x MSL wait (re)started; None: either conforms
    deviation: str | None = None  # the implementation disagrees: strict xfail


# RFC 9293 §3.10.7.4 first check / seventh step: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
ACK_NOW = Reply(ACK, "SND.NXT", "RCV.NXT")
# §3.10.7.1 / §3.5.2: a reset for a segment with an ACK, and for one without.
RST_SEG_ACK = Reply(RST, "SEG.ACK")
RST_ACK_0 = Reply(RST | ACK, "0", "SEG.SEQ+SEG.LEN")
# §3.10.7.2 (LISTEN) and §3.10.7.3 (SYN-SENT, simultaneous open): <SEQ=ISS><ACK=RCV.NXT>.
SYN_ACK = Reply(SYN | ACK, "ISS", "SEG.SEQ+1")
SYN_ACK_AGAIN = Reply(SYN | ACK, "ISS", "RCV.NXT")
# §3.10.7.3: our SYN acknowledged: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, RCV.NXT = SEG.SEQ+1.
ACK_THE_SYN = Reply(ACK, "SND.NXT", "SEG.SEQ+1")


def acked(n: int) -> Reply:
    """The ACK after taking `n` sequence numbers (text and/or FIN) at RCV.NXT."""
    return Reply(ACK, "SND.NXT", f"RCV.NXT+{n}")


def cell(
    state: TcpState,
    *replies: Reply,
    challenges: tuple[str, ...] = (),
    ended: str | None = None,
    delivered: bytes = b"",
    time_wait: bool | None = False,
    deviation: str | None = None,
) -> Cell:
    return Cell(state, replies, challenges, ended, delivered, time_wait, deviation)


# The causes ChallengeAck names (RFC 5961 §3, §4, §5).
BY_SYN = ("SYN",)
BY_RST = ("RST in window",)
BY_ACK = ("ACK outside window",)


TABLE: dict[str, dict[str, Cell]] = {
    # §3.10.7.1: no TCB. Anything but a RST is reset; a RST is dropped.
    "CLOSED": {
        "SYN": cell(S.CLOSED, RST_ACK_0),
        "SYN old": cell(S.CLOSED, RST_ACK_0),
        "SYN-ACK": cell(S.CLOSED, RST_SEG_ACK),
        "SYN-ACK old": cell(S.CLOSED, RST_SEG_ACK),
        "ACK": cell(S.CLOSED, RST_SEG_ACK),
        "ACK nothing new": cell(S.CLOSED, RST_SEG_ACK),
        "ACK old in MAX.SND.WND": cell(S.CLOSED, RST_SEG_ACK),
        "ACK above SND.NXT": cell(S.CLOSED, RST_SEG_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.CLOSED, RST_SEG_ACK),
        "RST at RCV.NXT": cell(S.CLOSED),
        "RST,ACK at RCV.NXT": cell(S.CLOSED),
        "RST in window": cell(S.CLOSED),
        "RST after window": cell(S.CLOSED),
        "RST before RCV.NXT": cell(S.CLOSED),
        "FIN": cell(S.CLOSED, RST_SEG_ACK),
        "FIN acking all": cell(S.CLOSED, RST_SEG_ACK),
        "FIN old": cell(S.CLOSED, RST_SEG_ACK),
        "data": cell(S.CLOSED, RST_SEG_ACK),
        "data out of order": cell(S.CLOSED, RST_SEG_ACK),
        "data overlapping": cell(S.CLOSED, RST_SEG_ACK),
        "data old": cell(S.CLOSED, RST_SEG_ACK),
        "data without ACK": cell(S.CLOSED, RST_ACK_0),
        "data with FIN": cell(S.CLOSED, RST_SEG_ACK),
    },
    # §3.10.7.2: RST ignored, any ACK reset, SYN answered, the rest dropped.
    "LISTEN": {
        "SYN": cell(S.SYN_RECEIVED, SYN_ACK),
        "SYN old": cell(S.SYN_RECEIVED, SYN_ACK),
        "SYN-ACK": cell(S.LISTEN, RST_SEG_ACK),
        "SYN-ACK old": cell(S.LISTEN, RST_SEG_ACK),
        "ACK": cell(S.LISTEN, RST_SEG_ACK),
        "ACK nothing new": cell(S.LISTEN, RST_SEG_ACK),
        "ACK old in MAX.SND.WND": cell(S.LISTEN, RST_SEG_ACK),
        "ACK above SND.NXT": cell(S.LISTEN, RST_SEG_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.LISTEN, RST_SEG_ACK),
        "RST at RCV.NXT": cell(S.LISTEN),
        "RST,ACK at RCV.NXT": cell(S.LISTEN),
        "RST in window": cell(S.LISTEN),
        "RST after window": cell(S.LISTEN),
        "RST before RCV.NXT": cell(S.LISTEN),
        "FIN": cell(S.LISTEN, RST_SEG_ACK),
        "FIN acking all": cell(S.LISTEN, RST_SEG_ACK),
        "FIN old": cell(S.LISTEN, RST_SEG_ACK),
        "data": cell(S.LISTEN, RST_SEG_ACK),
        "data out of order": cell(S.LISTEN, RST_SEG_ACK),
        "data overlapping": cell(S.LISTEN, RST_SEG_ACK),
        "data old": cell(S.LISTEN, RST_SEG_ACK),
        "data without ACK": cell(S.LISTEN),  # fourth: "drop the segment and return"
        "data with FIN": cell(S.LISTEN, RST_SEG_ACK),
    },
    # §3.10.7.3: ACK checked first (ISS < SEG.ACK =< SND.NXT, else <SEQ=SEG.ACK><CTL=RST>),
    # then RST (only with an acceptable ACK), then SYN; without SYN or RST: dropped.
    "SYN-SENT": {
        "SYN": cell(S.SYN_RECEIVED, SYN_ACK),  # simultaneous open
        "SYN old": cell(S.SYN_RECEIVED, SYN_ACK),
        "SYN-ACK": cell(S.ESTABLISHED, ACK_THE_SYN),
        "SYN-ACK old": cell(S.ESTABLISHED, ACK_THE_SYN),
        "ACK": cell(S.SYN_SENT),  # acceptable, but neither SYN nor RST: fifth, drop
        "ACK nothing new": cell(S.SYN_SENT, RST_SEG_ACK),  # SEG.ACK =< ISS
        "ACK old in MAX.SND.WND": cell(S.SYN_SENT, RST_SEG_ACK),
        "ACK above SND.NXT": cell(S.SYN_SENT, RST_SEG_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.SYN_SENT, RST_SEG_ACK),
        "RST at RCV.NXT": cell(S.SYN_SENT),  # no ACK: dropped
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="refused"),  # choice: see docstring
        "RST in window": cell(S.SYN_SENT),
        "RST after window": cell(S.SYN_SENT),
        "RST before RCV.NXT": cell(S.SYN_SENT),
        "FIN": cell(S.SYN_SENT, RST_SEG_ACK),  # its ACK is ISS
        "FIN acking all": cell(S.SYN_SENT),
        "FIN old": cell(S.SYN_SENT),
        "data": cell(S.SYN_SENT, RST_SEG_ACK),
        "data out of order": cell(S.SYN_SENT, RST_SEG_ACK),
        "data overlapping": cell(S.SYN_SENT, RST_SEG_ACK),
        "data old": cell(S.SYN_SENT, RST_SEG_ACK),
        "data without ACK": cell(S.SYN_SENT),
        "data with FIN": cell(S.SYN_SENT, RST_SEG_ACK),
    },
    # §3.10.7.4 from the first check on; fourth: a passive SYN-RECEIVED returns to LISTEN;
    # fifth: SND.UNA < SEG.ACK =< SND.NXT enters ESTABLISHED, else <SEQ=SEG.ACK><CTL=RST>.
    "SYN-RECEIVED (passive)": {
        "SYN": cell(S.LISTEN, ended="reset by peer"),  # choice: see docstring
        "SYN old": cell(S.SYN_RECEIVED, SYN_ACK_AGAIN),  # choice: see docstring
        "SYN-ACK": cell(S.LISTEN, ended="reset by peer"),
        "SYN-ACK old": cell(S.SYN_RECEIVED, ACK_NOW),
        "ACK": cell(S.ESTABLISHED),
        "ACK nothing new": cell(S.SYN_RECEIVED, RST_SEG_ACK),  # choice: RST, see docstring
        "ACK old in MAX.SND.WND": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "ACK above SND.NXT": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "RST at RCV.NXT": cell(S.LISTEN, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.LISTEN, ended="reset by peer"),
        "RST in window": cell(S.SYN_RECEIVED, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.SYN_RECEIVED),
        "RST before RCV.NXT": cell(S.SYN_RECEIVED),
        "FIN": cell(S.SYN_RECEIVED, RST_SEG_ACK),  # its ACK (= ISS) is not acceptable
        "FIN acking all": cell(S.CLOSE_WAIT, acked(1)),
        "FIN old": cell(S.SYN_RECEIVED, ACK_NOW),
        "data": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data out of order": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data overlapping": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data old": cell(S.SYN_RECEIVED, ACK_NOW),
        "data without ACK": cell(S.SYN_RECEIVED),
        "data with FIN": cell(S.SYN_RECEIVED, RST_SEG_ACK),
    },
    # As passive, but a SYN is handled as in the synchronized states and a RST is
    # "connection refused"; the peer's SYN-ACK completes Figure 7.
    "SYN-RECEIVED (simultaneous)": {
        "SYN": cell(S.SYN_RECEIVED, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.SYN_RECEIVED, SYN_ACK_AGAIN),  # choice: see docstring
        "SYN-ACK": cell(S.SYN_RECEIVED, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.ESTABLISHED),  # Figure 7, line 6
        "ACK": cell(S.ESTABLISHED),
        "ACK nothing new": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "ACK old in MAX.SND.WND": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "ACK above SND.NXT": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="refused"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="refused"),
        "RST in window": cell(S.SYN_RECEIVED, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.SYN_RECEIVED),
        "RST before RCV.NXT": cell(S.SYN_RECEIVED),
        "FIN": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "FIN acking all": cell(S.CLOSE_WAIT, acked(1)),
        "FIN old": cell(S.SYN_RECEIVED, ACK_NOW),
        "data": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data out of order": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data overlapping": cell(S.SYN_RECEIVED, RST_SEG_ACK),
        "data old": cell(S.SYN_RECEIVED, ACK_NOW),
        "data without ACK": cell(S.SYN_RECEIVED),
        "data with FIN": cell(S.SYN_RECEIVED, RST_SEG_ACK),
    },
    # 10 octets outstanding. RFC 5961 §3-§5 in the second, fourth and fifth steps.
    "ESTABLISHED": {
        "SYN": cell(S.ESTABLISHED, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.ESTABLISHED, ACK_NOW),  # choice: first check, not a challenge
        "SYN-ACK": cell(S.ESTABLISHED, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.ESTABLISHED, ACK_NOW),  # our third ACK was lost: say it again
        "ACK": cell(S.ESTABLISHED),
        "ACK nothing new": cell(S.ESTABLISHED),
        "ACK old in MAX.SND.WND": cell(S.ESTABLISHED),  # a duplicate: "can be ignored"
        "ACK above SND.NXT": cell(S.ESTABLISHED, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.ESTABLISHED, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.ESTABLISHED, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.ESTABLISHED),
        "RST before RCV.NXT": cell(S.ESTABLISHED),
        "FIN": cell(S.CLOSE_WAIT, acked(1)),
        "FIN acking all": cell(S.CLOSE_WAIT, acked(1)),
        "FIN old": cell(S.ESTABLISHED, ACK_NOW),
        "data": cell(S.ESTABLISHED, acked(5), delivered=DATA),
        "data out of order": cell(S.ESTABLISHED, ACK_NOW),  # RFC 5681 §4.2: duplicate ACK
        "data overlapping": cell(S.ESTABLISHED, acked(3), delivered=DATA[2:]),
        "data old": cell(S.ESTABLISHED, ACK_NOW),
        "data without ACK": cell(S.ESTABLISHED),  # fifth: ACK bit off, drop
        "data with FIN": cell(S.CLOSE_WAIT, acked(6), delivered=DATA),
    },
    # 10 octets and our FIN outstanding.
    "FIN-WAIT-1": {
        "SYN": cell(S.FIN_WAIT_1, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.FIN_WAIT_1, ACK_NOW),
        "SYN-ACK": cell(S.FIN_WAIT_1, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.FIN_WAIT_1, ACK_NOW),
        "ACK": cell(S.FIN_WAIT_2),
        "ACK nothing new": cell(S.FIN_WAIT_1),
        "ACK old in MAX.SND.WND": cell(S.FIN_WAIT_1),
        "ACK above SND.NXT": cell(S.FIN_WAIT_1, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.FIN_WAIT_1, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.FIN_WAIT_1, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.FIN_WAIT_1),
        "RST before RCV.NXT": cell(S.FIN_WAIT_1),
        "FIN": cell(S.CLOSING, acked(1)),  # ours not acknowledged: CLOSING
        "FIN acking all": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN old": cell(S.FIN_WAIT_1, ACK_NOW),  # unacceptable: its ACK is not looked at
        "data": cell(S.FIN_WAIT_1, acked(5), delivered=DATA),
        "data out of order": cell(S.FIN_WAIT_1, ACK_NOW),
        "data overlapping": cell(S.FIN_WAIT_1, acked(3), delivered=DATA[2:]),
        "data old": cell(S.FIN_WAIT_1, ACK_NOW),
        "data without ACK": cell(S.FIN_WAIT_1),
        "data with FIN": cell(S.CLOSING, acked(6), delivered=DATA),
    },
    # Everything of ours acknowledged.
    "FIN-WAIT-2": {
        "SYN": cell(S.FIN_WAIT_2, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.FIN_WAIT_2, ACK_NOW),
        "SYN-ACK": cell(S.FIN_WAIT_2, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.FIN_WAIT_2, ACK_NOW),
        "ACK": cell(S.FIN_WAIT_2),
        "ACK nothing new": cell(S.FIN_WAIT_2),
        "ACK old in MAX.SND.WND": cell(S.FIN_WAIT_2),
        "ACK above SND.NXT": cell(S.FIN_WAIT_2, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.FIN_WAIT_2, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.FIN_WAIT_2, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.FIN_WAIT_2),
        "RST before RCV.NXT": cell(S.FIN_WAIT_2),
        "FIN": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN acking all": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN old": cell(S.FIN_WAIT_2, ACK_NOW),
        "data": cell(S.FIN_WAIT_2, acked(5), delivered=DATA),
        "data out of order": cell(S.FIN_WAIT_2, ACK_NOW),
        "data overlapping": cell(S.FIN_WAIT_2, acked(3), delivered=DATA[2:]),
        "data old": cell(S.FIN_WAIT_2, ACK_NOW),
        "data without ACK": cell(S.FIN_WAIT_2),
        "data with FIN": cell(S.TIME_WAIT, acked(6), delivered=DATA, time_wait=True),
    },
    # The peer's FIN taken; 10 octets of ours outstanding.
    "CLOSE-WAIT": {
        "SYN": cell(S.CLOSE_WAIT, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.CLOSE_WAIT, ACK_NOW),
        "SYN-ACK": cell(S.CLOSE_WAIT, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.CLOSE_WAIT, ACK_NOW),
        "ACK": cell(S.CLOSE_WAIT),
        "ACK nothing new": cell(S.CLOSE_WAIT),
        "ACK old in MAX.SND.WND": cell(S.CLOSE_WAIT),
        "ACK above SND.NXT": cell(S.CLOSE_WAIT, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.CLOSE_WAIT, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.CLOSE_WAIT, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.CLOSE_WAIT),
        "RST before RCV.NXT": cell(S.CLOSE_WAIT),
        "FIN": cell(S.CLOSE_WAIT, acked(1)),  # choice: eighth step, literally
        "FIN acking all": cell(S.CLOSE_WAIT, acked(1)),
        "FIN old": cell(S.CLOSE_WAIT, ACK_NOW),  # the peer's FIN again
        "data": cell(S.CLOSE_WAIT, ACK_NOW),  # choice: text ignored, duplicate ACK
        "data out of order": cell(S.CLOSE_WAIT, ACK_NOW),
        "data overlapping": cell(S.CLOSE_WAIT, ACK_NOW),
        "data old": cell(S.CLOSE_WAIT, ACK_NOW),
        "data without ACK": cell(S.CLOSE_WAIT),
        "data with FIN": cell(S.CLOSE_WAIT, ACK_NOW),  # text ignored: the FIN is not at RCV.NXT
    },
    # Both FINs sent, ours not acknowledged; 10 octets outstanding too.
    "CLOSING": {
        "SYN": cell(S.CLOSING, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.CLOSING, ACK_NOW),
        "SYN-ACK": cell(S.CLOSING, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.CLOSING, ACK_NOW),
        "ACK": cell(S.TIME_WAIT, time_wait=True),
        "ACK nothing new": cell(S.CLOSING),
        "ACK old in MAX.SND.WND": cell(S.CLOSING),
        "ACK above SND.NXT": cell(S.CLOSING, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.CLOSING, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.CLOSING, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.CLOSING),
        "RST before RCV.NXT": cell(S.CLOSING),
        "FIN": cell(S.CLOSING, acked(1)),  # choice: eighth step, literally
        "FIN acking all": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN old": cell(S.CLOSING, ACK_NOW),  # unacceptable: its ACK is not looked at
        "data": cell(S.CLOSING, ACK_NOW),  # choice: text ignored, duplicate ACK
        "data out of order": cell(S.CLOSING, ACK_NOW),
        "data overlapping": cell(S.CLOSING, ACK_NOW),
        "data old": cell(S.CLOSING, ACK_NOW),
        "data without ACK": cell(S.CLOSING),
        "data with FIN": cell(S.CLOSING, ACK_NOW),
    },
    # The peer's FIN taken, ours (after 10 octets) outstanding.
    "LAST-ACK": {
        "SYN": cell(S.LAST_ACK, ACK_NOW, challenges=BY_SYN),
        "SYN old": cell(S.LAST_ACK, ACK_NOW),
        "SYN-ACK": cell(S.LAST_ACK, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.LAST_ACK, ACK_NOW),
        "ACK": cell(S.CLOSED, ended="closed"),
        "ACK nothing new": cell(S.LAST_ACK),
        "ACK old in MAX.SND.WND": cell(S.LAST_ACK),
        "ACK above SND.NXT": cell(S.LAST_ACK, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.LAST_ACK, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.LAST_ACK, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.LAST_ACK),
        "RST before RCV.NXT": cell(S.LAST_ACK),
        "FIN": cell(S.LAST_ACK, acked(1)),  # choice: eighth step, literally
        "FIN acking all": cell(S.CLOSED, ended="closed"),  # fifth: "delete the TCB ... return"
        "FIN old": cell(S.LAST_ACK, ACK_NOW),
        "data": cell(S.LAST_ACK, ACK_NOW),  # choice: text ignored, duplicate ACK
        "data out of order": cell(S.LAST_ACK, ACK_NOW),
        "data overlapping": cell(S.LAST_ACK, ACK_NOW),
        "data old": cell(S.LAST_ACK, ACK_NOW),
        "data without ACK": cell(S.LAST_ACK),
        "data with FIN": cell(S.LAST_ACK, ACK_NOW),
    },
    # Both FINs acknowledged; 2 x MSL running.
    "TIME-WAIT": {
        "SYN": cell(S.TIME_WAIT, ACK_NOW, challenges=BY_SYN),  # no timestamps: challenge
        "SYN old": cell(S.TIME_WAIT, ACK_NOW),
        "SYN-ACK": cell(S.TIME_WAIT, ACK_NOW, challenges=BY_SYN),
        "SYN-ACK old": cell(S.TIME_WAIT, ACK_NOW),
        "ACK": cell(S.TIME_WAIT, time_wait=None),  # choice: see docstring
        "ACK nothing new": cell(S.TIME_WAIT, time_wait=None),
        "ACK old in MAX.SND.WND": cell(S.TIME_WAIT, time_wait=None),
        "ACK above SND.NXT": cell(S.TIME_WAIT, ACK_NOW, challenges=BY_ACK),
        "ACK below SND.UNA-MAX.SND.WND": cell(S.TIME_WAIT, ACK_NOW, challenges=BY_ACK),
        "RST at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),  # choice: not RFC 1337
        "RST,ACK at RCV.NXT": cell(S.CLOSED, ended="reset by peer"),
        "RST in window": cell(S.TIME_WAIT, ACK_NOW, challenges=BY_RST),
        "RST after window": cell(S.TIME_WAIT),
        "RST before RCV.NXT": cell(S.TIME_WAIT),
        "FIN": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN acking all": cell(S.TIME_WAIT, acked(1), time_wait=True),
        "FIN old": cell(S.TIME_WAIT, ACK_NOW, time_wait=True),  # the FIN retransmitted
        "data": cell(S.TIME_WAIT, ACK_NOW, time_wait=None),  # choice: text ignored
        "data out of order": cell(S.TIME_WAIT, ACK_NOW, time_wait=None),
        "data overlapping": cell(S.TIME_WAIT, ACK_NOW, time_wait=None),
        "data old": cell(S.TIME_WAIT, ACK_NOW),
        "data without ACK": cell(S.TIME_WAIT),
        "data with FIN": cell(S.TIME_WAIT, ACK_NOW, time_wait=None),
    },
}


def evaluate(expr: str, ctx: Ctx, arrived: TcpSegment) -> int:
    """An RFC expression like "SEG.SEQ+SEG.LEN" or "RCV.NXT+5", mod 2**32."""
    names = {
        "ISS": ctx.iss,
        "SND.UNA": ctx.snd_una,
        "SND.NXT": ctx.snd_nxt,
        "RCV.NXT": ctx.rcv_nxt,
        "SEG.SEQ": arrived.seq,
        "SEG.ACK": arrived.ack,
        "SEG.LEN": arrived.length,
    }
    total = 0
    for sign, term in re.findall(r"([+-]?)([A-Z.]+|\d+)", expr):
        value = int(term) if term.isdigit() else names[term]
        total += -value if sign == "-" else value
    return total % MOD


def observed_state(peer: Peer) -> TcpState:
    """The connection's state; with none left, LISTEN if a new SYN is answered, else CLOSED."""
    live = [c for c in peer.stack.connections if c.state is not S.CLOSED]
    assert len(live) <= 1
    if live:
        return live[0].state
    peer.inject(seg(SYN, 12345, sport=PEER_PORT + 1))
    answer = peer.replies()
    return S.LISTEN if [s.flags for s in answer] == [SYN | ACK] else S.CLOSED


def _cells() -> list[object]:
    out: list[object] = []
    for row, kind in itertools.product(SETUPS, KINDS):
        expected = TABLE.get(row, {}).get(kind)
        marks = []
        if expected is not None and expected.deviation is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=expected.deviation))
        out.append(pytest.param(row, kind, marks=marks, id=f"{row}|{kind}"))
    return out


def test_table_has_every_cell() -> None:
    assert set(TABLE) == set(SETUPS)
    for row, cells in TABLE.items():
        assert set(cells) == set(KINDS), row
    assert len(SETUPS) * len(KINDS) == 276


@pytest.mark.parametrize(("row", "kind"), _cells())
def test_state_and_segment(row: str, kind: str) -> None:
    expected = TABLE[row][kind]
    peer = Peer()
    ctx = SETUPS[row](peer, PEER_PORT)
    peer.events()
    arrived = KINDS[kind](ctx)
    peer.inject(arrived)
    sent = peer.replies()
    happened = peer.events()

    want = [
        (
            flag_names(r.flags),
            evaluate(r.seq, ctx, arrived),
            None if r.ack is None else evaluate(r.ack, ctx, arrived),
            0,
        )
        for r in expected.replies
    ]
    assert [shape(s) for s in sent] == want
    challenges = [e for e in happened if isinstance(e, ev.ChallengeAck)]
    assert [(c.cause, c.throttled) for c in challenges] == [
        (cause, False) for cause in expected.challenges
    ]
    ended = [e.reason for e in happened if isinstance(e, ev.ConnectionEnded)]
    assert ended == ([] if expected.ended is None else [expected.ended])
    if expected.time_wait is not None:
        started = [
            e
            for e in happened
            if isinstance(e, ev.TimeWaitCountdown) and e.remaining == pytest.approx(2 * MSL)
        ]
        assert bool(started) is expected.time_wait
    if ctx.cid is not None:
        assert peer.stack.receive(ctx.cid) == expected.delivered
    assert observed_state(peer) is expected.state


# -- simultaneous open and close (RFC 9293 Figures 7 and 13) -------------------------------


def fixed_pair(iss_a: int, iss_b: int, config: TcpConfig, latency: float) -> TcpPair:
    pair = TcpPair(config, latency=latency)
    pair.a = NetStack(A_ADDR, config=config, isn=FixedIsn(iss_a))
    pair.b = NetStack(B_ADDR, config=config, isn=FixedIsn(iss_b))
    return pair


def ladder(pair: TcpPair, name: str, since: int = 0) -> list[tuple[str, int, int | None]]:
    return [
        (flag_names(s.flags), s.seq, s.ack if s.flags & ACK else None)
        for s in pair.segments(name)[since:]
    ]


def state_path(pair: TcpPair, name: str) -> list[str]:
    changes = [e for e in pair.events[name] if isinstance(e, ev.TcpStateChanged)]
    return [changes[0].old] + [e.new for e in changes] if changes else []


def test_simultaneous_open_follows_figure_7() -> None:
    pair = fixed_pair(100, 300, CONFIG, latency=0.1)
    a = pair.a.connect(B_ADDR, 2000, pair.now, local_port=1000)
    b = pair.b.connect(A_ADDR, 1000, pair.now, local_port=2000)
    pair.run()
    # 2. A --> <SEQ=100><CTL=SYN>; 3. B --> <SEQ=300><CTL=SYN>;
    # 5. A --> <SEQ=100><ACK=301><CTL=SYN,ACK>; 6. B --> <SEQ=300><ACK=101><CTL=SYN,ACK>.
    assert ladder(pair, "a") == [("SYN", 100, None), ("SYN, ACK", 100, 301)]
    assert ladder(pair, "b") == [("SYN", 300, None), ("SYN, ACK", 300, 101)]
    for name in ("a", "b"):
        assert state_path(pair, name) == ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    assert pair.a.state(a) is S.ESTABLISHED and pair.b.state(b) is S.ESTABLISHED
    # And it carries data both ways.
    pair.a.send(a, b"ping", pair.now)
    pair.b.send(b, b"pong", pair.now)
    pair.run()
    assert pair.b.receive(b) == b"ping" and pair.a.receive(a) == b"pong"


def timeline(pair: TcpPair, limit: int = 10_000) -> list[tuple[float, str, ev.NetEvent]]:
    """Step the pair until quiet, stamping each event with the virtual time it appeared."""
    out: list[tuple[float, str, ev.NetEvent]] = []
    seen = {name: len(pair.events[name]) for name in ("a", "b")}
    pair.pump()  # what the user's calls just caused happened now, before any step
    for _ in range(limit):
        for name in ("a", "b"):
            out += [(pair.now, name, e) for e in pair.events[name][seen[name] :]]
            seen[name] = len(pair.events[name])
        if not pair.step():
            return out
    raise AssertionError("the pair never went quiet")


def test_simultaneous_close_follows_figure_13() -> None:
    pair = fixed_pair(99, 299, CONFIG, latency=0.1)
    pair.b.listen(2000)
    a = pair.a.connect(B_ADDR, 2000, pair.now, local_port=1000)
    pair.run()
    b = pair.b.accept(2000)
    assert b is not None and pair.a.state(a) is S.ESTABLISHED
    mark = {name: len(pair.segments(name)) for name in ("a", "b")}
    closed_at = pair.now
    pair.a.close(a, pair.now)
    pair.b.close(b, pair.now)
    happened = timeline(pair)
    # 2. A --> <SEQ=100><ACK=300><CTL=FIN,ACK>; B --> <SEQ=300><ACK=100><CTL=FIN,ACK>;
    # 3. A --> <SEQ=101><ACK=301><CTL=ACK>;     B --> <SEQ=301><ACK=101><CTL=ACK>.
    assert ladder(pair, "a", mark["a"]) == [("FIN, ACK", 100, 300), ("ACK", 101, 301)]
    assert ladder(pair, "b", mark["b"]) == [("FIN, ACK", 300, 100), ("ACK", 301, 101)]
    for name in ("a", "b"):
        path = [
            (t, e.new) for t, n, e in happened if n == name and isinstance(e, ev.TcpStateChanged)
        ]
        assert [new for _, new in path] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
        # 4. TIME-WAIT (2 MSL), then CLOSED: each FIN crossed (0.1 s), each ACK too.
        times = [t - closed_at for t, _ in path]
        assert times == pytest.approx([0.0, 0.1, 0.2, 0.2 + 2 * MSL])
        ends = [e for _, n, e in happened if n == name and isinstance(e, ev.ConnectionEnded)]
        assert [e.reason for e in ends] == ["closed"]


# -- RST and RFC 5961 challenge ACKs ----------------------------------------------------


def test_rst_in_window_draws_a_challenge_ack() -> None:
    peer = Peer()
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.events()
    peer.inject(seg(RST, ctx.rcv_nxt + 1))
    # RFC 5961 §3.2 / RFC 9293 second step: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    challenges = [e for e in peer.events() if isinstance(e, ev.ChallengeAck)]
    assert challenges == [ev.ChallengeAck(ctx.cid, "RST in window", False)]
    assert peer.stack.state(ctx.cid) is S.ESTABLISHED


def test_rst_at_rcv_nxt_resets_the_connection() -> None:
    peer = Peer()
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.events()
    peer.inject(seg(RST, ctx.rcv_nxt))
    expect_sent(peer)
    ended = [e for e in peer.events() if isinstance(e, ev.ConnectionEnded)]
    assert ended == [ev.ConnectionEnded(ctx.cid, "reset by peer")]
    assert peer.stack.state(ctx.cid) is S.CLOSED
    # The TCB is gone: what follows is answered as in CLOSED (§3.10.7.1).
    peer.inject(seg(ACK | PSH, ctx.rcv_nxt, ctx.snd_nxt, DATA))
    expect_sent(peer, (RST, ctx.snd_nxt, None, 0))


@pytest.mark.parametrize("offset", [-1, -1000, RCV_WND, RCV_WND + 1, 1 << 31])
def test_rst_outside_the_window_is_dropped_silently(offset: int) -> None:
    peer = Peer()
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.events()
    peer.inject(seg(RST | ACK, ctx.rcv_nxt + offset, ctx.snd_nxt))
    expect_sent(peer)
    assert [e for e in peer.events() if not isinstance(e, ev.TcpSegmentSeen)] == []
    assert peer.stack.state(ctx.cid) is S.ESTABLISHED


def test_syn_in_established_draws_a_challenge_ack() -> None:
    peer = Peer()
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.events()
    peer.inject(seg(SYN, ctx.rcv_nxt + 7, mss=1460))
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    challenges = [e for e in peer.events() if isinstance(e, ev.ChallengeAck)]
    assert challenges == [ev.ChallengeAck(ctx.cid, "SYN", False)]
    assert peer.stack.state(ctx.cid) is S.ESTABLISHED


def test_challenge_acks_are_throttled_per_connection() -> None:
    limit = 3
    peer = Peer(TcpConfig(msl=MSL, challenge_acks_per_second=limit))
    first = setup_established(peer, PEER_PORT)
    second = setup_established(peer, PEER_PORT + 1)
    assert first.cid is not None and second.cid is not None and first.cid != second.cid
    peer.events()

    def provoke(ctx: Ctx, port: int, n: int) -> tuple[int, list[bool]]:
        """`n` forged segments of every kind RFC 5961 challenges; (ACKs sent, throttled flags)."""
        makers = [
            lambda: seg(RST, ctx.rcv_nxt + 1, sport=port),
            lambda: seg(SYN, ctx.rcv_nxt + 2, sport=port),
            lambda: seg(ACK, ctx.rcv_nxt, ctx.snd_nxt + 5, sport=port),
        ]
        for i in range(n):
            peer.inject(makers[i % len(makers)]())
        sent = peer.replies()
        assert all(shape(s) == ("ACK", ctx.snd_nxt % MOD, ctx.rcv_nxt % MOD, 0) for s in sent)
        flags = [e.throttled for e in peer.events() if isinstance(e, ev.ChallengeAck)]
        return len(sent), flags

    assert provoke(first, PEER_PORT, limit + 4) == (limit, [False] * limit + [True] * 4)
    # The first connection's limit is its own (CVE-2016-5696 came from a global one).
    assert provoke(second, PEER_PORT + 1, 1) == (1, [False])
    peer.now += 0.5
    assert provoke(first, PEER_PORT, 1) == (0, [True])
    peer.now += 0.5  # a second after the first challenge: a fresh allowance
    assert provoke(first, PEER_PORT, limit + 1) == (limit, [False] * limit + [True])
    assert peer.stack.state(first.cid) is S.ESTABLISHED
    assert peer.stack.state(second.cid) is S.ESTABLISHED


# -- the user's calls: SEND, CLOSE, ABORT (RFC 9293 §3.10.2, §3.10.4, §3.10.5) -------------


def setup_syn_sent_with_data(peer: Peer, port: int = PEER_PORT) -> Ctx:
    ctx = setup_syn_sent(peer, port)
    assert ctx.cid is not None
    assert peer.stack.send(ctx.cid, DATA, peer.now) == len(DATA)  # queued until ESTABLISHED
    expect_sent(peer)
    return ctx


USER_ROWS: dict[str, Setup] = {
    "SYN-SENT": setup_syn_sent,
    "SYN-SENT with queued data": setup_syn_sent_with_data,
    "SYN-RECEIVED (simultaneous)": setup_syn_received_simultaneous,
    "ESTABLISHED": setup_established,
    "FIN-WAIT-1": setup_fin_wait_1,
    "FIN-WAIT-2": setup_fin_wait_2,
    "CLOSE-WAIT": setup_close_wait,
    "CLOSING": setup_closing,
    "LAST-ACK": setup_last_ack,
    "TIME-WAIT": setup_time_wait,
}


@dataclass(frozen=True)
class Call:
    state: TcpState
    replies: tuple[Reply, ...] = ()
    ended: str | None = None
    deviation: str | None = None


FIN_NOW = Reply(FIN | ACK, "SND.NXT", "RCV.NXT")
RST_NOW = Reply(RST, "SND.NXT")  # §3.10.5: <SEQ=SND.NXT><CTL=RST>

# The user's CLOSE. FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing", and
# no second FIN. The reason of an ended connection is the stack's word ("closed", "aborted").
CLOSE_TABLE: dict[str, Call] = {
    "SYN-SENT": Call(S.CLOSED, ended="closed"),
    "SYN-SENT with queued data": Call(S.CLOSED, ended="closed"),
    "SYN-RECEIVED (simultaneous)": Call(S.FIN_WAIT_1, (FIN_NOW,)),
    "ESTABLISHED": Call(S.FIN_WAIT_1, (FIN_NOW,)),
    "FIN-WAIT-1": Call(S.FIN_WAIT_1),
    "FIN-WAIT-2": Call(S.FIN_WAIT_2),
    "CLOSE-WAIT": Call(S.LAST_ACK, (FIN_NOW,)),
    "CLOSING": Call(S.CLOSING),
    "LAST-ACK": Call(S.LAST_ACK),
    "TIME-WAIT": Call(S.TIME_WAIT),
}
ABORT_TABLE: dict[str, Call] = {
    "SYN-SENT": Call(S.CLOSED, ended="aborted"),
    "SYN-SENT with queued data": Call(S.CLOSED, ended="aborted"),
    "SYN-RECEIVED (simultaneous)": Call(S.CLOSED, (RST_NOW,), "aborted"),
    "ESTABLISHED": Call(S.CLOSED, (RST_NOW,), "aborted"),
    "FIN-WAIT-1": Call(S.CLOSED, (RST_NOW,), "aborted"),
    "FIN-WAIT-2": Call(S.CLOSED, (RST_NOW,), "aborted"),
    "CLOSE-WAIT": Call(S.CLOSED, (RST_NOW,), "aborted"),
    "CLOSING": Call(S.CLOSED, ended="aborted"),
    "LAST-ACK": Call(S.CLOSED, ended="aborted"),
    "TIME-WAIT": Call(S.CLOSED, ended="aborted"),
}


def _calls(table: dict[str, Call]) -> list[object]:
    assert set(table) == set(USER_ROWS)
    return [
        pytest.param(
            row,
            marks=[pytest.mark.xfail(strict=True, reason=c.deviation)] if c.deviation else [],
            id=row,
        )
        for row, c in table.items()
    ]


def _check_call(row: str, call: Callable[[NetStack, int, float], None], expected: Call) -> None:
    peer = Peer()
    ctx = USER_ROWS[row](peer, PEER_PORT)
    assert ctx.cid is not None
    peer.events()
    call(peer.stack, ctx.cid, peer.now)
    sent = peer.replies()
    dummy = seg(0, 0)
    assert [shape(s) for s in sent] == [
        (
            flag_names(r.flags),
            evaluate(r.seq, ctx, dummy),
            None if r.ack is None else evaluate(r.ack, ctx, dummy),
            0,
        )
        for r in expected.replies
    ]
    ended = [e.reason for e in peer.events() if isinstance(e, ev.ConnectionEnded)]
    assert ended == ([] if expected.ended is None else [expected.ended])
    assert peer.stack.state(ctx.cid) is expected.state


@pytest.mark.parametrize("row", _calls(CLOSE_TABLE))
def test_user_close(row: str) -> None:
    _check_call(row, NetStack.close, CLOSE_TABLE[row])


@pytest.mark.parametrize("row", _calls(ABORT_TABLE))
def test_user_abort(row: str) -> None:
    _check_call(row, NetStack.abort, ABORT_TABLE[row])


@pytest.mark.parametrize("row", list(USER_ROWS))
def test_user_send(row: str) -> None:
    """§3.10.2: queued before ESTABLISHED, sent in ESTABLISHED and CLOSE-WAIT, else refused."""
    peer = Peer()
    ctx = USER_ROWS[row](peer, PEER_PORT)
    assert ctx.cid is not None
    taken = peer.stack.send(ctx.cid, b"more", peer.now)
    sent = peer.replies()
    if row.startswith("SYN-"):
        assert (taken, sent) == (4, [])
    elif row in ("ESTABLISHED", "CLOSE-WAIT"):
        assert taken == 4
        assert [(s.flags & ~PSH, s.seq, s.ack, s.payload) for s in sent] == [
            (ACK, ctx.snd_nxt % MOD, ctx.rcv_nxt % MOD, b"more")
        ]
    else:  # "error: connection closing"
        assert (taken, sent) == (0, [])


# -- a zero receive window and the window's right edge (RFC 9293 §3.10.7.4 first check) ------


def _established_with_full_window(peer: Peer) -> Ctx:
    """ESTABLISHED with a 10-octet receive buffer that the peer has just filled."""
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.inject(seg(ACK | PSH, ctx.rcv_nxt, ctx.snd_una, b"A" * 10))
    (ack,) = expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 10, 0))
    assert ack.window == 0
    peer.events()
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt + 10)


SMALL = TcpConfig(msl=MSL, receive_buffer=10)


def test_zero_window_takes_a_bare_ack_and_a_reset() -> None:
    peer = Peer(SMALL)
    ctx = _established_with_full_window(peer)
    assert ctx.cid is not None
    assert peer.stack.get_timer() is not None  # our 10 octets are outstanding
    peer.inject(seg(ACK, ctx.rcv_nxt, ctx.snd_nxt))  # SEG.LEN 0, SEG.SEQ = RCV.NXT: acceptable
    expect_sent(peer)
    assert peer.stack.get_timer() is None  # RFC 6298 (5.2): all acknowledged, timer off
    peer.inject(seg(RST, ctx.rcv_nxt))
    assert [e.reason for e in peer.events() if isinstance(e, ev.ConnectionEnded)] == [
        "reset by peer"
    ]


def test_zero_window_still_takes_the_ack_of_a_probe() -> None:
    peer = Peer(SMALL)
    ctx = _established_with_full_window(peer)
    assert ctx.cid is not None
    peer.inject(seg(ACK | PSH, ctx.rcv_nxt, ctx.snd_nxt, b"B"))  # the peer probes our window
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))  # the octet is not taken
    assert peer.stack.receive(ctx.cid) == b"A" * 10
    assert peer.stack.get_timer() is None  # but its ACK of our 10 octets is


def test_text_beyond_the_window_is_cut_off_and_a_fin_there_ignored() -> None:
    for flags in (ACK | PSH, ACK | PSH | FIN):
        peer = Peer(SMALL)
        ctx = setup_established(peer)
        assert ctx.cid is not None
        peer.inject(seg(flags, ctx.rcv_nxt, ctx.snd_una, b"0123456789ABCDEFGH"))
        # Only RCV.NXT .. RCV.NXT + RCV.WND - 1 is taken; the FIN lies past it.
        (ack,) = expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 10, 0))
        assert ack.window == 0
        assert peer.stack.receive(ctx.cid) == b"0123456789"
        assert peer.stack.state(ctx.cid) is S.ESTABLISHED


def test_a_segment_spanning_the_whole_window_is_not_acceptable() -> None:
    """Table 6 literally: neither SEG.SEQ nor SEG.SEQ+SEG.LEN-1 lies in the window.

    choice: RFC 9293 as written (Linux's tcp_sequence would take the middle part).
    """
    peer = Peer(SMALL)
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.inject(seg(ACK | PSH, ctx.rcv_nxt - 3, ctx.snd_una, b"0123456789ABCDEFGH"))
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    assert peer.stack.receive(ctx.cid) == b""


def test_the_first_zero_window_probe_waits_one_rto() -> None:
    peer = Peer()
    ctx = setup_established(peer)
    assert ctx.cid is not None
    peer.now += 0.2
    peer.inject(seg(ACK, ctx.rcv_nxt, ctx.snd_nxt, window=0))  # all taken, window shut
    expect_sent(peer)
    # RTT samples 0 (handshake) and 0.2 s: RFC 6298 gives 0.225 s, raised to the 1 s floor.
    rto = rfc6298_rto([0.0, 0.2])
    assert rto == 1.0
    peer.stack.send(ctx.cid, b"x" * 100, peer.now)
    expect_sent(peer)  # nothing yet: the window has not been shut for an RTO
    sent, _ = peer.advance(peer.now + rto)
    assert [(round(t - T0, 6), len(s.payload)) for t, s in sent] == [(0.2 + rto, 1)]


def test_sender_avoids_silly_windows() -> None:
    peer = Peer()
    ctx = setup_established(peer)  # the peer announced 20000 (MAX.SND.WND)
    assert ctx.cid is not None
    peer.inject(seg(ACK, ctx.rcv_nxt, ctx.snd_nxt, window=100))
    expect_sent(peer)
    assert peer.stack.send(ctx.cid, b"y" * 5000, peer.now) == 5000
    expect_sent(peer)


def test_receiver_avoids_silly_windows() -> None:
    peer = Peer(TcpConfig(msl=MSL, receive_buffer=3000))
    ctx = setup_established(peer)
    assert ctx.cid is not None
    for i in range(3):
        peer.inject(seg(ACK | PSH, ctx.rcv_nxt + 1000 * i, ctx.snd_nxt, bytes(1000)))
    acks = peer.replies()
    assert [(s.ack, s.window) for s in acks][-1] == ((ctx.rcv_nxt + 3000) % MOD, 0)
    edge = (ctx.rcv_nxt + 3000) % MOD
    assert len(peer.stack.receive(ctx.cid, 100)) == 100  # RCV.USER 2900: too small a change
    expect_sent(peer)
    peer.inject(seg(ACK | PSH, ctx.rcv_nxt + 3000, ctx.snd_nxt, b"p"))  # the peer probes
    (ack,) = peer.replies()
    assert ((ack.ack + ack.window) % MOD, ack.ack) == (edge, edge)


# -- retransmission of SYN, SYN-ACK and FIN (RFC 6298, RFC 9293 §3.8.3) --------------------


def test_syn_retransmitted_with_doubling_for_three_minutes_then_timed_out() -> None:
    peer = Peer(TcpConfig())  # initial RTO 1 s, doubling, cap 64 s, 7 retries
    cid = peer.stack.connect(PEER, PEER_PORT, peer.now, local_port=US_PORT)
    (first,) = peer.replies()
    sent, happened = peer.advance(math.inf)
    syns = [(T0, first), *sent]
    assert [t - T0 for t, _ in syns] == [0, 1, 3, 7, 15, 31, 63, 127]
    assert all(shape(s) == ("SYN", OUR_ISS, None, 0) and s.mss == 1460 for _, s in syns)
    retransmitted = [e for _, e in happened if isinstance(e, ev.Retransmitted)]
    assert [(e.what, e.attempt, e.rto) for e in retransmitted] == [
        ("SYN", i, rto) for i, rto in enumerate([2, 4, 8, 16, 32, 64, 64], start=1)
    ]
    ended = [(t - T0, e.reason) for t, e in happened if isinstance(e, ev.ConnectionEnded)]
    assert ended == [(191, "timed out")]  # MUST-23: a SYN is retried for at least 3 minutes
    assert peer.stack.state(cid) is S.CLOSED


def test_syn_ack_retransmitted_with_doubling() -> None:
    peer = Peer(TcpConfig())
    peer.stack.listen(US_PORT)
    peer.inject(seg(SYN, PEER_ISS, mss=1460))
    expect_sent(peer, (SYN | ACK, OUR_ISS, PEER_ISS + 1, 0))
    sent, happened = peer.advance(math.inf)
    assert [t - T0 for t, _ in sent][:5] == [1, 3, 7, 15, 31]
    assert all(shape(s) == ("SYN, ACK", OUR_ISS, (PEER_ISS + 1) % MOD, 0) for _, s in sent)
    assert [e.reason for _, e in happened if isinstance(e, ev.ConnectionEnded)] == ["timed out"]


class Wire:
    """A TcpPair tap: logs every segment with its virtual send time and drops on request."""

    def __init__(self) -> None:
        self.pair: TcpPair | None = None
        self.log: list[tuple[float, str, TcpSegment, bool]] = []
        self.drop: Callable[[str, TcpSegment], bool] = lambda sender, s: False

    def __call__(self, sender: str, packet: bytes) -> bytes | None:
        assert self.pair is not None
        ip = parse_ipv4(packet)
        s = parse_tcp(ip.src, ip.dst, ip.payload)
        lost = self.drop(sender, s)
        self.log.append((self.pair.now, sender, s, lost))
        return None if lost else packet

    def sent(self, sender: str, since: float = -math.inf) -> list[tuple[float, TcpSegment]]:
        return [(t, s) for t, who, s, _ in self.log if who == sender and t >= since]


def rfc6298_rto(samples: list[float], g: float = 0.001) -> float:
    """RFC 6298 §2.2-2.4 over a list of RTT samples, floor 1 s, cap 64 s."""
    srtt = samples[0]
    rttvar = samples[0] / 2
    for r in samples[1:]:
        rttvar = 0.75 * rttvar + 0.25 * abs(srtt - r)
        srtt = 0.875 * srtt + 0.125 * r
    return min(max(srtt + max(g, 4 * rttvar), 1.0), 64.0)


def test_fin_retransmitted_with_doubling_from_the_measured_rto() -> None:
    latency = 0.3
    wire = Wire()
    pair = TcpPair(CONFIG, latency=latency, tap=wire)
    wire.pair = pair
    pair.b.listen(80)
    a = pair.a.connect(B_ADDR, 80, pair.now)
    pair.run()
    assert pair.a.state(a) is S.ESTABLISHED
    rto = rfc6298_rto([2 * latency])  # the SYN's round trip: 0.6 + 4 x 0.3 = 1.8 s
    assert rto == pytest.approx(1.8)
    wire.drop = lambda sender, s: sender == "a"  # from now on nothing of A's arrives
    t = pair.now
    pair.a.close(a, t)
    pair.run()
    fins = wire.sent("a", since=t)
    assert all(s.flags == FIN | ACK and s.seq == fins[0][1].seq for _, s in fins)
    waits = [min(rto * 2**i, 64.0) for i in range(10)]
    expected = [t + sum(waits[:i]) for i in range(11)]  # the FIN and its 10 retransmissions
    assert [when for when, _ in fins] == pytest.approx(expected)
    ends = [e for e in pair.events["a"] if isinstance(e, ev.ConnectionEnded)]
    assert [e.reason for e in ends] == ["timed out"]
    assert pair.now - t >= 100  # RFC 9293 §3.8.3: R2 at least 100 s


def _open_after_lost_syns(peer: Peer, lost: int) -> int:
    """Active open whose first `lost` SYNs get no answer; the SYN-ACK comes half an RTO later."""
    cid = peer.stack.connect(PEER, PEER_PORT, peer.now, local_port=US_PORT)
    peer.replies()
    for _ in range(lost):
        deadline = peer.stack.get_timer()
        assert deadline is not None
        peer.now = deadline
        peer.stack.handle_timer(deadline)
        expect_sent(peer, (SYN, OUR_ISS, None, 0))
    peer.now += 0.5
    peer.inject(seg(SYN | ACK, PEER_ISS, OUR_ISS + 1, mss=1460))
    expect_sent(peer, (ACK, OUR_ISS + 1, PEER_ISS + 1, 0))
    return cid


def _data_rto(peer: Peer, cid: int) -> list[float]:
    """Send data nobody acknowledges; the waits before its first two retransmissions."""
    peer.now += 0.5
    start = peer.now
    peer.stack.send(cid, b"x" * 100, peer.now)
    (data,) = peer.replies()
    times = [start]
    for _ in range(2):
        deadline = peer.stack.get_timer()
        assert deadline is not None
        peer.now = deadline
        peer.stack.handle_timer(deadline)
        (again,) = peer.replies()
        assert (again.seq, again.payload) == (data.seq, data.payload)
        times.append(deadline)
    return [b - a for a, b in itertools.pairwise(times)]


def test_rto_is_three_seconds_for_data_after_a_syn_timeout() -> None:
    peer = Peer(TcpConfig())
    cid = _open_after_lost_syns(peer, 1)
    # RFC 6298 §5.7: no RTT sample (Karn), RTO re-initialized to 3 s; then doubled (§5.5).
    assert _data_rto(peer, cid) == pytest.approx([3.0, 6.0])


def test_rto_is_three_seconds_for_data_after_two_syn_timeouts() -> None:
    peer = Peer(TcpConfig())
    cid = _open_after_lost_syns(peer, 2)
    assert _data_rto(peer, cid) == pytest.approx([3.0, 6.0])


# -- TIME-WAIT ------------------------------------------------------------------------------


def _enter_time_wait(peer: Peer) -> Ctx:
    ctx = setup_fin_wait_2(peer)
    peer.events()
    peer.inject(seg(FIN | ACK, ctx.rcv_nxt, ctx.snd_nxt))
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt + 1, 0))
    return Ctx(ctx.cid, ctx.iss, ctx.snd_una, ctx.snd_nxt, ctx.irs, ctx.rcv_nxt + 1)


def _countdown(happened: list[tuple[float, ev.NetEvent]]) -> list[tuple[float, float]]:
    return [
        (round(t - T0, 6), round(e.remaining, 6))
        for t, e in happened
        if isinstance(e, ev.TimeWaitCountdown)
    ]


def test_time_wait_lasts_two_msl_with_a_countdown() -> None:
    peer = Peer()  # MSL 5 s, countdown every second
    ctx = _enter_time_wait(peer)
    assert ctx.cid is not None
    entered = [(T0, e) for e in peer.events()]
    sent, happened = peer.advance(math.inf)
    assert sent == []
    assert _countdown(entered + happened) == [(k, 2 * MSL - k) for k in range(11)]
    ended = [(t - T0, e.reason) for t, e in happened if isinstance(e, ev.ConnectionEnded)]
    assert ended == [(2 * MSL, "closed")]
    assert peer.stack.state(ctx.cid) is S.CLOSED


def test_time_wait_lasts_four_minutes_by_default() -> None:
    peer = Peer(TcpConfig())
    ctx = _enter_time_wait(peer)
    assert ctx.cid is not None
    _, happened = peer.advance(T0 + 239.999)
    assert peer.stack.state(ctx.cid) is S.TIME_WAIT
    _, happened = peer.advance(math.inf)
    ended = [(round(t - T0, 6), e.reason) for t, e in happened if isinstance(e, ev.ConnectionEnded)]
    assert ended == [(240.0, "closed")]


def test_a_retransmitted_fin_in_time_wait_is_acked_and_restarts_the_wait() -> None:
    peer = Peer()
    ctx = _enter_time_wait(peer)
    assert ctx.cid is not None
    peer.events()
    peer.advance(T0 + 4)
    assert peer.stack.state(ctx.cid) is S.TIME_WAIT
    peer.inject(seg(FIN | ACK, ctx.rcv_nxt - 1, ctx.snd_nxt))  # our ACK of it was lost
    expect_sent(peer, (ACK, ctx.snd_nxt, ctx.rcv_nxt, 0))
    restarted = [(T0 + 4, e) for e in peer.events()]
    assert _countdown(restarted) == [(4, 2 * MSL)]
    sent, happened = peer.advance(math.inf)
    assert sent == []
    assert _countdown(happened)[-2:] == [(4 + 2 * MSL - 1, 1.0), (4 + 2 * MSL, 0.0)]
    ended = [(t - T0, e.reason) for t, e in happened if isinstance(e, ev.ConnectionEnded)]
    assert ended == [(4 + 2 * MSL, "closed")]


# -- MSS (RFC 9293 §3.7.1) ----------------------------------------------------------------


def _accepted(peer: Peer, mss: int | None, window: int = 65535) -> int:
    """A passive open from a peer whose SYN carries `mss` (None: no option)."""
    peer.stack.listen(US_PORT)
    peer.inject(seg(SYN, PEER_ISS, window=window, mss=mss))
    (syn_ack,) = expect_sent(peer, (SYN | ACK, OUR_ISS, PEER_ISS + 1, 0))
    assert syn_ack.mss == peer.stack.config.mss
    peer.inject(seg(ACK, PEER_ISS + 1, OUR_ISS + 1, window=window))
    cid = peer.stack.accept(US_PORT)
    assert cid is not None and peer.stack.state(cid) is S.ESTABLISHED
    return cid


def _sizes(peer: Peer, cid: int, n: int) -> list[int]:
    assert peer.stack.send(cid, bytes(n), peer.now) == n
    sent = peer.replies()
    assert all(s.mss is None for s in sent)  # the option goes on SYNs only
    return [len(s.payload) for s in sent]


@pytest.mark.parametrize("mss", [536, 1000, 1460])
def test_syns_carry_our_configured_mss(mss: int) -> None:
    peer = Peer(TcpConfig(mss=mss))
    peer.stack.connect(PEER, PEER_PORT, peer.now, local_port=US_PORT)
    (syn,) = peer.replies()
    assert (syn.flags, syn.mss) == (SYN, mss)
    passive = Peer(TcpConfig(mss=mss))
    _accepted(passive, 1460)


def test_a_syn_without_mss_limits_our_segments_to_536() -> None:
    peer = Peer()
    cid = _accepted(peer, None)
    assert _sizes(peer, cid, 2000) == [DEFAULT_MSS] * 3 + [2000 - 3 * DEFAULT_MSS]


def test_a_syn_ack_without_mss_limits_our_segments_to_536() -> None:
    peer = Peer()
    cid = peer.stack.connect(PEER, PEER_PORT, peer.now, local_port=US_PORT)
    peer.replies()
    peer.inject(seg(SYN | ACK, PEER_ISS, OUR_ISS + 1, window=65535))
    expect_sent(peer, (ACK, OUR_ISS + 1, PEER_ISS + 1, 0))
    assert _sizes(peer, cid, 1200) == [536, 536, 128]


def test_mss_zero_is_raised_to_the_minimum() -> None:
    peer = Peer()
    cid = _accepted(peer, 0)
    assert _sizes(peer, cid, 100) == [MIN_MSS, MIN_MSS, 100 - 2 * MIN_MSS]


def test_a_larger_peer_mss_is_cut_to_ours() -> None:
    peer = Peer(TcpConfig(mss=1000))
    cid = _accepted(peer, 9000)
    assert _sizes(peer, cid, 2500) == [1000, 1000, 500]


# -- hostile input (hypothesis) --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_never_raise(packet: bytes) -> None:
    peer = Peer()
    setup_established(peer)
    peer.stack.receive_packet(packet, peer.now)
    # The same bytes as the TCP payload of a good IPv4 packet, with and without a good checksum.
    src, dst = peer.src, peer.dst
    peer.stack.receive_packet(build_ipv4(src, dst, PROTO_TCP, packet), peer.now)
    if len(packet) >= 20:
        zeroed = packet[:16] + b"\0\0" + packet[18:]
        check = internet_checksum(zeroed, pseudo_header_sum(src, dst, PROTO_TCP, len(zeroed)))
        fixed = zeroed[:16] + check.to_bytes(2, "big") + zeroed[18:]
        peer.stack.receive_packet(build_ipv4(src, dst, PROTO_TCP, fixed), peer.now)
    for s in peer.replies():
        assert s.src_port and s.dst_port
    assert all(isinstance(c.state, TcpState) for c in peer.stack.connections)


SEQ_OFFSETS = [0, 1, -1, 2, 100, -100, RCV_WND - 1, RCV_WND, 1 << 31, (1 << 31) - 1]
ACK_OFFSETS = [0, 1, -1, 10, 11, 12, -PEER_WND, -PEER_WND - 1, 1 << 31]


@st.composite
def segments(draw: st.DrawFn) -> tuple[int, int, int, int, bytes, int | None, bool, bool]:
    """A well-formed segment, its numbers near the connection's or anywhere; then maybe a timer."""
    flags = draw(st.integers(0, 255))
    seq = draw(st.one_of(st.sampled_from(SEQ_OFFSETS), st.integers(0, MOD - 1)))
    ack = draw(st.one_of(st.sampled_from(ACK_OFFSETS), st.integers(0, MOD - 1)))
    window = draw(st.sampled_from([0, 1, 536, 65535]) | st.integers(0, 65535))
    payload = draw(st.binary(max_size=64))
    mss = draw(st.none() | st.integers(0, 65535))
    relative = draw(st.booleans())
    fire = draw(st.booleans())
    return flags, seq, ack, window, payload, mss, relative, fire


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SETUPS)), st.lists(segments(), min_size=1, max_size=8))
def test_arbitrary_segments_in_any_state_never_raise(
    row: str, batch: list[tuple[int, int, int, int, bytes, int | None, bool, bool]]
) -> None:
    peer = Peer()
    ctx = SETUPS[row](peer, PEER_PORT)
    for flags, seq_number, ack_number, window, payload, mss, relative, fire in batch:
        seq, ack = seq_number, ack_number
        if relative:
            seq, ack = ctx.rcv_nxt + seq_number, ctx.snd_una + ack_number
        peer.inject(seg(flags, seq, ack, payload, window=window, mss=mss))
        replies = peer.replies()
        if flags & RST:  # §3.4 glossary: "In no case does receipt of ... RST give rise to a RST"
            assert not any(s.flags & RST for s in replies)
        if fire and (deadline := peer.stack.get_timer()) is not None:
            peer.now = max(peer.now, deadline)
            peer.stack.handle_timer(peer.now)
            peer.replies()
        peer.events()
        for conn in peer.stack.connections:
            assert isinstance(conn.state, TcpState)
        if ctx.cid is not None:
            assert isinstance(peer.stack.state(ctx.cid), TcpState)
            peer.stack.receive(ctx.cid)
