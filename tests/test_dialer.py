"""The dialer against a scripted modem and a far end, on virtual time.

The fake DCE answers ATZ with OK and ATDT with a chosen result; after CONNECT
it carries octets to a far end: a PPP server (pppd's words) or a SLIP server
that first prints a banner, each with a TCP/IP stack serving echo on port 7.
It honours DTR (&D2: drop = hang up) and the +++ escape (modememu's own
detector, S12 = 50), so both hang-up paths run against real guard times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import pytest

from modememu.agents.chat import ChatGot, ChatSent
from modememu.agents.dialer import (
    EXIT_AUTH_FAILED,
    EXIT_BUSY,
    EXIT_CARRIER_LOST,
    EXIT_CODES,
    EXIT_DIAL_FAILED,
    EXIT_HANGUP_FAILED,
    EXIT_LINK_FAILED,
    EXIT_NO_ANSWER,
    EXIT_NO_CARRIER,
    EXIT_OK,
    EXIT_TCP_FAILED,
    STEPS,
    Dialer,
    DialerConfig,
    DialerFailed,
    DialerStep,
)
from modememu.agents.iplink import IpOverLink, SlipLink
from modememu.events import Event
from modememu.link.ppp.ipcp import NetworkUp
from modememu.link.ppp.options import parse_words
from modememu.link.ppp.session import PppFrame, PppSession
from modememu.link.ppp.wire import LCP, TERM_ACK, TERM_REQ
from modememu.modem.escape import EscapeDetector
from modememu.net.events import NetEvent, TcpSegmentSeen, TcpStateChanged
from modememu.net.services import Echo
from modememu.net.stack import NetStack
from modememu.net.tcp.app import Link
from modememu.net.tcp.isn import IsnGenerator
from modememu.net.tcp.wire import FIN, RST

SERVER_WORDS = ["noauth", "10.0.2.2:10.0.2.15", "ms-dns", "10.0.2.3"]
BANNER = b"\r\nWelcome to the test ISP.\r\nSLIP mode: your address is 10.0.2.15\r\n"
DIAL_TIME = 20.0  # ATDT to CONNECT
T = TypeVar("T")


# -- far ends ------------------------------------------------------------------------------


class FarEnd(Protocol):
    events: list[Event]

    def open(self, now: float) -> None: ...

    def receive_data(self, data: bytes, now: float) -> None: ...

    def data_to_send(self) -> bytes: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class IpFar:
    """A link and a stack at 10.0.2.2 serving echo on port 7 (unless told not to)."""

    def __init__(self, link: PppSession | SlipLink, *, echo: bool = True) -> None:
        self.link = link
        self.stack = NetStack("10.0.2.2", isn=IsnGenerator(b"far" * 6))
        if echo:
            self.stack.serve(7, Echo)
        self.joint = IpOverLink(link, self.stack)
        self.events: list[Event] = []
        self._out = bytearray()

    def open(self, now: float) -> None:
        if isinstance(self.link, PppSession):
            self.link.open(now)
            self.joint.pump(now)

    def receive_data(self, data: bytes, now: float) -> None:
        self.joint.receive_data(data, now)

    def data_to_send(self) -> bytes:
        while (event := self.joint.next_event()) is not None:
            self.events.append(event)
        out = bytes(self._out) + self.joint.data_to_send()
        self._out.clear()
        return out

    def get_timer(self) -> float | None:
        return self.joint.get_timer()

    def handle_timer(self, now: float) -> None:
        self.joint.handle_timer(now)


def ppp_far(words: list[str] = SERVER_WORDS, *, echo: bool = True) -> IpFar:
    return IpFar(PppSession(parse_words(words), seed=99), echo=echo)


class SlipFar(IpFar):
    def __init__(self, banner: bytes = BANNER) -> None:
        super().__init__(SlipLink())
        self.banner = banner

    def open(self, now: float) -> None:
        self._out += self.banner


# -- the modem -------------------------------------------------------------------------------


class FakeModem:
    """A scripted DCE: command mode, a dial that ends in `answer`, then online to `far`."""

    def __init__(self, far: FarEnd | None, answer: str | None) -> None:
        self.far = far
        self.answer = answer  # None: the dial never ends
        self.mode = "command"  # "command", "dialing", "online", "escaped"
        self.dcd = False
        self.dtr = True
        self.connected = False  # a call is up (online or escaped)
        self.to_dte = bytearray()
        self.to_far = bytearray()
        self.commands: list[tuple[float, str]] = []
        self.dte_log: list[tuple[float, bytes]] = []
        self._line = bytearray()
        self._connect_at: float | None = None
        self._escape = EscapeDetector()

    def from_dte(self, data: bytes, now: float) -> None:
        self.dte_log.append((now, data))
        if self.mode == "online":
            self._escape.feed(data, now, s2=ord("+"), s12=50)
            self.to_far += data
            return
        if self.mode == "dialing":
            return
        self.to_dte += data  # E1 echo
        self._line += data
        while b"\r" in self._line:
            line, _, rest = bytes(self._line).partition(b"\r")
            self._line = bytearray(rest)
            self._command(line.strip().upper().decode(), now)

    def _command(self, line: str, now: float) -> None:
        if not line.startswith("AT"):
            return
        self.commands.append((now, line))
        body = line[2:]
        if body.startswith("D"):
            self.mode = "dialing"
            self._connect_at = now + DIAL_TIME
        elif body in ("H", "H0"):
            self.hang_up(b"OK")
        else:
            self._result(b"OK")

    def _result(self, text: bytes) -> None:
        self.to_dte += b"\r\n" + text + b"\r\n"

    def set_dtr(self, on: bool, now: float) -> None:
        self.dtr = on
        if not on and self.connected:
            self.hang_up(b"OK")  # &D2

    def hang_up(self, text: bytes) -> None:
        self.connected = self.dcd = False
        self.mode = "command"
        self._result(text)

    def get_timer(self) -> float | None:
        times = [t for t in (self._connect_at, self._escape.deadline) if t is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        if self._connect_at is not None and now >= self._connect_at:
            self._connect_at = None
            if self.answer is None:
                return
            if self.answer.startswith("CONNECT"):
                self.mode = "online"
                self.connected = self.dcd = True
                self._result(self.answer.encode())
                self._escape.reset(now)
                if self.far is not None:
                    self.far.open(now)
            else:
                self.mode = "command"
                self._result(self.answer.encode())
        if self.mode == "online" and self._escape.check(now):
            self.mode = "escaped"
            self._result(b"OK")


# -- the rig ----------------------------------------------------------------------------------


@dataclass
class Rig:
    dialer: Dialer
    modem: FakeModem
    now: float = 0.0
    events: list[tuple[float, Event]] = field(default_factory=list)
    # Called after the far end answered something; True drops the carrier there and then.
    cut: Callable[[Rig], bool] | None = None
    report_carrier: bool = True  # False: a port without modem lines (a pty)
    # Called when nothing else is due (a held line waits for its user); True if it acted.
    idle: Callable[[Rig], bool] | None = None
    _dcd: bool = False

    @classmethod
    def of(
        cls,
        far: FarEnd | None = None,
        answer: str | None = "CONNECT 33600/ARQ",
        **config: object,
    ) -> Rig:
        dialer = Dialer(DialerConfig(**config), seed=5)  # type: ignore[arg-type]
        return cls(dialer, FakeModem(far if far is not None else ppp_far(), answer))

    @property
    def far(self) -> FarEnd:
        assert self.modem.far is not None
        return self.modem.far

    def step(self) -> bool:
        moved = False
        dialer, modem, now = self.dialer, self.modem, self.now
        out = dialer.data_to_send()
        if out:
            modem.from_dte(out, now)
            moved = True
        if dialer.dtr != modem.dtr:
            modem.set_dtr(dialer.dtr, now)
            moved = True
        if modem.connected and modem.far is not None:
            if modem.to_far:
                data = bytes(modem.to_far)
                modem.to_far.clear()
                modem.far.receive_data(data, now)
                moved = True
            back = modem.far.data_to_send()
            if self.cut is not None and self.cut(self):
                self.cut = None
                modem.hang_up(b"NO CARRIER")
                back = b""
            if back and modem.mode == "online":
                modem.to_dte += back
                moved = True
        if modem.to_dte:
            data = bytes(modem.to_dte)
            modem.to_dte.clear()
            dialer.receive_data(data, now)
            moved = True
        if self.report_carrier and modem.dcd != self._dcd:
            self._dcd = modem.dcd
            dialer.carrier(modem.dcd, now)
            moved = True
        while (event := dialer.next_event()) is not None:
            self.events.append((now, event))
        return moved

    def run(self, limit: float = 1000.0) -> Rig:
        self.dialer.start(self.now)
        for _ in range(100_000):
            if self.step():
                continue
            if self.dialer.result is not None:
                return self
            far_timer = self.far.get_timer() if self.modem.connected else None
            timers = [
                t
                for t in (self.dialer.get_timer(), self.modem.get_timer(), far_timer)
                if t is not None
            ]
            if not timers and self.idle is not None and self.idle(self):
                continue
            assert timers, "nothing left to happen, and the dialer has no result"
            self.now = max(self.now, min(timers))
            assert self.now <= limit, "ran past the limit"
            self.dialer.handle_timer(self.now)
            self.modem.handle_timer(self.now)
            if self.modem.connected:
                self.far.handle_timer(self.now)
        raise AssertionError("the rig never settled")

    # -- what happened ---------------------------------------------------------------------

    def steps(self) -> list[str]:
        return [e.step for _, e in self.events if isinstance(e, DialerStep)]

    def detail(self, step: str) -> str:
        details = [e.detail for _, e in self.events if isinstance(e, DialerStep) and e.step == step]
        assert len(details) == 1, (step, details)
        return details[0]

    def at(self, step: str) -> float:
        return next(t for t, e in self.events if isinstance(e, DialerStep) and e.step == step)

    def of_type(self, kind: type[T]) -> list[T]:
        return [e for _, e in self.events if isinstance(e, kind)]

    def lcp_codes(self, *, sent: bool) -> list[int]:
        return [f.info[0] for f in self.of_type(PppFrame) if f.protocol == LCP and f.sent is sent]


# -- the tests ------------------------------------------------------------------------------------

UNHELD = [s for s in STEPS if s != "online"]  # every step of a call without `hold`


def test_ppp_success_runs_every_step_in_order() -> None:
    rig = Rig.of().run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_OK, "done")
    assert rig.steps() == UNHELD
    assert rig.detail("dialing") == "ATDT5550100"
    assert rig.detail("connected") == "CONNECT 33600/ARQ"
    assert rig.detail("link") == "PPP: local 10.0.2.15, remote 10.0.2.2, DNS 10.0.2.3"
    assert rig.dialer.dns == ("10.0.2.3",)
    assert rig.detail("tcp").startswith("ESTABLISHED 10.0.2.15:")
    assert rig.detail("tcp").endswith("-> 10.0.2.2:7")
    assert rig.detail("exchange") == "sent 21 octets b'Hello from modememu\\r\\n', echo matched"
    assert rig.detail("close").startswith("TIME-WAIT")
    assert rig.detail("link down") == "PPP: User request"
    assert rig.detail("done") == "exit 0: success"
    assert not rig.of_type(DialerFailed)
    assert [c for _, c in rig.modem.commands] == ["ATZ", "ATDT5550100"]
    assert rig.at("connected") == DIAL_TIME  # the whole session is on the virtual clock


def test_hold_keeps_the_line_for_more_exchanges_until_hang_up() -> None:
    rig = Rig.of(hold=True)
    asked: list[str] = []

    def user(r: Rig) -> bool:
        assert r.dialer.step == "online" and r.modem.dcd
        if not asked:
            asked.append("exchange")
            return r.dialer.exchange(b"x" * 3000, r.now)
        asked.append("hang up")
        r.dialer.hang_up(r.now)
        return True

    rig.idle = user
    rig.run()
    result = rig.dialer.result
    assert result is not None and result.code == EXIT_OK
    online = ["tcp", "exchange", "close", "online"]
    assert rig.steps() == ["dialing", "connected", "link", *online, *online, *STEPS[-3:]]
    assert asked == ["exchange", "hang up"]
    details = [e.detail for _, e in rig.events if isinstance(e, DialerStep)]
    assert "sent 3000 octets b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'..., echo matched" in details
    sent = sum(s.length for s in rig.of_type(TcpSegmentSeen) if s.sent)
    assert sent == len(DialerConfig().message) + 3000
    syns = [s for s in rig.of_type(TcpSegmentSeen) if s.sent and s.flags == 0x02]
    assert len(syns) == 2 and syns[0].src != syns[1].src  # a new connection, a new port
    assert not rig.dialer.exchange(b"more", rig.now)  # the call is over


def test_exchange_and_hang_up_do_nothing_unless_holding() -> None:
    rig = Rig.of()
    assert not rig.dialer.exchange(b"early", 0.0)  # idle: nothing to exchange on
    rig.run()
    assert not rig.dialer.exchange(b"late", rig.now)
    rig.dialer.hang_up(rig.now)
    assert rig.steps()[-1] == "done" and rig.steps().count("done") == 1


def test_ppp_success_passes_chat_ppp_and_tcp_events_through() -> None:
    rig = Rig.of().run()
    assert any(isinstance(e, ChatGot) and e.text.endswith("CONNECT") for _, e in rig.events)
    assert [e.local for e in rig.of_type(NetworkUp)] == ["10.0.2.15"]
    # LCP: ours Terminate-Request, the server's Terminate-Ack.
    assert TERM_REQ in rig.lcp_codes(sent=True)
    assert TERM_ACK in rig.lcp_codes(sent=False)
    segments = rig.of_type(TcpSegmentSeen)
    assert segments[0].flags & 0x02 and segments[0].sent  # our SYN first
    payload = [s.length for s in segments if s.sent and s.length]
    assert payload == [len(DialerConfig().message)]
    fins = [s.sent for s in segments if s.flags & FIN]
    assert fins == [True, False]  # our FIN first, then the echo server's
    assert not any(s.flags & RST for s in segments)
    states = [e.new for e in rig.of_type(TcpStateChanged)]
    assert states == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]


def test_dtr_hangup_drops_dtr_and_waits_for_carrier_loss() -> None:
    rig = Rig.of().run()
    assert rig.dialer.dtr is False
    assert rig.modem.dcd is False
    assert rig.detail("hangup") == "DTR dropped, carrier lost"
    assert rig.at("hangup") == rig.at("link down")  # the fake modem hangs up at once


def test_escape_hangup_keeps_the_guard_times_exactly() -> None:
    rig = Rig.of(hangup="escape").run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK
    assert rig.dialer.dtr is True  # hung up by command, not by DTR
    down = rig.at("link down")
    last_ppp = max(t for t, d in rig.modem.dte_log if t <= down)
    assert last_ppp == down  # our Terminate-Request went out just before the link ended
    tail = [(t, d) for t, d in rig.modem.dte_log if t > down]
    assert tail == [(down + 1.0, b"+++"), (down + 2.0, b"ATH0\r")]
    assert rig.modem.commands[-1] == (down + 2.0, "ATH0")
    assert rig.detail("hangup") == "+++ OK, ATH0 OK"
    assert rig.at("hangup") == down + 2.0
    assert not rig.modem.connected and not rig.modem.dcd
    sent = [e.text for e in rig.of_type(ChatSent)]
    assert sent[-2:] == ["+++", "ATH0^M"]


def test_escape_that_gets_no_ok_falls_back_to_dtr() -> None:
    rig = Rig.of(hangup="escape", guard=0.5, hangup_timeout=3.0)
    rig.run()
    # A guard of 0.5 s is too short for S12 = 50: the modem never escapes.
    down = rig.at("link down")
    assert rig.dialer.dtr is False
    detail = "escape failed (timeout waiting for (OK)); DTR dropped, carrier lost"
    assert rig.detail("hangup") == detail
    assert rig.at("hangup") == down + 0.5 + 3.0
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("BUSY", EXIT_BUSY),
        ("NO CARRIER", EXIT_NO_CARRIER),
        ("NO ANSWER", EXIT_NO_ANSWER),
        ("NO DIALTONE", EXIT_DIAL_FAILED),
        ("ERROR", EXIT_DIAL_FAILED),
    ],
)
def test_dial_results_map_to_exit_codes(answer: str, code: int) -> None:
    rig = Rig.of(answer=answer).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (code, "dialing")
    assert result.reason == f"abort on ({answer})"
    assert rig.steps() == ["dialing", "done"]
    assert rig.at("done") == DIAL_TIME
    assert rig.dialer.dtr is True  # nothing to hang up


def test_chat_timeout_is_exit_4_after_the_chat_timeout() -> None:
    rig = Rig.of(answer=None, chat_timeout=45).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_DIAL_FAILED, "dialing")
    assert result.reason == "timeout waiting for (CONNECT)"
    assert rig.at("done") == 45.0  # ATDT went out at 0 (ATZ answered at once)


def test_pap_refused_is_exit_6_and_the_link_is_left_politely() -> None:
    server = ["require-pap", "secret", "alice:right", "10.0.2.2:10.0.2.15"]
    rig = Rig.of(ppp_far(server), user="alice", password="wrong").run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_AUTH_FAILED, "link")
    assert rig.steps() == ["dialing", "connected", "link down", "hangup", "done"]
    assert TERM_REQ in rig.lcp_codes(sent=True)
    assert not rig.of_type(NetworkUp)


def test_pap_with_the_right_secret_gets_through() -> None:
    server = ["require-pap", "secret", "alice:right", "10.0.2.2:10.0.2.15"]
    rig = Rig.of(ppp_far(server), user="alice", password="right").run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK


def test_server_demanding_auth_from_a_dialer_without_user_is_exit_6() -> None:
    server = ["require-pap", "secret", "alice:right", "10.0.2.2:10.0.2.15"]
    rig = Rig.of(ppp_far(server)).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_AUTH_FAILED, "link")
    assert result.reason.startswith("peer requires authentication")


def test_ppp_server_that_never_answers_is_exit_5_after_the_link_timeout() -> None:
    class Mute(IpFar):
        def data_to_send(self) -> bytes:
            super().data_to_send()
            return b""

    rig = Rig.of(Mute(ppp_far().link), link_timeout=30).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_LINK_FAILED, "link")
    failed = rig.of_type(DialerFailed)
    assert [f.code for f in failed] == [EXIT_LINK_FAILED]
    assert rig.steps()[-3:] == ["link down", "hangup", "done"]


def test_tcp_refused_is_exit_7_then_link_down_and_hangup() -> None:
    rig = Rig.of(ppp_far(echo=False)).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_TCP_FAILED, "tcp")
    assert result.reason == "connect: refused"
    assert rig.steps() == ["dialing", "connected", "link", "link down", "hangup", "done"]
    assert TERM_REQ in rig.lcp_codes(sent=True)


def test_tcp_timeout_is_exit_7() -> None:
    class Blackhole(IpFar):
        def receive_data(self, data: bytes, now: float) -> None:
            self.link.receive_data(data, now)  # PPP goes on, IP is never answered
            while self.link.next_datagram() is not None:
                pass
            self.joint.pump(now)

    rig = Rig.of(Blackhole(ppp_far().link), tcp_timeout=10).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step, result.reason) == (
        EXIT_TCP_FAILED,
        "tcp",
        "connect timed out after 10 s",
    )
    assert rig.at("link") + 10 == next(t for t, e in rig.events if isinstance(e, DialerFailed))


def test_carrier_lost_mid_exchange_is_exit_8() -> None:
    def when_message_arrives(rig: Rig) -> bool:
        return any(
            isinstance(e, TcpSegmentSeen) and not e.sent and e.length > 0 for e in rig.far.events
        )

    rig = Rig.of()
    rig.cut = when_message_arrives
    rig.run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_CARRIER_LOST, "exchange")
    assert rig.steps() == ["dialing", "connected", "link", "tcp", "done"]
    assert rig.dialer.session is not None and rig.dialer.session.ended is not None
    assert rig.dialer.session.ended.reason == "Modem hangup"


def test_slip_reads_the_address_from_the_banner() -> None:
    rig = Rig.of(SlipFar(), mode="slip", slip_address="10.9.9.9").run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK
    assert rig.steps() == UNHELD
    assert rig.detail("link") == "SLIP: local 10.0.2.15 (from the banner), remote 10.0.2.2"
    assert rig.detail("link down") == "SLIP: nothing to negotiate"
    assert rig.at("link") == DIAL_TIME  # the banner line ended: no waiting
    assert not rig.of_type(PppFrame)


def test_slip_without_an_address_in_the_banner_uses_the_configured_one() -> None:
    far = SlipFar(b"Welcome. Start your SLIP software now.\r\n")
    far.stack = NetStack("10.0.2.2")  # answers whatever address the dialer picked
    far.stack.serve(7, Echo)
    far.joint = IpOverLink(far.link, far.stack)
    rig = Rig.of(far, mode="slip", banner_wait=2.0).run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK
    assert rig.detail("link") == "SLIP: local 10.0.2.15 (configured), remote 10.0.2.2"
    assert rig.at("link") == DIAL_TIME + 2.0


def test_connect_line_split_across_chunks_is_read_whole() -> None:
    rig = Rig.of()
    dialer = rig.dialer
    dialer.start(0.0)
    dialer.receive_data(b"ATZ\r\r\nOK\r\n", 0.0)
    dialer.receive_data(b"ATDT5550100\r\r\nCONNECT 336", 1.0)
    assert dialer.step == "connected"
    assert dialer.get_timer() == 1.5
    dialer.receive_data(b"00/ARQ/V34\r\n\x7e\xff", 1.1)
    assert dialer.step == "link"
    assert dialer.connect_text == "CONNECT 33600/ARQ/V34"
    assert dialer.session is not None
    assert dialer.session.deframer is not None


def test_connect_line_without_its_end_is_cut_short_by_the_wait() -> None:
    dialer = Dialer(DialerConfig(init=""), seed=1)
    dialer.start(0.0)
    assert dialer.data_to_send() == b"ATDT5550100\r"
    dialer.receive_data(b"\r\nCONNECT 9600", 3.0)
    assert dialer.get_timer() == 3.5
    dialer.handle_timer(3.5)
    assert (dialer.step, dialer.connect_text) == ("link", "CONNECT 9600")


def test_events_are_dialer_chat_link_and_net_events() -> None:
    rig = Rig.of().run()
    kinds = {type(e).__module__.rsplit(".", 1)[-1] for _, e in rig.events}
    assert {"dialer", "chat", "session", "ipcp", "events"} <= kinds
    assert any(isinstance(e, NetEvent) for _, e in rig.events)


def test_config_hides_the_password_and_writes_a_chat_script() -> None:
    config = DialerConfig(user="alice", password="s3cret", chat_timeout=45)
    assert "s3cret" not in repr(config)
    assert config.script() == [
        "ABORT",
        "BUSY",
        "ABORT",
        "NO CARRIER",
        "ABORT",
        "NO ANSWER",
        "ABORT",
        "NO DIALTONE",
        "ABORT",
        "ERROR",
        "TIMEOUT",
        "45",
        "",
        "ATZ",
        "OK",
        "ATDT5550100",
        "CONNECT",
    ]
    assert DialerConfig(init="").script()[-3:] == ["", "ATDT5550100", "CONNECT"]
    assert config.pppd_words() == [
        "noipdefault",
        "usepeerdns",
        ":10.0.2.2",  # the peer's address if it proposes none (slirp)
        "ipcp-accept-remote",
        "user",
        "alice",
        "password",
        "s3cret",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "uucp"},
        {"hangup": "unplug"},
        {"number": "555\r0100"},
        {"host": "example.org"},
        {"port": 0},
        {"message": b""},
        {"tcp_timeout": 0},
    ],
)
def test_config_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DialerConfig(**bad)  # type: ignore[arg-type]


def test_exit_codes_are_distinct_and_described() -> None:
    codes = [
        EXIT_OK,
        EXIT_BUSY,
        EXIT_NO_CARRIER,
        EXIT_NO_ANSWER,
        EXIT_DIAL_FAILED,
        EXIT_LINK_FAILED,
        EXIT_AUTH_FAILED,
        EXIT_TCP_FAILED,
        EXIT_CARRIER_LOST,
        EXIT_HANGUP_FAILED,
    ]
    assert codes == list(range(10))
    assert sorted(EXIT_CODES) == codes


def test_dtr_hangup_that_never_loses_carrier_is_exit_9() -> None:
    rig = Rig.of(hangup_timeout=5)
    rig.modem.set_dtr = lambda on, now: setattr(rig.modem, "dtr", on)  # type: ignore[method-assign]
    rig.run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_HANGUP_FAILED, "hangup")
    assert rig.at("done") == rig.at("link down") + 5


def test_dtr_hangup_without_a_carrier_signal_is_made_sure_of_with_the_escape() -> None:
    # No DCD to watch (&C0, or a port without the line): the dialer cannot see DTR
    # work, and &D0 modems ignore it, so after the guard time it escapes and says ATH0.
    rig = Rig.of()
    rig.report_carrier = False
    rig.run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK
    # This fake modem honoured DTR and then stays silent: "+++" and ATH0 both go
    # unanswered, and the dialer ends with what it knows.
    sent = [e.text for e in rig.of_type(ChatSent)]
    assert "+++" in sent and "ATH0^M" in sent
    assert rig.detail("hangup").endswith("DTR dropped, no carrier signal reported")
    assert rig.at("hangup") > rig.at("link down") + rig.dialer.config.guard


def test_peer_ending_ppp_in_mid_session_is_exit_5() -> None:
    far = ppp_far()

    def close_ppp_on_syn(rig: Rig) -> bool:
        if any(isinstance(e, TcpSegmentSeen) and not e.sent for e in far.events):
            rig.cut = None
            assert isinstance(far.link, PppSession)
            far.link.close(rig.now, "Administrative shutdown")
        return False

    rig = Rig.of(far)
    rig.cut = close_ppp_on_syn
    rig.run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_LINK_FAILED, "exchange")
    assert result.reason.startswith("link ended: ")
    assert rig.steps() == ["dialing", "connected", "link", "tcp", "link down", "hangup", "done"]


def test_echo_mismatch_is_exit_7() -> None:
    class Shout(Echo):
        def received(self, link: Link, data: bytes, now: float) -> None:
            super().received(link, data.upper(), now)

    far = ppp_far(echo=False)
    far.stack.serve(7, Shout)
    rig = Rig.of(far).run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step) == (EXIT_TCP_FAILED, "exchange")
    assert result.reason.startswith("echo mismatch: b'HELLO")
    assert any(isinstance(e, TcpSegmentSeen) and e.sent and e.flags & RST for _, e in rig.events)
    assert rig.steps()[-3:] == ["link down", "hangup", "done"]


def test_carrier_lost_while_taking_the_link_down_is_not_a_failure() -> None:
    rig = Rig.of()
    rig.cut = lambda rig: rig.dialer.step == "link down"
    rig.run()
    assert rig.dialer.result is not None and rig.dialer.result.code == EXIT_OK
    assert rig.detail("link down") == "carrier lost while taking the link down"
    assert "hangup" not in rig.steps()


def test_carrier_lost_during_negotiation_is_exit_8() -> None:
    rig = Rig.of()
    rig.cut = lambda rig: rig.dialer.step == "link"
    rig.run()
    result = rig.dialer.result
    assert result is not None
    assert (result.code, result.step, result.reason) == (EXIT_CARRIER_LOST, "link", "carrier lost")


def test_connect_line_is_bounded() -> None:
    dialer = Dialer(DialerConfig(init=""), seed=1)
    dialer.start(0.0)
    dialer.receive_data(b"\r\nCONNECT " + b"9" * 500, 3.0)
    assert dialer.step == "link"
    assert dialer.connect_text == "CONNECT " + "9" * 79  # 80 octets after "CONNECT"
