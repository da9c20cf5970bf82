"""`modememu://NAME?clock=virtual`: pyserial ports on modems that live in virtual time.

All virtual ports of a process share ONE `VirtualWorld`: a `World` on a
`VirtualClock`, so they can call each other (and the phonebook's services). Time
only moves while a caller blocks in a pyserial call on one of them (a read that
waits for data, a write that waits for room, `flush`, or `sleep` below), and then
it jumps from deadline to deadline. A test can push a megabyte through a 2400 bit/s
call in seconds of real time, and every run gives the same result. Timeouts
(`timeout`, `write_timeout`) are virtual seconds. A port polled without blocking
(`timeout=0`, `in_waiting`) sees no time pass: use a read with a timeout, or
`sleep`, to let the world move.

Each port models a UART and the OS driver in front of it:

- transmit: `write` fills a driver buffer of `TX_BUFFER` bytes; the UART hands
  them to the modem at the port's character rate (start bit, data bits, parity,
  stop bits), one slice of `TX_SLICE` seconds' worth (at least `TX_SLICE_MIN`
  characters) at a time, each arriving when its last character would have. With `rtscts` it
  stops while the modem holds CTS off; without it, the modem loses what it
  cannot take, as a real one does. With `xonxoff` an XOFF from the modem stops it.
- receive: what the modem sends waits in a receive buffer. With `rtscts` the
  driver drops RTS at `RX_RTS_OFF` bytes and raises it again below `RX_RTS_ON`;
  above `RX_CAPACITY` it tells the modem to hold its output. Nothing the modem
  has sent is lost below `RX_HARD_CAP` (beyond it, bytes are dropped and counted
  in `VirtualPort.rx_lost`).
- lines: DTR/RTS go to the modem (with `rtscts`, RTS is the driver's), CTS, DSR,
  RI and CD are the modem's. Speed and framing reach the modem, and a 7-bit
  framing is put on the modem's 8N1 wire as a real UART would (`drivers.wire`).

A virtual port has no file descriptor: `fileno()` raises (asyncio adapters need
a real-time port, `clock=real`). Every call on any virtual port holds one lock,
so ports may be used from several threads, one call at a time.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    SerialTimeoutException,
)

from modememu.at.parity import Parity
from modememu.clock import TimerHandle, VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.urlhandler.protocol_modememu import parse_url
from modememu.drivers.wire import check_framing, dte_format, to_dte, to_modem, wire_parity
from modememu.drivers.world import World
from modememu.events import EventBus
from modememu.modem.modem import ModemLines
from modememu.profiles import DEFAULT_PROFILE, ProfileError, load_profile

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

TX_BUFFER = 4096  # the driver's transmit buffer
TX_SLICE = 0.01  # the UART hands the modem this many seconds' worth of characters at once
TX_SLICE_MIN = 4  # ... and never fewer characters (a slow port is not timed per byte)
RX_CAPACITY = 65536  # above this the modem is told to hold its output
RX_HARD_CAP = 1 << 20  # beyond this, received bytes are dropped (and counted)
RX_RTS_OFF = 4096  # with rtscts: drop RTS when this much is waiting to be read
RX_RTS_ON = 1024  # ... and raise it again when the reader took it below this
XON, XOFF = 0x11, 0x13
_FLOW_CHARS = bytes((XON, XOFF))
_NEVER = math.inf


class VirtualWorld:
    """The process-wide virtual-time world: clock, bus, exchange, ports by NAME."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.bus = EventBus()
        self.world = World(self.clock, self.bus)
        self.lock = threading.RLock()  # held by every call on every virtual port
        self.ports: dict[str, VirtualPort] = {}

    def run(self, until: float, done: Callable[[], bool]) -> bool:
        """Let time pass until `done()` or virtual time `until`; returns `done()`.

        Steps the clock from deadline to deadline while `done()` is false and the
        next deadline is not after `until`. If not done, time then moves on to
        `until` when it is finite; with no deadline left and `until` infinite
        nothing will ever happen, so it returns at once.
        """
        with self.lock:
            clock = self.clock
            while not done():
                deadline = clock.next_deadline()
                if deadline is None or deadline > until:
                    if until != _NEVER:
                        clock.run_until(until)
                    return done()
                clock.step()
            return True

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.run(self.clock.now() + max(0.0, seconds), lambda: False)


