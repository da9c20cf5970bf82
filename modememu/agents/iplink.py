"""The IP layer of a dial-up call: a link (PPP or SLIP) joined to a TCP/IP stack.

Both the dialer and the ISP run the same thing once CONNECT is seen: line
octets go into the link, datagrams the link delivers go into the stack, and
packets the stack sends go back out through the link. `IpOverLink` is that
joint, sans-I/O like its parts: bytes and `now` in, line bytes, events and the
next deadline out.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from modememu.events import Event
from modememu.link import slip
from modememu.link.events import LinkEvent


class IpLink(Protocol):
    """What PppSession already is, and SlipLink below: a link that carries IP datagrams."""

    def receive_data(self, data: bytes, now: float) -> None: ...

    def data_to_send(self) -> bytes: ...

    def send_ip(self, datagram: bytes, now: float) -> None: ...

    def next_datagram(self) -> bytes | None: ...

    def next_event(self) -> LinkEvent | None: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class SlipLink:
    """SLIP as an `IpLink`: no negotiation, so it is up from the first octet."""

    def __init__(self, mtu: int = slip.DEFAULT_MTU) -> None:
        self.mtu = mtu
        self.deframer = slip.SlipDeframer(mtu=mtu)
        self._out = bytearray()

    def receive_data(self, data: bytes, now: float) -> None:
        del now
        self.deframer.receive_data(data)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def send_ip(self, datagram: bytes, now: float) -> None:
        del now
        self._out += slip.encode_frame(datagram)

    def next_datagram(self) -> bytes | None:
        return self.deframer.next_frame()

    def next_event(self) -> LinkEvent | None:
        return self.deframer.next_event()

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        del now


class IpEndpoint(Protocol):
    """What sits above the link: our own stack (`NetStack`), or a `Gateway` to the world."""

    def receive_packet(self, packet: bytes, now: float) -> None: ...

    def next_packet(self) -> bytes | None: ...

    def next_event(self) -> Event | None: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class Gateway:
    """An `IpEndpoint` that hands packets to something outside (a TUN device) and back.

    What the link delivers waits in `outbound()` for the driver to write out;
    what the driver read comes in through `deliver()` and goes down the link.
    """

    def __init__(self) -> None:
        self._inbound: deque[bytes] = deque()
        self._outbound: list[bytes] = []

    def receive_packet(self, packet: bytes, now: float) -> None:
        del now
        self._outbound.append(packet)

    def next_packet(self) -> bytes | None:
        return self._inbound.popleft() if self._inbound else None

    def next_event(self) -> Event | None:
        return None

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        del now

    def deliver(self, packet: bytes) -> None:
        """A packet from outside, for the far end of the link."""
        self._inbound.append(packet)

    def outbound(self) -> list[bytes]:
        """Packets from the link for outside, taken once."""
        out, self._outbound = self._outbound, []
        return out


class IpOverLink:
    """A link and an IP endpoint, pumped into each other after every input."""

    def __init__(self, link: IpLink, stack: IpEndpoint) -> None:
        self.link = link
        self.stack = stack
        self._events: deque[Event] = deque()

    def receive_data(self, data: bytes, now: float) -> None:
        """Octets from the line."""
        self.link.receive_data(data, now)
        self.pump(now)

    def data_to_send(self) -> bytes:
        """Octets for the line."""
        return self.link.data_to_send()

    def get_timer(self) -> float | None:
        times = [t for t in (self.link.get_timer(), self.stack.get_timer()) if t is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        self.link.handle_timer(now)
        self.stack.handle_timer(now)
        self.pump(now)

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def pump(self, now: float) -> None:
        """Move datagrams up into the stack and packets down into the link until both rest."""
        while True:
            moved = False
            while (datagram := self.link.next_datagram()) is not None:
                self.stack.receive_packet(datagram, now)
                moved = True
            while (packet := self.stack.next_packet()) is not None:
                self.link.send_ip(packet, now)
                moved = True
            while (event := self.link.next_event()) is not None:
                self._events.append(event)
            while (net_event := self.stack.next_event()) is not None:
                self._events.append(net_event)
            if not moved:
                return
