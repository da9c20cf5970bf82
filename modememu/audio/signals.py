"""Signal generators: each one renders `n` samples of itself from its own start.

Built on whole-array work: one period of a steady tone is computed and tiled,
FSK and PSK slice a precomputed sine table (every f-th entry is a tone of f Hz),
noise-like training is one second of symbols tiled. No per-sample Python loop
runs longer than one period or one second of signal.
"""

from __future__ import annotations

import itertools
import math
import random
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from modememu.audio.pcm import (
    RATE,
    add,
    amplitude,
    periodic_length,
    samples,
    silence,
    sine_table,
    tile,
)


class Signal(Protocol):
    def render(self, n: int) -> array[int]:
        """The first `n` samples of the signal."""
        ...


@dataclass(frozen=True, slots=True)
class Silence:
    def render(self, n: int) -> array[int]:
        return silence(n)


@dataclass(frozen=True, slots=True)
class Tones:
    """Steady sines of integer frequencies, each at `dbm0`."""

    freqs: tuple[int, ...]
    dbm0: float = -13.0
    phases: tuple[float, ...] = ()  # radians, one per tone (default 0)

    def render(self, n: int) -> array[int]:
        amp = amplitude(self.dbm0)
        count = min(periodic_length(self.freqs), n)
        w = [2 * math.pi * f / RATE for f in self.freqs]
        ph = self.phases or (0.0,) * len(w)
        one = array(
            "h",
            (
                round(sum(amp * math.sin(x * i + p) for x, p in zip(w, ph, strict=True)))
                for i in range(count)
            ),
        )
        return tile(one, n)


@dataclass(frozen=True, slots=True)
class Cadence:
    """`signal` switched on for `on` seconds and off for `off` seconds, repeated."""

    signal: Signal
    on: float
    off: float

    def render(self, n: int) -> array[int]:
        period = self.signal.render(samples(self.on)) + silence(samples(self.off))
        return tile(period, n)


@dataclass(frozen=True, slots=True)
class Concat:
    """Fixed-length `parts` (signal, seconds) one after another, then `rest` for ever."""

    parts: tuple[tuple[Signal, float], ...]
    rest: Signal = Silence()

    def render(self, n: int) -> array[int]:
        out = array("h")
        for signal, seconds in self.parts:
            take = min(samples(seconds), n - len(out))
            out += signal.render(take)
        return out + self.rest.render(n - len(out))


@dataclass(frozen=True, slots=True)
class Mixed:
    """Signals sounding together."""

    parts: tuple[Signal, ...]

    def render(self, n: int) -> array[int]:
        out = silence(n)
        for part in self.parts:
            out = add(out, part.render(n))
        return out


DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLS = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf_pair(digit: str) -> tuple[int, int]:
    """The (row, column) frequencies of a DTMF key."""
    for row, keys in zip(DTMF_ROWS, DTMF_KEYS, strict=True):
        at = keys.find(digit.upper())
        if at >= 0:
            return row, DTMF_COLS[at]
    raise ValueError(f"not a DTMF key: {digit!r}")


@dataclass(frozen=True, slots=True)
class Dtmf:
    """Each digit as its row+column pair for `on` seconds, then `off` seconds of silence."""

    digits: str
    on: float = 0.070
    off: float = 0.070
    dbm0: float = -10.0

    def render(self, n: int) -> array[int]:
        out = array("h")
        for digit in self.digits:
            out += Tones(dtmf_pair(digit), self.dbm0).render(samples(self.on))
            out += silence(samples(self.off))
        return out[:n] + silence(n - len(out))


@lru_cache(maxsize=8)
def click(peak: int, ms: float = 5.0) -> array[int]:
    """The transient of the loop current switching: a damped 1200 Hz ring from `peak`."""
    n = samples(ms / 1000)
    w = 2 * math.pi * 1200 / RATE
    return array("h", (round(peak * math.exp(-i / 8) * math.cos(w * i)) for i in range(n)))


@dataclass(frozen=True, slots=True)
class Pulses:
    """Rotary (loop-disconnect) dialing: per digit N (0 is ten), N pulses of `pulse`
    seconds, each a `brk`-second break then a make, a click at each edge; then `pause`."""

    digits: str
    pulse: float = 0.100
    brk: float = 0.060
    pause: float = 0.700
    dbm0: float = -6.0

    @property
    def seconds(self) -> float:
        return sum(pulse_count(d) * self.pulse + self.pause for d in self.digits)

    def edges(self) -> list[tuple[float, bool]]:
        """(seconds from the start, True for a break / False for a make) of every click."""
        out: list[tuple[float, bool]] = []
        t = 0.0
        for digit in self.digits:
            for k in range(pulse_count(digit)):
                out += [(t + k * self.pulse, True), (t + k * self.pulse + self.brk, False)]
            t += pulse_count(digit) * self.pulse + self.pause
        return out

    def render(self, n: int) -> array[int]:
        out = silence(n)
        peak = amplitude(self.dbm0)
        opening, closing = click(peak), click(-round(peak * 0.7))
        for t, brk in self.edges():
            at = samples(t)
            shape = opening if brk else closing
            take = min(len(shape), n - at)
            if take > 0:
                out[at : at + take] = shape[:take]
        return out