_world: VirtualWorld | None = None
_world_lock = threading.Lock()


def virtual_world() -> VirtualWorld:
    """The process-wide virtual world, made on first use."""
    global _world
    with _world_lock:
        if _world is None:
            _world = VirtualWorld()
        return _world


def reset_virtual_world() -> None:
    """Start the next virtual port in a new world at t=0 (tests); refused while ports are open."""
    global _world
    with _world_lock:
        if _world is not None:
            with _world.lock:
                if _world.ports:
                    names = ", ".join(sorted(_world.ports))
                    raise RuntimeError(f"virtual ports still open: {names}")
        _world = None


def sleep(seconds: float) -> None:
    """Let `seconds` of virtual time pass: the virtual analogue of `time.sleep`.

    Every virtual modem and port runs meanwhile (calls progress, data moves,
    timers fire). Use it where a program would sleep between serial calls, for
    instance the guard times around a `+++` escape.
    """
    virtual_world().sleep(seconds)


class VirtualPort(SerialBase):
    """A pyserial port on an emulated modem in the virtual world (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._vw: VirtualWorld | None = None
        self._host: ModemHost | None = None
        self._name = ""
        self._tx = bytearray()
        self._tx_timer: TimerHandle | None = None
        self._tx_inflight = 0
        self._rx = bytearray()
        self._rx_held = False  # rtscts: the driver holds RTS off
        self._xoff = False  # xonxoff: the modem sent XOFF
        self._rts_sent: bool | None = None  # what the modem was last told
        self._paused_sent = False
        self._sync_pending = False
        self._read_cancelled = False
        self.rx_lost = 0  # received bytes dropped beyond RX_HARD_CAP
        super().__init__(*args, **kwargs)

    # ----- opening and closing -----

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self.port is None:
            raise SerialException("Port must be configured before it can be used.")
        name, options = parse_url(self.port)
        if options.get("clock", "real") != "virtual":
            raise SerialException(f"modememu://{name}: not a clock=virtual URL")
        try:
            profile = load_profile(options.get("profile", DEFAULT_PROFILE))
        except ProfileError as exc:
            raise SerialException(str(exc)) from None
        force_8n1 = options.get("force8n1", "0") not in ("", "0", "no", "false")
        check_framing(self.baudrate, self.bytesize, self.parity, self.stopbits)
        vw = virtual_world()
        with vw.lock:
            if name in vw.ports:
                raise SerialException(f"modememu://{name}: port busy (already open)")
            host = ModemHost(
                profile,
                vw.clock,
                vw.bus,
                name=name,
                number=options.get("number", ""),
                force_8n1=force_8n1,
            )
            vw.world.add(host)
            host.attach(self._from_modem)
            host.line_listeners.append(self._lines_changed)
            vw.ports[name] = self
            self._vw, self._host, self._name = vw, host, name
            self._tx.clear()
            self._rx.clear()
            self._rx_held = self._xoff = self._paused_sent = False
            self._rts_sent = None
            self.is_open = True
            try:
                self._reconfigure_port()
                if not self.dsrdtr:
                    self._update_dtr_state()
                self._sync_modem_flow()
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        vw, host = self._vw, self._host
        if self.is_open and vw is not None and host is not None:
            with vw.lock:
                self.is_open = False
                self._cancel_tx()
                if vw.ports.get(self._name) is self:
                    del vw.ports[self._name]
                vw.world.remove(host)
                host.detach()
                if self._lines_changed in host.line_listeners:
                    host.line_listeners.remove(self._lines_changed)
                host.close()
                self._host = None
        self.is_open = False
        super().close()

    def from_url(self, url: str) -> None:
        parse_url(url)

    def fileno(self) -> int:
        raise SerialException(
            f"modememu://{self._name}?clock=virtual has no file descriptor "
            "(asyncio adapters need a real-time port: clock=real)"
        )

    @property
    def host(self) -> ModemHost:
        """The emulated modem behind this port."""
        return self._open()[1]

    # ----- settings go to the modem -----

    def _reconfigure_port(self) -> None:
        check_framing(self.baudrate, self.bytesize, self.parity, self.stopbits)
        fmt = dte_format(self.baudrate, self.bytesize, self.parity, self.stopbits)
        vw, host = self._open()
        with vw.lock:
            host.set_dte_format(fmt)
            if not self.rtscts:
                self._rx_held = False
            if not self.xonxoff:
                self._xoff = False
            self._sync_modem_flow()
            self._kick()

    def _update_dtr_state(self) -> None:
        vw, host = self._open()
        with vw.lock:
            host.set_dtr(bool(self.dtr))

    def _update_rts_state(self) -> None:
        vw, _ = self._open()
        with vw.lock:
            self._sync_modem_flow()  # with rtscts the driver's level wins, as in a real one

    def _update_break_state(self) -> None:
        pass  # the modem core has no BREAK input yet

    def send_break(self, duration: float = 0.25) -> None:
        """BREAK for `duration` virtual seconds."""
        self._open()
        self.break_condition = True
        sleep(duration)
        self.break_condition = False

    @property
    def _wire(self) -> Parity:
        return wire_parity(self.bytesize, self.parity)

    @property
    def _chars_per_second(self) -> float:
        parity_bit = 0 if self.parity == "N" else 1
        return float(self.baudrate) / (1 + self.bytesize + parity_bit + float(self.stopbits))

    # ----- the modem's lines -----

    @property
    def cts(self) -> bool:
        return self._lines().cts

    @property
    def dsr(self) -> bool:
        return self._lines().dsr

    @property
    def ri(self) -> bool:
        return self._lines().ri

    @property
    def cd(self) -> bool:
        return self._lines().dcd

    # ----- data -----

    @property
    def in_waiting(self) -> int:
        vw, _ = self._open()
        with vw.lock:
            return len(self._rx)

    @property
    def out_waiting(self) -> int:
        vw, _ = self._open()
        with vw.lock:
            return len(self._tx)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes: timeout None waits for all (or until the world stops),
        0 takes what is there, >0 waits that many virtual seconds at most."""
        vw, _ = self._open()
        if size <= 0:
            return b""
        with vw.lock:
            self._read_cancelled = False
            rx = self._rx
            vw.run(self._until(self.timeout), lambda: len(rx) >= size or self._read_cancelled)
            return self._take(min(size, len(rx)))

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        """Up to and including `expected`, at most `size` bytes; what came by the timeout."""
        vw, _ = self._open()
        if not expected:
            raise ValueError("read_until needs a non-empty terminator")
        with vw.lock:
            self._read_cancelled = False
            rx = self._rx
            found = -1
            scanned = 0

            def done() -> bool:
                nonlocal found, scanned
                if found < 0 and len(rx) > scanned:
                    found = rx.find(expected, max(0, scanned - len(expected) + 1))
                    scanned = len(rx)
                    if found >= 0:
                        found += len(expected)
                return found >= 0 or (size is not None and len(rx) >= size)

            if not vw.run(self._until(self.timeout), done):
                done()  # the last step may have brought it
            n = found if found >= 0 else len(rx)
            if size is not None:
                n = min(n, size)
            return self._take(n)

    def readline(self, size: int | None = -1, /) -> bytes:
        return self.read_until(b"\n", None if size is None or size < 0 else size)

    def write(self, b: ReadableBuffer, /) -> int:
        """All of `b`, waiting up to write_timeout virtual seconds (0: only what fits now)."""
        vw, _ = self._open()
        view = memoryview(b).cast("B")
        total = len(view)
        timeout = self.write_timeout
        with vw.lock:
            until = self._until(timeout)
            tx, wire = self._tx, self._wire
            done = 0
            while True:
                room = TX_BUFFER - len(tx)
                if room > 0 and done < total:
                    n = min(room, total - done)
                    tx.extend(to_modem(bytes(view[done : done + n]), wire))
                    done += n
                    self._kick()
                if done >= total or timeout == 0:
                    return done
                if vw.clock.now() >= until:
                    raise SerialTimeoutException("Write timeout")
                if not vw.run(until, self._tx_has_room):
                    if not self.is_open:
                        raise PortNotOpenError()
                    if until == _NEVER:  # nothing left that would ever drain the buffer
                        raise SerialTimeoutException("Write timeout (the port can never send)")

    def flush(self) -> None:
        """Run the world until the UART has handed every written byte to the modem."""
        vw = self._vw
        if not self.is_open or vw is None:
            return  # io's close() flushes, also after the port is closed
        with vw.lock:
            tx = self._tx
            vw.run(_NEVER, lambda: not tx)

    def reset_input_buffer(self) -> None:
        vw, _ = self._open()
        with vw.lock:
            self._rx.clear()
            self._sync_modem_flow()

    def reset_output_buffer(self) -> None:
        vw, _ = self._open()
        with vw.lock:
            self._tx.clear()
            self._cancel_tx()

    def cancel_read(self) -> None:
        self._read_cancelled = True

    def cancel_write(self) -> None:
        pass

    # ----- the UART: transmit -----

    def _kick(self) -> None:
        """Start the next slice when there is something to send and the line lets us."""
        vw, host = self._vw, self._host
        if self._tx_timer is not None or not self._tx or vw is None or host is None:
            return
        if (self.rtscts and not host.lines.cts) or (self.xonxoff and self._xoff):
            return
        cps = self._chars_per_second
        n = min(len(self._tx), max(TX_SLICE_MIN, int(cps * TX_SLICE)))
        self._tx_inflight = n
        self._tx_timer = vw.clock.call_at(vw.clock.now() + n / cps, self._transmitted)

    def _transmitted(self) -> None:
        """A slice has gone over the wire: the modem has it."""
        self._tx_timer = None
        host = self._host
        if host is None or not self.is_open:
            return
        n = min(self._tx_inflight, len(self._tx))
        data = bytes(self._tx[:n])
        del self._tx[:n]
        if data:
            host.from_dte(data)
        self._kick()

    def _tx_has_room(self) -> bool:
        return len(self._tx) < TX_BUFFER or not self.is_open

    def _cancel_tx(self) -> None:
        if self._tx_timer is not None:
            self._tx_timer.cancel()
            self._tx_timer = None

    def _lines_changed(self, lines: ModemLines) -> None:
        if lines.cts:
            self._kick()

    # ----- the UART: receive -----

    def _from_modem(self, data: bytes) -> None:
        """The modem's output (called inside its pump: modem calls are deferred)."""
        data = to_dte(data, self._wire)
        if self.xonxoff and (XON in data or XOFF in data):
            last = max(data.rfind(XON), data.rfind(XOFF))
            self._xoff = data[last] == XOFF
            data = data.translate(None, _FLOW_CHARS)
            self._kick()
        room = RX_HARD_CAP - len(self._rx)
        if len(data) > room:
            self.rx_lost += len(data) - room
            data = data[: max(0, room)]
        self._rx += data
        self._defer_sync()

    def _take(self, n: int) -> bytes:
        out = bytes(self._rx[:n])
        del self._rx[:n]
        if n:
            self._sync_modem_flow()
        return out

    def _defer_sync(self) -> None:
        vw = self._vw
        if self._sync_pending or vw is None:
            return
        self._sync_pending = True

        def sync() -> None:
            self._sync_pending = False
            if self.is_open:
                self._sync_modem_flow()

        vw.clock.call_at(vw.clock.now(), sync)

    def _sync_modem_flow(self) -> None:
        """Tell the modem RTS and output-paused as the receive buffer's fill says."""
        host = self._host
        if host is None or not self.is_open:
            return
        fill = len(self._rx)
        if self.rtscts:
            self._rx_held = fill >= RX_RTS_OFF or (self._rx_held and fill >= RX_RTS_ON)
            rts = not self._rx_held
        else:
            rts = bool(self.rts)
        if rts != self._rts_sent:
            self._rts_sent = rts
            host.set_rts(rts)
        paused = fill >= RX_CAPACITY
        if paused != self._paused_sent:
            self._paused_sent = paused
            host.set_output_paused(paused)

    # ----- inside -----

    def _until(self, timeout: float | None) -> float:
        vw = self._vw
        assert vw is not None
        return _NEVER if timeout is None else vw.clock.now() + timeout

    def _open(self) -> tuple[VirtualWorld, ModemHost]:
        if not self.is_open or self._vw is None or self._host is None:
            raise PortNotOpenError()
        return self._vw, self._host

    def _lines(self) -> ModemLines:
        vw, host = self._open()
        with vw.lock:
            return host.lines
