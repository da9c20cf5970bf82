"""Drives a sans-I/O core on a clock: feed it, drain it, keep one timer armed.

The same driver serves the asyncio loop (`LoopClock`) and the virtual clock, so
a core behaves identically in a test that runs in microseconds and on a real port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from modememu.clock import Clock, TimerHandle
from modememu.events import Event, EventBus


class SansIOCore(Protocol):
    def data_to_send(self) -> bytes: ...

    def next_event(self) -> Event | None: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class LoopClock:
    """The asyncio loop's monotonic clock behind the `Clock` protocol."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()

    def now(self) -> float:
        return self.loop.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return self.loop.call_at(when, callback)


class CoreDriver:
    """Connects one core to a clock, an output sink and the event bus."""

    def __init__(
        self,
        core: SansIOCore,
        clock: Clock,
        *,
        source: str,
        bus: EventBus,
        output: Callable[[bytes], None],
        after_pump: Callable[[], None] | None = None,
    ) -> None:
        self.core = core
        self.after_pump = after_pump
        self.clock = clock
        self.source = source
        self.bus = bus
        self.output = output
        self._timer: TimerHandle | None = None
        self._deadline: float | None = None
        self._closed = False

    def input(self, apply: Callable[[float], None]) -> None:
        """Give the core an input (a call taking `now`), then collect what it produced."""
        apply(self.clock.now())
        self.pump()

    def pump(self) -> None:
        data = self.core.data_to_send()
        if data:
            self.output(data)
        while (event := self.core.next_event()) is not None:
            self.bus.publish(self.clock.now(), self.source, event)
        if self.after_pump is not None:
            self.after_pump()
        self._arm()

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._deadline = None

    def _arm(self) -> None:
        if self._closed:
            return  # a pump after close (inside the last callbacks) must not re-arm
        deadline = self.core.get_timer()
        if deadline == self._deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._deadline = deadline
        self._timer = None if deadline is None else self.clock.call_at(deadline, self._fire)

    def _fire(self) -> None:
        deadline = self._deadline
        self._timer = self._deadline = None
        if deadline is not None:
            self.core.handle_timer(max(deadline, self.clock.now()))
        self.pump()
