"""Tone measurements on PCM: the Goertzel algorithm, one frequency at a time."""

from __future__ import annotations

import math
from array import array
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


def onsets(track: array[int], threshold: int, quiet: int) -> list[int]:
    """Sample indices where sound (|x| > `threshold`) starts after at least `quiet`
    samples without: where clicks and bursts begin."""
    loud = [i for i, x in enumerate(map(abs, track)) if x > threshold]
    return [i for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > quiet]
