"""Data over TCP between two stacks on a virtual clock: delivery, windows, probes, RTO.

Two NetStacks joined by tcppair.TcpPair. A tap (`Wire`) on the link sees every
segment with its virtual send time, loses some on purpose (a seeded RNG, or
a rule) and checks the sender against the window the receiver offered. The
RFC 6298 numbers are computed here from the RTT samples the link's latency
makes, never read out of the connection.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

import pytest
from tcppair import B_ADDR, TcpPair

from modememu.net import events as ev
from modememu.net.ipv4 import parse_ipv4
from modememu.net.tcp.connection import TcpConfig, TcpState
from modememu.net.tcp.wire import ACK, RST, SYN, TcpSegment, parse_tcp

S = TcpState
MOD = 1 << 32
PORT = 80


class Wire:
    """The link's tap: logs (time, sender, segment, lost), loses what `lose` says.

    It also holds A's sender to the window B offered: every octet A sends must
    lie below the highest right edge (SEG.ACK + SEG.WND) of B's segments that got
    through, except a one-octet zero-window probe at that edge (RFC 9293 §3.8.6.1).
    """

    def __init__(self, lose: Callable[[str, TcpSegment], bool] | None = None) -> None:
        self.pair: TcpPair | None = None
        self.lose = lose or (lambda sender, s: False)
        self.log: list[tuple[float, str, TcpSegment, bool]] = []
        self.base: int | None = None  # A's ISS: offsets are taken from it
        self.edge = 0  # highest right edge B offered that reached A, as an offset
        self.b_edges: list[int] = []  # every right edge B offered, in order
        self.violations: list[str] = []

    def offset(self, seq: int) -> int:
        assert self.base is not None
        return (seq - self.base) % MOD

    def __call__(self, sender: str, packet: bytes) -> bytes | None:
        assert self.pair is not None
        ip = parse_ipv4(packet)
        s = parse_tcp(ip.src, ip.dst, ip.payload)
        if sender == "a" and s.flags & SYN and self.base is None:
            self.base = s.seq
        lost = self.lose(sender, s)
        self.log.append((self.pair.now, sender, s, lost))
        if sender == "b" and s.flags & ACK and not s.flags & RST and self.base is not None:
            right = self.offset(s.ack + s.window)
            self.b_edges.append(right)
            if not lost:
                self.edge = max(self.edge, right)
        if sender == "a" and s.payload:
            start = self.offset(s.seq)
            end = start + len(s.payload)
            probe = len(s.payload) == 1 and start == self.edge
            if end > self.edge and not probe:
                self.violations.append(f"octets {start}..{end} past the offered edge {self.edge}")
        return None if lost else packet

    def sent(self, sender: str, since: float = -math.inf) -> list[tuple[float, TcpSegment]]:
        return [(t, s) for t, who, s, _ in self.log if who == sender and t >= since]


def make_pair(
    config: TcpConfig,
    *,
    latency: float = 0.0,
    lose: Callable[[str, TcpSegment], bool] | None = None,
) -> tuple[TcpPair, Wire]:
    wire = Wire(lose)
    pair = TcpPair(config, latency=latency, tap=wire)
    wire.pair = pair
    return pair, wire


def open_pair(pair: TcpPair) -> tuple[int, int]:
    """A connects to B's listener; (A's id, B's id) once both are ESTABLISHED."""
    pair.b.listen(PORT)
    a = pair.a.connect(B_ADDR, PORT, pair.now)
    accepted: list[int] = []

    def ready() -> bool:
        if not accepted and (b := pair.b.accept(PORT)) is not None:
            accepted.append(b)
        return bool(accepted) and pair.a.state(a) is S.ESTABLISHED

    pair.run_until(ready)
    return a, accepted[0]


def stream(
    pair: TcpPair,
    a: int,
    b: int,
    data: bytes,
    *,
    read: Callable[[int], int] = lambda step: 1 << 20,
    limit: int = 500_000,
) -> bytes:
    """A sends `data` as its buffer allows and closes; B reads `read(step)` octets a step."""
    got = bytearray()
    pos = 0
    closed = False
    conn = pair.a.connection(a)
    for step in range(limit):
        if pos < len(data) and (space := conn.send_space) > 0:
            pos += pair.a.send(a, data[pos : pos + space], pair.now)
        elif pos == len(data) and not closed:
            pair.a.close(a, pair.now)
            closed = True
        got += pair.b.receive(b, read(step))
        if len(got) == len(data) and pair.b.state(b) is S.CLOSE_WAIT:
            return bytes(got)
        if not pair.step() and pos == len(data) and closed:
            got += pair.b.receive(b)
            return bytes(got)
    raise AssertionError(f"transfer stalled: {len(got)} of {len(data)} octets after {limit} steps")


