"""Tone measurements on PCM: the Goertzel algorithm, one frequency at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence

from modememu.audio.pcm import RATE


def goertzel(block: Sequence[int], freq: float, rate: int = RATE) -> float:
    """The amplitude of `freq` in `block` (a sine of peak A reads about A)."""
    n = len(block)
    if n == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / n


def rms(block: Sequence[int]) -> float:
    return math.sqrt(sum(x * x for x in block) / len(block)) if block else 0.0
