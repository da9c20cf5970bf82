"""The monitor (`modememu.tui`): a demo session played on the virtual clock, panel by panel."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from serving import Tmux, require, wait_for
from textual import events

from modememu import cli
from modememu.agents.dialer import EXIT_CARRIER_LOST
from modememu.clock import VirtualClock
from modememu.dialup import DemoOptions, Session, build, run_demo_session
from modememu.drivers.runner import LoopClock
from modememu.drivers.serve import ServeOptions
from modememu.events import Stamped
from modememu.modem.events import ModeChanged, Retrained
from modememu.profiles import load_profile
from modememu.replay import records
from modememu.scenario import load as load_scenario
from modememu.tui.app import MonitorApp
from modememu.tui.controls import BULK
from modememu.tui.feed import EventFeed
from modememu.tui.messages import EventsPending
from modememu.tui.player import VirtualPlayer
from modememu.tui.run import DemoMonitor, modem_app, scenario_app
from modememu.tui.widgets.handshake_timeline import HandshakeTimeline
from modememu.tui.widgets.led import BLINK
from modememu.tui.widgets.link_log import LinkLog
from modememu.tui.widgets.modem_panel import ModemPanel
from modememu.tui.widgets.tcp_ladder import TcpLadder

SIZE = (100, 40)
HELD = "line held"  # the status line while the dialer holds the line (x, h act)


def monitor(*, paused: bool = True, tick: float = 0.1) -> tuple[MonitorApp, Session]:
    """An app watching a fresh demo session on a virtual clock (paused: the test drives it)."""
    app = MonitorApp(paused=paused, tick=tick, slice_=0.05, redraw=60.0)  # tests redraw
    session = build(DemoOptions(fast=True), VirtualClock(), [app.feed])
    app.attach(session)
    return app, session


def clock_of(session: Session) -> VirtualClock:
    assert isinstance(session.clock, VirtualClock)
    return session.clock


def run_until_connected(session: Session) -> None:
    clock = clock_of(session)
    while not session.caller.lines.dcd:
        assert clock.step(), "the call never connected"


def run_until_done(session: Session) -> None:
    clock = clock_of(session)
    while session.dialer.step != "done":
        assert clock.step(), "the dialer never finished"


def is_paused(app: MonitorApp) -> bool:
    return app.paused  # a call: mypy does not keep it narrowed across key presses


async def settle(app: MonitorApp) -> None:
    """Let the app take the events it was nudged about, then redraw now (not at the next tick)."""
    from textual.pilot import Pilot

    pilot: Pilot[int | None] = Pilot(app)
    await pilot.pause()
    app.show_panels()
    await pilot.pause()


# ----- the panels after a whole session -----


async def test_the_panels_tell_the_whole_session() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ModemPanel)
        panel.blink = 60.0  # data lamps stay lit until the test looks
        run_until_connected(session)
        await settle(app)
        assert panel.lamp("CD").lit and panel.lamp("OH").lit and panel.lamp("HS").lit
        assert panel.lamp("TR").lit and panel.lamp("MR").lit and not panel.lamp("AA").lit
        assert panel.circuit("DCD").lit and panel.circuit("DTR").lit and panel.circuit("CTS").lit
        assert not panel.circuit("RI").lit
        assert "V34 33600/33600 LAPM V42B" in panel.info
        assert "CONNECT 33600/ARQ" in panel.info
        assert "online" in panel.info and "usr-courier-v34" in panel.info
        assert panel.lamp("RD").lit and panel.lamp("SD").lit  # CONNECT, then LCP went out
        panel.lamp("RD").blink(0.01)
        await pilot.pause(0.2)
        assert not panel.lamp("RD").lit  # a blink goes out by itself
        assert BLINK < 0.5

        run_until_done(session)
        await settle(app)
        assert session.result is not None and session.result.code == 0

        rows = app.query_one(HandshakeTimeline).shown()
        steps = {(row[1], row[2]): row for row in rows}
        assert steps["caller", "CM"][3] == "C1 45 13 90 2A"
        assert steps["answerer", "JM"][3] == "C1 45 13 90 2A 47"
        assert [row[2] for row in rows].index("CM") < [row[2] for row in rows].index("JM")
        assert app.query_one(HandshakeTimeline).mode == "V34"

        link = app.query_one(LinkLog)
        assert any("sent [LCP ConfReq id=0x1 <asyncmap 0x0>" in line for line in link.lines)
        assert any("rcvd [IPCP ConfAck" in line for line in link.lines)
        assert any("Connection terminated: User request (exit 5)" in line for line in link.lines)
        assert link.phases["dialer"] == "Dead"

        ladder = app.query_one(TcpLadder)
        segments = [row for row in ladder.rows if "[" in row]
        flags = [(row.split("[")[1].split("]")[0], "▶" in row) for row in segments]
        assert flags[:3] == [("SYN", True), ("SYN, ACK", False), ("ACK", True)]
        assert ("FIN, ACK", True) in flags and ("FIN, ACK", False) in flags
        syn = segments[0]
        assert "seq=" in syn and "ack=0" in syn and "len=0" in syn and "mss=1460" in syn
        assert any(row.split()[-1] == "SYN-RECEIVED" for row in ladder.rows)  # the far end
        assert "TIME-WAIT" in ladder.header and "s left" in ladder.header
        assert "10.0.2.15:49152" in ladder.header and "10.0.2.2:7" in ladder.header

        # the dialer hung up by dropping DTR: carrier gone
        assert not panel.lamp("CD").lit and not panel.lamp("OH").lit
        assert not panel.lamp("TR").lit and not panel.circuit("DCD").lit
        assert "no carrier: DTR dropped" in panel.info
        assert "exit 0 (success)" in app.sub_title


async def test_m_shows_the_answering_modem_and_back() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        run_until_connected(session)
        clock_of(session).advance(0.1)  # the far modem's CONNECT comes a moment later
        await settle(app)
        panel = app.modem_panel
        assert panel.border_title == "modem" and "usr-courier-v34" in panel.info
        await pilot.press("m")
        assert panel.border_title == "modem far-5550100"
        assert "far-5550100 · online" in panel.info and "V34 33600/33600 LAPM V42B" in panel.info
        assert panel.lamp("CD").lit and panel.lamp("OH").lit and panel.lamp("HS").lit
        assert "CONNECT 33600/ARQ" not in panel.info  # the ISP's DTE read its own line
        run_until_done(session)
        clock_of(session).advance(5.0)  # the far modem hears the carrier go
        await settle(app)
        assert "no carrier" in panel.info and not panel.lamp("CD").lit  # it keeps following
        await pilot.press("m")
        assert panel.border_title == "modem" and "usr-courier-v34" in panel.info


async def test_h_drops_dtr_and_the_modem_hangs_up() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        run_until_connected(session)
        await settle(app)
        assert app.query_one(ModemPanel).lamp("CD").lit
        await pilot.press("h")
        run_until_done(session)
        await settle(app)
        panel = app.query_one(ModemPanel)
        assert not panel.lamp("CD").lit and not panel.lamp("TR").lit
        assert "no carrier: DTR dropped" in panel.info
        assert session.result is not None and session.result.code == EXIT_CARRIER_LOST


async def test_a_slip_session_shows_no_ppp_but_the_same_ladder() -> None:
    app = MonitorApp(paused=True)
    session = build(DemoOptions(fast=True, slip=True), VirtualClock(), [app.feed])
    app.attach(session)
    async with app.run_test(size=SIZE):
        run_until_done(session)
        await settle(app)
        assert session.result is not None and session.result.code == 0
        link = app.query_one(LinkLog).lines
        assert any("link: SLIP" in line for line in link)
        assert not any("[LCP" in line for line in link)
        assert any("[SYN]" in row for row in app.query_one(TcpLadder).rows)


# ----- the keys on the session -----


def run_until(session: Session, what: str, check: Callable[[], bool]) -> None:
    clock = clock_of(session)
    while not check():
        assert clock.step(), f"the clock ran out before {what}"


async def hold_a_call(app: MonitorApp, session: Session) -> None:
    """Let the demo's own call end, then dial again with `d`: the line is held online."""
    from textual.pilot import Pilot

    run_until_done(session)
    await Pilot(app).press("d")
    run_until(session, "holding the line", lambda: session.dialer.step == "online")
    await settle(app)


