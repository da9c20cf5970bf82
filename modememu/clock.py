"""One clock protocol, and the virtual clock that jumps straight to the next deadline.

Cores never read a clock: drivers read one of these and pass `now` in. The
virtual clock makes whole sessions run in milliseconds and deterministically;
the asyncio loop's clock (see `drivers.runner.LoopClock`) runs them in real time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What a driver needs from time: read it, and be called back at a deadline."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle: ...


class _VirtualTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Discrete-event time: nothing happens between deadlines, so skip to the next one."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _VirtualTimer]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> _VirtualTimer:
        timer = _VirtualTimer(max(when, self._now), callback)
        heapq.heappush(self._heap, (timer.when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> _VirtualTimer:
        return self.call_at(self._now + delay, callback)

    def next_deadline(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Run the earliest pending timer (moving time to it); False when none is left."""
        if self.next_deadline() is None:
            return False
        when, _, timer = heapq.heappop(self._heap)
        self._now = max(self._now, when)
        timer.callback()
        return True

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, running every timer that falls due on the way."""
        self.run_until(self._now + seconds)

    def run_until(self, when: float) -> None:
        while (deadline := self.next_deadline()) is not None and deadline <= when:
            self.step()
        self._now = max(self._now, when)

    def run(self, limit: float | None = None, max_steps: int = 10_000_000) -> None:
        """Run until no timer is left (or time would pass `limit`)."""
        for _ in range(max_steps):
            deadline = self.next_deadline()
            if deadline is None or (limit is not None and deadline > limit):
                return
            self.step()
        raise RuntimeError("virtual clock: step limit reached (a timer keeps re-arming)")
