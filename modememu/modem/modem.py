"""The modem core (sans-I/O): one emulated modem, its DTE side and its line side.

Bytes from the DTE and the DTE's control lines come in with `now`; bytes for the
DTE, events and the next deadline come out. On the line side the modem asks for
calls (`next_line_request`), hears what the exchange says (`line_signal`) and
moves data at the link's pace (`line_data_to_send`, `receive_line`). Without a
line attached, dialing and answering end the way a real modem's do when nothing
is plugged into its line jack.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from modememu.at.config import StoredState
from modememu.at.connect import NO_CODE, Connection, connect_lines
from modememu.at.engine import (
    Action,
    AnswerAction,
    AtEngine,
    DialAction,
    FlowControl,
    HangupAction,
    OnlineAction,
    Outcome,
)
from modememu.at.lineinput import Cancelled, LineDone, LineReader, PrefixSeen, Repeat
from modememu.at.parity import Parity, detect_parity, encode, strip
from modememu.at.results import Result, frame_info, frame_result
from modememu.line.channel import Channel, bytes_per_second, retransmission_factor
from modememu.modem import events as ev
from modememu.modem.datapath import NO_LIMIT, XOFF, XON, DataPath
from modememu.modem.dialstring import DialPlan, DialStringError, parse_dialstring
from modememu.modem.escape import EscapeDetector
from modememu.modem.line import (
    RING_COUNT_CLEAR,
    RING_ON,
    RING_PERIOD,
    AcceptCall,
    Answered,
    Busy,
    Incoming,
    LineCaps,
    LineChanged,
    LineQuality,
    LineRequest,
    LineSignal,
    Link,
    NoDialtone,
    PlaceCall,
    RejectCall,
    Release,
    Released,
    Ringback,
)
from modememu.profiles import CARRIERS, Profile
from modememu.vseries.handshake import (
    DEFAULT_LINE,
    RETRAIN_SECONDS,
    V8_CARRIERS,
    Agreement,
    Handshake,
    line_ber,
    negotiate,
    retrain,
)

# +ICF <format> values and what an 8N1 receiver makes of them: (data bits, parity or None
# when the <parity> value decides, stop bits). 7N1/7N2 arrive with bit 7 set (a stop bit).
_ICF_FORMATS: dict[int, tuple[int, Parity | None, int]] = {
    1: (8, Parity.NONE, 2),
    2: (8, Parity.NONE, 1),
    3: (8, Parity.NONE, 1),
    4: (7, Parity.MARK, 2),
    5: (7, None, 1),
    6: (7, Parity.MARK, 1),
}
_ICF_PARITY = {0: Parity.ODD, 1: Parity.EVEN, 2: Parity.MARK, 3: Parity.SPACE}
ABORT_GRACE = 0.125  # a DTE character within this of the terminator does not abort
DIALTONE_DETECT = 0.5  # seconds a modem listening for dial tone takes to hear it
# Timers that belong to a call and end with it.
_CALL_TIMERS = (
    "attempt",
    "dialed",
    "train",
    "step",
    "retrain",
    "line-rx",
    "carrier",
    "escape",
    "idle",
    "pace",
)


class Mode(Enum):
    COMMAND = "command"
    DIALING = "dialing"
    ANSWERING = "answering"
    ONLINE = "online"
    ONLINE_COMMAND = "online-command"


@dataclass(frozen=True, slots=True)
class ModemLines:
    cts: bool
    dsr: bool
    dcd: bool
    ri: bool


@dataclass(frozen=True, slots=True)
class DteFormat:
    """The DTE port's speed and framing as the port reports them."""

    rate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @property
    def framing(self) -> str:
        return f"{self.bytesize}{self.parity}{self.stopbits}"


@dataclass(slots=True)
class _Call:
    """The call this modem is part of, from going off-hook to hanging up."""

    originate: bool
    plan: DialPlan | None = None
    stay: bool = False  # the dial string ended with ';'
    placed: bool = False  # the exchange has the call
    answered: bool = False  # the far end went off-hook (originate)
    link: Link | None = None
    handshake: Handshake | None = None
    answered_at: float = 0.0  # when the handshake's clock started
    next_step: int = 0  # the first handshake step not yet reported
    caps: tuple[LineCaps, LineCaps] | None = None  # (caller's, answerer's)
    line: LineQuality = DEFAULT_LINE
    agreement: Agreement | None = None
    rx: Channel | None = None  # latency and noise on what the far modem sends us


@dataclass(slots=True)
class _Ring:
    """A call ringing at this modem, not yet answered."""

    caller: str
    caps: LineCaps
    line: LineQuality