async def test_d_dials_again_and_holds_the_line_x_exchanges_h_hangs_up() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        first = session.dialer
        await hold_a_call(app, session)
        assert session.dialer is not first and session.dialer.config.hold
        assert HELD in app.sub_title
        assert app.modem_panel.lamp("CD").lit
        await pilot.press("x")
        run_until(session, "the exchange", lambda: session.dialer.step == "exchange")
        run_until(session, "its echo", lambda: session.dialer.step == "online")
        await settle(app)
        ladder = app.query_one(TcpLadder).rows
        assert sum("[SYN]" in row for row in ladder) == 3  # the demo's, the redial's, x's
        sent = [int(row.split("len=")[1].split()[0]) for row in ladder if "▶" in row]
        assert sum(sent) >= BULK
        await pilot.press("h")  # holding: the dialer hangs up politely
        run_until_done(session)
        await settle(app)
        assert session.result is not None and session.result.code == 0
        assert "exit 0 (success)" in app.sub_title


async def test_keys_that_need_a_held_line_say_so() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        run_until_done(session)
        await pilot.press("x")
        await pilot.press("c")
        await pilot.press("s")
        await pilot.pause()
        notes = app.said
        assert "not holding a line: dial first (d)" in notes
        assert notes.count("no call on the line") == 2


