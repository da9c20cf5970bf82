"""DTE character format from "AT" (Hayes autoparity), and chunked parity coding.

A modem behind an 8N1 UART sees a 7-bit DTE's parity bit as bit 7 of each byte.
"AT" and "at" each pair one even-weight and one odd-weight letter, so the bit 7
pattern of the A and the T tells even, odd and mark parity apart.
"""

from __future__ import annotations

from enum import Enum


class Parity(Enum):
    NONE = "N"  # 8-bit clean (8N1, or 7S1 which looks the same)
    EVEN = "E"
    ODD = "O"
    MARK = "M"
    SPACE = "S"


def _weight_odd(byte: int) -> bool:
    return bin(byte).count("1") % 2 == 1


def detect_parity(a_byte: int, t_byte: int) -> Parity:
    """Parity of a DTE that sent `a_byte` `t_byte` as its A and T (either case)."""
    a_high, t_high = a_byte & 0x80, t_byte & 0x80
    if not a_high and not t_high:
        return Parity.NONE
    if a_high and t_high:
        return Parity.MARK
    return Parity.ODD if _weight_odd(a_byte) else Parity.EVEN


def _table(parity: Parity) -> bytes:
    out = bytearray(256)
    for b in range(256):
        low = b & 0x7F
        if parity is Parity.NONE:
            out[b] = b
        elif parity is Parity.SPACE:
            out[b] = low
        elif parity is Parity.MARK:
            out[b] = low | 0x80
        elif parity is Parity.EVEN:
            out[b] = low | (0x80 if _weight_odd(low) else 0)
        else:
            out[b] = low | (0 if _weight_odd(low) else 0x80)
    return bytes(out)


ENCODE: dict[Parity, bytes] = {p: _table(p) for p in Parity}
STRIP7 = bytes(b & 0x7F for b in range(256))


def encode(data: bytes, parity: Parity) -> bytes:
    """Bytes as they reach an 8N1 receiver when a 7-bit sender adds `parity`."""
    return data if parity is Parity.NONE else data.translate(ENCODE[parity])


def strip(data: bytes, parity: Parity) -> bytes:
    """The 7 data bits of each byte a 7-bit sender with `parity` sent."""
    return data if parity is Parity.NONE else data.translate(STRIP7)
