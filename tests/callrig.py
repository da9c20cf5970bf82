"""Modems on one exchange on the virtual clock, with scripted DTEs, for call tests."""

from __future__ import annotations

from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World
from modememu.events import Event, EventBus, Stamped
from modememu.modem.modem import Mode, ModemLines
from modememu.phonebook import Phonebook
from modememu.profiles import load_profile


class Station:
    """One modem and the DTE typing at it."""

    def __init__(self, rig: Rig, host: ModemHost) -> None:
        self.rig = rig
        self.host = host
        self.modem = host.modem
        self.received = bytearray()
        host.attach(self.received.extend)

    def send(self, data: bytes) -> None:
        self.host.from_dte(data)

    def at(self, line: str) -> None:
        self.send(line.encode("latin-1") + b"\r")

    def take(self) -> bytes:
        data = bytes(self.received)
        self.received.clear()
        return data

    def wait_for(self, text: bytes, limit: float = 120.0) -> float:
        """Run the clock until `text` has arrived at this DTE; the virtual time it did."""
        clock = self.rig.clock
        end = clock.now() + limit
        while text not in self.received:
            deadline = clock.next_deadline()
            if deadline is None or deadline > end:
                raise AssertionError(
                    f"{text!r} did not arrive by t={end:.2f}; got {bytes(self.received)!r}"
                )
            clock.step()
        return clock.now()

    def events(self, kind: type[Event]) -> list[Event]:
        return self.rig.events_of(kind, self.host.name)


class Rig:
    def __init__(self, phonebook: Phonebook | None = None, *, pacing: bool = True) -> None:
        self.clock = VirtualClock()
        self.bus = EventBus()
        self.stamped: list[Stamped] = []
        self.bus.subscribe(self.stamped.append)
        self.world = World(self.clock, self.bus, phonebook=phonebook, pacing=pacing)

    def station(
        self, name: str, number: str = "", profile: str = "usr-courier-v34"
    ) -> Station:
        host = ModemHost(
            load_profile(profile),
            self.clock,
            self.bus,
            name=name,
            number=number,
            pacing=self.world.pacing,
        )
        self.world.add(host)
        return Station(self, host)

    def run(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def events_of(self, kind: type[Event], source: str | None = None) -> list[Event]:
        return [
            s.event
            for s in self.stamped
            if isinstance(s.event, kind) and (source is None or s.source == source)
        ]

    def times_of(self, kind: type[Event], source: str | None = None) -> list[float]:
        return [
            s.time
            for s in self.stamped
            if isinstance(s.event, kind) and (source is None or s.source == source)
        ]


# Functions rather than attribute reads, so mypy does not narrow a line's state across the
# calls that change it.
def lines(station: Station) -> ModemLines:
    return station.modem.lines


def mode(station: Station) -> Mode:
    return station.modem.mode
