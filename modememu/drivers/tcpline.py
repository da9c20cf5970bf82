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

from modememu.drivers.exchange import Call, Exchange
from modememu.drivers.execdte import ExecDte
from modememu.drivers.farmodem import DEFAULT_ANSWER_PROFILE, far_modem, hidden_modem
from modememu.drivers.host import ModemHost
from modememu.drivers.streamdte import StreamDte
from modememu.drivers.tcpconn import (
    SOURCE,
    Connection,
    TcpConnected,
    TcpDialing,
    TcpFailed,
    TcpRefused,
)
from modememu.drivers.trunkend import TrunkEnd
from modememu.events import Event
from modememu.line.telnet import TelnetCodec
from modememu.line.trunk import (
    ACCEPT,
    OFFER,
    REFUSE,
    classify_offer,
)
from modememu.modem.dialstring import DialPlan
from modememu.modem.line import (
    Busy,
    LineCaps,
    LineQuality,
)
from modememu.phonebook import Entry

CONNECT_TIMEOUT = 30.0
PROBE_SECONDS = 0.3  # how long the first bytes may take to tell a trunk from a plain host
CALLER_WAIT = 5.0  # after ACCEPT, how long the CALLER frame may take
GATEWAY_PROFILE = DEFAULT_ANSWER_PROFILE


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
        conn: Connection | None = None
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

    async def _connect(self, host: str, port: int) -> Connection:
        """Try each address of `host`; refused anywhere (and nothing answering) is busy.

        Done here rather than by create_connection, which on Python 3.11 folds
        the errors of several addresses (localhost: ::1 and 127.0.0.1) into one
        plain OSError, losing the refusal.
        """
        infos = await self.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        errors: list[OSError] = []
        for *_, sockaddr in infos:
            try:
                _, conn = await self.loop.create_connection(Connection, str(sockaddr[0]), port)
            except OSError as exc:
                errors.append(exc)
            else:
                return conn
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        raise (refused or errors or [OSError(f"no address for {host}")])[0]

    def _join_trunk(
        self, call: Call, conn: Connection, caps: LineCaps, entry: Entry, rest: bytes
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
        self, call: Call, conn: Connection, caps: LineCaps, entry: Entry, first: bytes
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
            self.exchange.no_dialtone(call, f"tcp {host}:{port}: {reason}")
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
        self._conns: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        """Listen; returns the address actually bound (port 0 picks a free one)."""
        self._loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self._accepted, self._conns.discard), self.host, self.port
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

    def _accepted(self, conn: Connection) -> None:
        assert self._loop is not None
        conn.write(OFFER)
        self._conns.add(conn)
        task = self._loop.create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: Connection) -> None:
        await conn.probe(_answer_known, PROBE_SECONDS)
        first = bytes(conn.first)
        if first.startswith(ACCEPT):
            self._trunk_caller(conn, first[len(ACCEPT) :])
        else:
            self._raw_caller(conn, first.replace(REFUSE, b"", 1))

    def _target_busy(self) -> bool:
        """The target's line is in use: the exchange gives busy without ringing it."""
        return id(self.target) in self.exchange.calls

    def _trunk_caller(self, conn: Connection, rest: bytes) -> None:
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

    def _trunk_called(
        self, trunk: TrunkEnd, number: str, caps: LineCaps, line: LineQuality
    ) -> None:
        if self._target_busy():
            self._publish(TcpRefused(trunk.conn.peer, "busy"))
            trunk.signal(Busy())
            return
        call = self.exchange.incoming(trunk, self.target, caps, line)
        if call.cleared:
            return  # refused at once: the trunk heard Busy or Released and closed
        call.on_clear.append(trunk.close)

    def _raw_caller(self, conn: Connection, first: bytes) -> None:
        assert self._loop is not None
        loop = self._loop
        if self._target_busy():
            self._publish(TcpRefused(conn.peer, "busy"))
            conn.write(b"BUSY\r\n")
            conn.close()
            return
        gateway = hidden_modem(
            self.exchange, f"gw-{conn.peer}", GATEWAY_PROFILE, pacing=self.pacing, digital=True
        )
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
