"""A sans-I/O agent (the dialer, the ISP) as the DTE of an emulated modem.

The agent hears what the modem sends and its DCD; it answers with bytes and,
when it wants to hang up, by dropping DTR. Its timers run on the world's clock
through `CoreDriver`, and its events go to the bus under the agent's name.
What it sends is handed to the modem after the modem's own pump has finished,
never from inside it, and always in the order it was produced; and only as
much as the modem has room for, as a serial port with RTS/CTS flow control
would: the rest waits until the modem can take it, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from modememu.agents.dialer import Dialer
from modememu.clock import Clock
from modememu.drivers.host import ModemHost
from modememu.drivers.runner import CoreDriver
from modememu.events import Event, EventBus
from modememu.modem.modem import ModemLines


class LineAgent(Protocol):
    """A DTE program as a sans-I/O core."""

    def receive_data(self, data: bytes, now: float) -> None: ...

    def data_to_send(self) -> bytes: ...

    def next_event(self) -> Event | None: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class AgentDte:
    """Joins a `LineAgent` to a modem: data both ways, DCD in, DTR out."""

    def __init__(
        self,
        host: ModemHost,
        clock: Clock,
        bus: EventBus,
        agent: LineAgent,
        *,
        source: str,
        on_carrier: Callable[[bool, float], None] | None = None,
        dtr: Callable[[], bool] | None = None,
        tap: Callable[[float, bool, bytes], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self.clock = clock
        self.agent = agent
        self._on_carrier = on_carrier
        self._dtr = dtr
        self._tap = tap  # (now, sent by the agent, octets): what a line recorder sees
        self._after = after  # after every pump: the driver collects what else the agent made
        self._dtr_sent = True
        self._dcd = False
        self._actions: list[Callable[[], None]] = []
        self._held = bytearray()  # sent by the agent, waiting for room in the modem
        self._waiting = False  # a room callback is registered
        self.driver = CoreDriver(
            agent, clock, source=source, bus=bus, output=self._to_modem, after_pump=self._lines_out
        )
        host.attach(self._from_modem)
        host.line_listeners.append(self._lines)

    def input(self, apply: Callable[[float], None]) -> None:
        """Give the agent an input from outside (start, a user's request)."""
        self.driver.input(apply)

    def close(self) -> None:
        self.driver.close()
        if self._lines in self.host.line_listeners:
            self.host.line_listeners.remove(self._lines)

    def _from_modem(self, data: bytes) -> None:
        if self._tap is not None:
            self._tap(self.clock.now(), False, data)
        self.driver.input(lambda now: self.agent.receive_data(data, now))

    def _lines(self, lines: ModemLines) -> None:
        if lines.dcd == self._dcd:
            return
        self._dcd = lines.dcd
        on_carrier = self._on_carrier
        if on_carrier is not None:
            up = lines.dcd
            self.driver.input(lambda now: on_carrier(up, now))

    def _to_modem(self, data: bytes) -> None:
        if self._tap is not None:
            self._tap(self.clock.now(), True, data)
        self._later(lambda: self._feed(data))

    def _feed(self, data: bytes = b"") -> None:
        """Give the modem what it has room for; wait for room for the rest."""
        self._held += data
        if self._waiting or not self._held:
            return
        if self.host.feed_held(self._held):
            self._waiting = True
            self.host.when_room(self._room)

    def _room(self) -> None:
        self._waiting = False
        self._feed()

    def _lines_out(self) -> None:
        if self._after is not None:
            self._after()
        if self._dtr is None:
            return
        want = self._dtr()
        if want != self._dtr_sent:
            self._dtr_sent = want
            self._later(lambda: self.host.set_dtr(want))

    def _later(self, action: Callable[[], None]) -> None:
        """Queue an action for the modem; one timer runs the queue in order."""
        self._actions.append(action)
        if len(self._actions) == 1:
            self.clock.call_at(self.clock.now(), self._run_actions)

    def _run_actions(self) -> None:
        actions, self._actions = self._actions, []
        for action in actions:
            action()


def start_dialer(
    host: ModemHost,
    clock: Clock,
    bus: EventBus,
    dialer: Dialer,
    *,
    source: str,
    tap: Callable[[float, bool, bytes], None] | None = None,
) -> AgentDte:
    """Put a dialer on a modem's DTE side (DCD in, DTR out) and start it dialing."""
    agent = AgentDte(
        host,
        clock,
        bus,
        dialer,
        source=source,
        on_carrier=dialer.carrier,
        dtr=lambda: dialer.dtr,
        tap=tap,
    )
    agent.input(dialer.start)
    return agent
