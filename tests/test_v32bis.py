"""V.32/V.32bis rate words: sbridge's words, round trips, SNR limits, R1/R2/R3/E."""

from __future__ import annotations

import pytest

from modememu.vseries.v32bis import (
    RATES,
    RETRAIN_SNR,
    SELECT_SNR,
    V32_RATES,
    Training,
    bit,
    is_e,
    is_trellis,
    rate_word,
    rates_for_snr,
    retrain_needed,
    train,
    word_rates,
)

# -- the reference's words (§2.2) --------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "word"),
    [
        ((4800, 7200), 0x09D1),
        ((4800, 7200, 9600), 0x0BD1),
        ((4800, 7200, 9600, 12000), 0x0BF1),
        ((4800, 7200, 9600, 12000, 14400), 0x0BF9),
    ],
)
def test_sbridge_words(rates: tuple[int, ...], word: int) -> None:
    assert rate_word(rates) == word
    assert word_rates(word) == frozenset(rates)
    assert not is_e(word)
    assert is_trellis(word)


def test_bit_layout() -> None:
    word = rate_word(RATES)
    assert word >> 12 == 0b0000  # B0-B3 sync in an R word
    for n in (4, 7, 8, 11, 15):  # fixed ones and trellis
        assert word & bit(n)
    assert bit(0) == 0x8000
    assert bit(15) == 0x0001
    assert rate_word([4800]) == 0x0991 | bit(5)  # 4800 alone: B5
    assert rate_word([4800, 7200]) & bit(5) == 0  # B5 only without a higher bit
    assert rate_word(RATES[:3]) & bit(6)  # B6 = 9600
    assert rate_word(RATES[:2]) & bit(9)  # B9 = 7200
    with pytest.raises(ValueError, match="B16"):
        bit(16)


def test_e_word_sets_the_sync_bits() -> None:
    e = rate_word(RATES, e=True)
    assert e == 0xFBF9
    assert e >> 12 == 0b1111
    assert is_e(e)
    assert word_rates(e) == frozenset(RATES)
    assert rate_word(RATES) == e & 0x0FFF


def test_rates_are_cumulative() -> None:
    assert rate_word([14400]) == rate_word(RATES) == 0x0BF9
    assert rate_word([9600, 14400]) == 0x0BF9
    assert word_rates(rate_word([12000])) == frozenset(RATES[:4])
    assert word_rates(rate_word([])) == frozenset()


def test_plain_v32_words_are_uncoded() -> None:
    v32 = rate_word(V32_RATES, trellis=False)
    assert not is_trellis(v32)
    assert v32 & bit(6)  # 9600 via B6
    assert v32 & bit(8) == 0
    assert word_rates(v32) == frozenset(V32_RATES)
    low = rate_word([4800], trellis=False)
    assert low & bit(5)  # 4800 via B5
    assert word_rates(low) == {4800}
    # An uncoded word can only mean V.32's rates, whatever other bits say.
    assert word_rates(0x0911 | bit(9)) == {4800}
    with pytest.raises(ValueError, match=r"uncoded V.32"):
        rate_word([7200], trellis=False)


@pytest.mark.parametrize("e", [False, True])
def test_round_trips(e: bool) -> None:
    for trellis, family in ((True, RATES), (False, V32_RATES)):
        for n in range(len(family) + 1):
            rates = frozenset(family[:n])
            word = rate_word(rates, e=e, trellis=trellis)
            assert word_rates(word) == rates
            assert is_e(word) is e
            assert is_trellis(word) is trellis
            assert rate_word(word_rates(word), e=e, trellis=trellis) == word


def test_misuse_raises() -> None:
    with pytest.raises(ValueError, match=r"V.32bis rates: 2400"):
        rate_word([2400])
    with pytest.raises(ValueError, match="16 bits"):
        word_rates(0x10000)
    with pytest.raises(ValueError, match="16 bits"):
        is_e(-1)
    with pytest.raises(ValueError, match=r"not a V.32bis rate"):
        retrain_needed(2400, 30.0)


# -- SNR (§2.4) --------------------------------------------------------------------


def test_thresholds() -> None:
    assert SELECT_SNR == {4800: 16.75, 7200: 19.75, 9600: 22.75, 12000: 26.0, 14400: 29.0}
    assert RETRAIN_SNR == {4800: 14.0, 7200: 17.0, 9600: 20.0, 12000: 23.0, 14400: 25.7}
    assert all(RETRAIN_SNR[r] < SELECT_SNR[r] for r in RATES)


