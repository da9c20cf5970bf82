"""The modem as an RFC 2217 server: a serial port over Telnet, with its lines and framing.

pyserial's `PortManager` does the Telnet and COM-PORT-OPTION work; it is given a
`HostAdapter` where it expects a serial port, so the client's baud rate, framing,
DTR and RTS reach the modem and the modem's CTS/DSR/RI/DCD reach the client
(NOTIFY_MODEMSTATE, sent whenever they change). One client at a time, as one
serial port has one DTE; a client that goes away drops DTR, as closing a real
port does (HUPCL).
"""

from __future__ import annotations

import asyncio

from serial import rfc2217

from modememu.at.parity import Parity
from modememu.drivers.errors import PortError
from modememu.drivers.host import ModemHost
from modememu.drivers.wire import check_framing, dte_format, to_dte, to_modem, wire_parity
from modememu.modem.modem import ModemLines

BUSY_MESSAGE = b"modememu: port busy (another RFC 2217 client is connected)\r\n"


class HostAdapter:
    """What `PortManager` takes for a serial port, backed by a `ModemHost`."""

    def __init__(self, host: ModemHost) -> None:
        self.host = host
        self.name = host.name
        fmt = host.modem.dte_format
        self._baudrate = fmt.rate
        self._bytesize = 8
        self._parity = "N"
        self._stopbits: float = 1
        self.xonxoff = False
        self.rtscts = False
        self.break_condition = False
        self._rts = True
        self._dtr = True

    # ----- framing: every change is the modem's DTE format -----

    @property
    def baudrate(self) -> int:
        return self._baudrate

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        check_framing(value, self._bytesize, self._parity, self._stopbits)
        self._baudrate = value
        self._push_format()

    @property
    def bytesize(self) -> int:
        return self._bytesize

    @bytesize.setter
    def bytesize(self, value: int) -> None:
        check_framing(self._baudrate, value, self._parity, self._stopbits)
        self._bytesize = value
        self._push_format()

    @property
    def parity(self) -> str:
        return self._parity

    @parity.setter
    def parity(self, value: str) -> None:
        check_framing(self._baudrate, self._bytesize, value, self._stopbits)
        self._parity = value
        self._push_format()

    @property
    def stopbits(self) -> float:
        return self._stopbits

    @stopbits.setter
    def stopbits(self, value: float) -> None:
        check_framing(self._baudrate, self._bytesize, self._parity, value)
        self._stopbits = value
        self._push_format()

    @property
    def wire_parity(self) -> Parity:
        return wire_parity(self._bytesize, self._parity)

    def _push_format(self) -> None:
        self.host.set_dte_format(
            dte_format(self._baudrate, self._bytesize, self._parity, self._stopbits)
        )

    # ----- the DTE's lines -----

    @property
    def rts(self) -> bool:
        return self._rts

    @rts.setter
    def rts(self, value: bool) -> None:
        self._rts = bool(value)
        self.host.set_rts(self._rts)

    @property
    def dtr(self) -> bool:
        return self._dtr

    @dtr.setter
    def dtr(self, value: bool) -> None:
        self._dtr = bool(value)
        self.host.set_dtr(self._dtr)

    # ----- the modem's lines -----

    @property
    def cts(self) -> bool:
        return self.host.lines.cts

    @property
    def dsr(self) -> bool:
        return self.host.lines.dsr

    @property
    def ri(self) -> bool:
        return self.host.lines.ri

    @property
    def cd(self) -> bool:
        return self.host.lines.dcd

    # ----- buffers: the modem core holds none, so purging has nothing to drop -----

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class _Connection:
    """The `connection` side of `PortManager`: Telnet bytes to the client."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)


class _Client(asyncio.Protocol):
    def __init__(self, server: Rfc2217Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.adapter: HostAdapter | None = None
        self.manager: rfc2217.PortManager | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.server.client is not None:
            transport.write(BUSY_MESSAGE)
            transport.close()
            return
        self.server.client = self
        host = self.server.host
        self.adapter = HostAdapter(host)
        connection = _Connection(transport)
        # PortManager is typed for real ports; it only uses the duck-typed subset above.
        self.manager = rfc2217.PortManager(
            self.adapter,  # type: ignore[arg-type]
            connection,  # type: ignore[arg-type]
        )
        host.set_dtr(True)
        host.set_rts(True)
        host.line_listeners.append(self._lines_changed)
        host.attach(self._to_client)

    def data_received(self, data: bytes) -> None:
        manager, adapter = self.manager, self.adapter
        if manager is None or adapter is None:
            return
        if manager.mode == rfc2217.M_NORMAL and manager.suboption is None and b"\xff" not in data:
            payload = data  # nothing for Telnet: skip the byte-at-a-time filter
        else:
            payload = b"".join(manager.filter(data))
        if payload:
            self.server.host.from_dte(to_modem(payload, adapter.wire_parity))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.server.client is not self:
            return
        self.server.client = None
        host = self.server.host
        host.detach()
        if self._lines_changed in host.line_listeners:
            host.line_listeners.remove(self._lines_changed)
        host.set_dtr(False)  # the DTE went away, as a closed port drops DTR

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _to_client(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing() or self.adapter is None:
            return
        data = to_dte(data, self.adapter.wire_parity)
        # PortManager.escape() doubles IAC one byte at a time; this is the same, in one call.
        self.transport.write(data.replace(rfc2217.IAC, rfc2217.IAC_DOUBLED))

    def _lines_changed(self, lines: ModemLines) -> None:
        transport = self.transport
        if self.manager is not None and transport is not None and not transport.is_closing():
            self.manager.check_modem_lines(force_notification=True)


class Rfc2217Server:
    """Listens on (host, port); `start()` returns the address really bound."""

    def __init__(self, host: ModemHost, address: tuple[str, int]) -> None:
        self.host = host
        self.address = address
        self.client: _Client | None = None
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        bind_host, port = self.address
        try:
            self._server = await loop.create_server(
                lambda: _Client(self), bind_host, port, reuse_address=True
            )
        except OSError as exc:
            raise PortError(f"cannot listen on {bind_host}:{port}: {exc.strerror or exc}") from None
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
