"""From the stamped events of one call to timed signals on each direction of the line.

Two directions: `caller` is what the calling modem sends (DTMF, CM, CJ, its
training and data); `answerer` is what the caller hears back (the exchange's
dial tone, ringback or busy, then ANSam, JM, the answerer's training and data).

Each cue starts a signal on one direction that lasts until the next cue on that
direction (or its own `limit`). The call's times are the events' stamps; the
first event is time zero of the audio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modememu.at.config import Config
from modememu.audio.framing import V21_BAUD, V21_CH1, V21_CH2, cj_bits, v8_message
from modememu.audio.signals import (
    Ansam,
    Cadence,
    Concat,
    Dtmf,
    Fsk,
    Mixed,
    Psk,
    Pulses,
    Signal,
    Silence,
    Tones,
    comb,
    noise_bits,
)
from modememu.events import Stamped
from modememu.modem.dialstring import BREAK_MS, INTERDIGIT_MS, PULSE_MS
from modememu.modem.events import CallEnded, CallProgress, Connected, HandshakeStep

CALLER, ANSWERER = "caller", "answerer"
AUDIO_EVENTS = (CallProgress, HandshakeStep, Connected, CallEnded)  # what a call's sound needs
DIRECTIONS = (CALLER, ANSWERER)
DIAL_TONE = Tones((350, 440), -13.0)
RINGBACK = Cadence(Tones((440, 480), -19.0), 2.0, 4.0)
BUSY = Cadence(Tones((480, 620), -24.0), 0.5, 0.5)
DTMF_DIGITS = "0123456789*#ABCD"


@dataclass(frozen=True, slots=True)
class Cue:
    time: float  # seconds from the start of the audio
    direction: str  # CALLER or ANSWERER
    signal: Signal
    limit: float | None = None  # seconds it lasts at most (else: until the next cue)


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    signal: Signal


@dataclass(frozen=True, slots=True)
class Plan:
    caller: tuple[Segment, ...]
    answerer: tuple[Segment, ...]
    end: float  # seconds of audio
    connect: float | None  # when CONNECT came (the speaker's usual cut-off)
    dialed: float | None = None  # when dialing ended (ATM3 is quiet before it)


@dataclass(frozen=True, slots=True)
class Options:
    dtmf_on: float = 0.070  # S11: tone length, and the same gap after it
    # ATM: 0 off, 1 on until CONNECT, 2 always (data noise after CONNECT), 3 as 1 but
    # quiet while dialing. The tracks of the two directions follow 1 or 2 as well.
    speaker: int = 1
    tail: float = 0.5  # seconds of audio after the last event
    until: float | None = None  # render at least this long (data noise needs speaker 2)


def modem_options(config: Config) -> Options:
    """The options a modem's own settings give its call's sound: S11's DTMF length, ATM."""
    default = Options()
    return Options(
        dtmf_on=config.sregs.get(11, 0) / 1000 or default.dtmf_on,
        speaker=config.settings.get("M", default.speaker),
    )


def data_signal(carrier: str, direction: str, symbol_rate: int | None) -> Signal:
    """A plausible stand-in for `carrier`'s scrambled data on one direction."""
    caller = direction == CALLER
    seed = 11 if caller else 13
    if carrier in ("V34", "V90", "V92") and (caller or carrier == "V34"):
        baud = symbol_rate or 3200
        return Psk(1959 if baud >= 3429 else 1800 if baud <= 2400 else 1920, baud, seed=seed)
    if carrier in ("V90", "V92"):  # PCM downstream: shaped noise
        return Psk(2000, 4000, seed=seed)
    if carrier in ("V22B", "V22", "B212"):
        if caller:
            return Psk(1200, 600, seed=seed)
        data = Psk(2400, 600, seed=seed)
        return data if carrier == "B212" else Mixed((data, Tones((1800,), -18.0)))
    if carrier == "V21":
        mark, space = V21_CH1 if caller else V21_CH2
        return Fsk(noise_bits(3000, seed), mark, space, V21_BAUD, repeat=True)
    if carrier == "B103":
        mark, space = (1270, 1070) if caller else (2225, 2025)
        return Fsk(noise_bits(3000, seed), mark, space, 300, repeat=True)
    if carrier == "V23C":
        if caller:
            return Fsk(noise_bits(750, seed), 390, 450, 75, repeat=True)
        return Fsk(noise_bits(12000, seed), 1300, 2100, 1200, repeat=True)
    return Psk(1800, 2400, seed=seed)


def _dpsk_bits(octets: bytes) -> tuple[int, ...]:
    bits = tuple((o >> i) & 1 for o in octets for i in range(8))
    return tuple(4 if b else 0 for b in bits) or (0,) * 48


def _v34_phase2(carrier: int, octets: bytes) -> Signal:
    """INFO0 (600 bit/s DPSK), tone A or B with a reversal, then the L1/L2 comb."""
    steps = _dpsk_bits(octets)
    info = Psk(carrier, 600, steps=steps, loop=False)
    tone = Psk(carrier, 600, steps=(0,) * 150 + (4,) + (0,) * 449)  # reversal at 0.25 s
    return Concat(((info, len(steps) / 600), (tone, 0.5)), comb())


