"""The line handshake as a pure function: V.8, automode, training, error control."""

from __future__ import annotations

import pytest

from modememu.profiles import load_profile
from modememu.vseries.handshake import (
    ANSWERER,
    CALLER,
    Handshake,
    LineCaps,
    LineQuality,
    Step,
    negotiate,
    retrain,
)
from modememu.vseries.v8 import parse_message

EVERYTHING = ("V34", "V32B", "V32", "V22B", "V22", "V21", "B212", "B103")
BOTH_EC = ("LAPM", "MNP")
BOTH_COMP = ("V42B", "MNP5")


def caps_of(profile: str, **changes: object) -> LineCaps:
    """What a modem with this profile offers at factory settings."""
    p = load_profile(profile)
    fields: dict[str, object] = {
        "modulations": p.modulations,
        "max_rate": p.max_rate,
        "error_control": p.error_control,
        "digital": p.digital,
        "compression": p.compression,
    }
    fields.update(changes)
    return LineCaps(**fields)  # type: ignore[arg-type]


def step(hs: Handshake, name: str, by: str | None = None) -> Step:
    return next(s for s in hs.steps if s.name == name and (by is None or s.by == by))


def names(hs: Handshake) -> list[str]:
    return [s.name for s in hs.steps]


def test_v8_timeline_follows_the_measured_trace() -> None:
    usr = caps_of("usr-courier-v34")
    hs = negotiate(usr, usr, LineQuality())
    assert step(hs, "ANSam").t == pytest.approx(0.2)
    assert step(hs, "CM").t == pytest.approx(2.54, abs=0.05)  # "CM from ≈2.5 s"
    assert step(hs, "CM accepted").t == pytest.approx(3.30, abs=0.05)
    assert step(hs, "JM accepted").t == pytest.approx(3.92, abs=0.05)
    assert 4.2 <= step(hs, "V.8 done").t <= 4.4  # "done ≈4.3 s after answer"
    order = ["ANSam", "ANSam heard", "CM", "CM accepted", "JM", "JM accepted", "CJ", "CJ heard"]
    assert names(hs)[: len(order)] == order


def test_cm_and_jm_carry_the_real_category_octets() -> None:
    usr = caps_of("usr-courier-v34")
    v32bis_only = LineCaps(("V32B", "V32", "V22B", "V22", "V21"), 14400, BOTH_EC, v8=True)
    hs = negotiate(usr, v32bis_only, LineQuality())
    assert step(hs, "CM").octets == bytes.fromhex("C1 45 13 90 2A")
    assert step(hs, "JM").octets == bytes.fromhex("C1 05 13 90 2A")  # v-series.md §1.3
    assert step(hs, "CJ").octets == bytes(3)
    assert hs.agreement is not None and hs.agreement.carrier == "V32B"
    jm = parse_message(step(hs, "JM").octets)
    assert jm is not None and jm.lapm


def test_v8_agreed_lapm_skips_detection() -> None:
    usr = caps_of("usr-courier-v34")
    hs = negotiate(usr, usr, LineQuality())
    assert "V.42 detection skipped" in names(hs) and "ODP" not in names(hs)
    a = hs.agreement
    assert a is not None
    assert (a.carrier, a.call_to_answer, a.answer_to_call) == ("V34", 33600, 33600)
    assert (a.error_control, a.compression, a.symbol_rate) == ("LAPM", "V42B", 3429)
    assert 9.0 <= hs.duration <= 11.0  # V.34: about 10 s from the answer


def test_a_hayes_2400_calling_a_v34_modem_connects_v22bis_2400() -> None:
    hs = negotiate(caps_of("hayes-smartmodem-2400"), caps_of("usr-courier-v34"), LineQuality())
    assert "CM" not in names(hs)  # no V.8 from a 1986 modem
    assert hs.agreement is not None
    assert (hs.agreement.carrier, hs.agreement.call_to_answer) == ("V22B", 2400)
    assert hs.agreement.error_control is None
    assert "S1" in names(hs)
    assert 6.0 <= hs.duration <= 8.0  # V.22bis: about 7 s from off-hook


def test_a_smartmodem_1200_connects_bell_212a() -> None:
    hs = negotiate(caps_of("hayes-smartmodem-1200"), caps_of("usr-courier-v34"), LineQuality())
    assert hs.agreement is not None
    assert (hs.agreement.carrier, hs.agreement.answer_to_call) == ("B212", 1200)


def test_a_v25_answerer_sends_ans_and_a_v8_caller_notices_no_am() -> None:
    hs = negotiate(caps_of("usr-courier-v34"), caps_of("zyxel-u1496e"), LineQuality())
    assert step(hs, "ANS").t == pytest.approx(2.15)
    assert step(hs, "ANS heard", CALLER).detail.startswith("no AM")
    assert step(hs, "AC", ANSWERER).t == pytest.approx(2.15 + 3.3 + 0.075)
    assert hs.agreement is not None and hs.agreement.carrier == "V32B"
    assert hs.agreement.call_to_answer == 14400
    assert 6.0 <= hs.duration <= 8.0  # V.32bis: 6-8 s


def test_bell_only_answerer_answers_at_2225_hz() -> None:
    bell_only = caps_of("hayes-smartmodem-1200")
    hs = negotiate(caps_of("hayes-smartmodem-2400"), bell_only, LineQuality())
    assert "2225" in step(hs, "ANS").detail


