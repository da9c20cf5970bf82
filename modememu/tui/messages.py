"""Messages of the monitor: the nudge that events are waiting, coalesced."""

from __future__ import annotations

from textual.message import Message


class EventsPending(Message, bubble=False):
    """Events are waiting in the feed. Carries nothing, so a newer one replaces an older one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsPending)
