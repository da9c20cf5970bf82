"""Online: the +++ escape, online command mode, DTR, DCD/DSR, S10, S30, flow control."""

from __future__ import annotations

import pytest
from callrig import Rig, Station, lines, mode

from modememu.modem import events as ev
from modememu.modem.datapath import DTE_BUFFER, XOFF, XON
from modememu.modem.modem import Mode

GUARD = 1.0  # S12 = 50 fiftieths


def online(profile: str = "usr-courier-v34", caller_init: str = "") -> tuple[Rig, Station, Station]:
    """A (caller) and B (auto-answer) connected, both DTEs' buffers emptied."""
    rig = Rig()
    a = rig.station("a", "5551001", profile)
    b = rig.station("b", "5551002", profile)
    b.at("ATS0=1")
    if caller_init:
        a.at(caller_init)
    a.at("ATX4DT5551002")
    a.wait_for(b"CONNECT")
    b.wait_for(b"CONNECT")
    rig.run(3)
    a.take()
    b.take()
    return rig, a, b


def escaped(a: Station) -> bool:
    return mode(a) is Mode.ONLINE_COMMAND


def test_true_escape_answers_ok_one_guard_time_after_the_third_plus() -> None:
    rig, a, b = online()
    a.send(b"+++")
    sent = rig.clock.now()
    t = a.wait_for(b"OK")
    assert t == pytest.approx(sent + GUARD)
    assert escaped(a) and lines(a).dcd
    rig.run(1)
    assert b.take() == b"+++"  # the pluses went to the far end too


def test_pluses_one_at_a_time_within_the_guard_escape() -> None:
    rig, a, _ = online()
    for _ in range(3):
        a.send(b"+")
        rig.run(0.3)
    rig.run(1)
    assert escaped(a)


def test_no_escape_without_silence_before() -> None:
    rig, a, _ = online()
    a.send(b"a")
    rig.run(0.5)
    a.send(b"+++")
    rig.run(3)
    assert not escaped(a) and b"OK" not in a.received


def test_no_escape_on_pluses_inside_data() -> None:
    rig, a, _ = online()
    a.send(b"a+++")
    rig.run(3)
    assert not escaped(a)
    a.send(b"x" * 100 + b"+++" + b"y" * 100)  # binary data at full speed
    rig.run(3)
    assert not escaped(a)


def test_no_escape_when_data_follows_within_the_guard() -> None:
    rig, a, _ = online()
    a.send(b"+++")
    rig.run(0.5)
    a.send(b"z")
    rig.run(3)
    assert not escaped(a)


def test_no_escape_when_pluses_are_too_far_apart_or_four() -> None:
    rig, a, _ = online()
    a.send(b"++")
    rig.run(1.5)  # gap >= guard: the candidate is gone, this plus starts a new one
    a.send(b"+")
    rig.run(3)
    assert not escaped(a)
    a.send(b"++++")
    rig.run(3)
    assert not escaped(a)


def test_s2_above_127_disables_escape_and_s12_changes_the_guard() -> None:
    rig, a, _ = online()
    a.send(b"+++")
    a.wait_for(b"OK")
    a.take()
    a.at("ATS2=200O")
    a.wait_for(b"CONNECT")
    rig.run(2)
    a.send(b"+++")
    rig.run(3)
    assert not escaped(a)
    a.send(bytes([200]) * 3)
    rig.run(3)
    assert not escaped(a)


def test_online_command_mode_buffers_far_data_until_o() -> None:
    rig, a, b = online()
    a.send(b"+++")
    a.wait_for(b"OK")
    a.take()
    b.send(b"while you were away")
    rig.run(2)
    assert b"away" not in a.received
    a.at("ATO")
    a.wait_for(b"CONNECT")
    a.wait_for(b"while you were away")
    assert mode(a) is Mode.ONLINE


def test_dtr_drop_after_s25_under_each_d_setting() -> None:
    # &D0: ignored
    rig, a, _ = online()
    a.modem.engine.config.settings["&D"] = 0
    a.host.set_dtr(False)
    rig.run(1)
    assert mode(a) is Mode.ONLINE
    # &D1: online command mode, call kept
    rig, a, _ = online()
    a.modem.engine.config.settings["&D"] = 1
    a.host.set_dtr(False)
    a.wait_for(b"OK")
    assert escaped(a) and a.modem.off_hook
    # &D2: hang up
    rig, a, b = online()
    a.host.set_dtr(False)
    rig.run(0.04)  # shorter than S25 (0.05 s): nothing yet
    assert mode(a) is Mode.ONLINE
    rig.run(0.02)
    assert mode(a) is Mode.COMMAND and not a.modem.off_hook
    b.wait_for(b"NO CARRIER")


