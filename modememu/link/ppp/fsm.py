"""The RFC 1661 option negotiation automaton, shared by LCP and IPCP.

The state transition table of RFC 1661 §4.1 is kept below as text, one row per
state and one column per event, exactly as the RFC prints it (transposed), so it
can be read against the standard and every cell can be tested. Like pppd's
`fsm.c` the automaton never parses options: a protocol subclasses
`ControlProtocol` and supplies pppd's callbacks (build my request, judge the
peer's, check Ack/Nak/Reject, layer up/down/started/finished).

Options of the automaton (RFC 1661 §4.6, pppd's `fsm.h` defaults): restart timer
3 s, Max-Terminate 2, Max-Configure 10, Max-Failure 5. The restart ("r") and
passive ("p") options are off, as in pppd by default, so those cells act as the
plain ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from modememu.link.events import LinkEvent
from modememu.link.ppp.wire import (
    CODE_NAMES,
    CODE_REJ,
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    CONF_REQ,
    HEADER,
    TERM_ACK,
    TERM_REQ,
    parse_options,
    parse_packet,
)
from modememu.link.ppp.wire import (
    build_packet as _build,
)

RESTART_SECONDS = 3.0  # RFC 1661 §4.6 Restart timer; pppd DEFTIMEOUT
MAX_TERMINATE = 2  # pppd DEFMAXTERMREQS
MAX_CONFIGURE = 10  # pppd DEFMAXCONFREQS
MAX_FAILURE = 5  # pppd DEFMAXNAKLOOPS
DEFAULT_MRU = 1500


class State(IntEnum):
    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9

    @property
    def title(self) -> str:
        """The RFC's name: Req-Sent, Ack-Rcvd ..."""
        return "-".join(part.capitalize() for part in self.name.split("_"))


class Input(Enum):
    """The automaton's events (RFC 1661 §4.1), named as the RFC abbreviates them."""

    UP = "Up"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Action(Enum):
    TLU = "tlu"  # this layer up
    TLD = "tld"  # this layer down
    TLS = "tls"  # this layer started
    TLF = "tlf"  # this layer finished
    IRC = "irc"  # initialize restart count
    ZRC = "zrc"  # zero restart count
    SCR = "scr"  # send Configure-Request
    SCA = "sca"  # send Configure-Ack
    SCN = "scn"  # send Configure-Nak or -Reject
    STR = "str"  # send Terminate-Request
    STA = "sta"  # send Terminate-Ack
    SCJ = "scj"  # send Code-Reject
    SER = "ser"  # send Echo-Reply


# RFC 1661 §4.1, transposed: a row per state, a column per event. A cell is
# "actions/next state", a bare next state, or "-" (cannot happen). The r, p and x
# marks of the RFC (restart option, passive option, crossed connection) are kept
# for reading; with both options off they change nothing.
_TABLE = """
    Up         Down     Open      Close          TO+     TO-      RCR+           RCR-           RCA         RCN            RTR             RTA        RUC    RXJ+  RXJ-           RXR
0   2          -        tls/1     0              -       -        -              -              -           -              -               -          -      -     -              -
1   irc,scr/6  -        1         tlf/0          -       -        -              -              -           -              -               -          -      -     -              -
2   -          0        irc,scr/6 2              -       -        sta/2          sta/2          sta/2       sta/2          sta/2           2          scj/2  2     tlf/2          2
3   -          tls/1    3r        2              -       -        irc,scr,sca/8  irc,scr,scn/6  sta/3       sta/3          sta/3           3          scj/3  3     tlf/3          3
4   -          0        5r        4              str/4   tlf/2    4              4              4           4              sta/4           tlf/2      scj/4  4     tlf/2          4
5   -          1        5r        4              str/5   tlf/3    5              5              5           5              sta/5           tlf/3      scj/5  5     tlf/3          5
6   -          1        6         irc,str/4      scr/6   tlf/3p   sca/8          scn/6          irc/7       irc,scr/6      sta/6           6          scj/6  6     tlf/3          6
7   -          1        7         irc,str/4      scr/6   tlf/3p   sca,tlu/9      scn/7          scr/6x      scr/6x         sta/6           6          scj/7  6     tlf/3          7
8   -          1        8         irc,str/4      scr/8   tlf/3p   sca/8          scn/6          irc,tlu/9   irc,scr/8      sta/6           8          scj/8  8     tlf/3          8
9   -          tld/1    9r        tld,irc,str/4  -       -        tld,scr,sca/8  tld,scr,scn/6  tld,scr/6x  tld,scr/6x     tld,zrc,sta/5   tld,scr/6  scj/9  9     tld,irc,str/5  ser/9
"""  # noqa: E501 (the RFC's table, kept whole so it reads like the standard)


