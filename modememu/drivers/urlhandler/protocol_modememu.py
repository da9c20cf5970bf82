"""pyserial URL `modememu://NAME?profile=P&number=N`: an emulated modem in this process.

With `clock=virtual` the modem lives in the process's virtual-time world instead
(`drivers.virtualport`, chosen by `serial_class_for_url`); what follows is the
real-time kind (`clock=real`, the default).

The port is one end of a socket pair; the modem (on the in-process loop thread,
see `drivers.inprocess`) serves the other. Settings and DTR/RTS go to the modem
and are applied before the setter returns, so reading CTS/DSR/RI/CD right after
sees their effect. A 7-bit framing is put on the wire as an 8N1 UART would
receive it (see `drivers.wire`), so the modem detects the DTE's parity from its
"AT" as a real one does.
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import termios
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    SerialTimeoutException,
)

from modememu.at.parity import Parity
from modememu.drivers import inprocess
from modememu.drivers.host import ModemHost
from modememu.drivers.wire import check_framing, dte_format, to_dte, to_modem, wire_parity
from modememu.profiles import DEFAULT_PROFILE, ProfileError, load_profile

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_OPTIONS = ("profile", "number", "force8n1", "clock")
_CLOCKS = ("real", "virtual")
_USAGE = "expected modememu://NAME[?profile=P&number=N&force8n1=1&clock=real|virtual]"


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """NAME and the options of a modememu:// URL; SerialException when malformed."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "modememu":
        raise SerialException(f"{_USAGE}, got {url!r}")
    name = parts.netloc or parts.path.lstrip("/")
    if not name or "/" in name:
        raise SerialException(f"{_USAGE}: no modem NAME in {url!r}")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise SerialException(f"{_USAGE}: bad query string {parts.query!r}") from None
    options: dict[str, str] = {}
    for key, values in query.items():
        if key not in _OPTIONS:
            raise SerialException(f"{_USAGE}: unknown option {key!r}")
        if len(values) != 1:
            raise SerialException(f"{_USAGE}: option {key!r} given more than once")
        options[key] = values[0]
    if options.get("clock", "real") not in _CLOCKS:
        raise SerialException(
            f"{_USAGE}: option 'clock' must be 'real' or 'virtual', got {options['clock']!r}"
        )
    return name, options


def serial_class_for_url(url: str) -> tuple[str, type[SerialBase]]:
    """pyserial's hook: the virtual-time port class for `clock=virtual`, else `Serial`.

    A malformed URL gets `Serial`, whose `open` says what is wrong with it.
    """
    try:
        _, options = parse_url(url)
    except SerialException:
        return url, Serial
    if options.get("clock") == "virtual":
        from modememu.drivers.virtualport import VirtualPort  # noqa: PLC0415 - it imports us

        return url, VirtualPort
    return url, Serial


