"""A byte stream (a TCP socket, a program's pipes) as the DTE of a hidden modem.

A BBS reached over TCP, a program run for an exec number, or a raw TCP client
calling a listener each sit behind an emulated modem, so the caller's modem
always talks to a modem. Their bytes only count while that modem has carrier:
what arrives before is held (a BBS banner sent at TCP connect), and what the
modem says outside a call never reaches the stream.

The stream is never read faster than the modem takes DTE bytes, so a fast
network fills the kernel's buffers and TCP's window instead of ours. Modem
output is written once per loop iteration, so a burst goes out as one segment
(an ESC sequence split over segments breaks BBS arrow keys: Zimodem #31).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from modememu.drivers.host import ModemHost
from modememu.line.telnet import TelnetCodec
from modememu.modem.modem import ModemLines

HOLD_LIMIT = 64 * 1024  # stream bytes held while the modem is not ready for them
DRAIN_POLL = 0.05  # seconds between looks at the modem's line buffer after the stream ended
DRAIN_LIMIT = 60.0  # give up waiting for the modem to send the last bytes after this long


class ByteStream(Protocol):
    """What a `StreamDte` needs from its transport."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def pause_reading(self, paused: bool) -> None: ...


class StreamDte:
    """Joins a byte stream to a modem's DTE side while the modem has carrier.

    The stream's owner calls `feed` with what it reads, `stream_closed` when
    the far side went away and `writing_paused` on the transport's flow
    callbacks. When the stream ends, the modem first sends what it still has
    for the line, then sees DTR drop (under &D2 it hangs up). When carrier
    falls after a call, the stream is closed.
    """

    def __init__(
        self,
        host: ModemHost,
        loop: asyncio.AbstractEventLoop,
        stream: ByteStream,
        *,
        telnet: TelnetCodec | None = None,
    ) -> None:
        self.host = host
        self.loop = loop
        self.stream = stream
        self.telnet = telnet
        self.on_close: list[Callable[[], None]] = []
        self.up = host.lines.dcd
        self.was_up = self.up  # carrier was seen at least once
        self.eof = False
        self.closed = False
        self._hold = bytearray()
        self._out = bytearray()
        self._flush_handle: asyncio.Handle | None = None
        self._deliver_handle: asyncio.Handle | None = None
        self._reading_paused = False
        self._waiting_room = False
        self._drain_deadline = 0.0
        self._telnet_source = f"{host.name}/telnet"
        host.line_listeners.append(self._lines)
        host.attach(self._from_modem)
        if telnet is not None:
            telnet.start()
            self._schedule_flush()

    # ----- what the stream's owner calls -----

    def feed(self, data: bytes) -> None:
        """Bytes read from the stream."""
        if self.closed or not data:
            return
        if self.telnet is not None:
            data = self.telnet.receive_net(data)
            self._telnet_events()
            self._schedule_flush()  # negotiation replies
        if not data:
            return
        self._hold += data
        if self.up:
            self._schedule_deliver()
        elif len(self._hold) >= HOLD_LIMIT:
            self._pause_reading(True)

    def stream_closed(self) -> None:
        """The far side closed the stream: let the modem finish sending, then drop DTR."""
        if self.closed or self.eof:
            return
        self.eof = True
        self._drain_deadline = self.loop.time() + DRAIN_LIMIT
        self._drain_check()

    def writing_paused(self, paused: bool) -> None:
        """The stream's transport cannot take more (or can again): hold the modem's output."""
        if not self.closed:
            self.host.set_output_paused(paused)

    def close(self) -> None:
        """Write what is pending, close the stream and let go of the modem."""
        if self.closed:
            return
        self._flush()
        self.closed = True
        for handle in (self._flush_handle, self._deliver_handle):
            if handle is not None:
                handle.cancel()
        self._flush_handle = self._deliver_handle = None
        if self._lines in self.host.line_listeners:
            self.host.line_listeners.remove(self._lines)
        self.host.detach()
        self.stream.close()
        callbacks, self.on_close = self.on_close, []
        for callback in callbacks:
            callback()

    # ----- the modem side -----

    def _lines(self, lines: ModemLines) -> None:
        if self.closed:
            return
        if lines.dcd and not self.up:
            self.up = self.was_up = True
            self._schedule_deliver()
        elif not lines.dcd and self.up:
            self.up = False
            self.close()  # the call is over

    def _from_modem(self, data: bytes) -> None:
        if self.up and not self.closed:
            self._out += data
            self._schedule_flush()

    # ----- stream to modem -----

    def _schedule_deliver(self) -> None:
        """Deliver after the current pump: listeners and room callbacks run inside it."""
        if self._deliver_handle is None and not self.closed:
            self._deliver_handle = self.loop.call_soon(self._deliver)

    def _deliver(self) -> None:
        self._deliver_handle = None
        if self.closed or not self.up:
            return
        if self.host.feed_held(self._hold):
            self._pause_reading(True)
            if not self._waiting_room:
                self._waiting_room = True
                self.host.when_room(self._room_again)
        else:
            self._pause_reading(False)

    def _room_again(self) -> None:
        self._waiting_room = False
        self._schedule_deliver()

    def _pause_reading(self, paused: bool) -> None:
        if paused != self._reading_paused and not (paused and self.eof):
            self._reading_paused = paused
            self.stream.pause_reading(paused)

    def _drain_check(self) -> None:
        """After the stream ended: drop DTR once the modem has sent everything on.

        Held bytes keep the call going until carrier: a BBS that says "all
        nodes busy" and closes at once should still be read by the caller.
        """
        if self.closed:
            return
        busy = bool(self._hold) or (self.up and self._line_backlog() > 0)
        if busy and self.loop.time() < self._drain_deadline:
            self.loop.call_later(DRAIN_POLL, self._drain_check)
            return
        self.host.set_dtr(False)

    def _line_backlog(self) -> int:
        """Bytes the modem still has to send on the line (its buffer toward the far modem)."""
        return self.host.line_backlog()

    # ----- modem to stream -----

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and not self.closed:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self.closed:
            return
        data = bytes(self._out)
        self._out.clear()
        if self.telnet is not None:
            data = self.telnet.send_dte(data) if data else b""
            data = self.telnet.net_to_send() + data
        if data:
            self.stream.write(data)

    def _telnet_events(self) -> None:
        assert self.telnet is not None
        bus, now = self.host.bus, self.loop.time()
        while (event := self.telnet.next_event()) is not None:
            bus.publish(now, self._telnet_source, event)
