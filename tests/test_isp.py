"""The ISP agent against a pppd-like caller (PppSession from pppd words) and a SLIP caller.

Both ends run on virtual time: octets cross at once, and when nothing is in
flight the clock jumps to the earliest deadline, as in tests/pppair.py. The
caller is built only from parts any 1990s PC had: a PPP or SLIP link and a
TCP/IP stack that learns its address from IPCP or from the SLIP banner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from modememu.agents.iplink import IpOverLink, SlipLink
from modememu.agents.isp import (
    SLIP_BANNER,
    IspCallEnded,
    IspCallStarted,
    IspConfig,
    IspConfigError,
    IspPool,
    IspPoolExhausted,
    IspSession,
    slip_banner,
)
from modememu.events import Event
from modememu.link.ppp.auth import AuthFailed, AuthSucceeded
from modememu.link.ppp.ipcp import NetworkUp
from modememu.link.ppp.options import parse_words
from modememu.link.ppp.session import (
    EXIT_AUTH_TOPEER_FAILED,
    EXIT_PEER_AUTH_FAILED,
    LinkEnded,
    Phase,
    PppFrame,
    PppSession,
)
from modememu.net.events import TcpSegmentSeen
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpState
from modememu.net.tcp.wire import FIN, SYN

T = TypeVar("T")

WHEN = datetime(1996, 8, 23, 21, 15, 0, tzinfo=UTC)
CALLER = ["noipdefault", "usepeerdns"]  # what a dial-up user's pppd is told
ALICE = ["user", "alice", "password", "wonderland"]
USERS = {"alice": "wonderland"}


def wallclock() -> datetime:
    return WHEN


def of_type(events: list[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


class Caller:
    """A dial-up PC: PPP (pppd words) or SLIP, and a NetStack once it knows its address."""

    def __init__(self, words: list[str] | None) -> None:
        self.ppp = None if words is None else PppSession(parse_words(words), seed=99)
        self.joint: IpOverLink | None = None
        self.events: list[Event] = []
        self.banner = bytearray()  # SLIP: the text line before framing starts

    @property
    def stack(self) -> NetStack:
        assert self.joint is not None, "no address yet"
        stack = self.joint.stack
        assert isinstance(stack, NetStack)
        return stack

    def open(self, now: float) -> None:
        if self.ppp is not None:
            self.ppp.open(now)
            self._collect(now)

    def receive_data(self, data: bytes, now: float) -> None:
        if self.joint is not None:
            self.joint.receive_data(data, now)
        elif self.ppp is not None:
            self.ppp.receive_data(data, now)
        else:
            self._banner(data, now)
        self._collect(now)

    def _banner(self, data: bytes, now: float) -> None:
        """A SLIP dialer: wait for the ISP's line, then frame from the next octet on."""
        self.banner += data
        line_end = self.banner.find(b"\r\n")
        if line_end < 0:
            return
        line, rest = bytes(self.banner[: line_end + 2]), bytes(self.banner[line_end + 2 :])
        found = SLIP_BANNER.fullmatch(line)
        assert found is not None, line
        link = SlipLink(mtu=int(found["mtu"]))
        self.joint = IpOverLink(link, NetStack(found["client"].decode()))
        self.joint.receive_data(rest, now)

    def data_to_send(self) -> bytes:
        if self.joint is not None:
            return self.joint.data_to_send()
        return self.ppp.data_to_send() if self.ppp is not None else b""

    def get_timer(self) -> float | None:
        if self.joint is not None:
            return self.joint.get_timer()
        return self.ppp.get_timer() if self.ppp is not None else None

    def handle_timer(self, now: float) -> None:
        if self.joint is not None:
            self.joint.handle_timer(now)
        elif self.ppp is not None:
            self.ppp.handle_timer(now)
        self._collect(now)

    def pump(self, now: float) -> None:
        """After a call on the stack: move its packets into the link."""
        assert self.joint is not None
        self.joint.pump(now)
        self._collect(now)

    def _collect(self, now: float) -> None:
        if self.joint is not None:
            while (event := self.joint.next_event()) is not None:
                self.events.append(event)
            return
        while self.ppp is not None and (link_event := self.ppp.next_event()) is not None:
            self.events.append(link_event)
            if isinstance(link_event, NetworkUp):  # now the PC has an address
                self.joint = IpOverLink(self.ppp, NetStack(link_event.local))
                self.pump(now)


