"""The dialer agent: what a 1990s PC did to reach the Internet, as one sans-I/O core.

It sits on the DTE side of a modem and runs the whole call: a chat script
(init, ATDT, CONNECT), then PPP (pppd's client defaults) or SLIP (address from
the server's banner), then a TCP connection from its own stack to an echo
service, one message there and back, a proper four-way close, the link taken
down politely, and the modem hung up by DTR or by the `+++` escape and ATH0.
With `hold`, it stays online after the close ("online") until asked for
another `exchange` or to `hang_up`, as a user at a 1990s PC would.

Inputs: `receive_data(data, now)` (octets from the modem), `carrier(up, now)`
(DCD as the driver reads it) and `handle_timer(now)`. Outputs:
`data_to_send()` (octets for the modem), `dtr` (the line the DTE asserts; the
driver applies it), `next_event()` and `get_timer()`. Chat, PPP and TCP events
pass through `next_event` as they happen, so a transcript shows the AT
dialogue, LCP/IPCP in pppd's words and the segment ladder in one stream.

Each step that is reached is reported as a `DialerStep(step, detail)`, in this
order: "dialing" (as the chat script starts), then, as each completes,
"connected", "link", "tcp", "exchange", "close", ("online" while holding),
"link down", "hangup", and last "done". A failure is reported as
`DialerFailed`; the dialer then still takes down what is up (TCP reset, LCP
terminate, hang-up) before "done", and `result` keeps the first failure.

Exit codes (`result.code`; `EXIT_CODES` holds these words for the CLI):

    0  success: echo matched, connection closed, link down, modem on hook
    1  BUSY
    2  NO CARRIER (while dialing)
    3  NO ANSWER
    4  dialing failed otherwise: NO DIALTONE, ERROR, or the chat script timed out
    5  link failed: PPP ended before the network phase, or not up in time, or
       ended by the peer while in use
    6  authentication failed (PAP/CHAP refused either way, or the peer demands
       authentication and no user is set)
    7  TCP failed: refused, reset, timed out, or the echo did not match
    8  carrier lost after CONNECT, before the dialer began to take the link down
    9  hang-up failed: carrier still up after DTR drop (or escape and ATH0)
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address

from modememu.agents.chat import Chat, ChatSent
from modememu.agents.iplink import IpOverLink, SlipLink
from modememu.events import Event
from modememu.link.ppp.ipcp import NetworkUp
from modememu.link.ppp.options import parse_words
from modememu.link.ppp.session import (
    EXIT_AUTH_TOPEER_FAILED,
    EXIT_PEER_AUTH_FAILED,
    LinkEnded,
    PppFrame,
    PppSession,
)
from modememu.link.ppp.wire import CONF_REQ, LCP, parse_options, parse_packet
from modememu.net.events import ConnectionEnded
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpConfig, TcpState
from modememu.net.tcp.isn import KEY_LENGTH, IsnGenerator

EXIT_OK = 0
EXIT_BUSY = 1
EXIT_NO_CARRIER = 2
EXIT_NO_ANSWER = 3
EXIT_DIAL_FAILED = 4
EXIT_LINK_FAILED = 5
EXIT_AUTH_FAILED = 6
EXIT_TCP_FAILED = 7
EXIT_CARRIER_LOST = 8
EXIT_HANGUP_FAILED = 9

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_BUSY: "BUSY",
    EXIT_NO_CARRIER: "NO CARRIER",
    EXIT_NO_ANSWER: "NO ANSWER",
    EXIT_DIAL_FAILED: "dialing failed (NO DIALTONE, ERROR or chat timeout)",
    EXIT_LINK_FAILED: "link negotiation failed",
    EXIT_AUTH_FAILED: "authentication failed",
    EXIT_TCP_FAILED: "TCP failed",
    EXIT_CARRIER_LOST: "carrier lost",
    EXIT_HANGUP_FAILED: "hang-up failed",
}

# The chat script's ABORT strings, and the exit code each one means.
ABORTS: dict[str, int] = {
    "BUSY": EXIT_BUSY,
    "NO CARRIER": EXIT_NO_CARRIER,
    "NO ANSWER": EXIT_NO_ANSWER,
    "NO DIALTONE": EXIT_DIAL_FAILED,
    "ERROR": EXIT_DIAL_FAILED,
}

STEPS = (
    "dialing",
    "connected",
    "link",
    "tcp",
    "exchange",
    "close",
    "online",
    "link down",
    "hangup",
    "done",
)

CONNECT_LINE_WAIT = 0.5  # for the rest of "CONNECT 33600/ARQ" when it comes in pieces
MAX_CONNECT_LINE = 80
MAX_BANNER = 2048
AUTH_OPTION = 3  # LCP Authentication-Protocol

_PRINTABLE_RUN = re.compile(rb"[ -~\r]*")
_ADDRESS_IS = re.compile(rb"address is\s+(\d{1,3}(?:\.\d{1,3}){3})", re.IGNORECASE)
_MTU_IS = re.compile(rb"MTU (\d{2,5})")
PPP_MTU = 1500
DEFAULT_SLIP_MTU = 1006  # RFC 1055
MIN_MTU, MAX_MTU = 68, 65535
IP_TCP_HEADERS = 40
_BAD_NUMBER = re.compile(r"[\\^\r\n\x00]")
_TCP_PHASES = ("tcp", "exchange", "close")
_STACK_PHASES = (*_TCP_PHASES, "online")  # the stack's timers run (TIME-WAIT, say)
_ONLINE_PHASES = ("connected", "link", *_STACK_PHASES, "link down")


@dataclass(frozen=True, slots=True)
class DialerConfig:
    """What to dial, how to talk IP, where to connect, how to hang up."""

    number: str = "5550100"
    init: str = "ATZ"  # "" for none
    mode: str = "ppp"  # "ppp" or "slip"
    user: str = ""  # PAP/CHAP name; "" = do not authenticate
    password: str = field(default="", repr=False)
    host: str = "10.0.2.2"
    port: int = 7
    message: bytes = b"Hello from modememu\r\n"
    slip_address: str = "10.0.2.15"  # used when the SLIP banner names none
    hangup: str = "dtr"  # "dtr" or "escape"
    chat_timeout: float = 90.0  # each expect: longer than S7 (60 s), so the modem says why
    link_timeout: float = 60.0  # CONNECT to network phase; also LCP terminate
    tcp_timeout: float = 60.0  # each of connect, exchange, close
    hangup_timeout: float = 10.0
    banner_wait: float = 2.0  # SLIP: how long to look for "your address is"
    guard: float = 1.0  # escape guard time (S12 = 50)
    hold: bool = False  # stay online after the exchange until `hang_up`
    ppp_options: tuple[str, ...] = ("noipdefault", "usepeerdns")  # pppd words

    def __post_init__(self) -> None:
        if self.mode not in ("ppp", "slip"):
            raise ValueError(f"mode must be 'ppp' or 'slip', not {self.mode!r}")
        if self.hangup not in ("dtr", "escape"):
            raise ValueError(f"hangup must be 'dtr' or 'escape', not {self.hangup!r}")
        if not self.number or _BAD_NUMBER.search(self.number):
            raise ValueError(f"bad number {self.number!r}")
        for name in ("host", "slip_address"):
            try:
                IPv4Address(getattr(self, name))
            except AddressValueError:
                raise ValueError(f"{name} must be an IPv4 address") from None
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1..65535, not {self.port}")
        if not self.message:
            raise ValueError("the message must not be empty: its echo is the test")
        for name in ("chat_timeout", "link_timeout", "tcp_timeout", "hangup_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.banner_wait < 0 or self.guard < 0:
            raise ValueError("banner_wait and guard must not be negative")

    def script(self) -> list[str]:
        """The chat script, in chat's own words (it runs under the real chat too)."""
        words: list[str] = []
        for text in ABORTS:
            words += ["ABORT", text]
        words += ["TIMEOUT", f"{self.chat_timeout:g}"]
        expect = ""
        if self.init:
            words += [expect, self.init]
            expect = "OK"
        return [*words, expect, f"ATDT{self.number}", "CONNECT"]

    def pppd_words(self) -> list[str]:
        """The PPP client's options as pppd words (the password among them)."""
        # The target's host as the peer's address, should the peer propose none for
        # itself (slirp proposes 0.0.0.0 and needs a Nak); whatever it does propose wins.
        words = [*self.ppp_options, f":{self.host}", "ipcp-accept-remote"]
        if self.user:
            words += ["user", self.user]
        if self.password:
            words += ["password", self.password]
        return words


