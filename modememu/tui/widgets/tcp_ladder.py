"""The TCP segment ladder: the dialer on the left, the far end on the right.

Each segment the dialer saw is a row, an arrow toward the side that receives
it, labelled with its flags, sequence and acknowledgement numbers and length;
each state change is a row on its side. The header shows both ends and their
states now, and how long TIME-WAIT still guards the connection.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from modememu.events import Stamped
from modememu.net.events import ConnectionEnded, TcpSegmentSeen, TcpStateChanged, TimeWaitCountdown
from modememu.net.tcp.wire import flag_names
from modememu.tui.widgets.text import show_text

ARROW = 64  # columns of an arrow (longer labels make longer arrows)
TIME = 8  # columns of the time in front of a row
WIDTH = TIME + 1 + ARROW


def segment_row(time: float, event: TcpSegmentSeen) -> str:
    """One arrow: `├─ [SYN] seq=1 ack=0 len=0 ──▶` rightward when the dialer sent it."""
    mss = f" mss={event.mss}" if event.mss is not None else ""
    label = f"[{flag_names(event.flags)}] seq={event.seq} ack={event.ack} len={event.length}{mss}"
    room = max(ARROW, len(label) + 8)
    if event.sent:
        arrow = f"├─ {label} ".ljust(room - 1, "─") + "▶"
    else:
        arrow = "◀" + f" {label} ─┤".rjust(room - 1, "─")
    return f"{time:{TIME}.3f} {arrow}"


def state_row(time: float, state: str, left: bool) -> str:
    where = f"{state}".ljust(ARROW) if left else f"{state}".rjust(ARROW)
    return f"{time:{TIME}.3f} {where}"


class TcpLadder(Vertical):
    def __init__(self, *, start: float = 0.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.start = start
        self.border_title = "tcp"
        self.ends = ["dialer", "isp"]  # addresses once known
        self.states = ["CLOSED", "-"]
        self.time_wait: tuple[float, float] | None = None  # (since, seconds) on the dialer's side
        self._pending: list[str] = []
        self._ends = Static("", id="tcp-ends")
        self._rows = Log(max_lines=5000, auto_scroll=False, id="tcp-rows")

    def compose(self) -> ComposeResult:
        yield self._ends
        yield self._rows

    @property
    def rows(self) -> list[str]:
        return list(self._rows.lines)

    @property
    def header(self) -> str:
        return str(self._ends.content)

    def take(self, role: str, stamped: Stamped) -> None:
        """An event of the dialer (`role` "dialer") or of the far end ("peer")."""
        event = stamped.event
        time = stamped.time - self.start
        left = role == "dialer"
        if isinstance(event, TcpStateChanged):
            side = 0 if left else 1
            self.states[side] = event.new
            if left:
                self.ends = [event.local, event.remote]
                if event.new != "TIME-WAIT":
                    self.time_wait = None
            self._pending.append(state_row(time, event.new, left))
        elif not left:
            return
        elif isinstance(event, TcpSegmentSeen):
            self._pending.append(segment_row(time, event))
        elif isinstance(event, TimeWaitCountdown):
            self.time_wait = (stamped.time, event.remaining) if event.remaining > 0 else None
        elif isinstance(event, ConnectionEnded):
            self.time_wait = None
            self._pending.append(state_row(time, f"ended: {event.reason}", left))

    def show(self, now: float) -> None:
        if self._pending:
            self._rows.write_lines(self._pending)
            self._pending = []
        left = f"{self.ends[0]} {self.states[0]}"
        if self.time_wait is not None:
            since, seconds = self.time_wait
            left += f" ({max(0.0, seconds - (now - since)):.1f} s left)"
        right = f"{self.states[1]} {self.ends[1]}"
        gap = max(1, WIDTH - len(left) - len(right))
        show_text(self._ends, f"{left}{' ' * gap}{right}")