def pulse_count(digit: str) -> int:
    """Pulses a rotary dial sends for `digit`: its value, ten for 0."""
    return int(digit) or 10


@dataclass(frozen=True, slots=True)
class Ansam:
    """2100 Hz amplitude-modulated by 15 Hz (0.8..1.2 of the mean); with `reversals`,
    the 2100 Hz phase flips by 180 degrees every 450 ms (ANSam/)."""

    reversals: bool = True
    dbm0: float = -12.0
    carrier: int = 2100
    am: int = 15
    depth: float = 0.2
    reversal_s: float = 0.450

    def render(self, n: int) -> array[int]:
        amp = amplitude(self.dbm0)
        count = min(periodic_length((self.carrier, self.am)), n)
        wc, wa = 2 * math.pi * self.carrier / RATE, 2 * math.pi * self.am / RATE
        up = array(
            "h",
            (
                round(
                    amp * (1 + self.depth * math.sin(wa * i)) / (1 + self.depth) * math.sin(wc * i)
                )
                for i in range(count)
            ),
        )
        plain = tile(up, n)
        if not self.reversals:
            return plain
        flipped = tile(array("h", (-v for v in up)), n)
        step = samples(self.reversal_s)
        out = array("h")
        for k, start in enumerate(range(0, n, step)):
            out += (flipped if k % 2 else plain)[start : start + step]
        return out


def bit_edges(count: int, baud: float, start: int = 0) -> list[int]:
    """Sample indices of the edges of `count` symbols at `baud` (count + 1 of them)."""
    return [round((start + k) * RATE / baud) - round(start * RATE / baud) for k in range(count + 1)]


@dataclass(frozen=True, slots=True)
class Fsk:
    """Phase-continuous binary FSK of `bits` (1 = mark); `repeat` sends them again and again."""

    bits: tuple[int, ...]
    mark: int
    space: int
    baud: float = 300.0
    dbm0: float = -14.0
    repeat: bool = False

    def render(self, n: int) -> array[int]:
        if not self.bits:
            return silence(n)
        per_bit = RATE / self.baud
        needed = math.ceil(n / per_bit) if self.repeat else len(self.bits)
        copies = -(-needed // len(self.bits))
        bits = (self.bits * copies)[:needed]
        edges = bit_edges(len(bits), self.baud)
        top = max(self.mark, self.space) * (math.ceil(per_bit) + 1)
        table = sine_table(amplitude(self.dbm0), top // RATE + 2)
        out = array("h")
        phase = 0
        for k, bit in enumerate(bits):
            f = self.mark if bit else self.space
            length = edges[k + 1] - edges[k]
            out += table[phase : phase + f * length : f]
            phase = (phase + f * length) % RATE
        return out[:n] + silence(n - len(out))


@dataclass(frozen=True, slots=True)
class Psk:
    """Phase-shift keying on `carrier`: each symbol turns the phase by the next of `steps`
    (in eighths of a cycle, cycled); without `steps`, random 8-phase symbols on two
    amplitude levels: the noise-like sound of scrambled QAM training and data."""

    carrier: int
    baud: int
    dbm0: float = -12.0
    steps: tuple[int, ...] = ()
    seed: int = 1
    loop: bool = True  # render one second and tile it

    def render(self, n: int) -> array[int]:
        if n <= 0:
            return array("h")
        symbols = self.baud if self.loop else math.ceil(n * self.baud / RATE)
        edges = bit_edges(symbols, self.baud)
        longest = max(b - a for a, b in itertools.pairwise(edges))
        turns = self.carrier * (longest + 1) // RATE + 2
        amp = amplitude(self.dbm0)
        tables = [sine_table(amp, turns), sine_table(round(amp * 0.55), turns)]
        rng = random.Random(self.seed)
        f = self.carrier
        out = array("h")
        phase = offset = 0
        for k in range(symbols):
            if self.steps:
                offset = (offset + self.steps[k % len(self.steps)] * RATE // 8) % RATE
                table = tables[0]
            else:
                offset = rng.randrange(8) * RATE // 8
                table = tables[rng.randrange(2)]
            length = edges[k + 1] - edges[k]
            start = (phase + offset) % RATE
            out += table[start : start + f * length : f]
            phase = (phase + f * length) % RATE
        return tile(out, n) if self.loop else out[:n] + silence(n - len(out))


def comb(dbm0: float = -12.0) -> Tones:
    """V.34 line probing L1/L2: tones at multiples of 150 Hz from 150 to 3750 Hz,
    less 900, 1200, 1800 and 2400 Hz (21 tones), at `dbm0` in all."""
    freqs = tuple(f for f in range(150, 3751, 150) if f not in (900, 1200, 1800, 2400))
    n = len(freqs)
    schroeder = tuple(math.pi * k * k / n for k in range(n))  # keeps the peaks low
    return Tones(freqs, dbm0 - 10 * math.log10(n), schroeder)


def noise_bits(count: int, seed: int = 7) -> tuple[int, ...]:
    """`count` pseudo-random bits: the sound of scrambled data."""
    rng = random.Random(seed)
    return tuple(rng.getrandbits(1) for _ in range(count))
