"""ITU-T V.32 / V.32bis rate negotiation at message level: R1/R2/R3/E rate words.

No audio and no scrambler here. A rate word is the 16-bit pattern a V.32
receiver recovers after descrambling; this module builds and reads those
words, limits what a receiver offers by the line's SNR, and runs the
R1 → R2 → R3 → E exchange to the rate both directions then use.

Facts and section numbers (§) are from shared/reference/v-series.md. Where the
reference is silent, the choice made is stated next to the code.

A word is an int with B0 (sent first) as its most significant bit, so the
words read as sbridge prints them (§2.2). The rate bits are cumulative: a word
that offers a rate offers every lower rate of its family too, which is why
sbridge's 14400 word (0x0BF9) has no 4800 bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# -- rates and the word layout (§2.2) ---------------------------------------------

RATES: tuple[int, ...] = (4800, 7200, 9600, 12000, 14400)  # §2.2 table: V.32bis
V32_RATES: tuple[int, ...] = (4800, 9600)  # §2.2 table: V.32
# Choice: plain V.32 is treated as uncoded (B8 = 0), so a word without B8 can
# only name V.32's rates; V.32bis's 7200, 12000 and 14400 are trellis-coded.

WORD_BITS = 16


def bit(n: int) -> int:
    """The mask of bit Bn in a word whose MSB is B0 (B0 goes out first, §2.2)."""
    if not 0 <= n < WORD_BITS:
        raise ValueError(f"a rate word has bits B0-B15, not B{n}")
    return 1 << (WORD_BITS - 1 - n)


SYNC_MASK = bit(0) | bit(1) | bit(2) | bit(3)  # §2.2: B0-B3 = 0000 in R1/R2/R3, 1111 in E
FIXED = bit(4) | bit(7) | bit(11) | bit(15)  # §2.2: B4 = 1 (sbridge and spandsp), B7/B11/B15 = 1
TRELLIS = bit(8)  # §2.2: B8 = 1 when trellis-coded (V.32bis always)

# §2.2 rate bits (sbridge's layout; spandsp's draft swaps B6 and B9 - the
# reference prefers sbridge, which keeps V.32's meaning of B5 and B6).
RATE_BIT: Mapping[int, int] = MappingProxyType(
    {4800: bit(5), 9600: bit(6), 7200: bit(9), 12000: bit(10), 14400: bit(12)}
)
RATE_MASK = sum(RATE_BIT.values())

# -- SNR thresholds (§2.4, sbridge V32_MaxErrorTbl / V32_ResyncTbl) ------------------

# The least SNR (dB) at which a receiver offers a rate.
SELECT_SNR: Mapping[int, float] = MappingProxyType(
    {
        4800: 16.75,  # heuristic, not sourced: 3 dB below 7200 (§2.4 gives none for 4800)
        7200: 19.75,  # §2.4
        9600: 22.75,  # §2.4
        12000: 26.0,  # §2.4
        14400: 29.0,  # §2.4
    }
)
# Below this SNR (dB) a connection at the rate retrains.
RETRAIN_SNR: Mapping[int, float] = MappingProxyType(
    {
        4800: 14.0,  # heuristic, not sourced: 3 dB below 7200
        7200: 17.0,  # §2.4
        9600: 20.0,  # §2.4
        12000: 23.0,  # §2.4
        14400: 25.7,  # §2.4
    }
)


# -- words ---------------------------------------------------------------------------


def _family(trellis: bool) -> tuple[int, ...]:
    return RATES if trellis else V32_RATES


def _closure(rates: Iterable[int], *, trellis: bool) -> frozenset[int]:
    """Every rate of the family up to the highest given: what a word offering them means."""
    given = frozenset(rates)
    family = _family(trellis)
    if unknown := given - frozenset(family):
        kind = "V.32bis" if trellis else "uncoded V.32"
        raise ValueError(f"not {kind} rates: {', '.join(map(str, sorted(unknown)))}")
    top = max(given, default=0)
    return frozenset(r for r in family if r <= top)


def rate_word(rates: Iterable[int], *, e: bool = False, trellis: bool = True) -> int:
    """The R (or, with `e`, the E) word offering these rates.

    The rates are cumulative (§2.2): the word offers every rate of its family
    up to the highest one given, so {9600} and {4800, 7200, 9600} give the same
    word. Each offered rate above 4800 sets its bit; B5 (4800) is set only when
    no higher bit is, which reproduces sbridge's four words. Without `trellis`
    (plain V.32) only 4800 and 9600 may be given. No rates: a word offering
    nothing (the fixed bits alone).
    """
    offered = _closure(rates, trellis=trellis)
    word = FIXED | (TRELLIS if trellis else 0) | (SYNC_MASK if e else 0)
    for rate in offered - {4800}:
        word |= RATE_BIT[rate]
    if offered == {4800}:
        word |= RATE_BIT[4800]
    return word


def _check(word: int) -> int:
    if not 0 <= word < 1 << WORD_BITS:
        raise ValueError(f"a rate word is 16 bits, not {word:#x}")
    return word


def is_e(word: int) -> bool:
    """Whether the word is an E (sync bits B0-B3 = 1111, §2.2) rather than R1/R2/R3."""
    return _check(word) & SYNC_MASK == SYNC_MASK


def is_trellis(word: int) -> bool:
    """Whether the word says trellis coding (B8, §2.2): V.32bis rather than plain V.32."""
    return bool(_check(word) & TRELLIS)


def word_rates(word: int) -> frozenset[int]:
    """The rates a word offers: its highest rate bit and every lower rate of its family.

    The inverse of `rate_word`: the family is V.32bis's when B8 is set, else
    V.32's (an uncoded word naming 7200 offers 4800 only). Sync and fixed bits
    are not checked.
    """
    set_rates = [rate for rate, mask in RATE_BIT.items() if _check(word) & mask]
    top = max(set_rates, default=0)
    return frozenset(r for r in _family(is_trellis(word)) if r <= top)


# -- selection -----------------------------------------------------------------------


def rates_for_snr(snr_db: float, top: int) -> tuple[int, ...]:
    """The rates up to `top` a receiver can offer at this SNR (§2.4), ascending; maybe none."""
    return tuple(r for r in RATES if r <= top and snr_db >= SELECT_SNR[r])


def retrain_needed(rate: int, snr_db: float) -> bool:
    """Whether a connection at `rate` retrains: the SNR is below its threshold (§2.4, §7)."""
    if rate not in RETRAIN_SNR:
        raise ValueError(f"not a V.32bis rate: {rate}")
    return snr_db < RETRAIN_SNR[rate]


@dataclass(frozen=True, slots=True)
class Training:
    """The rate words of one V.32bis training, in line order (§2.2), and the outcome.

    `rate` is the rate both directions run at (V.32bis is symmetric), None
    when the two ends have no rate in common at this SNR.
    """

    r1: int  # answerer: what its receiver can take
    r2: int  # caller: what its receiver can take, of what R1 offered
    r3: int  # answerer: the common rates
    e: int  # answerer: the highest common rate, sync bits 1111
    rate: int | None


def _is_v32bis(rates: frozenset[int]) -> bool:
    """A modem whose rates go beyond V.32's is V.32bis and trellis-codes (§2.2)."""
    return not rates <= frozenset(V32_RATES)