@pytest.mark.parametrize(
    ("snr", "rate", "r3"),
    [(30.0, 14400, 0x0BF9), (29.0, 14400, 0x0BF9), (28.9, 12000, 0x0BF1),
     (22.75, 9600, 0x0BD1), (19.75, 7200, 0x09D1)],
)
def test_v32bis_rate_words_follow_the_snr_thresholds(snr: float, rate: int, r3: int) -> None:
    zyxel = caps_of("zyxel-u1496e")
    hs = negotiate(zyxel, zyxel, LineQuality(snr))
    assert hs.agreement is not None and hs.agreement.call_to_answer == rate
    assert step(hs, "R3").word == r3
    e = step(hs, "E")
    assert e.word is not None and e.word >> 12 == 0xF and e.rates == (rate,)


def test_v32bis_below_its_floor_falls_back_to_v22bis() -> None:
    zyxel = caps_of("zyxel-u1496e")
    hs = negotiate(zyxel, zyxel, LineQuality(15.0))
    assert "fallback" in names(hs)
    assert hs.agreement is not None and hs.agreement.carrier == "V22B"


def test_v34_rates_each_way_are_min_of_request_and_far_maximum() -> None:
    usr = caps_of("usr-courier-v34")
    hs = negotiate(caps_of("usr-courier-v34", max_rate=28800, max_tx=33600), usr, LineQuality())
    a = hs.agreement
    assert a is not None and (a.call_to_answer, a.answer_to_call) == (33600, 28800)
    assert step(hs, "INFO1").rates == (3429,)
    # each MP: its own receiver's request one way, its own transmitter's maximum the other
    assert [s.rates for s in hs.steps if s.name == "MP"] == [(33600, 28800), (33600, 33600)]


def test_v34_interpolates_between_29_and_38_db() -> None:
    usr = caps_of("usr-courier-v34")
    got = {snr: negotiate(usr, usr, LineQuality(snr)).agreement for snr in (38.0, 33.5, 29.0)}
    assert [a.call_to_answer if a else 0 for a in got.values()] == [33600, 24000, 14400]


def test_v90_needs_a_digital_answerer() -> None:
    client = caps_of("usr-sportster-56k")
    server = caps_of("conexant-v92", digital=True)
    hs = negotiate(client, server, LineQuality())
    a = hs.agreement
    assert a is not None and a.carrier == "V90"
    steps = (a.answer_to_call - 28000) * 6 / 8000  # PCM rates come in 8000/6 steps
    assert a.answer_to_call > 33600 and abs(steps - round(steps)) < 0.01
    assert a.call_to_answer <= 33600
    assert hs.duration > 20.0  # "V.90 handshake more than 20 s"
    analog = negotiate(client, caps_of("conexant-v92"), LineQuality())
    assert analog.agreement is not None and analog.agreement.carrier == "V34"


def test_v92_pair_gets_pcm_upstream() -> None:
    hs = negotiate(caps_of("conexant-v92"), caps_of("conexant-v92", digital=True), LineQuality())
    a = hs.agreement
    assert a is not None and a.carrier == "V92" and a.call_to_answer > 33600


def test_mnp_when_the_answerer_has_no_lapm() -> None:
    mnp_only = LineCaps(EVERYTHING, 33600, ("MNP",), compression=BOTH_COMP, v8=False)
    hs = negotiate(caps_of("usr-courier-v34"), mnp_only, LineQuality())
    assert names(hs).count("ODP") == 1 and "T400" in names(hs)
    a = hs.agreement
    assert a is not None and (a.error_control, a.compression) == ("MNP", "MNP5")


def test_odp_adp_without_v8() -> None:
    zyxel = caps_of("zyxel-u1496e")
    hs = negotiate(zyxel, zyxel, LineQuality())
    assert step(hs, "ODP").octets[0] == 0x11 and step(hs, "ADP").octets[0] == ord("E")
    assert hs.agreement is not None and hs.agreement.error_control == "LAPM"


def test_no_error_control_falls_back_to_buffered_or_hangs_up() -> None:
    plain = caps_of("hayes-smartmodem-2400")
    buffered = negotiate(plain, caps_of("usr-courier-v34"), LineQuality())
    assert buffered.agreement is not None and buffered.agreement.error_control is None
    strict = negotiate(plain, caps_of("usr-courier-v34", ec_required=True), LineQuality())
    assert strict.agreement is None and strict.hang_up


def test_nothing_trains_on_a_dead_line() -> None:
    usr = caps_of("usr-courier-v34")
    hs = negotiate(usr, usr, LineQuality(2.0))
    assert hs.agreement is None and "nothing trains" in hs.failure


def test_latency_stretches_the_handshake() -> None:
    usr = caps_of("usr-courier-v34")
    quick = negotiate(usr, usr, LineQuality())
    slow = negotiate(usr, usr, LineQuality(latency=0.2))
    assert slow.duration > quick.duration + 1.0
    assert slow.agreement == quick.agreement


def test_retrain_falls_back_and_forward_and_gives_up() -> None:
    usr = caps_of("usr-courier-v34")
    hs = negotiate(usr, usr, LineQuality())
    assert hs.agreement is not None
    worse = retrain(hs.agreement, usr, usr, LineQuality(25.0))
    assert worse is not None and worse.call_to_answer == 9600 and worse.error_control == "LAPM"
    better = retrain(worse, usr, usr, LineQuality(38.0))
    assert better is not None and better.call_to_answer == 33600
    assert retrain(hs.agreement, usr, usr, LineQuality(5.0)) is None


def test_caps_round_trip_through_json() -> None:
    caps = caps_of("usr-courier-v34", ec_required=True, bell=False, max_tx=28800)
    assert LineCaps.from_json(caps.to_json()) == caps
    assert LineCaps.from_json({"modulations": "V34", "max_rate": 1}) is None
    line = LineQuality(20.5, 0.1, 1e-4)
    assert LineQuality.from_json(line.to_json()) == line
    assert LineQuality.from_json("junk") == LineQuality()
