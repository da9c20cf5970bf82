"""`modememu call`: one negotiation between two emulated modems on the virtual clock.

A caller modem dials an answerer modem (ATS0=1) through an exchange whose
phonebook gives the call the asked-for line; the clock runs until both are
online or the call has failed. `run_call` returns a `CallResult` that tests and
the TUI use as is; `format_text` and `CallResult.to_json` are what the CLI prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from modememu.at.connect import NO_CODE
from modememu.audio.render import Rendered, render_call
from modememu.audio.schedule import Options as AudioOptions
from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.modem.events import CallProgress, Connected, HandshakeStep, ResultCode
from modememu.phonebook import Entry, Phonebook
from modememu.profiles import load_profile
from modememu.vseries.handshake import DEFAULT_SNR_DB

CALLER, ANSWERER = "caller", "answerer"
CALLER_NUMBER, ANSWERER_NUMBER = "5551001", "5551002"
TIME_LIMIT = 120.0  # virtual seconds from dialing
COMMAND_LIMIT = 10.0  # virtual seconds for an init command to answer
FAILURES = frozenset({"NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER", "ERROR"})


class CallSetupError(Exception):
    """An init command the modem refused; str() is one line."""


@dataclass(frozen=True, slots=True)
class CallResult:
    """What one call did. `result` is "CONNECT" or the caller's final result text."""

    caller: str  # profile names
    answerer: str
    snr_db: float
    latency_ms: float
    result: str
    events: tuple[HandshakeStep, ...]  # the handshake as the caller's modem replayed it
    modulation: str | None = None
    tx_rate: int | None = None  # caller -> answerer, bit/s
    rx_rate: int | None = None  # answerer -> caller
    error_control: str | None = None
    compression: str | None = None
    symbol_rate: int | None = None
    caller_connect: tuple[str, ...] = ()  # result lines as printed, CONNECT last
    answerer_connect: tuple[str, ...] = ()
    connect_seconds: float | None = None  # from the answer to the caller's CONNECT
    # Both modems' events, for the audio; S11 (DTMF ms) and M (speaker) of the caller.
    stamped: tuple[Stamped, ...] = field(default=(), repr=False, compare=False)
    dtmf_ms: int = 70
    speaker: int = 1

    @property
    def connected(self) -> bool:
        return self.result == "CONNECT"

    def to_json(self) -> dict[str, object]:
        return {
            "result": self.result,
            "caller": self.caller,
            "answerer": self.answerer,
            "snr_db": self.snr_db,
            "latency_ms": self.latency_ms,
            "modulation": self.modulation,
            "tx_rate": self.tx_rate,
            "rx_rate": self.rx_rate,
            "error_control": self.error_control,
            "compression": self.compression,
            "symbol_rate": self.symbol_rate,
            "caller_connect": list(self.caller_connect),
            "answerer_connect": list(self.answerer_connect),
            "connect_seconds": self.connect_seconds,
            "events": [
                {
                    "t": e.t,
                    "by": e.by,
                    "name": e.name,
                    "detail": e.detail,
                    "octets": e.octets.hex(),
                    "word": e.word,
                    "rates": list(e.rates),
                }
                for e in self.events
            ],
        }


class _Side:
    """One modem of the call and everything its core published."""

    def __init__(self, world: World, name: str, number: str, profile: str) -> None:
        self.host = world.add(
            ModemHost(load_profile(profile), world.clock, world.bus, name=name, number=number)
        )
        self.host.attach(lambda data: None)  # a DTE that reads everything
        self.stamped: list[Stamped] = []
        world.bus.subscribe(self.stamped.append, source=name)

    def results(self) -> list[ResultCode]:
        return [s.event for s in self.stamped if isinstance(s.event, ResultCode)]

    def first(self, kind: type, step: str = "") -> Stamped | None:
        """The first event of `kind` (a CallProgress: of that `step`)."""
        for s in self.stamped:
            if isinstance(s.event, kind) and getattr(s.event, "step", step) == step:
                return s
        return None

    def connect_lines(self) -> tuple[str, ...]:
        """The result lines from the CONNECT report, as the DTE saw them (V0: codes)."""
        start = next(i for i, s in enumerate(self.stamped) if isinstance(s.event, Connected))
        verbose = bool(self.host.modem.engine.setting("V"))
        lines: list[str] = []
        for s in self.stamped[start:]:
            if isinstance(s.event, ResultCode):
                rc = s.event
                if rc.shown:
                    lines.append(rc.text if verbose or rc.code == NO_CODE else str(rc.code))
                if rc.text.startswith("CONNECT"):
                    break
        return tuple(lines)


def _command(side: _Side, clock: VirtualClock, line: str) -> None:
    """Type one AT command line and run the clock until its final result."""
    if not line.upper().startswith("AT"):
        line = "AT" + line
    before = len(side.results())
    side.host.from_dte(line.encode("latin-1", "replace") + b"\r")
    end = clock.now() + COMMAND_LIMIT
    while len(side.results()) == before:
        deadline = clock.next_deadline()
        if deadline is None or deadline > end:
            raise CallSetupError(f"{side.host.name}: no answer to {line!r}")
        clock.step()
    text = side.results()[before].text
    if text == "ERROR":
        raise CallSetupError(f"{side.host.name}: {line!r} answered ERROR")


