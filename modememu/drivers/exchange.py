"""The telephone exchange: routes calls between line ends and moves their data.

A line end is whatever sits at one end of a call: a `ModemHost` in this
process, or a modem in another process reached over a TCP trunk. Numbers in the
phonebook that are not modems (services, programs, TCP hosts) are answered by a
hidden far modem whose DTE is the service, program or socket, so the caller's
modem always talks to a modem, at a modem's pace.

The exchange runs on any `Clock`: the virtual one in tests, the loop's on ports.
Reaching TCP hosts and programs needs the asyncio loop, through a `Dialer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modememu.clock import Clock
from modememu.events import Event, EventBus
from modememu.modem.dialstring import DialPlan
from modememu.modem.line import (
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
    NoDialtone,
    PlaceCall,
    RejectCall,
    Release,
    Released,
    Ringback,
)
from modememu.phonebook import Entry, Phonebook

BUSY_DETECT = 2.0  # seconds of busy tone before a modem is sure
SOURCE = "exchange"


class LineEnd(Protocol):
    """One end of a call, as the exchange sees it."""

    @property
    def label(self) -> str: ...

    def signal(self, signal: LineSignal) -> None: ...

    def pull(self, limit: int) -> bytes: ...

    def push(self, data: bytes) -> None: ...

    def room(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ExchangeEvent(Event):
    pass


@dataclass(frozen=True, slots=True)
class CallRouted(ExchangeEvent):
    caller: str
    number: str
    to: str  # what answers: a modem, "service echo", "tcp host:port", "fault busy", ...
    snr_db: float | None = None


@dataclass(frozen=True, slots=True)
class LineAltered(ExchangeEvent):
    caller: str
    snr_db: float


@dataclass(frozen=True, slots=True)
class CallCleared(ExchangeEvent):
    caller: str
    callee: str
    reason: str


def line_of(entry: Entry) -> LineQuality:
    """The line a phonebook entry describes (the default line where it is silent)."""
    default = LineQuality()
    return LineQuality(
        entry.snr_db if entry.snr_db is not None else default.snr_db,
        entry.latency_ms / 1000 if entry.latency_ms is not None else default.latency,
        entry.ber,
    )


class Call:
    """Two line ends joined; moves data both ways whenever either can go on."""

    def __init__(self, exchange: Exchange, caller: LineEnd, callee: LineEnd | None) -> None:
        self.exchange = exchange
        self.caller = caller
        self.callee = callee
        self.on_clear: list[Callable[[], None]] = []
        self._pumping = False
        self._again = False
        self.cleared = False
        self.busy = False  # cleared because the called end was busy
        self.line = LineQuality()  # the line between the two modems

    def other(self, end: LineEnd) -> LineEnd | None:
        return self.callee if end is self.caller else self.caller

    def pump(self) -> None:
        if self._pumping:
            self._again = True
            return
        if self.callee is None or self.cleared:
            return
        self._pumping = True
        try:
            while True:
                self._again = False
                moved = self._move(self.caller, self.callee)
                moved = self._move(self.callee, self.caller) or moved
                if not (moved or self._again) or self.cleared:
                    break
        finally:
            self._pumping = False

    @staticmethod
    def _move(src: LineEnd, dst: LineEnd) -> bool:
        room = dst.room()
        if room <= 0:
            return False
        data = src.pull(room)
        if not data:
            return False
        dst.push(data)
        return True


class Dialer(Protocol):
    """Reaches what the exchange cannot by itself: TCP hosts and programs."""

    def dial_host(self, call: Call, plan: DialPlan, caps: LineCaps, entry: Entry | None) -> None:
        ...

    def answer_exec(self, call: Call, entry: Entry, caps: LineCaps) -> None: ...


class FarModems(Protocol):
    """Makes the hidden answering modems behind service numbers."""

    def answer_service(self, call: Call, entry: Entry, caps: LineCaps) -> None: ...


class Exchange:
    def __init__(
        self,
        clock: Clock,
        bus: EventBus,
        phonebook: Phonebook | None = None,
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.phonebook = phonebook if phonebook is not None else Phonebook.default()
        self.modems: dict[str, LineEnd] = {}
        self.calls: dict[int, Call] = {}  # by id() of each end
        self.dialer: Dialer | None = None
        self.far_modems: FarModems | None = None

    # ----- numbers -----

    def register(self, number: str, end: LineEnd) -> None:
        if number:
            self.modems[number] = end

    def unregister(self, end: LineEnd) -> None:
        for number, registered in list(self.modems.items()):
            if registered is end:
                del self.modems[number]
        call = self.calls.get(id(end))
        if call is not None:
            self.clear(call, end, "line unplugged")

    # ----- what a modem asks -----

    def pump_call_of(self, end: LineEnd) -> None:
        call = self.calls.get(id(end))
        if call is not None:
            call.pump()

    def request(self, end: LineEnd, request: LineRequest) -> None:
        match request:
            case PlaceCall(plan, caps):
                self._place(end, plan, caps)
            case AcceptCall(caps):
                call = self.calls.get(id(end))
                if call is not None and call.caller is not end:
                    call.caller.signal(Answered(caps, call.line))
            case RejectCall(reason):
                call = self.calls.get(id(end))
                if call is not None:
                    self.clear(call, end, f"refused ({reason})", busy=reason == "busy")
            case Release():
                call = self.calls.get(id(end))
                if call is not None:
                    self.clear(call, end, f"{end.label} hung up")

    def _place(self, caller: LineEnd, plan: DialPlan, caps: LineCaps) -> None:
        call = Call(self, caller, None)
        self.calls[id(caller)] = call
        if plan.host is not None:
            where = f"{plan.host[0]}:{plan.host[1]}"
            self._routed(call, where, f"tcp {where}")
            self._dial_host(call, plan, caps, None)
            return
        entry = self.phonebook.lookup(plan.number)
        if entry is not None:
            call.line = line_of(entry)
        if entry is None or entry.kind == "modem":
            target = self.modems.get(entry.modem if entry is not None else plan.number)
            if target is not None:
                self._routed(call, plan.number, f"modem {target.label}")
                self.connect(call, target, caps)
            else:
                self._routed(call, plan.number, "intercept (number not in service)")
                self._answer_without_carrier(call)
        elif entry.kind == "fault":
            self._routed(call, plan.number, f"fault {entry.fault}")
            self._fault(call, entry.fault)
        elif entry.kind == "tcp":
            self._routed(call, plan.number, f"tcp {entry.host}")
            self._dial_host(call, plan, caps, entry)
        elif entry.kind == "exec":
            self._routed(call, plan.number, "exec " + " ".join(entry.argv))
            if self.dialer is None:
                self._answer_without_carrier(call)
            else:
                self.dialer.answer_exec(call, entry, caps)
        else:
            self._routed(call, plan.number, f"service {entry.service}", entry.snr_db)
            call.line = line_of(entry)
            assert self.far_modems is not None, "an exchange with services needs far modems"
            self.far_modems.answer_service(call, entry, caps)

    def _dial_host(self, call: Call, plan: DialPlan, caps: LineCaps, entry: Entry | None) -> None:
        if self.dialer is None:
            self.no_dialtone(call, "no network here (a virtual exchange)")
        else:
            self.dialer.dial_host(call, plan, caps, entry)

    def _fault(self, call: Call, fault: str) -> None:
        caller = call.caller
        if fault == "busy":
            self._later(BUSY_DETECT, call, lambda: caller.signal(Busy()))
        elif fault == "no-answer":
            caller.signal(Ringback())
        else:  # "no-carrier": someone picks up, and no modem is there
            caller.signal(Ringback())
            self._answer_without_carrier(call)

    def _answer_without_carrier(self, call: Call) -> None:
        """After a ring, someone (a recording, a person) picks up; no modem ever answers."""
        self._later(RING_PERIOD, call, lambda: call.caller.signal(Answered(None)))

    # ----- joining and clearing -----

    def connect(self, call: Call, callee: LineEnd, caps: LineCaps) -> None:
        """Ring `callee` for this call (a modem here, a far modem, or a trunk)."""
        if id(callee) in self.calls:  # already in a call: the caller hears busy
            self.clear(call, None, f"{callee.label} busy", busy=True)
            return
        call.callee = callee
        self.calls[id(callee)] = call
        call.caller.signal(Ringback())
        callee.signal(Incoming(call.caller.label, caps, call.line))

    def incoming(
        self, caller: LineEnd, callee: LineEnd, caps: LineCaps, line: LineQuality | None = None
    ) -> Call:
        """A call from outside (a TCP listener) to one of our modems."""
        call = Call(self, caller, None)
        call.line = line or LineQuality()
        self.calls[id(caller)] = call
        self._routed(call, callee.label, f"modem {callee.label}")
        self.connect(call, callee, caps)
        return call

    def clear(self, call: Call, by: LineEnd | None, reason: str, *, busy: bool = False) -> None:
        """End the call; the end that did not end it hears Released (or Busy)."""
        if call.cleared:
            return
        call.cleared = True
        call.busy = busy
        self._forget(call)
        for end in (call.caller, call.callee):
            if end is not None and end is not by:
                end.signal(Busy() if busy and end is call.caller else Released())
        callee = call.callee.label if call.callee is not None else "-"
        self.bus.publish(self.clock.now(), SOURCE, CallCleared(call.caller.label, callee, reason))
        for cleanup in call.on_clear:
            cleanup()

    def change_line(self, call: Call, line: LineQuality) -> None:
        """The line of a call gets better or worse: both modems hear it and retrain."""
        if call.cleared:
            return
        call.line = line
        for end in (call.caller, call.callee):
            if end is not None:
                end.signal(LineChanged(line))
        self.bus.publish(self.clock.now(), SOURCE, LineAltered(call.caller.label, line.snr_db))

    def no_dialtone(self, call: Call, reason: str) -> None:
        """Nothing to dial into: the caller hears NoDialtone instead of Released."""
        self.clear(call, call.caller, reason)
        call.caller.signal(NoDialtone())

    def _forget(self, call: Call) -> None:
        for end in (call.caller, call.callee):
            if end is not None and self.calls.get(id(end)) is call:
                del self.calls[id(end)]

    def _later(self, delay: float, call: Call, action: Callable[[], None]) -> None:
        def fire() -> None:
            if not call.cleared:
                action()

        self.clock.call_at(self.clock.now() + delay, fire)

    def _routed(self, call: Call, number: str, to: str, snr_db: float | None = None) -> None:
        self.bus.publish(
            self.clock.now(), SOURCE, CallRouted(call.caller.label, number, to, snr_db)
        )