def _allowed(offer: frozenset[int], snr_db: float) -> frozenset[int]:
    """The rates of a receiver's offer that this SNR allows."""
    return offer & frozenset(rates_for_snr(snr_db, max(offer, default=0)))


def train(answerer_rates: Iterable[int], caller_rates: Iterable[int], snr_db: float) -> Training:
    """Run R1 → R2 → R3 → E (§2.2 order, §7 trainer) on a line with this SNR.

    Each side's rates are what its modem supports (cumulative, as in a word);
    a side whose rates are all V.32's is a plain V.32 modem and sends uncoded
    words. Each receiver offers only what the SNR allows (§2.4); the caller
    offers only rates R1 also offered; R3 repeats the common rates and E
    confirms the highest of them (sbridge). Both ends see the same SNR here.
    """
    answerer, caller = frozenset(answerer_rates), frozenset(caller_rates)
    a_trellis, c_trellis = _is_v32bis(answerer), _is_v32bis(caller)
    a_offer = _closure(answerer, trellis=a_trellis)
    c_offer = _closure(caller, trellis=c_trellis)

    r1 = rate_word(_allowed(a_offer, snr_db), trellis=a_trellis)
    trellis = a_trellis and c_trellis  # a V.32bis modem falls back to V.32 words with a V.32 peer
    r2 = rate_word(_allowed(c_offer, snr_db) & word_rates(r1), trellis=trellis)
    common = word_rates(r1) & word_rates(r2)
    r3 = rate_word(common, trellis=trellis)
    rate = max(common, default=None)
    e = rate_word(() if rate is None else (rate,), e=True, trellis=trellis)
    return Training(r1=r1, r2=r2, r3=r3, e=e, rate=rate)
