"""A pty whose slave end, linked at PATH, is the modem's serial port.

Any program that opens PATH talks to the modem as if it were a serial device. A
pty carries data only (no modem lines, no parity: see DESIGN.md §6), but with
packet mode on the master and EXTPROC on the slave the kernel tells us each time
the far program changes the port's settings, so the modem learns its speed.

We keep our own slave fd open for the life of the port: without it the master
reads EIO as soon as the far program closes, and the slave's raw settings would
be lost before the next program opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import sys
import termios
import tty
from pathlib import Path

from modememu.drivers.errors import PortError
from modememu.drivers.host import ModemHost
from modememu.modem.modem import DteFormat

# Linux values; Python's termios module does not export these two.
_EXTPROC = 0o200000
_TIOCPKT_IOCTL = 0x40
_PACKET_MODE = sys.platform.startswith("linux")
_READ_SIZE = 65536
_MAX_BACKLOG = 256 * 1024  # output the far program has not read; beyond it, oldest is lost
_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (
        50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200,
        38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000,
        1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
    )
    if hasattr(termios, f"B{rate}")
}  # fmt: skip
_BAUD_CONSTANTS = {rate: constant for constant, rate in _SPEEDS.items()}


class PtyPort:
    """Serves `host` on a new pty linked at `path` (call `open`, later `close`)."""

    def __init__(self, host: ModemHost, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.path = path
        self.loop = loop
        self.slave_name = ""
        self.dropped = 0  # bytes lost because nobody read the slave
        self._master = -1
        self._slave = -1
        self._backlog = bytearray()
        self._writing = False
        self._linked = False

    def open(self) -> None:
        self._check_path()
        self._master, self._slave = os.openpty()
        try:
            self.slave_name = os.ttyname(self._slave)
            tty.setraw(self._slave)  # no echo, no line editing, no CR/LF mapping: a wire
            attrs = termios.tcgetattr(self._slave)
            speed = _BAUD_CONSTANTS.get(self.host.modem.dte_format.rate)
            if speed is not None:  # a program that sets no speed sees the modem's default
                attrs[4] = attrs[5] = speed
            if _PACKET_MODE:
                attrs[3] |= _EXTPROC
            termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
            if _PACKET_MODE:
                fcntl.ioctl(self._master, termios.TIOCPKT, struct.pack("i", 1))
            os.set_blocking(self._master, False)
            self._link()
        except BaseException:
            self._close_fds()
            raise
        self._settings_changed()
        self.loop.add_reader(self._master, self._readable)
        self.host.attach(self._write)

    def close(self) -> None:
        self.host.detach()
        if self._master >= 0:
            self.loop.remove_reader(self._master)
            if self._writing:
                self.loop.remove_writer(self._master)
                self._writing = False
        self._unlink()
        self._close_fds()

    # ----- the link at PATH -----

    def _check_path(self) -> None:
        path = self.path
        if path.is_symlink():
            if path.exists():
                target = os.readlink(path)
                raise PortError(f"{path} is in use (it links to {target}); not replacing it")
        elif path.exists():
            raise PortError(f"{path} exists and is not a symlink; not replacing it")
        if not path.parent.is_dir():
            raise PortError(f"cannot create {path}: no such directory {path.parent}")

    def _link(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(self.slave_name, tmp)
            os.replace(tmp, self.path)  # a stale (dangling) link is replaced atomically
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise PortError(f"cannot create {self.path}: {exc.strerror or exc}") from None
        self._linked = True

    def _unlink(self) -> None:
        if not self._linked:
            return
        self._linked = False
        with contextlib.suppress(OSError):
            if os.readlink(self.path) == self.slave_name:  # not someone else's by now
                self.path.unlink()

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    # ----- data -----

    def _readable(self) -> None:
        room = self.host.dte_room()
        if room <= 0:
            # The modem holds the DTE off: leave the bytes in the kernel, which stops the
            # far program's writes (a pty's back-pressure), until the modem has room.
            self.loop.remove_reader(self._master)
            self.host.when_room(self._resume_reading)
            return
        try:
            packet = os.read(self._master, min(_READ_SIZE, room + 1))
        except BlockingIOError:
            return
        except OSError:
            # EIO means no slave fd is open: cannot happen while we hold ours, but
            # whatever the error, never spin on it.
            self.loop.remove_reader(self._master)
            self.loop.call_later(0.1, self._resume_reading)
            return
        if not _PACKET_MODE:
            self.host.from_dte(packet)
        elif packet[:1] == b"\x00":
            if len(packet) > 1:
                self.host.from_dte(packet[1:])
        elif packet and packet[0] & _TIOCPKT_IOCTL:
            self._settings_changed()

    def _resume_reading(self) -> None:
        if self._master >= 0:
            self.loop.remove_reader(self._master)
            self.loop.add_reader(self._master, self._readable)

    def _settings_changed(self) -> None:
        """The far program ran tcsetattr: pass its speed on (ptys are always 8N1)."""
        try:
            attrs = termios.tcgetattr(self._master)
        except termios.error:
            return
        rate = _SPEEDS.get(attrs[5])
        if rate:
            self.host.set_dte_format(DteFormat(rate))

    def _write(self, data: bytes) -> None:
        if self._master < 0:
            return
        if self._writing:
            self._queue(data)
            return
        try:
            sent = os.write(self._master, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the pty is going away
        if sent < len(data):
            self._queue(data[sent:])
            self.loop.add_writer(self._master, self._drain)
            self._writing = True
            self.host.set_output_paused(True)

    def _queue(self, data: bytes) -> None:
        self._backlog += data
        excess = len(self._backlog) - _MAX_BACKLOG
        if excess > 0:
            del self._backlog[:excess]
            self.dropped += excess

    def _drain(self) -> None:
        try:
            sent = os.write(self._master, self._backlog)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self._backlog)
        del self._backlog[:sent]
        if not self._backlog:
            self.loop.remove_writer(self._master)
            self._writing = False
            self.host.set_output_paused(False)
