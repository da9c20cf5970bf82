"""Interop with the real slirp 1.0.17 (tests/slirprig.py), and the hand-built packets it needs.

SLIP: a hand-built SYN in our SLIP framing must reach slirp's TCP, come back as
a SYN-ACK in a frame our deframer accepts, and open a connection to a listener
on 127.0.0.1 inside the rig's namespace. PPP: a smoke test of the rig (slirp's
LCP Configure-Request through our HDLC deframer, and an Ack for ours); full PPP
sessions are for later tests on the same rig.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from handbuilt import ACK, PSH, RST, SYN, TcpSegment, parse_tcp, segment, syn
from slirprig import CLIENT, HOST, SlirpRig

from modememu.link import hdlc, slip
from modememu.link.hdlc import HdlcDeframer, HdlcFrame
from modememu.link.ppp.fsm import State
from modememu.link.ppp.ipcp import NetworkUp
from modememu.link.ppp.options import parse_words
from modememu.link.ppp.printer import log_line
from modememu.link.ppp.session import Phase, PppFrame, PppSession
from modememu.link.ppp.wire import CCP, LCP, PROT_REJ

TIMEOUT = 30.0  # per wait; slirp answers in milliseconds
# slirp's ISN (BSD 4.4's): tcp_iss starts at 1 and grows by TCP_ISSINCR/2 = 64000 per
# connection and per 500 ms slow tick while it has connections. So a first SYN right
# after start-up gets 1, one sent after 0.5 s gets 64001 (what ppp-tcp.md §6.1 saw).
SLIRP_ISS_START, SLIRP_ISS_STEP = 1, 64000

# ppp-tcp.md §5.1: SYN 10.0.2.15:49152 -> 10.0.2.2:80, ISN 0x12345678, win 65535, MSS 1460.
VECTOR_SYN = bytes.fromhex(
    "4500002c00014000400622bb0a00020f0a000202c000005012345678000000006002ffff57190000020405b4"
)

CONF_REQ, CONF_ACK = 1, 2
OPT_MRU, OPT_ASYNCMAP, OPT_MAGIC, OPT_PFC, OPT_ACFC = 1, 2, 5, 7, 8


# -- the hand-built packets (no peer needed) -------------------------------------


def test_handbuilt_syn_is_the_reference_vector() -> None:
    assert syn("10.0.2.15", 49152, "10.0.2.2", 80, 0x12345678) == VECTOR_SYN


def test_parse_tcp_reads_the_reference_vector() -> None:
    got = parse_tcp(VECTOR_SYN)
    assert got[:7] == ("10.0.2.15", 49152, "10.0.2.2", 80, 0x12345678, 0, SYN)
    assert (got.window, got.mss, got.payload) == (65535, 1460, b"")
    assert got.ip_checksum_ok and got.tcp_checksum_ok


def test_parse_tcp_reports_bad_checksums() -> None:
    damaged = bytearray(VECTOR_SYN)
    damaged[-1] ^= 1  # in the MSS option: the TCP checksum breaks, the IP one does not
    got = parse_tcp(bytes(damaged))
    assert got.ip_checksum_ok and not got.tcp_checksum_ok
    damaged[8] ^= 1  # the TTL
    assert not parse_tcp(bytes(damaged)).ip_checksum_ok


def test_segment_carries_payload_with_good_checksums() -> None:
    packet = segment("10.0.2.15", 1, "10.0.2.2", 2, seq=0xFFFFFFFF, ack=7,
                     flags=PSH | ACK, payload=b"odd")  # fmt: skip
    got = parse_tcp(packet)
    assert (got.seq, got.ack, got.flags, got.payload, got.mss) == (
        0xFFFFFFFF, 7, PSH | ACK, b"odd", None
    )  # fmt: skip
    assert got.ip_checksum_ok and got.tcp_checksum_ok


# -- SLIP against slirp ------------------------------------------------------------


class SlipSegments:
    """TCP segments out of what slirp sends on a SLIP line."""

    def __init__(self, rig: SlirpRig) -> None:
        self.rig = rig
        self.deframer = slip.SlipDeframer(mtu=1500)
        self.seen: list[TcpSegment] = []
        self.other: list[bytes] = []
        self.before_first_end = b""  # a banner on the line would land here
        self._hunting = True

    def wait_for(self, what: str, want: Callable[[TcpSegment], bool]) -> TcpSegment:
        """The first segment, from here on, for which `want` holds."""
        start = len(self.seen)
        deadline = time.monotonic() + TIMEOUT
        while True:
            for got in self.seen[start:]:
                if want(got):
                    return got
            start = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {what} from slirp; segments {self.seen}, other frames {self.other}, "
                    f"events {self.deframer.stats}, stderr {self.rig.stderr_text()!r}"
                )
            self._feed(self.rig.read(left))

    def _feed(self, data: bytes) -> None:
        if self._hunting:
            # SlipDeframer has no hunt state: octets before the first END would
            # come out as a frame of their own. Drop them as a real client would.
            head, end, data = data.partition(bytes([slip.END]))
            self.before_first_end += head
            if not end:
                return
            self._hunting = False
            data = end + data
        self.deframer.receive_data(data)
        while (frame := self.deframer.next_frame()) is not None:
            try:
                self.seen.append(parse_tcp(frame))
            except ValueError:
                self.other.append(frame)


@pytest.mark.peer
def test_slip_syn_reaches_slirp_and_a_listener_behind_it(tmp_path: Path) -> None:
    sport, isn = 40000, 1000
    with SlirpRig("slip", tmp_path) as rig:
        line = SlipSegments(rig)
        rig.write(slip.encode_frame(syn(CLIENT, sport, HOST, rig.port, isn)))
        syn_ack = line.wait_for("SYN-ACK", lambda s: s.has(SYN))

        assert syn_ack[:4] == (HOST, rig.port, CLIENT, sport)
        assert syn_ack.has(SYN | ACK) and not syn_ack.has(RST)
        assert syn_ack.ack == isn + 1
        assert syn_ack.seq % SLIRP_ISS_STEP == SLIRP_ISS_START, syn_ack.seq
        assert syn_ack.mss is not None
        assert syn_ack.ip_checksum_ok and syn_ack.tcp_checksum_ok
        assert line.before_first_end == b"", "the banner belongs on stderr, not the line"
        assert "SLiRP Ready" in rig.stderr_text()
        assert rig.wait_accepted(TIMEOUT), "slirp never connected to 127.0.0.1"

        # Complete the handshake, then send data: the listener echoes it back.
        ours = isn + 1
        theirs = syn_ack.seq + 1
        rig.write(slip.encode_frame(segment(CLIENT, sport, HOST, rig.port, seq=ours,
                                            ack=theirs, flags=ACK, ip_id=2)))  # fmt: skip
        text = b"hello through slirp\n"
        rig.write(slip.encode_frame(segment(CLIENT, sport, HOST, rig.port, seq=ours,
                                            ack=theirs, flags=PSH | ACK, payload=text,
                                            ip_id=3)))  # fmt: skip
        echo = line.wait_for("echoed data", lambda s: bool(s.payload))

        assert echo.payload == text
        assert echo.seq == theirs
        assert echo.ack == ours + len(text)
        assert echo.ip_checksum_ok and echo.tcp_checksum_ok
        assert not any(s.has(RST) for s in line.seen), line.seen
        assert line.other == [] and line.deframer.stats.bad_escapes == 0
        assert rig.alive and rig.accepted == 1


# -- PPP: a smoke test of the rig ---------------------------------------------------


class FrameCollector:
    """The smallest sans-I/O core: collects slirp's PPP frames and sends what it is given."""

    def __init__(self) -> None:
        self.deframer = HdlcDeframer()
        self.frames: list[HdlcFrame] = []
        self.outgoing = b""

    def receive_data(self, data: bytes, now: float) -> None:
        self.deframer.receive_data(data)
        while (frame := self.deframer.next_frame()) is not None:
            self.frames.append(frame)

    def data_to_send(self) -> bytes:
        out, self.outgoing = self.outgoing, b""
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        pass

    def lcp(self, code: int) -> list[HdlcFrame]:
        return [f for f in self.frames if f.protocol == LCP and f.info[:1] == bytes([code])]