class Call:
    """An ISP session and a caller on one line."""

    def __init__(self, config: IspConfig, words: list[str] | None, client: str = "10.0.2.15"):
        self.isp = IspSession(config, client, wallclock=wallclock, seed=1)
        self.caller = Caller(words)
        self.now = 0.0
        self.to_isp = True  # False: the caller's octets are lost on the way
        self.isp_events: list[Event] = []

    def connect(self) -> None:
        self.isp.connected(self.now)
        self.caller.open(self.now)

    def step(self) -> bool:
        moved = False
        data = self.isp.data_to_send()
        if data:
            self.caller.receive_data(data, self.now)
            moved = True
        data = self.caller.data_to_send()
        if data:
            if self.to_isp:
                self.isp.receive_data(data, self.now)
            moved = True
        while (event := self.isp.next_event()) is not None:
            self.isp_events.append(event)
        return moved

    def run(self, until: Callable[[], bool], limit: float = 600.0) -> None:
        """Exchange octets and jump to deadlines until `until()` holds; fail after `limit` s."""
        end = self.now + limit
        for _ in range(100_000):
            while self.step():
                pass
            if until():
                return
            deadlines = [t for t in (self.isp.get_timer(), self.caller.get_timer()) if t]
            if not deadlines or min(deadlines) > end:
                raise AssertionError(f"never happened (t={self.now}, deadlines {deadlines})")
            self.now = max(self.now, min(deadlines))
            self.isp.handle_timer(self.now)
            self.caller.handle_timer(self.now)
        raise AssertionError("the call never settled")

    def network_up(self) -> None:
        self.connect()
        self.run(lambda: self.caller.joint is not None)
        if self.isp.ppp is not None:
            self.run(lambda: self.isp.ppp is not None and self.isp.ppp.phase is Phase.RUNNING)

    def tcp(self, port: int, send: bytes = b"") -> bytes:
        """Connect to the server's `port`, send, close; all the server sent back."""
        stack = self.caller.stack
        conn = stack.connect("10.0.2.2", port, self.now)
        self.caller.pump(self.now)
        self.run(lambda: stack.state(conn) is not TcpState.SYN_SENT)
        assert stack.state(conn) in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT)
        got = bytearray()

        def closed() -> bool:
            got.extend(stack.receive(conn))
            done = stack.state(conn) in (TcpState.TIME_WAIT, TcpState.CLOSED)
            return done and not self.isp.stack.connections

        stack.send(conn, send, self.now)
        stack.close(conn, self.now)  # the data goes first, then our FIN
        self.caller.pump(self.now)
        self.run(closed)
        return bytes(got)

    def hang_up_by_caller(self) -> None:
        """The caller's pppd is told to stop: LCP Terminate, and the ISP drops the line."""
        assert self.caller.ppp is not None
        self.caller.ppp.close(self.now)
        self.caller.pump(self.now)
        self.run(lambda: self.isp.hang_up)


def ppp_config(**kw: object) -> IspConfig:
    return IspConfig(**kw)  # type: ignore[arg-type]


# -- PPP --------------------------------------------------------------------------------


def test_ppp_call_from_connect_to_hang_up() -> None:
    call = Call(IspConfig(), CALLER)
    call.network_up()
    (started,) = of_type(call.isp_events, IspCallStarted)
    assert started == IspCallStarted("10.0.2.15", "ppp")
    (up,) = of_type(call.caller.events, NetworkUp)
    assert up == NetworkUp("10.0.2.15", "10.0.2.2", ("10.0.2.3",))
    assert call.caller.stack.address_text == call.isp.client_address == "10.0.2.15"

    assert call.tcp(7, b"hello, ISP\r\n" * 100) == b"hello, ISP\r\n" * 100
    fins = [e for e in call.caller.events if isinstance(e, TcpSegmentSeen) and e.flags & FIN]
    assert [e.sent for e in fins] == [True, False]  # our FIN, the echo server's FIN
    assert not call.isp.hang_up

    call.hang_up_by_caller()
    assert call.isp.ended == IspCallEnded("LCP terminated by peer (User request)")
    assert call.isp_events[-1] == call.isp.ended
    assert of_type(call.isp_events, LinkEnded)[0].reason == call.isp.ended.reason
    assert call.isp.get_timer() is None  # nothing left to do but drop DTR
    call.run(lambda: call.caller.ppp is not None and call.caller.ppp.ended is not None)


