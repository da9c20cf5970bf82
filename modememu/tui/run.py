"""`modememu demo --fast` on a terminal: the session played in the monitor."""

from __future__ import annotations

from typing import TextIO

from modememu.clock import VirtualClock
from modememu.dialup import (
    DemoError,
    DemoOptions,
    Recorders,
    build,
    summarize,
)
from modememu.profiles import load_profile
from modememu.tui.app import MonitorApp


def run_demo_tui(out: TextIO, options: DemoOptions) -> int:
    """Play one demo session in the monitor; then one summary line. The dialer's exit code."""
    if not options.fast:
        raise DemoError("the monitor plays the virtual clock only: add --fast, or --headless")
    profile = load_profile(options.caller)
    title = f"{profile.name} dials {options.number}"
    clock = VirtualClock()
    recorders = Recorders(options, clock.now())
    app = MonitorApp(title=title)
    try:
        session = build(options, clock, [recorders.event, app.feed], recorders.line)
        recorders.audio_host = session.caller  # --wav: the caller's own speaker and dialing
        app.attach(session)
        app.run()
    finally:
        recorders.close()
    return summarize(out, session.result)
