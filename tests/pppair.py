"""Two PPP sessions wired back to back in memory, run on virtual time.

`Pair.run()` moves each side's line octets to the other and, when nothing is in
flight, jumps to the earliest deadline: a whole negotiation, with its restart
timers, runs in microseconds and exactly the same every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from modememu.link.events import LinkEvent
from modememu.link.ppp.options import PppOptions, parse_words
from modememu.link.ppp.session import Phase, PppSession


@dataclass
class Pair:
    client: PppSession
    server: PppSession
    now: float = 0.0
    # Set to False to cut one direction (the far end then hears nothing).
    to_server: bool = True
    to_client: bool = True
    events: dict[str, list[LinkEvent]] = field(default_factory=lambda: {"client": [], "server": []})
    # Called with (sender, now, line octets) for everything put on the line: captures.
    tap: Callable[[str, float, bytes], None] | None = None

    @classmethod
    def of(cls, client_words: list[str], server_words: list[str], seed: int = 1) -> Pair:
        return cls(
            PppSession(parse_words(client_words), seed=seed),
            PppSession(parse_words(server_words), seed=seed + 1),
        )

    def open(self) -> None:
        self.client.open(self.now)
        self.server.open(self.now)

    def step(self) -> bool:
        """Move the octets each side has for the other; True if any moved."""
        moved = False
        for name, session, other, flowing in (
            ("client", self.client, self.server, self.to_server),
            ("server", self.server, self.client, self.to_client),
        ):
            data = session.data_to_send()
            if data and self.tap is not None:
                self.tap(name, self.now, data)
            if data and flowing:
                other.receive_data(data, self.now)
            moved = moved or bool(data)
            while (event := session.next_event()) is not None:
                self.events[name].append(event)
        return moved

    def run(self, until: Callable[[Pair], bool] | None = None, limit: float = 600.0) -> None:
        """Run until `until` holds (default: both running or both ended) or `limit` seconds."""
        done = until or both_settled
        for _ in range(100_000):
            if self.step():
                continue
            self.step()  # collect the events of the last exchange
            if done(self):
                return
            deadlines = [d for s in (self.client, self.server) if (d := s.get_timer()) is not None]
            if not deadlines or min(deadlines) > limit:
                return
            self.now = max(self.now, min(deadlines))
            for session in (self.client, self.server):
                session.handle_timer(self.now)
        raise AssertionError("the pair never settled")


def both_settled(pair: Pair) -> bool:
    return all(s.phase is Phase.RUNNING or s.ended is not None for s in (pair.client, pair.server))


def session_of(words: list[str], seed: int = 1) -> PppSession:
    return PppSession(parse_words(words, PppOptions()), seed=seed)
