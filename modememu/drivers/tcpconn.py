"""One TCP connection of a call, and what the TCP side of calls reports.

A `Connection` first collects its opening bytes (so the caller can tell a
modememu trunk from a plain host), then hands everything to a `Receiver`: a
`TrunkEnd` or a `StreamDte`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modememu.events import Event

SOURCE = "tcp"


@dataclass(frozen=True, slots=True)
class TcpEvent(Event):
    pass


@dataclass(frozen=True, slots=True)
class TcpDialing(TcpEvent):
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class TcpFailed(TcpEvent):
    """A dial-out that did not connect; `heard` is what the caller's modem is told."""

    host: str
    port: int
    reason: str
    heard: str  # "no dial tone", "busy", "released"


@dataclass(frozen=True, slots=True)
class TcpConnected(TcpEvent):
    """A connection is up; `mode` is "trunk", "raw" or "telnet"; `incoming` for a listener's."""

    peer: str
    mode: str
    incoming: bool


@dataclass(frozen=True, slots=True)
class TcpRefused(TcpEvent):
    """An incoming connection turned away: "busy" (a call is up) or "refused" (DTR off)."""

    peer: str
    reason: str


@dataclass(frozen=True, slots=True)
class TrunkUnexpected(TcpEvent):
    """A well-formed frame the trunk cannot use here; dropped and counted."""

    reason: str
    count: int


class Receiver(Protocol):
    def feed(self, data: bytes) -> None: ...

    def stream_closed(self) -> None: ...

    def writing_paused(self, paused: bool) -> None: ...


class Connection(asyncio.Protocol):
    """A socket that first collects its opening bytes, then hands everything to a receiver."""

    def __init__(
        self,
        on_made: Callable[[Connection], None] | None = None,
        on_lost: Callable[[Connection], None] | None = None,
    ) -> None:
        self.on_made = on_made
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.first = bytearray()
        self.lost = False
        self.paused = False
        self.peer = "?"
        self.receiver: Receiver | None = None
        self._decide: Callable[[bytes], bool] | None = None
        self._decided: asyncio.Future[None] | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        if self.receiver is not None:
            self.receiver.feed(data)
            return
        self.first += data
        if self._decide is not None and self._decide(bytes(self.first)):
            self._settle()

    def eof_received(self) -> bool | None:
        return None  # close: a half-open socket carries no call

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.on_lost is not None:
            self.on_lost(self)
        if self.receiver is not None:
            self.receiver.stream_closed()
        else:
            self._settle()

    def pause_writing(self) -> None:
        self.paused = True
        if self.receiver is not None:
            self.receiver.writing_paused(True)

    def resume_writing(self) -> None:
        self.paused = False
        if self.receiver is not None:
            self.receiver.writing_paused(False)

    # the opening

    async def probe(self, decide: Callable[[bytes], bool], timeout: float) -> None:
        """Collect opening bytes until `decide` says they are enough, or `timeout` passes."""
        if self.lost or decide(bytes(self.first)):
            return
        self._decide = decide
        self._decided = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._decided, timeout)
        self._decide = self._decided = None

    def _settle(self) -> None:
        if self._decided is not None and not self._decided.done():
            self._decided.set_result(None)

    def hand_over(self, receiver: Receiver) -> None:
        """From now on `receiver` gets the socket's data, flow and end."""
        self.receiver = receiver
        if self.paused:
            receiver.writing_paused(True)
        if self.lost:
            receiver.stream_closed()

    # what a receiver uses (a `ByteStream`)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def pause_reading(self, paused: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if paused:
            transport.pause_reading()
        else:
            transport.resume_reading()