def _target(plan: DialPlan) -> str:
    return f"{plan.host[0]}:{plan.host[1]}" if plan.host else plan.number


def error_control_policy(
    profile: Profile, settings: dict[str, int]
) -> tuple[tuple[str, ...], bool]:
    """The protocols the settings allow (best first) and whether the modem hangs up
    without one. Each maker spells it differently: USR &M, Rockwell \\N or &Q, ZyXEL &K."""
    offered = profile.error_control
    if not offered:
        return (), False
    allowed: tuple[str, ...] = offered
    required = False
    if "&M" in settings and profile.flow_family == "usr":
        allowed = offered if settings["&M"] in (4, 5) else ()
        required = settings["&M"] == 5
    elif "\\N" in settings:
        n = settings["\\N"]
        allowed = {2: offered, 3: offered, 4: ("LAPM",), 5: ("MNP",)}.get(n, ())
        required = n in (2, 4, 5)
    elif "&Q" in settings:
        allowed = offered if settings["&Q"] == 5 else ()
    elif profile.flow_family == "zyxel":
        allowed = offered if settings.get("&K", 0) >= 1 else ()
    return tuple(p for p in allowed if p in offered), required


def compression_allowed(profile: Profile, settings: dict[str, int]) -> tuple[str, ...]:
    """Compression the settings allow: USR &K0 off; Rockwell %C 0-3; ZyXEL &K2/&K4."""
    offered = profile.compression
    if profile.flow_family == "usr" and "&K" in settings:
        return offered if settings["&K"] else ()
    if "%C" in settings:
        wanted = {0: (), 1: ("MNP5",), 2: ("V42B",), 3: ("V42B", "MNP5")}[settings["%C"]]
        return tuple(c for c in offered if c in wanted)
    if profile.flow_family == "zyxel":
        wanted = {2: ("MNP5",), 4: ("V42B", "MNP5")}.get(settings.get("&K", 0), ())
        return tuple(c for c in offered if c in wanted)
    return offered