def test_events_cover_every_layer_in_order() -> None:
    call = Call(IspConfig(), CALLER)
    call.network_up()
    call.tcp(9, b"into the void")
    kinds = [type(e).__name__ for e in call.isp_events]
    assert kinds[0] == "IspCallStarted"
    assert kinds.index("PhaseChanged") < kinds.index("NetworkUp") < kinds.index("TcpSegmentSeen")
    assert "TcpStateChanged" in kinds


def test_services_see_the_injected_wall_clock() -> None:
    call = Call(IspConfig(), CALLER)
    call.network_up()
    assert call.tcp(13).startswith(b"Friday, August 23, 1996")
    page = call.tcp(80, b"GET / HTTP/1.0\r\n\r\n")
    assert page.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Date: Fri, 23 Aug 1996 21:15:00 GMT\r\n" in page
    assert b"You are 10.0.2.15:" in page


def test_the_isp_announces_an_mss_its_mtu_carries() -> None:
    call = Call(IspConfig(mtu=576), CALLER)
    call.network_up()
    call.tcp(7, b"x")
    (syn_ack,) = [
        e for e in call.isp_events if isinstance(e, TcpSegmentSeen) and e.sent and e.flags & SYN
    ]
    assert syn_ack.mss == 536
    assert call.isp.ppp is not None and call.isp.ppp.lcp.got.mru == 576


def test_ppp_words_are_what_an_isps_pppd_would_be_given() -> None:
    session = IspSession(
        IspConfig(auth="chap", users=USERS, echo_interval=30, echo_failure=4),
        "10.0.2.16",
        wallclock=wallclock,
    )
    assert session.ppp_words() == [
        "10.0.2.2:10.0.2.16",
        "ms-dns",
        "10.0.2.3",
        "require-chap",
        "lcp-echo-interval",
        "30",
        "lcp-echo-failure",
        "4",
    ]
    assert IspSession(IspConfig(), "10.0.2.15", wallclock=wallclock).ppp_words()[3] == "noauth"
    assert dict(session.ppp_options().secrets) == {"alice": b"wonderland"}


@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_authenticated_call_runs_and_keeps_secrets_out_of_events(auth: str) -> None:
    call = Call(IspConfig(auth=auth, users=USERS), [*CALLER, *ALICE])
    call.network_up()
    (ok,) = of_type(call.isp_events, AuthSucceeded)
    assert (ok.protocol, ok.role, ok.peer_name) == (auth.upper(), "authenticator", "alice")
    assert call.tcp(7, b"ping") == b"ping"
    call.hang_up_by_caller()
    for event in call.isp_events:
        assert "wonderland" not in repr(event)
        if isinstance(event, PppFrame):
            assert b"wonderland" not in event.info


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        ("pap", "PAP peer authentication failed for alice"),
        ("chap", "Peer alice failed CHAP authentication"),
    ],
)
def test_a_wrong_password_is_refused_and_the_isp_hangs_up(auth: str, reason: str) -> None:
    call = Call(
        IspConfig(auth=auth, users=USERS),
        [*CALLER, "user", "alice", "password", "rabbit"],
    )
    call.connect()
    call.run(lambda: call.isp.hang_up)
    (failed,) = of_type(call.isp_events, AuthFailed)
    assert (failed.role, failed.reason) == ("authenticator", reason)
    assert call.isp.ended == IspCallEnded("Authentication failed")
    assert of_type(call.isp_events, LinkEnded)[0].status == EXIT_PEER_AUTH_FAILED
    assert call.caller.joint is None  # the caller never got an address
    call.run(lambda: call.caller.ppp is not None and call.caller.ppp.ended is not None)
    assert call.caller.ppp is not None and call.caller.ppp.ended is not None
    assert call.caller.ppp.ended.status == EXIT_AUTH_TOPEER_FAILED


def test_a_caller_without_credentials_is_refused() -> None:
    call = Call(IspConfig(auth="pap", users=USERS), CALLER)
    call.connect()
    call.run(lambda: call.isp.hang_up)
    assert call.isp.ended == IspCallEnded("peer refused to authenticate")


def test_a_silent_caller_is_hung_up_on_after_the_echo_failures() -> None:
    call = Call(IspConfig(echo_interval=30, echo_failure=3), CALLER)
    call.network_up()
    call.to_isp = False  # the caller's side goes deaf-mute
    start = call.now
    call.run(lambda: call.isp.hang_up)
    assert call.isp.ended == IspCallEnded("Peer not responding")
    assert call.now - start >= 90


