"""Two `NetStack`s joined by an in-memory link on a virtual clock, for TCP tests.

Packets cross instantly unless `latency` says otherwise; a test may drop or
rewrite them on the way (`tap`). `run()` delivers what is in flight and then
jumps the clock to the next timer, as the virtual-clock runner does.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from modememu.net import events as ev
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpConfig
from modememu.net.tcp.isn import IsnGenerator

A_ADDR = "10.0.0.1"
B_ADDR = "10.0.0.2"

# tap(sender_name, packet) -> the packet to deliver, or None to lose it
Tap = Callable[[str, bytes], bytes | None]


class TcpPair:
    def __init__(
        self,
        config: TcpConfig | None = None,
        *,
        latency: float = 0.0,
        tap: Tap | None = None,
        start: float = 1000.0,
    ) -> None:
        self.a = NetStack(A_ADDR, config=config, isn=IsnGenerator(b"a" * 16))
        self.b = NetStack(B_ADDR, config=config, isn=IsnGenerator(b"b" * 16))
        self.now = start
        self.latency = latency
        self.tap = tap
        self.events: dict[str, list[ev.NetEvent]] = {"a": [], "b": []}
        self._flight: list[tuple[float, int, str, bytes]] = []
        self._order = itertools.count()

    def stack(self, name: str) -> NetStack:
        return self.a if name == "a" else self.b

    def pump(self) -> None:
        """Collect packets and events from both stacks (packets go in flight)."""
        for name in ("a", "b"):
            stack = self.stack(name)
            while (packet := stack.next_packet()) is not None:
                if self.tap is not None:
                    tapped = self.tap(name, packet)
                    if tapped is None:
                        continue
                    packet = tapped
                heapq.heappush(
                    self._flight, (self.now + self.latency, next(self._order), name, packet)
                )
            while (event := stack.next_event()) is not None:
                self.events[name].append(event)

    def step(self) -> bool:
        """Deliver the next packet or fire the next timer; False when nothing is left."""
        self.pump()
        timers = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        next_timer = min(timers) if timers else None
        if self._flight and (next_timer is None or self._flight[0][0] <= next_timer):
            at, _, sender, packet = heapq.heappop(self._flight)
            self.now = max(self.now, at)
            self.stack("b" if sender == "a" else "a").receive_packet(packet, self.now)
        elif next_timer is not None:
            self.now = max(self.now, next_timer)
            self.a.handle_timer(self.now)
            self.b.handle_timer(self.now)
        else:
            return False
        self.pump()
        return True

    def run(self, until: float | None = None, *, limit: int = 100_000) -> None:
        """Step until quiet, or until the clock would pass `until`."""
        for _ in range(limit):
            if until is not None and self._next_time() > until:
                self.now = max(self.now, until)
                return
            if not self.step():
                return
        raise AssertionError("the pair never went quiet")

    def run_until(self, done: Callable[[], bool], *, limit: int = 100_000) -> None:
        for _ in range(limit):
            if done():
                return
            if not self.step():
                break
        assert done(), "condition never met"

    def _next_time(self) -> float:
        self.pump()
        times = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        if self._flight:
            times.append(self._flight[0][0])
        return min(times) if times else float("inf")

    def segments(self, name: str) -> list[ev.TcpSegmentSeen]:
        """What `name` sent, in order."""
        return [e for e in self.events[name] if isinstance(e, ev.TcpSegmentSeen) and e.sent]