@dataclass(frozen=True, slots=True)
class Transition:
    actions: tuple[Action, ...]
    next: State


def _parse_table(text: str) -> dict[tuple[State, Input], Transition]:
    header, *rows = text.strip().splitlines()
    inputs = [Input(name) for name in header.split()]
    table: dict[tuple[State, Input], Transition] = {}
    for row in rows:
        state, *cells = row.split()
        if len(cells) != len(inputs):
            raise ValueError(f"RFC 1661 table row {state} has {len(cells)} cells")
        for event, cell in zip(inputs, cells, strict=True):
            if cell == "-":
                continue
            actions, _, target = cell.rpartition("/")
            table[State(int(state)), event] = Transition(
                tuple(Action(a) for a in actions.split(",") if a),
                State(int(target.rstrip("rpx"))),
            )
    return table


TABLE = _parse_table(_TABLE)
_NEGOTIATING = (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT)
_JUDGING = (State.STOPPED, *_NEGOTIATING, State.OPENED)  # where RCR+ and RCR- differ
_TIMERLESS = (State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED, State.OPENED)


# -- events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FsmEvent(LinkEvent):
    protocol: str  # "LCP", "IPCP"


@dataclass(frozen=True, slots=True)
class StateChanged(FsmEvent):
    old: str
    new: str
    cause: str  # the RFC's event name: "RCR+", "TO-" ...


@dataclass(frozen=True, slots=True)
class LayerUp(FsmEvent):
    """tlu: the protocol reached Opened."""


@dataclass(frozen=True, slots=True)
class LayerDown(FsmEvent):
    """tld: the protocol left Opened."""


@dataclass(frozen=True, slots=True)
class LayerFinished(FsmEvent):
    """tlf: the automaton no longer needs the lower layer; `reason` in pppd's words."""

    reason: str


@dataclass(frozen=True, slots=True)
class PacketDropped(FsmEvent):
    """A control packet that was discarded (bad length, stale id, illegal in this state)."""

    reason: str
    length: int


@dataclass(frozen=True, slots=True)
class CodeRejected(FsmEvent):
    """The peer sent a Code-Reject: it does not know one of our codes."""

    code: int
    ident: int


# -- the automaton --------------------------------------------------------------------


class IllegalEvent(Exception):
    """An admin call (up/down/open/close) the table marks impossible in this state."""


