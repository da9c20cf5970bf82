"""The modem core (sans-I/O): the DTE side of one emulated modem.

Bytes from the DTE and the DTE's control lines come in with `now`; bytes for the
DTE, events and the next deadline come out. Command mode is complete here: the
line reader, the AT engine, parity, result framing, DTR handling and the
modem's lines. Without a telephone line attached, dialing and answering end the
way a real modem's do when nothing is plugged into its line jack.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from modememu.at.config import StoredState
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
from modememu.at.parity import Parity, detect_parity, encode
from modememu.at.results import Result, frame_info, frame_result
from modememu.modem import events as ev
from modememu.profiles import Profile

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


class Modem:
    def __init__(
        self,
        profile: Profile,
        *,
        number: str = "",
        force_8n1: bool = False,
        stored: StoredState | None = None,
    ) -> None:
        self.profile = profile
        self.number = number
        self.force_8n1 = force_8n1
        self.engine = AtEngine(profile, stored)
        self.reader = LineReader(profile.line_limit)
        self.mode = Mode.COMMAND
        self.off_hook = False
        self.dtr = True
        self.rts = True
        self.dte_format = DteFormat(profile.default_dte_rate)
        self.parity = Parity.NONE
        self._history = ""
        self._out = bytearray()
        self._events: deque[ev.ModemEvent] = deque()
        self._timers: dict[str, float] = {}
        self._line_ended_at = -1.0
        self._attempt_result = Result.NO_CARRIER
        self._lines = self._compute_lines()
        self._flow = self.engine.flow
        self._sync_dte_text()

    # ----- sans-I/O interface -----

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the DTE."""
        if self._attempting():
            if data and now - self._line_ended_at >= ABORT_GRACE:
                self._end_attempt(Result.NO_CARRIER)
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
            if self._attempting():
                return  # the rest would abort the attempt it just started

    def data_to_send(self) -> bytes:
        """Bytes for the DTE."""
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

    def set_dte_format(self, fmt: DteFormat, now: float) -> None:
        """The port's speed and framing changed (a port that can tell us)."""
        if fmt != self.dte_format:
            self.dte_format = fmt
            self._sync_dte_text()
            self._events.append(ev.DteFormatChanged(fmt.rate, self.framing))

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
            self._reset()
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
        match action:
            case DialAction(dialstring):
                self._set_hook(True)
                # No line is plugged in: with dial-tone detection (X2, X4) the modem says so
                # after waiting S6; blind dialing waits S7 for a carrier that never comes.
                if self.engine.setting("X") in (2, 4) or "W" in dialstring:
                    wait, result = self.engine.sreg(6), Result.NO_DIALTONE
                else:
                    wait, result = self.engine.sreg(7), Result.NO_CARRIER
                self._start_attempt(Mode.DIALING, now + wait, result)
            case AnswerAction():
                self._set_hook(True)
                self._start_attempt(Mode.ANSWERING, now + self.engine.sreg(7), Result.NO_CARRIER)
            case OnlineAction():
                self._result(Result.NO_CARRIER)
            case HangupAction(off_hook):
                self._set_hook(off_hook)
                self._result(Result.OK)

    def _attempting(self) -> bool:
        """Dialing or answering: the next DTE character aborts."""
        return self.mode in (Mode.DIALING, Mode.ANSWERING)

    def _start_attempt(self, mode: Mode, deadline: float, result: Result) -> None:
        self._set_mode(mode)
        self._attempt_result = result
        self._timers["attempt"] = deadline

    def _end_attempt(self, result: Result) -> None:
        self._timers.pop("attempt", None)
        self._set_hook(False)
        self._set_mode(Mode.COMMAND)
        self._result(result)

    def _fire(self, name: str, now: float) -> None:
        if name == "attempt":
            self._end_attempt(self._attempt_result)
        elif name == "dtr" and not self.dtr:
            self._dtr_dropped()

    def _dtr_dropped(self) -> None:
        """DTR stayed off for S25: act as &D says."""
        action = self.engine.setting("&D")
        if self._attempting() and action >= 1:
            self._end_attempt(Result.NO_CARRIER)
        if action == 3:
            self.engine.config = self.engine.stored.profiles[0].copy()
            self._reset()
            self._after_line()

    def _reset(self) -> None:
        self._timers.pop("attempt", None)
        self._set_hook(False)
        self._set_mode(Mode.COMMAND)
        self.reader.limit = self.profile.line_limit

    # ----- output -----

    def _result(self, result: Result) -> None:
        quiet = self.engine.setting("Q") == 1
        self._events.append(ev.ResultCode(result.text, int(result), not quiet))
        if not quiet:
            self._send(
                frame_result(
                    result.text,
                    int(result),
                    verbose=bool(self.engine.setting("V")),
                    s3=self.engine.sreg(3),
                    s4=self.engine.sreg(4),
                )
            )

    def _send(self, data: bytes) -> None:
        self._out += encode(data, self.parity)

    # ----- state -----

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
        connected = self.mode in (Mode.ONLINE, Mode.ONLINE_COMMAND)
        return ModemLines(
            cts=True,
            dsr=self.engine.setting("&S") == 0 or connected,
            dcd=self.engine.setting("&C") == 0 or connected,
            ri=False,
        )

    def _update_lines(self) -> None:
        lines = self._compute_lines()
        if lines != self._lines:
            self._lines = lines
            self._events.append(ev.ModemLinesChanged(lines.cts, lines.dsr, lines.dcd, lines.ri))