def read_all(pair: TcpPair, b: int, n: int, *, limit: int = 100_000) -> bytes:
    """Step until B's user has read `n` octets."""
    got = bytearray()
    for _ in range(limit):
        got += pair.b.receive(b)
        if len(got) >= n or not pair.step():
            break
    got += pair.b.receive(b)
    return bytes(got)


def ended(pair: TcpPair, name: str) -> list[str]:
    return [e.reason for e in pair.events[name] if isinstance(e, ev.ConnectionEnded)]


def test_a_megabyte_arrives_intact_over_a_lossy_link() -> None:
    rng = random.Random(20240607)
    pair, wire = make_pair(TcpConfig(msl=1.0), lose=lambda sender, s: rng.random() < 0.05)
    a, b = open_pair(pair)
    data = random.Random(7).randbytes(1 << 20)
    assert stream(pair, a, b, data) == data
    lost = sum(1 for *_, was_lost in wire.log if was_lost)
    assert lost > 100  # the link really lost segments (both ways): 150 of about 3000
    assert wire.violations == []
    assert wire.b_edges == sorted(wire.b_edges)  # B never shrank its window (§3.8.6)
    pair.b.close(b, pair.now)
    pair.run()
    assert pair.a.state(a) is S.CLOSED and pair.b.state(b) is S.CLOSED
    assert ended(pair, "a") == ["closed"] and ended(pair, "b") == ["closed"]


def test_an_out_of_order_segment_is_acked_and_dropped() -> None:
    seen: list[int] = []

    def lose_second_data_segment(sender: str, s: TcpSegment) -> bool:
        if sender == "a" and s.payload:
            seen.append(s.seq)
            return len(seen) == 2
        return False

    pair, wire = make_pair(TcpConfig(), lose=lose_second_data_segment)
    a, b = open_pair(pair)
    data = bytes(range(256)) * 20  # 5120 octets: 1460, 1460 (lost), 1460, 740
    start = pair.now
    mark = len(wire.log)
    pair.a.send(a, data, pair.now)
    pair.run(until=start + 0.5)  # all has arrived and been answered; no timer has fired
    hole = seen[1]
    after = [s for _, who, s, _ in wire.log[mark:] if who == "b"]
    # RFC 5681 §4.2 / RFC 9293 MAY-13: each later segment draws an immediate duplicate ACK.
    assert [s.ack for s in after] == [hole, hole, hole]
    assert pair.b.receive(b) == data[:1460]  # the later octets were not kept
    got = data[:1460] + read_all(pair, b, len(data) - 1460)
    assert got == data


def test_the_sender_stays_inside_the_window_of_a_slow_reader() -> None:
    pair, wire = make_pair(TcpConfig(msl=1.0, receive_buffer=3000), latency=0.05)
    a, b = open_pair(pair)
    data = random.Random(3).randbytes(60_000)
    got = stream(pair, a, b, data, read=lambda step: 700 if step % 7 == 0 else 0)
    assert got == data
    assert wire.violations == []
    assert wire.b_edges == sorted(wire.b_edges)
    shut = [s for t, who, s, _ in wire.log if who == "b" and s.flags & ACK and s.window == 0]
    assert shut  # the window did close on the way


def test_zero_window_probes_keep_a_stalled_connection_open() -> None:
    config = TcpConfig(msl=1.0, receive_buffer=2000)
    pair, wire = make_pair(config)
    a, b = open_pair(pair)
    data = random.Random(5).randbytes(10_000)
    assert pair.a.send(a, data, pair.now) == len(data)
    start = pair.now
    pair.run(until=start + 2000)  # B's user does not read for over half an hour
    assert pair.b.connection(b).unread == 2000
    probes = [e for e in pair.events["a"] if isinstance(e, ev.Retransmitted)]
    # Probes of the shut window, and once the override timeout has passed, the last
    # sliver of a window too small to be worth a segment (RFC 9293 §3.8.6.2.1).
    assert {e.what for e in probes} <= {"window probe", "data"}
    assert [e for e in probes if e.what == "window probe"]
    # MUST-37: the peer keeps answering, so the connection stays, far beyond data_retries.
    assert len(probes) > 2 * config.data_retries
    assert ended(pair, "a") == [] and ended(pair, "b") == []
    assert pair.a.state(a) is S.ESTABLISHED and pair.b.state(b) is S.ESTABLISHED
    answers = [s for t, s in wire.sent("b", since=start + 1)]
    assert answers and all(s.window == 0 for s in answers)  # each probe answered, window 0
    # SHLD-30: the interval between probes grows exponentially (up to the 64 s cap).
    times = [t for t, s in wire.sent("a", since=start) if len(s.payload) == 1]
    gaps = [round(y - x, 6) for x, y in itertools.pairwise(times)]
    assert gaps[:6] == [gaps[0] * 2**i for i in range(6)]
    assert max(gaps) == config.max_rto
    # The user reads: the window opens and the rest arrives.
    assert read_all(pair, b, len(data)) == data