def test_dtr_drop_under_d3_resets_the_modem() -> None:
    rig, a, b = online("conexant-v92")
    a.modem.engine.config.settings["&D"] = 3
    a.modem.engine.config.sregs[7] = 99
    a.host.set_dtr(False)
    rig.run(1)
    assert mode(a) is Mode.COMMAND and not a.modem.off_hook
    assert a.modem.engine.sreg(7) != 99
    b.wait_for(b"NO CARRIER")


def test_dcd_follows_carrier_under_c1_and_is_always_on_under_c0() -> None:
    rig = Rig()
    a = rig.station("a", "5551001")
    assert not lines(a).dcd
    a.at("AT&C0")
    rig.run(1)
    assert lines(a).dcd
    rig, a, b = online()
    assert lines(a).dcd and lines(b).dcd
    a.send(b"+++")
    a.wait_for(b"OK")
    assert lines(a).dcd  # online command mode keeps the carrier
    a.at("ATH")
    a.wait_for(b"OK\r\n")
    assert not lines(a).dcd


def test_dsr_follows_s() -> None:
    rig = Rig()
    a = rig.station("a", "5551001", "hayes-smartmodem-2400")
    assert lines(a).dsr  # &S0
    a.at("AT&S1")
    rig.run(1)
    assert not lines(a).dsr


def test_s30_hangs_up_an_idle_call() -> None:
    rig, a, b = online("conexant-v92", "ATS30=2")
    lost = a.wait_for(b"NO CARRIER")
    connected = next(t for t in rig.times_of(ev.Connected, "a"))
    assert lost == pytest.approx(connected + 20)
    b.wait_for(b"NO CARRIER")


def test_flooding_dte_gets_cts_dropped_and_loses_nothing() -> None:
    rig, a, b = online("conexant-v92")  # &K3
    a.send(b"x" * (DTE_BUFFER * 3 // 4))
    assert not lines(a).cts
    rig.run(60)
    assert lines(a).cts
    assert b.take() == b"x" * (DTE_BUFFER * 3 // 4)
    assert not rig.events_of(ev.DataLost)


def test_xon_xoff_both_ways() -> None:
    rig, a, b = online("conexant-v92", "AT&K4")
    a.send(b"y" * (DTE_BUFFER * 3 // 4))
    assert a.take() == bytes([XOFF])
    rig.run(60)
    assert a.take() == bytes([XON])
    # The DTE's XOFF stops the modem's output; XON lets it go. Neither is data.
    a.send(bytes([XOFF]))
    b.send(b"held")
    rig.run(2)
    assert a.take() == b""
    a.send(bytes([XON]))
    rig.run(0.1)
    assert a.take() == b"held"
    assert b"\x11" not in b.take()


def test_rts_off_holds_output_and_nothing_is_lost() -> None:
    rig, a, b = online("conexant-v92")
    a.host.set_rts(False)
    b.send(b"z" * 3000)
    rig.run(20)
    assert a.take() == b""
    a.host.set_rts(True)
    rig.run(1)
    assert a.take() == b"z" * 3000


def test_without_flow_control_an_overrun_is_counted() -> None:
    rig, a, _ = online("conexant-v92", "AT&K0")
    a.send(b"q" * (DTE_BUFFER + 100))
    lost = [e for e in rig.events_of(ev.DataLost, "a") if isinstance(e, ev.DataLost)]
    assert lost and lost[-1].direction == "from-dte" and lost[-1].total == 100
    assert lines(a).cts  # &K0: CTS never drops


def test_without_error_control_a_dte_that_stops_reading_loses_what_overflows() -> None:
    rig, a, b = online("conexant-v92", "AT\\N0")
    link = a.modem.link
    assert link is not None and not link.error_control
    a.host.set_rts(False)
    sent = 0
    for _ in range(20):
        b.send(b"w" * 4000)
        sent += 4000
        rig.run(3)
    lost = [e for e in rig.events_of(ev.DataLost, "a") if isinstance(e, ev.DataLost)]
    assert lost and {e.direction for e in lost} == {"to-dte"}
    a.host.set_rts(True)
    rig.run(1)
    assert len(a.take()) + lost[-1].total == sent
