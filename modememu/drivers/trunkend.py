"""A call whose far end lives in another modememu process, carried as trunk frames."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from modememu.drivers.exchange import Call, Exchange
from modememu.drivers.tcpconn import Connection, TrunkUnexpected
from modememu.line.trunk import Frame, FrameType, TrunkDecoder, encode_data, encode_signal
from modememu.modem.line import (
    Answered,
    Busy,
    Incoming,
    LineCaps,
    LineQuality,
    LineSignal,
    NoDialtone,
    Released,
    Ringback,
)

TRUNK_WINDOW = 64 * 1024  # what a trunk takes from its modem while the socket keeps up
INBOX_LIMIT = 256 * 1024  # received DATA held before the socket is no longer read


class TrunkEnd:
    """The far end of a call that lives in another modememu process (a `LineEnd`).

    Signals become frames and frames become signals; line data travels as DATA
    frames. The socket is not read while the local modem is behind on what
    arrived, so TCP's window carries the far modem's flow control.
    """

    def __init__(
        self,
        exchange: Exchange,
        conn: Connection,
        loop: asyncio.AbstractEventLoop,
        *,
        label: str,
        on_caller: Callable[[TrunkEnd, str, LineCaps, LineQuality], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.conn = conn
        self.loop = loop
        self.peer_label = label
        self.on_caller = on_caller  # the listening side: a CALLER frame starts the call
        self.decoder = TrunkDecoder()
        self.inbox = bytearray()
        self.unexpected = 0
        self.closed = False
        self._out = bytearray()
        self._flush_handle: asyncio.Handle | None = None
        self._write_paused = False
        self._read_paused = False

    @property
    def label(self) -> str:
        return self.peer_label

    @property
    def source(self) -> str:
        return f"trunk {self.peer_label}"

    # ----- the exchange's side (LineEnd) -----

    def signal(self, signal: LineSignal) -> None:
        match signal:
            case Incoming(caller, caps, line):
                fields = caps.to_json() | {"line": line.to_json()}
                self._send(encode_signal(FrameType.CALLER, number=caller, **fields))
            case Ringback():
                self._send(encode_signal(FrameType.RINGING))
            case Answered(caps, line):
                fields = caps.to_json() if caps is not None else {"carrier": False}
                fields["line"] = line.to_json()
                self._send(encode_signal(FrameType.ANSWERED, **fields))
            case Busy():
                self._send(encode_signal(FrameType.BUSY))
                self.close()
            case Released() | NoDialtone():
                self._send(encode_signal(FrameType.HANGUP))
                self.close()

    def pull(self, limit: int) -> bytes:
        inbox = self.inbox
        if not inbox or limit <= 0:
            return b""
        data = bytes(inbox[:limit])
        del inbox[:limit]
        if self._read_paused and len(inbox) < INBOX_LIMIT // 2:
            self._read_paused = False
            self.conn.pause_reading(False)
        return data

    def push(self, data: bytes) -> None:
        if data:
            self._send(encode_data(data))

    def room(self) -> int:
        if self._write_paused or self.closed:
            return 0
        return max(0, TRUNK_WINDOW - len(self._out))

    # ----- the socket's side -----

    def feed(self, data: bytes) -> None:
        if self.closed:
            return
        frames = self.decoder.feed(data)
        now = self.loop.time()
        while (event := self.decoder.next_event()) is not None:
            self.exchange.bus.publish(now, self.source, event)
        got_data = False
        for frame in frames:
            if self._ended():
                return
            if frame.type is FrameType.DATA:
                self.inbox += frame.data
                got_data = True
            else:
                self._frame(frame)
        if self._ended():
            return
        if self.decoder.broken:
            self._hang_up("trunk stream broken")
            return
        if len(self.inbox) >= INBOX_LIMIT and not self._read_paused:
            self._read_paused = True
            self.conn.pause_reading(True)
        if got_data:
            call = self._call()
            if call is not None:
                call.pump()

    def stream_closed(self) -> None:
        if not self.closed:
            self._hang_up("trunk connection lost")

    def writing_paused(self, paused: bool) -> None:
        self._write_paused = paused
        if not paused and not self.closed:
            call = self._call()
            if call is not None:
                call.pump()

    def close(self) -> None:
        if self.closed:
            return
        self._flush()
        self.closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.conn.close()

    # ----- inside -----

    def _call(self) -> Call | None:
        return self.exchange.calls.get(id(self))

    def _ended(self) -> bool:
        """Whether a frame just handled closed the trunk (not narrowed away by mypy)."""
        return self.closed

    def _frame(self, frame: Frame) -> None:
        call = self._call()
        kind = frame.type
        if kind is FrameType.CALLER:
            self._caller(frame, call)
            return
        if kind is FrameType.ROOM:
            return  # credit: TCP's own window does this job here
        if call is None:
            if kind is FrameType.HANGUP:
                self.close()
            elif kind is not FrameType.BUSY:
                self._unexpected(f"{kind.name} outside a call")
            return
        we_were_called = call.callee is self
        if kind is FrameType.HANGUP:
            self.exchange.clear(call, self, "far end hung up")
        elif not we_were_called:
            self._unexpected(f"{kind.name} from a caller")
        elif kind is FrameType.RINGING:
            call.caller.signal(Ringback())
        elif kind is FrameType.ANSWERED:
            caps = None
            if frame.fields.get("carrier", True) is not False:
                caps = LineCaps.from_json(dict(frame.fields))
                if caps is None:
                    self._unexpected("ANSWERED with unreadable capabilities")
                    return
            call.caller.signal(Answered(caps, LineQuality.from_json(frame.fields.get("line"))))
        elif kind is FrameType.BUSY:
            self.exchange.clear(call, self, "busy", busy=True)

    def _caller(self, frame: Frame, call: Call | None) -> None:
        on_caller, self.on_caller = self.on_caller, None
        if on_caller is None or call is not None:
            self._unexpected("CALLER on a call already placed")
            return
        number = frame.fields.get("number")
        caps = LineCaps.from_json(dict(frame.fields))
        if caps is None:
            self._unexpected("CALLER with unreadable capabilities")
            self._hang_up("bad CALLER frame")
            return
        if isinstance(number, str) and number.isprintable() and 0 < len(number) <= 64:
            self.peer_label = number
        on_caller(self, self.peer_label, caps, LineQuality.from_json(frame.fields.get("line")))

    def _hang_up(self, reason: str) -> None:
        self._send(encode_signal(FrameType.HANGUP))
        call = self._call()
        if call is not None:
            self.exchange.clear(call, self, reason)
        self.close()

    def _unexpected(self, reason: str) -> None:
        self.unexpected += 1
        self.exchange.bus.publish(
            self.loop.time(), self.source, TrunkUnexpected(reason, self.unexpected)
        )

    def _send(self, frame: bytes) -> None:
        if self.closed:
            return
        self._out += frame
        if self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._out and not self.closed:
            data = bytes(self._out)
            self._out.clear()
            self.conn.write(data)


