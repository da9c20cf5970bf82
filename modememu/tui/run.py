"""The monitor on the command line: `demo` (either clock), `modem`, `run` and `replay` `--tui`."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from modememu.agents.dialer import Dialer, DialerResult
from modememu.clock import Clock, VirtualClock
from modememu.dialup import DemoOptions, Recorders, Session, build, summarize
from modememu.drivers.agentdte import AgentDte
from modememu.drivers.errors import PortError
from modememu.drivers.host import ModemHost, StateFileError
from modememu.drivers.runner import LoopClock
from modememu.drivers.serve import ServeOptions, close_all, open_modem, os_error_line
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.profiles import load_profile
from modememu.replay import ReplayError, records
from modememu.scenario import Bench, Scenario, build_bench
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
        subscribers: list[Callable[[Stamped], None]] = [recorders.event, self.app.feed]
        session = self.session = build(self.options, clock, subscribers, recorders.line)
        recorders.audio_host = session.caller  # --wav: the caller's own speaker and dialing
        self.app.attach(session, recorders.line)

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


@dataclass
class Watch:
    """A modem, and the dialer on its DTE side if there is one, in the monitor."""

    clock: Clock
    world: World
    caller: ModemHost
    dialer: Dialer | None = None  # None: a real DTE on a port (`modememu modem --tui`)
    agent: AgentDte | None = None

    @property
    def result(self) -> DialerResult | None:
        return self.dialer.result if self.dialer is not None else None

    def redial(self, dialer: Dialer, agent: AgentDte) -> None:
        self.dialer, self.agent = dialer, agent


def modem_app(options: ServeOptions) -> tuple[MonitorApp, list[str]]:
    """The monitor of a served modem, opened once the app runs; the list gets the one
    line saying why, should the port not open (the app then exits at once)."""
    app = MonitorApp(caller="modem", title=f"{options.profile.name} (modememu modem)")
    failed: list[str] = []

    async def start() -> None:
        loop = asyncio.get_running_loop()
        clock, bus = LoopClock(loop), EventBus()
        bus.subscribe(app.feed)
        cleanups: list[Callable[[], Any]] = []
        app.closers.append(lambda: close_all(cleanups))
        try:
            host, world, where = await open_modem(options, loop, clock, bus, cleanups)
        except (PortError, StateFileError, OSError) as exc:
            failed.append(str(exc) if not isinstance(exc, OSError) else os_error_line(exc))
            app.exit(None)
            return
        app.title = f"{options.profile.name} on {where}"
        app.attach(Watch(clock, world, host))

    app.attach_when_running(start)
    return app, failed


def run_modem_tui(options: ServeOptions) -> int:
    """`modememu modem --tui`: serve the modem and watch it until `q`."""
    app, failed = modem_app(options)
    app.run()
    if failed:
        sys.stderr.write(f"modememu: {failed[0]}\n")
        return 1
    return 0


def scenario_app(
    scenario: Scenario, *, log: Path | None = None, wav: Path | None = None
) -> tuple[MonitorApp, list[Bench]]:
    """A scenario in the monitor, watching its first dialer's modem (or its first modem);
    the list gets the bench once it is built (at once on the virtual clock)."""
    first = scenario.dialers[0].modem if scenario.dialers else scenario.modems[0].name
    app = MonitorApp(caller=first, dialer=f"dialer-{first}", title=f"scenario: {first}")
    benches: list[Bench] = []

    def start(clock: Clock, loop: asyncio.AbstractEventLoop | None) -> None:
        quiet = io.StringIO()  # the transcript: the monitor tells it
        bench = build_bench(scenario, clock, quiet, log, loop, wav=wav, subscribers=(app.feed,))
        benches.append(bench)
        app.closers.append(bench.aclose)
        dialer = bench.dialers[0] if bench.dialers else None
        agent = bench.agents[0] if bench.agents else None
        app.attach(Watch(clock, bench.world, bench.hosts[first], dialer, agent))

    if scenario.fast:
        start(VirtualClock(), None)
    else:
        app.attach_when_running(lambda: start(LoopClock(), asyncio.get_running_loop()))
    return app, benches


def run_scenario_tui(
    scenario: Scenario, *, log: Path | None = None, wav: Path | None = None
) -> int:
    """`modememu run FILE --tui`: the exit status as without the monitor."""
    app, benches = scenario_app(scenario, log=log, wav=wav)
    app.run()
    return benches[0].status() if benches and benches[0].dialers else 0
