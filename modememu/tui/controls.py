"""What the monitor's keys do to a running session: the hands of a user at the desk.

Each control acts the way a person or the telephone company would: the DTE's
lines (DTR, RTS), bytes typed at the modem (`+++`), the line itself (its SNR,
a dropped call), and the dialer on the caller's DTE (dial again, another TCP
exchange, hang up). Each returns one line saying what happened, for the
monitor's notification, or raises `NotNow` when it cannot act at the moment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from modememu.agents.dialer import Dialer, DialerConfig
from modememu.clock import Clock
from modememu.drivers.agentdte import AgentDte, start_dialer
from modememu.drivers.exchange import Call
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World

SNR_STEP = 3.0  # dB per press: enough to move a V.34 call down or up a rate or two
BULK = 40_000  # octets a TCP exchange sends for its echo: ~10 s each way at 33600 bit/s
ESCAPE = b"+++"


class NotNow(Exception):
    """The control does not apply now (no call, nothing held); the message says why."""


class Controlled(Protocol):
    """A session the keys can act on: the demo's `Session`, or a modem with no dialer."""

    @property
    def clock(self) -> Clock: ...

    @property
    def world(self) -> World: ...

    @property
    def caller(self) -> ModemHost: ...

    @property
    def dialer(self) -> Dialer | None: ...

    @property
    def agent(self) -> AgentDte | None: ...

    def redial(self, dialer: Dialer, agent: AgentDte) -> None:
        """A new dialer now sits on the caller's DTE side."""


class Controls:
    """The controls of one session. `tap` sees the dialer's line octets (for redials too)."""

    def __init__(
        self,
        session: Controlled,
        *,
        source: str,
        tap: Callable[[float, bool, bytes], None] | None = None,
        seed: int = 1996,
    ) -> None:
        self.session = session
        self.source = source
        self.tap = tap
        self.seed = seed

    # ----- the DTE's hands on the serial line -----

    def hang_up(self) -> str:
        """DTR off, as a DTE hangs up: the modem goes on hook (&D2); dialing raises it again."""
        self.session.caller.set_dtr(False)
        return "DTR dropped: the modem hangs up"

    def toggle_dtr(self) -> str:
        caller = self.session.caller
        on = not caller.modem.dtr
        caller.set_dtr(on)
        return f"DTR {'on' if on else 'off'}"

    def toggle_rts(self) -> str:
        """RTS off stalls what the modem sends the DTE (under &K3/&H1 flow control)."""
        caller = self.session.caller
        on = not caller.modem.rts
        caller.set_rts(on)
        return f"RTS {'on' if on else 'off: the modem holds its data'}"

    def escape(self) -> str:
        """`+++` as typed: the modem escapes to online command mode if the guard times hold."""
        self.session.caller.from_dte(ESCAPE)
        return "+++ sent"

    def type(self, data: bytes) -> None:
        """Octets typed at the caller's modem, as from its DTE."""
        self.session.caller.from_dte(data)

    # ----- the line -----

    def change_snr(self, delta: float) -> str:
        """The line gets noisier (or cleaner): both modems retrain, or fall back."""
        call = self._call()
        snr = max(0.0, call.line.snr_db + delta)
        self.session.world.exchange.change_line(call, dataclasses.replace(call.line, snr_db=snr))
        return f"line SNR now {snr:g} dB"

    def drop_carrier(self) -> str:
        """The telephone company drops the call: both modems lose carrier."""
        self.session.world.exchange.clear(self._call(), None, "line dropped (the monitor's key)")
        return "line dropped"

    def _call(self) -> Call:
        call = self.session.world.exchange.calls.get(id(self.session.caller))
        if call is None or call.cleared:
            raise NotNow("no call on the line")
        return call

    # ----- the dialer -----

    def dial(self) -> str:
        """Dial again, and stay online afterwards until hung up (exchanges on demand)."""
        session = self.session
        old, agent = self._dialer()
        if old.step != "done":
            raise NotNow(f"the dialer is busy ({old.step})")
        config: DialerConfig = dataclasses.replace(old.config, hold=True)
        agent.close()
        session.caller.set_dtr(True)  # the last hang-up may have left it off
        self.seed += 1
        dialer = Dialer(config, seed=self.seed)
        bus = session.world.bus
        agent = start_dialer(
            session.caller, session.clock, bus, dialer, source=self.source, tap=self.tap
        )
        session.redial(dialer, agent)
        return f"dialing {config.number} (the line is held until you hang up)"

    def exchange(self, size: int = BULK) -> str:
        """A TCP connection to the echo service, `size` octets there and back."""
        dialer, agent = self._dialer()
        message = (bytes(range(32, 127)) * (size // 95 + 1))[:size]
        answers: list[bool] = []
        agent.input(lambda now: answers.append(dialer.exchange(message, now)))
        if not answers[0]:
            raise NotNow("not holding a line: dial first (d)")
        return f"TCP exchange of {size} octets started"

    def release(self) -> str:
        """Ask a holding dialer to take the link down and hang up politely."""
        dialer, agent = self._dialer()
        if dialer.step != "online":
            raise NotNow("the dialer is not holding a line")
        agent.input(dialer.hang_up)
        return "hanging up: link down, then DTR"

    def _dialer(self) -> tuple[Dialer, AgentDte]:
        dialer, agent = self.session.dialer, self.session.agent
        if dialer is None or agent is None:
            raise NotNow("no dialer on this modem: type AT commands in the terminal (tab)")
        return dialer, agent
