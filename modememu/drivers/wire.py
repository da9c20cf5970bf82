"""What a DTE's framing does to bytes on an 8N1 wire, for ports that know the framing.

The modem core listens like an 8N1 UART (that is how "AT" parity detection works),
so a port that is told the DTE's framing (the modememu:// URL, RFC 2217) puts the
DTE's bytes on the wire the way they would arrive: a 7-bit character plus its
parity bit (or a stop bit, for 7N) fills the 8 bits the modem reads. Going the
other way, a 7-bit receiver keeps only the low 7 bits of what the modem sends.
"""

from __future__ import annotations

from modememu.at.parity import Parity, encode, strip
from modememu.modem.modem import DteFormat

PARITIES = "NEOMS"
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)


def wire_parity(bytesize: int, parity: str) -> Parity:
    """The bit-7 pattern an 8N1 receiver sees from a DTE with this framing."""
    if bytesize != 7:
        return Parity.NONE  # 8 bits fill the byte; 5 and 6 bits are not modelled
    if parity == "N":
        return Parity.MARK  # the first stop bit lands in bit 7
    return Parity(parity)


def dte_format(baudrate: int, bytesize: int, parity: str, stopbits: float) -> DteFormat:
    return DteFormat(int(baudrate), int(bytesize), parity, 1 if stopbits == 1 else 2)


def to_modem(data: bytes, parity: Parity) -> bytes:
    """DTE bytes as the modem's 8N1 UART receives them."""
    return encode(data, parity)


def to_dte(data: bytes, parity: Parity) -> bytes:
    """Modem bytes as the DTE's UART delivers them."""
    return strip(data, parity)


def check_framing(baudrate: object, bytesize: object, parity: object, stopbits: object) -> None:
    """Refuse what no UART can do, with the ValueError pyserial itself raises."""
    if not isinstance(baudrate, int) or not 0 < baudrate < 2**32:
        raise ValueError(f"invalid baudrate: {baudrate!r}")
    if bytesize not in BYTESIZES:
        raise ValueError(f"invalid bytesize: {bytesize!r}")
    if parity not in tuple(PARITIES):
        raise ValueError(f"invalid parity: {parity!r}")
    if stopbits not in STOPBITS:
        raise ValueError(f"invalid stopbits: {stopbits!r}")
