"""What an application on the TCP stack sees: a Link per connection, and callbacks.

The stack calls an `Application` as things happen on its connection; the
application answers through the `Link` (queue data, close). Nothing here blocks
or reads a clock: `now` is the stack's monotonic time, passed along.
"""

from __future__ import annotations

from typing import Protocol


class Link(Protocol):
    """One TCP connection as an application sees it."""

    @property
    def connection(self) -> int: ...  # the stack's id for it

    @property
    def local_port(self) -> int: ...

    @property
    def remote(self) -> str: ...  # "a.b.c.d:port"

    @property
    def send_space(self) -> int: ...  # octets send() would accept now

    def send(self, data: bytes) -> int: ...  # queue; returns octets accepted (may be fewer)

    def close(self) -> None: ...  # FIN once queued data is out


class Application(Protocol):
    """Callbacks from the stack, one application object per connection."""

    def opened(self, link: Link, now: float) -> None: ...  # established

    def received(self, link: Link, data: bytes, now: float) -> None: ...

    def writable(self, link: Link, now: float) -> None: ...  # send space grew after being short

    def peer_closed(self, link: Link, now: float) -> None: ...  # the peer's FIN (CLOSE-WAIT)

    def ended(self, link: Link, now: float) -> None: ...  # gone: closed, reset or timed out
