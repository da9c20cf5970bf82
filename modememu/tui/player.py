"""Plays a session on the virtual clock in slices, so a monitor can show it unfold.

Idle time (the seconds a handshake waits for a tone) is skipped, as the virtual
clock always skips it; busy stretches are cut into slices of `slice_` seconds
of virtual time, one slice per tick of the app, so a ladder of segments a few
milliseconds apart grows row by row instead of appearing all at once.
"""

from __future__ import annotations

from collections.abc import Callable

from modememu.clock import VirtualClock

MAX_STEPS = 10_000  # per slice: a timer that keeps re-arming at the same time cannot hang the UI


class VirtualPlayer:
    def __init__(
        self,
        clock: VirtualClock,
        done: Callable[[], bool],
        *,
        slice_: float = 0.05,
        limit: float = 900.0,
    ) -> None:
        self.clock = clock
        self.done = done  # the story is over: stop playing on our own
        self.slice = slice_
        self.limit = limit
        self.steps = 0

    @property
    def finished(self) -> bool:
        deadline = self.clock.next_deadline()
        return self.done() or deadline is None or deadline > self.limit

    def play_slice(self) -> int:
        """Run every timer due within `slice_` of the next deadline; the number run."""
        first = self.clock.next_deadline()
        if first is None or self.finished:
            return 0
        until = first + self.slice
        ran = 0
        while ran < MAX_STEPS and not self.done():
            deadline = self.clock.next_deadline()
            if deadline is None or deadline > until or deadline > self.limit:
                break
            self.clock.step()
            ran += 1
        self.steps += ran
        return ran

    def step(self) -> bool:
        """Run the one earliest timer (even after the story is over); False when none is left."""
        deadline = self.clock.next_deadline()
        if deadline is None or deadline > self.limit:
            return False
        self.clock.step()
        self.steps += 1
        return True
