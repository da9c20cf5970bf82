"""The bus subscriber of the monitor: it only buffers, and nudges the app once per batch.

Whatever runs the session (the app's own clock steps today, a driver thread
later) calls the feed with each stamped event. The feed never touches a widget:
it appends to a buffer and, when the buffer was empty, calls `wake` (the app
posts a coalesced message); the app drains the buffer in its own handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from modememu.events import Event, Stamped


class EventFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch: list[Stamped] = []
        self.wake: Callable[[], None] | None = None  # set once the app is running
        self.total = 0

    def __call__(self, stamped: Stamped) -> None:
        with self._lock:
            first = not self._batch
            self._batch.append(stamped)
            self.total += 1
        wake = self.wake
        if first and wake is not None:
            wake()

    def line(self, time: float, sent: bool, data: bytes) -> None:
        """A tap on the caller's serial line: its octets join the events, in order."""
        self(Stamped(time, LINE, LineOctets(sent, data)))

    def drain(self) -> list[Stamped]:
        """Everything buffered since the last drain, oldest first."""
        with self._lock:
            batch, self._batch = self._batch, []
        return batch


@dataclass(frozen=True, slots=True)
class LineOctets(Event):
    """Octets on the serial line between the caller's DTE and its modem (for the
    terminal and the throughput panel); `sent` is DTE to modem."""

    sent: bool
    data: bytes


LINE = "line"  # the source of LineOctets
