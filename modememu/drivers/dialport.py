"""`modememu dial`: the dialer on a serial port, in real time.

The port is whatever pyserial opens: a real modem on /dev/ttyUSB0, the pty of
`modememu modem --pty PATH`, a `modememu://NAME` URL, an `rfc2217://` server.
Octets go both ways between the port and the `Dialer`; the dialer's DTR drives
the port's DTR pin and the port's DCD, polled, is the dialer's carrier.

Ports differ in what they carry (DESIGN.md §6). A pty has no modem lines: DTR
cannot drop, so unless told otherwise the dialer hangs up with `+++` and ATH0,
and the carrier stays unknown, which the dialer copes with. A port that goes
away mid-session looks to the dialer like a pulled cable: the carrier drops.

`--wav` can only render what the DTE knows (the modem may be in another process,
or real): `audio.dteview` turns the ATD line sent and the CONNECT (or failure)
that came back into stand-in call events for the renderer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import os
import sys
import termios
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import serial
import serial_asyncio_fast

from modememu.agents.chat import ChatSent
from modememu.agents.dialer import (
    EXIT_CODES,
    Dialer,
    DialerConfig,
    DialerFailed,
    DialerResult,
    DialerStep,
)
from modememu.audio.dteview import dte_call
from modememu.audio.render import render_call
from modememu.audio.wav import CallWav, WavError
from modememu.drivers.errors import PortError
from modememu.drivers.runner import CoreDriver, LoopClock
from modememu.drivers.serve import JsonlLog
from modememu.drivers.virtualport import VirtualPort
from modememu.events import Event, EventBus, Stamped
from modememu.transcript import Transcript

DIALER = "dialer"  # the dialer's event source, as in the demo
PORT = "port"  # the source of the port's own events
DEFAULT_BAUD = 115200
POLL_INTERVAL = 0.1  # DCD has no interrupt: it is read this often
READ_TIMEOUT = 0.1  # a reader thread's read, so that it notices close
CLOSE_WAIT = 2.0  # for the port to let go at the end
EXIT_NOT_RUN = 10  # no session: the port or the log could not be opened, or it hung
MARGIN = 60.0  # seconds beyond the sum of the dialer's own deadlines


@dataclass(frozen=True, slots=True)
class DialOptions:
    port: str  # a device path or a pyserial URL
    config: DialerConfig
    baud: int = DEFAULT_BAUD
    hangup_auto: bool = True  # choose "escape" over config.hangup when DTR cannot drop
    log: Path | None = None
    wav: Path | None = None  # the call's sound as the DTE knew it (see audio.dteview)


# -- the port's own events (JSONL log and transcript) ---------------------------------------


@dataclass(frozen=True, slots=True)
class PortEvent(Event):
    """Base of what the port itself reports."""


@dataclass(frozen=True, slots=True)
class PortOpened(PortEvent):
    port: str
    baud: int
    dtr: bool  # DTR can be driven
    dcd: bool  # DCD can be read
    hangup: str  # how the dialer will hang up


@dataclass(frozen=True, slots=True)
class PortCarrier(PortEvent):
    up: bool  # DCD as read from the port


@dataclass(frozen=True, slots=True)
class PortLost(PortEvent):
    reason: str


def _port_line(event: Event) -> str | None:
    if isinstance(event, PortOpened):
        if event.dtr and event.dcd:
            lines = "DTR and DCD"
        elif event.dtr or event.dcd:
            lines = "DTR only (carrier unknown)" if event.dtr else "DCD only (DTR cannot drop)"
        else:
            lines = "no modem lines (carrier unknown, DTR cannot drop)"
        hangup = "DTR drop" if event.hangup == "dtr" else "+++ and ATH0"
        return f"{event.port} at {event.baud} bit/s; {lines}; hang-up by {hangup}"
    if isinstance(event, PortCarrier):
        return f"DCD {'on' if event.up else 'off'}"
    if isinstance(event, PortLost):
        return f"lost: {event.reason} (counts as carrier lost)"
    return None


# -- opening ------------------------------------------------------------------------------


def open_port(url: str, baud: int) -> serial.Serial:
    """The port, open, or a `PortError` naming what is wrong with it."""
    try:
        port = serial.serial_for_url(url, baudrate=baud, do_not_open=True)
    except (OSError, ValueError) as exc:  # an unknown URL scheme, a malformed URL
        raise PortError(_open_error(url, exc)) from None
    if isinstance(port, VirtualPort):
        raise PortError(f"{url}: dial runs in real time; use clock=real (the default)")
    try:
        port.exclusive = True  # another program on the same modem is an error, not a muddle
        port.open()
    except (OSError, ValueError, termios.error) as exc:
        raise PortError(_open_error(url, exc)) from None
    return port


def _open_error(url: str, exc: Exception) -> str:
    if isinstance(exc, termios.error):  # a file that is not a terminal
        return f"cannot open {url}: not a serial port ({exc.args[-1]})"
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
        return f"{url}: port busy (another program has it open)"
    if code is not None:
        return f"cannot open {url}: {os.strerror(code)}"
    return f"cannot open {url}: {exc}"


def _quietly(action: Callable[[], object]) -> bool:
    """Run a port action; False when it failed (no such line on a pty: ENOTTY)."""
    try:
        action()
    except (OSError, ValueError):
        return False
    return True


def _has_fileno(port: serial.Serial) -> bool:
    try:
        port.fileno()
    except (AttributeError, OSError):
        return False
    return True


# -- moving octets ------------------------------------------------------------------------


class PortLink:
    """The open port on the loop: octets in and out, DTR out, DCD in.

    A port with a file descriptor is read by pyserial-asyncio-fast's transport;
    one without (`rfc2217://`, `socket://`) by a thread that hands each read to
    the loop. Either way `on_data` and `on_lost` run on the loop, in order.
    """

    def __init__(
        self,
        port: serial.Serial,
        loop: asyncio.AbstractEventLoop,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.port = port
        self.loop = loop
        self._on_data = on_data
        self._on_lost = on_lost
        self._transport: serial_asyncio_fast.SerialTransport | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.lost = False
        self.closed = False
        self._gone: asyncio.Future[None] = loop.create_future()  # the transport let go
        self.dtr_works = _quietly(lambda: setattr(port, "dtr", True))
        self.dcd_works = _quietly(lambda: port.cd)

    def start(self) -> None:
        if _has_fileno(self.port):
            self._transport = serial_asyncio_fast.SerialTransport(
                self.loop, _Receiver(self), self.port
            )
        else:
            self.port.timeout = READ_TIMEOUT
            self._thread = threading.Thread(target=self._read, name="dial-port", daemon=True)
            self._thread.start()

    def write(self, data: bytes) -> None:
        if self.lost or self.closed:
            return  # nothing is connected: what a DTE sends into an open cable is lost
        if self._transport is not None:
            self._transport.write(data)
            return
        try:
            self.port.write(data)
        except OSError as exc:
            self._lose(str(exc))

    def set_dtr(self, on: bool) -> None:
        if self.dtr_works and not self.lost and not self.closed:
            self.dtr_works = _quietly(lambda: setattr(self.port, "dtr", on))

    def read_dcd(self) -> bool | None:
        """DCD, or None when the port has no such line (or is gone)."""
        if not self.dcd_works or self.lost or self.closed:
            return None
        try:
            return bool(self.port.cd)
        except OSError:
            self.dcd_works = False
            return None

    async def close(self) -> None:
        """Stop reading and close the port; the transport closes it in its own time."""
        if self.closed:
            return
        self.closed = True
        self._stopping.set()
        if self._transport is not None:
            if not self._transport.is_closing():
                self._transport.abort()  # it closes the port, then calls connection_lost
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._gone), CLOSE_WAIT)
        if self._thread is not None:
            cancel = getattr(self.port, "cancel_read", None)
            if cancel is not None:
                _quietly(cancel)
            await asyncio.to_thread(self._thread.join, CLOSE_WAIT)
        if not self._gone.done():
            _quietly(self.port.close)

    def _read(self) -> None:
        """The reader thread: block on the port briefly, pass what came to the loop."""
        port = self.port
        while not self._stopping.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except OSError as exc:
                if not self._stopping.is_set():
                    with contextlib.suppress(RuntimeError):  # unless the loop has closed
                        self.loop.call_soon_threadsafe(self._lose, str(exc))
                return
            if data and not self._stopping.is_set():
                try:
                    self.loop.call_soon_threadsafe(self._received, data)
                except RuntimeError:  # the loop has closed: nobody is listening
                    return

    def _received(self, data: bytes) -> None:
        if not self.lost and not self.closed:
            self._on_data(data)

    def _lose(self, reason: str) -> None:
        if self.lost or self.closed:
            return
        self.lost = True
        self._stopping.set()
        self._on_lost(reason)


class _Receiver(asyncio.Protocol):
    def __init__(self, link: PortLink) -> None:
        self.link = link

    def data_received(self, data: bytes) -> None:
        self.link._received(bytes(data))

    def connection_lost(self, exc: Exception | None) -> None:
        link = self.link
        if not link._gone.done():
            link._gone.set_result(None)
        if not link.closed:
            link._lose(str(exc) if exc is not None else "the port closed")


# -- the session ---------------------------------------------------------------------------


def run_dial(out: TextIO, options: DialOptions) -> int:
    """Open the port, dial, print the session; the dialer's exit code.

    Raises `PortError` (one line) when the port, the log or the WAV cannot be opened.
    """
    try:
        wav = CallWav(options.wav) if options.wav is not None else None
    except WavError as exc:
        raise PortError(str(exc)) from None
    heard = DteHeard()
    try:
        port = open_port(options.port, options.baud)
        try:
            return asyncio.run(_session(out, options, port, heard))
        except KeyboardInterrupt:
            print("modememu dial: interrupted; the port is closed", file=out)
            raise
        finally:
            _quietly(port.close)
    finally:
        if wav is not None:
            wav.write(render_call(heard.events()))


class DteHeard:
    """What the dialer saw of its call: the ATD it sent, then CONNECT or a failure."""

    def __init__(self) -> None:
        self.dialed: tuple[float, str] | None = None
        self.connect: tuple[float, str] | None = None
        self.ended: tuple[float, str] | None = None

    def __call__(self, stamped: Stamped) -> None:
        event, t = stamped.event, stamped.time
        if stamped.source != DIALER or self.connect is not None or self.ended is not None:
            return
        if isinstance(event, ChatSent) and self.dialed is None and "ATD" in event.text.upper():
            self.dialed = (t, event.text)
        elif self.dialed is None:
            return
        elif isinstance(event, DialerStep) and event.step == "connected":
            self.connect = (t, event.detail)
        elif isinstance(event, DialerFailed):
            self.ended = (t, event.reason)

    def events(self) -> list[Stamped]:
        if self.dialed is None:
            return []
        return dte_call(self.dialed, self.connect, self.ended)


def session_limit(config: DialerConfig) -> float:
    """Longer than any session the dialer's own deadlines allow: a guard, never the clock."""
    return (
        2 * config.chat_timeout
        + 2 * config.link_timeout
        + 3 * config.tcp_timeout
        + 3 * config.hangup_timeout
        + 4 * config.guard
        + config.banner_wait
        + MARGIN
    )


