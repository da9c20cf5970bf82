"""The modem on a real serial device (a USB-serial adapter, a UART, a socat pty).

The DTE is on the far end of a null-modem cable, so our port's pins are wired to
the DTE's crossed over:

    modem CTS          -> our RTS pin  -> the DTE's CTS
    modem DCD (+ DSR)  -> our DTR pin  -> the DTE's DCD and DSR
    the DTE's DTR      -> our DSR (or DCD) input
    the DTE's RTS      -> our CTS input
    modem RI           -> no pin on a null-modem cable; not carried

The inputs are polled every 50 ms (there is no interrupt for them). A device with
no modem lines (a pty behind a symlink) fails those ioctls with ENOTTY; then the
DTE's DTR and RTS count as on and our outputs are not driven. The modem's flow
control (&K, &H/&R, +IFC) is applied to the UART itself: RTS/CTS in the kernel,
XON/XOFF in the line discipline.

A device that disappears (USB unplugged, the pty's other end gone) does not stop
the modem: it sees the DTE's DTR drop, as with a pulled cable, and the port is
reopened every 0.5 s until the device is back.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from collections.abc import Callable

import serial
import serial_asyncio_fast

from modememu.drivers.errors import PortError
from modememu.drivers.host import ModemHost
from modememu.modem.modem import DteFormat, ModemLines

POLL_INTERVAL = 0.05
RETRY_INTERVAL = 0.5


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class _DeviceProtocol(asyncio.Protocol):
    def __init__(self, port: SerialDevicePort) -> None:
        self.port = port

    def data_received(self, data: bytes) -> None:
        self.port.host.from_dte(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.port._lost(self)


class SerialDevicePort:
    """Serves `host` on `device` at `baud` (call `open`, later `close`)."""

    def __init__(
        self,
        host: ModemHost,
        device: str,
        baud: int,
        loop: asyncio.AbstractEventLoop,
        *,
        report: Callable[[str], None] = _stderr_line,
    ) -> None:
        self.host = host
        self.device = device
        self.baud = baud
        self.loop = loop
        self.report = report
        self._serial: serial.Serial | None = None
        self._transport: serial_asyncio_fast.SerialTransport | None = None
        self._protocol: _DeviceProtocol | None = None
        self._pins_out = True  # our RTS/DTR pins can be driven
        self._pins_in = True  # our CTS/DSR/DCD inputs can be read
        self._dte: tuple[bool, bool] | None = None  # (DTR, RTS) last given to the modem
        self._timer: asyncio.TimerHandle | None = None
        self._ticks_down = 0  # poll ticks since the device was last tried
        self._closed = False

    def open(self) -> None:
        """First open: any failure is the user's to fix, so it is a `PortError`."""
        self._connect()
        self.host.set_dte_format(DteFormat(self.baud))
        self.host.attach(self._write)
        self.host.line_listeners.append(self._drive_pins)
        self.host.flow_listeners.append(self._apply_flow)
        self.host.rate_listeners.append(self._apply_rate)
        self._timer = self.loop.call_later(POLL_INTERVAL, self._tick)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.host.detach()
        if self._drive_pins in self.host.line_listeners:
            self.host.line_listeners.remove(self._drive_pins)
        if self._apply_flow in self.host.flow_listeners:
            self.host.flow_listeners.remove(self._apply_flow)
        if self._apply_rate in self.host.rate_listeners:
            self.host.rate_listeners.remove(self._apply_rate)
        transport, port = self._transport, self._serial
        self._transport = self._serial = self._protocol = None
        if transport is not None:
            transport.abort()  # stops reading now; its connection_lost is ignored
        if port is not None:
            port.close()

    # ----- opening -----

    def _connect(self) -> None:
        try:
            port = serial.serial_for_url(self.device, baudrate=self.baud, do_not_open=True)
            port.exclusive = True  # another program on the same device is an error, not a muddle
            port.open()
        except (OSError, ValueError) as exc:
            raise PortError(_open_error(self.device, exc)) from None
        self._serial = port
        self._protocol = _DeviceProtocol(self)
        self._transport = serial_asyncio_fast.SerialTransport(self.loop, self._protocol, port)
        self._pins_out = self._pins_in = True
        self._dte = None
        self._apply_flow(self.host.modem.flow.uart_rtscts, self.host.modem.flow.xon_xoff)
        self._drive_pins(self.host.lines)
        self._read_pins()

    def _lost(self, protocol: _DeviceProtocol) -> None:
        if protocol is not self._protocol or self._closed:
            return  # an old connection, or our own close
        self._transport = self._serial = self._protocol = None
        self.report(f"port {self.device} lost; waiting for it to return")
        self._give_dte(False, False)  # a pulled cable: the DTE's lines read off

    def _retry(self) -> None:
        try:
            self._connect()
        except PortError:
            return
        self.report(f"port {self.device} back")

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        if self._serial is None:
            self._ticks_down += 1
            if self._ticks_down * POLL_INTERVAL >= RETRY_INTERVAL - 1e-9:
                self._ticks_down = 0
                self._retry()
        else:
            self._ticks_down = 0
            self._read_pins()
        self._timer = self.loop.call_later(POLL_INTERVAL, self._tick)

    # ----- data -----

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
        # else: nothing is plugged in, and what a modem sends into an open cable is lost

    # ----- lines -----

    def _drive_pins(self, lines: ModemLines) -> None:
        port = self._serial
        if port is None or not self._pins_out:
            return
        try:
            if not port.rtscts:  # with RTS/CTS on, the kernel drives RTS itself
                port.rts = lines.cts
            port.dtr = lines.dcd
        except OSError:
            self._pins_out = False  # no modem lines on this device (ENOTTY)

    def _read_pins(self) -> None:
        port = self._serial
        if port is None:
            return
        dtr = rts = True  # what a device without modem lines counts as
        if self._pins_in:
            try:
                dtr = bool(port.dsr or port.cd)
                rts = bool(port.cts)
            except OSError:
                self._pins_in = False
                dtr = rts = True
        self._give_dte(dtr, rts)

    def _give_dte(self, dtr: bool, rts: bool) -> None:
        if self._dte == (dtr, rts):
            return
        self._dte = (dtr, rts)
        self.host.set_dtr(dtr)
        self.host.set_rts(rts)

    def _apply_rate(self, rate: int) -> None:
        """A fixed rate from +IPR: the UART follows (its OK went out at the old rate)."""
        if rate == self.baud:
            return
        self.baud = rate
        if self._serial is not None:
            try:
                self._serial.baudrate = rate
            except (OSError, ValueError):
                self.report(f"port {self.device}: cannot set {rate} bit/s")

    def _apply_flow(self, rtscts: bool, xonxoff: bool) -> None:
        port = self._serial
        if port is None:
            return
        try:
            port.rtscts = rtscts
            port.xonxoff = xonxoff
        except (OSError, ValueError):
            pass  # the device keeps what it had; the data still flows
        if not rtscts:
            self._drive_pins(self.host.lines)


def _open_error(device: str, exc: Exception) -> str:
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
        return f"{device}: port busy (another program has it open)"
    if code is not None:
        return f"cannot open {device}: {os.strerror(code)}"
    return f"cannot open {device}: {exc}"
