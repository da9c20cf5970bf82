"""PPP as pppd's debug log tells it, from the dialer's side, with each side's phase."""

from __future__ import annotations

from textual.widgets import Log

from modememu.agents.dialer import DialerStep
from modememu.events import Stamped
from modememu.link.ppp.printer import log_line
from modememu.link.ppp.session import LinkEnded, PhaseChanged, PppFrame
from modememu.link.ppp.wire import IP

LINK_STEPS = frozenset({"link", "link down"})  # the dialer's words for the link (SLIP too)


class LinkLog(Log):
    def __init__(self, *, start: float = 0.0, id: str | None = None) -> None:
        super().__init__(max_lines=2000, id=id)
        self.start = start
        self.border_title = "link"
        self.phases = {"dialer": "Dead", "peer": "Dead"}
        self._pending: list[str] = []

    def take(self, role: str, stamped: Stamped) -> None:
        """An event of the dialer (`role` "dialer") or of the far end ("peer")."""
        event = stamped.event
        if isinstance(event, PhaseChanged):
            self.phases[role] = event.new
            return
        if role != "dialer":
            return
        if isinstance(event, PppFrame) and event.protocol != IP:
            text = log_line(event.sent, event.protocol, event.info)
        elif isinstance(event, LinkEnded):
            text = f"Connection terminated: {event.reason} (exit {event.status})"
        elif isinstance(event, DialerStep) and event.step in LINK_STEPS:
            text = f"{event.step}: {event.detail}"
        else:
            return
        self._pending.append(f"{stamped.time - self.start:8.3f} {text}")

    def show(self) -> None:
        if self._pending:
            self.write_lines(self._pending)
            self._pending = []
        self.border_subtitle = f"dialer {self.phases['dialer']} · isp {self.phases['peer']}"
