"""The event base type and the bus that carries timestamped events to subscribers.

Every core reports what happens as frozen dataclass events; drivers stamp them
with the clock's time and the name of the core that emitted them, then publish
them here for the TUI, the recorders and the transcript printer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event a core emits."""


@dataclass(frozen=True, slots=True)
class Stamped:
    """An event as published: when it happened and which core said it."""

    time: float
    source: str
    event: Event


Subscriber = Callable[[Stamped], None]


class EventBus:
    """Fan-out of stamped events to subscribers, in subscription order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it again."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, time: float, source: str, event: Event) -> None:
        stamped = Stamped(time, source, event)
        for subscriber in tuple(self._subscribers):
            subscriber(stamped)
