"""Events of the IP and TCP layer: every segment, every state change, every drop.

A monitor draws the SYN / SYN-ACK / ACK ladder from `TcpSegmentSeen` and the
state diagram from `TcpStateChanged`; `TimeWaitCountdown` lets it show how long
a closed connection still guards its 4-tuple.
"""

from __future__ import annotations

from dataclasses import dataclass

from modememu.events import Event


@dataclass(frozen=True, slots=True)
class NetEvent(Event):
    """Base of the IP and TCP layer's events."""


@dataclass(frozen=True, slots=True)
class PacketDropped(NetEvent):
    """An IP packet or TCP segment was thrown away; `reason` says why, in words."""

    layer: str  # "ip" or "tcp"
    reason: str
    length: int


@dataclass(frozen=True, slots=True)
class TcpSegmentSeen(NetEvent):
    """A segment sent or received (after the checksum was found good)."""

    sent: bool
    src: str  # "a.b.c.d:port"
    dst: str
    flags: int
    seq: int
    ack: int
    window: int
    length: int  # payload octets
    mss: int | None = None


@dataclass(frozen=True, slots=True)
class TcpStateChanged(NetEvent):
    connection: int
    local: str
    remote: str
    old: str
    new: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TimeWaitCountdown(NetEvent):
    """Seconds a connection in TIME-WAIT still has to wait (0: now closed)."""

    connection: int
    remaining: float


@dataclass(frozen=True, slots=True)
class ChallengeAck(NetEvent):
    """RFC 5961: a RST or SYN that might be forged got an ACK instead of a reset."""

    connection: int
    cause: str  # "RST in window", "SYN", "ACK outside window"
    throttled: bool  # over the per-connection limit: nothing sent


@dataclass(frozen=True, slots=True)
class Retransmitted(NetEvent):
    connection: int
    what: str  # "SYN", "SYN-ACK", "FIN", "data", "window probe"
    attempt: int
    rto: float  # the timeout now running


@dataclass(frozen=True, slots=True)
class ConnectionEnded(NetEvent):
    connection: int
    reason: str  # "closed", "reset by peer", "timed out", "refused", "aborted"