class ControlProtocol:
    """One RFC 1661 automaton plus packet handling; subclasses supply the options.

    Sans-I/O: inputs carry `now`; `packets_to_send()` gives information fields of
    `self.protocol`; `get_timer()` / `handle_timer()` run the restart timer.
    """

    protocol = 0
    name = "?"
    # Codes beyond 1-7 this protocol understands (LCP: 8-11), handled by `extended_code`.
    extended_codes: frozenset[int] = frozenset()

    def __init__(
        self,
        *,
        restart: float = RESTART_SECONDS,
        max_configure: int = MAX_CONFIGURE,
        max_terminate: int = MAX_TERMINATE,
        max_failure: int = MAX_FAILURE,
    ) -> None:
        self.restart = restart
        self.max_configure = max_configure
        self.max_terminate = max_terminate
        self.max_failure = max_failure
        self.state = State.INITIAL
        self.peer_mru = DEFAULT_MRU  # no packet we send is longer
        self.finish_reason = ""
        self._id = 0
        self._req_id = 0  # id of the outstanding Configure-Request
        self._seen_ack = False  # a valid reply to it already came
        self._restart_count = 0
        self._deadline: float | None = None
        self._naks_sent = 0  # Naks in a row without an Ack: Max-Failure
        self._naks_received = 0
        self._term_data = b""
        self._reply_id = 0
        self._now = 0.0
        self._out: list[bytes] = []
        self._events: list[LinkEvent] = []
        # Set while handling one received Configure-Request: the reply to send.
        self._reply: tuple[int, bytes] = (CONF_ACK, b"")
        self._rejected: bytes = b""  # the packet a Code-Reject carries

    # -- callbacks for subclasses (pppd's fsm_callbacks) --------------------------

    def reset_options(self) -> None:
        """resetci: start a negotiation afresh from what we want."""

    def build_request(self) -> bytes:
        """addci: the options of our Configure-Request."""
        return b""

    def check_ack(self, data: bytes) -> bool:
        """ackci: whether an Ack is an exact copy of our request."""
        return data == self.build_request()

    def check_nak(self, data: bytes, treat_as_reject: bool) -> bool:
        """nakci: adopt a Nak's suggestions; False if the Nak is bad (ignored)."""
        return True

    def check_reject(self, data: bytes) -> bool:
        """rejci: stop asking for rejected options; False if the Reject is bad."""
        return True

    def judge_request(self, data: bytes, reject_if_disagree: bool) -> tuple[int, bytes]:
        """reqci: (CONF_ACK | CONF_NAK | CONF_REJ, reply options) for the peer's request."""
        options, _ = parse_options(data)
        return (CONF_REJ, data) if options or data else (CONF_ACK, b"")

    def layer_up(self) -> None:
        """tlu."""

    def layer_down(self) -> None:
        """tld."""

    def layer_started(self) -> None:
        """tls."""

    def layer_finished(self) -> None:
        """tlf."""

    def extended_code(self, code: int, ident: int, data: bytes) -> None:
        """A code in `extended_codes` arrived (LCP: Protocol-Reject, Echo, Discard)."""

    def rejected_code_is_fatal(self, code: int) -> bool:
        """RXJ- or RXJ+: may we carry on without the code the peer rejected?"""
        return 1 <= code <= 7

    # -- admin and lower-layer inputs -----------------------------------------------

    def up(self, now: float) -> None:
        self._run(Input.UP, now)

    def down(self, now: float) -> None:
        self._run(Input.DOWN, now)

    def open(self, now: float) -> None:
        self._run(Input.OPEN, now)

    def close(self, now: float, reason: str = "User request") -> None:
        if self.state not in (State.CLOSING, State.STOPPING):  # the first reason stands
            self.finish_reason = reason
            self._term_data = reason.encode("utf-8", "replace")
        self._run(Input.CLOSE, now)

    def protocol_rejected(self, now: float) -> None:
        """The peer Protocol-Rejected this protocol: a catastrophic reject for it."""
        self.finish_reason = f"Protocol-Reject for {self.name}"
        self._run(Input.RXJ_MINUS, now)

    # -- outputs ------------------------------------------------------------------

    def packets_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> LinkEvent | None:
        return self._events.pop(0) if self._events else None

    def get_timer(self) -> float | None:
        return self._deadline

    def handle_timer(self, now: float) -> None:
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if self._restart_count > 0:
            self._run(Input.TO_PLUS, now)
        else:
            if self.state in (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT):
                self.finish_reason = f"{self.name}: timeout sending Config-Requests"
            self._run(Input.TO_MINUS, now)

    @property
    def opened(self) -> bool:
        return self.state is State.OPENED

    # -- receiving ------------------------------------------------------------------

    def receive(self, info: bytes, now: float) -> None:
        """One information field of this protocol from the peer."""
        self._now = now
        packet = parse_packet(info)
        if packet is None:
            self._drop("bad length", len(info))
            return
        if self.state in (State.INITIAL, State.STARTING):
            self._drop(f"received in state {self.state.title}", len(info))
            return
        code, ident, data = packet.code, packet.ident, packet.data
        if code == CONF_REQ:
            self._receive_request(ident, data)
        elif code in (CONF_ACK, CONF_NAK, CONF_REJ):
            self._receive_reply(code, ident, data, len(info))
        elif code == TERM_REQ:
            if self.state is State.OPENED:
                self.finish_reason = _terminated_by_peer(self.name, data)
            self._reply_id = ident
            self._run(Input.RTR, now)
        elif code == TERM_ACK:
            self._run(Input.RTA, now)
        elif code == CODE_REJ:
            rejected = data[0] if data else 0
            self._events.append(CodeRejected(self.name, rejected, data[1] if len(data) > 1 else 0))
            fatal = self.rejected_code_is_fatal(rejected)
            if fatal:
                self.finish_reason = f"{self.name}: peer rejected code {rejected}"
            self._run(Input.RXJ_MINUS if fatal else Input.RXJ_PLUS, now)
        elif code in self.extended_codes:
            self.extended_code(code, ident, data)
        else:
            self._rejected = bytes(info[: HEADER + len(data)])
            self._run(Input.RUC, now)

    def _receive_request(self, ident: int, data: bytes) -> None:
        self._reply_id = ident
        if self.state not in _JUDGING:
            self._run(Input.RCR_PLUS, self._now)  # + and - act alike here: no need to judge
            return
        code, reply = self.judge_request(data, self._naks_sent >= self.max_failure)
        self._reply = (code, reply)
        self._run(Input.RCR_PLUS if code == CONF_ACK else Input.RCR_MINUS, self._now)

    def _receive_reply(self, code: int, ident: int, data: bytes, length: int) -> None:
        if ident != self._req_id or self._seen_ack:
            self._drop(f"{CODE_NAMES[code]} with unexpected id 0x{ident:x}", length)
            return
        if self.state in (State.CLOSED, State.STOPPED):
            self._reply_id = ident
            self._run(Input.RCA if code == CONF_ACK else Input.RCN, self._now)
            return
        if self.state in (State.CLOSING, State.STOPPING):
            return  # the table ignores replies while terminating
        if code == CONF_ACK:
            good = self.check_ack(data)
        elif code == CONF_NAK:
            self._naks_received += 1
            good = self.check_nak(data, self._naks_received >= self.max_failure)
        else:
            good = self.check_reject(data)
        if not good:
            self._drop(f"bad {CODE_NAMES[code]}", length)
            return
        self._seen_ack = True
        if code == CONF_ACK:
            self._naks_received = 0
        self._run(Input.RCA if code == CONF_ACK else Input.RCN, self._now)

    # -- the machine --------------------------------------------------------------------

    def fire(self, event: Input, now: float) -> None:
        """Drive the automaton with one event, as the RFC table says (tests, monitors)."""
        self._run(event, now)

    def _run(self, event: Input, now: float) -> None:
        self._now = now
        transition = TABLE.get((self.state, event))
        if transition is None:
            if event in (Input.UP, Input.DOWN, Input.OPEN, Input.CLOSE):
                raise IllegalEvent(f"{self.name}: {event.value} in state {self.state.title}")
            return  # a timer or packet the table does not expect here: nothing to do
        old = self.state
        actions = transition.actions
        for at, action in enumerate(actions):
            self._act(action, actions[at + 1 :], event)
        self.state = transition.next
        if self.state in _TIMERLESS:
            self._deadline = None
        if self.state != old:
            self._events.append(StateChanged(self.name, old.title, self.state.title, event.value))

    def _act(self, action: Action, rest: tuple[Action, ...], event: Input) -> None:
        if action is Action.IRC:
            self._restart_count = self.max_terminate if Action.STR in rest else self.max_configure
        elif action is Action.ZRC:
            self._restart_count = 0
            self._arm()
        elif action is Action.SCR:
            self._send_request(retransmit=event is Input.TO_PLUS)
        elif action in (Action.SCA, Action.SCN):
            code, reply = self._reply
            if code == CONF_ACK:
                self._naks_sent = 0  # as pppd: only an Ack ends a run of Naks
            elif code == CONF_NAK:
                self._naks_sent += 1
            self._send(code, self._reply_id, reply)
        elif action is Action.STR:
            self._restart_count -= 1
            self._send(TERM_REQ, self.next_id(), self._term_data)
            self._arm()
        elif action is Action.STA:
            self._send(TERM_ACK, self._reply_id, b"")
        elif action is Action.SCJ:
            self._send(CODE_REJ, self.next_id(), self._rejected)
        elif action is Action.SER:
            self.echo_reply()
        elif action is Action.TLU:
            self._naks_received = 0
            self.layer_up()
            self._events.append(LayerUp(self.name))
        elif action is Action.TLD:
            self.layer_down()
            self._events.append(LayerDown(self.name))
        elif action is Action.TLS:
            self.layer_started()
        elif action is Action.TLF:
            self.layer_finished()
            self._events.append(LayerFinished(self.name, self.finish_reason or "finished"))

    def echo_reply(self) -> None:
        """ser: answer the Echo-Request being handled (LCP only)."""

    def _send_request(self, *, retransmit: bool) -> None:
        if self.state not in _NEGOTIATING:
            self.reset_options()  # pppd: not negotiating yet, so start from what we want
        if not retransmit:
            self._req_id = self.next_id()  # a retransmission keeps its id, as in pppd
        self._seen_ack = False
        self._restart_count -= 1
        self._send(CONF_REQ, self._req_id, self.build_request())
        self._arm()

    def _arm(self) -> None:
        self._deadline = self._now + self.restart

    def _send(self, code: int, ident: int, data: bytes) -> None:
        room = self.peer_mru - HEADER
        if len(data) > room:
            data = _fit(code, data, room)
        self._out.append(_build(code, ident, data))

    def _drop(self, reason: str, length: int) -> None:
        self._events.append(PacketDropped(self.name, reason, length))

    def next_id(self) -> int:
        """A fresh identifier (1, 2, ... like pppd), also for packets outside the automaton."""
        self._id = self._id % 255 + 1
        return self._id

    def send_packet(self, code: int, ident: int, data: bytes) -> None:
        """Queue a packet outside the automaton, cut to the peer's MRU."""
        self._send(code, ident, data)


def _fit(code: int, data: bytes, room: int) -> bytes:
    """Cut a reply to the peer's MRU: whole options for Configure-*, octets otherwise."""
    if code not in (CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ):
        return data[:room]
    options, _ = parse_options(data)
    kept = b""
    for option in options:
        encoded = option.encode()
        if len(kept) + len(encoded) > room:
            break
        kept += encoded
    return kept


def _terminated_by_peer(name: str, data: bytes) -> str:
    text = data.decode("latin-1")
    printable = "".join(c for c in text if c.isprintable())
    return f"{name} terminated by peer ({printable})" if printable else f"{name} terminated by peer"
