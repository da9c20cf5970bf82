"""The monitor: a dial-up session shown as it happens, panel by panel.

Events reach the app through its `feed` (a bus subscriber that only buffers
and nudges the app with a coalesced `EventsPending`); the app routes them to
the panels' models in its own handler, and the panels are redrawn a few times
a second by `set_interval`. Attached to a session on the virtual clock, the
app plays the session itself: every tick runs the clock's timers up to a
slice of virtual time past the next deadline, so idle waits are skipped and
busy moments unfold row by row. Space pauses, `n` then steps one timer, `h`
drops the caller's DTR (the modem hangs up, as with &D2), `q` quits.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header

from modememu.agents.dialer import EXIT_CODES
from modememu.clock import VirtualClock
from modememu.dialup import DIALER, LIMIT, Session
from modememu.events import Stamped
from modememu.modem.events import CommandLine
from modememu.tui.feed import EventFeed
from modememu.tui.messages import EventsPending
from modememu.tui.player import VirtualPlayer
from modememu.tui.widgets.handshake_timeline import HandshakeTimeline
from modememu.tui.widgets.link_log import LinkLog
from modememu.tui.widgets.modem_panel import ModemPanel
from modememu.tui.widgets.tcp_ladder import TcpLadder

TICK = 0.1  # wall seconds between slices of play
SLICE = 0.05  # virtual seconds of busy time per slice
REDRAW = 0.2  # wall seconds between redraws of the panels


class MonitorApp(App[int | None]):
    """Returns the dialer's exit code when the session finished, else None."""

    CSS_PATH = "app.tcss"
    TITLE = "modememu"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("space", "toggle_pause", "Pause/Resume"),
        Binding("n", "step", "Step"),
        Binding("h", "hang_up", "Hang up"),
    ]

    def __init__(
        self,
        *,
        caller: str = "caller",
        dialer: str = DIALER,
        title: str = "",
        paused: bool = False,
        tick: float = TICK,
        slice_: float = SLICE,
        redraw: float = REDRAW,
    ) -> None:
        super().__init__()
        self.feed = EventFeed()
        self.session: Session | None = None
        self.player: VirtualPlayer | None = None
        self.caller = caller
        self.dialer = dialer
        self.paused = paused
        self.tick = tick
        self.slice = slice_
        self.redraw = redraw
        self.start = 0.0
        self.events = 0  # routed to the panels so far
        # The panels, held rather than queried: a redraw may come while the app shuts down.
        self.modem_panel = ModemPanel(id="modem")
        self.handshake = HandshakeTimeline(id="handshake")
        self.link = LinkLog(id="link")
        self.tcp = TcpLadder(id="tcp")
        if title:
            self.title = title

    # ----- setting up -----

    def attach(self, session: Session) -> None:
        """Show `session` (built with `self.feed` among its subscribers); play it if virtual.

        Attach right after `build`, before the clock runs: the caller's modem panel
        starts from the modem's state as it is when the app mounts.
        """
        self.session = session
        self.start = self.link.start = self.tcp.start = session.clock.now()
        if isinstance(session.clock, VirtualClock):
            dialer = session.dialer
            self.player = VirtualPlayer(
                session.clock, lambda: dialer.step == "done", slice_=self.slice, limit=LIMIT
            )

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            yield self.modem_panel
            yield self.handshake
        yield self.link
        yield self.tcp
        yield Footer()

    def on_mount(self) -> None:
        if self.session is not None:
            modem = self.session.caller.modem
            view = self.modem_panel.view
            view.profile = modem.profile.name
            view.mode = modem.mode.value
            view.off_hook = modem.off_hook
            view.dtr, view.rts = modem.dtr, modem.rts
            lines = modem.lines
            view.cts, view.dsr, view.dcd, view.ri = lines.cts, lines.dsr, lines.dcd, lines.ri
            view.auto_answer = modem.engine.sreg(0) != 0
        self.feed.wake = self._wake
        self.take_events()
        self.show_panels()
        self.set_interval(self.tick, self.play)
        self.set_interval(self.redraw, self.show_panels)

    # ----- events in, panels out -----

    def _wake(self) -> None:
        """The feed has a new batch (may be called from any thread)."""
        self.post_message(EventsPending())

    def on_events_pending(self, _: EventsPending) -> None:
        self.take_events()

    def take_events(self) -> None:
        """Route what the feed holds to the panels' models (drawn at the next redraw)."""
        modem, handshake, link, tcp = self.modem_panel, self.handshake, self.link, self.tcp
        for stamped in self.feed.drain():
            self.events += 1
            role = self._role(stamped)
            if role == "modem":
                modem.take("modem", stamped)
                handshake.take(stamped)
                if isinstance(stamped.event, CommandLine) and self.session is not None:
                    modem.view.auto_answer = self.session.caller.modem.engine.sreg(0) != 0
            elif role == "dialer":
                modem.take("dte", stamped)
                link.take("dialer", stamped)
                tcp.take("dialer", stamped)
            else:
                link.take("peer", stamped)
                tcp.take("peer", stamped)

    def _role(self, stamped: Stamped) -> str:
        if stamped.source == self.caller:
            return "modem"
        if stamped.source == self.dialer:
            return "dialer"
        return "peer"

    def show_panels(self) -> None:
        """Redraw every panel from its model, and the status line."""
        now = self.now()
        self.modem_panel.show()
        self.handshake.show()
        self.link.show()
        self.tcp.show(now)
        self.sub_title = f"t={now - self.start:.3f}s · {self.status}"

    def now(self) -> float:
        return self.session.clock.now() if self.session is not None else self.start

    @property
    def status(self) -> str:
        session = self.session
        if session is not None and session.result is not None:
            result = session.result
            return f"exit {result.code} ({EXIT_CODES.get(result.code, 'failed')})"
        if self.player is not None and self.player.finished:
            return "stopped"
        return "paused" if self.paused else "playing"

    # ----- the clock -----

    def play(self) -> None:
        """One tick: a slice of virtual time, unless paused."""
        if self.player is not None and not self.paused:
            self.player.play_slice()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.refresh_bindings()
        self.show_panels()

    def action_step(self) -> None:
        if self.player is not None and self.paused:
            self.player.step()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step":
            return True if self.paused and self.player is not None else None
        if action == "hang_up":
            return True if self.session is not None else None
        return True

    def action_hang_up(self) -> None:
        """Drop the caller's DTR: the modem hangs up (after S25) and the dialer sees carrier go."""
        if self.session is not None:
            self.session.caller.set_dtr(False)
            self.notify("DTR dropped")

    async def action_quit(self) -> None:
        session = self.session
        self.exit(session.result.code if session is not None and session.result else None)
