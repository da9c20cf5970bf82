"""Calls over TCP: dialing hosts and other modememu processes, and being called.

Dialing out (`TcpDialer`): a host that greets with the trunk OFFER is another
modememu, and the call continues as trunk frames through a `TrunkEnd`, so
ringing, busy, the far modem's capabilities and hangups cross the wire. Any
other host (a BBS, raw or telnet per phonebook entry) is answered by a hidden
far modem whose DTE is the socket: the caller still hears ringing, trains and
gets CONNECT at a modem's pace.

Being called (`TcpListener`): every connection is offered the trunk at once. A
modememu caller accepts and says who calls; any other client (silent, typing,
or a telnet client refusing the offer) gets a gateway modem that dials the
target on its behalf, so the target modem rings, answers and trains as it
would for a modem call.

Connection failures map to what a modem hears (at-commands.md §4.5): a name
that does not resolve is NO DIALTONE, a refused connection is BUSY, anything
else is a line that goes dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modememu.drivers.exchange import Call, Exchange
from modememu.drivers.execdte import ExecDte
from modememu.drivers.farmodem import DEFAULT_ANSWER_PROFILE, far_modem
from modememu.drivers.host import ModemHost
from modememu.drivers.streamdte import StreamDte
from modememu.events import Event
from modememu.line.telnet import TelnetCodec
from modememu.line.trunk import (
    ACCEPT,
    OFFER,
    REFUSE,
    Frame,
    FrameType,
    TrunkDecoder,
    classify_offer,
    encode_data,
    encode_signal,
)
from modememu.modem.dialstring import DialPlan
from modememu.modem.line import (
    Answered,
    Busy,
    Incoming,
    LineCaps,
    LineSignal,
    NoDialtone,
    Released,
    Ringback,
)
from modememu.phonebook import Entry
from modememu.profiles import load_profile

CONNECT_TIMEOUT = 30.0
PROBE_SECONDS = 0.3  # how long the first bytes may take to tell a trunk from a plain host
CALLER_WAIT = 5.0  # after ACCEPT, how long the CALLER frame may take
TRUNK_WINDOW = 64 * 1024  # what a trunk takes from its modem while the socket keeps up
INBOX_LIMIT = 256 * 1024  # received DATA held before the socket is no longer read
GATEWAY_PROFILE = DEFAULT_ANSWER_PROFILE
# The hidden modems' DTE is a socket, not a person: no escape, no echo, no result codes.
GATEWAY_SETUP = b"ATE0Q1&C1&D2S2=128\r"
SOURCE = "tcp"


# ----- events -----


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


# ----- one TCP connection -----


class _Receiver(Protocol):
    def feed(self, data: bytes) -> None: ...

    def stream_closed(self) -> None: ...

    def writing_paused(self, paused: bool) -> None: ...


class _Conn(asyncio.Protocol):
    """A socket that first collects its opening bytes, then hands everything to a receiver."""

    def __init__(
        self,
        on_made: Callable[[_Conn], None] | None = None,
        on_lost: Callable[[_Conn], None] | None = None,
    ) -> None:
        self.on_made = on_made
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.first = bytearray()
        self.lost = False
        self.paused = False
        self.peer = "?"
        self.receiver: _Receiver | None = None
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

    def hand_over(self, receiver: _Receiver) -> None:
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


# ----- a call over a trunk -----


class TrunkEnd:
    """The far end of a call that lives in another modememu process (a `LineEnd`).

    Signals become frames and frames become signals; line data travels as DATA
    frames. The socket is not read while the local modem is behind on what
    arrived, so TCP's window carries the far modem's flow control.
    """

    def __init__(
        self,
        exchange: Exchange,
        conn: _Conn,
        loop: asyncio.AbstractEventLoop,
        *,
        label: str,
        on_caller: Callable[[TrunkEnd, str, LineCaps], None] | None = None,
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
            case Incoming(caller, caps):
                self._send(encode_signal(FrameType.CALLER, number=caller, **caps.to_json()))
            case Ringback():
                self._send(encode_signal(FrameType.RINGING))
            case Answered(caps):
                fields = caps.to_json() if caps is not None else {"carrier": False}
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
            call.caller.signal(Answered(caps))
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
        on_caller(self, self.peer_label, caps)

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


# ----- dialing out -----


class TcpDialer:
    """The exchange's way to TCP hosts and programs (its `Dialer`)."""

    def __init__(
        self, exchange: Exchange, loop: asyncio.AbstractEventLoop, *, pacing: bool = True
    ) -> None:
        self.exchange = exchange
        self.loop = loop
        self.pacing = pacing
        self._tasks: set[asyncio.Task[None]] = set()

    def dial_host(self, call: Call, plan: DialPlan, caps: LineCaps, entry: Entry | None) -> None:
        address = plan.host if plan.host is not None else entry.host if entry else None
        if address is None:
            self._fail(call, "?", 0, "no host to dial", "no dial tone")
            return
        if entry is None:
            name = f"{address[0]}:{address[1]}"
            entry = Entry(number=name, kind="tcp", host=address, rings=1)
        task = self.loop.create_task(self._dial(call, address, caps, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

        def give_up() -> None:  # the caller hung up: stop connecting
            task.cancel()

        call.on_clear.append(give_up)

    def answer_exec(self, call: Call, entry: Entry, caps: LineCaps) -> None:
        host = far_modem(self.exchange, call, entry, pacing=self.pacing, digital=True)
        program = ExecDte(host, self.loop, entry.argv)
        call.on_clear.append(program.close)
        self.exchange.connect(call, host, caps)

    async def close(self) -> None:
        """Abandon dials still connecting (their callers hear the line go dead)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _dial(
        self, call: Call, address: tuple[str, int], caps: LineCaps, entry: Entry
    ) -> None:
        host, port = address
        self._publish(TcpDialing(host, port))
        conn: _Conn | None = None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                conn = await self._connect(host, port)
                await conn.probe(lambda first: classify_offer(first) is not None, PROBE_SECONDS)
        except socket.gaierror as exc:
            self._fail(call, host, port, f"cannot resolve: {exc.strerror}", "no dial tone")
            return
        except ConnectionRefusedError:
            self._fail(call, host, port, "connection refused", "busy")
            return
        except TimeoutError:
            self._fail(call, host, port, "no answer in time", "released")
            if conn is not None:
                conn.close()
            return
        except OSError as exc:
            self._fail(call, host, port, exc.strerror or str(exc), "released")
            return
        except asyncio.CancelledError:
            if conn is not None:
                conn.close()
            raise
        if call.cleared:
            conn.close()
            return
        first = bytes(conn.first)
        if classify_offer(first):
            self._join_trunk(call, conn, caps, entry, first[len(OFFER) :])
        else:
            self._join_host(call, conn, caps, entry, first)

    async def _connect(self, host: str, port: int) -> _Conn:
        """Try each address of `host`; refused anywhere (and nothing answering) is busy.

        Done here rather than by create_connection, which on Python 3.11 folds
        the errors of several addresses (localhost: ::1 and 127.0.0.1) into one
        plain OSError, losing the refusal.
        """
        infos = await self.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        errors: list[OSError] = []
        for *_, sockaddr in infos:
            try:
                _, conn = await self.loop.create_connection(_Conn, str(sockaddr[0]), port)
            except OSError as exc:
                errors.append(exc)
            else:
                return conn
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        raise (refused or errors or [OSError(f"no address for {host}")])[0]

    def _join_trunk(
        self, call: Call, conn: _Conn, caps: LineCaps, entry: Entry, rest: bytes
    ) -> None:
        conn.write(ACCEPT)
        trunk = TrunkEnd(self.exchange, conn, self.loop, label=entry.number)
        self._publish(TcpConnected(conn.peer, "trunk", incoming=False))
        call.on_clear.append(trunk.close)
        self.exchange.connect(call, trunk, caps)  # Incoming: the trunk sends CALLER
        if rest:
            trunk.feed(rest)
        conn.hand_over(trunk)

    def _join_host(
        self, call: Call, conn: _Conn, caps: LineCaps, entry: Entry, first: bytes
    ) -> None:
        host = far_modem(self.exchange, call, entry, pacing=self.pacing, digital=True)
        codec = TelnetCodec() if entry.telnet else None
        dte = StreamDte(host, self.loop, conn, telnet=codec)
        self._publish(TcpConnected(conn.peer, "telnet" if codec else "raw", incoming=False))
        call.on_clear.append(dte.close)
        dte.feed(first)  # a banner sent at connect waits for carrier
        conn.hand_over(dte)
        self.exchange.connect(call, host, caps)

    def _fail(self, call: Call, host: str, port: int, reason: str, heard: str) -> None:
        if call.cleared:
            return
        self._publish(TcpFailed(host, port, reason, heard))
        if heard == "no dial tone":
            # The caller is told NO DIALTONE, not Released: clear as if it had ended the call.
            self.exchange.clear(call, call.caller, f"tcp {host}:{port}: {reason}")
            call.caller.signal(NoDialtone())
        else:
            self.exchange.clear(call, None, f"tcp {host}:{port}: {reason}", busy=heard == "busy")

    def _publish(self, event: Event) -> None:
        self.exchange.bus.publish(self.loop.time(), SOURCE, event)


# ----- being called -----


def _answer_known(first: bytes) -> bool:
    """Whether a client's first bytes tell a trunk ACCEPT from anything else yet."""
    return not (ACCEPT.startswith(first) or REFUSE.startswith(first))


class TcpListener:
    """Takes TCP connections as calls to one modem (`target`) of this process."""

    def __init__(
        self,
        exchange: Exchange,
        target: ModemHost,
        host: str,
        port: int,
        *,
        pacing: bool = True,
    ) -> None:
        self.exchange = exchange
        self.target = target
        self.host = host
        self.port = port
        self.pacing = pacing
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        """Listen; returns the address actually bound (port 0 picks a free one)."""
        self._loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Conn(self._accepted, self._conns.discard), self.host, self.port
        )
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def close(self) -> None:
        """Stop listening and drop every connection (their calls end as line drops)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._conns):
            conn.close()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # ----- one connection -----

    def _accepted(self, conn: _Conn) -> None:
        assert self._loop is not None
        conn.write(OFFER)
        self._conns.add(conn)
        task = self._loop.create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: _Conn) -> None:
        await conn.probe(_answer_known, PROBE_SECONDS)
        first = bytes(conn.first)
        if first.startswith(ACCEPT):
            self._trunk_caller(conn, first[len(ACCEPT) :])
        else:
            self._raw_caller(conn, first.replace(REFUSE, b"", 1))

    def _target_busy(self) -> bool:
        """The target's line is in use: the exchange gives busy without ringing it."""
        return id(self.target) in self.exchange.calls

    def _trunk_caller(self, conn: _Conn, rest: bytes) -> None:
        assert self._loop is not None
        trunk = TrunkEnd(
            self.exchange, conn, self._loop, label=conn.peer, on_caller=self._trunk_called
        )
        self._publish(TcpConnected(conn.peer, "trunk", incoming=True))
        if rest:
            trunk.feed(rest)
        conn.hand_over(trunk)

        def no_caller() -> None:
            if trunk.on_caller is not None and not trunk.closed:
                trunk.on_caller = None
                trunk.close()

        self._loop.call_later(CALLER_WAIT, no_caller)

    def _trunk_called(self, trunk: TrunkEnd, number: str, caps: LineCaps) -> None:
        if self._target_busy():
            self._publish(TcpRefused(trunk.conn.peer, "busy"))
            trunk.signal(Busy())
            return
        call = self.exchange.incoming(trunk, self.target, caps)
        if call.cleared:
            return  # refused at once: the trunk heard Busy or Released and closed
        call.on_clear.append(trunk.close)

    def _raw_caller(self, conn: _Conn, first: bytes) -> None:
        assert self._loop is not None
        loop = self._loop
        if self._target_busy():
            self._publish(TcpRefused(conn.peer, "busy"))
            conn.write(b"BUSY\r\n")
            conn.close()
            return
        gateway = ModemHost(
            load_profile(GATEWAY_PROFILE),
            self.exchange.clock,
            self.exchange.bus,
            name=f"gw-{conn.peer}",
            pacing=self.pacing,
        )
        gateway.modem.digital = True
        gateway.from_dte(GATEWAY_SETUP)
        gateway.plug(self.exchange)
        dte = StreamDte(gateway, loop, conn)

        def unplug() -> None:  # later: this may run inside the gateway's own pump
            loop.call_soon(gateway.close)

        dte.on_close.append(unplug)
        self._publish(TcpConnected(conn.peer, "raw", incoming=True))
        dte.feed(first)
        conn.hand_over(dte)
        if conn.lost:  # gone before the call was placed: no call at all
            dte.close()
            return
        gateway.driver.input(gateway.modem.originate)
        call = self.exchange.incoming(gateway, self.target, gateway.caps())

        def cleared() -> None:
            if dte.was_up:
                return  # the gateway's carrier falls after S10 and closes the socket
            reason = "busy" if call.busy else "refused"
            self._publish(TcpRefused(conn.peer, reason))
            if call.busy:
                conn.write(b"BUSY\r\n")
            dte.close()

        if call.cleared:
            cleared()
        else:
            call.on_clear.append(cleared)

    def _publish(self, event: Event) -> None:
        self.exchange.bus.publish(self.exchange.clock.now(), SOURCE, event)