@pytest.mark.parametrize(
    ("snr", "rates"),
    [
        (12.0, ()),
        (16.74, ()),
        (16.75, (4800,)),
        (19.74, (4800,)),
        (19.75, (4800, 7200)),
        (22.74, (4800, 7200)),
        (22.75, (4800, 7200, 9600)),
        (25.99, (4800, 7200, 9600)),
        (26.0, (4800, 7200, 9600, 12000)),
        (28.99, (4800, 7200, 9600, 12000)),
        (29.0, RATES),
        (45.0, RATES),
    ],
)
def test_rates_for_snr_edges(snr: float, rates: tuple[int, ...]) -> None:
    assert rates_for_snr(snr, 14400) == rates


def test_rates_for_snr_stops_at_top() -> None:
    assert rates_for_snr(40.0, 9600) == (4800, 7200, 9600)
    assert rates_for_snr(40.0, 4800) == (4800,)
    assert rates_for_snr(40.0, 2400) == ()


@pytest.mark.parametrize(
    ("rate", "snr", "needed"),
    [
        (14400, 25.69, True),
        (14400, 25.7, False),
        (12000, 22.99, True),
        (12000, 23.0, False),
        (9600, 19.99, True),
        (9600, 20.0, False),
        (7200, 16.99, True),
        (7200, 17.0, False),
        (4800, 13.99, True),
        (4800, 14.0, False),
    ],
)
def test_retrain_edges(rate: int, snr: float, needed: bool) -> None:
    assert retrain_needed(rate, snr) is needed


# -- training (§2.2, §7) ---------------------------------------------------------------


def test_clean_line_trains_at_14400() -> None:
    t = train(RATES, RATES, 35.0)
    assert t == Training(r1=0x0BF9, r2=0x0BF9, r3=0x0BF9, e=0xFBF9, rate=14400)


@pytest.mark.parametrize(
    ("snr", "rate"),
    [
        (29.0, 14400),
        (28.99, 12000),
        (26.0, 12000),
        (25.99, 9600),
        (22.75, 9600),
        (22.74, 7200),
        (19.75, 7200),
        (19.74, 4800),
        (16.75, 4800),
        (16.74, None),
    ],
)
def test_snr_limits_the_rate(snr: float, rate: int | None) -> None:
    assert train(RATES, RATES, snr).rate == rate


def test_twelve_db_trains_nothing() -> None:
    t = train(RATES, RATES, 12.0)
    assert t.rate is None
    for word in (t.r1, t.r2, t.r3, t.e):
        assert word_rates(word) == frozenset()
    assert not is_e(t.r1)
    assert is_e(t.e)


def test_words_follow_the_order_of_the_exchange() -> None:
    # The answerer's top is 12000; the caller can take 14400 but may only offer what R1 did.
    t = train(RATES[:4], RATES, 35.0)
    assert (t.r1, t.r2, t.r3, t.e) == (0x0BF1, 0x0BF1, 0x0BF1, 0xFBF1)
    assert t.rate == 12000
    # The caller is the slower one: R1 offers 14400, R2 and R3 cut it to 9600.
    t = train(RATES, RATES[:3], 35.0)
    assert (t.r1, t.r2, t.r3) == (0x0BF9, 0x0BD1, 0x0BD1)
    assert t.rate == 9600
    assert is_e(t.e)
    assert max(word_rates(t.e)) == 9600


def test_both_directions_share_one_rate() -> None:
    a_first = train(RATES[:2], RATES, 35.0)
    c_first = train(RATES, RATES[:2], 35.0)
    assert a_first.rate == c_first.rate == 7200


def test_v32_peer_falls_back_to_uncoded_9600() -> None:
    for answerer, caller in ((V32_RATES, RATES), (RATES, V32_RATES)):
        t = train(answerer, caller, 35.0)
        assert t.rate == 9600
        assert not is_trellis(t.r2)
        assert not is_trellis(t.r3)
        assert not is_trellis(t.e)
        assert word_rates(t.r3) == frozenset(V32_RATES)
    assert not is_trellis(train(V32_RATES, RATES, 35.0).r1)
    assert is_trellis(train(RATES, V32_RATES, 35.0).r1)


def test_v32_has_no_7200_to_fall_to() -> None:
    assert train(V32_RATES, V32_RATES, 21.0).rate == 4800
    assert train(RATES, RATES, 21.0).rate == 7200


def test_training_is_frozen() -> None:
    t = train(RATES, RATES, 35.0)
    with pytest.raises(AttributeError):
        t.rate = 4800  # type: ignore[misc]