async def _session(
    out: TextIO, options: DialOptions, port: serial.Serial, heard: Callable[[Stamped], None]
) -> int:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_one_line_errors)
    clock = LoopClock(loop)
    start = clock.now()
    bus = EventBus()
    log = JsonlLog(options.log, start) if options.log is not None else None
    done: asyncio.Future[None] = loop.create_future()
    transcript = Transcript(out, caller="", dialer=DIALER, start=start)

    def show(stamped: Stamped) -> None:
        if stamped.source == PORT:
            text = _port_line(stamped.event)
            if text is not None:
                transcript.say(stamped.time, "port", text)
        else:
            transcript(stamped)
        event = stamped.event
        if isinstance(event, DialerStep) and event.step == "done" and not done.done():
            done.set_result(None)
        out.flush()  # a person (or a pipe) is watching in real time

    bus.subscribe(show)
    bus.subscribe(heard)
    if log is not None:
        bus.subscribe(log)

    # The link's callbacks use the dialer and its driver, made below: the dialer's
    # hang-up depends on what the open port turns out to have.
    def on_data(data: bytes) -> None:
        # DCD first: "CONNECT" must not reach the dialer before the carrier it announces,
        # nor the last octets of a call before its carrier is seen (polling alone would race).
        read_carrier()
        driver.input(lambda now: dialer.receive_data(data, now))

    def on_lost(reason: str) -> None:
        bus.publish(clock.now(), PORT, PortLost(reason))
        carrier(False)

    link = PortLink(port, loop, on_data, on_lost)
    config = options.config
    if options.hangup_auto and not link.dtr_works and config.hangup == "dtr":
        config = dataclasses.replace(config, hangup="escape")
    dialer = Dialer(config)
    dtr_sent = True

    def apply_dtr() -> None:
        nonlocal dtr_sent
        if dialer.dtr != dtr_sent:
            dtr_sent = dialer.dtr
            link.set_dtr(dtr_sent)

    driver = CoreDriver(
        dialer, clock, source=DIALER, bus=bus, output=link.write, after_pump=apply_dtr
    )
    dcd: bool | None = None

    def carrier(up: bool) -> None:
        nonlocal dcd
        if up != dcd:
            dcd = up
            driver.input(lambda now: dialer.carrier(up, now))

    def read_carrier() -> bool:
        """Read DCD, tell the dialer when it changed; False when the port has no DCD."""
        up = link.read_dcd()
        if up is None:
            return False  # the carrier stays unknown
        if up != dcd:
            bus.publish(clock.now(), PORT, PortCarrier(up))
            carrier(up)
        return True

    def poll() -> None:
        if read_carrier():
            loop.call_later(POLL_INTERVAL, poll)

    mode = config.mode.upper()
    print(
        f"modememu dial: ATDT{config.number} on {options.port} ({mode}), "
        f"then TCP {config.host}:{config.port}",
        file=out,
    )
    bus.publish(
        start,
        PORT,
        PortOpened(options.port, options.baud, link.dtr_works, link.dcd_works, config.hangup),
    )
    try:
        link.start()
        poll()
        driver.input(dialer.start)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done, session_limit(config))
    finally:
        driver.close()
        await link.close()
        if log is not None:
            log.close()
    return _summary(out, dialer.result)


def _one_line_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An error in a callback is one line on stderr, never a traceback.

    The serial transport's own errors are left out: its connection_lost reports them
    as the port being lost, in the transcript.
    """
    if isinstance(context.get("transport"), serial_asyncio_fast.SerialTransport):
        return
    exc = context.get("exception")
    detail = f": {exc}" if exc is not None else ""
    sys.stderr.write(f"modememu: {context.get('message', 'error')}{detail}\n")
    sys.stderr.flush()


def _summary(out: TextIO, result: DialerResult | None) -> int:
    if result is None:
        print("modememu dial: the session did not finish", file=out)
        return EXIT_NOT_RUN
    words = EXIT_CODES.get(result.code, "failed")
    why = "" if result.reason == words else f": {result.reason}"
    print(f"modememu dial: exit {result.code} ({words}){why}", file=out)
    out.flush()
    return result.code
