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
    """Fan-out of stamped events to subscribers, in subscription order.

    A subscriber may ask for one source's events only: with thousands of modems
    on one bus, each host hears its own modem without filtering everyone's.
    """

    def __init__(self) -> None:
        self._subscribers: tuple[Subscriber, ...] = ()
        self._by_source: dict[str, tuple[Subscriber, ...]] = {}

    def subscribe(self, subscriber: Subscriber, source: str | None = None) -> Callable[[], None]:
        """Add a subscriber (to every event, or `source`'s); returns its remover."""
        if source is None:
            self._subscribers += (subscriber,)
        else:
            self._by_source[source] = (*self._by_source.get(source, ()), subscriber)

        def unsubscribe() -> None:
            if source is None:
                self._subscribers = _without(self._subscribers, subscriber)
                return
            left = _without(self._by_source.get(source, ()), subscriber)
            if left:
                self._by_source[source] = left
            else:
                self._by_source.pop(source, None)

        return unsubscribe

    def publish(self, time: float, source: str, event: Event) -> None:
        stamped = Stamped(time, source, event)
        for subscriber in self._by_source.get(source, ()):
            subscriber(stamped)
        for subscriber in self._subscribers:
            subscriber(stamped)


def _without(subscribers: tuple[Subscriber, ...], gone: Subscriber) -> tuple[Subscriber, ...]:
    if gone not in subscribers:
        return subscribers
    at = subscribers.index(gone)
    return subscribers[:at] + subscribers[at + 1 :]