async def test_s_makes_the_line_noisier_and_the_modems_fall_back() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        await hold_a_call(app, session)
        assert "33600/33600" in app.modem_panel.info
        seen: list[Stamped] = []
        session.bus.subscribe(seen.append)
        for _ in range(4):
            await pilot.press("s")  # 12 dB less than the phonebook's line
        run_until(session, "a retrain", lambda: any(isinstance(s.event, Retrained) for s in seen))
        await settle(app)
        assert app.said[-1].startswith("line SNR now")
        assert "33600/33600" not in app.modem_panel.info
        assert app.modem_panel.lamp("CD").lit  # it retrained; the call goes on
        assert "retrains 1" in app.throughput.errors


async def test_c_drops_the_line_and_the_dialer_exits_8() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        await hold_a_call(app, session)
        await pilot.press("c")
        run_until_done(session)
        await settle(app)
        assert session.result is not None and session.result.code == EXIT_CARRIER_LOST
        assert not app.modem_panel.lamp("CD").lit


async def test_t_toggles_dtr_and_r_stalls_the_modem_with_rts() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        await hold_a_call(app, session)
        await pilot.press("r")
        run_until(session, "RTS off", lambda: not session.caller.modem.rts)
        await settle(app)
        assert not app.modem_panel.circuit("RTS").lit
        assert "modem held off" in app.modem_panel.info
        await pilot.press("r")
        await pilot.press("t")  # DTR off: &D2 hangs up
        run_until_done(session)
        await settle(app)
        assert not app.modem_panel.circuit("DTR").lit and not app.modem_panel.lamp("TR").lit
        assert session.result is not None and session.result.code == EXIT_CARRIER_LOST


async def test_plus_escapes_to_online_command_mode() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        await hold_a_call(app, session)
        clock = clock_of(session)
        clock.advance(2.0)  # a quiet line: the guard time before
        await pilot.press("plus")
        clock.advance(2.0)  # and after
        await settle(app)
        assert session.caller.modem.mode.value == "online-command"
        assert "online-command" in app.modem_panel.info
        assert "OK" in app.terminal.model.lines[-2:][0] + app.terminal.model.lines[-1]


async def test_the_terminal_types_at_commands_and_shows_the_answers() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        run_until_done(session)
        await pilot.press("tab")
        assert app.terminal.has_focus
        await pilot.press("A", "T", "I", "3", "enter")
        run_until(
            session,
            "the answer",
            lambda: "OK" in app.terminal.model.lines[-1] + "".join(app.terminal.model.lines[-3:]),
        )
        await settle(app)
        shown = "\n".join(app.terminal.model.lines)
        assert "ATI3" in shown  # the modem's echo
        assert "CONNECT 33600/ARQ" in shown  # the call before, as a terminal showed it
        await pilot.press("q")  # typed into the terminal: no quit
        assert app.is_running
        await pilot.press("escape", "q")
    assert app.return_value == 0