def lcp_options(info: bytes) -> list[tuple[int, bytes]]:
    """The (type, data) options of a Configure-* packet, checking its lengths."""
    length = int.from_bytes(info[2:4], "big")
    assert 4 <= length <= len(info), info.hex()
    body = info[4:length]
    options = []
    while body:
        kind, size = body[0], body[1]
        assert 2 <= size <= len(body), info.hex()
        options.append((kind, body[2:size]))
        body = body[size:]
    return options


@pytest.mark.peer
def test_ppp_slirp_opens_with_its_lcp_request(tmp_path: Path) -> None:
    with SlirpRig("ppp", tmp_path) as rig:
        core = FrameCollector()
        assert rig.pump(core, lambda: bool(core.lcp(CONF_REQ)), TIMEOUT), rig.stderr_text()

        request = core.lcp(CONF_REQ)[0]
        assert request.address_control and not request.compressed_protocol
        options = lcp_options(request.info)
        assert [kind for kind, _ in options] == [OPT_MRU, OPT_MAGIC, OPT_PFC, OPT_ACFC]
        values = dict(options)
        assert int.from_bytes(values[OPT_MRU], "big") == 1500
        assert len(values[OPT_MAGIC]) == 4 and values[OPT_MAGIC] != bytes(4)
        assert values[OPT_PFC] == values[OPT_ACFC] == b""
        assert core.deframer.stats.unframed == 0, "the banner belongs on stderr, not the line"
        assert core.deframer.stats.bad_fcs == 0

        # Our own request (<asyncmap 0x0> <magic 0x11223344>): slirp Acks it as sent.
        wanted = bytes([OPT_ASYNCMAP, 6, 0, 0, 0, 0, OPT_MAGIC, 6, 0x11, 0x22, 0x33, 0x44])
        ours = bytes([CONF_REQ, 1]) + (4 + len(wanted)).to_bytes(2, "big") + wanted
        core.outgoing = hdlc.encode_frame(LCP, ours)
        assert rig.pump(core, lambda: bool(core.lcp(CONF_ACK)), TIMEOUT), rig.stderr_text()
        assert core.lcp(CONF_ACK)[0].info == bytes([CONF_ACK]) + ours[1:]
        assert rig.alive


