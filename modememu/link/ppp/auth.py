"""What the PPP authentication cores (PAP, CHAP) share: events, text helpers, a base.

The authentication phase (RFC 1661 §3.5) starts when LCP reaches Opened. Each core
is sans-I/O: the session hands it the information field of every packet of its
protocol and sends what `packets_to_send()` returns. Failures and successes are
events worded as pppd logs them, so a monitor reads what a dial-up user expects.
Secrets never reach an event or a repr: the cores keep them in private
attributes and their reprs list only state and names.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from modememu.link.events import LinkEvent
from modememu.link.ppp import wire

PEER = "peer"  # this side proves who it is
AUTHENTICATOR = "authenticator"  # this side checks the peer


@dataclass(frozen=True, slots=True)
class AuthSucceeded(LinkEvent):
    """One side of the authentication finished well.

    `message` is the text the authenticator sent (its Ack or Success message):
    received by a peer, sent by an authenticator. `peer_name` is the other
    side's name as pppd prints it (`%q`), empty when the protocol carries none.
    """

    protocol: str  # "PAP" or "CHAP"
    role: str  # PEER or AUTHENTICATOR: which side this core played
    peer_name: str
    message: str


@dataclass(frozen=True, slots=True)
class AuthFailed(LinkEvent):
    """One side of the authentication failed; `reason` is pppd's log line for it."""

    protocol: str
    role: str
    peer_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class AuthPacketDropped(LinkEvent):
    """A packet was thrown away: malformed or unexpected when received, or too
    long for the peer's MRU when it was to be sent."""

    protocol: str
    reason: str
    length: int  # octets of the information field


_QUOTE = re.compile(rb'[\x00-\x1f\x7f-\x9f"\\]')
_QUOTE_NAMED = {0x09: b"\\t", 0x0A: b"\\n", 0x08: b"\\b", 0x0C: b"\\f"}
_VISIBLE = re.compile(rb"[^\x09\x20-\x7e]")


def _quote_one(match: re.Match[bytes]) -> bytes:
    c = match[0][0]
    if c in b'"\\':
        return b"\\" + match[0]
    return _QUOTE_NAMED.get(c) or b"\\x%02x" % c


def _visible_one(match: re.Match[bytes]) -> bytes:
    c = match[0][0]
    prefix = b"M-" if c >= 0x80 else b""
    c &= 0x7F
    if c == 0x7F or (c < 0x20 and c != 0x09):
        return prefix + bytes((ord("^"), c ^ 0x40))
    return prefix + bytes((c,))


def pppd_quoted(data: bytes) -> str:
    """pppd's `%q`: backslash before `"` and `\\`, C escapes for control octets."""
    return _QUOTE.sub(_quote_one, data).decode("utf-8", "backslashreplace")


def pppd_visible(data: bytes) -> str:
    """pppd's `%v` (how it prints a remote message): `M-` for high octets, `^X` for controls."""
    return _VISIBLE.sub(_visible_one, data).decode("ascii")


def parse(info: bytes) -> wire.ControlPacket | str:
    """The packet, or why it is dropped (pppd's debug wording for the header checks)."""
    if len(info) < wire.HEADER:
        return "rcvd short header"
    length = int.from_bytes(info[2:4], "big")
    if length < wire.HEADER:
        return "rcvd illegal length"
    packet = wire.parse_packet(info)
    return "rcvd short packet" if packet is None else packet


class AuthCore:
    """Queues, timer and verdict shared by the four cores; subclasses fill `_handle`/`_expire`."""

    protocol = ""

    def __init__(self) -> None:
        self.max_packet = 1500  # the peer's MRU: no packet sent is longer
        self.dropped = 0  # packets thrown away (each one also an AuthPacketDropped)
        self._started = False
        self._result: bool | None = None
        self._deadline: float | None = None
        self._out: list[bytes] = []
        self._events: deque[LinkEvent] = deque()

    # -- the driver's side ---------------------------------------------------------

    def start(self, now: float) -> None:
        """The authentication phase begins (LCP reached Opened)."""
        if self._started:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._started = True
        self._begin(now)

    def receive(self, info: bytes, now: float) -> None:
        """One information field of this core's protocol, padding allowed after Length."""
        packet = parse(bytes(info))
        if isinstance(packet, str):
            self._drop(packet, len(info))
        elif not self._started:
            self._drop("authentication not started", len(info))
        else:
            self._handle(packet, len(info), now)

    def packets_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> LinkEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return self._deadline

    def handle_timer(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._expire(now)

    @property
    def done(self) -> bool:
        """This side finished, well or not."""
        return self._result is not None

    @property
    def succeeded(self) -> bool | None:
        return self._result

    def __repr__(self) -> str:
        state = "pending" if self._started else "idle"
        if self._result is not None:
            state = "succeeded" if self._result else "failed"
        return f"<{type(self).__name__} {self._describe()} {state}>"

    # -- for the protocols ---------------------------------------------------------

    def _begin(self, now: float) -> None:
        raise NotImplementedError

    def _handle(self, packet: wire.ControlPacket, length: int, now: float) -> None:
        raise NotImplementedError

    def _expire(self, now: float) -> None:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    def _room(self, fixed: int) -> int:
        """Octets left for variable text once `fixed` octets are placed."""
        return max(0, self.max_packet - fixed)

    def _send(self, code: int, ident: int, data: bytes) -> None:
        packet = wire.build_packet(code, ident, data)
        if len(packet) > self.max_packet:
            self._drop(f"not sent: longer than the peer's MRU {self.max_packet}", len(packet))
        else:
            self._out.append(packet)

    def _drop(self, reason: str, length: int) -> None:
        self.dropped += 1
        self._events.append(AuthPacketDropped(self.protocol, reason, length))

    def _succeed(self, role: str, peer_name: str, message: str) -> None:
        self._result = True
        self._deadline = None
        self._events.append(AuthSucceeded(self.protocol, role, peer_name, message))

    def _fail(self, role: str, peer_name: str, reason: str) -> None:
        self._result = False
        self._deadline = None
        self._events.append(AuthFailed(self.protocol, role, peer_name, reason))
