"""Calls on the virtual clock: dialing, call progress, ringing, answering, hanging up."""

from __future__ import annotations

import itertools

import pytest
from callrig import Rig, Station, lines, mode

from modememu.drivers.exchange import CallRouted
from modememu.modem import events as ev
from modememu.modem.line import RING_ON, RING_PERIOD
from modememu.modem.modem import Mode


def placed_at(station: Station) -> float:
    rig = station.rig
    return next(
        t
        for t, e in zip(
            rig.times_of(ev.CallProgress, station.host.name),
            rig.events_of(ev.CallProgress, station.host.name),
            strict=True,
        )
        if isinstance(e, ev.CallProgress) and e.step == "placed"
    )


def connect(rig: Rig, caller: Station, number: str) -> None:
    caller.at(f"ATX4DT{number}")
    caller.wait_for(b"CONNECT")
    caller.take()


def test_echo_service_returns_every_byte_value() -> None:
    rig = Rig()
    a = rig.station("a", "5551000")
    a.at("ATX4DT5550102")
    t = a.wait_for(b"CONNECT 33600/ARQ\r\n")  # USR &A1: the ARQ marker for V.42
    # One ring burst (the far modem answers when it ends), then V.8 and V.34 training.
    assert 9.0 < t - placed_at(a) - RING_ON < 10.5
    assert mode(a) is Mode.ONLINE and lines(a).dcd
    a.take()
    payload = bytes(range(256)) * 4
    a.send(payload)
    rig.run(5)
    assert a.take() == payload


def test_busy_number_gives_busy_with_busy_detection() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4DT5550199")
    a.wait_for(b"BUSY\r\n")
    assert not a.modem.off_hook and mode(a) is Mode.COMMAND


def test_without_busy_detection_a_busy_line_ends_in_no_carrier_after_s7() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX1S7=30DT5550199")
    t = a.wait_for(b"NO CARRIER")
    assert b"BUSY" not in a.received
    assert t == pytest.approx(placed_at(a) + 30)


def test_unanswered_number_is_no_carrier_after_s7_and_no_answer_with_at() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4S7=40DT5550198")
    t = a.wait_for(b"NO CARRIER")
    assert t == pytest.approx(placed_at(a) + 40)
    a.take()
    a.at("ATX4S7=40DT5550198@")
    a.wait_for(b"NO ANSWER")


def test_answer_without_carrier_is_no_carrier_after_s7() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4S7=45DT5550197")
    t = a.wait_for(b"NO CARRIER")
    assert t == pytest.approx(placed_at(a) + 45)
    progress = [e.step for e in a.events(ev.CallProgress) if isinstance(e, ev.CallProgress)]
    assert "answered" in progress and "training" not in progress


def test_noisy_line_connects_and_carries_its_snr() -> None:
    rig = Rig()
    a = rig.station("a")
    connect(rig, a, "5550196")
    routed = [e for e in rig.events_of(CallRouted) if isinstance(e, CallRouted)]
    assert routed[-1].number == "5550196" and routed[-1].snr_db == 12.0
    a.send(b"noise?")
    rig.run(2)
    assert a.take() == b"noise?"


def test_carrier_drops_ten_seconds_after_connect() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4DT5550195")
    connected = a.wait_for(b"CONNECT")
    lost = a.wait_for(b"NO CARRIER")
    s10 = a.modem.engine.sreg(10) * 0.1
    assert lost == pytest.approx(connected + 10 + s10)
    assert not lines(a).dcd and not a.modem.off_hook


def test_bbs_greets_then_echoes_lines() -> None:
    rig = Rig()
    a = rig.station("a")
    connect(rig, a, "5550103")
    a.wait_for(b"> ")
    assert b"Welcome" in a.take()
    a.send(b"hello\r")
    a.wait_for(b"You said: hello\r\n")