def run_call(
    caller: str,
    answerer: str,
    *,
    snr_db: float | None = None,
    latency_ms: float = 0.0,
    caller_init: Sequence[str] = (),
    answerer_init: Sequence[str] = (),
    limit: float = TIME_LIMIT,
) -> CallResult:
    """Dial `answerer` (a profile name or file) from `caller` and let them negotiate.

    `snr_db` None is the default line. Raises `ProfileError` for a bad profile and
    `CallSetupError` when an init command answers ERROR.
    """
    clock, bus = VirtualClock(), EventBus()
    line = Entry(
        ANSWERER_NUMBER, "modem", modem=ANSWERER_NUMBER, snr_db=snr_db, latency_ms=latency_ms
    )
    world = World(clock, bus, phonebook=Phonebook({ANSWERER_NUMBER: line}))
    a = _Side(world, CALLER, CALLER_NUMBER, caller)
    b = _Side(world, ANSWERER, ANSWERER_NUMBER, answerer)
    for side, commands in ((a, caller_init), (b, answerer_init)):
        for command in commands:
            _command(side, clock, command)
    _command(b, clock, "ATS0=1")
    dialed = len(a.results())
    a.host.from_dte(f"ATDT{ANSWERER_NUMBER}\r".encode())
    end = clock.now() + limit
    result = f"no result within {limit:g} s"
    while True:
        failed = [r.text for r in a.results()[dialed:] if r.text in FAILURES]
        if failed:
            result = failed[0]
            break
        if a.first(Connected) and b.first(Connected):
            result = "CONNECT"
            break
        deadline = clock.next_deadline()
        if deadline is None or deadline > end:
            break
        clock.step()

    base = CallResult(
        caller=a.host.modem.profile.name,
        answerer=b.host.modem.profile.name,
        snr_db=snr_db if snr_db is not None else DEFAULT_SNR_DB,
        latency_ms=latency_ms,
        result=result,
        events=tuple(s.event for s in a.stamped if isinstance(s.event, HandshakeStep)),
        stamped=tuple(sorted(a.stamped + b.stamped, key=lambda s: s.time)),
        dtmf_ms=a.host.modem.engine.sreg(11) or 95,
        speaker=a.host.modem.engine.config.settings.get("M", 1),
    )
    link, connected = a.host.modem.link, a.first(Connected)
    if result != "CONNECT" or link is None or connected is None:
        return base
    answered = a.first(CallProgress, "answered")
    return replace(
        base,
        modulation=link.carrier,
        tx_rate=link.tx_rate,
        rx_rate=link.rx_rate,
        error_control=link.error_control,
        compression=link.compression,
        symbol_rate=link.symbol_rate,
        caller_connect=a.connect_lines(),
        answerer_connect=b.connect_lines(),
        connect_seconds=None if answered is None else round(connected.time - answered.time, 4),
    )


def call_audio(
    result: CallResult, *, speaker: int | None = None, until: float | None = None
) -> Rendered:
    """The sound of the call: the caller's line, the answerer's and the speaker's mix.

    `speaker` overrides the caller's ATM setting; `until` renders at least that long.
    """
    opts = AudioOptions(
        dtmf_on=result.dtmf_ms / 1000,
        speaker=result.speaker if speaker is None else speaker,
        until=until,
    )
    return render_call(result.stamped, opts, caller_source=CALLER)


def _numbers(step: HandshakeStep) -> str:
    parts = []
    if step.octets:
        parts.append("octets " + step.octets.hex(" ").upper())
    if step.word is not None:
        parts.append(f"word 0x{step.word:04X}")
    if step.rates:
        parts.append("rates " + "/".join(str(r) for r in step.rates))
    return "  ".join(parts)


def format_text(result: CallResult) -> str:
    """The timeline and a summary, for people."""
    out = [
        f"{result.caller} -> {result.answerer}, SNR {result.snr_db:g} dB, "
        f"latency {result.latency_ms:g} ms",
        "",
    ]
    for e in result.events:
        row = f"{e.t:8.3f}  {e.by:<8}  {e.name:<12}  {e.detail}"
        numbers = _numbers(e)
        out.append(f"{row}  [{numbers}]".rstrip() if numbers else row.rstrip())
    out.append("")
    if not result.connected:
        out.append(f"result       {result.result}")
        return "\n".join(out) + "\n"
    symbols = f" at {result.symbol_rate} Bd" if result.symbol_rate else ""
    out += [
        f"modulation   {result.modulation}{symbols}",
        f"rates        caller->answerer {result.tx_rate}, answerer->caller {result.rx_rate}",
        f"error ctrl   {result.error_control or 'none'}",
        f"compression  {result.compression or 'none'}",
    ]
    if result.connect_seconds is not None:
        out.append(f"connect      {result.connect_seconds:.2f} s after the answer")
    for who, lines in (("caller", result.caller_connect), ("answerer", result.answerer_connect)):
        out += [f"{who:<12} {line}" for line in lines] or [f"{who:<12} (nothing shown)"]
    return "\n".join(out) + "\n"
