"""The line side of a modem: what it signals to the exchange and hears back.

A modem does not know what is at the far end of its line: another emulated
modem, a built-in service behind an answering modem, or a modem in another
modememu process over a TCP trunk. It only sends `LineRequest`s and receives
`LineSignal`s, and both ends of a call agree on the link from each other's
`LineCaps` with `agree()`. The line issue replaces `agree()` and the training
times with real V.8 negotiation; the vocabulary here stays.
"""

from __future__ import annotations

from dataclasses import dataclass

from modememu.modem.dialstring import DialPlan
from modememu.profiles import CARRIERS

# The fastest rate each carrier runs at (bit/s); V.90/V.92 only with a digital far end.
CARRIER_MAX_RATE: dict[str, int] = {
    "B103": 300,
    "V21": 300,
    "V23C": 1200,
    "B212": 1200,
    "V22": 1200,
    "V22B": 2400,
    "V32": 9600,
    "V32B": 14400,
    "V34": 33600,
    "V90": 56000,
    "V92": 56000,
}
DIGITAL_CARRIERS = frozenset({"V90", "V92"})

# Seconds from answer to CONNECT, roughly what each family of handshakes takes.
TRAINING_SECONDS: dict[str, float] = {
    "B103": 1.0,
    "V21": 1.0,
    "V23C": 1.5,
    "B212": 1.5,
    "V22": 2.0,
    "V22B": 3.0,
    "V32": 5.0,
    "V32B": 5.5,
    "V34": 8.0,
    "V90": 10.0,
    "V92": 10.0,
}

# Ring cadence (North American): 2 s of ring, 4 s of silence.
RING_ON = 2.0
RING_PERIOD = 6.0
RING_COUNT_CLEAR = 8.0  # S1 returns to 0 this long after the last ring


@dataclass(frozen=True, slots=True)
class LineCaps:
    """What one end's modem offers for the call."""

    modulations: tuple[str, ...]
    max_rate: int
    error_control: bool
    digital: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "modulations": list(self.modulations),
            "max_rate": self.max_rate,
            "error_control": self.error_control,
            "digital": self.digital,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LineCaps | None:
        """Caps from a trunk frame; None when the far side sent nonsense."""
        mods, rate = data.get("modulations"), data.get("max_rate")
        if not isinstance(mods, list) or not isinstance(rate, int):
            return None
        known = tuple(m for m in mods if isinstance(m, str) and m in CARRIERS)
        return cls(known, rate, bool(data.get("error_control")), bool(data.get("digital")))


@dataclass(frozen=True, slots=True)
class Link:
    """What training settled: the carrier, the rate and whether V.42 runs."""

    carrier: str
    rate: int
    error_control: bool

    @property
    def bytes_per_second(self) -> float:
        """Payload rate: async framing costs 10 bits a byte, V.42's sync frames about 8."""
        return self.rate / (8 if self.error_control else 10)


def agree(a: LineCaps, b: LineCaps) -> Link | None:
    """The best link both ends share (symmetric), or None when they share no carrier."""
    common = [m for m in CARRIERS if m in a.modulations and m in b.modulations]
    if not a.digital and not b.digital:
        common = [m for m in common if m not in DIGITAL_CARRIERS]
    if not common:
        return None
    carrier = common[-1]
    rate = min(a.max_rate, b.max_rate, CARRIER_MAX_RATE[carrier])
    return Link(carrier, rate, a.error_control and b.error_control)


# ----- what the modem asks of its line -----


@dataclass(frozen=True, slots=True)
class LineRequest:
    pass


@dataclass(frozen=True, slots=True)
class PlaceCall(LineRequest):
    """Dialing is done: connect this number or host."""

    plan: DialPlan
    caps: LineCaps


@dataclass(frozen=True, slots=True)
class AcceptCall(LineRequest):
    """We answered the call that is ringing."""

    caps: LineCaps


@dataclass(frozen=True, slots=True)
class RejectCall(LineRequest):
    """We will not take the call that arrived: "busy" (a call is up) or "dtr" (&D2, DTR off)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Release(LineRequest):
    """We went on-hook: the call, if any, is over."""


# ----- what the line tells the modem -----


@dataclass(frozen=True, slots=True)
class LineSignal:
    pass


@dataclass(frozen=True, slots=True)
class Incoming(LineSignal):
    """A call arrives: the modem rings."""

    caller: str
    caps: LineCaps


@dataclass(frozen=True, slots=True)
class Ringback(LineSignal):
    """The far end is ringing."""


@dataclass(frozen=True, slots=True)
class Busy(LineSignal):
    pass


@dataclass(frozen=True, slots=True)
class NoDialtone(LineSignal):
    """Nothing to dial into (a host name that does not resolve)."""


@dataclass(frozen=True, slots=True)
class Answered(LineSignal):
    """The far end went off-hook; `caps` None means it never sends a carrier."""

    caps: LineCaps | None


@dataclass(frozen=True, slots=True)
class Released(LineSignal):
    """The far end hung up, or the caller gave up, or the line dropped."""