@pytest.mark.parametrize(
    ("number", "greeting"),
    [
        ("5550100", b"\x7e\xff\x7d\x23\xc0\x21"),  # PPP: an LCP Configure-Request
        ("5550101", b"SLIP, your address is 10.0.2.15"),  # SLIP: the address line first
    ],
)
def test_the_isp_numbers_answer_with_ppp_and_slip(number: str, greeting: bytes) -> None:
    rig = Rig()
    a = rig.station("a")
    connect(rig, a, number)
    rig.run(2)
    assert greeting in a.take()


def test_number_not_in_service_never_connects() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4S7=20DT5559999")
    a.wait_for(b"NO CARRIER")
    assert not rig.events_of(ev.Connected)


def test_tcp_host_without_a_network_is_no_dialtone() -> None:
    rig = Rig()  # a virtual exchange has no network
    a = rig.station("a")
    a.at('ATX4D"bbs.example.com:23"')
    a.wait_for(b"NO DIALTONE")


def test_dte_character_aborts_dialing() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4DT5550102")
    rig.run(2)
    a.send(b"x")
    a.wait_for(b"NO CARRIER")
    assert not a.modem.off_hook
    assert not rig.events_of(ev.Connected)


def test_dial_timing_follows_the_dial_string() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4S8=3DT9,5550102")
    rig.run(20)
    plain = Rig()
    b = plain.station("b")
    b.at("ATX4S8=3DT95550102")
    plain.run(20)
    assert placed_at(a) == pytest.approx(placed_at(b) + 3)


def test_blind_dialing_waits_s6_first() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX1S6=4DT5550102")
    rig.run(20)
    listening = Rig()
    b = listening.station("b")
    b.at("ATX4DT5550102")
    listening.run(20)
    assert placed_at(a) == pytest.approx(placed_at(b) - 0.5 + 4)


def test_semicolon_dials_and_returns_to_command_mode_off_hook() -> None:
    rig = Rig()
    a = rig.station("a")
    a.at("ATX4DT5550102;")
    a.wait_for(b"OK")
    assert mode(a) is Mode.COMMAND and a.modem.off_hook
    a.take()
    a.at("ATH")
    a.wait_for(b"OK")
    assert not a.modem.off_hook


# ----- two modems -----


def two(rig: Rig, profile: str = "usr-courier-v34") -> tuple[Station, Station]:
    return rig.station("a", "5551001", profile), rig.station("b", "5551002", profile)


def test_modem_to_modem_call_rings_answers_and_carries_data_both_ways() -> None:
    rig = Rig()
    a, b = two(rig)
    a.at("ATX4DT5551002")
    b.wait_for(b"RING")
    assert lines(b).ri
    b.take()
    b.at("ATA")
    b.wait_for(b"CONNECT 33600")
    a.wait_for(b"CONNECT 33600")
    a.take()
    b.take()
    a.send(b"from a")
    b.send(b"from b")
    rig.run(2)
    assert b.take() == b"from a" and a.take() == b"from b"


def test_ring_cadence_and_s1_count() -> None:
    rig = Rig()
    a, b = two(rig)
    a.at("ATX4DT5551002")
    rig.run(30)
    rings = rig.times_of(ev.Ringing, "b")
    assert len(rings) >= 4
    assert [round(t2 - t1, 6) for t1, t2 in itertools.pairwise(rings)] == [RING_PERIOD] * (
        len(rings) - 1
    )
    ri = [
        (t, e.ri)
        for t, e in zip(
            rig.times_of(ev.ModemLinesChanged, "b"),
            rig.events_of(ev.ModemLinesChanged, "b"),
            strict=True,
        )
        if isinstance(e, ev.ModemLinesChanged)
    ]
    assert ri[0] == (rings[0], True)
    assert ri[1][1] is False and ri[1][0] == pytest.approx(rings[0] + RING_ON)
    b.take()
    b.at("ATS1?")
    b.wait_for(b"OK")
    assert f"{len(rings):03d}".encode() in b.take()


