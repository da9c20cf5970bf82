"""V.21 channels and the V.8 message framing, as line bits (1 = mark)."""

from __future__ import annotations

from collections.abc import Iterable

V21_CH1 = (980, 1180)  # (mark, space): the caller's channel
V21_CH2 = (1650, 1850)  # the answerer's channel
V21_BAUD = 300
PREAMBLE = (1,) * 10
SYNC_CM_JM = 0xE0  # line order 0 00000111 1
SYNC_CI = 0x00


def async_bits(octets: Iterable[int]) -> tuple[int, ...]:
    """Each octet as a start bit (0), eight data bits LSB first, a stop bit (1)."""
    bits: list[int] = []
    for octet in octets:
        bits.append(0)
        bits.extend((octet >> i) & 1 for i in range(8))
        bits.append(1)
    return tuple(bits)


def v8_message(octets: bytes, sync: int = SYNC_CM_JM) -> tuple[int, ...]:
    """One CM or JM (or CI with `sync` 0x00): ten 1s, the framed sync, the framed octets."""
    return PREAMBLE + async_bits((sync, *octets))


def cj_bits(octets: bytes = b"\x00\x00\x00") -> tuple[int, ...]:
    """CJ: the framed 0x00 octets with no preamble."""
    return async_bits(octets)
