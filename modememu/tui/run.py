"""The monitor on the command line: `demo` (either clock) and `replay --tui`."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from modememu.clock import Clock, VirtualClock
from modememu.dialup import DemoOptions, Recorders, Session, build, summarize
from modememu.drivers.runner import LoopClock
from modememu.profiles import load_profile
from modememu.replay import ReplayError, records
from modememu.tui.app import MonitorApp


class DemoMonitor:
    """One demo session and the monitor that shows it, with its recorders."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        profile = load_profile(options.caller)
        self.app = MonitorApp(title=f"{profile.name} dials {options.number}")
        self.session: Session | None = None
        self.recorders: Recorders | None = None
        if options.fast:
            self._start(VirtualClock())
        else:
            self.app.attach_when_running(lambda: self._start(LoopClock()))

    def _start(self, clock: Clock) -> None:
        """Build the session (on the app's loop for real time) and attach it to the app."""
        recorders = self.recorders = Recorders(self.options, clock.now())
        feed = self.app.feed

        def tap(time: float, sent: bool, data: bytes) -> None:
            recorders.line(time, sent, data)
            feed.line(time, sent, data)

        session = self.session = build(self.options, clock, [recorders.event, feed], tap)
        recorders.audio_host = session.caller  # --wav: the caller's own speaker and dialing
        self.app.attach(session, tap)

    def close(self) -> None:
        if self.recorders is not None:
            self.recorders.close()
        if self.session is not None:
            self.session.agent.close()


def run_demo_tui(out: TextIO, options: DemoOptions) -> int:
    """Play one demo session in the monitor; then one summary line. The dialer's exit code.

    With `fast` the app plays the virtual clock; otherwise the session runs on the
    app's own loop in real time, as long as the call really takes.
    """
    monitor = DemoMonitor(options)
    try:
        monitor.app.run()
    finally:
        monitor.close()
    return summarize(out, monitor.session.result if monitor.session is not None else None)


def replay_tui(path: Path) -> int:
    """Show a recorded session (a --log file) in the monitor; 0 once it was shown."""
    skipped: list[int] = []
    stamped = list(records(path, skipped))
    if not stamped:
        raise ReplayError(f"{path}: no events the monitor shows")
    app = MonitorApp(title=f"replay of {path.name}")
    app.replay(stamped)
    app.run()
    return 0
