"""The monitor: a dial-up session shown as it happens, panel by panel, and driven by keys.

Events reach the app through its `feed` (a bus subscriber that only buffers
and nudges the app with a coalesced `EventsPending`); the app routes them to
the panels' models in its own handler, and the panels are redrawn a few times
a second by `set_interval`, so a full-speed transfer costs the screen nothing
more than a quiet line does.

What moves time on depends on what is watched. A session on the virtual clock
is played by the app itself: every tick runs the clock's timers up to a slice
of virtual time past the next deadline, so idle waits are skipped and busy
moments unfold row by row (space pauses, `n` then steps one timer). A recorded
log is played the same way by a `ReplayPlayer`. A session on the real clock
runs on the app's own asyncio loop, at the line's pace.

The keys act on the session through `Controls`: the DTE's lines, `+++`, the
line's noise, the dialer. The terminal (tab to it, escape to leave) is the
caller's DTE port: what the modem sends shows there, and what is typed goes
to the modem.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Static

from modememu.agents.dialer import EXIT_CODES, DialerResult
from modememu.capture.pcap import PppPcapWriter
from modememu.clock import VirtualClock
from modememu.dialup import DIALER, LIMIT
from modememu.events import Stamped
from modememu.link.ppp.session import PppFrame
from modememu.modem.events import CommandLine, ModemEvent
from modememu.tui.controls import SNR_STEP, Controlled, Controls, NotNow
from modememu.tui.feed import LINE, EventFeed, LineOctets
from modememu.tui.messages import EventsPending
from modememu.tui.player import Player, ReplayPlayer, VirtualPlayer
from modememu.tui.widgets.handshake_timeline import HandshakeTimeline
from modememu.tui.widgets.link_log import LinkLog
from modememu.tui.widgets.modem_panel import ModemPanel, ModemView
from modememu.tui.widgets.tcp_ladder import TcpLadder
from modememu.tui.widgets.terminal import DteTerminal
from modememu.tui.widgets.text import show_text
from modememu.tui.widgets.throughput import ThroughputPanel

TICK = 0.1  # wall seconds between slices of play
SLICE = 0.05  # virtual seconds of busy time per slice
REDRAW = 0.2  # wall seconds between redraws of the panels
COMPACT_HEIGHT = 30  # rows: below this the throughput panel hides (see app.tcss)


class Watched(Controlled, Protocol):
    """A session the monitor can show and drive (the demo's `Session`, a scenario's)."""

    @property
    def result(self) -> DialerResult | None: ...


class MonitorApp(App[int | None]):
    """Returns the dialer's exit code when the session finished, else None."""

    CSS_PATH = "app.tcss"
    TITLE = "modememu"
    AUTO_FOCUS = None  # the terminal takes keys only when asked (tab)
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("n", "step", "Step"),
        Binding("d", "dial", "Dial"),
        Binding("h", "hang_up", "Hang up"),
        Binding("x", "exchange", "TCP"),
        Binding("plus", "escape", "+++"),
        Binding("t", "toggle_dtr", "DTR"),
        Binding("r", "toggle_rts", "RTS"),
        Binding("s", "snr(-1)", "Noise+"),
        Binding("S", "snr(1)", "Noise-", show=False),
        Binding("c", "drop_carrier", "Drop"),
        Binding("w", "write_capture", "Capture"),
        Binding("m", "next_modem", "Modem"),
        Binding("tab", "focus_terminal", "Terminal", show=False, priority=True),
        Binding("escape", "leave_terminal", "Leave terminal", show=False),
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
        capture_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.feed = EventFeed()
        self.session: Watched | None = None
        self.controls: Controls | None = None
        self.player: Player | None = None
        self.caller = caller
        self.dialer = dialer
        self.paused = paused
        self.tick = tick
        self.slice = slice_
        self.redraw = redraw
        self.capture_dir = capture_dir if capture_dir is not None else Path.cwd()
        self.captures = 0  # files written by `w`
        self.start = 0.0
        self.events = 0  # routed to the panels so far
        self.redraws = 0  # times the panels were drawn
        self.kept: list[Stamped] = []  # the dialer's PPP frames, for a capture
        self.said: list[str] = []  # what the keys answered, as notified
        self._starter: Callable[[], object] | None = None
        self.closers: list[Callable[[], object]] = []  # run (and awaited) as the app ends
        # The panels, held rather than queried: a redraw may come while the app shuts down.
        self.modem_panel = ModemPanel(id="modem")
        self.modems = {caller: self.modem_panel.view}  # every modem heard from, by name
        self.handshake = HandshakeTimeline(id="handshake")
        self.link = LinkLog(id="link")
        self.terminal = DteTerminal(id="terminal")
        self.throughput = ThroughputPanel(id="throughput")
        self.tcp = TcpLadder(id="tcp")
        # Title, clock and status, in a line of fixed size: Textual's Header lays the whole
        # screen out again whenever its subtitle changes, and the clock changes every redraw.
        self.status_line = Static("", id="status")
        if title:
            self.title = title

    # ----- setting up -----

    def attach(
        self, session: Watched, tap: Callable[[float, bool, bytes], None] | None = None
    ) -> None:
        """Show `session` (built with `self.feed` among its subscribers); play it if virtual.
        `tap` is the recorder of the dialer's line, for the dialers `d` starts.

        Attach right after building, before the clock runs: the caller's modem panel
        starts from the modem's state as it is when the app mounts.
        """
        self.session = session
        self.controls = Controls(session, source=self.dialer, tap=tap)
        clock, feed = session.clock, self.feed
        session.caller.dte_taps.append(lambda sent, data: feed.line(clock.now(), sent, data))
        self._set_start(session.clock.now())
        if isinstance(session.clock, VirtualClock):
            self.player = VirtualPlayer(
                session.clock, lambda: self.dialer_step == "done", slice_=self.slice, limit=LIMIT
            )

    def attach_when_running(self, starter: Callable[[], object]) -> None:
        """Build and `attach` the session once the app's loop runs (a real-time
        session lives on that loop); `starter` may be a coroutine function."""
        self._starter = starter

    def replay(self, records: Sequence[Stamped]) -> None:
        """Tell a recorded session again, at the pace of the virtual clock's playing."""
        self.player = ReplayPlayer(records, self.feed, slice_=self.slice)
        self._set_start(self.player.now())

    def _set_start(self, start: float) -> None:
        self.start = self.link.start = self.tcp.start = start

    def compose(self) -> ComposeResult:
        yield self.status_line
        with Horizontal(id="top"):
            yield self.modem_panel
            yield self.handshake
        with Horizontal(id="middle"):
            yield self.link
            yield self.terminal
        yield self.throughput
        yield self.tcp
        yield Footer()

    async def on_mount(self) -> None:
        if self._starter is not None:
            started = self._starter()
            if inspect.isawaitable(started):
                await started
        if self.session is not None:
            self.modems[self.caller].read(self.session.caller.modem)
        self.feed.wake = self._wake
        self.take_events()
        self.show_panels()
        self.set_interval(self.tick, self.play)
        self.set_interval(self.redraw, self.show_panels)

    async def on_unmount(self) -> None:
        for close in reversed(self.closers):
            closed = close()
            if inspect.isawaitable(closed):
                await closed

    def on_resize(self, event: events.Resize) -> None:
        self.screen.set_class(event.size.height < COMPACT_HEIGHT, "-compact")

    # ----- events in, panels out -----

    def _wake(self) -> None:
        """The feed has a new batch (may be called from any thread)."""
        self.post_message(EventsPending())

    def on_events_pending(self, _: EventsPending) -> None:
        self.take_events()

    def take_events(self) -> None:
        """Route what the feed holds to the panels' models (drawn at the next redraw)."""
        modem, handshake, link, tcp = self.modems[self.caller], self.handshake, self.link, self.tcp
        throughput = self.throughput
        for stamped in self.feed.drain():
            self.events += 1
            event = stamped.event
            if isinstance(event, LineOctets):
                self.terminal.feed(event.sent, event.data)
                throughput.line(stamped.time, event.sent, len(event.data))
                modem.take("dte", stamped)
                continue
            role = self._role(stamped)
            if role != "peer":
                throughput.take(stamped)  # the caller's side: its modem, its DTE
            if role == "modem":
                modem.take("modem", stamped)
                handshake.take(stamped)
                if isinstance(event, CommandLine) and self.session is not None:
                    modem.auto_answer = self.session.caller.modem.engine.sreg(0) != 0
            elif role == "dialer":
                modem.take("dte", stamped)
                link.take("dialer", stamped)
                tcp.take("dialer", stamped)
                if isinstance(event, PppFrame):
                    self.kept.append(stamped)
            else:
                if isinstance(event, ModemEvent):  # the answering modem, say: for `m`
                    other = self.modems.setdefault(
                        stamped.source, ModemView(profile=stamped.source)
                    )
                    other.take("modem", stamped)
                link.take("peer", stamped)
                tcp.take("peer", stamped)

    def _role(self, stamped: Stamped) -> str:
        if stamped.source == self.caller:
            return "modem"
        if stamped.source in (self.dialer, LINE):
            return "dialer"
        return "peer"

    def show_panels(self) -> None:
        """Redraw every panel from its model, and the status line."""
        now = self.now()
        self.redraws += 1
        panel = self.modem_panel
        if self.session is not None and panel.view is self.modems[self.caller]:
            panel.view.sample(self.session.caller.modem)
        panel.show()
        self.handshake.show()
        self.link.show()
        self.terminal.show()
        self.throughput.sample(now)
        self.throughput.show()
        self.tcp.show(now)
        self.sub_title = f"t={now - self.start:.3f}s · {self.status}"
        show_text(self.status_line, f"{self.title} — {self.sub_title}")

    @property
    def dialer_step(self) -> str:
        """The step of the dialer on the caller's DTE side ("" with no dialer there)."""
        dialer = self.session.dialer if self.session is not None else None
        return dialer.step if dialer is not None else ""

    def now(self) -> float:
        if self.session is not None:
            return self.session.clock.now()
        return self.player.now() if self.player is not None else self.start

    @property
    def status(self) -> str:
        session = self.session
        if session is not None and session.result is not None:
            result = session.result
            return f"exit {result.code} ({EXIT_CODES.get(result.code, 'failed')})"
        if self.dialer_step == "online":
            return "line held"
        if self.player is not None and self.player.finished:
            return "stopped"
        return "paused" if self.paused else "playing"

    # ----- the clock -----

    def play(self) -> None:
        """One tick: a slice of virtual time, unless paused."""
        if self.player is not None and not self.paused:
            self.player.play_slice()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused  # `n` stays in the footer: redoing it costs a layout
        self.show_panels()

    def action_step(self) -> None:
        """One timer, while paused (while playing, the slices go on by themselves)."""
        if self.player is not None and self.paused:
            self.player.step()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("step", "toggle_pause"):
            return True if self.player is not None else None
        if action in ("quit", "focus_terminal", "leave_terminal", "next_modem"):
            return True
        return True if self.controls is not None else None  # the keys that act on a session

    # ----- the keys on the session -----

    def _control(self, act: Callable[[Controls], str]) -> None:
        if self.controls is None:
            return
        try:
            self._say(act(self.controls))
        except NotNow as exc:
            self._say(str(exc), "warning")
        self.take_events()

    def _say(self, text: str, severity: SeverityLevel = "information") -> None:
        self.said.append(text)
        self.notify(text, severity=severity)

    def action_hang_up(self) -> None:
        """Holding the line: the dialer hangs up politely. Else DTR drops (&D2 hangs up)."""
        if self.dialer_step == "online":
            self._control(Controls.release)
        else:
            self._control(Controls.hang_up)

    def action_dial(self) -> None:
        self._control(Controls.dial)

    def action_exchange(self) -> None:
        self._control(lambda c: c.exchange())

    def action_escape(self) -> None:
        self._control(Controls.escape)

    def action_toggle_dtr(self) -> None:
        self._control(Controls.toggle_dtr)

    def action_toggle_rts(self) -> None:
        self._control(Controls.toggle_rts)

    def action_snr(self, direction: int) -> None:
        """`s`: the line gets noisier by SNR_STEP dB; `S`: cleaner."""
        self._control(lambda c: c.change_snr(direction * SNR_STEP))

    def action_drop_carrier(self) -> None:
        self._control(Controls.drop_carrier)

    def action_write_capture(self) -> None:
        """The dialer's PPP frames so far, as a pcap (DLT_PPP_WITH_DIR) Wireshark opens."""
        self.captures += 1
        path = self.capture_dir / f"modememu-{self.captures}.pcap"
        try:
            with path.open("wb") as stream:
                writer = PppPcapWriter(stream)
                for stamped in self.kept:
                    frame = stamped.event
                    assert isinstance(frame, PppFrame)
                    writer.packet(stamped.time, frame.sent, frame.protocol, frame.info)
        except OSError as exc:
            self._say(f"cannot write {path}: {exc.strerror or exc}", "error")
            return
        self._say(f"{len(self.kept)} PPP frames written to {path}")

    def on_dte_terminal_typed(self, message: DteTerminal.Typed) -> None:
        if self.controls is not None:
            self.controls.type(message.data)
            self.take_events()

    def action_next_modem(self) -> None:
        """Show the next modem heard from in the modem panel (the caller's, the answerer's)."""
        names = list(self.modems)
        panel = self.modem_panel
        name = names[(names.index(self._shown_modem()) + 1) % len(names)]
        panel.view = self.modems[name]
        panel.border_title = "modem" if name == self.caller else f"modem {name}"
        self.show_panels()

    def _shown_modem(self) -> str:
        return next(n for n, v in self.modems.items() if v is self.modem_panel.view)

    def action_focus_terminal(self) -> None:
        self.terminal.focus()

    def action_leave_terminal(self) -> None:
        self.set_focus(None)

    async def action_quit(self) -> None:
        session = self.session
        self.exit(session.result.code if session is not None and session.result else None)
