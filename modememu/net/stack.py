"""An IPv4 host with TCP: packets in and out, connections, listeners, a socket-like API.

`receive_packet(packet, now)` takes an IP packet from the link; `next_packet()`
gives the packets to put on it. Between them sit the connections (one
`TcpConnection` each), the listeners, and RFC 9293 §3.5.2's answers for segments
that belong to no connection. Applications either attach to a port with
`serve(port, factory)` or use the calls a socket user knows: `listen`,
`accept`, `connect`, `send`, `receive`, `close`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

from modememu.net import events as ev
from modememu.net.ipv4 import (
    PROTO_TCP,
    Ipv4Error,
    build_ipv4,
    format_address,
    parse_address,
    parse_ipv4,
)
from modememu.net.tcp.app import Application
from modememu.net.tcp.connection import TcpConfig, TcpConnection, TcpState
from modememu.net.tcp.isn import IsnGenerator
from modememu.net.tcp.wire import ACK, RST, SYN, TcpError, TcpSegment, build_tcp, parse_tcp

EPHEMERAL = range(49152, 65536)  # RFC 6335 dynamic ports
NOT_FOR_US = "not addressed to this host"
NOT_SERVED = "protocol not served"

AppFactory = Callable[[], Application]
Key = tuple[bytes, int, int]  # remote address, remote port, local port


class NetStack:
    """One IPv4 address and its TCP; see the module docstring."""

    def __init__(
        self,
        address: str,
        *,
        config: TcpConfig | None = None,
        isn: IsnGenerator | None = None,
        first_port: int = EPHEMERAL.start,
    ) -> None:
        self.address = parse_address(address)
        self.address_text = address
        self.config = config or TcpConfig()
        self._isn = isn or IsnGenerator()
        self._connections: dict[Key, TcpConnection] = {}
        self._by_id: dict[int, TcpConnection] = {}
        self._listeners: dict[int, AppFactory | None] = {}
        self._accept_queue: dict[int, deque[int]] = {}
        self._ids = itertools.count(1)
        self._ident = itertools.count(1)
        if first_port not in EPHEMERAL:
            raise ValueError(f"first ephemeral port must be in {EPHEMERAL.start}..65535")
        self._next_port = first_port
        self._out: deque[bytes] = deque()
        self._events: deque[ev.NetEvent] = deque()
        self._names: dict[bytes, str] = {}
        self.dropped = 0

    # -- the link side -----------------------------------------------------------

    def receive_packet(self, packet: bytes, now: float) -> None:
        """One IPv4 packet from the link; anything malformed is dropped and reported."""
        try:
            ip = parse_ipv4(packet)
        except Ipv4Error as error:
            self._drop("ip", error.reason, len(packet))
            return
        if ip.dst != self.address:
            self._drop("ip", NOT_FOR_US, len(packet))
            return
        if ip.protocol != PROTO_TCP:
            self._drop("ip", f"{NOT_SERVED} ({ip.protocol})", len(packet))
            return
        try:
            seg = parse_tcp(ip.src, ip.dst, ip.payload)
        except TcpError as error:
            self._drop("tcp", error.reason, len(ip.payload))
            return
        self._record(False, ip.src, seg)
        conn = self._connections.get((ip.src, seg.src_port, seg.dst_port))
        if conn is not None:
            was = conn.state
            conn.receive(seg, now)
            self._after(conn, was)
        elif seg.dst_port in self._listeners:
            self._listen_input(ip.src, seg, now)
        else:
            self._closed_input(ip.src, seg)

    def next_packet(self) -> bytes | None:
        """The next IP packet to put on the link."""
        return self._out.popleft() if self._out else None

    def next_event(self) -> ev.NetEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        times = [t for c in self._by_id.values() if (t := c.get_timer()) is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        for conn in list(self._by_id.values()):
            deadline = conn.get_timer()
            if deadline is not None and deadline <= now:
                was = conn.state
                conn.handle_timer(now)
                self._after(conn, was)

    # -- the socket-like API --------------------------------------------------------

    def listen(self, port: int) -> None:
        """Accept connections on `port`; take them with `accept(port)`."""
        self._check_port(port)
        self._listeners[port] = None
        self._accept_queue.setdefault(port, deque())

    def serve(self, port: int, factory: AppFactory) -> None:
        """Run an application per connection on `port` (echo, HTTP ...)."""
        self._check_port(port)
        self._listeners[port] = factory

    def accept(self, port: int) -> int | None:
        """An established connection from `listen(port)`, or None yet."""
        queue = self._accept_queue.get(port)
        return queue.popleft() if queue else None

    def connect(
        self,
        remote: str,
        port: int,
        now: float,
        *,
        local_port: int | None = None,
        application: Application | None = None,
    ) -> int:
        """Active open: send a SYN; returns the connection's id."""
        self._check_port(port)
        address = parse_address(remote)
        lport = self._free_port(address, port) if local_port is None else local_port
        if (address, port, lport) in self._connections:
            raise ValueError(f"{remote}:{port} from port {lport} is already connected")
        conn = self._new_connection(address, port, lport, now, passive=False)
        conn.application = application
        conn.open_active(now)
        self._after(conn, TcpState.CLOSED)
        return conn.connection

    def send(self, connection: int, data: bytes, now: float) -> int:
        """Queue data on a connection; returns how many octets were taken (0 once closed)."""
        conn = self._by_id.get(connection)
        if conn is None:
            return 0
        conn.handle_input_time(now)
        taken = conn.send(data)
        self._after(conn, conn.state)
        return taken

    def receive(self, connection: int, limit: int = 65536) -> bytes:
        """Octets received in order and not yet read (b"" when none, or once closed)."""
        conn = self._by_id.get(connection)
        if conn is None:
            return b""
        data = conn.read(limit)
        self._after(conn, conn.state)
        return data

    def close(self, connection: int, now: float) -> None:
        """Our side is done: FIN after the queued data (nothing if already closed)."""
        self._user_call(connection, now, TcpConnection.close)

    def abort(self, connection: int, now: float) -> None:
        """Reset the connection."""
        self._user_call(connection, now, TcpConnection.abort)

    def state(self, connection: int) -> TcpState:
        """The connection's state; CLOSED once it is gone."""
        conn = self._by_id.get(connection)
        return conn.state if conn is not None else TcpState.CLOSED

    def connection(self, connection: int) -> TcpConnection:
        return self._get(connection)

    @property
    def connections(self) -> list[TcpConnection]:
        return list(self._by_id.values())

    # -- internals ------------------------------------------------------------------

    def _user_call(
        self, connection: int, now: float, call: Callable[[TcpConnection], None]
    ) -> None:
        conn = self._by_id.get(connection)
        if conn is None:
            return  # already gone: nothing to close or reset
        conn.handle_input_time(now)
        was = conn.state
        call(conn)
        self._after(conn, was)

    def _listen_input(self, src: bytes, seg: TcpSegment, now: float) -> None:
        """RFC 9293 §3.10.7.2: a LISTEN port answers SYN, resets ACKs, ignores RST."""
        if seg.flags & RST:
            return
        if seg.flags & ACK:
            self._reset_for(src, seg)
            return
        if not seg.flags & SYN:
            return
        conn = self._new_connection(src, seg.src_port, seg.dst_port, now, passive=True)
        factory = self._listeners[seg.dst_port]
        if factory is not None:
            conn.application = factory()
        conn.open_passive(seg, now)
        self._after(conn, TcpState.LISTEN)

    def _closed_input(self, src: bytes, seg: TcpSegment) -> None:
        """RFC 9293 §3.10.7.1: no connection and no listener: reset anything but a reset."""
        if not seg.flags & RST:
            self._reset_for(src, seg)

    def _reset_for(self, src: bytes, seg: TcpSegment) -> None:
        if seg.flags & ACK:
            reset = TcpSegment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)
        else:
            reset = TcpSegment(seg.dst_port, seg.src_port, 0, seg.seq + seg.length, RST | ACK, 0)
        self._send(src, reset)

    def _new_connection(
        self, remote: bytes, rport: int, lport: int, now: float, *, passive: bool
    ) -> TcpConnection:
        iss = self._isn(self.address, lport, remote, rport, now)
        conn = TcpConnection(
            next(self._ids),
            (self.address_text, lport),
            (self._name(remote), rport),
            iss,
            self.config,
            passive=passive,
        )
        conn.remote_address = remote
        self._connections[(remote, rport, lport)] = conn
        self._by_id[conn.connection] = conn
        return conn

    def _after(self, conn: TcpConnection, was: TcpState) -> None:
        """Collect what a connection did: segments out, events, a finished handshake, its end."""
        for seg in conn.segments_to_send():
            self._send(conn.remote_address, seg)
        while (event := conn.next_event()) is not None:
            self._events.append(event)
        if (
            conn.passive
            and was is not TcpState.ESTABLISHED
            and conn.state in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT)
            and conn.application is None
            and not conn.accepted
        ):
            conn.accepted = True
            self._accept_queue.setdefault(conn.local_port, deque()).append(conn.connection)
        if conn.state is TcpState.CLOSED:
            self._connections.pop((conn.remote_address, conn.remote_port, conn.local_port), None)
            if not conn.unread:  # what arrived before the end can still be read
                self._by_id.pop(conn.connection, None)

    def _send(self, dst: bytes, seg: TcpSegment) -> None:
        segment = build_tcp(self.address, dst, seg)
        self._out.append(build_ipv4(self.address, dst, PROTO_TCP, segment, ident=next(self._ident)))
        self._record(True, dst, seg)

    def _record(self, sent: bool, peer: bytes, seg: TcpSegment) -> None:
        ours = f"{self.address_text}:{seg.src_port if sent else seg.dst_port}"
        theirs = f"{self._name(peer)}:{seg.dst_port if sent else seg.src_port}"
        self._events.append(
            ev.TcpSegmentSeen(
                sent,
                ours if sent else theirs,
                theirs if sent else ours,
                seg.flags,
                seg.seq,
                seg.ack,
                seg.window,
                len(seg.payload),
                seg.mss,
            )
        )

    def _name(self, address: bytes) -> str:
        """Dotted quad of a peer's address, worked out once per peer."""
        name = self._names.get(address)
        if name is None:
            name = self._names[address] = format_address(address)
        return name

    def _drop(self, layer: str, reason: str, length: int) -> None:
        self.dropped += 1
        self._events.append(ev.PacketDropped(layer, reason, length))

    def _free_port(self, remote: bytes, rport: int) -> int:
        for _ in EPHEMERAL:
            port = self._next_port
            self._next_port = port + 1 if port + 1 in EPHEMERAL else EPHEMERAL.start
            if (remote, rport, port) not in self._connections and port not in self._listeners:
                return port
        raise RuntimeError("no free ephemeral port")

    def _get(self, connection: int) -> TcpConnection:
        conn = self._by_id.get(connection)
        if conn is None:
            raise KeyError(f"no connection {connection}")
        return conn

    @staticmethod
    def _check_port(port: int) -> None:
        if not 1 <= port <= 65535:
            raise ValueError(f"TCP port must be 1..65535, not {port}")
