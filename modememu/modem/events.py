"""Events of the modem core: what a monitor shows about the DTE side of a modem."""

from __future__ import annotations

from dataclasses import dataclass

from modememu.events import Event


@dataclass(frozen=True, slots=True)
class ModemEvent(Event):
    pass


@dataclass(frozen=True, slots=True)
class CommandLine(ModemEvent):
    """A command line the modem ran (as typed after AT, upper-cased)."""

    text: str


@dataclass(frozen=True, slots=True)
class ResultCode(ModemEvent):
    text: str
    code: int
    shown: bool  # False under Q1: decided but not sent


@dataclass(frozen=True, slots=True)
class ParityDetected(ModemEvent):
    """The DTE's character format as read from the bits of its "AT"."""

    parity: str  # N E O M S


@dataclass(frozen=True, slots=True)
class ModemLinesChanged(ModemEvent):
    """The modem's outputs to the DTE (RS-232 circuits 106, 107, 109, 125)."""

    cts: bool
    dsr: bool
    dcd: bool
    ri: bool


@dataclass(frozen=True, slots=True)
class DteLinesChanged(ModemEvent):
    """The DTE's outputs as the modem sees them (circuits 105 and 108/2)."""

    dtr: bool
    rts: bool


@dataclass(frozen=True, slots=True)
class DteFormatChanged(ModemEvent):
    """The DTE's speed and framing: set by the port, by +IPR/+ICF, or detected."""

    rate: int
    framing: str  # e.g. "8N1", "7E1"


@dataclass(frozen=True, slots=True)
class FlowControlChanged(ModemEvent):
    rtscts: bool
    xonxoff: bool


@dataclass(frozen=True, slots=True)
class StoredStateChanged(ModemEvent):
    """NVRAM changed (&W, &Y, &Z): the driver may persist `state` as JSON."""

    state: dict[str, object]


@dataclass(frozen=True, slots=True)
class ModeChanged(ModemEvent):
    mode: str


@dataclass(frozen=True, slots=True)
class HookChanged(ModemEvent):
    off_hook: bool


@dataclass(frozen=True, slots=True)
class Ringing(ModemEvent):
    """A ring arrived (RING sent unless quiet); `count` is S1."""

    caller: str
    count: int


@dataclass(frozen=True, slots=True)
class CallProgress(ModemEvent):
    """A step of setting up a call: dialing, placed, ringback, busy, answered, training.

    `pulse` is for "dialing": the digits go out as rotary pulses (ATDP), not DTMF.
    """

    step: str
    detail: str = ""
    pulse: bool = False


@dataclass(frozen=True, slots=True)
class Connected(ModemEvent):
    carrier: str
    tx_rate: int
    rx_rate: int
    error_control: str | None  # "LAPM", "MNP" or None
    compression: str | None = None  # "V42B", "MNP5" or None


@dataclass(frozen=True, slots=True)
class HandshakeStep(ModemEvent):
    """One signal or decision of the line handshake, `t` seconds after the answer.

    `by` is "caller" or "answerer"; `octets` holds CM/JM/CJ/ODP octets or packed
    INFO0/MP bits, `word` a V.32bis rate word, `rates` the bit/s numbers at stake.
    """

    t: float
    by: str
    name: str
    detail: str = ""
    octets: bytes = b""
    word: int | None = None
    rates: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Retrained(ModemEvent):
    """The line changed mid-call and the link trained again (fall back or forward)."""

    carrier: str
    tx_rate: int
    rx_rate: int
    old_tx_rate: int
    old_rx_rate: int


@dataclass(frozen=True, slots=True)
class CallEnded(ModemEvent):
    """The call is over; `reason` says who or what ended it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Escaped(ModemEvent):
    """The guard-time escape worked: online command mode."""


@dataclass(frozen=True, slots=True)
class DataLost(ModemEvent):
    """Bytes dropped because a buffer was full and nothing held the sender back.

    `direction` is "from-dte" (the DTE overran the modem) or "to-dte" (the line
    overran the modem's buffer toward a DTE that was not taking it).
    """

    direction: str
    count: int
    total: int