def test_a_caller_that_never_speaks_ppp_is_hung_up_on() -> None:
    call = Call(IspConfig(), None)  # a terminal program: it only shows what arrives
    call.isp.connected(call.now)
    call.run(lambda: call.isp.hang_up)
    assert call.now == 30.0  # ten Configure-Requests, 3 s apart, as pppd sends them
    assert call.isp.ended is not None and "Config-Requests" in call.isp.ended.reason


def test_carrier_loss_ends_the_call_without_a_hang_up_request() -> None:
    call = Call(IspConfig(), CALLER)
    call.network_up()
    call.isp.carrier_lost(call.now)
    call.step()
    assert call.isp.ended == IspCallEnded("Modem hangup")
    assert not call.isp.hang_up  # the line is down already
    assert call.isp.get_timer() is None
    assert call.isp_events.count(IspCallEnded("Modem hangup")) == 1
    call.isp.carrier_lost(call.now)  # a second report changes nothing
    call.isp.receive_data(b"\x7e\xff\x03\xc0\x21", call.now)  # nor late octets
    call.step()
    assert call.isp_events.count(IspCallEnded("Modem hangup")) == 1


def test_the_modems_result_codes_before_carrier_are_not_the_callers() -> None:
    session = IspSession(IspConfig(), "10.0.2.15", wallclock=wallclock)
    session.receive_data(b"\r\nRING\r\n\r\nCONNECT 28800\r\n", 0.0)
    assert session.ignored == 25
    assert session.next_event() is None and session.data_to_send() == b""


def test_misuse_by_the_driver_raises() -> None:
    session = IspSession(IspConfig(), "10.0.2.15", wallclock=wallclock)
    session.connected(0.0)
    with pytest.raises(RuntimeError, match="twice"):
        session.connected(0.0)
    with pytest.raises(ValueError, match="server's or the DNS"):
        IspSession(IspConfig(), "10.0.2.2", wallclock=wallclock)


# -- SLIP --------------------------------------------------------------------------------


def test_slip_banner_then_echo() -> None:
    call = Call(IspConfig(mode="slip"), None)
    call.network_up()
    assert bytes(call.caller.banner).startswith(
        b"modememu ISP: SLIP, your address is 10.0.2.15, server 10.0.2.2, MTU 1006\r\n"
    )
    assert of_type(call.isp_events, IspCallStarted) == [IspCallStarted("10.0.2.15", "slip")]
    assert call.tcp(7, bytes(range(256)) * 8) == bytes(range(256)) * 8  # END/ESC inside
    sent = [e for e in call.isp_events if isinstance(e, TcpSegmentSeen) and e.sent]
    (syn_ack,) = [e for e in sent if e.flags & SYN]
    assert syn_ack.mss == 966  # though the caller announced 1460
    assert max(e.length for e in sent) == 966  # so every packet fits RFC 1055's 1006
    call.step()
    assert not of_type(call.isp_events, IspCallEnded)  # SLIP only ends with the carrier
    call.isp.carrier_lost(call.now)
    assert call.isp.ended == IspCallEnded("Modem hangup") and not call.isp.hang_up


def test_slip_mtu_can_be_set_and_the_banner_says_it() -> None:
    call = Call(IspConfig(mode="slip", mtu=296), None)  # Linux's SL_MTU
    call.network_up()
    assert b"MTU 296\r\n" in call.caller.banner
    assert call.tcp(7, b"x" * 1000) == b"x" * 1000
    assert max(e.length for e in call.isp_events if isinstance(e, TcpSegmentSeen)) == 256


def test_mtu_zero_is_each_modes_usual_size() -> None:
    config = IspConfig()
    assert (config.link_mtu, replace(config, mode="slip").link_mtu) == (1500, 1006)
    assert replace(config, mtu=576, mode="slip").link_mtu == 576


def test_one_config_serves_both_numbers_auth_applying_to_ppp_only() -> None:
    config = IspConfig(auth="chap", users=USERS)
    call = Call(replace(config, mode="slip"), None)
    call.network_up()
    assert call.tcp(7, b"no login on SLIP") == b"no login on SLIP"


