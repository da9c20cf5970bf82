"""ITU-T V.34 at message level: INFO0, the symbol rate, MP and the data rates.

No audio here. INFO0 and MP are built and read as '0'/'1' strings in line
order, as a DPSK (INFO0) or scrambled-data (MP) demodulator would hand them
over; the trainer picks the symbol rate both ends support and the rate of each
direction from the line's SNR and each modem's ceilings.

Facts and section numbers (§) are from shared/reference/v-series.md. Where the
reference is silent, the choice made is stated next to the code. The SNR model
(§2.4) is a heuristic, not a measurement.

Simplifications, each a choice: one symbol rate serves both directions (INFO0's
asymmetry field is carried but not used), INFO1 is not built, and only the
type-0 MP (no precoder taps) is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# -- symbol rates (§2.3 table) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SymbolRate:
    """One V.34 symbol rate S = 2400·a/c, its two carriers and the fastest rate it carries."""

    baud: int
    a: int
    c: int
    low_carrier: int  # Hz, as §2.3 rounds them
    high_carrier: int
    max_rate: int  # bit/s


SYMBOL_RATES: tuple[SymbolRate, ...] = (  # §2.3
    SymbolRate(2400, 1, 1, 1600, 1800, 21600),
    SymbolRate(2743, 8, 7, 1646, 1829, 26400),
    SymbolRate(2800, 7, 6, 1680, 1867, 26400),
    SymbolRate(3000, 5, 4, 1800, 2000, 28800),
    SymbolRate(3200, 4, 3, 1829, 1920, 31200),
    SymbolRate(3429, 10, 7, 1959, 1959, 33600),
)
SYMBOL_RATE: Mapping[int, SymbolRate] = MappingProxyType({s.baud: s for s in SYMBOL_RATES})
OPTIONAL_SYMBOL_RATES = frozenset({2743, 2800, 3000, 3200, 3429})  # 2400 is always supported

RATE_STEP = 2400  # §2: 2400-33600 in 2400 steps
MAX_RATE = 33600
DATA_RATES: tuple[int, ...] = tuple(range(RATE_STEP, MAX_RATE + 1, RATE_STEP))
# Choice (the reference only says 33600 uses 1664 points, §2.3): rates above
# 28800, the 1994 V.34 ceiling, need the 1664-point constellation at both ends.
PRE_1664_MAX = 28800

# -- SNR model (§2.4) ------------------------------------------------------------------

# Heuristic, not sourced as a whole: the least SNR (dB) at which a receiver asks
# for each rate. 7200-14400 borrow V.32bis's select thresholds (§2.4); 2400 and
# 4800 continue their 3 dB steps down; above 14400 one 2400 step per 1.125 dB,
# so that 33600 needs 38 dB (§2.4: "33600 needs SNR >= 38 dB", linear from
# 14400 at 29 dB). Every value is a multiple of 1/8, exact in binary.
SELECT_SNR: Mapping[int, float] = MappingProxyType(
    {
        2400: 13.75,
        4800: 16.75,
        7200: 19.75,
        9600: 22.75,
        12000: 26.0,
        14400: 29.0,
        **{14400 + RATE_STEP * k: 29.0 + 1.125 * k for k in range(1, 9)},
    }
)
RETRAIN_MARGIN = 2.5  # dB below the select threshold; heuristic (V.32bis's are 2.75-3.3)


def rate_for_snr(snr_db: float) -> int:
    """The fastest rate a receiver asks for at this SNR (heuristic, §2.4); 0 below 13.75 dB."""
    return max((r for r, snr in SELECT_SNR.items() if snr_db >= snr), default=0)


def retrain_snr(rate: int) -> float:
    """Below this SNR a connection at `rate` retrains: its select threshold less 2.5 dB."""
    if rate not in SELECT_SNR:
        raise ValueError(f"not a V.34 data rate: {rate}")
    return SELECT_SNR[rate] - RETRAIN_MARGIN


# -- CRC ---------------------------------------------------------------------------------

CRC_POLY = 0x1021  # §2.3 CRC-16; x^16 + x^12 + x^5 + 1 (CRC-16-CCITT)
CRC_PRESET = 0xFFFF
CRC_BITS = 16


def crc16(bits: str) -> str:
    """The CRC of a '0'/'1' string, as 16 bits MSB first.

    Choice (the reference names no polynomial or preset): CRC-16-CCITT, register
    preset to all ones, bits fed in line order, no final inversion.
    """
    register = CRC_PRESET
    for b in bits:
        feedback = (register >> (CRC_BITS - 1)) ^ (b == "1")
        register = (register << 1) & 0xFFFF
        if feedback:
            register ^= CRC_POLY
    return f"{register:016b}"


def _uint(value: int, width: int) -> str:
    """A field LSB first (the order §2.3 gives for the asymmetry bits)."""
    return f"{value:0{width}b}"[::-1]


def _read_uint(bits: str) -> int:
    return int(bits[::-1], 2)


def _is_bits(bits: str, length: int) -> bool:
    return len(bits) == length and set(bits) <= {"0", "1"}


# -- INFO0 (§2.3) -------------------------------------------------------------------------

INFO0_BITS = 49
INFO0_FILL = "1111"  # bits 0-3 and 45-48
INFO0_SYNC = "01110010"  # bits 4-11
INFO0_FIELDS = slice(12, 29)
INFO0_CRC = slice(29, 45)
# Bits 12-18, in order: which symbol rate each says the modem supports. 3000
# and 3200 have a low- and a high-carrier bit; `Info0` sets both and reads
# either as support.
INFO0_SYMBOL_BITS: tuple[int, ...] = (2743, 2800, 3429, 3000, 3000, 3200, 3200)


def _check_flags(value: int, width: int, name: str) -> None:
    if not 0 <= value < 1 << width:
        raise ValueError(f"{name} is {width} bits, not {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Info0:
    """What one INFO0 says (§2.3).

    `symbol_rates` are the optional symbol rates supported, among 2743, 2800,
    3000, 3200 and 3429; 2400 is always supported and, if given, dropped.
    `asymmetry` (3 bits) and `clock` (2 bits) go out LSB first.
    """

    symbol_rates: frozenset[int]
    allow_3429: bool
    constellation_1664: bool
    power_reduction: bool = True
    asymmetry: int = 0
    cme: bool = True
    clock: int = 0
    ack: bool = False

    def __post_init__(self) -> None:
        rates = frozenset(self.symbol_rates) - {2400}  # a set or list given by the caller
        if unknown := rates - OPTIONAL_SYMBOL_RATES:
            raise ValueError(f"unknown symbol rates: {', '.join(map(str, sorted(unknown)))}")
        object.__setattr__(self, "symbol_rates", rates)
        _check_flags(self.asymmetry, 3, "asymmetry")
        _check_flags(self.clock, 2, "clock")

    @property
    def usable(self) -> frozenset[int]:
        """The symbol rates this modem may use: 2400, its optional ones, 3429 only if allowed."""
        rates = self.symbol_rates | {2400}
        return rates if self.allow_3429 else rates - {3429}


def info0_for(max_rate: int) -> Info0:
    """The INFO0 of a modem whose fastest rate is `max_rate`.

    Choice: a 33600 modem supports every symbol rate, allows 3429 and has the
    1664-point constellation; a 31200 one has 1664 points at 3200 Bd; any
    slower one (28800, the 1994 ceiling) supports 2400/3000/3200 only.
    """
    if max_rate > SYMBOL_RATE[3200].max_rate:
        return Info0(symbol_rates=OPTIONAL_SYMBOL_RATES, allow_3429=True, constellation_1664=True)
    return Info0(
        symbol_rates=frozenset({3000, 3200}),
        allow_3429=False,
        constellation_1664=max_rate > PRE_1664_MAX,
    )


def _flag(value: bool) -> str:
    return "1" if value else "0"


def encode_info0(info: Info0) -> str:
    """The 49 INFO0 bits in line order: fill, sync, bits 12-28, CRC (bits 29-44), fill."""
    fields = "".join(_flag(rate in info.symbol_rates) for rate in INFO0_SYMBOL_BITS)
    fields += _flag(info.allow_3429) + _flag(info.power_reduction)  # bits 19, 20
    fields += _uint(info.asymmetry, 3)  # bits 21-23
    fields += _flag(info.cme) + _flag(info.constellation_1664)  # bits 24, 25
    fields += _uint(info.clock, 2) + _flag(info.ack)  # bits 26-27, 28
    return INFO0_FILL + INFO0_SYNC + fields + crc16(fields) + INFO0_FILL


def decode_info0(bits: str) -> Info0 | None:
    """The INFO0 these 49 bits carry; None on a bad length, fill and sync, or CRC.

    The closing fill (bits 45-48) is not checked: the frame has ended by then.
    """
    if not _is_bits(bits, INFO0_BITS) or not bits.startswith(INFO0_FILL + INFO0_SYNC):
        return None
    fields = bits[INFO0_FIELDS]
    if crc16(fields) != bits[INFO0_CRC]:
        return None
    symbols = frozenset(r for r, b in zip(INFO0_SYMBOL_BITS, fields[:7], strict=True) if b == "1")
    return Info0(
        symbol_rates=symbols,
        allow_3429=fields[7] == "1",
        power_reduction=fields[8] == "1",
        asymmetry=_read_uint(fields[9:12]),
        cme=fields[12] == "1",
        constellation_1664=fields[13] == "1",
        clock=_read_uint(fields[14:16]),
        ack=fields[16] == "1",
    )


# -- MP (§2.3) ------------------------------------------------------------------------------

MP_BITS = 88  # type 0
MP_SYNC = "1" * 17 + "0"  # bits 0-16 ones, bit 17 the start bit
MP_TYPE_0 = "0"  # bit 18
# Choice of layout for the fields the reference lists without positions (§2.3
# fixes only the mask). Multi-bit numbers go out LSB first.
#   19        reserved, 0
#   20-23     N of the maximum call→answer rate (rate = N*2400, N = 1..14)
#   24-27     N of the maximum answer→call rate
#   28-29     aux channel, 0 (not modelled)
#   30-31     trellis: 0 = 16-state, 1 = 32, 2 = 64
#   32, 33    non-linear coding, shaping: 0 (not modelled)
#   34        acknowledge (MP')
#   35-49     rate mask: bit 34+N = N*2400, so 35 = 2400 … 48 = 33600; 49 reserved, 0
#   50        asymmetric rates allowed
#   51-69     reserved, 0
#   70-85     CRC-16 over bits 19-69 (the same CRC as INFO0)
#   86-87     pad, 0
MP_FIELDS = slice(19, 70)
MP_CRC = slice(70, 86)
MP_PAD = "00"
_C2A, _A2C, _TRELLIS, _ACK, _MASK, _ASYM = 20, 24, 30, 34, 35, 50
TRELLIS_STATES: tuple[int, ...] = (16, 32, 64)


def _check_rate(rate: int, name: str) -> None:
    if rate not in DATA_RATES:
        raise ValueError(f"{name} must be a multiple of 2400 from 2400 to 33600, not {rate}")


@dataclass(frozen=True, slots=True)
class Mp:
    """What one type-0 MP says (§2.3): the sender's rate ceilings and the rates it allows.

    A modem's MP holds its receiver's request for the direction it receives
    and its transmitter's maximum for the one it sends; each direction then
    runs at the lower of the two MPs' values (§2.3).
    """

    max_call_to_answer: int
    max_answer_to_call: int
    rate_mask: frozenset[int]
    asymmetric: bool
    trellis: int = 16
    ack: bool = False

    def __post_init__(self) -> None:
        _check_rate(self.max_call_to_answer, "max_call_to_answer")
        _check_rate(self.max_answer_to_call, "max_answer_to_call")
        mask = frozenset(self.rate_mask)  # a set or list given by the caller
        if unknown := mask - frozenset(DATA_RATES):
            raise ValueError(f"not V.34 data rates: {', '.join(map(str, sorted(unknown)))}")
        object.__setattr__(self, "rate_mask", mask)
        if self.trellis not in TRELLIS_STATES:
            raise ValueError(f"trellis must be 16, 32 or 64 states, not {self.trellis}")


def encode_mp(mp: Mp) -> str:
    """The 88 bits of a type-0 MP in line order (layout above)."""
    fields = ["0"] * (MP_FIELDS.stop - MP_FIELDS.start)

    def put(at: int, value: str) -> None:
        start = at - MP_FIELDS.start
        fields[start : start + len(value)] = value

    put(_C2A, _uint(mp.max_call_to_answer // RATE_STEP, 4))
    put(_A2C, _uint(mp.max_answer_to_call // RATE_STEP, 4))
    put(_TRELLIS, _uint(TRELLIS_STATES.index(mp.trellis), 2))
    put(_ACK, _flag(mp.ack))
    put(_MASK, "".join(_flag(rate in mp.rate_mask) for rate in DATA_RATES))
    put(_ASYM, _flag(mp.asymmetric))
    body = "".join(fields)
    return MP_SYNC + MP_TYPE_0 + body + crc16(body) + MP_PAD


def decode_mp(bits: str) -> Mp | None:
    """The MP these 88 bits carry; None on a bad length, sync, type, CRC or field value.

    Reserved bits and the pad are not checked, so a later MP version still reads.
    """
    if not _is_bits(bits, MP_BITS) or not bits.startswith(MP_SYNC + MP_TYPE_0):
        return None
    if crc16(bits[MP_FIELDS]) != bits[MP_CRC]:
        return None
    trellis = _read_uint(bits[_TRELLIS : _TRELLIS + 2])
    mask = bits[_MASK : _MASK + len(DATA_RATES)]
    try:
        return Mp(
            max_call_to_answer=_read_uint(bits[_C2A : _C2A + 4]) * RATE_STEP,
            max_answer_to_call=_read_uint(bits[_A2C : _A2C + 4]) * RATE_STEP,
            rate_mask=frozenset(r for r, b in zip(DATA_RATES, mask, strict=True) if b == "1"),
            asymmetric=bits[_ASYM] == "1",
            trellis=TRELLIS_STATES[trellis] if trellis < len(TRELLIS_STATES) else 0,
            ack=bits[_ACK] == "1",
        )
    except ValueError:
        return None  # N = 0 or 15, or trellis code 3


# -- training (§2.3 phases 2-4, §7 trainer) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class V34Side:
    """One modem going into V.34 training.

    `max_tx` and `max_rx` are its ceilings (bit/s) from the firmware profile
    and +MS. `asymmetric`: whether it lets the two directions run at different
    rates; if either end does not, both run at the lower rate.
    """

    info0: Info0
    max_tx: int
    max_rx: int
    asymmetric: bool = True

    def __post_init__(self) -> None:
        _check_rate(self.max_tx, "max_tx")
        _check_rate(self.max_rx, "max_rx")


@dataclass(frozen=True, slots=True)
class V34Training:
    """The outcome of phases 2-4: the symbol rate, each direction's rate, the MPs sent.

    Everything is 0 (and the MPs None) when nothing trains: the line is too
    poor for even 2400 bit/s, so phase 4 is never reached.
    """

    symbol_rate: int
    call_to_answer: int
    answer_to_call: int
    caller_mp: Mp | None
    answerer_mp: Mp | None
    caller_mp_bits: str | None
    answerer_mp_bits: str | None

    @property
    def trained(self) -> bool:
        return self.symbol_rate != 0


def common_symbol_rates(caller: Info0, answerer: Info0) -> tuple[int, ...]:
    """The symbol rates both INFO0s allow, ascending; 2400 always.

    Choice: 3429 counts only when both ends support it (bit 14) and allow it (bit 19).
    """
    return tuple(sorted(caller.usable & answerer.usable))


def _mask_up_to(rate: int) -> frozenset[int]:
    return frozenset(r for r in DATA_RATES if r <= rate)


def train(caller: V34Side, answerer: V34Side, snr_db: float) -> V34Training:
    """Pick the symbol rate and each direction's rate, and build the two MPs.

    Each receiver asks for min(the SNR's rate, its max_rx, the symbol rate's
    maximum); each direction runs at min(its receiver's request, its
    transmitter's max_tx) (§2.3). The symbol rate is the lowest common one
    whose maximum reaches the faster direction's rate before that cap, else
    the fastest common one. Both directions see the same SNR here.
    """
    ceiling = rate_for_snr(snr_db)
    if not (caller.info0.constellation_1664 and answerer.info0.constellation_1664):
        ceiling = min(ceiling, PRE_1664_MAX)
    if ceiling == 0:
        return V34Training(0, 0, 0, None, None, None, None)
    symmetric = not (caller.asymmetric and answerer.asymmetric)
    c2a = min(ceiling, answerer.max_rx, caller.max_tx)
    a2c = min(ceiling, caller.max_rx, answerer.max_tx)
    if symmetric:
        c2a = a2c = min(c2a, a2c)
    common = common_symbol_rates(caller.info0, answerer.info0)
    need = max(c2a, a2c)
    baud = next((s for s in common if SYMBOL_RATE[s].max_rate >= need), common[-1])
    top = SYMBOL_RATE[baud].max_rate

    def request(side: V34Side) -> int:
        return min(ceiling, side.max_rx, top)

    caller_mp = Mp(
        max_call_to_answer=min(caller.max_tx, top),
        max_answer_to_call=request(caller),
        rate_mask=_mask_up_to(min(max(caller.max_tx, caller.max_rx), top)),
        asymmetric=caller.asymmetric,
    )
    answerer_mp = Mp(
        max_call_to_answer=request(answerer),
        max_answer_to_call=min(answerer.max_tx, top),
        rate_mask=_mask_up_to(min(max(answerer.max_tx, answerer.max_rx), top)),
        asymmetric=answerer.asymmetric,
    )
    c2a = min(caller_mp.max_call_to_answer, answerer_mp.max_call_to_answer)
    a2c = min(caller_mp.max_answer_to_call, answerer_mp.max_answer_to_call)
    if symmetric:
        c2a = a2c = min(c2a, a2c)
    return V34Training(
        symbol_rate=baud,
        call_to_answer=c2a,
        answer_to_call=a2c,
        caller_mp=caller_mp,
        answerer_mp=answerer_mp,
        caller_mp_bits=encode_mp(caller_mp),
        answerer_mp_bits=encode_mp(answerer_mp),
    )