class Serial(SerialBase):
    """A pyserial port whose far end is an emulated modem."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sock: socket.socket | None = None
        self._host: ModemHost | None = None
        self._name = ""
        self._runtime: inprocess.Runtime | None = None
        self._cancel_r, self._cancel_w = -1, -1
        super().__init__(*args, **kwargs)

    # ----- opening and closing -----

    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self.port is None:
            raise SerialException("Port must be configured before it can be used.")
        name, options = parse_url(self.port)
        if options.get("clock") == "virtual":
            raise SerialException(
                f"modememu://{name}?clock=virtual: open it with serial.serial_for_url()"
            )
        try:
            profile = load_profile(options.get("profile", DEFAULT_PROFILE))
        except ProfileError as exc:
            raise SerialException(str(exc)) from None
        force_8n1 = options.get("force8n1", "0") not in ("", "0", "no", "false")
        check_framing(self.baudrate, self.bytesize, self.parity, self.stopbits)
        runtime = inprocess.runtime()
        ours, theirs = socket.socketpair()
        try:
            host = runtime.open(
                name, profile, theirs, number=options.get("number", ""), force_8n1=force_8n1
            )
        except BaseException as exc:
            ours.close()
            theirs.close()
            if isinstance(exc, inprocess.PortBusyError):
                raise SerialException(str(exc)) from None
            raise
        ours.setblocking(False)
        self._sock, self._host, self._name, self._runtime = ours, host, name, runtime
        self._cancel_r, self._cancel_w = os.pipe()
        os.set_blocking(self._cancel_r, False)
        self.is_open = True
        try:
            self._reconfigure_port()
            if not self.dsrdtr:
                self._update_dtr_state()
            if not self.rtscts:
                self._update_rts_state()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            runtime, name = self._runtime, self._name
            if runtime is not None:
                runtime.close(name)
            if self._sock is not None:
                self._sock.close()
            for fd in (self._cancel_r, self._cancel_w):
                if fd >= 0:
                    os.close(fd)
            self._sock, self._host, self._runtime = None, None, None
            self._cancel_r = self._cancel_w = -1
        super().close()

    def from_url(self, url: str) -> None:
        parse_url(url)

    def fileno(self) -> int:
        """The socket's fd: asyncio adapters wait on it with add_reader."""
        return self._socket().fileno()

    # ----- settings go to the modem -----

    def _reconfigure_port(self) -> None:
        check_framing(self.baudrate, self.bytesize, self.parity, self.stopbits)
        fmt = dte_format(self.baudrate, self.bytesize, self.parity, self.stopbits)
        host = self._open_host()
        self._on_loop(lambda: host.set_dte_format(fmt))

    def _update_dtr_state(self) -> None:
        host, on = self._open_host(), self.dtr
        self._on_loop(lambda: host.set_dtr(on))

    def _update_rts_state(self) -> None:
        host, on = self._open_host(), self.rts
        self._on_loop(lambda: host.set_rts(on))

    def _update_break_state(self) -> None:
        pass  # the modem core has no BREAK input yet

    @property
    def _wire(self) -> Parity:
        return wire_parity(self.bytesize, self.parity)

    # ----- the modem's lines -----

    @property
    def cts(self) -> bool:
        return self._open_host().lines.cts

    @property
    def dsr(self) -> bool:
        return self._open_host().lines.dsr

    @property
    def ri(self) -> bool:
        return self._open_host().lines.ri

    @property
    def cd(self) -> bool:
        return self._open_host().lines.dcd

    # ----- data -----

    @property
    def in_waiting(self) -> int:
        return _ioctl_int(self._socket(), termios.FIONREAD)

    @property
    def out_waiting(self) -> int:
        return _ioctl_int(self._socket(), termios.TIOCOUTQ)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes: timeout None waits for all, 0 takes what is there, >0 waits."""
        sock = self._socket()
        timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        data = bytearray()
        while len(data) < size:
            if timeout != 0:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([sock.fileno(), self._cancel_r], [], [], wait)
                if self._cancel_r in ready:
                    _drain(self._cancel_r)
                    break
                if not ready:
                    break
            try:
                chunk = sock.recv(size - len(data))
            except BlockingIOError:
                chunk = None
            except OSError as exc:
                raise SerialException(f"read failed: {exc}") from None
            if chunk == b"":
                raise SerialException("the modem went away (port closed?)")
            if chunk:
                data += chunk
            if timeout == 0:
                break
        return to_dte(bytes(data), self._wire)

    def write(self, b: ReadableBuffer, /) -> int:
        """All of `b`, waiting up to write_timeout (0: only what fits now, and say how much)."""
        sock = self._socket()
        data = to_modem(bytes(memoryview(b)), self._wire)
        timeout = self.write_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        sent = 0
        while sent < len(data):
            try:
                sent += sock.send(data[sent:])
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise SerialException(f"write failed: {exc}") from None
            if timeout == 0:
                break
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            _, ready, _ = select.select([], [sock.fileno()], [], wait)
            if not ready:
                raise SerialTimeoutException("Write timeout")
        return sent

    def flush(self) -> None:
        """Wait until the modem's side has taken everything written."""
        sock = self._sock
        while self.is_open and sock is not None and _ioctl_int(sock, termios.TIOCOUTQ):
            select.select([], [], [], 0.001)

    def reset_input_buffer(self) -> None:
        sock = self._socket()
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            pass

    def reset_output_buffer(self) -> None:
        self._socket()  # written bytes are already the modem's: nothing to take back

    def cancel_read(self) -> None:
        if self._cancel_w >= 0:
            os.write(self._cancel_w, b"x")

    def cancel_write(self) -> None:
        pass

    # ----- inside -----

    def _socket(self) -> socket.socket:
        if not self.is_open or self._sock is None:
            raise PortNotOpenError()
        return self._sock

    def _open_host(self) -> ModemHost:
        if not self.is_open or self._host is None:
            raise PortNotOpenError()
        return self._host

    def _on_loop(self, fn: Callable[[], None]) -> None:
        assert self._runtime is not None
        self._runtime.call(fn)


def _ioctl_int(sock: socket.socket, request: int) -> int:
    try:
        raw = fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", raw)[0])


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except BlockingIOError:
        pass