def test_slip_without_banner_frames_from_the_first_octet() -> None:
    session = IspSession(IspConfig(mode="slip", banner=False), "10.0.2.15", wallclock=wallclock)
    session.connected(0.0)
    assert session.data_to_send() == b""
    assert slip_banner("10.0.2.15", "10.0.2.2", 1500) == (
        b"modememu ISP: SLIP, your address is 10.0.2.15, server 10.0.2.2, MTU 1500\r\n"
    )


# -- the address pool ---------------------------------------------------------------------


def test_pool_hands_out_the_lowest_free_address() -> None:
    pool = IspPool(IspConfig())
    assert pool.take() == "10.0.2.15"
    assert pool.take() == "10.0.2.16"
    pool.release("10.0.2.15")
    pool.release("10.0.2.15")  # twice: hang-up paths overlap, and that is fine
    assert pool.in_use == {"10.0.2.16"}
    assert pool.take() == "10.0.2.15"
    assert pool.free == 240 - 2  # .15 to .254
    with pytest.raises(ValueError, match="not in this pool"):
        pool.release("192.168.1.1")


def test_pool_skips_the_servers_and_runs_out() -> None:
    pool = IspPool(IspConfig(pool="10.0.2.1"), size=4)  # .1 .2 .3 .4, two of them servers
    assert [pool.take(), pool.take()] == ["10.0.2.1", "10.0.2.4"]
    with pytest.raises(IspPoolExhausted):
        pool.take()


def test_two_calls_from_one_pool() -> None:
    config = IspConfig()
    pool = IspPool(config)
    first, second = (Call(config, CALLER, pool.take()) for _ in range(2))
    for call in (first, second):
        call.network_up()
    assert [of_type(c.caller.events, NetworkUp)[0].local for c in (first, second)] == [
        "10.0.2.15",
        "10.0.2.16",
    ]
    assert second.tcp(7, b"two") == b"two"


# -- configuration ------------------------------------------------------------------------


def test_config_repr_hides_passwords() -> None:
    config = IspConfig(auth="pap", users={"alice": "wonderland"})
    assert "wonderland" not in repr(config) and "alice" not in repr(config)
    assert config.users["alice"] == "wonderland"
    assert hash(config) == hash(IspConfig(auth="pap", users={"alice": "other"}))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"mode": "cslip"}, "mode must be"),
        ({"auth": "mschap"}, "auth must be"),
        ({"auth": "pap"}, "needs at least one user"),
        ({"server": "10.0.2"}, "server: '10.0.2' is not an IPv4 address"),
        ({"pool": "10.0.2.3"}, "pool must not start"),
        ({"mtu": 100}, "ppp MTU 100 outside 128..16384"),
        ({"users": {"al ice": "x"}}, "spaces"),
        ({"users": {"alice": ""}}, "empty password"),
        ({"echo_interval": -1.0}, "must not be negative"),
    ],
)
def test_bad_settings_are_refused_in_one_line(kw: dict[str, object], message: str) -> None:
    with pytest.raises(IspConfigError, match=message) as caught:
        ppp_config(**kw)
    assert "\n" not in str(caught.value)


def test_users_file_in_both_forms(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(
        "# ISP users\n\nalice wonderland\n  bob:pass word with spaces  \ncarol:a:b\n",
        encoding="utf-8",
    )
    config = IspConfig.from_users_file(path, auth="chap")
    assert dict(config.users) == {
        "alice": "wonderland",
        "bob": "pass word with spaces",
        "carol": "a:b",
    }
    assert config.auth == "chap"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice\n", ":1: expected 'user password' or 'user:password'"),
        ("# x\nalice * wonderland\n", ":2: expected 'user password' or 'user:password'"),
        ("alice:\n", ":1: empty password"),
        (":wonderland\n", ":1: empty user name"),
        ("alice one\nalice:two\n", ":2: user 'alice' given twice"),
    ],
)
def test_a_bad_users_file_line_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IspConfigError) as caught:
        IspConfig.from_users_file(path, auth="pap")
    error = str(caught.value)
    assert error.startswith(str(path)) and message in error
    assert "\n" not in error and "wonderland" not in error


def test_a_missing_or_empty_users_file(tmp_path: Path) -> None:
    with pytest.raises(IspConfigError, match="cannot read users file") as caught:
        IspConfig.from_users_file(tmp_path / "nope", auth="pap")
    assert "\n" not in str(caught.value)
    empty = tmp_path / "empty"
    empty.write_text("# nobody\n", encoding="utf-8")
    with pytest.raises(IspConfigError, match="no users"):
        IspConfig.from_users_file(empty, auth="pap")