@dataclass
class _Context:
    carrier: str | None
    symbol_rate: int | None


StepRule = Callable[[HandshakeStep, _Context], list[tuple[str, Signal, float | None]]]


def _both(signal_for: Callable[[str], Signal]) -> list[tuple[str, Signal, float | None]]:
    return [(d, signal_for(d), None) for d in DIRECTIONS]


def _trained(step: HandshakeStep, ctx: _Context) -> list[tuple[str, Signal, float | None]]:
    carrier = ctx.carrier or step.detail.split(" ")[0]
    return _both(lambda d: data_signal(carrier, d, ctx.symbol_rate))


def _one(direction: str, signal: Signal, limit: float | None = None) -> StepRule:
    return lambda step, ctx: [(direction, signal, limit)]


RULES: dict[tuple[str, str], StepRule] = {
    (ANSWERER, "ANSam"): lambda s, c: [(ANSWERER, Ansam(reversals="revers" in s.detail), 5.0)],
    (ANSWERER, "ANS"): lambda s, c: [
        (ANSWERER, Tones((2225 if "2225" in s.detail else 2100,), -12.0), 4.0)
    ],
    (ANSWERER, "no CM"): _one(ANSWERER, Silence()),
    (ANSWERER, "CJ heard"): _one(ANSWERER, Silence()),
    (ANSWERER, "JM"): lambda s, c: [
        (ANSWERER, Fsk(v8_message(s.octets), *V21_CH2, V21_BAUD, repeat=True), None)
    ],
    (CALLER, "CM"): lambda s, c: [
        (CALLER, Fsk(v8_message(s.octets), *V21_CH1, V21_BAUD, repeat=True), None)
    ],
    (CALLER, "CJ"): lambda s, c: [
        (CALLER, Fsk(cj_bits(s.octets or b"\0\0\0"), *V21_CH1, V21_BAUD), None)
    ],
    (ANSWERER, "AC"): _one(ANSWERER, Tones((600, 3000), -12.0)),
    (CALLER, "AA"): _one(CALLER, Tones((1800,), -12.0)),
    (ANSWERER, "USB1"): _one(ANSWERER, Psk(2400, 600, steps=(6,))),  # dibit 11: +270 deg
    (CALLER, "S1"): _one(CALLER, Psk(1200, 600, steps=(2, 6))),  # dibits 00 / 11
    (ANSWERER, "ch2 marks"): _one(ANSWERER, Tones((V21_CH2[0],), -14.0)),
    (CALLER, "ch1 marks"): _one(CALLER, Tones((V21_CH1[0],), -14.0)),
    (CALLER, "marks"): _one(CALLER, Tones((V21_CH1[0],), -14.0)),
    (ANSWERER, "S S-bar TRN"): _one(ANSWERER, Psk(1800, 2400, seed=3)),
    (CALLER, "S S-bar TRN"): _one(CALLER, Psk(1800, 2400, seed=5)),
    (CALLER, "INFO0c"): lambda s, c: [(CALLER, _v34_phase2(1200, s.octets), None)],
    (ANSWERER, "INFO0a"): lambda s, c: [(ANSWERER, _v34_phase2(2400, s.octets), None)],
    (ANSWERER, "INFO1"): lambda s, c: [
        (ANSWERER, data_signal("V34", ANSWERER, c.symbol_rate), None)
    ],
    (CALLER, "MP"): lambda s, c: [(CALLER, data_signal("V34", CALLER, c.symbol_rate), None)],
    (ANSWERER, "MP"): lambda s, c: [(ANSWERER, data_signal("V34", ANSWERER, c.symbol_rate), None)],
    (ANSWERER, "digital impairment learning"): _one(ANSWERER, Psk(2000, 4000, seed=9)),
    (ANSWERER, "trained"): _trained,
}


def _dtmf_cues(t: float, number: str, placed: float | None, opts: Options) -> list[Cue]:
    """Dial tone until the first digit, the digits ending when the call is placed."""
    digits = "".join(c for c in number.upper() if c in DTMF_DIGITS)
    span = len(digits) * 2 * opts.dtmf_on
    if placed is None:
        return [Cue(t, ANSWERER, DIAL_TONE)]
    first = max(t, placed - span)
    cues = [Cue(t, ANSWERER, DIAL_TONE), Cue(first, ANSWERER, Silence())]
    if digits:
        cues.append(Cue(first, CALLER, Dtmf(digits, opts.dtmf_on, opts.dtmf_on), span))
    return cues