def _lose_a_data(rule: Callable[[TcpSegment], bool]) -> Callable[[str, TcpSegment], bool]:
    return lambda sender, s: sender == "a" and bool(s.payload) and rule(s)


def rfc6298(samples: list[float], g: float = 0.001) -> tuple[float, float, float]:
    """RFC 6298 §2.2-2.4: (SRTT, RTTVAR, RTO) after `samples`; RTO floor 1 s, cap 64 s."""
    srtt, rttvar = samples[0], samples[0] / 2
    for r in samples[1:]:
        rttvar = 0.75 * rttvar + 0.25 * abs(srtt - r)
        srtt = 0.875 * srtt + 0.125 * r
    return srtt, rttvar, min(max(srtt + max(g, 4 * rttvar), 1.0), 64.0)


def test_data_rto_follows_rfc_6298_and_karn() -> None:
    latency = 0.4
    rtt = 2 * latency
    doomed: dict[int, int] = {}  # seq -> transmissions still to lose

    def lose(s: TcpSegment) -> bool:
        left = doomed.get(s.seq, 0)
        if left:
            doomed[s.seq] = left - 1
        return left > 0

    pair, wire = make_pair(TcpConfig(), latency=latency, lose=_lose_a_data(lose))
    a, _ = open_pair(pair)  # sample 1: the SYN's round trip

    def send(n: int, *, lost: int = 0) -> list[float]:
        """Send n octets; the times A transmitted them, first and retransmissions."""
        t = pair.now
        seq = pair.a.connection(a).snd_nxt
        doomed[seq] = lost
        pair.a.send(a, b"z" * n, t)
        pair.run()
        return [when for when, s in wire.sent("a", since=t) if s.seq == seq and s.payload]

    assert len(send(100)) == 1  # sample 2: 0.8 s again
    _, _, rto = rfc6298([rtt, rtt])
    assert rto == pytest.approx(2.0)  # 0.8 + 4 x 0.3
    times = send(100, lost=2)  # retransmitted after RTO, then 2 x RTO (RFC 6298 5.5-5.6)
    assert [y - x for x, y in itertools.pairwise(times)] == pytest.approx([rto, 2 * rto])
    # Karn: the ACK of a retransmitted segment gives no sample; the backed-off RTO (4 x)
    # stays until a fresh sample (RFC 6298 §5, "keeping the backed-off value").
    times = send(100, lost=1)
    assert [y - x for x, y in itertools.pairwise(times)] == pytest.approx([4 * rto])
    assert len(send(100)) == 1  # a clean sample: 0.8 s, the third one taken
    _, _, rto = rfc6298([rtt, rtt, rtt])
    times = send(100, lost=1)
    assert [y - x for x, y in itertools.pairwise(times)] == pytest.approx([rto])


def test_an_ack_of_new_data_restarts_the_timer() -> None:
    """RFC 6298 (5.3): restart on an ACK of new data; (5.2) stop when all is acknowledged."""
    latency = 0.25
    first: list[int] = []

    def lose(s: TcpSegment) -> bool:  # lose every transmission of the second segment
        if not first:
            first.append(s.seq)
        return s.seq != first[0]

    pair, wire = make_pair(TcpConfig(), latency=latency, lose=_lose_a_data(lose))
    a, _ = open_pair(pair)
    t = pair.now
    pair.a.send(a, b"q" * 2000, t)  # 1460 (arrives) + 540 (lost), timer started at t
    pair.run(until=t + 10)
    second = [when for when, s in wire.sent("a", since=t) if s.payload and s.seq != first[0]]
    # The first segment's ACK came back at t + 0.5 with a second sample and restarted the
    # timer with the RTO it gave (not t + 1.5, the RTO running when the segment left).
    _, _, rto = rfc6298([2 * latency, 2 * latency])
    assert rto == pytest.approx(1.25)
    assert second[:2] == pytest.approx([t, t + 2 * latency + rto])
