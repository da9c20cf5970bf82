"""The Hayes guard-time escape (`+++`), at-commands.md §4.8.

Every online DTE chunk passes through here with its arrival time; the bytes
themselves are always forwarded by the caller. Three S2 characters escape only
with a full guard time of silence before the first and after the third, each
within a guard time of the one before. A chunk carries one arrival time for all
its bytes, so a plus inside a chunk with other bytes is never a candidate.
"""

from __future__ import annotations


class EscapeDetector:
    def __init__(self) -> None:
        self._last = float("-inf")  # when the last DTE byte arrived
        self._count = 0  # S2 characters in the current candidate
        self._deadline: float | None = None

    def reset(self, now: float) -> None:
        """Going online: the line counts as silent from now on."""
        self._last = now
        self._count = 0
        self._deadline = None

    @property
    def deadline(self) -> float | None:
        """When the escape completes if nothing else arrives (after the third S2)."""
        return self._deadline

    def feed(self, data: bytes, now: float, *, s2: int, s12: int) -> None:
        if not data:
            return
        if s2 > 127:  # escape disabled
            self._last = now
            return
        guard = s12 * 0.02
        plus = bytes((s2,))
        gap = now - self._last
        self._last = now
        self._deadline = None
        if data.count(plus) != len(data):
            self._count = 0
            return
        if self._count and s12 and gap >= guard:
            self._count = 0  # too slow for this candidate; the plus may start the next
        if self._count == 0 and s12 and gap < guard:
            return  # no silence before the first plus
        self._count += len(data)
        if self._count > 3:
            self._count = 0
        elif self._count == 3:
            self._deadline = now + guard

    def check(self, now: float) -> bool:
        """True once the guard time after the third S2 has passed in silence."""
        if self._deadline is None or now < self._deadline:
            return False
        self._deadline = None
        self._count = 0
        return True