def _pulse_cues(t: float, number: str, placed: float | None) -> list[Cue]:
    """Dial tone until the first break, the clicks of the digits ending when the call is
    placed; a rotary line cannot send * # A-D."""
    digits = "".join(c for c in number if c.isdigit())
    clicks = Pulses(digits, PULSE_MS / 1000, BREAK_MS / 1000, INTERDIGIT_MS / 1000)
    if placed is None:
        return [Cue(t, ANSWERER, DIAL_TONE)]
    first = max(t, placed - clicks.seconds)
    cues = [Cue(t, ANSWERER, DIAL_TONE), Cue(first, ANSWERER, Silence())]
    if digits:
        cues.append(Cue(first, CALLER, clicks, clicks.seconds))
    return cues


def _after_character(start: float, t: float) -> float:
    """`t`, or later to the end of the 10-bit character the repeated CM is sending then:
    the caller finishes the current octet before CJ (so no receiver sees half of one)."""
    bit = 1 / V21_BAUD
    chars = math.ceil(round((t - start) / bit, 6) / 10)
    return start + chars * 10 * bit


def _context(events: Sequence[Stamped]) -> _Context:
    carrier = symbol_rate = None
    for s in events:
        e = s.event
        if isinstance(e, Connected) and carrier is None:
            carrier = e.carrier
        elif isinstance(e, HandshakeStep) and e.name == "INFO1" and e.rates:
            symbol_rate = e.rates[0]
    return _Context(carrier, symbol_rate)


def cues(events: Sequence[Stamped], opts: Options, caller_source: str = CALLER) -> list[Cue]:
    """The cues of one call. Call progress and CONNECT come from `caller_source`'s
    events; handshake steps from anyone's (each step once)."""
    ctx = _context(events)
    out: list[Cue] = []
    seen: set[tuple[float, str, str, bytes]] = set()
    mine = [s for s in events if s.source == caller_source]
    t0 = min((s.time for s in events), default=0.0)
    for i, s in enumerate(mine):
        e, t = s.event, s.time - t0
        if isinstance(e, CallProgress):
            if e.step == "dialing":
                placed = next(
                    (
                        p.time - t0
                        for p in mine[i + 1 :]
                        if isinstance(p.event, CallProgress) and p.event.step != "dialing"
                    ),
                    None,
                )
                if e.pulse:
                    out += _pulse_cues(t, e.detail, placed)
                else:
                    out += _dtmf_cues(t, e.detail, placed, opts)
            elif e.step == "ringback":
                out.append(Cue(t, ANSWERER, RINGBACK))
            elif e.step == "busy":
                out.append(Cue(t, ANSWERER, BUSY))
            elif e.step == "answered":
                out += [Cue(t, d, Silence()) for d in DIRECTIONS]
        elif isinstance(e, Connected):
            if opts.speaker < 2:
                out += [Cue(t, d, Silence()) for d in DIRECTIONS]
        elif isinstance(e, CallEnded):
            out += [Cue(t, d, Silence()) for d in DIRECTIONS]
    cm_start: float | None = None
    for s in events:
        e = s.event
        if not isinstance(e, HandshakeStep):
            continue
        key = (e.t, e.by, e.name, e.octets)
        if key in seen:
            continue
        seen.add(key)
        rule = RULES.get((e.by, e.name))
        if rule is None:
            continue
        t = s.time - t0
        if (e.by, e.name) == (CALLER, "CM"):
            cm_start = t
        elif (e.by, e.name) == (CALLER, "CJ") and cm_start is not None:
            t = _after_character(cm_start, t)
        out += [Cue(t, d, sig, lim) for d, sig, lim in rule(e, ctx)]
    return sorted(out, key=lambda c: c.time)  # stable: same-time cues keep their order


def plan(
    events: Sequence[Stamped], opts: Options | None = None, caller_source: str = CALLER
) -> Plan:
    """Segments per direction, back to back in time, and the audio's length."""
    opts = opts or Options()
    all_cues = cues(events, opts, caller_source)
    t0 = min((s.time for s in events), default=0.0)
    last = max((s.time - t0 for s in events), default=0.0)
    end = max(last + opts.tail, opts.until or 0.0)
    connect = next(
        (
            s.time - t0
            for s in events
            if s.source == caller_source and isinstance(s.event, Connected)
        ),
        None,
    )
    dialed = next(
        (
            s.time - t0
            for s in events
            if s.source == caller_source
            and isinstance(s.event, CallProgress)
            and s.event.step != "dialing"
        ),
        None,
    )
    if connect is not None and opts.speaker != 2:
        end = min(end, max(connect + opts.tail, opts.until or 0.0))  # nothing more to hear
    tracks: dict[str, list[Segment]] = {d: [] for d in DIRECTIONS}
    for d in DIRECTIONS:
        mine = [c for c in all_cues if c.direction == d]
        for k, cue in enumerate(mine):
            stop = mine[k + 1].time if k + 1 < len(mine) else end
            if cue.limit is not None:
                stop = min(stop, cue.time + cue.limit)
            if stop > cue.time:
                tracks[d].append(Segment(cue.time, min(stop, end), cue.signal))
    return Plan(tuple(tracks[CALLER]), tuple(tracks[ANSWERER]), end, connect, dialed)