def test_s0_answers_after_exactly_that_many_rings() -> None:
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=2")
    b.wait_for(b"OK")
    b.take()
    a.at("ATX4DT5551002")
    b.wait_for(b"CONNECT")
    assert b.take().count(b"RING") == 2
    assert len(rig.events_of(ev.Ringing, "b")) == 2


def answered_at(rig: Rig, name: str) -> list[float]:
    return [
        t
        for t, e in zip(
            rig.times_of(ev.CallProgress, name), rig.events_of(ev.CallProgress, name), strict=True
        )
        if isinstance(e, ev.CallProgress) and e.step == "answered"
    ]


def test_s0_picks_up_when_the_counted_rings_burst_ends() -> None:
    """So the caller hears ringback before the answer tone, as with a real modem."""
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=1")
    a.at("ATX4DT5551002")
    a.wait_for(b"CONNECT")
    ring = rig.times_of(ev.Ringing, "b")[0]
    ringback = next(
        t
        for t, e in zip(
            rig.times_of(ev.CallProgress, "a"), rig.events_of(ev.CallProgress, "a"), strict=True
        )
        if isinstance(e, ev.CallProgress) and e.step == "ringback"
    )
    assert ringback == ring
    assert answered_at(rig, "b") == answered_at(rig, "a") == [pytest.approx(ring + RING_ON)]


def test_ata_during_the_ring_answers_at_once() -> None:
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=1")
    b.wait_for(b"OK")
    a.at("ATX4DT5551002")
    rung = b.wait_for(b"RING")
    rig.run(0.5)
    b.at("ATA")
    b.wait_for(b"CONNECT")
    assert answered_at(rig, "b") == [pytest.approx(rung + 0.5, abs=0.05)]
    assert len(answered_at(rig, "b")) == 1 and len(rig.events_of(ev.Connected, "b")) == 1


def test_a_caller_giving_up_during_the_ring_is_never_answered() -> None:
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=1")
    b.wait_for(b"OK")
    a.at("ATX4DT5551002")
    b.wait_for(b"RING")
    rig.run(0.5)
    a.send(b"x")  # a DTE character aborts the dialing
    a.wait_for(b"NO CARRIER")
    rig.run(RING_PERIOD)
    assert not answered_at(rig, "b") and not b.modem.off_hook
    assert not lines(b).ri and len(rig.events_of(ev.Ringing, "b")) == 1


def test_ring_count_clears_after_the_caller_gives_up() -> None:
    rig = Rig()
    a, b = two(rig)
    a.at("ATX4S7=10DT5551002")
    a.wait_for(b"NO CARRIER")
    assert b.modem.engine.sreg(1) >= 1
    rig.run(9)
    assert b.modem.engine.sreg(1) == 0
    assert not lines(b).ri


def test_second_caller_gets_busy_while_a_call_is_up() -> None:
    rig = Rig()
    a, b = two(rig)
    c = rig.station("c", "5551003")
    b.at("ATS0=1")
    a.at("ATX4DT5551002")
    a.wait_for(b"CONNECT")
    c.at("ATX4DT5551002")
    c.wait_for(b"BUSY")
    assert mode(a) is Mode.ONLINE


def test_dtr_off_under_d2_refuses_calls() -> None:
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=1&D2")
    b.host.set_dtr(False)
    rig.run(1)
    a.at("ATX4DT5551002")
    a.wait_for(b"NO CARRIER")
    assert b"RING" not in b.received
    assert not rig.events_of(ev.Connected)


def test_hang_up_is_no_carrier_at_the_far_end_after_s10() -> None:
    rig = Rig()
    a, b = two(rig)
    b.at("ATS0=1S10=20")
    a.at("ATX4DT5551002")
    b.wait_for(b"CONNECT")
    a.wait_for(b"CONNECT")
    rig.run(2)
    a.send(b"+++")
    a.wait_for(b"OK")
    a.take()
    b.take()
    a.at("ATH")
    hung = a.wait_for(b"OK")
    lost = b.wait_for(b"NO CARRIER")
    assert lost == pytest.approx(hung + 2.0)
    assert not lines(b).dcd and not b.modem.off_hook
