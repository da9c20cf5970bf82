"""The caller's modem as its front panel shows it, with the RS-232 lines and the call.

Lamps as on a USR Courier: HS (connected at 9600 bit/s or more), AA (auto
answer: S0 is not 0; it blinks on a ring), CD (carrier), OH (off hook), RD and
SD (data to and from the DTE: lit for a moment when it moves), TR (terminal
ready: DTR), MR (modem ready: powered). Below them the RS-232 circuits, then
the mode, the profile and, once connected, carrier, rates and error control;
last the DTE side: speed and framing, flow control, and the buffers' fill
(sampled from the live modem at each redraw, when there is one).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from modememu.agents.chat import ChatGot, ChatSent
from modememu.agents.dialer import DialerStep
from modememu.events import Stamped
from modememu.link.ppp.session import PppFrame
from modememu.modem.events import (
    CallEnded,
    CallProgress,
    CommandLine,
    Connected,
    DteFormatChanged,
    DteLinesChanged,
    FlowControlChanged,
    HookChanged,
    ModeChanged,
    ModemLinesChanged,
    ResultCode,
    Retrained,
    Ringing,
)
from modememu.modem.modem import Modem
from modememu.net.events import TcpSegmentSeen
from modememu.tui.feed import LineOctets
from modememu.tui.widgets.led import BLINK, Led
from modememu.tui.widgets.text import show_text

LAMPS = ("HS", "AA", "CD", "OH", "RD", "SD", "TR", "MR")
LINES = ("RTS", "CTS", "DTR", "DSR", "DCD", "RI")
HIGH_SPEED = 9600  # bit/s: HS lights at or above this rate


@dataclass
class ModemView:
    """What the panel knows, from events (and the modem's state when it was attached)."""

    profile: str = ""
    mode: str = "command"
    off_hook: bool = False
    auto_answer: bool = False
    dtr: bool = True
    rts: bool = True
    cts: bool = True
    dsr: bool = True
    dcd: bool = False
    ri: bool = False
    carrier: str = ""  # "V34 33600/33600 LAPM V42B" while connected, then why it ended
    rate: int = 0
    connect: str = ""  # the last CONNECT line the DTE read
    received: bool = False  # data toward the DTE since the last show
    sent: bool = False  # data from the DTE since the last show
    rang: bool = False
    dte: str = ""  # "115200 8N1"
    flow: str = ""  # "RTS/CTS", "XON/XOFF" or "no flow control"
    buffers: str = ""  # "to line 0/4096 · to DTE 0"; and who holds whom

    def read(self, modem: Modem) -> None:
        """Start from the modem's state as it is now (the events tell what changes)."""
        self.profile = modem.profile.name
        self.mode = modem.mode.value
        self.off_hook = modem.off_hook
        self.dtr, self.rts = modem.dtr, modem.rts
        lines = modem.lines
        self.cts, self.dsr, self.dcd, self.ri = lines.cts, lines.dsr, lines.dcd, lines.ri
        self.auto_answer = modem.engine.sreg(0) != 0
        self.sample(modem)

    def sample(self, modem: Modem) -> None:
        """What no event tells: the buffers' fill, and the DTE side as it is now."""
        self.dte = f"{modem.dte_format.rate} {modem.framing}"
        flow = modem.flow
        self.flow = flow_words(flow.uart_rtscts, flow.xon_xoff)
        data = modem.data
        held = []
        if data.holding:
            held.append("DTE held off")
        if data.dte_xoff or not modem.rts:
            held.append("modem held off")
        fill = f"to line {len(data.to_line)}/{data.capacity} · to DTE {len(data.to_dte)}"
        self.buffers = " · ".join((fill, *held))

    def take(self, role: str, stamped: Stamped) -> None:
        """One event of the modem (`role` "modem") or of its DTE (`role` "dte")."""
        view, event = self, stamped.event
        if role == "dte":
            if isinstance(event, ChatSent):
                view.sent = True
            elif isinstance(event, ChatGot):
                view.received = True
            elif isinstance(event, PppFrame | TcpSegmentSeen | LineOctets):
                view.sent |= event.sent
                view.received |= not event.sent
            elif isinstance(event, DialerStep) and event.step == "connected":
                view.connect = event.detail
            return
        if isinstance(event, ModemLinesChanged):
            view.cts, view.dsr, view.dcd, view.ri = event.cts, event.dsr, event.dcd, event.ri
        elif isinstance(event, DteLinesChanged):
            view.dtr, view.rts = event.dtr, event.rts
        elif isinstance(event, HookChanged):
            view.off_hook = event.off_hook
        elif isinstance(event, ModeChanged):
            view.mode = event.mode
        elif isinstance(event, Connected):
            ec = event.error_control or "no EC"
            comp = f" {event.compression}" if event.compression else ""
            view.carrier = f"{event.carrier} {event.tx_rate}/{event.rx_rate} {ec}{comp}"
            view.rate = min(event.tx_rate, event.rx_rate)
        elif isinstance(event, Retrained):
            view.carrier = view.carrier.replace(
                f"{event.old_tx_rate}/{event.old_rx_rate}", f"{event.tx_rate}/{event.rx_rate}"
            )
            view.rate = min(event.tx_rate, event.rx_rate)
        elif isinstance(event, CallEnded):
            view.rate = 0
            view.carrier = f"no carrier: {event.reason}"
        elif isinstance(event, CallProgress) and event.step == "carrier lost":
            # A hidden far modem may be gone before it says more: its carrier is.
            view.rate = 0
            view.dcd = False
            view.carrier = "no carrier: carrier lost"
        elif isinstance(event, Ringing):
            view.rang = True
        elif isinstance(event, CommandLine):
            view.sent = True
        elif isinstance(event, ResultCode) and event.shown:
            view.received = True
        elif isinstance(event, DteFormatChanged):
            view.dte = f"{event.rate} {event.framing}"
        elif isinstance(event, FlowControlChanged):
            view.flow = flow_words(event.rtscts, event.xonxoff)


def flow_words(rtscts: bool, xonxoff: bool) -> str:
    if rtscts and xonxoff:
        return "RTS/CTS+XON/XOFF"
    return "RTS/CTS" if rtscts else "XON/XOFF" if xonxoff else "no flow control"


class ModemPanel(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = ModemView()
        self.border_title = "modem"
        self.blink = BLINK  # seconds RD, SD (and AA on a ring) stay lit
        # held, not queried: a redraw may come while the app is taking its screen down
        self._lamps = {name: Led(name, id=f"lamp-{name}", classes="lamp") for name in LAMPS}
        self._circuits = {name: Led(name, id=f"line-{name}", classes="circuit") for name in LINES}
        self._info = Static("", id="modem-info")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="lamps"):
            yield from self._lamps.values()
        with Horizontal(classes="circuits"):
            yield from self._circuits.values()
        yield self._info

    def lamp(self, name: str) -> Led:
        return self._lamps[name]

    def circuit(self, name: str) -> Led:
        return self._circuits[name]

    @property
    def info(self) -> str:
        return str(self._info.content)

    def take(self, role: str, stamped: Stamped) -> None:
        self.view.take(role, stamped)

    def show(self) -> None:
        """Push the state to the lamps and the text."""
        view = self.view
        lit = {
            "HS": view.dcd and view.rate >= HIGH_SPEED,
            "AA": view.auto_answer,
            "CD": view.dcd,
            "OH": view.off_hook,
            "TR": view.dtr,
            "MR": True,
        }
        for name, on in lit.items():
            self.lamp(name).lit = on
        if view.received:
            self.lamp("RD").blink(self.blink)
        if view.sent:
            self.lamp("SD").blink(self.blink)
        if view.rang:
            self.lamp("AA").blink(self.blink)
        view.received = view.sent = view.rang = False
        circuits = {
            "RTS": view.rts,
            "CTS": view.cts,
            "DTR": view.dtr,
            "DSR": view.dsr,
            "DCD": view.dcd,
            "RI": view.ri,
        }
        for name, on in circuits.items():
            self.circuit(name).lit = on
        text = "\n".join(
            (
                f"{view.profile} · {view.mode}",
                view.carrier or "no carrier",
                view.connect,
                f"DTE {view.dte} · {view.flow}" if view.dte else "",
                view.buffers,
            )
        )
        show_text(self._info, text)
