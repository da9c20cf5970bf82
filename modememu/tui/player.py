"""Plays a story in slices, so a monitor can show it unfold: a session on the
virtual clock (`VirtualPlayer`) or a recorded event log (`ReplayPlayer`).

Idle time (the seconds a handshake waits for a tone) is skipped, as the virtual
clock always skips it; busy stretches are cut into slices of `slice_` seconds
of virtual time, one slice per tick of the app, so a ladder of segments a few
milliseconds apart grows row by row instead of appearing all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from modememu.clock import VirtualClock
from modememu.events import Stamped

MAX_STEPS = 10_000  # per slice: a timer that keeps re-arming at the same time cannot hang the UI


class Player(Protocol):
    """What the monitor asks of whatever moves its story's time on."""

    steps: int

    @property
    def finished(self) -> bool: ...

    def now(self) -> float: ...

    def play_slice(self) -> int: ...

    def step(self) -> bool: ...


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

    def now(self) -> float:
        return self.clock.now()

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


class ReplayPlayer:
    """A recorded log told again: its events handed to `publish` as their time comes."""

    def __init__(
        self,
        records: Sequence[Stamped],
        publish: Callable[[Stamped], None],
        *,
        slice_: float = 0.05,
    ) -> None:
        self.records = records
        self.publish = publish
        self.slice = slice_
        self.steps = 0  # records published so far
        self._time = records[0].time if records else 0.0

    def now(self) -> float:
        return self._time

    @property
    def finished(self) -> bool:
        return self.steps >= len(self.records)

    def play_slice(self) -> int:
        """Publish every record within `slice_` of the next one; the number published."""
        if self.finished:
            return 0
        until = self.records[self.steps].time + self.slice
        ran = 0
        while self.steps < len(self.records) and self.records[self.steps].time <= until:
            self.step()
            ran += 1
        return ran

    def step(self) -> bool:
        if self.finished:
            return False
        record = self.records[self.steps]
        self._time = max(self._time, record.time)
        self.steps += 1
        self.publish(record)
        return True