# -- events and result ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialerEvent(Event):
    """Base of the dialer's own events."""


@dataclass(frozen=True, slots=True)
class DialerStep(DialerEvent):
    step: str  # one of STEPS
    detail: str


@dataclass(frozen=True, slots=True)
class DialerFailed(DialerEvent):
    code: int
    reason: str
    step: str


@dataclass(frozen=True, slots=True)
class DialerResult:
    code: int
    reason: str
    step: str  # where it failed ("done" on success)

    @property
    def ok(self) -> bool:
        return self.code == EXIT_OK


# -- the dialer ---------------------------------------------------------------------------


class Dialer:
    """One call, start to finish; see the module docstring."""

    def __init__(self, config: DialerConfig, *, seed: int | None = None) -> None:
        self.config = config
        self.result: DialerResult | None = None
        self.step = "idle"  # the step in progress
        self.session: PppSession | None = None
        self.stack: NetStack | None = None
        self.local_address = ""
        self.remote_address = ""
        self.dns: tuple[str, ...] = ()
        self.connect_text = ""
        self._seed = seed
        self._connect_time = 0.0
        self._dtr = True
        self._carrier: bool | None = None  # None until the driver reports it
        self._deadline: float | None = None
        self._chat: Chat | None = None
        self._joint: IpOverLink | None = None
        self._conn: int | None = None
        self._conn_ended = ""  # ConnectionEnded reason for our connection
        self._network: NetworkUp | None = None
        self._ended: LinkEnded | None = None
        self._peer_wants_auth = False
        self._failure: DialerResult | None = None
        self._pending: bytearray | None = None  # the CONNECT line or the SLIP banner
        self._unsent = b""
        self._message = config.message  # what the exchange in progress sends
        self._echo = bytearray()
        self._hold = config.hold
        self._escape_sent = False
        self._escape_how = ""  # the hang-up detail when ATH0 had to follow a silent "+++"
        self._hangup_how = ""  # how the hang-up was asked for, for the step's detail
        self._out = bytearray()
        self._events: deque[Event] = deque()

    # -- inputs -------------------------------------------------------------------------

    def start(self, now: float) -> None:
        if self.step != "idle":
            raise RuntimeError("the dialer has already started")
        self.step = "dialing"
        self._emit_step("dialing", f"ATDT{self.config.number}")
        self._chat = Chat(self.config.script())
        self._chat.start(now)
        self._run(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Octets from the modem (DCE to DTE)."""
        step = self.step
        if step == "dialing" or (step == "hangup" and self._chat is not None):
            assert self._chat is not None
            self._chat.receive_data(data, now)
        elif self._pending is not None:
            self._pending += data
        elif step in ("link", *_STACK_PHASES, "link down"):
            self._link_input(data, now)
        self._run(now)

    def carrier(self, up: bool, now: float) -> None:
        """DCD as read from the modem's lines."""
        was, self._carrier = self._carrier, up
        if up or was is False:
            return
        step = self.step
        if step == "link down":
            self._lower_down(now)
            self._emit_step("link down", "carrier lost while taking the link down")
            self._finish()
        elif step in _ONLINE_PHASES:
            self._record(EXIT_CARRIER_LOST, "carrier lost")
            self._lower_down(now)
            self._finish()
        elif step == "hangup":
            self._emit_step("hangup", f"{self._hangup_how}carrier lost")
            self._finish()
        self._run(now)

    def handle_timer(self, now: float) -> None:
        if self.step in ("idle", "done"):
            return
        if self._chat is not None:
            self._chat.handle_timer(now)
        if self._joint is not None and self.step in _STACK_PHASES:
            self._joint.handle_timer(now)
        elif self.session is not None and self.session.ended is None:
            self.session.handle_timer(now)  # TCP is over: its TIME-WAIT clock no longer matters
        self._run(now)
        if self._deadline is not None and now >= self._deadline and self.step != "done":
            self._deadline = None
            self._expire(now)
            self._run(now)

    def exchange(self, message: bytes, now: float) -> bool:
        """While holding the line: connect again and send `message` for its echo.
        False (and nothing done) in any other step."""
        if self.step != "online" or not message:
            return False
        self._message = message
        self._echo.clear()
        self._conn_ended = ""
        self._enter_tcp(now)
        self._run(now)
        return True

    def hang_up(self, now: float) -> None:
        """Stop holding the line: take the link down now, or after the exchange in progress."""
        self._hold = False
        if self.step == "online":
            self._enter_link_down(now)
            self._run(now)

    # -- outputs --------------------------------------------------------------------------

    @property
    def dtr(self) -> bool:
        return self._dtr

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        if self.step in ("idle", "done"):
            return None
        times = [self._deadline]
        if self._chat is not None and self._chat.result is None:
            times.append(self._chat.get_timer())
        if self.step in _STACK_PHASES and self._joint is not None:
            times.append(self._joint.get_timer())  # the stack's timers count only here
        elif self.session is not None and self.session.ended is None:
            times.append(self.session.get_timer())
        deadlines = [t for t in times if t is not None]
        return min(deadlines) if deadlines else None

    # -- the engine -------------------------------------------------------------------------

    def _run(self, now: float) -> None:
        """Collect what the parts produced and move on while steps complete."""
        for _ in range(64):
            self._collect(now)
            if self.step == "done" or not self._progress(now):
                break
        self._collect(now)

    def _collect(self, now: float) -> None:
        chat = self._chat
        if chat is not None:
            while (said := chat.next_event()) is not None:
                self._events.append(said)
            self._out += chat.data_to_send()
        if self._joint is not None:
            self._joint.pump(now)
            while (event := self._joint.next_event()) is not None:
                self._observe(event)
            self._out += self._joint.data_to_send()
        elif self.session is not None:
            while (link_event := self.session.next_event()) is not None:
                self._observe(link_event)
            self._out += self.session.data_to_send()

    def _observe(self, event: Event) -> None:
        self._events.append(event)
        if isinstance(event, NetworkUp):
            self._network = event
        elif isinstance(event, LinkEnded):
            self._ended = event
        elif isinstance(event, ConnectionEnded) and event.connection == self._conn:
            self._conn_ended = event.reason
        elif isinstance(event, PppFrame) and not event.sent and event.protocol == LCP:
            packet = parse_packet(event.info)
            if packet is not None and packet.code == CONF_REQ:
                options, _ = parse_options(packet.data)
                self._peer_wants_auth |= any(o.type == AUTH_OPTION for o in options)

    def _progress(self, now: float) -> bool:
        """Complete the step in progress if it can; True when something moved."""
        step = self.step
        if step == "dialing":
            return self._dialed(now)
        if step == "connected":
            return self._connect_line(now, force=False)
        if step == "link":
            if self._pending is not None:
                return self._banner(now, force=False)
            return self._link_progress(now)
        if step in _STACK_PHASES:
            if self._ended is not None:
                self._fail(EXIT_LINK_FAILED, f"link ended: {self._ended.reason}", now)
                return True
            return step != "online" and self._tcp_progress(now)
        if step == "link down":
            if self.session is None or self.session.ended is not None:
                self._link_is_down(now)
                return True
            return False
        if step == "hangup" and self._chat is not None and self._chat.result is not None:
            result, self._chat = self._chat.result, None
            if result.ok:
                self._emit_step("hangup", self._escape_how or "+++ OK, ATH0 OK")
                self._finish()
            elif self._carrier is None and not self._escape_how:
                # No OK to "+++": in command mode already (DTR worked)? ATH0 settles it.
                self._escape_how = "+++ got no OK (on hook already), ATH0 OK"
                self._chat = Chat(["TIMEOUT", f"{self.config.hangup_timeout:g}", "", "ATH0", "OK"])
                self._chat.start(now)
            else:
                self._drop_dtr(now, f"escape failed ({result.reason}); ")
            return True
        return False

    # -- dialing ---------------------------------------------------------------------------

    def _dialed(self, now: float) -> bool:
        chat = self._chat
        assert chat is not None
        if chat.result is None:
            return False
        self._chat = None
        if not chat.result.ok:
            code = ABORTS.get(chat.matched, EXIT_DIAL_FAILED) if chat.result.code >= 4 else 4
            self._record(code, chat.result.reason)
            self._finish()
            return True
        self.step = "connected"
        self._pending = bytearray(chat.leftover())
        self._connect_time = now
        self._deadline = now + CONNECT_LINE_WAIT
        return True

    def _connect_line(self, now: float, *, force: bool) -> bool:
        """Read "CONNECT 33600/ARQ" to its line end; the octets after it belong to the link."""
        line = self._pending
        assert line is not None
        match = _PRINTABLE_RUN.match(line, 0, MAX_CONNECT_LINE)
        end = match.end() if match is not None else 0
        if end < len(line):  # a line feed, a binary octet, or too long a line
            rest = bytes(line[end + 1 :] if line[end] == 0x0A else line[end:])
        elif force:
            rest = b""
        else:
            return False
        self.connect_text = ("CONNECT" + line[:end].decode("ascii")).strip()
        self._pending = None
        self._emit_step("connected", self.connect_text)
        self._start_link(rest, now)
        return True

    # -- the link ----------------------------------------------------------------------------

    def _start_link(self, rest: bytes, now: float) -> None:
        self.step = "link"
        config = self.config
        if config.mode == "slip":
            self._pending = bytearray(rest)
            self._deadline = self._connect_time + config.banner_wait
            return
        self._deadline = self._connect_time + config.link_timeout
        self.session = PppSession(parse_words(config.pppd_words()), seed=self._seed)
        self.session.open(now)
        if rest:
            self.session.receive_data(rest, now)

    def _banner(self, now: float, *, force: bool) -> bool:
        """SLIP: find "your address is A.B.C.D" in the server's banner, then start SLIP."""
        banner = self._pending
        assert banner is not None
        end_at = banner.find(b"\xc0")  # a SLIP END: the text is over
        text = banner if end_at < 0 else banner[:end_at]
        over = force or end_at >= 0 or len(banner) > MAX_BANNER
        found = _ADDRESS_IS.search(text)
        address = ""
        if found is not None:
            newline = text.find(b"\n", found.end())
            if newline >= 0:
                rest = banner[newline + 1 :]
            elif over:
                rest = banner[end_at:] if end_at >= 0 else bytearray()
            else:
                return False
            address = found.group(1).decode("ascii")
            try:
                IPv4Address(address)
            except AddressValueError:
                address = ""
        elif over:
            rest = banner[end_at:] if end_at >= 0 else bytearray()
        else:
            return False
        self._pending = None
        source = "from the banner" if address else "configured"
        self.local_address = address or self.config.slip_address
        self.remote_address = self.config.host
        mtu = _MTU_IS.search(text)
        size = min(max(int(mtu.group(1)), MIN_MTU), MAX_MTU) if mtu else DEFAULT_SLIP_MTU
        self._join(SlipLink(mtu=size), size)
        self._emit_step(
            "link", f"SLIP: local {self.local_address} ({source}), remote {self.remote_address}"
        )
        if rest:
            assert self._joint is not None
            self._joint.receive_data(bytes(rest), now)
        self._enter_tcp(now)
        return True

    def _link_progress(self, now: float) -> bool:
        ended = self._ended
        if ended is not None:
            if ended.status in (EXIT_AUTH_TOPEER_FAILED, EXIT_PEER_AUTH_FAILED):
                self._fail(EXIT_AUTH_FAILED, ended.reason, now)
            elif self._peer_wants_auth and not self.config.user:
                reason = f"peer requires authentication, no user set ({ended.reason})"
                self._fail(EXIT_AUTH_FAILED, reason, now)
            else:
                self._fail(EXIT_LINK_FAILED, ended.reason, now)
            return True
        network = self._network
        if network is None:
            return False
        assert self.session is not None
        self.local_address, self.remote_address = network.local, network.remote
        self.dns = network.dns
        self._join(self.session)
        dns = f", DNS {' '.join(network.dns)}" if network.dns else ""
        self._emit_step("link", f"PPP: local {network.local}, remote {network.remote}{dns}")
        self._enter_tcp(now)
        return True

    def _join(self, link: SlipLink | PppSession, mtu: int = PPP_MTU) -> None:
        isn = None
        if self._seed is not None:
            isn = IsnGenerator(random.Random(self._seed).randbytes(KEY_LENGTH))
        # MSS = MTU - 40: segments the link can carry whole (RFC 9293 §3.7.1).
        config = TcpConfig(mss=mtu - IP_TCP_HEADERS)
        self.stack = NetStack(self.local_address, isn=isn, config=config)
        self._joint = IpOverLink(link, self.stack)

    def _link_input(self, data: bytes, now: float) -> None:
        if self._joint is not None:
            self._joint.receive_data(data, now)
        elif self.session is not None:
            self.session.receive_data(data, now)

    def _lower_down(self, now: float) -> None:
        if self.session is not None and self.session.ended is None:
            self.session.lower_down(now)
            self._collect(now)

    # -- TCP ---------------------------------------------------------------------------------

    def _enter_tcp(self, now: float) -> None:
        assert self.stack is not None
        self.step = "tcp"
        self._deadline = now + self.config.tcp_timeout
        self._conn = self.stack.connect(self.config.host, self.config.port, now)

    def _tcp_progress(self, now: float) -> bool:
        stack, conn = self.stack, self._conn
        assert stack is not None and conn is not None
        state = stack.state(conn)
        step = self.step
        if step == "tcp":
            if state in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT):
                tcb = stack.connection(conn)
                self._emit_step("tcp", f"{state.value} {tcb.local_name} -> {tcb.remote_name}")
                self.step = "exchange"
                self._deadline = now + self.config.tcp_timeout
                self._unsent = self._message
                return True
            if state is TcpState.CLOSED:
                self._fail(EXIT_TCP_FAILED, f"connect: {self._conn_ended or 'closed'}", now)
                return True
            return False
        if step == "exchange":
            return self._exchange(now, state)
        if state in (TcpState.TIME_WAIT, TcpState.CLOSED):
            if state is TcpState.CLOSED and self._conn_ended not in ("", "closed"):
                self._fail(EXIT_TCP_FAILED, f"close: {self._conn_ended}", now)
                return True
            self._emit_step("close", f"{state.value}: our FIN and the peer's both acknowledged")
            if self._hold:
                self.step = "online"
                self._deadline = None
                self._emit_step("online", "holding the line: exchange or hang up when asked")
            else:
                self._enter_link_down(now)
            return True
        return False

    def _exchange(self, now: float, state: TcpState) -> bool:
        stack, conn = self.stack, self._conn
        assert stack is not None and conn is not None
        message = self._message
        if self._unsent:
            taken = stack.send(conn, self._unsent, now)
            self._unsent = self._unsent[taken:]
        self._echo += stack.receive(conn)
        echo = bytes(self._echo)
        if not message.startswith(echo[: len(message)]) or len(echo) > len(message):
            self._fail(EXIT_TCP_FAILED, f"echo mismatch: {bytes(self._echo)[:40]!r}", now)
            return True
        if len(self._echo) == len(message):
            shown = f"{message!r}" if len(message) <= 64 else f"{message[:32]!r}..."
            self._emit_step("exchange", f"sent {len(message)} octets {shown}, echo matched")
            self.step = "close"
            self._deadline = now + self.config.tcp_timeout
            stack.close(conn, now)
            return True
        if state not in (TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2):
            why = self._conn_ended or f"peer closed ({state.value})"
            self._fail(EXIT_TCP_FAILED, f"{why} after {len(self._echo)} echoed octets", now)
            return True
        return False

    # -- taking it down -----------------------------------------------------------------------

    def _enter_link_down(self, now: float) -> None:
        self.step = "link down"
        session = self.session
        if session is None or session.ended is not None:
            return  # SLIP has nothing to negotiate; an ended PPP link is down already
        self._deadline = now + self.config.link_timeout
        session.close(now)

    def _link_is_down(self, now: float) -> None:
        if self.session is None:
            detail = "SLIP: nothing to negotiate"
        else:
            assert self.session.ended is not None
            detail = f"PPP: {self.session.ended.reason}"
        self._emit_step("link down", detail)
        self._enter_hangup(now)

    def _enter_hangup(self, now: float) -> None:
        self.step = "hangup"
        if self.config.hangup == "escape":
            self._deadline = now + self.config.guard  # silence before "+++"
            return
        self._drop_dtr(now, "")

    def _drop_dtr(self, now: float, why: str) -> None:
        self._dtr = False
        self._hangup_how = f"{why}DTR dropped, "
        if self._carrier is False:
            self._emit_step("hangup", f"{self._hangup_how}carrier already off")
            self._finish()
        elif self._carrier is None and not self._escape_sent:
            # No DCD to watch (it is forced on, &C0): DTR alone proves nothing, and many
            # modems ignore it (&D0). Make sure, after the guard time, with +++ and ATH0.
            self._deadline = now + self.config.guard
        elif self._carrier is None:
            self._emit_step("hangup", f"{self._hangup_how}no carrier signal reported")
            self._finish()
        else:
            self._deadline = now + self.config.hangup_timeout

    def _escape(self, now: float) -> None:
        """The guard time has passed in silence: "+++", then wait for OK and hang up."""
        self._escape_sent = True
        self._out += b"+++"
        self._events.append(ChatSent("+++"))
        self._chat = Chat(["TIMEOUT", f"{self.config.hangup_timeout:g}", "OK", "ATH0", "OK"])
        self._chat.start(now)

    # -- deadlines and failures ----------------------------------------------------------------

    def _expire(self, now: float) -> None:
        step = self.step
        config = self.config
        if step == "connected":
            self._connect_line(now, force=True)
        elif step == "link" and self._pending is not None:
            self._banner(now, force=True)
        elif step == "link":
            reason = f"no network phase {config.link_timeout:g} s after CONNECT"
            self._fail(EXIT_LINK_FAILED, reason, now)
        elif step in _TCP_PHASES:
            what = {"tcp": "connect", "exchange": "echo", "close": "close"}[step]
            self._fail(EXIT_TCP_FAILED, f"{what} timed out after {config.tcp_timeout:g} s", now)
        elif step == "link down":
            self._emit_step("link down", "no Terminate-Ack in time; hanging up anyway")
            self._enter_hangup(now)
        elif (
            step == "hangup"
            and not self._escape_sent
            and (config.hangup == "escape" or self._carrier is None)
        ):
            self._escape(now)
        elif step == "hangup":
            reason = f"carrier still up {config.hangup_timeout:g} s after DTR drop"
            self._record(EXIT_HANGUP_FAILED, reason)
            self._finish()

    def _record(self, code: int, reason: str) -> None:
        """Keep the first failure: what went wrong later is a consequence."""
        if self._failure is None:
            self._failure = DialerResult(code, reason, self.step)
            self._events.append(DialerFailed(code, reason, self.step))

    def _fail(self, code: int, reason: str, now: float) -> None:
        """Record a failure, then take down whatever is up."""
        self._record(code, reason)
        self._deadline = None
        step = self.step
        if step in _TCP_PHASES:
            assert self.stack is not None and self._conn is not None
            self.stack.abort(self._conn, now)
            self._enter_link_down(now)
        elif step in ("link", "online"):
            self._enter_link_down(now)
        elif step in ("connected", "link down"):
            self._enter_hangup(now)
        else:
            self._finish()

    def _finish(self) -> None:
        self.step = "done"
        self._deadline = None
        self._chat = None
        self.result = self._failure or DialerResult(EXIT_OK, "success", "done")
        self._emit_step("done", f"exit {self.result.code}: {self.result.reason}")

    def _emit_step(self, step: str, detail: str) -> None:
        self._events.append(DialerStep(step, detail))
