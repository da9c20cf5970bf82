"""The line side of a modem: what it signals to the exchange and hears back.

A modem does not know what is at the far end of its line: another emulated
modem, a built-in service behind an answering modem, or a modem in another
modememu process over a TCP trunk. It only sends `LineRequest`s and receives
`LineSignal`s. Each end learns the other's `LineCaps` and the `LineQuality` of
the line from the exchange, and both run the same handshake
(`vseries.handshake.negotiate`) to reach the same link.
"""

from __future__ import annotations

from dataclasses import dataclass

from modememu.modem.dialstring import DialPlan
from modememu.vseries.handshake import DEFAULT_LINE, Agreement, LineCaps, LineQuality

__all__ = ["LineCaps", "LineQuality"]  # they live with the handshake; the exchange uses them here

# Ring cadence (North American): 2 s of ring, 4 s of silence.
RING_ON = 2.0
RING_PERIOD = 6.0
RING_COUNT_CLEAR = 8.0  # S1 returns to 0 this long after the last ring


@dataclass(frozen=True, slots=True)
class Link:
    """What training settled, as this end sees it."""

    carrier: str
    tx_rate: int
    rx_rate: int
    error_control: str | None = None  # "LAPM", "MNP" or None
    compression: str | None = None  # "V42B", "MNP5" or None
    symbol_rate: int | None = None

    @property
    def rate(self) -> int:
        """The rate a modem reports: what it receives."""
        return self.rx_rate

    @classmethod
    def seen_from(cls, agreement: Agreement, originate: bool) -> Link:
        tx, rx = agreement.rates(originate)
        return cls(
            agreement.carrier,
            tx,
            rx,
            agreement.error_control,
            agreement.compression,
            agreement.symbol_rate,
        )


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
    line: LineQuality = DEFAULT_LINE


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
    line: LineQuality = DEFAULT_LINE


@dataclass(frozen=True, slots=True)
class LineChanged(LineSignal):
    """The line got better or worse mid-call: the modems retrain (or lose carrier)."""

    line: LineQuality


@dataclass(frozen=True, slots=True)
class Released(LineSignal):
    """The far end hung up, or the caller gave up, or the line dropped."""