# -- a modememu PPP session against slirp -------------------------------------------


@pytest.mark.peer
def test_ppp_session_negotiates_with_slirp_and_a_syn_gets_through(tmp_path: Path) -> None:
    # pppd's way to dial slirp: ask for an address, and name slirp's (it proposes 0.0.0.0).
    session = PppSession(parse_words(["noipdefault", f":{HOST}"]), seed=7)
    events: list[object] = []

    def running() -> bool:
        while (event := session.next_event()) is not None:
            events.append(event)
        return session.phase is Phase.RUNNING or session.ended is not None

    with SlirpRig("ppp", tmp_path) as rig:
        session.open(time.monotonic())
        assert rig.pump(session, running, TIMEOUT), rig.stderr_text()
        assert session.lcp.state is State.OPENED and session.ipcp.state is State.OPENED
        assert (session.local_address, session.remote_address) == (CLIENT, HOST)
        assert NetworkUp(CLIENT, HOST, ()) in events

        sport, isn = 40001, 0x01020304
        session.send_ip(syn(CLIENT, sport, HOST, rig.port, isn), time.monotonic())
        answers: list[bytes] = []

        def answered() -> bool:
            running()
            while (datagram := session.next_datagram()) is not None:
                answers.append(datagram)
            return bool(answers)

        assert rig.pump(session, answered, TIMEOUT), rig.stderr_text()
        reply = parse_tcp(answers[0])
        assert (reply.src, reply.sport, reply.dst, reply.dport) == (HOST, rig.port, CLIENT, sport)
        assert reply.flags & (SYN | ACK) == SYN | ACK and reply.ack == isn + 1
        assert reply.ip_checksum_ok and reply.tcp_checksum_ok
        assert rig.wait_accepted(TIMEOUT), "slirp never connected to 127.0.0.1"
        assert rig.alive

    frames = [e for e in events if isinstance(e, PppFrame)]
    log = [log_line(f.sent, f.protocol, f.info) for f in frames]
    # slirp's CCP got an LCP Protocol-Reject, as pppd without compression answers it.
    assert any(f.protocol == CCP and not f.sent for f in frames), log
    assert any(f.sent and f.protocol == LCP and f.info[0] == PROT_REJ for f in frames), log
    assert any(
        line.startswith("rcvd [IPCP ConfNak") and "<addr 10.0.2.15>" in line for line in log
    ), log
    assert any(line.startswith("sent [IPCP ConfRej") and "compress VJ" in line for line in log), log