async def test_w_writes_the_ppp_frames_as_a_pcap_tshark_reads(tmp_path: Path) -> None:
    app, session = monitor()
    app.capture_dir = tmp_path
    async with app.run_test(size=SIZE) as pilot:
        run_until_done(session)
        await pilot.press("w")
        await pilot.pause()
    pcap = tmp_path / "modememu-1.pcap"
    tshark = require("tshark")
    out = subprocess.run(
        [tshark, "-r", str(pcap), "-T", "fields", "-e", "frame.protocols"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out and all(p.startswith("ppp") for p in out)
    assert any(":lcp" in p for p in out) and any(":ipcp" in p for p in out)
    assert any(p.endswith(":tcp") or ":tcp:" in p for p in out)


async def test_keys_are_handled_within_one_redraw_during_a_full_speed_transfer() -> None:
    app = MonitorApp(paused=True, tick=0.005, slice_=0.05)  # the app's own redraw rate
    session = build(DemoOptions(fast=True), VirtualClock(), [app.feed])
    app.attach(session)
    handled: list[tuple[int, str]] = []  # (redraws when handled, the dialer's step then)
    toggle = app.action_toggle_pause

    def timed_toggle() -> None:
        handled.append((app.redraws, session.dialer.step))
        toggle()

    app.action_toggle_pause = timed_toggle  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await hold_a_call(app, session)
        await pilot.press("x")
        assert session.dialer.step == "tcp", app.said
        started = session.clock.now()

        async def press_space() -> int:
            """Post the key as a terminal would, without waiting for the app to idle
            (it never does while it plays); the redraws that passed until it was handled."""
            before, count = app.redraws, len(handled)
            app.post_message(events.Key("space", " "))
            while len(handled) == count:
                await asyncio.sleep(0.001)
            return handled[-1][0] - before

        lags = [await press_space()]  # play: the app runs the transfer by itself now
        deadline = time.monotonic() + 120
        while session.dialer.step != "online" and time.monotonic() < deadline:
            await pilot.pause(0.1)
            lags += [await press_space(), await press_space()]  # pause, and play again
        assert session.dialer.step == "online", "the transfer did not finish"
        assert session.clock.now() - started >= 10.0  # ten seconds of line time, at full speed
        assert len(lags) >= 10 and sum(step == "exchange" for _, step in handled) >= 10
        assert max(lags) <= 1  # each key press handled before a second redraw came
        assert app.throughput.model.totals[0] >= BULK


# ----- a served modem (modememu modem --tui) -----


def serve_options(**changes: object) -> ServeOptions:
    profile = load_profile("usr-courier-v34")
    base = ServeOptions(profile, None, None, 115200, None, "", None, False, None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_modem_tui_shows_what_the_port_s_dte_and_the_terminal_type(tmp_path: Path) -> None:
    link = tmp_path / "ttyMODEM"
    app, failed = modem_app(serve_options(pty=link))
    async with app.run_test(size=SIZE) as pilot:
        assert not failed and app.session is not None and app.player is None
        assert str(link) in app.title
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"ATI3\r")  # a terminal program on the pty
            deadline = time.monotonic() + 10
            while "OK" not in "".join(app.terminal.model.lines) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            shown = "\n".join(app.terminal.model.lines)
            assert "ATI3" in shown and "OK" in shown  # the echo and the answer, as the DTE saw
            assert app.terminal.model.sent == 5  # what the port's DTE sent
            await pilot.press("tab", "A", "T", "H", "enter")  # typed in the monitor itself
            deadline = time.monotonic() + 10
            while "ATH" not in "".join(app.terminal.model.lines) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert os.read(fd, 4096).count(b"OK") >= 1  # the port's DTE sees it all too
            await pilot.press("escape", "d")
            await pilot.pause()
            assert app.said[-1].startswith("no dialer on this modem")
            await settle(app)
            assert "usr-courier-v34 · command" in app.modem_panel.info
            assert "DTE 115200 8N1" in app.modem_panel.info
        finally:
            os.close(fd)
        await pilot.press("q")
    assert not link.exists()  # the pty went with the app


async def test_modem_tui_on_a_port_that_does_not_open_says_why() -> None:
    app, failed = modem_app(serve_options(device="/dev/modememu-no-such-port"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    assert len(failed) == 1 and "modememu-no-such-port" in failed[0]


# ----- a scenario (modememu run --tui) -----

SCENARIO = """
fast = true

[[modem]]
name = "pc"
profile = "zyxel-u1496e"

[[dialer]]
modem = "pc"
number = "5550101"
mode = "slip"
"""


async def test_run_tui_watches_the_first_dialer_s_modem(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(SCENARIO)
    app, benches = scenario_app(load_scenario(path))
    async with app.run_test(size=SIZE) as pilot:
        assert app.player is not None and len(benches) == 1
        while app.player.play_slice() or not app.player.finished:
            pass
        await settle(app)
        assert "exit 0 (success)" in app.sub_title
        assert "zyxel-u1496e" in app.modem_panel.info
        assert any("link: SLIP" in line for line in app.link.lines)
        assert any("[SYN]" in row for row in app.tcp.rows)
        assert "ATDT5550101" in "\n".join(app.terminal.model.lines)
        await pilot.press("q")
    assert app.return_value == 0 and benches[0].status() == 0


# ----- replaying a log -----


async def test_replay_tui_tells_a_recorded_session_again(tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    assert run_demo_session(io.StringIO(), DemoOptions(fast=True, log=log)) == 0
    stamped = list(records(log, []))
    app = MonitorApp(paused=True, redraw=60.0)
    app.replay(stamped)
    assert app.player is not None
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert app.player.steps == 1
        while app.player.play_slice():
            pass
        await settle(app)
        assert app.player.finished and "stopped" in app.sub_title
        assert "no carrier: DTR dropped" in app.modem_panel.info  # as the call ended
        assert "CONNECT 33600/ARQ" in app.modem_panel.info
        assert any("rcvd [IPCP ConfAck" in line for line in app.link.lines)
        assert any("[SYN, ACK]" in row for row in app.tcp.rows)
        assert app.query_one(HandshakeTimeline).mode == "V34"
        await pilot.press("d")  # nothing to act on in a replay
        await pilot.press("q")
    assert app.return_value is None


def test_replay_tui_of_a_file_without_events_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["replay", str(empty), "--tui"]) == 1
    assert err.getvalue().count("\n") == 1 and "no events" in err.getvalue()


# ----- playing, pausing, stepping, quitting -----


async def test_the_app_plays_the_session_by_itself() -> None:
    app, session = monitor(paused=False, tick=0.005)
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 20
        while session.dialer.step != "done" and time.monotonic() < deadline:
            await pilot.pause(0.01)
        assert session.dialer.step == "done"
        await settle(app)
        assert app.player is not None and app.player.finished
        assert "exit 0 (success)" in app.sub_title
        assert "CONNECT 33600/ARQ" in app.query_one(ModemPanel).info
        assert any("[SYN]" in row for row in app.query_one(TcpLadder).rows)
        now = session.clock.now()
        await pilot.pause(0.05)
        assert session.clock.now() == now  # the story is over: no more playing on its own


async def test_space_pauses_the_clock_and_n_steps_it() -> None:
    app, session = monitor(paused=False, tick=0.005)
    assert app.player is not None
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 20
        while app.player.steps == 0 and time.monotonic() < deadline:
            await pilot.pause(0.01)
        await pilot.press("space")
        assert is_paused(app)
        now, steps = session.clock.now(), app.player.steps
        for _ in range(3):
            await pilot.pause(0.03)
        assert (session.clock.now(), app.player.steps) == (now, steps)
        await pilot.press("n")
        assert app.player.steps == steps + 1
        assert session.clock.now() >= now
        await pilot.press("space")
        assert not is_paused(app)
        await pilot.press("n")  # playing: no single steps
        for _ in range(3):
            await pilot.pause(0.03)
        assert app.player.steps > steps + 1


async def test_n_does_nothing_while_playing() -> None:
    app, _ = monitor(paused=False, tick=60.0)  # no tick comes during the test
    assert app.player is not None
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert app.player.steps == 0


async def test_q_quits_with_the_dialer_s_exit_code() -> None:
    app, session = monitor()
    async with app.run_test(size=SIZE) as pilot:
        run_until_done(session)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_q_before_the_end_quits_without_a_code() -> None:
    app, _ = monitor()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value is None


# ----- the feed and the player -----


def test_the_feed_wakes_the_app_once_per_batch() -> None:
    feed = EventFeed()
    wakes: list[int] = []
    feed.wake = lambda: wakes.append(feed.total)
    for n in range(5):
        feed(Stamped(float(n), "caller", ModeChanged("online")))
    assert wakes == [1]
    assert [s.time for s in feed.drain()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    feed(Stamped(5.0, "caller", ModeChanged("command")))
    assert wakes == [1, 6] and len(feed.drain()) == 1 and feed.drain() == []


def test_the_pending_message_replaces_an_older_one() -> None:
    assert EventsPending().can_replace(EventsPending())


async def test_events_reach_the_app_coalesced() -> None:
    seen: list[object] = []
    app, session = monitor()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        run_until_done(session)
        await pilot.pause()
        nudges = sum(isinstance(m, EventsPending) for m in seen)
        assert app.events == app.feed.total > 100
        assert 1 <= nudges < app.events


def test_the_player_skips_idle_time_and_slices_busy_time() -> None:
    clock = VirtualClock()
    fired: list[float] = []
    for when in (1.0, 1.01, 1.04, 1.2, 5.0):
        clock.call_at(when, lambda: fired.append(clock.now()))
    player = VirtualPlayer(clock, lambda: False, slice_=0.05)
    assert player.play_slice() == 3 and fired == [1.0, 1.01, 1.04]
    assert player.play_slice() == 1 and clock.now() == 1.2
    assert player.step() and fired[-1] == 5.0
    assert player.finished and not player.step() and player.play_slice() == 0


def test_the_player_stops_when_the_story_is_done() -> None:
    clock = VirtualClock()
    for when in (1.0, 1.01):
        clock.call_at(when, lambda: None)
    player = VirtualPlayer(clock, lambda: clock.now() >= 1.0)
    assert player.play_slice() == 1 and player.finished


# ----- the command line -----


def test_demo_fast_on_a_terminal_shows_the_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    import modememu.tui.run

    calls: list[DemoOptions] = []

    def fake(out: object, options: DemoOptions) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(modememu.tui.run, "run_demo_tui", fake)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["demo", "--fast"]) == 0
    assert calls == [DemoOptions(fast=True)]


def test_headless_or_real_time_keep_the_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    import modememu.tui.run

    def fail(out: object, options: DemoOptions) -> int:
        raise AssertionError("the monitor was started")

    monkeypatch.setattr(modememu.tui.run, "run_demo_tui", fail)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["demo", "--fast", "--headless"]) == 0


async def test_a_real_time_demo_runs_on_the_app_s_own_loop() -> None:
    monitor = DemoMonitor(DemoOptions())
    app = monitor.app
    try:
        async with app.run_test(size=SIZE) as pilot:
            session = monitor.session
            assert session is not None and isinstance(session.clock, LoopClock)
            assert app.player is None  # the loop moves time on, not the app
            deadline = time.monotonic() + 10
            while session.caller.modem.mode.value == "command" and time.monotonic() < deadline:
                await pilot.pause(0.05)
            await settle(app)
            assert session.dialer.step == "dialing"
            assert app.modem_panel.view.off_hook and app.modem_panel.lamp("OH").lit
            assert "ATDT5550100" in "\n".join(app.terminal.model.lines)  # the modem's echo
            await pilot.press("q")
        assert app.return_value is None  # quit mid-call: no exit code
    finally:
        monitor.close()


# ----- in a real terminal -----


@pytest.mark.peer
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_demo_fast_in_tmux_shows_the_session_then_d_h_and_q(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    tmux = require("tmux")
    status = tmp_path / "status"
    command = f"{sys.executable} -m modememu demo --fast; echo $? > {status}; sleep 60"
    tmux_session = Tmux(tmux, f"modememu-tui-{size[0]}")
    tmux_session.start(*size, command)
    screen = tmux_session.screen
    try:
        finished = ("exit 0 (success)", "no carrier: DTR dropped", "CONNECT 33600/ARQ")
        wait_for("the whole session on screen", lambda: all(s in screen() for s in finished), 30)
        shown = screen()
        assert "[SYN] seq=" in shown and "[SYN, ACK] seq=" in shown and "[ACK] seq=" in shown
        assert "link down: PPP: User request" in shown
        assert "HS AA CD OH RD SD TR MR" in shown and "RTS CTS DTR DSR DCD RI" in shown
        if size[1] >= 40:
            assert "throughput" in shown and "bad FCS 0" in shown
        tmux_session.keys("d")  # dial again: the line is held
        wait_for("the call held online", lambda: HELD in screen(), 30)
        assert "exit 0" not in screen().splitlines()[0]
        tmux_session.keys("h")  # the hang-up key: link down, DTR off
        wait_for("the hang-up", lambda: "exit 0 (success)" in screen(), 30)
        tmux_session.keys("q")
        wait_for("the monitor to quit", status.exists, 10)
        wait_for("its exit status", lambda: status.read_text().strip() != "", 5)
        assert status.read_text().strip() == "0"
        assert "modememu demo: exit 0 (success)" in screen()
    finally:
        tmux_session.close()
