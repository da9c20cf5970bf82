"""8 kHz signed 16-bit mono PCM as `array('h')`, and whole-array helpers on it."""

from __future__ import annotations

import math
import operator
from array import array
from functools import lru_cache

RATE = 8000  # samples per second
FULL_SCALE = 32767
SINE_0DBM0 = 10 ** (-3.14 / 20)  # a 0 dBm0 sine sits 3.14 dB below a full-scale one (G.711)


def amplitude(dbm0: float) -> int:
    """Peak amplitude of a sine at `dbm0`."""
    return round(FULL_SCALE * SINE_0DBM0 * 10 ** (dbm0 / 20))


def samples(seconds: float) -> int:
    """Samples in `seconds`, rounded to the nearest sample."""
    return max(0, round(seconds * RATE))


def silence(n: int) -> array[int]:
    return array("h", bytes(2 * max(n, 0)))


def tile(period: array[int], n: int, offset: int = 0) -> array[int]:
    """`n` samples of a periodic signal given one period, starting `offset` samples in."""
    size = len(period)
    if size == 0 or n <= 0:
        return silence(max(n, 0))
    offset %= size
    rotated = period[offset:] + period[:offset] if offset else period
    whole, rest = divmod(n, size)
    return rotated * whole + rotated[:rest]


def periodic_length(freqs: tuple[int, ...]) -> int:
    """Samples after which a sum of integer-Hz sines repeats exactly at RATE."""
    length = 1
    for f in freqs:
        length = math.lcm(length, RATE // math.gcd(f, RATE))
    return length


def add(a: array[int], b: array[int]) -> array[int]:
    """Sample-wise sum of two tracks (the longer one's tail is kept); clipped to 16 bits."""
    if len(a) < len(b):
        a, b = b, a
    head = array("l", map(operator.add, a, b))
    lo, hi = min(head, default=0), max(head, default=0)
    if lo < -FULL_SCALE - 1 or hi > FULL_SCALE:
        head = array("l", (max(-FULL_SCALE - 1, min(FULL_SCALE, v)) for v in head))
    return array("h", head) + a[len(b) :]


@lru_cache(maxsize=64)
def sine_table(amp: int, turns: int = 1) -> array[int]:
    """`turns` cycles of a sine of peak `amp`, one sample per 1/RATE of a cycle.

    Sample `i` is amp*sin(2*pi*i/RATE); a tone of f Hz (integer) is every f-th sample
    of it, starting at its phase index: phase-continuous FSK and PSK come from slicing.
    """
    step = 2 * math.pi / RATE
    one = array("h", (round(amp * math.sin(i * step)) for i in range(RATE)))
    return one * turns
