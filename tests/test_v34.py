"""V.34: the symbol-rate table, INFO0 and MP frames, the SNR model, phases 2-4."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.vseries.v34 import (
    DATA_RATES,
    INFO0_BITS,
    MP_BITS,
    OPTIONAL_SYMBOL_RATES,
    SYMBOL_RATE,
    SYMBOL_RATES,
    Info0,
    Mp,
    V34Side,
    V34Training,
    common_symbol_rates,
    crc16,
    decode_info0,
    decode_mp,
    encode_info0,
    encode_mp,
    info0_for,
    rate_for_snr,
    retrain_snr,
    train,
)

V34_33600 = V34Side(info0_for(33600), max_tx=33600, max_rx=33600)
V34_28800 = V34Side(info0_for(28800), max_tx=28800, max_rx=28800)


def flip(bits: str, at: int) -> str:
    return bits[:at] + ("1" if bits[at] == "0" else "0") + bits[at + 1 :]


# -- symbol rates (§2.3) ---------------------------------------------------------------


def test_symbol_rate_table() -> None:
    assert tuple(s.baud for s in SYMBOL_RATES) == (2400, 2743, 2800, 3000, 3200, 3429)
    assert tuple(s.max_rate for s in SYMBOL_RATES) == (21600, 26400, 26400, 28800, 31200, 33600)
    assert (SYMBOL_RATE[3000].low_carrier, SYMBOL_RATE[3000].high_carrier) == (1800, 2000)
    assert (SYMBOL_RATE[3429].low_carrier, SYMBOL_RATE[3429].high_carrier) == (1959, 1959)
    for s in SYMBOL_RATES:
        assert round(2400 * s.a / s.c) == s.baud
        assert s.low_carrier <= s.high_carrier


# -- SNR model (§2.4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snr", "rate"),
    [
        (-5.0, 0),
        (12.0, 0),
        (13.74, 0),
        (13.75, 2400),
        (16.74, 2400),
        (16.75, 4800),
        (19.74, 4800),
        (19.75, 7200),
        (22.75, 9600),
        (25.99, 9600),
        (26.0, 12000),
        (28.99, 12000),
        (29.0, 14400),
        (30.124, 14400),
        (30.125, 16800),
        (31.25, 19200),
        (35.75, 28800),
        (37.99, 31200),
        (38.0, 33600),
        (60.0, 33600),
    ],
)
def test_rate_for_snr(snr: float, rate: int) -> None:
    assert rate_for_snr(snr) == rate


def test_rate_for_snr_follows_the_linear_rule_above_14400() -> None:
    for k in range(9):
        snr = 29.0 + 1.125 * k
        assert rate_for_snr(snr) == 14400 + 2400 * k
        assert rate_for_snr(snr - 0.001) == (14400 + 2400 * (k - 1) if k else 12000)


def test_retrain_snr() -> None:
    assert retrain_snr(33600) == 35.5
    assert retrain_snr(2400) == 11.25
    assert all(rate_for_snr(retrain_snr(r)) < r for r in DATA_RATES)
    with pytest.raises(ValueError, match=r"not a V.34 data rate"):
        retrain_snr(2500)


# -- INFO0 (§2.3) ------------------------------------------------------------------------


def test_info0_layout() -> None:
    bits = encode_info0(info0_for(33600))
    assert len(bits) == INFO0_BITS == 49
    assert bits[:4] == "1111"
    assert bits[4:12] == "01110010"
    assert bits[12:19] == "1111111"  # every symbol rate, both carriers of 3000 and 3200
    assert bits[19] == "1"  # 3429 allowed
    assert bits[20] == "1"  # power reduction (default)
    assert bits[21:24] == "000"
    assert bits[24] == "1"  # CME (default)
    assert bits[25] == "1"  # 1664 points
    assert bits[26:29] == "000"
    assert bits[29:45] == crc16(bits[12:29])
    assert bits[45:] == "1111"


def test_info0_fields_in_place() -> None:
    info = Info0(
        symbol_rates=frozenset({2800}),
        allow_3429=False,
        constellation_1664=False,
        power_reduction=False,
        asymmetry=0b001,
        cme=False,
        clock=0b10,
        ack=True,
    )
    fields = encode_info0(info)[12:29]
    assert fields == "".join(("0100000", "0", "0", "100", "0", "0", "01", "1"))


def test_info0_for() -> None:
    top = info0_for(33600)
    assert top.symbol_rates == OPTIONAL_SYMBOL_RATES
    assert top.allow_3429
    assert top.constellation_1664
    assert top.usable == {2400, 2743, 2800, 3000, 3200, 3429}
    mid = info0_for(28800)
    assert mid.symbol_rates == {3000, 3200}
    assert mid.usable == {2400, 3000, 3200}
    assert not mid.allow_3429
    assert not mid.constellation_1664
    assert info0_for(31200).constellation_1664
    assert info0_for(31200).usable == {2400, 3000, 3200}


def test_info0_normalizes_and_checks() -> None:
    given_list = Info0(symbol_rates=[2400, 3000], allow_3429=False, constellation_1664=False)  # type: ignore[arg-type]
    assert given_list.symbol_rates == {3000}
    with pytest.raises(ValueError, match="unknown symbol rates: 3100"):
        Info0(symbol_rates=frozenset({3100}), allow_3429=False, constellation_1664=False)
    with pytest.raises(ValueError, match="asymmetry is 3 bits"):
        Info0(symbol_rates=frozenset(), allow_3429=False, constellation_1664=False, asymmetry=8)
    with pytest.raises(ValueError, match="clock is 2 bits"):
        Info0(symbol_rates=frozenset(), allow_3429=False, constellation_1664=False, clock=4)


info0s = st.builds(
    Info0,
    symbol_rates=st.frozensets(st.sampled_from(sorted(OPTIONAL_SYMBOL_RATES))),
    allow_3429=st.booleans(),
    constellation_1664=st.booleans(),
    power_reduction=st.booleans(),
    asymmetry=st.integers(0, 7),
    cme=st.booleans(),
    clock=st.integers(0, 3),
    ack=st.booleans(),
)


@given(info0s)
def test_info0_round_trips(info: Info0) -> None:
    assert decode_info0(encode_info0(info)) == info


@pytest.mark.parametrize("at", range(12, 45))
def test_info0_crc_catches_any_flipped_bit(at: int) -> None:
    bits = encode_info0(info0_for(33600))
    assert decode_info0(flip(bits, at)) is None


def test_info0_rejects_bad_frames() -> None:
    bits = encode_info0(info0_for(28800))
    assert decode_info0(bits) == info0_for(28800)
    assert decode_info0(bits[:-1]) is None
    assert decode_info0(bits + "1") is None
    assert decode_info0(bits.replace("1", "x", 1)) is None
    for at in range(12):  # fill and sync
        assert decode_info0(flip(bits, at)) is None
    assert decode_info0(flip(bits, 46)) == info0_for(28800)  # the closing fill carries nothing


def test_info0_reads_one_carrier_bit_as_support() -> None:
    bits = list(
        encode_info0(Info0(symbol_rates=frozenset(), allow_3429=False, constellation_1664=False))
    )
    bits[15] = "1"  # 3000 low carrier only
    bits[29:45] = crc16("".join(bits[12:29]))
    info = decode_info0("".join(bits))
    assert info is not None
    assert info.symbol_rates == {3000}


# -- MP (§2.3) -----------------------------------------------------------------------------


def test_mp_layout() -> None:
    mp = Mp(
        max_call_to_answer=33600,
        max_answer_to_call=2400,
        rate_mask=frozenset({2400, 33600}),
        asymmetric=True,
        trellis=32,
        ack=True,
    )
    bits = encode_mp(mp)
    assert len(bits) == MP_BITS == 88
    assert bits[:17] == "1" * 17
    assert bits[17] == "0"  # start bit
    assert bits[18] == "0"  # type 0
    assert bits[20:24] == "0111"  # N = 14, LSB first
    assert bits[24:28] == "1000"  # N = 1
    assert bits[30:32] == "10"  # 32-state
    assert bits[34] == "1"  # acknowledge
    assert bits[35] == "1"  # 2400
    assert bits[48] == "1"  # 33600
    assert bits[36:48] == "0" * 12
    assert bits[49] == "0"  # reserved
    assert bits[50] == "1"  # asymmetric
    assert bits[70:86] == crc16(bits[19:70])
    assert bits[86:] == "00"


def test_mask_bit_positions() -> None:
    for n, rate in enumerate(DATA_RATES, start=1):
        mp = Mp(
            max_call_to_answer=2400,
            max_answer_to_call=2400,
            rate_mask=frozenset({rate}),
            asymmetric=False,
        )
        bits = encode_mp(mp)
        assert [i for i in range(35, 50) if bits[i] == "1"] == [34 + n]


mps = st.builds(
    Mp,
    max_call_to_answer=st.sampled_from(DATA_RATES),
    max_answer_to_call=st.sampled_from(DATA_RATES),
    rate_mask=st.frozensets(st.sampled_from(DATA_RATES)),
    asymmetric=st.booleans(),
    trellis=st.sampled_from((16, 32, 64)),
    ack=st.booleans(),
)


@given(mps)
def test_mp_round_trips(mp: Mp) -> None:
    assert decode_mp(encode_mp(mp)) == mp


@pytest.mark.parametrize("at", range(19, 86))
def test_mp_crc_catches_any_flipped_bit(at: int) -> None:
    bits = encode_mp(Mp(28800, 33600, frozenset(DATA_RATES[:12]), asymmetric=True))
    assert decode_mp(flip(bits, at)) is None


def test_mp_rejects_bad_frames() -> None:
    bits = encode_mp(Mp(28800, 28800, frozenset(DATA_RATES), asymmetric=False))
    assert decode_mp(bits) is not None
    assert decode_mp(bits[:-1]) is None
    for at in range(19):  # sync, start and type bits
        assert decode_mp(flip(bits, at)) is None


def with_crc(bits: str) -> str:
    return bits[:70] + crc16(bits[19:70]) + bits[86:]


def test_mp_rejects_bad_fields_with_a_good_crc() -> None:
    bits = encode_mp(Mp(2400, 2400, frozenset(), asymmetric=False))
    assert decode_mp(with_crc(bits[:20] + "0000" + bits[24:])) is None  # N = 0
    assert decode_mp(with_crc(bits[:24] + "1111" + bits[28:])) is None  # N = 15
    assert decode_mp(with_crc(bits[:30] + "11" + bits[32:])) is None  # trellis code 3
    assert decode_mp(with_crc(bits[:60] + "1" + bits[61:])) is not None  # reserved: ignored


def test_mp_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="max_call_to_answer"):
        Mp(2500, 2400, frozenset(), asymmetric=False)
    with pytest.raises(ValueError, match="max_answer_to_call"):
        Mp(2400, 36000, frozenset(), asymmetric=False)
    with pytest.raises(ValueError, match=r"not V.34 data rates: 1200"):
        Mp(2400, 2400, frozenset({1200}), asymmetric=False)
    with pytest.raises(ValueError, match="trellis"):
        Mp(2400, 2400, frozenset(), asymmetric=False, trellis=8)
    with pytest.raises(ValueError, match="max_tx"):
        V34Side(info0_for(33600), max_tx=0, max_rx=33600)


# -- training (§2.3 phases 2-4, §7) --------------------------------------------------------


def test_asymmetric_line() -> None:
    caller = V34Side(info0_for(33600), max_tx=33600, max_rx=28800)
    t = train(caller, V34_33600, 40.0)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (3429, 33600, 28800)
    assert t.caller_mp == Mp(33600, 28800, frozenset(DATA_RATES), asymmetric=True)
    assert t.answerer_mp == Mp(33600, 33600, frozenset(DATA_RATES), asymmetric=True)
    assert t.caller_mp_bits is not None
    assert t.answerer_mp_bits is not None
    assert decode_mp(t.caller_mp_bits) == t.caller_mp
    assert decode_mp(t.answerer_mp_bits) == t.answerer_mp
    assert t.trained


def test_each_direction_is_the_lower_of_the_two_mps() -> None:
    caller = V34Side(info0_for(33600), max_tx=24000, max_rx=33600)
    t = train(caller, V34_33600, 40.0)
    assert (t.call_to_answer, t.answer_to_call) == (24000, 33600)
    assert t.caller_mp is not None
    assert t.answerer_mp is not None
    for direction, rate in (("max_call_to_answer", 24000), ("max_answer_to_call", 33600)):
        assert min(getattr(t.caller_mp, direction), getattr(t.answerer_mp, direction)) == rate
    assert {t.call_to_answer, t.answer_to_call} <= t.caller_mp.rate_mask & t.answerer_mp.rate_mask


def test_symmetric_if_either_end_says_so() -> None:
    caller = V34Side(info0_for(33600), max_tx=33600, max_rx=28800, asymmetric=False)
    t = train(caller, V34_33600, 40.0)
    assert (t.call_to_answer, t.answer_to_call) == (28800, 28800)
    assert t.symbol_rate == 3000
    assert t.caller_mp is not None
    assert not t.caller_mp.asymmetric


@pytest.mark.parametrize(
    ("snr", "symbol_rate", "rate"),
    [
        (40.0, 3429, 33600),
        (38.0, 3429, 33600),
        (37.99, 3200, 31200),
        (35.75, 3000, 28800),
        (34.625, 2743, 26400),
        (32.375, 2400, 21600),
        (29.0, 2400, 14400),
        (13.75, 2400, 2400),
    ],
)
def test_the_lowest_symbol_rate_that_carries_the_rate(
    snr: float, symbol_rate: int, rate: int
) -> None:
    t = train(V34_33600, V34_33600, snr)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (symbol_rate, rate, rate)


def test_28800_modems() -> None:
    t = train(V34_28800, V34_33600, 40.0)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (3000, 28800, 28800)
    assert t.caller_mp is not None
    assert max(t.caller_mp.rate_mask) == 28800


def test_without_3429_the_fastest_common_symbol_rate_caps_the_rate() -> None:
    # Both support 3429 but one end may not use it: 3200 Bd, capped at 31200.
    no_3429 = Info0(symbol_rates=OPTIONAL_SYMBOL_RATES, allow_3429=False, constellation_1664=True)
    assert common_symbol_rates(no_3429, info0_for(33600)) == (2400, 2743, 2800, 3000, 3200)
    t = train(V34Side(no_3429, 33600, 33600), V34_33600, 40.0)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (3200, 31200, 31200)
    assert t.answerer_mp is not None
    assert t.answerer_mp.max_answer_to_call == 31200  # a transmitter's maximum is capped too
    # Only 2400 in common: 21600 at most.
    bare = Info0(symbol_rates=frozenset(), allow_3429=False, constellation_1664=True)
    t = train(V34Side(bare, 33600, 33600), V34_33600, 40.0)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (2400, 21600, 21600)


def test_above_28800_needs_1664_points_at_both_ends() -> None:
    old = Info0(symbol_rates=OPTIONAL_SYMBOL_RATES, allow_3429=True, constellation_1664=False)
    t = train(V34Side(old, 33600, 33600), V34_33600, 40.0)
    assert (t.symbol_rate, t.call_to_answer, t.answer_to_call) == (3000, 28800, 28800)


def test_twelve_db_trains_nothing() -> None:
    t = train(V34_33600, V34_33600, 12.0)
    assert t == V34Training(0, 0, 0, None, None, None, None)
    assert not t.trained


@given(
    st.sampled_from(DATA_RATES),
    st.sampled_from(DATA_RATES),
    st.sampled_from(DATA_RATES),
    st.sampled_from(DATA_RATES),
    st.floats(10.0, 45.0),
)
def test_training_invariants(c_tx: int, c_rx: int, a_tx: int, a_rx: int, snr: float) -> None:
    caller = V34Side(info0_for(max(c_tx, c_rx)), c_tx, c_rx)
    answerer = V34Side(info0_for(max(a_tx, a_rx)), a_tx, a_rx)
    t = train(caller, answerer, snr)
    if rate_for_snr(snr) == 0:
        assert not t.trained
        return
    top = SYMBOL_RATE[t.symbol_rate].max_rate
    assert t.symbol_rate in common_symbol_rates(caller.info0, answerer.info0)
    assert 0 < t.call_to_answer <= min(c_tx, a_rx, rate_for_snr(snr), top)
    assert 0 < t.answer_to_call <= min(a_tx, c_rx, rate_for_snr(snr), top)
    assert t.caller_mp_bits is not None
    assert decode_mp(t.caller_mp_bits) == t.caller_mp
