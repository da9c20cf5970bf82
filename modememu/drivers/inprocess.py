"""Modems that live inside the calling process, for the `modememu://` pyserial URL.

pyserial is synchronous and its callers may be any thread, while a modem runs on
an asyncio loop. So all in-process modems share ONE daemon thread with its own
loop, started on first use; callers reach it only through `call()`, which runs a
function there and waits for the result. Each modem's DTE side is one end of a
socket pair, so the caller gets a real file descriptor (asyncio adapters need one).

Events of every in-process modem go to one shared `EventBus`, with the modem's
NAME as the source. Subscribers are called on the loop thread. The modems share
one exchange (a `World`), so they can call each other by their numbers.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from modememu.drivers.host import ModemHost
from modememu.drivers.runner import LoopClock
from modememu.drivers.world import World
from modememu.events import EventBus
from modememu.profiles import Profile

T = TypeVar("T")


class PortBusyError(Exception):
    """The NAME is taken by an open in-process modem."""


class _SocketLink(asyncio.Protocol):
    """Joins a host's DTE side to the loop's end of the socket pair."""

    def __init__(self, host: ModemHost) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self._held = bytearray()
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.host.attach(self._send)

    def data_received(self, data: bytes) -> None:
        self._held += data
        self._feed()

    def _feed(self) -> None:
        """Give the modem what it has room for; hold the rest and stop reading meanwhile.

        The socket's buffer then fills and the caller's write waits: the same
        back-pressure a pty's kernel buffer gives, so nothing is lost here.
        """
        if self.host.feed_held(self._held):
            if self.transport is not None and not self._paused:
                self._paused = True
                self.transport.pause_reading()
            self.host.when_room(self._feed)
            return
        if self._paused and self.transport is not None and not self.transport.is_closing():
            self._paused = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        self.host.set_output_paused(True)

    def resume_writing(self) -> None:
        self.host.set_output_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.host.detach()
        self.transport = None

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class InProcessModem:
    """One registered modem: its host and the loop side of its socket pair."""

    def __init__(self, name: str, host: ModemHost, link: _SocketLink) -> None:
        self.name = name
        self.host = host
        self.link = link


class Runtime:
    """The shared loop thread, the registry of modems by NAME, and their bus."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.bus = EventBus()
        self.modems: dict[str, InProcessModem] = {}
        self.world: World | None = None  # made on the loop thread with the first modem
        self._thread = threading.Thread(target=self._run, name="modememu-inprocess", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        """Stop the loop thread (at exit): later calls run in the caller's thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=2)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the loop thread and return what it returns (or raise what it raises)."""
        if threading.get_ident() == self._thread.ident or not self._thread.is_alive():
            return fn()  # on the loop already, or the loop is gone: nothing else runs it
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result()

    def open(
        self,
        name: str,
        profile: Profile,
        sock: socket.socket,
        *,
        number: str = "",
        force_8n1: bool = False,
    ) -> ModemHost:
        """Start modem NAME with its DTE side on `sock` (the loop's end of a socket pair)."""
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError("open in-process modems from another thread than their loop's")
        if not self._thread.is_alive():
            raise PortBusyError("the in-process modem thread has stopped (interpreter exit)")
        coro = self._open(name, profile, sock, number, force_8n1)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self, name: str) -> None:
        self.call(lambda: self._close(name))

    async def _open(
        self, name: str, profile: Profile, sock: socket.socket, number: str, force_8n1: bool
    ) -> ModemHost:
        if name in self.modems:
            raise PortBusyError(f"modememu://{name}: port busy (already open)")
        host = ModemHost(
            profile,
            LoopClock(self.loop),
            self.bus,
            name=name,
            number=number,
            force_8n1=force_8n1,
        )
        if self.world is None:
            self.world = World(LoopClock(self.loop), self.bus, loop=self.loop)
        self.world.add(host)
        self.modems[name] = modem = InProcessModem(name, host, _SocketLink(host))
        try:
            await self.loop.connect_accepted_socket(lambda: modem.link, sock)
        except BaseException:
            del self.modems[name]
            host.close()
            raise
        return host

    def _close(self, name: str) -> None:
        modem = self.modems.pop(name, None)
        if modem is None:
            return
        modem.host.detach()
        if self.world is not None:
            self.world.remove(modem.host)
        if modem.link.transport is not None:
            modem.link.transport.abort()
        modem.host.close()


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> Runtime:
    """The process-wide runtime, started on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime()
            # Ports closed during interpreter shutdown must not wait on a frozen thread.
            atexit.register(_runtime.stop)
        return _runtime
