"""A scripted DTE for driving the modem core on the virtual clock in tests."""

from __future__ import annotations

from modememu.clock import VirtualClock
from modememu.drivers.runner import CoreDriver
from modememu.events import Event, EventBus, Stamped
from modememu.modem.modem import Modem
from modememu.profiles import load_profile


class Dte:
    def __init__(self, profile: str = "usr-courier-v34", *, force_8n1: bool = False) -> None:
        self.clock = VirtualClock()
        self.bus = EventBus()
        self.modem = Modem(load_profile(profile), force_8n1=force_8n1)
        self.received = bytearray()
        self.events: list[Stamped] = []
        self.bus.subscribe(self.events.append)
        self.driver = CoreDriver(
            self.modem, self.clock, source="m", bus=self.bus, output=self.received.extend
        )

    def send(self, data: bytes) -> bytes:
        """Send raw bytes, let 0.2 s pass, return what came back."""
        self.received.clear()
        self.driver.input(lambda now: self.modem.receive_data(data, now))
        self.clock.advance(0.2)
        return bytes(self.received)

    def at(self, line: str) -> str:
        """Type a command line (CR added); the reply as text."""
        return self.send(line.encode("latin-1") + b"\r").decode("latin-1")

    def quiet(self) -> None:
        """Echo off, so replies hold only what the modem answered."""
        self.at("ATE0")

    def of_type(self, kind: type[Event]) -> list[Event]:
        return [s.event for s in self.events if isinstance(s.event, kind)]
