"""One emulated modem on a clock, ready for a port to plug its DTE side into.

Ports (pty, serial device, RFC 2217, the modememu:// URL) only move bytes and
line states between the world and a `ModemHost`; everything else is the core's.
The host also keeps the modem's NVRAM in a `--state` file when one is given.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from modememu.at.config import StoredState
from modememu.clock import Clock
from modememu.drivers.runner import CoreDriver
from modememu.events import EventBus, Stamped
from modememu.modem.events import (
    DteFormatChanged,
    FlowControlChanged,
    ModemLinesChanged,
    StoredStateChanged,
)
from modememu.modem.line import LineCaps, LineRequest, LineSignal
from modememu.modem.modem import DteFormat, Modem, ModemLines
from modememu.profiles import Profile


class LinePlug(Protocol):
    """Where a host's line goes: the exchange (see `drivers.exchange`)."""

    def request(self, end: ModemHost, request: LineRequest) -> None: ...

    def pump_call_of(self, end: ModemHost) -> None: ...


class StateFileError(Exception):
    """A --state file that cannot be read or written; str() is one line."""


def load_state(path: Path, profile: Profile) -> StoredState:
    if not path.exists():
        return StoredState.factory(profile)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateFileError(f"{path}: cannot read modem state: {exc}") from None
    if not isinstance(data, dict):
        raise StateFileError(f"{path}: modem state must be a JSON object")
    return StoredState.from_json(data, profile)


def save_state(path: Path, state: dict[str, object]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)


class ModemHost:
    def __init__(
        self,
        profile: Profile,
        clock: Clock,
        bus: EventBus,
        *,
        name: str = "modem",
        number: str = "",
        force_8n1: bool = False,
        state_file: Path | None = None,
        pacing: bool = True,
    ) -> None:
        stored = load_state(state_file, profile) if state_file is not None else None
        self.name = name
        self.modem = Modem(
            profile, number=number, force_8n1=force_8n1, stored=stored, pacing=pacing
        )
        self.bus = bus
        self.line: LinePlug | None = None
        self.state_file = state_file
        self._sink: Callable[[bytes], None] | None = None
        self._pending = bytearray()  # output while no port is attached
        self.line_listeners: list[Callable[[ModemLines], None]] = []
        self.flow_listeners: list[Callable[[bool, bool], None]] = []
        self.rate_listeners: list[Callable[[int], None]] = []  # the DTE rate the modem wants
        # Whoever watches the DTE line (a monitor's terminal): (sent by the DTE, octets).
        self.dte_taps: list[Callable[[bool, bytes], None]] = []
        self._room_waiters: list[Callable[[], None]] = []
        self.driver = CoreDriver(
            self.modem, clock, source=name, bus=bus, output=self._output, after_pump=self._pumped
        )
        self._unsubscribe = bus.subscribe(self._on_event, source=self.name)

    # ----- what a port calls -----

    def attach(self, sink: Callable[[bytes], None]) -> None:
        self._sink = sink
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            sink(data)

    def detach(self) -> None:
        self._sink = None

    def from_dte(self, data: bytes) -> None:
        for tap in self.dte_taps:
            tap(True, data)
        self.driver.input(lambda now: self.modem.receive_data(data, now))

    def set_dtr(self, on: bool) -> None:
        self.driver.input(lambda now: self.modem.set_dtr(on, now))

    def set_rts(self, on: bool) -> None:
        self.driver.input(lambda now: self.modem.set_rts(on, now))

    def set_dte_format(self, fmt: DteFormat) -> None:
        self.driver.input(lambda now: self.modem.set_dte_format(fmt, now))

    def set_output_paused(self, paused: bool) -> None:
        """The port's buffer toward the DTE is full: hold online data in the modem."""
        self.driver.input(lambda now: self.modem.set_output_paused(paused, now))

    def dte_room(self) -> int:
        return self.modem.dte_room()

    def line_backlog(self) -> int:
        """Bytes the modem still has to send toward the far modem."""
        return len(self.modem.data.to_line)

    def feed_held(self, held: bytearray) -> bool:
        """Give the modem what it has room for out of `held` (taking it from there).

        True when bytes are left: the port should stop reading and wait `when_room`.
        """
        while held:
            room = self.modem.dte_room()
            if room <= 0:
                return True
            chunk = bytes(held[:room])
            del held[:room]
            self.from_dte(chunk)
        return False

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call back once the modem can take DTE bytes again (it was full)."""
        self._room_waiters.append(callback)

    @property
    def lines(self) -> ModemLines:
        return self.modem.lines

    # ----- the line side: what the exchange calls (a `LineEnd`) -----

    def plug(self, line: LinePlug | None) -> None:
        self.line = line
        self.modem.attach_line(line is not None)

    def caps(self) -> LineCaps:
        """What this host's modem offers a call now."""
        return self.modem.caps()

    @property
    def label(self) -> str:
        return self.modem.number or self.name

    def signal(self, signal: LineSignal) -> None:
        self.driver.input(lambda now: self.modem.line_signal(signal, now))

    def pull(self, limit: int) -> bytes:
        data = self.modem.line_data_to_send(limit, self.driver.clock.now())
        if data:
            self.driver.pump()
        return data

    def push(self, data: bytes) -> None:
        self.driver.input(lambda now: self.modem.receive_line(data, now))

    def room(self) -> int:
        return self.modem.line_room()

    def close(self) -> None:
        self.driver.close()
        self._unsubscribe()

    # ----- inside -----

    def _pumped(self) -> None:
        """After every pump: hand line requests to the exchange, let data move, wake ports."""
        line = self.line
        if line is not None:
            while (request := self.modem.next_line_request()) is not None:
                line.request(self, request)
            line.pump_call_of(self)
        if self._room_waiters and self.modem.dte_room() > 0:
            waiters, self._room_waiters = self._room_waiters, []
            for waiter in waiters:
                waiter()

    def _output(self, data: bytes) -> None:
        for tap in self.dte_taps:
            tap(False, data)
        if self._sink is None:
            self._pending += data
            del self._pending[: max(0, len(self._pending) - 65536)]
        else:
            self._sink(data)

    def _on_event(self, stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, ModemLinesChanged):
            for listener in tuple(self.line_listeners):
                listener(self.modem.lines)
        elif isinstance(event, FlowControlChanged):
            for flow_listener in tuple(self.flow_listeners):
                flow_listener(event.rtscts, event.xonxoff)
        elif isinstance(event, DteFormatChanged):
            for rate_listener in tuple(self.rate_listeners):
                rate_listener(event.rate)
        elif isinstance(event, StoredStateChanged) and self.state_file is not None:
            try:
                save_state(self.state_file, event.state)
            except OSError as exc:  # NVRAM lost, modem still fine: say so once, go on
                sys.stderr.write(f"modememu: cannot save modem state to {self.state_file}: {exc}\n")