class Modem:
    def __init__(
        self,
        profile: Profile,
        *,
        number: str = "",
        force_8n1: bool = False,
        stored: StoredState | None = None,
        pacing: bool = True,
    ) -> None:
        self.profile = profile
        self.number = number
        self.force_8n1 = force_8n1
        self.engine = AtEngine(profile, stored)
        self.reader = LineReader(profile.line_limit)
        self.mode = Mode.COMMAND
        self.off_hook = False
        self.line_attached = False  # an exchange is behind the line jack
        self.digital = profile.digital  # a modem bank on a digital trunk (an ISP's) can do V.90
        self.dtr = True
        self.rts = True
        self.output_paused = False  # the port cannot take more right now
        self.dte_format = DteFormat(profile.default_dte_rate)
        self.parity = Parity.NONE
        self.data = DataPath(pacing=pacing)
        self._escape = EscapeDetector()
        self._history = ""
        self._out = bytearray()
        self._events: deque[ev.ModemEvent] = deque()
        self._requests: deque[LineRequest] = deque()
        self._timers: dict[str, float] = {}
        self._line_ended_at = -1.0
        self._attempt_result = Result.NO_CARRIER
        self._call: _Call | None = None
        self._ring: _Ring | None = None
        self._ri = False
        self._lines = self._compute_lines()
        self._flow = self.engine.flow
        self._sync_dte_text()

    # ----- sans-I/O interface: the DTE side -----

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the DTE."""
        if self.mode is Mode.ONLINE:
            self._online_input(data, now)
            return
        if self._attempting():
            if data and now - self._line_ended_at >= ABORT_GRACE:
                self._hang_up(Result.NO_CARRIER, "aborted by the DTE")
            return
        while data:
            feed = self.reader.feed(data, s3=self.engine.sreg(3), s5=self.engine.sreg(5))
            data = feed.rest
            item = feed.item
            if isinstance(item, PrefixSeen):
                self._prefix(item)  # first: the AT's own echo goes out in the new parity
            if feed.echo and self.engine.setting("E"):
                self._send(feed.echo)
            if isinstance(item, LineDone):
                self._line_ended_at = now
                if item.overflow:
                    self._result(Result.ERROR)
                else:
                    self._history = item.body
                    self._execute(item.body, now)
            elif isinstance(item, Repeat):
                self._line_ended_at = now
                self._execute(self._history, now)
            elif isinstance(item, Cancelled):
                self._result(Result.OK)
            if self._attempting() or self._online():
                return  # the rest would abort the attempt, or is not for the command reader

    def data_to_send(self) -> bytes:
        """Bytes for the DTE: command-mode text, then online data the DTE may take now."""
        if self.data.to_dte and self.mode is Mode.ONLINE and self._dte_takes_data():
            self._out += encode(self.data.take_for_dte(), self.parity)
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> ev.ModemEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return min(self._timers.values(), default=None)

    def handle_timer(self, now: float) -> None:
        for name, deadline in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if deadline <= now and self._timers.get(name) == deadline:
                del self._timers[name]
                self._fire(name, now)

    def set_dtr(self, on: bool, now: float) -> None:
        if on == self.dtr:
            return
        self.dtr = on
        self._events.append(ev.DteLinesChanged(self.dtr, self.rts))
        if on:
            self._timers.pop("dtr", None)
        else:
            self._timers["dtr"] = now + self.engine.sreg(25) * 0.01

    def set_rts(self, on: bool, now: float) -> None:
        if on != self.rts:
            self.rts = on
            self._events.append(ev.DteLinesChanged(self.dtr, self.rts))

    def set_output_paused(self, paused: bool, now: float) -> None:
        """The port's own buffer toward the DTE is full (or has room again)."""
        self.output_paused = paused

    def set_dte_format(self, fmt: DteFormat, now: float) -> None:
        """The port's speed and framing changed (a port that can tell us)."""
        if fmt != self.dte_format:
            self.dte_format = fmt
            self._sync_dte_text()
            self._events.append(ev.DteFormatChanged(fmt.rate, self.framing))
            call = self._call
            if call is not None and call.agreement is not None and "retrain" not in self._timers:
                self._start_link(call.agreement, now)  # a character now costs other bits

    @property
    def lines(self) -> ModemLines:
        return self._lines

    @property
    def flow(self) -> FlowControl:
        return self._flow

    @property
    def framing(self) -> str:
        """The DTE framing in effect, e.g. "7E1" once a 7E1 "AT" was seen."""
        if self.parity is Parity.NONE:
            return self.dte_format.framing
        return f"7{self.parity.value}1"

    @property
    def link(self) -> Link | None:
        """The link while a call is connected."""
        return self._call.link if self._call is not None else None

    def dte_room(self) -> int:
        """How many more DTE bytes the modem can take without losing any."""
        if self.mode is Mode.ONLINE:
            return self.data.dte_room()
        return NO_LIMIT

    # ----- sans-I/O interface: the line side -----

    def attach_line(self, attached: bool = True) -> None:
        """An exchange now answers this modem's line requests (or no longer does)."""
        self.line_attached = attached

    def next_line_request(self) -> LineRequest | None:
        return self._requests.popleft() if self._requests else None

    def line_signal(self, signal: LineSignal, now: float) -> None:
        match signal:
            case Incoming(caller, caps, line):
                self._incoming(caller, caps, line, now)
            case Ringback():
                self._progress("ringback")
            case Busy():
                self._far_busy()
            case NoDialtone():
                self._far_missing()
            case Answered(caps, line):
                self._far_answered(caps, line, now)
            case LineChanged(line):
                self._line_changed(line, now)
            case Released():
                self._far_released(now)

    def receive_line(self, data: bytes, now: float) -> None:
        """Bytes the far modem sent (already at the link's pace)."""
        call = self._call
        if call is None or call.link is None or self.mode is Mode.DIALING:
            return
        if call.rx is not None:
            call.rx.put(data, now)
            data = call.rx.take(now)
            self._arm_rx(call.rx)
        self._to_dte(data, now)

    def _to_dte(self, data: bytes, now: float) -> None:
        if not data:
            return
        lost = self.data.from_line(data)
        if lost:
            self._events.append(ev.DataLost("to-dte", lost, self.data.lost_to_dte))
        self._active(now)

    def _arm_rx(self, rx: Channel) -> None:
        deadline = rx.deadline()
        if deadline is None:
            self._timers.pop("line-rx", None)
        else:
            self._timers["line-rx"] = deadline

    def line_data_to_send(self, limit: int, now: float) -> bytes:
        """What the transmitter puts on the line now, at most `limit` bytes."""
        if not self._has_carrier() or not self.data.to_line:
            return b""
        out = self.data.take_for_line(limit, now)
        if out:
            self._flow_update()
            self._active(now)
        self._arm_pace(now)
        return out

    def line_room(self) -> int:
        """How many bytes the far modem may send now (error control's window).

        Nothing before this end is online: the two ends' training may end a moment
        apart, and what the far end sends first must wait for us, not be lost.
        """
        if not self._has_carrier():
            return 0
        rx = self._call.rx if self._call is not None else None
        return max(0, self.data.line_room() - (rx.pending() if rx is not None else 0))

    # ----- command mode -----

    def _prefix(self, item: PrefixSeen) -> None:
        parity = self._fixed_parity()
        if parity is None:
            parity = detect_parity(item.a_byte, item.t_byte)
        if parity is not self.parity:
            self.parity = parity
            self._sync_dte_text()
            self._events.append(ev.ParityDetected(parity.value))

    def _fixed_parity(self) -> Parity | None:
        """The parity when it is not detected: forced 8N1, or a fixed +IPR with +ICF."""
        if self.force_8n1:
            return Parity.NONE
        icf = self.engine.config.extended.get("+ICF")
        if self.engine.config.ipr == 0 or not icf or icf[0] not in _ICF_FORMATS:
            return None
        _, parity, _ = _ICF_FORMATS[icf[0]]
        return parity if parity is not None else _ICF_PARITY.get(icf[1], Parity.NONE)

    def _execute(self, body: str, now: float) -> None:
        self._events.append(ev.CommandLine(body))
        outcome = self.engine.execute(body)
        self._apply(outcome, now)

    def _apply(self, outcome: Outcome, now: float) -> None:
        if outcome.reset:
            self._reset(now)
        if outcome.stored_changed:
            self._events.append(ev.StoredStateChanged(self.engine.stored.to_json()))
        if outcome.info:
            self._send(
                frame_info(
                    outcome.info,
                    verbose=bool(self.engine.setting("V")),
                    s3=self.engine.sreg(3),
                    s4=self.engine.sreg(4),
                )
            )
        if outcome.action is not None:
            self._act(outcome.action, now)
        elif outcome.result is not None:
            self._result(outcome.result)
        self._after_line()

    def _after_line(self) -> None:
        """Effects that settle once a line has run: flow control, fixed DTE rate, lines."""
        flow = self.engine.flow
        if flow != self._flow:
            self._flow = flow
            self._events.append(ev.FlowControlChanged(flow.uart_rtscts, flow.xon_xoff))
        ipr = self.engine.config.ipr
        if ipr and ipr != self.dte_format.rate:
            self.set_dte_format(DteFormat(ipr, 8, "N", 1), 0.0)
        fixed = self._fixed_parity()
        if fixed is not None and fixed is not self.parity:
            self.parity = fixed
            self._sync_dte_text()
        self._update_lines()

    def _act(self, action: Action, now: float) -> None:
        in_call = self.mode is Mode.ONLINE_COMMAND
        match action:
            case DialAction() | AnswerAction() if in_call:
                self._result(Result.ERROR)
            case DialAction(dialstring, stay, tone):
                self._dial(dialstring, stay, tone, now)
            case AnswerAction():
                self._answer(now)
            case OnlineAction() if in_call:
                self._go_online(now)
            case OnlineAction():
                self._result(Result.NO_CARRIER)
            case HangupAction(off_hook):
                self._end_call("hung up by ATH")
                self._set_hook(off_hook)
                self._result(Result.OK)

    # ----- originating -----

    def _dial(self, dialstring: str, stay: bool, tone: bool, now: float) -> None:
        try:
            plan = parse_dialstring(
                dialstring, tone=tone, s8=self.engine.sreg(8), s11=self.engine.sreg(11) or 95
            )
        except DialStringError as exc:
            self._events.append(ev.CallProgress("refused", str(exc)))
            self._result(Result.ERROR)
            return
        self._set_hook(True)
        self._call = _Call(originate=True, plan=plan, stay=stay)
        self._set_mode(Mode.DIALING)
        x = self.engine.setting("X")
        if not self.line_attached:
            # Nothing in the line jack: with dial-tone detection the modem says so after S6;
            # blind dialing waits S7 for a carrier that never comes.
            if x in (2, 4) or plan.wait_dialtone:
                self._attempt(now + self.engine.sreg(6), Result.NO_DIALTONE)
            else:
                self._attempt(now + self.engine.sreg(7), Result.NO_CARRIER)
            return
        # Dial tone is there at once when the modem listens for it; blind dialing waits S6.
        if plan.host:
            wait = 0.0  # neither for a host: the "line" is the network
        elif x in (2, 4):
            wait = DIALTONE_DETECT
        else:
            wait = float(self.engine.sreg(6))
        self._events.append(ev.CallProgress("dialing", _target(plan), pulse=plan.pulse))
        self._timers["dialed"] = now + wait + plan.dial_seconds
        self._attempt(now + wait + plan.dial_seconds + self.engine.sreg(7), Result.NO_CARRIER)

    def originate(self, now: float) -> None:
        """Wait as a caller on a line that already reaches the called modem.

        For the modem that stands in for a raw TCP client calling a listener: the
        exchange rings the called modem; this one waits for its answer, up to S7.
        """
        if self._call is not None or self._ring is not None:
            return
        self._set_hook(True)
        self._call = _Call(originate=True, placed=True)
        self._set_mode(Mode.DIALING)
        self._attempt(now + self.engine.sreg(7), Result.NO_CARRIER)

    def _dialed(self, now: float) -> None:
        call = self._call
        if call is None or call.plan is None:
            return
        if call.stay:
            self._timers.pop("attempt", None)
            self._set_mode(Mode.COMMAND)
            self._result(Result.OK)  # off-hook in command mode, as ';' asks
            return
        call.placed = True
        self._requests.append(PlaceCall(call.plan, self.caps()))
        self._progress("placed", _target(call.plan))

    def _far_busy(self) -> None:
        self._progress("busy")
        if self.engine.setting("X") in (3, 4) or self.engine.setting("X") >= 5:
            self._hang_up(Result.BUSY, "far end busy")
        # Without busy detection the modem keeps listening until S7 runs out.

    def _far_missing(self) -> None:
        self._progress("no dial tone")
        x = self.engine.setting("X")
        self._hang_up(
            Result.NO_DIALTONE if x in (2, 4) or x >= 5 else Result.NO_CARRIER, "no such host"
        )

    def _far_answered(self, caps: LineCaps | None, line: LineQuality, now: float) -> None:
        call = self._call
        if call is None or not call.originate or call.answered:
            return
        call.answered = True
        self._progress("answered", "" if caps is not None else "no carrier")
        if caps is not None:
            self._train(caps, line, now)

    # ----- answering -----

    def _incoming(self, caller: str, caps: LineCaps, line: LineQuality, now: float) -> None:
        if self._call is not None or self._ring is not None or self.off_hook:
            self._requests.append(RejectCall("busy"))
            return
        if self.engine.setting("&D") == 2 and not self.dtr:
            self._requests.append(RejectCall("dtr"))
            return
        self._ring = _Ring(caller, caps, line)
        self._timers.pop("ring-clear", None)
        self._ring_once(now)

    def _ring_once(self, now: float) -> None:
        ring = self._ring
        if ring is None:
            return
        count = min(255, self.engine.sreg(1) + 1)
        self.engine.config.sregs[1] = count
        self._ri = True
        self._update_lines()
        self._events.append(ev.Ringing(ring.caller, count))
        self._result(Result.RING)
        self._timers["ri-off"] = now + RING_ON
        self._timers["ring"] = now + RING_PERIOD
        if self._auto_answer(count):
            # The modem counts the S0-th ring and picks up when its burst ends, so the
            # caller hears that ring's ringback; ATA, DTR or the caller may act first.
            self._timers["answer"] = now + RING_ON

    def _auto_answer(self, count: int) -> bool:
        s0 = self.engine.sreg(0)
        return bool(s0) and count >= s0 and not (self.engine.setting("&D") == 2 and not self.dtr)

    def _ring_answered(self, now: float) -> None:
        """The S0-th ring's burst is over: pick up, if the call is still ringing here."""
        if self._ring is not None and self._call is None and self._auto_answer(self.engine.sreg(1)):
            self._answer(now)

    def _stop_ringing(self, now: float) -> None:
        if self._ring is None:
            return
        self._ring = None
        self._timers.pop("ring", None)
        self._timers.pop("ri-off", None)
        self._timers.pop("answer", None)
        self._ri = False
        self._update_lines()
        self._timers["ring-clear"] = now + RING_COUNT_CLEAR

    def _answer(self, now: float) -> None:
        ring = self._ring
        self._stop_ringing(now)
        self._timers.pop("ring-clear", None)
        self._set_hook(True)
        self._call = _Call(originate=False)
        self._set_mode(Mode.ANSWERING)
        self._attempt(now + self.engine.sreg(7), Result.NO_CARRIER)
        if ring is None:
            return  # ATA with nothing ringing: listen for a carrier until S7
        self.engine.config.sregs[1] = 0
        self._call.placed = True
        self._requests.append(AcceptCall(self.caps()))
        self._progress("answered", ring.caller)
        self._train(ring.caps, ring.line, now)

    # ----- both -----

    def _train(self, far: LineCaps, line: LineQuality, now: float) -> None:
        """Run the handshake both ends compute alike; report its steps as they happen."""
        call = self._call
        assert call is not None
        mine = self.caps()
        call.caps = (mine, far) if call.originate else (far, mine)
        call.line = line
        call.handshake = hs = negotiate(*call.caps, line)
        call.answered_at = now
        call.next_step = 0
        self._progress("training", f"SNR {line.snr_db:g} dB")
        self._timers["train"] = now + hs.duration
        self._report_steps(now)

    def _report_steps(self, now: float) -> None:
        call = self._call
        if call is None or call.handshake is None:
            return
        steps = call.handshake.steps
        while call.next_step < len(steps):
            step = steps[call.next_step]
            if call.answered_at + step.t > now + 1e-9:
                self._timers["step"] = call.answered_at + step.t
                return
            self._events.append(
                ev.HandshakeStep(
                    step.t, step.by, step.name, step.detail, step.octets, step.word, step.rates
                )
            )
            call.next_step += 1
        self._timers.pop("step", None)

    def _handshake_done(self, now: float) -> None:
        call = self._call
        if call is None or call.handshake is None:
            return
        self._report_steps(now)
        hs = call.handshake
        if hs.agreement is None:
            self._progress("training failed", hs.failure)
            if hs.hang_up:
                self._hang_up(Result.NO_CARRIER, hs.failure)
            return  # otherwise the modem keeps listening until S7
        self._timers.pop("attempt", None)
        self._start_link(hs.agreement, now)
        link = call.link
        assert link is not None
        self._events.append(
            ev.Connected(
                link.carrier, link.tx_rate, link.rx_rate, link.error_control, link.compression
            )
        )
        self._go_online(now, reports=True)

    def _start_link(self, agreement: Agreement, now: float) -> None:
        """Data moves at the agreed rate, with this line's latency and noise."""
        call = self._call
        assert call is not None
        call.agreement = agreement
        call.link = link = Link.seen_from(agreement, call.originate)
        line = call.line
        tx_ber = line_ber(agreement, line, toward_caller=not call.originate)
        rx_ber = line_ber(agreement, line, toward_caller=call.originate)
        rate = bytes_per_second(link.tx_rate, link.error_control, self.framing)
        rate /= retransmission_factor(tx_ber, link.error_control)
        self.data.start(link, now, rate)
        corrupt = link.error_control is None and rx_ber > 0
        if line.latency > 0 or corrupt:
            if call.rx is None:
                call.rx = Channel(latency=line.latency, ber=rx_ber, seed=1 if call.originate else 2)
            call.rx.ber = rx_ber
            call.rx.corrupt = corrupt
        else:
            call.rx = None

    def _line_changed(self, line: LineQuality, now: float) -> None:
        """Retrain at the new SNR: fall back, fall forward, or lose the carrier."""
        call = self._call
        if call is None:
            return
        call.line = line
        if call.agreement is None or call.caps is None:
            return  # still training: the handshake already has its line
        new = retrain(call.agreement, *call.caps, line)
        if new is None:
            self._progress("retrain failed", f"nothing trains at {line.snr_db:g} dB")
            self._lose_carrier(now)
            return
        if new == call.agreement:
            self._start_link(new, now)  # same rates; the noise may differ
            return
        self._progress("retraining", f"SNR {line.snr_db:g} dB")
        call.agreement = new
        self.data.pause()  # nothing moves while the modems retrain
        self._timers["retrain"] = now + RETRAIN_SECONDS.get(new.carrier, 1.0)

    def _retrained(self, now: float) -> None:
        call = self._call
        if call is None or call.agreement is None or call.link is None:
            return
        old = call.link
        self._start_link(call.agreement, now)
        new = call.link
        assert new is not None
        self._events.append(
            ev.Retrained(new.carrier, new.tx_rate, new.rx_rate, old.tx_rate, old.rx_rate)
        )
        self._arm_pace(now)

    def _go_online(self, now: float, *, reports: bool = False) -> None:
        link = self.link
        assert link is not None
        self._set_mode(Mode.ONLINE)
        self._escape.reset(now)
        lines = connect_lines(
            self.profile.connect_style,
            self.profile.result_family,
            self.engine.config.settings,
            self.engine.config.extended,
            Connection(
                link.carrier,
                link.tx_rate,
                link.rx_rate,
                link.error_control,
                link.compression,
                self.dte_format.rate,
            ),
        )
        for line in lines if reports else lines[-1:]:
            self._result_text(line.text, line.code)
        self._active(now)
        self._arm_pace(now)

    def _far_released(self, now: float) -> None:
        if self._ring is not None and self._call is None:
            self._stop_ringing(now)  # the caller gave up
            return
        call = self._call
        if call is None:
            return
        if call.link is not None and self._has_carrier():
            self._lose_carrier(now)
            return
        self._hang_up(Result.NO_CARRIER, "far end hung up")

    def _lose_carrier(self, now: float) -> None:
        """The far carrier is gone: hang up after S10 tenths of a second."""
        self._progress("carrier lost")
        self.data.pause()
        self._timers["carrier"] = now + self.engine.sreg(10) * 0.1

    def _hang_up(self, result: Result, reason: str) -> None:
        self._end_call(reason)
        self._set_hook(False)
        self._result(result)

    def _end_call(self, reason: str) -> None:
        """Leave the call (if any): tell the line, flush what the DTE had coming."""
        for name in _CALL_TIMERS:
            self._timers.pop(name, None)
        call, self._call = self._call, None
        pending = self.data.stop()
        if pending:
            self._out += encode(pending, self.parity)
        if call is not None:
            if call.placed:
                self._requests.append(Release())
            self._events.append(ev.CallEnded(reason))
        if self.mode is not Mode.COMMAND:
            self._set_mode(Mode.COMMAND)

    def _online(self) -> bool:
        return self.mode is Mode.ONLINE

    def _has_carrier(self) -> bool:
        """Connected, whether the DTE is in data mode or online command mode."""
        return self.mode in (Mode.ONLINE, Mode.ONLINE_COMMAND)

    def _attempting(self) -> bool:
        """Dialing or answering: the next DTE character aborts."""
        return self.mode in (Mode.DIALING, Mode.ANSWERING) and not (
            self._call is not None and self._call.stay
        )

    def _attempt(self, deadline: float, result: Result) -> None:
        self._attempt_result = result
        self._timers["attempt"] = deadline

    def _attempt_over(self) -> None:
        call = self._call
        result = self._attempt_result
        quiet_wanted = call is not None and call.plan is not None and call.plan.wait_quiet
        if quiet_wanted and call is not None and call.placed and not call.answered:
            result = Result.NO_ANSWER  # '@' heard ringing, never the quiet answer
        self._hang_up(result, "no carrier in S7")

    # ----- online -----

    def _online_input(self, data: bytes, now: float) -> None:
        self._escape.feed(data, now, s2=self.engine.sreg(2), s12=self.engine.sreg(12))
        deadline = self._escape.deadline
        if deadline is None:
            self._timers.pop("escape", None)
        else:
            self._timers["escape"] = deadline
        if self.parity is not Parity.NONE:
            data = strip(data, self.parity)
        lost = self.data.from_dte(data, xon_xoff=self._flow.xon_xoff)
        if lost:
            self._events.append(ev.DataLost("from-dte", lost, self.data.lost_from_dte))
        self._flow_update()
        self._active(now)
        self._arm_pace(now)

    def _dte_takes_data(self) -> bool:
        if self.output_paused:
            return False
        if self._flow.rts and not self.rts:
            return False
        return not (self._flow.xon_xoff and self.data.dte_xoff)

    def _flow_update(self) -> None:
        """Hold the DTE off, or let it go, as the buffer toward the line fills and drains."""
        if not self.data.hold_changed():
            return
        if self._flow.xon_xoff:
            self._out += encode(bytes((XOFF if self.data.holding else XON,)), self.parity)
        self._update_lines()

    def _arm_pace(self, now: float) -> None:
        deadline = self.data.pace_deadline(now)
        if deadline is None:
            self._timers.pop("pace", None)
        else:
            self._timers["pace"] = max(deadline, now)

    def _active(self, now: float) -> None:
        s30 = self.engine.sreg(30)
        if s30 and self._call is not None and self._call.link is not None:
            self._timers["idle"] = now + s30 * 10.0

    def _escaped(self, now: float) -> None:
        if self.mode is Mode.ONLINE and self._escape.check(now):
            self._to_online_command()

    def _to_online_command(self) -> None:
        """The call stays up, the DTE talks to the modem again (+++ or DTR under &D1)."""
        self._events.append(ev.Escaped())
        self._set_mode(Mode.ONLINE_COMMAND)
        self._result(Result.OK)

    # ----- timers -----

    def _fire(self, name: str, now: float) -> None:
        match name:
            case "attempt":
                self._attempt_over()
            case "dialed":
                self._dialed(now)
            case "step":
                self._report_steps(now)
            case "train":
                self._handshake_done(now)
            case "retrain":
                self._retrained(now)
            case "line-rx" if self._call is not None and self._call.rx is not None:
                rx = self._call.rx
                self._to_dte(rx.take(now), now)
                self._arm_rx(rx)
            case "escape":
                self._escaped(now)
            case "carrier":
                self._hang_up(Result.NO_CARRIER, "carrier lost")
            case "idle":
                self._hang_up(Result.NO_CARRIER, "inactivity (S30)")
            case "ring":
                self._ring_once(now)
            case "answer":
                self._ring_answered(now)
            case "ri-off":
                self._ri = False
                self._update_lines()
            case "ring-clear":
                self.engine.config.sregs[1] = 0
            case "dtr" if not self.dtr:
                self._dtr_dropped(now)
            case _:
                pass  # "pace": the driver collects line data after every timer

    def _dtr_dropped(self, now: float) -> None:
        """DTR stayed off for S25: act as &D says."""
        action = self.engine.setting("&D")
        if action == 0:
            return
        if self._ring is not None and action == 2:
            self._stop_ringing(now)
            self._requests.append(RejectCall("dtr"))
        if self._call is not None:
            if action == 1 and self.mode is Mode.ONLINE:
                self._to_online_command()
            elif action >= 2 or self._attempting():
                result = Result.OK if self._has_carrier() else Result.NO_CARRIER
                self._hang_up(result, "DTR dropped")
        if action == 3:
            self.engine.config = self.engine.stored.profiles[0].copy()
            self._reset(now)
            self._after_line()

    def _reset(self, now: float) -> None:
        self._end_call("reset")
        self._stop_ringing(now)
        self._set_hook(False)
        self.reader.limit = self.profile.line_limit

    # ----- output -----

    def _result(self, result: Result) -> None:
        self._result_text(result.text, int(result))

    def _result_text(self, text: str, code: int) -> None:
        quiet = self.engine.setting("Q") == 1
        self._events.append(ev.ResultCode(text, code, not quiet))
        if not quiet:
            self._send(
                frame_result(
                    text,
                    code,
                    # reports with no numeric form (+MCR:, CARRIER ...) stay text
                    verbose=bool(self.engine.setting("V")) or code == NO_CODE,
                    s3=self.engine.sreg(3),
                    s4=self.engine.sreg(4),
                )
            )

    def _send(self, data: bytes) -> None:
        self._out += encode(data, self.parity)

    def _progress(self, step: str, detail: str = "") -> None:
        self._events.append(ev.CallProgress(step, detail))

    # ----- state -----

    def caps(self) -> LineCaps:
        """What this modem offers: its carriers up to the +MS ceiling, and error control."""
        ms = self.engine.config.ms
        top = CARRIERS.index(ms.carrier) if ms.carrier in CARRIERS else len(CARRIERS) - 1
        mods = tuple(m for m in self.profile.modulations if CARRIERS.index(m) <= top)
        settings = self.engine.config.settings
        protocols, required = error_control_policy(self.profile, settings)
        top = self.profile.max_rate
        return LineCaps(
            mods,
            min(top, ms.max_rx or top),
            protocols,
            self.digital,
            compression_allowed(self.profile, settings) if protocols else (),
            required,
            min(top, ms.max_tx or top),
            not V8_CARRIERS.isdisjoint(self.profile.modulations),
            settings.get("B", 1) == 1,
        )

    def _set_mode(self, mode: Mode) -> None:
        if mode is not self.mode:
            self.mode = mode
            self._events.append(ev.ModeChanged(mode.value))
            self._update_lines()

    def _set_hook(self, off_hook: bool) -> None:
        if off_hook != self.off_hook:
            self.off_hook = off_hook
            self._events.append(ev.HookChanged(off_hook))

    def _sync_dte_text(self) -> None:
        self.engine.dte_text = f"{self.dte_format.rate} {self.framing}"

    def _compute_lines(self) -> ModemLines:
        carrier = self._has_carrier()
        return ModemLines(
            cts=not (self._flow_cts_held()),
            dsr=self.engine.setting("&S") == 0 or carrier,
            dcd=self.engine.setting("&C") == 0 or carrier,
            ri=self._ri,
        )

    def _flow_cts_held(self) -> bool:
        return self.data.holding and self.engine.flow.cts

    def _update_lines(self) -> None:
        lines = self._compute_lines()
        if lines != self._lines:
            self._lines = lines
            self._events.append(ev.ModemLinesChanged(lines.cts, lines.dsr, lines.dcd, lines.ri))
